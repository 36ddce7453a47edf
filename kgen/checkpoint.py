"""Full-state checkpoints written atomically: weights, BatchNorm statistics, seed-generator states,
every optimizer's slots and step counter, and the epoch. A crash mid-write leaves the previous
checkpoint and the pointer to it intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kgen.errors import CheckpointError


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic on POSIX and Windows


def _path(v) -> str:
    return getattr(v, "path", None) or v.name


class Checkpointer:
    """Keeps the newest `keep` checkpoints of a run in `directory` as ckpt-EEEE.npz + latest.json."""

    def __init__(self, directory: str | Path, keep: int = 2):
        self.directory = Path(directory)
        self.keep = max(1, keep)

    def save(self, model, epoch: int, step: int) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        variables = model.state_variables()
        arrays = {f"v{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
        meta = {"epoch": epoch, "step": step, "paths": [_path(v) for v in variables]}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = self.directory / f"ckpt-{epoch:04d}.npz"
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
        """Loads a checkpoint into `model` (whose optimizers must be built); returns its metadata."""
        path = path or self.latest()
        if path is None:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        try:
            with np.load(path) as f:
                meta = json.loads(bytes(f["meta"]).decode())
                values = [f[f"v{i:05d}"] for i in range(len(meta["paths"]))]
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
        variables = model.state_variables()
        if len(variables) != len(values):
            raise CheckpointError(
                f"{path} holds {len(values)} variables but the model has {len(variables)}: "
                "the recipe's architecture changed since the checkpoint was written"
            )
        for v, value, saved_path in zip(variables, values, meta["paths"]):
            if tuple(v.shape) != value.shape:
                raise CheckpointError(
                    f"{path}: {saved_path} has shape {value.shape} but the model's {_path(v)} has "
                    f"{tuple(v.shape)}: the recipe's architecture changed since the checkpoint"
                )
            v.assign(value)
        return meta
