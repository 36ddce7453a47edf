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
from kgen.metrics import intervals
from kgen.errors import KgenError

SEED_CLAIMS = (
    "Seed 002 (Lee et al.) concludes VAE < GAN < diffusion on MNIST, with Adam the best of the four "
    "optimizers. Seed 004 (Junnuthula 2023) says GANs give sharper MNIST digits than VAEs (section 4)."
)
COLUMNS = ("model", "optimizer", "learning_rate", "steps", "epochs", "final_loss", "fid", "kid", "kid_std", "precision",
           "recall", "coverage", "mean_confidence", "neg_elbo", "wall_time_s")
METRICS = ("fid", "kid", "kid_std", "precision", "recall", "coverage", "mean_confidence", "neg_elbo")


def neg_elbo(metrics: dict, bound: str = "neg_elbo"):
    """A VAE's test bound in nats (`neg_elbo` or `nll_iwae`): the Bernoulli cross-entropy of grey
    levels, or a Gaussian density; None for other models."""
    return metrics.get(f"{bound}_cross_entropy_nats", metrics.get(f"{bound}_nats"))


def read_events(directory: Path) -> dict[str, dict[int, tuple]]:
    """Every tag of the TensorBoard event files in `directory` (a run's train/ or validation/):
    tag -> {step: (value, the seconds since the epoch at which it was written)}; the value is a
    float for a scalar, None for an image or a text."""
    import tensorflow as tf

    tags: dict = {}
    for path in sorted(Path(directory).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                if v.HasField("tensor"):
                    array = tf.make_ndarray(v.tensor)
                    value = float(array) if array.ndim == 0 and array.dtype.kind in "fiu" else None
                else:
                    value = v.simple_value
                tags.setdefault(v.tag, {})[event.step] = (value, event.wall_time)
    return tags


def read_scalars(run_dir: Path, tag: str, wall_times: bool = False) -> tuple[np.ndarray, ...]:
    """(steps, values) of one scalar tag from a run's train/ TensorBoard events; with
    `wall_times`, (steps, values, the seconds since the epoch at which each was written)."""
    points = read_events(Path(run_dir) / "train").get(tag, {})
    steps = np.array(sorted(points))
    out = (steps, np.array([points[s][0] for s in steps]))
    return out + (np.array([points[s][1] for s in steps]),) if wall_times else out


def family(config: dict) -> str:
    return config["family"]


def main_loss_tag(kind: str) -> str:
    """The logged term a family's reports follow (its config's `main_loss`)."""
    from kgen import models

    return models.family_config(kind).main_loss


def row(run_dir: Path, wall_time: float | None = None) -> dict:
    config = runs.read_config(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
    kind = family(config)
    _, values = read_scalars(run_dir, f"epoch/{main_loss_tag(kind)}")
    if not len(values):  # a budget spent inside the first epoch: the last logged steps' mean
        _, values = read_scalars(run_dir, f"step/{main_loss_tag(kind)}")
    recipe = config["recipe"]
    reached = config.get("reached", {})
    budget = recipe["train"].get("time_budget")
    return {
        "budget": (f"{budget / 60:g} min of training" if budget else
                   f"{recipe['train']['max_steps']:,} steps" if recipe["train"].get("max_steps") else
                   f"{recipe['train']['epochs']} epoch(s)" + (f" of {recipe['data']['limit']:,} images"
                                                              if recipe["data"].get("limit") else "")),
        "steps": reached.get("steps"),
        "name": recipe["name"],
        "augment": {k: v for k, v in metrics.items() if k.startswith("augment/")
                    or k in ("cas", "cas_samples", "cas_std", "cas_real_baseline")},
        "conditional_accuracy": metrics.get("conditional_accuracy", float("nan")),
        "model": kind,
        "optimizer": recipe["optimizer"]["name"],
        "learning_rate": recipe["optimizer"]["learning_rate"],
        "epochs": reached.get("epochs", recipe["train"]["epochs"]),
        "final_loss": float(values[-1]) if len(values) else float("nan"),
        **{k: metrics.get(k, float("nan")) for k in METRICS},
        "neg_elbo": _nan(neg_elbo(metrics)),
        "num_samples": metrics.get("num_samples"),
        "chunks": metrics.get("chunks"),
        "seed": recipe.get("seed"),
        "faces": "face_detection_rate" in metrics,
        **{k: metrics[k] for k in ("face_detection_rate", "mean_face_probability") if k in metrics},
        "wall_time_s": wall_time if wall_time is not None else metrics.get("wall_time_s", float("nan")),
        "run_dir": str(run_dir),
    }


def _nan(v):
    return float("nan") if v is None else v


# ----------------------------------------------------------------------------------------------
# Markdown: every table kgen writes (the study's, the results tables', the guidance sweep's)


def cell(v, digits: int = 4, missing: str = "n/a") -> str:
    if v is None or isinstance(v, float) and np.isnan(v):
        return missing
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def spread(values: list, digits: int = 3) -> str:
    """One run's value as it is; several (one per training seed) as mean ± sd."""
    values = [v for v in values if v is not None]
    if not values:
        return ""
    if len(values) == 1:
        return cell(values[0], digits, "")
    if len(set(values)) == 1:  # a step budget: every seed the same count, shown whole
        return f"{cell(values[0], digits, '')} ± 0"
    return f"{np.mean(values):.{digits}g} ± {np.std(values, ddof=1):.2g}"


def markdown_table(header: list[str], body: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(r) + " |" for r in body])


def write_tables(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*COLUMNS, "run_dir"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    lines = markdown_table(list(COLUMNS), [[cell(r[c]) for c in COLUMNS] for r in rows])
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def ranking(rows: list[dict]) -> list[tuple[str, float, str]]:
    """Models ranked by their best FID over optimizers (lower is better): (model, fid, optimizer)."""
    best = {}
    for r in rows:
        if not np.isnan(r["fid"]) and (r["model"] not in best or r["fid"] < best[r["model"]][0]):
            best[r["model"]] = (r["fid"], r["optimizer"])
    return sorted(((m, f, o) for m, (f, o) in best.items()), key=lambda x: x[1])


def difference(a_runs: list[dict], b_runs: list[dict], key: str) -> dict:
    """a - b on metric `key` with its 95% interval: over training seeds (Welch) when both sides
    have several runs, else over the paired sample parts of one run each (sample noise only)."""
    if len(a_runs) >= 2 and len(b_runs) >= 2:
        d, lo, hi = intervals.welch_interval([r[key] for r in a_runs], [r[key] for r in b_runs])
        return {"diff": d, "lo": lo, "hi": hi, "basis": f"{len(a_runs)} and {len(b_runs)} training seeds"}
    ca, cb = a_runs[0].get("chunks") or {}, b_runs[0].get("chunks") or {}
    if key in ca and key in cb and ca["size"] == cb["size"] and len(ca[key]) == len(cb[key]):
        d, lo, hi = intervals.paired_interval(ca[key], cb[key])
        return {"diff": d, "lo": lo, "hi": hi,
                "basis": f"one run each, sample noise only ({len(ca[key])} paired parts of {ca['size']:,} samples)"}
    d = a_runs[0][key] - b_runs[0][key]
    return {"diff": d, "lo": float("-inf"), "hi": float("inf"), "basis": "no interval: evaluated without parts"}


def _judged(a_runs, b_runs, key):
    """(verdict that a's `key` exceeds b's, the difference)."""
    d = difference(a_runs, b_runs, key)
    return intervals.verdict(d["lo"], d["hi"]), d


def _show(runs_: list[dict], key: str, digits: int = 3) -> str:
    v = [r[key] for r in runs_]
    if len(v) == 1:
        return f"{v[0]:.{digits}g}"
    return f"{np.mean(v):.{digits}g} ± {np.std(v, ddof=1):.2g} (mean ± sd of {len(v)} seeds)"


def _interval(d: dict) -> str:
    return f"{d['diff']:+.3g} [{d['lo']:+.3g}, {d['hi']:+.3g}], {d['basis']}"


def groups(rows: list[dict]) -> dict:
    """(model, optimizer) -> its runs (one per training seed) with a KID."""
    out: dict = {}
    for r in rows:
        if not np.isnan(r.get("kid", float("nan"))):
            out.setdefault((r["model"], r["optimizer"]), []).append(r)
    return out


def _best(by_group: dict, model: str) -> list[dict] | None:
    cands = [g for (m, _), g in by_group.items() if m == model]
    return min(cands, key=lambda g: np.mean([r["kid"] for r in g])) if cands else None


def claims(rows: list[dict], budget: str) -> list[str]:
    """Each seed claim the rows can test, with its verdict at this budget and the intervals behind
    it (kgen.metrics.intervals: 95%, over training seeds where there are several, else over the
    samples' paired parts). Orderings are judged by KID (lower is better); sharpness and diversity
    by two measures each, which must both be supported for the claim to be."""
    mnist = groups([r for r in rows if not r.get("faces")])
    face = groups([r for r in rows if r.get("faces")])
    out = []
    best = {m: _best(mnist, m) for m in ("vae", "gan", "ddpm")}
    if all(best.values()):
        v, g, d = best["vae"], best["gan"], best["ddpm"]
        (vg, dvg), (gd, dgd) = _judged(v, g, "kid"), _judged(g, d, "kid")
        out.append(f"- Seed 002, VAE < GAN < diffusion on MNIST (KID, lower is better): "
                   f"**{intervals.combine([vg, gd])}** at {budget} (VAE {_show(v, 'kid')}, GAN {_show(g, 'kid')}, "
                   f"diffusion {_show(d, 'kid')}; KID VAE - GAN {_interval(dvg)}; GAN - diffusion {_interval(dgd)}).")
    for model in sorted({m for m, _ in mnist}):
        by_opt = {o: g for (m, o), g in mnist.items() if m == model}
        if "adam" in by_opt and len(by_opt) > 1:
            others = [o for o in by_opt if o != "adam"]
            judged = {o: _judged(by_opt[o], by_opt["adam"], "kid") for o in others}
            nums = "; ".join(f"{o} {_show(by_opt[o], 'kid')}" + (f" ({by_opt[o][0]['steps']} steps)"
                                                                   if by_opt[o][0].get("steps") else "")
                             + ("" if o == "adam" else f", {o} - adam {_interval(judged[o][1])}")
                             for o in ["adam", *others])
            out.append(f"- Seed 002, Adam the best optimizer for the {model} (KID): "
                       f"**{intervals.combine([j[0] for j in judged.values()])}** at {budget} ({nums}).")
    if best["vae"] and best["gan"]:
        v, g = best["vae"], best["gan"]
        sharp = [_judged(g, v, k) for k in ("mean_confidence", "precision")]
        wide = [_judged(v, g, k) for k in ("recall", "coverage")]
        out.append(f"- Seed 004, the GAN sharper than the VAE on MNIST (classifier confidence and precision): "
                   f"**{intervals.combine([j[0] for j in sharp])}** at {budget} (GAN - VAE: confidence "
                   f"{_interval(sharp[0][1])}; precision {_interval(sharp[1][1])}).")
        out.append(f"- Seed 004, the VAE more diverse than the GAN (recall and class coverage): "
                   f"**{intervals.combine([j[0] for j in wide])}** at {budget} (VAE - GAN: recall "
                   f"{_interval(wide[0][1])}; coverage {_interval(wide[1][1])}).")
    fv, fg = _best(face, "vae"), _best(face, "gan")
    if fv and fg:
        # realism: the detector's rate and KID; precision failed the metric's validation (uniform
        # noise scores 0.999 in the face features: docs/results/faces/metric_validation.md)
        real = [_judged(fg, fv, "face_detection_rate"), _judged(fv, fg, "kid")]
        quality = _judged(fg, fv, "kid")
        diverse = _judged(fv, fg, "recall")
        out.append(f"- Seed 004's abstract, the GAN more realistic than the VAE on faces (face detection rate, KID): "
                   f"**{intervals.combine([j[0] for j in real])}** at {budget} (GAN - VAE detection rate "
                   f"{_interval(real[0][1])}; VAE - GAN KID {_interval(real[1][1])}).")
        out.append(f"- Seed 004's conclusion, the VAE better than the GAN on faces in quality (KID) and diversity "
                   f"(recall): **{intervals.combine([quality[0], diverse[0]])}** at {budget} (GAN - VAE KID "
                   f"{_interval(quality[1])}; VAE - GAN recall {_interval(diverse[1])}).")
    return out


VERDICT_RULE = (
    "A verdict is **supported** when the 95% interval of the difference excludes zero in the claim's direction, "
    "**contradicted** when it excludes zero the other way, **inconclusive** otherwise. The interval is over the "
    "training seeds (Welch) when each model has several runs, else over 10 paired parts of one run's samples "
    "(sample noise only); where two models do not differ, a single comparison is called either way 5% of the "
    "time (kgen/metrics/intervals.py, calibrated in tests/test_intervals.py).")


def claims_section(rows: list[dict], budget: str, title: str, preface: tuple[str, ...] = ()) -> list[str]:
    """The seeds' claims these rows can test, under `title`, with the rule that gives the verdicts."""
    claimed = claims(rows, budget) or [
        "- No claim can be tested on these runs (they need KID for the VAE, GAN and DDPM, or one model under "
        "several optimizers, or the face VAE and GAN)."]
    return [f"## {title}", "", *preface, VERDICT_RULE, "", *claimed]


def augmentation_lines(rows: list[dict]) -> list[str]:
    """For each conditional model measured by `python -m kgen.augment`: CAS and whether adding
    its generated digits to the real ones helped a classifier, by how much, with the interval."""
    out = []
    for r in rows:
        a = r.get("augment") or {}
        if "augment/real_accuracy" not in a:
            continue
        n_seeds = a.get("augment/seeds", 0)
        cas = f"CAS {a['cas']:.4f}" + (f" ± {a['cas_std']:.4f}" if "cas_std" in a else "")
        baseline = (f", against {a['cas_real_baseline']:.4f} for as many real digits" if "cas_real_baseline" in a
                    else "")
        line = (f"- `{r['name']}` ({a.get('augment/experiment', 'distilling the full set')}): {cas} (a classifier "
                f"trained on {a['cas_samples']:,} generated digits only{baseline}); {a['augment/real']:,} real "
                f"digits alone {a['augment/real_accuracy']:.4f} ± {a['augment/real_accuracy_std']:.4f}")
        extras = sorted(int(k.split("/")[1].split("_")[0]) for k in a if k.endswith("_verdict"))
        for n in extras:
            interval = a.get(f"augment/{n}_gain_interval")
            shown = f" [{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else ""
            line += (f"; with {n:,} generated: {a[f'augment/{n}_accuracy']:.4f}, gain {a[f'augment/{n}_gain']:+.4f}"
                     f"{shown}: **{a[f'augment/{n}_verdict']}**")
        out.append(line + f" (test accuracy on real MNIST, {n_seeds} seeds, {a['augment/steps']} steps each, 95% "
                          "interval of the paired gain).")
    return out


def budget_of(rows: list[dict]) -> str:
    spent = sorted({r["budget"] for r in rows if r.get("budget")})
    return " / ".join(spent) if spent else "the runs' settings"


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
        n = min((r.get("num_samples") or 0 for r in rows), default=0)
        text.append("Fewer epochs or samples than the seeds' make this ranking provisional: FID"
                    + (f" on {n:,} samples" if n else "") + " is biased upwards the fewer the samples, so only "
                    "differences much larger than the spread across optimizers count.")
    else:
        text.append("No run has sample metrics; run `python -m kgen.evaluate RUN_DIR` first.")
    text += ["", *claims_section(rows, budget_of(rows), "What the seeds claim, tested", (SEED_CLAIMS, "")), ""]
    augmented = augmentation_lines(rows)
    if augmented:
        text += ["## Generated digits as training data (seed 003)", "", *augmented, ""]
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
