"""Seed 002's uses of a trained DDPM, measured: the few-step samplers, super-resolution and editing.

    python benchmarks/applications.py RUN_DIR --data-path=../shared/data/mnist.npz \\
        [--samples=1000] [--out=docs/results/applications]

RUN_DIR is a trained MNIST DDPM run (e.g. `python -m kgen.recipes.mnist_ddpm --quick`); its last
checkpoint (EMA weights) is loaded as `kgen.restore` loads it. Three tables, all in the feature
space of kgen's MNIST classifier against the 10,000 MNIST test digits where a set is scored:

1. **Samplers**: DDIM (eta 0 and 1) and DPM-Solver++(2M) at 5, 10, 20 and 50 steps, `--samples`
   samples each (the same seeds): FID, KID, class coverage and confidence. A step is one U-Net
   pass, so the cost of a sample is its step count (images/s on a quiet machine: benchmarks/sampling.py).
2. **Super-resolution** of `--samples` test digits averaged to 14x14 and 7x7: PSNR and SSIM against the
   originals and the classifier's accuracy against their labels, for bicubic upsampling and for
   ILVR (the recipe's sampler), beside the originals' accuracy.
3. **Editing** (SDEdit) of `--samples` test digits blotted with a 6x6 white square at a seeded place
   (kgen.restore.blot), over strength 0.3-0.8: the classifier's accuracy and confidence on the
   edits (realism), their PSNR against the blotted input (faithfulness to it) and against the
   clean digit, and the FID of the edits.

Quality only: none of these numbers depends on what else runs on the machine.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen import args, figures, runs
from kgen.checkpoint import Checkpointer
from kgen.config import num
from kgen.data.mnist import load_mnist
from kgen.data.pipeline import to_unit
from kgen.evaluate import evaluate_images
from kgen.metrics import classifier
from kgen.restore import blot
from kgen.schedules import DDIMSampler, DPMSolverPP


@dataclass
class Options:
    data_path: str = ""
    samples: int = num(1000, 20)
    out: str = "docs/results/applications"
    seed: int = num(0)


def load_model(run_dir: Path):
    recipe = runs.configure(runs.read_recipe(run_dir))
    model = runs.build_model(recipe)
    Checkpointer(run_dir / "checkpoints").restore(model)
    return model, recipe


def draw(model, sampler, steps: int, n: int, seed: int, batch: int = 250) -> np.ndarray:
    fn = tf.function(lambda z, s: sampler.sample(model.eps_for(()), z, s, steps))
    out = [model._to_unit(fn(model.prior_noise(min(batch, n - i), seed * 1000 + i), tf.constant(seed * 1000 + i)))
           for i in range(0, n, batch)]
    return np.concatenate([o.numpy() for o in out])


def in_batches(fn, x, batch: int = 250):
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def main(argv: list[str]) -> int:
    def body(opts, paths):
        run_dir = Path(paths[0])
        model, recipe = load_model(run_dir)
        out = Path(opts.out)
        out.mkdir(parents=True, exist_ok=True)
        arrays, _ = load_mnist("mnist", opts.data_path)
        x = to_unit(arrays["x_test"][: opts.samples, ..., None])
        labels = arrays["y_test"][: opts.samples].astype(np.int32)
        net = classifier.load()
        results = {"run": str(run_dir), "num": opts.samples, "samplers": [], "superres": [], "edit": []}
        t0 = time.time()

        # 1. samplers
        s = model.schedule
        for name, make in (("DDIM eta 0", lambda: DDIMSampler(s, eta=0.0)), ("DDIM eta 1", lambda: DDIMSampler(s, eta=1.0)),
                           ("DPM-Solver++(2M)", lambda: DPMSolverPP(s))):
            for steps in (5, 10, 20, 50):
                images = draw(model, make(), steps, opts.samples, opts.seed)
                m = evaluate_images(images, "mnist", opts.data_path, opts.seed)
                results["samplers"].append({"sampler": name, "steps": steps, **{k: m[k] for k in (
                    "fid", "kid", "kid_std", "coverage", "mean_confidence")}})
                print(f"{name} {steps}: FID {m['fid']:.1f}", flush=True)

        # 2. super-resolution
        def accuracy(images):
            return float((classifier.predict(net, images)[0].argmax(1) == labels).mean())

        results["original_accuracy"] = accuracy(x)
        grids = []
        for factor in (2, 4):
            small = tf.image.resize(x, (28 // factor, 28 // factor), method="area").numpy()
            bicubic = np.clip(tf.image.resize(small, (28, 28), method="bicubic").numpy(), 0, 1)
            ilvr = in_batches(lambda b: model.superres(b, opts.seed), small)
            for method, images in (("bicubic", bicubic), ("ILVR", ilvr)):
                results["superres"].append({
                    "input": f"{28 // factor}x{28 // factor}", "method": method,
                    "psnr": float(tf.reduce_mean(tf.image.psnr(images, x, 1.0))),
                    "ssim": float(tf.reduce_mean(tf.image.ssim(tf.constant(images), tf.constant(x), 1.0))),
                    "accuracy": accuracy(images)})
            grids.append(np.concatenate([tf.image.resize(small[:10], (28, 28), method="nearest").numpy(),
                                         bicubic[:10], ilvr[:10], x[:10]]))
        figures.save_png(out / "superres.png", figures.grid(np.concatenate(grids), 10))

        # 3. editing
        rough = blot(x, opts.seed)
        edits = []
        for strength in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            edited = in_batches(lambda b: model.edit(b, strength, opts.seed), rough)
            probs = classifier.predict(net, edited)[0]
            m = evaluate_images(edited, "mnist", opts.data_path, opts.seed)
            results["edit"].append({
                "strength": strength, "accuracy": float((probs.argmax(1) == labels).mean()),
                "confidence": float(probs.max(1).mean()), "fid": m["fid"],
                "psnr_to_input": float(tf.reduce_mean(tf.image.psnr(edited, rough, 1.0))),
                "psnr_to_clean": float(tf.reduce_mean(tf.image.psnr(edited, x, 1.0)))})
            edits.append(edited[:10])
        results["blotted_accuracy"] = accuracy(rough)
        figures.save_png(out / "edit.png", figures.grid(np.concatenate([rough[:10], *edits, x[:10]]), 10))
        results["minutes"] = round((time.time() - t0) / 60, 1)
        (out / "results.json").write_text(json.dumps(results, indent=2))
        write_markdown(results, opts, out, recipe)
        plot_edit(results, out)
        print((out / "results.md").read_text())

    return args.run_main("applications", argv, Options(), __doc__, body, positional=1)


def plot_edit(results, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = results["edit"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([r["strength"] for r in e], [r["accuracy"] for r in e], "o-", label="classifier accuracy (realism)")
    ax.set_xlabel("SDEdit strength")
    ax.set_ylabel("accuracy")
    ax2 = ax.twinx()
    ax2.plot([r["strength"] for r in e], [r["psnr_to_input"] for r in e], "s-", color="C1",
             label="PSNR to the blotted input (faithfulness)")
    ax2.set_ylabel("PSNR (dB)")
    fig.legend(loc="lower center", ncol=1, fontsize=7)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(out / "edit_tradeoff.png", dpi=100)
    plt.close(fig)


def write_markdown(r, opts, out: Path, recipe) -> None:
    lines = [
        "# Seed 002's uses of a trained DDPM: few-step sampling, super-resolution, editing", "",
        f"The model: `{r['run']}` ({recipe.name}, its last checkpoint's EMA weights). {r['num']:,} samples or test "
        "digits per row, scored in kgen's MNIST classifier features against the 10,000 MNIST test digits. Quality "
        "only: none of it depends on the machine's load (so no time is quoted).", "",
        f"    python benchmarks/applications.py {r['run']} --data-path={opts.data_path} --samples={opts.samples} --out={opts.out}", "",
        "## Samplers (one U-Net pass per step)", "",
        "| sampler | steps | FID | KID ± std | coverage | confidence |", "|---|---|---|---|---|---|",
    ]
    lines += [f"| {s['sampler']} | {s['steps']} | {s['fid']:.1f} | {s['kid']:.2f} ± {s['kid_std']:.2f} | "
              f"{s['coverage']:.3f} | {s['mean_confidence']:.3f} |" for s in r["samplers"]]
    lines += ["", "## Super-resolution (ILVR with the recipe's sampler)", "",
              f"The originals: classifier accuracy {r['original_accuracy']:.4f}.", "",
              "| input | method | PSNR dB | SSIM | classifier accuracy |", "|---|---|---|---|---|"]
    lines += [f"| {s['input']} | {s['method']} | {s['psnr']:.2f} | {s['ssim']:.3f} | {s['accuracy']:.4f} |"
              for s in r["superres"]]
    lines += ["", "![super-resolution](superres.png)", "",
              "Rows per factor (14x14, then 7x7): the input (nearest), bicubic, ILVR, the original.", "",
              "## Editing (SDEdit)", "",
              f"Inputs: test digits with a 6x6 white blot at a seeded place (classifier accuracy on them "
              f"{r['blotted_accuracy']:.4f}).", "",
              "| strength | accuracy | confidence | FID | PSNR to the input dB | PSNR to the clean digit dB |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {e['strength']:.1f} | {e['accuracy']:.4f} | {e['confidence']:.3f} | {e['fid']:.1f} | "
              f"{e['psnr_to_input']:.2f} | {e['psnr_to_clean']:.2f} |" for e in r["edit"]]
    lines += ["", "![edits](edit.png)", "", "Rows: the blotted input, strengths 0.3 to 0.8, the clean digit.", "",
              "![trade-off](edit_tradeoff.png)", ""]
    (out / "results.md").write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
