"""Recipe dataclasses and `--section.key=value` command-line overrides.

A recipe is plain data: nested dataclasses whose defaults reproduce a seed document. Overrides are
type-checked against the default they replace (nanoGPT's rule: an override keeps the default's
type), and an unknown key is an error that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


from kgen.errors import ConfigError


INF = float("inf")


def choices(*values: str, default: str | None = None) -> Any:
    """A string field restricted to `values`; validated by `validate`."""
    return field(default=values[0] if default is None else default, metadata={"choices": values})


def num(default: Any, lo: float = 0, hi: float = INF, *, open_lo: bool = False, open_hi: bool = False,
        kind: type | None = None) -> Any:
    """A numeric field (or a tuple of numbers) with a valid range [lo, hi] (open ends as marked).

    `default=None` makes the field optional: None is a real state ("inherit", "learn it"), spelled
    `none` on the command line, and `kind` gives the type a value must have otherwise.
    """
    meta = {"range": (lo, hi, open_lo, open_hi)}
    if default is None:
        meta["kind"] = kind or float
    if isinstance(default, tuple):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


def duration(default: float = 0.0) -> Any:
    """Seconds, also given as 90s, 20m or 1.5h on the command line; 0 means none."""
    return field(default=default, metadata={"range": (0, INF, False, False), "duration": True})


def parse_duration(key: str, text: str) -> float:
    import re

    m = re.fullmatch(r"\s*([0-9.]+(?:e[+-]?[0-9]+)?)\s*([smh]?)\s*", text.lower())
    if not m:
        raise ConfigError(f"{key}={text!r}: expected a duration like 20m, 1.5h, 90s or 0")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def in_range(value: float, rng: tuple) -> bool:
    lo, hi, open_lo, open_hi = rng
    return (value > lo if open_lo else value >= lo) and (value < hi if open_hi else value <= hi)


def range_text(rng: tuple) -> str:
    lo, hi, open_lo, open_hi = rng
    return f"{'(' if open_lo else '['}{lo:g}, {'inf' if hi == INF else format(hi, 'g')}{')' if open_hi or hi == INF else ']'}"


@dataclass
class Data:
    """Where the images come from and how they are scaled."""

    # mnist: full MNIST (path, $KGEN_DATA_DIR, then TFDS); mnist_sample: the 5,000-digit sample
    # bundled in the package; image_folder: jpg/png files under `path`; celeb_a: TFDS celeb_a.
    name: str = choices("mnist", "mnist_sample", "image_folder", "celeb_a")
    path: str = ""
    # image folders: a separate folder of held-out images for validation and test figures (up to
    # 500 of them); empty: 500 images (a tenth of a small folder) are held out of `path` instead
    test_path: str = ""
    limit: int = num(0)  # keep the first N training images (after a seeded shuffle for folders); 0 = all
    image_size: int = num(28, 1)
    crop: int = num(0)  # image folders: central square crop in pixels before resizing; 0 = largest
    channels: int = num(1, 1, 4)
    # unit: pixels in [0, 1] (Bernoulli decoders); symmetric: [-1, 1] (tanh generators, DDPM)
    scale: str = choices("unit", "symmetric")


@dataclass
class Optimizer:
    name: str = choices("adam", "adagrad", "rmsprop", "sgd")
    learning_rate: float = num(1e-4, 0)  # 0 freezes what the optimizer trains
    beta_1: float = num(0.9, 0, 1, open_hi=True)  # Adam only
    beta_2: float = num(0.999, 0, 1, open_hi=True)  # Adam only
    epsilon: float = num(1e-7, 0, open_lo=True)
    momentum: float = num(0.0, 0, 1, open_hi=True)  # SGD and RMSprop only
    clipnorm: float | None = num(None, 0, open_lo=True)  # gradient-norm clipping; none = off


@dataclass
class Train:
    epochs: int = num(10, 1)
    batch_size: int = num(32, 1)  # the global batch, split over replicas
    steps_per_epoch: int = num(0)  # 0 = one full pass over the training set
    # auto: bfloat16 where the hardware computes it (runs.fast_policy), float32 elsewhere; the
    # choice is printed at start and recorded in config.json. The default since bfloat16 matched
    # float32's quality at an equal time budget (better FID with ~1.5x the steps; the measurement
    # is in benchmarks/README.md). `off` is float32 throughout.
    mixed_precision: str = choices("off", "mixed_float16", "mixed_bfloat16", "auto", default="auto")
    # XLA: off by default; on a 2-core AMD EPYC it made the DCGAN step 12x slower (measured with
    # benchmarks/compare.py --jit=true, benchmarks/README.md). Time it before using it on GPUs.
    jit_compile: bool = False
    log_every_steps: int = num(50, 1)  # per-step TensorBoard scalars: mean over this many steps
    grid_rows: int = num(8, 1, 32)  # the epoch sample grid is grid_rows x grid_rows images
    keep_checkpoints: int = num(2, 1)
    # also checkpoint every N steps inside an epoch (0: at epoch ends only); a resumed run
    # continues at that step with the same data order
    checkpoint_every_steps: int = num(0)
    # stop at the first step boundary after this many seconds of training (20m, 1.5h; 0: none),
    # then checkpoint and finish as usual: figures, metrics, export
    time_budget: float = duration()
    # stop after this many global steps (0: the epochs decide), then checkpoint and finish as
    # usual: a budget in steps, which unlike time_budget does not depend on what else the
    # machine runs (benchmarks/step_times.py turns a quiet time budget into steps)
    max_steps: int = num(0)
    kid_every: int = num(0)  # MNIST-shaped models: KID of 500 samples every N epochs (0 = off)
    logdir: str = "logs"
    export_dir: str = "saved_models"
    verbose: int = num(1, 0, 2)  # 0 silent, 1 progress bar on a terminal (else a line an epoch), 2 a line an epoch


@dataclass
class Recipe:
    name: str
    model: Any  # a model-family dataclass from kgen.models.*
    data: Data = field(default_factory=Data)
    optimizer: Optimizer = field(default_factory=Optimizer)
    train: Train = field(default_factory=Train)
    seed: int = num(0, 0, 2**31 - 1)
    deterministic: bool = False
    distribute: str = choices("auto", "none", "mirrored", "multiworker")
    # multi-worker: a collective that waits longer than this for another worker fails the run
    # with an error instead of hanging (a worker died, or the network broke)
    distribute_timeout: float = duration(600.0)
    # overrides applied by --quick, before the user's own
    quick: dict = field(default_factory=dict)
    # overrides for the runs of the results tables at a budget (kgen.results, its optimizer study
    # included), where the recipe's own settings do not fit a CPU budget;
    # `budget_reason` says why, beside the table. Values as on the command line (`--key=value`).
    budget: dict = field(default_factory=dict)
    budget_reason: str = ""
    # the same for the table's `python -m kgen.evaluate` and `python -m kgen.augment` of this
    # recipe's runs (their options without the dashes), with their reasons
    evaluate: dict = field(default_factory=dict)
    evaluate_reason: str = ""
    augment: dict = field(default_factory=dict)
    augment_reason: str = ""
    # the seed document and section the defaults come from, shown in TensorBoard and config.json
    source: str = ""
    # the seed's parameter counts: network name (or "model" for the total) -> count
    documented: dict = field(default_factory=dict)


# Recipe fields that are declarations, not overridable values
NOT_KEYS = ("quick", "budget", "budget_reason", "evaluate", "evaluate_reason", "augment", "augment_reason",
            "documented")


# ----------------------------------------------------------------------------------------------
# Overrides


def valid_keys(obj: Any, prefix: str = "") -> list[str]:
    """Every overridable dotted key of a recipe, depth first."""
    keys = []
    for f in dataclasses.fields(obj):
        if f.name in NOT_KEYS and isinstance(obj, Recipe):
            continue
        value = getattr(obj, f.name)
        key = prefix + f.name
        if dataclasses.is_dataclass(value):
            keys.extend(valid_keys(value, key + "."))
        else:
            keys.append(key)
    return keys


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"none", "null"}
# the range of a number field that declares none: counts, sizes, rates and weights are >= 0
DEFAULT_RANGE = (0, INF, False, False)


def _field_of(obj: Any, leaf: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(obj) if f.name == leaf)


def _parse(key: str, text: Any, default: Any, kind: type | None = None) -> Any:
    """Converts `text` to the type of `default` (or `kind` for an optional field), or raises
    ConfigError."""
    if kind is not None:  # optional field: none, or a value of `kind`
        if text is None or (isinstance(text, str) and text.strip().lower() in _NONE):
            return None
        default = kind()
    if not isinstance(text, str):  # already typed (from a recipe's `quick` dict or config.json)
        if isinstance(default, tuple) and isinstance(text, list):
            text = tuple(text)
        if isinstance(default, bool) != isinstance(text, bool) or (
            isinstance(default, (int, float)) and not isinstance(text, (int, float))
        ) or (isinstance(default, int) and not isinstance(default, bool) and isinstance(text, float)):
            raise ConfigError(f"{key}: expected {type(default).__name__}, got {text!r}")
        return float(text) if isinstance(default, float) else text
    try:
        if isinstance(default, bool):
            low = text.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            parts = [p.strip() for p in text.split(",") if p.strip()]
            kind = type(default[0]) if default else str
            return tuple(_parse(key, p, kind()) for p in parts)
        if isinstance(default, str):
            return text
    except ValueError:
        pass
    example = "none or a number" if kind is not None else f"{type(default).__name__} like the recipe's default {default!r}"
    raise ConfigError(f"{key}={text!r}: expected {example}")


def apply_overrides(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    """Returns a copy of `recipe` with dotted `overrides` applied and validated."""
    recipe = _deep_copy(recipe)
    keys = valid_keys(recipe)
    for key, text in overrides.items():
        if key not in keys:
            close = [k for k in keys if k.split(".")[-1] == key.split(".")[-1]]
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"unknown recipe key {key!r}.{hint} Valid keys: " + ", ".join(keys)
            )
        *parents, leaf = key.split(".")
        obj = recipe
        for p in parents:
            obj = getattr(obj, p)
        meta = _field_of(obj, leaf).metadata
        if meta.get("duration") and isinstance(text, str):
            text = parse_duration(key, text)
        setattr(obj, leaf, _parse(key, text, getattr(obj, leaf), meta.get("kind")))
    validate(recipe)
    return recipe


def _numbers(value: Any) -> list:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, tuple):
        return [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return []


def validate(obj: Any, prefix: str = "") -> None:
    """Checks every `choices` field and every number against its range; raises ConfigError naming
    the field, the value and what is valid."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, prefix + f.name + ".")
        elif "choices" in f.metadata and value not in f.metadata["choices"]:
            raise ConfigError(
                f"{prefix}{f.name}={value!r} is not one of: {', '.join(f.metadata['choices'])}"
            )
        else:
            rng = f.metadata.get("range", DEFAULT_RANGE)
            for v in _numbers(value):
                if not in_range(v, rng):
                    raise ConfigError(
                        f"{prefix}{f.name}={value!r} is out of range: valid values are in {range_text(rng)}"
                    )


def describe(obj: Any, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(key, type, default, valid values) of every overridable key, for --help."""
    rows = []
    for f in dataclasses.fields(obj):
        if f.name in NOT_KEYS and isinstance(obj, Recipe):
            continue
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, prefix + f.name + "."))
            continue
        kind = f.metadata.get("kind")
        type_name = f"{kind.__name__} | none" if kind else type(value).__name__
        if "choices" in f.metadata:
            valid = "one of " + "|".join(f.metadata["choices"])
        elif _numbers(value) or kind or isinstance(value, (int, float)) and not isinstance(value, bool):
            valid = range_text(f.metadata.get("range", DEFAULT_RANGE))
        else:
            valid = ""
        rows.append((prefix + f.name, type_name, value, valid))
    return rows


def _deep_copy(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(
            obj, **{f.name: _deep_copy(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        )
    if isinstance(obj, dict):
        return dict(obj)
    return obj


def to_dict(recipe: Recipe) -> dict:
    return dataclasses.asdict(recipe)


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; used to replay a saved config.json as overrides."""
    out = {}
    for k, v in d.items():
        if k in NOT_KEYS:
            continue
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def to_json(recipe: Recipe) -> str:
    return json.dumps(to_dict(recipe), indent=2, default=str)
