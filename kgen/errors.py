"""Errors that reach a user: each message names the problem and the fix. The CLI prints them
without a traceback (exit 2 for a bad recipe value, 1 for the rest)."""


class KgenError(RuntimeError):
    pass


class ConfigError(KgenError, ValueError):
    """A recipe value or override that cannot be used."""


class DataError(KgenError):
    """Data that is missing, corrupt or of the wrong shape; the message names the file."""


class CheckpointError(KgenError):
    """A checkpoint that is missing or does not fit the model."""


class TrainingDiverged(KgenError):
    """A non-finite loss; training stopped before the bad epoch was checkpointed."""


class WorkerLost(KgenError):
    """Another worker of a multi-worker run stopped or became unreachable."""
