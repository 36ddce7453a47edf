"""Diffusion noise schedules and samplers: weightless objects, tables built in float64."""

from kgen.schedules.noise import NoiseSchedule
from kgen.schedules.samplers import DDIMSampler, DDPMSampler, DPMSolverPP

__all__ = ["NoiseSchedule", "DDIMSampler", "DDPMSampler", "DPMSolverPP"]
