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


def choices(*values: str, default: str | None = None) -> Any:
    """A string field restricted to `values`; validated by `validate`."""
    return field(default=values[0] if default is None else default, metadata={"choices": values})


@dataclass
class Data:
    """Where the images come from and how they are scaled."""

    # mnist: full MNIST (path, $KGEN_DATA_DIR, then TFDS); mnist_sample: the 5,000-digit sample
    # bundled in the package; image_folder: jpg/png files under `path`; celeb_a: TFDS celeb_a.
    name: str = choices("mnist", "mnist_sample", "image_folder", "celeb_a")
    path: str = ""
    limit: int = 0  # keep the first N training images (after a seeded shuffle for folders); 0 = all
    image_size: int = 28
    crop: int = 0  # image folders: central square crop in pixels before resizing; 0 = largest
    channels: int = 1
    # unit: pixels in [0, 1] (Bernoulli decoders); symmetric: [-1, 1] (tanh generators, DDPM)
    scale: str = choices("unit", "symmetric")


@dataclass
class Optimizer:
    name: str = choices("adam", "adagrad", "rmsprop", "sgd")
    learning_rate: float = 1e-4
    beta_1: float = 0.9  # Adam only
    beta_2: float = 0.999  # Adam only
    epsilon: float = 1e-7
    momentum: float = 0.0  # SGD and RMSprop only
    clipnorm: float = 0.0  # 0 = no clipping


@dataclass
class Train:
    epochs: int = 10
    batch_size: int = 32  # the global batch, split over replicas
    steps_per_epoch: int = 0  # 0 = one full pass over the training set
    mixed_precision: str = choices("off", "mixed_float16", "mixed_bfloat16")
    # XLA measured slower on the CPU machine class for these models (see benchmarks/README.md),
    # so it is off by default; turn it on for GPUs.
    jit_compile: bool = False
    log_every_steps: int = 50  # per-step TensorBoard scalars: mean over this many steps
    grid_rows: int = 8  # the epoch sample grid is grid_rows x grid_rows images
    keep_checkpoints: int = 2
    kid_every: int = 0  # MNIST-shaped models: KID of 500 samples every N epochs (0 = off)
    logdir: str = "logs"
    export_dir: str = "saved_models"
    verbose: int = 2  # 0 silent, 1 progress bar, 2 one line per epoch


@dataclass
class Recipe:
    name: str
    model: Any  # a model-family dataclass from kgen.models.*
    data: Data = field(default_factory=Data)
    optimizer: Optimizer = field(default_factory=Optimizer)
    train: Train = field(default_factory=Train)
    seed: int = 0
    deterministic: bool = False
    distribute: str = choices("auto", "none", "mirrored", "multiworker")
    # overrides applied by --quick, before the user's own
    quick: dict = field(default_factory=dict)
    # the seed document and section the defaults come from, shown in TensorBoard and config.json
    source: str = ""


# ----------------------------------------------------------------------------------------------
# Overrides


def valid_keys(obj: Any, prefix: str = "") -> list[str]:
    """Every overridable dotted key of a recipe, depth first."""
    keys = []
    for f in dataclasses.fields(obj):
        if f.name == "quick":
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


def _parse(key: str, text: Any, default: Any) -> Any:
    """Converts `text` to the type of `default`, or raises ConfigError."""
    if not isinstance(text, str):  # already typed (from a recipe's `quick` dict or config.json)
        if isinstance(default, tuple) and isinstance(text, list):
            text = tuple(text)
        if isinstance(default, bool) != isinstance(text, bool) or (
            isinstance(default, (int, float)) and not isinstance(text, (int, float))
        ):
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
    raise ConfigError(
        f"{key}={text!r}: expected {type(default).__name__} like the recipe's default {default!r}"
    )


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
        setattr(obj, leaf, _parse(key, text, getattr(obj, leaf)))
    validate(recipe)
    return recipe


def validate(obj: Any, prefix: str = "") -> None:
    """Checks every `choices` field; raises ConfigError listing the valid values."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, prefix + f.name + ".")
        elif "choices" in f.metadata and value not in f.metadata["choices"]:
            raise ConfigError(
                f"{prefix}{f.name}={value!r} is not one of: {', '.join(f.metadata['choices'])}"
            )


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
        if isinstance(v, dict) and k != "quick":
            out.update(flatten(v, prefix + k + "."))
        elif k != "quick":
            out[prefix + k] = v
    return out


def to_json(recipe: Recipe) -> str:
    return json.dumps(to_dict(recipe), indent=2, default=str)
