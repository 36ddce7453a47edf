"""Full-state checkpoints written atomically: weights, BatchNorm statistics, seed-generator states,
every optimizer's slots and step counter, and the epoch. A crash mid-write leaves the previous
checkpoint and the pointer to it intact."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import keras
import numpy as np

from kgen.errors import CheckpointError

# Beside the checkpoints, a finished run's model in Keras' own format (train.finish writes it,
# keras.saving.load_model reads it; latent diffusion takes its first stage from it).
KERAS_FILE = "model.keras"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic on POSIX and Windows


def state_dict(model) -> dict:
    """Everything a checkpoint must hold, by a name that does not depend on construction
    order: weights and statistics under their network's attribute (`ema_network/...` apart
    from `network/...` although both U-Nets name their layers alike), the model's own
    variables (seed states, learned scales) under `model/`, and every optimizer's slots and
    step counter under `optimizer.<role>/`.

    The trackers' running means are left out: they restart every epoch, and reading a
    sync-on-read mean would need every worker of a multi-worker run.
    """
    out, seen = {}, {id(v) for m in model.metrics for v in m.variables}

    def add(prefix, variables):
        for v in variables:
            if id(v) not in seen:
                seen.add(id(v))
                # Keras numbers unnamed seed generators (dropout's) per process: number them
                # by their order in the network instead
                key = re.sub(r"seed_generator_\d+/", "seed_generator/", f"{prefix}/{getattr(v, 'path', None) or v.name}")
                n = sum(1 for k in out if k == key or k.startswith(key + "#"))
                out[key if n == 0 else f"{key}#{n}"] = v

    for attr, layer in sorted(vars(model).items()):
        if isinstance(layer, keras.layers.Layer) and not attr.startswith("_"):
            add(attr, layer.variables)
    add("model", model.variables)
    for role, opt in model.optimizers().items():
        add(f"optimizer.{role}", opt.variables)
    return out


class Checkpointer:
    """Keeps the newest `keep` checkpoints of a run in `directory` as ckpt-SSSSSSSS.npz (by global
    step) + latest.json. Variables are stored and restored by name (`state_dict`:
    `encoder/encoder/conv_0/kernel`, `optimizer.optimizer/adam/encoder_conv_0_kernel_momentum`),
    never by position."""

    def __init__(self, directory: str | Path, keep: int = 2):
        self.directory = Path(directory)
        self.keep = max(1, keep)

    def save(self, model, epoch: int, step: int, **extra) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = state_dict(model)
        paths, variables = list(state), list(state.values())
        arrays = {f"v{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
        meta = {"epoch": epoch, "step": step, "paths": paths, **extra}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = self.directory / f"ckpt-{step:08d}.npz"
        _atomic_write(path, lambda f: np.savez(f, **arrays))
        pointer = json.dumps({"latest": path.name, "epoch": epoch, "step": step}).encode()
        _atomic_write(self.directory / "latest.json", lambda f: f.write(pointer))
        for old in self.all()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def all(self) -> list[Path]:
        return sorted(self.directory.glob("ckpt-*.npz"))

    def latest(self) -> Path | None:
        pointer = self.directory / "latest.json"
        if pointer.exists():
            try:
                p = self.directory / json.loads(pointer.read_text())["latest"]
                if p.exists():
                    return p
            except (ValueError, KeyError):
                pass
        found = self.all()
        return found[-1] if found else None

    def restore(self, model, path: Path | None = None) -> dict:
        """Loads a checkpoint into `model` (whose optimizers must be built), matching variables by
        path; returns its metadata. Refuses, naming them, variables missing on either side or of
        another shape."""
        path = path or self.latest()
        if path is None:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        try:
            with np.load(path) as f:
                meta = json.loads(bytes(f["meta"]).decode())
                saved = {p: f[f"v{i:05d}"] for i, p in enumerate(meta["paths"])}
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
        variables = state_dict(model)
        missing, extra = sorted(set(variables) - set(saved)), sorted(set(saved) - set(variables))
        if missing or extra:
            raise CheckpointError(
                f"{path} does not match the model: the recipe's architecture changed since the checkpoint. "
                + (f"Not in the checkpoint: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}. " if missing else "")
                + (f"Not in the model: {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}." if extra else "")
            )
        for name, v in variables.items():
            if tuple(v.shape) != saved[name].shape:
                raise CheckpointError(
                    f"{path}: {name} has shape {saved[name].shape} but the model's has {tuple(v.shape)}: "
                    "the recipe's architecture changed since the checkpoint"
                )
        for name, v in variables.items():
            v.assign(saved[name])
        return meta
