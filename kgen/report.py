"""One Markdown page comparing runs: their metrics, loss curves and the ranking the data supports,
next to the ranking the seeds claim.

    python -m kgen.report RUN_DIR [RUN_DIR ...]  [--out=report.md]

A run directory is logs/<name>/<date-time> (with config.json and metrics.json, the latter from
`python -m kgen.evaluate` or a study); the optimizer study calls this on its own cells.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgen import args as args_lib
from kgen import runs
from kgen.errors import KgenError

SEED_CLAIMS = (
    "Seed 002 (Lee et al.) concludes VAE < GAN < diffusion on MNIST, with Adam the best of the four "
    "optimizers. Seed 004 (Junnuthula 2023) says GANs give sharper MNIST digits than VAEs (section 4)."
)
COLUMNS = ("model", "optimizer", "learning_rate", "epochs", "final_loss", "fid", "kid", "precision", "recall",
           "coverage", "wall_time_s")


def read_scalars(run_dir: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one scalar tag from a run's train/ TensorBoard events."""
    import tensorflow as tf

    points = {}
    for path in sorted((Path(run_dir) / "train").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                if v.tag == tag:
                    points[event.step] = float(tf.make_ndarray(v.tensor)) if v.HasField("tensor") else v.simple_value
    steps = np.array(sorted(points))
    return steps, np.array([points[s] for s in steps])


def family(config: dict) -> str:
    return config["family"]


def main_loss_tag(kind: str) -> str:
    return {"gan": "g_loss", "aae": "reconstruction", "avb": "loss"}.get(kind, "loss")


def row(run_dir: Path, wall_time: float | None = None) -> dict:
    config = runs.read_config(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
    kind = family(config)
    _, values = read_scalars(run_dir, f"epoch/{main_loss_tag(kind)}")
    recipe = config["recipe"]
    return {
        "model": kind,
        "optimizer": recipe["optimizer"]["name"],
        "learning_rate": recipe["optimizer"]["learning_rate"],
        "epochs": recipe["train"]["epochs"],
        "final_loss": float(values[-1]) if len(values) else float("nan"),
        **{k: metrics.get(k, float("nan")) for k in ("fid", "kid", "precision", "recall", "coverage")},
        "wall_time_s": wall_time if wall_time is not None else metrics.get("wall_time_s", float("nan")),
        "run_dir": str(run_dir),
    }


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if np.isnan(v) else f"{v:.4g}"
    return str(v)


def write_tables(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*COLUMNS, "run_dir"])
        w.writeheader()
        w.writerows(rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def ranking(rows: list[dict]) -> list[tuple[str, float, str]]:
    """Models ranked by their best FID over optimizers (lower is better): (model, fid, optimizer)."""
    best = {}
    for r in rows:
        if not np.isnan(r["fid"]) and (r["model"] not in best or r["fid"] < best[r["model"]][0]):
            best[r["model"]] = (r["fid"], r["optimizer"])
    return sorted(((m, f, o) for m, (f, o) in best.items()), key=lambda x: x[1])


def write_report(rows: list[dict], out_dir: Path, figures_list: list[Path] = (), title: str = "kgen report") -> Path:
    _, md = write_tables(rows, out_dir)
    ranked = ranking(rows)
    text = [f"# {title}", "", "## Results", "", md.read_text(), "FID, KID, precision, recall and coverage come from "
            "`kgen.evaluate` (the project's MNIST classifier features); lower FID/KID and higher "
            "precision/recall/coverage are better.", "", "## Ranking the data supports", ""]
    if ranked:
        text.append("By best FID over optimizers: " + " < ".join(f"{m} ({f:.3g}, {o})" for m, f, o in reversed(ranked))
                    + " (worst to best).")
        text.append("")
        text.append("Fewer epochs or samples than the seeds' make this ranking provisional: FID with a few hundred "
                    "samples has a large bias, so only differences much larger than the spread across optimizers "
                    "count.")
    else:
        text.append("No run has sample metrics; run `python -m kgen.evaluate RUN_DIR` first.")
    text += ["", "## What the seeds claim", "", SEED_CLAIMS, ""]
    if figures_list:
        text += ["## Figures", ""] + [f"![{p.stem}]({os.path.relpath(p, out_dir)})" for p in figures_list] + [""]
    path = out_dir / "report.md"
    path.write_text("\n".join(text))
    return path


@dataclass
class Options:
    out: str = "report.md"
    help: bool = False


def main(argv: list[str]) -> int:
    try:
        opts, paths = args_lib.parse(argv, Options(), positional=None)
        if opts.help or not paths:
            print(__doc__ + "\n" + args_lib.help_text(Options()), file=sys.stderr if not opts.help else sys.stdout)
            return 0 if opts.help else 2
        for p in paths:
            runs.read_config(Path(p))  # every path must be a run before any work is done
        rows = [row(Path(p)) for p in paths]
    except KgenError as e:
        print(f"kgen.report: error: {e}", file=sys.stderr)
        return 2
    out_path = Path(opts.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report = write_report(rows, out_path.parent)
    if report != out_path:
        report.rename(out_path)
    print(f"kgen: report written to {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
