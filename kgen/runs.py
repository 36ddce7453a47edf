"""A run: its directory, the process set-up, the strategy, the model built under it, and its
config.json written and read back into a typed recipe.

Every entry point (training, restoration, evaluation, reports) goes through here, so there is one
way to find a run and one reader of what it saved.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
from pathlib import Path

import numpy as np

from kgen import config as config_lib
from kgen.checkpoint import KERAS_FILE, Checkpointer  # noqa: F401  (KERAS_FILE: a run's file, as SAVED_MODEL)
from kgen.config import Recipe
from kgen.errors import ConfigError


def make_strategy(name: str, timeout: float = 600.0):
    """The tf.distribute strategy named by `--distribute`.

    Collective ops must be configured before TensorFlow runs anything, so a multi-worker strategy
    has to be made first in the process: `runs.start` does that before data or models exist.
    """
    import tensorflow as tf

    def multi_worker():
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout or None)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)

    if name == "multiworker":
        return multi_worker()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "auto":
        if os.environ.get("TF_CONFIG") and json.loads(os.environ["TF_CONFIG"]).get("cluster", {}).get("worker"):
            return multi_worker()
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    raise ConfigError(f"distribute={name!r} is not one of: auto, none, mirrored, multiworker")


def is_chief(strategy) -> bool:
    """TensorFlow's convention: worker 0 (or the `chief` task) writes; the others write nowhere
    shared."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def configure(recipe: Recipe) -> Recipe:
    """Seeds, determinism and the dtype policy: process-wide settings, applied before building.
    Returns the recipe as it runs: under `auto`, a copy naming the policy chosen (what
    config.json records and the optimizers see); the recipe given is never changed."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(recipe.seed)
    if recipe.deterministic:
        tf.config.experimental.enable_op_determinism()
    if recipe.train.mixed_precision == "auto":
        policy, why = fast_policy()
        print(f"kgen: --train.mixed_precision=auto chose {policy} ({why})", flush=True)
        recipe = config_lib.apply_overrides(recipe, {"train.mixed_precision": policy})
    mp = recipe.train.mixed_precision
    keras.mixed_precision.set_dtype_policy("float32" if mp == "off" else mp)
    return recipe


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:  # not Linux: no flags known, so no bfloat16 claimed
            return set()
    line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def fast_policy(gpu_capability: tuple | None | str = "probe", cpuinfo: str | None = None) -> tuple[str, str]:
    """(policy, reason) for --train.mixed_precision=auto: bfloat16 where the hardware computes it
    natively (GPU compute capability 8+, CPU AVX512_BF16 or AMX), float16 with loss scaling on
    GPUs with tensor cores but no bfloat16 (7.x), float32 (`off`) elsewhere. A pure function of
    its arguments when they are given (`gpu_capability=None`: no GPU; `cpuinfo`: /proc/cpuinfo's
    text); by default it looks at this machine."""
    import tensorflow as tf

    if gpu_capability == "probe":
        gpu_capability = None
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            gpu_capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
    if gpu_capability is not None:
        if tuple(gpu_capability) >= (8, 0):
            return "mixed_bfloat16", f"GPU compute capability {gpu_capability[0]}.{gpu_capability[1]}"
        if tuple(gpu_capability) >= (7, 0):
            return "mixed_float16", f"GPU compute capability {gpu_capability[0]}.{gpu_capability[1]}, no bfloat16"
        return "off", f"GPU compute capability {gpu_capability[0]}.{gpu_capability[1]}, no fast half precision"
    flags = cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"}
    if flags:
        return "mixed_bfloat16", "CPU with " + " and ".join(sorted(f.upper() for f in flags))
    return "off", "CPU without bfloat16 instructions (AVX512_BF16 or AMX)"


def start(recipe: Recipe):
    """(strategy, the recipe as it runs): the strategy first (see make_strategy), then the
    process-wide settings."""
    strategy = make_strategy(recipe.distribute, recipe.distribute_timeout)
    return strategy, configure(recipe)


def runs_dir(recipe: Recipe) -> Path:
    return Path(recipe.train.logdir) / recipe.name


def new_run_dir(recipe: Recipe) -> Path:
    base = runs_dir(recipe)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir, n = base / stamp, 1
    while run_dir.exists():
        n += 1
        run_dir = base / f"{stamp}-{n}"
    run_dir.mkdir(parents=True)
    return run_dir


def latest_run_dir(recipe: Recipe) -> Path:
    """The run of this recipe whose last checkpoint is newest."""
    base = runs_dir(recipe)
    runs = [d for d in base.glob("*") if Checkpointer(d / "checkpoints").latest()]
    if not runs:
        raise ConfigError(f"no run of {recipe.name} with a checkpoint under {base}: train one first "
                          f"(python -m kgen.recipes.{recipe.name}), or pass --train.logdir")
    return max(runs, key=lambda d: Checkpointer(d / "checkpoints").latest().stat().st_mtime)


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("kgen", "keras", "tensorflow", "tensorflow-probability", "tensorflow-datasets", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def parameter_counts(model) -> dict:
    out = {}
    for name, net in model.networks().items():
        trainable = int(sum(np.prod(v.shape) for v in net.trainable_weights))
        total = int(sum(np.prod(v.shape) for v in net.weights))
        out[name] = {"total": total, "trainable": trainable, "non_trainable": total - trainable}
    return out


def image_shape(recipe: Recipe) -> tuple:
    d = recipe.data
    return (d.image_size, d.image_size, d.channels)


def build_model(recipe: Recipe, shape: tuple | None = None, strategy=None):
    """The recipe's model, compiled, with optimizer slots created (so a checkpoint restores
    before the first step), under `strategy`."""
    import tensorflow as tf

    from kgen import models

    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = models.build(recipe, shape or image_shape(recipe))
        compile_model(model, recipe)
        model.build_optimizers()
    return model


def compile_model(model, recipe: Recipe) -> None:
    """Every model compiled one way: an optimizer per role the model declares
    (`optimizer_roles`, keras-io's compile(g_optimizer=, d_optimizer=)), from the recipe's
    optimizer section, at the family's own learning rate for a role where its config sets one,
    loss-scaled under float16; XLA as the recipe says."""
    from kgen import optim

    rates = recipe.model.role_learning_rates()
    if model.optimizer_roles:
        optimizers = {k: optim.for_recipe(recipe, role, rates.get(role)) for k, role in model.optimizer_roles.items()}
    else:
        optimizers = {"optimizer": optim.for_recipe(recipe)}
    model.compile(jit_compile=recipe.train.jit_compile, **optimizers)


SAVED_MODEL = "saved_model"  # each run's own export, inside the run directory


def saved_model_of(path: Path) -> tuple[Path, Path | None]:
    """(SavedModel directory, run directory or None) for a SavedModel or a run directory.

    The one way every entry point (evaluate, augment, restore, results, benchmarks) finds a run's
    model: the export inside the run, as config.json records it, never the recipe's latest export
    (which a later run of the recipe replaces)."""
    path = Path(path)
    if (path / "saved_model.pb").exists():
        return path, None
    if (path / "config.json").exists():
        recorded = read_config(path).get("saved_model", SAVED_MODEL)
        saved = path / recorded
        if (saved / "saved_model.pb").exists():
            return saved, path
        raise ConfigError(f"{path} is a run directory without its own SavedModel ({saved} does not exist): the run "
                          "has not finished, or it predates per-run exports. Finish it with --resume, or pass the "
                          "SavedModel's own path")
    raise ConfigError(f"{path}: neither a SavedModel (no saved_model.pb) nor a run directory (no config.json)")


def write_config(run_dir: Path, recipe: Recipe, **info) -> dict:
    """config.json: the resolved recipe, its model family, and what the run adds (data origin,
    parameter counts, versions, steps reached...). Later calls update earlier ones."""
    path = Path(run_dir) / "config.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    out = {**old, "recipe": config_lib.to_dict(recipe), "family": family_of(recipe), **info}
    tmp = path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str))
    os.replace(tmp, path)
    return out


def read_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise ConfigError(f"{run_dir} is not a run directory: it has no config.json")
    return json.loads(path.read_text())


def merge_metrics(run_dir: Path, metrics: dict) -> dict:
    """Adds `metrics` to the run's metrics.json (training, evaluation and studies all add)."""
    path = Path(run_dir) / "metrics.json"
    merged = {**(json.loads(path.read_text()) if path.exists() else {}), **metrics}
    tmp = path.with_name("metrics.json.tmp")
    tmp.write_text(json.dumps(merged, indent=2))
    os.replace(tmp, path)
    return merged


def family_of(recipe: Recipe) -> str:
    return type(recipe.model).family


def read_recipe(run_dir: Path, base: Recipe | None = None) -> Recipe:
    """The typed recipe a run was trained with: `base` (or the recipe module of the saved name,
    or the family's defaults) with the saved values replayed over it."""
    saved = read_config(run_dir)
    values = saved["recipe"]
    if base is None:
        try:
            base = importlib.import_module(f"kgen.recipes.{values['name']}").RECIPE
        except ModuleNotFoundError:
            from kgen import models

            base = Recipe(name=values["name"], model=models.family_config(saved.get("family", "")))
    return config_lib.apply_overrides(base, config_lib.flatten(values))


def resolve(recipe: Recipe, overrides: dict, quick: bool = False, resume: bool = False) -> tuple[Recipe, Path | None]:
    """The recipe after --quick, --resume's saved recipe and the user's overrides, in that order;
    and the run directory to resume."""
    if quick:
        recipe = config_lib.apply_overrides(recipe, recipe.quick)
    resume_dir = None
    if resume:
        # the logdir the user gave says where to look; the run's own recipe is then replayed
        probe = config_lib.apply_overrides(recipe, {k: v for k, v in overrides.items() if k == "train.logdir"})
        resume_dir = latest_run_dir(probe)
        recipe = read_recipe(resume_dir, recipe)
    return config_lib.apply_overrides(recipe, overrides), resume_dir


def summary(recipe: Recipe) -> dict:
    """Prints every network's Keras summary and a table of parameter counts beside the seed's
    documented figures; returns the counts."""
    from kgen import models

    recipe = configure(recipe)
    # the networks alone: optimizer slots would add two copies of every weight (3.6 GB for the
    # 200M-parameter MLP GAN) to count nothing
    model = models.build(recipe, image_shape(recipe))
    for net in model.networks().values():
        net.summary(expand_nested=True)
    counts = parameter_counts(model)
    counts["model"] = {k: sum(c[k] for c in counts.values()) for k in ("total", "trainable", "non_trainable")}
    print(summary_table(counts, recipe.documented))
    return counts


def summary_table(counts: dict, documented: dict) -> str:
    lines = [f"{'network':<16}{'total':>14}{'trainable':>14}{'non-trainable':>15}   seed's figure"]
    for name, c in counts.items():
        doc = documented.get(name)
        mark = "" if doc is None else f"{doc:,} ({'equal' if doc == c['total'] else 'different'})"
        lines.append(f"{name:<16}{c['total']:>14,}{c['trainable']:>14,}{c['non_trainable']:>15,}   {mark}")
    return "\n".join(lines)
