"""Sample quality of any exported kgen model on MNIST.

    python -m kgen.evaluate PATH [--num-samples=10000] [--reference=mnist|mnist_sample]
                                 [--data-path=mnist.npz] [--seed=0] [--weights=inception.weights.h5]
                                 [--endpoint=sample|sample_ancestral] [--guidance=0,0.5,1,2,4]

PATH is a SavedModel directory or a run directory (logs/<recipe>/<date-time>, whose model is
found through its config.json). N samples are drawn through the `sample` endpoint and compared
with the reference set in the 128-d feature space of the project's own MNIST classifier
(kgen/metrics/classifier.py):

- fid: Frechet distance of the two feature Gaussians. Only comparable with FIDs computed by this
  command with the same classifier weights, reference set and number of samples.
- kid, kid_std: kernel inception distance (unbiased, cubic polynomial kernel) and its standard
  deviation over 100 subsets of min(1000, N/2) (Binkowski et al.'s and torch-fidelity's convention:
  the spread of one subset's estimate, the scale a difference between models must exceed).
- precision, recall: Kynkaanniemi et al. 2019, k = 3, on up to 5,000 points of each set.
- coverage, top_class_share, classes_seen, mean_confidence: the spread of the classifier's labels.

The reference is the 10,000-digit MNIST test set (found as for training: --data.path,
$KGEN_DATA_DIR, TFDS), or with --reference=mnist_sample the 1,000 bundled test digits. Its
features are computed once and cached in $KGEN_DATA_DIR/cache. Prints the metrics as JSON and
writes them to metrics.json (merged into a run directory's) and, for a run, to its TensorBoard.

Class-conditional models (a SavedModel with `sample_class`): also `conditional_accuracy` (how
often the classifier agrees with the class asked for, on N samples with balanced labels),
`fid_balanced`, and per class the FID and recall against that class's reference images
(`fid_per_class`, `recall_per_class` and their means). For the conditional DDPM `--guidance=0,0.5,1,2,4`
measures each guidance weight (keys `guidance/<w>/...`) and draws the trade-off into guidance.png.

Other images (the face recipes): PATH must be a run directory; the reference is that run's own
held-out images (its recipe's data, `--data-path` replacing the path it was trained from), and
the features are the 2048-d pool of Keras' InceptionV3 (kgen/metrics/inception.py): fid, kid,
kid_std, precision and recall as above, in that space. `--weights=PATH` reads the ImageNet
weights from a file (offline machines); otherwise Keras' cache, downloaded once. These FIDs are
comparable only with FIDs from the same weights, resize, reference set and number of samples.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen import args as args_lib
from kgen import runs, sampling
from kgen.config import choices, num
from kgen.data.mnist import data_dir, load_mnist
from kgen.data.pipeline import to_unit
from kgen.errors import ConfigError
from kgen.metrics import classifier, distances, inception, intervals


@dataclass
class Options:
    num_samples: int = num(10_000, 2)
    # MNIST models: mnist or mnist_sample. Face models: a folder of held-out images (for example
    # ../shared/data/faces/test), read at the run's image size; empty: the run's own held-out images
    reference: str = ""
    data_path: str = ""  # full MNIST for the reference set (as --data.path of the recipes)
    seed: int = num(0)
    # face models: face = the MTCNN face metric (offline, kgen/metrics/faces.py); inception =
    # InceptionV3 pool features (needs ImageNet weights: --weights or Keras' cache); auto = face,
    # or inception when --weights is given
    features: str = choices("auto", "face", "inception")
    weights: str = ""  # InceptionV3 weights file for non-MNIST images (default: Keras' cache)
    endpoint: str = "sample"  # the SavedModel endpoint (num_samples, seed) that draws; the DDPM has sample_ancestral
    # conditional DDPMs: guidance weights to measure, e.g. 0,0.5,1,2,4 (empty: the model's default)
    guidance: str = ""

PR_POINTS = 5000


def reference_features(reference: str, path: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(class probabilities, features, labels) of the reference test set and its origin, cached
    per classifier weights."""
    weights = hashlib.sha256(classifier.weights_path().read_bytes()).hexdigest()[:12]
    cache = data_dir() / "cache" / f"{reference}_test_features_labels_{weights}.npz"
    if cache.exists():
        with np.load(cache) as f:
            return f["probs"], f["features"], f["labels"], str(f["origin"])
    arrays, origin = load_mnist(reference, path)
    probs, feats = classifier.predict(classifier.load(), to_unit(arrays["x_test"][..., None]))
    labels = np.asarray(arrays["y_test"], np.int32)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, probs=probs, features=feats, labels=labels, origin=origin)
    except OSError:
        pass  # a read-only cache folder only costs time
    return probs, feats, labels, origin


def draw(saved_model: Path, n: int, seed: int, batch: int = 500, endpoint: str = "sample") -> np.ndarray:
    model = tf.saved_model.load(str(saved_model))
    fn = getattr(model, endpoint, None)
    if fn is None:
        found = sorted(k for k in dir(model) if k.startswith("sample"))
        raise ConfigError(f"--endpoint={endpoint}: {saved_model} has no such endpoint; it has {', '.join(found)}")
    return draw_from(fn, n, seed, batch)


def draw_from(fn, n: int, seed: int, batch: int = 500) -> np.ndarray:
    """n images from an endpoint `fn(num_samples, seed)`, in batches with seeds of their own."""
    return sampling.in_batches(lambda a, b, s: fn(num_samples=tf.constant(b - a), seed=tf.constant(s)).numpy(),
                               n, seed, batch)


MNIST_SHAPE = (28, 28, 1)


def finite(images: np.ndarray) -> tuple[np.ndarray, int]:
    """(the images with every non-finite pixel at 0, how many images had one). A young flow's
    inverse can overflow; such samples are scored as the black images the grid draws, which counts
    them against the model, where dropping them would flatter it and NaN features crash FID."""
    bad = int((~np.isfinite(images.reshape(len(images), -1))).any(axis=1).sum())
    return (np.where(np.isfinite(images), images, 0).astype(images.dtype) if bad else images), bad


def chunked(ref_feats: np.ndarray, feats: np.ndarray, seed: int, per_sample: dict | None = None) -> dict:
    """KID, precision and recall (and `per_sample` statistics, name -> function of the samples'
    indices) on `intervals.CHUNKS` disjoint equal parts of the samples and of the reference: the
    material of the sample-noise intervals in kgen.metrics.intervals. The reference parts depend
    only on the reference and the seed, so two runs evaluated alike pair up part by part."""
    size = min(len(ref_feats), len(feats)) // intervals.CHUNKS
    if size < 4:
        return {}
    out = {"size": int(size), "kid": [], "precision": [], "recall": []}
    samples = intervals.chunks_of(len(feats), size, seed + 1)
    for r, f in zip(intervals.chunks_of(len(ref_feats), size, seed), samples):
        out["kid"].append(distances.mmd2(ref_feats[r], feats[f]))
        precision, recall = distances.precision_recall(ref_feats[r], feats[f], k=3)
        out["precision"].append(precision)
        out["recall"].append(recall)
    for name, fn in (per_sample or {}).items():
        out[name] = [float(fn(f)) for f in samples]
    return out


def distances_of(ref_feats: np.ndarray, feats: np.ndarray, seed: int, per_sample: dict | None = None) -> dict:
    # k-NN radii shrink as a set grows, so precision and recall compare sets of one size
    rng = np.random.default_rng(seed)
    n = min(PR_POINTS, len(ref_feats), len(feats))
    pr_ref = ref_feats[rng.permutation(len(ref_feats))[:n]]
    pr_fake = feats[rng.permutation(len(feats))[:n]]
    kid, kid_std = distances.kid(ref_feats, feats, seed=seed)
    precision, recall = distances.precision_recall(pr_ref, pr_fake, k=3)
    return {
        "chunks": chunked(ref_feats, feats, seed, per_sample),
        "pr_points": int(n),
        "fid": distances.frechet_distance(*distances.statistics(feats), *distances.statistics(ref_feats)),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }


def evaluate_inception(images: np.ndarray, reference: np.ndarray, origin: str, weights: str = "",
                       seed: int = 0, model=None) -> dict:
    """images and reference [N, H, W, C] in [0, 1], compared in InceptionV3's pool features;
    `model`: `inception.build(weights)` already built (seconds of building and tracing saved when
    evaluating several sets of images)."""
    model = inception.build(weights or None) if model is None else model
    metrics = distances_of(inception.features(model, reference), inception.features(model, images), seed)
    return {**metrics, "num_samples": int(len(images)), "reference": origin, "reference_images": int(len(reference)),
            "features": f"Keras InceptionV3 2048-d pool, {inception.SIZE}x{inception.SIZE} bilinear "
                        f"({weights or 'ImageNet weights from the Keras cache'})"}


def evaluate_faces(images: np.ndarray, reference: np.ndarray, origin: str, seed: int = 0, metric=None) -> dict:
    """images and reference [N, H, W, 3] in [0, 1]: FID, KID, precision and recall in the MTCNN
    face network's features, and the detector's face rate and probability on the samples.
    `metric`: a `faces.FaceMetric()` already built."""
    from kgen.metrics import faces

    metric = faces.FaceMetric() if metric is None else metric
    p = metric.face_probabilities(images)
    out = distances_of(metric.features(reference), metric.features(images), seed, {
        "face_detection_rate": lambda i: (p[i] > 0).mean(), "mean_face_probability": lambda i: p[i].mean()})
    out.update(faces.detection_summary(p))
    return {**out, "num_samples": int(len(images)), "reference": origin, "reference_images": int(len(reference)),
            "features": faces.FEATURES}


def run_reference(run_dir: Path, data_path: str = "", folder: str = "") -> tuple[np.ndarray, str]:
    """Reference images in [0, 1] at the run's image size: every image of `folder`, or else the
    run's own held-out images, read as its recipe reads them."""
    from kgen import data as data_lib
    from kgen.data import images as image_files

    recipe = runs.read_recipe(run_dir)
    if folder:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise ConfigError(f"--reference={folder}: not a folder. For a face model, give a folder of held-out "
                              "images (e.g. ../shared/data/faces/test), or leave it empty for the run's own")
        files = image_files.list_images(path)[0]
        if not files:
            raise ConfigError(f"--reference={folder}: no .jpg/.jpeg/.png images in it")
        print(f"kgen.evaluate: decoding {len(files):,} reference images from {path}", file=sys.stderr, flush=True)
        reference, bad = image_files.decode_files(files, recipe.data)
        if bad:
            print(f"kgen.evaluate: skipped {len(bad)} unreadable reference image(s), e.g. {bad[0]}", file=sys.stderr)
        return to_unit(reference), f"{len(reference)} images from {path}"
    if data_path:
        recipe.data.path = data_path
    bundle = data_lib.load(recipe.data, recipe.seed)
    return to_unit(bundle.test_images), bundle.origin + " (held out)"


def evaluate_images(images: np.ndarray, reference: str = "mnist", path: str = "", seed: int = 0) -> dict:
    _, ref_feats, _, origin = reference_features(reference, path)
    probs, feats = classifier.predict(classifier.load(), images)
    return {
        **distances_of(ref_feats, feats, seed, {"coverage": lambda i: distances.class_coverage(probs[i])["coverage"],
                                                "mean_confidence": lambda i: probs[i].max(1).mean()}),
        **distances.class_coverage(probs),
        "num_samples": int(len(images)),
        "reference": origin,
        "reference_images": int(len(ref_feats)),
        "features": f"kgen MNIST classifier, 128-d penultimate layer ({classifier.WEIGHTS})",
    }


def balanced_labels(n: int, num_classes: int = 10) -> np.ndarray:
    return (np.arange(n) % num_classes).astype(np.int32)


def draw_class(model, labels: np.ndarray, seed: int, guidance: float | None = None, batch: int = 500) -> np.ndarray:
    def draw(a, b, s):
        kwargs = {"labels": tf.constant(labels[a:b]), "seed": tf.constant(s)}
        if guidance is not None:
            kwargs["guidance"] = tf.constant(guidance, tf.float32)
        return model.sample_class(**kwargs).numpy()

    return sampling.in_batches(draw, len(labels), seed, batch, "class samples")


def conditional_metrics(images: np.ndarray, labels: np.ndarray, reference: str = "mnist", path: str = "",
                        seed: int = 0) -> dict:
    """How well samples asked for class k are of class k: the project classifier's agreement with
    the requested labels (conditional accuracy), and per class the FID and recall against the
    reference images of that class (recall: how much of the class's variety the samples reach)."""
    _, ref_feats, ref_labels, _ = reference_features(reference, path)
    probs, feats = classifier.predict(classifier.load(), images)
    rng = np.random.default_rng(seed)
    fids, recalls = [], []
    for k in range(int(ref_labels.max()) + 1):
        f, r = feats[labels == k], ref_feats[ref_labels == k]
        fids.append(distances.frechet_distance(*distances.statistics(f), *distances.statistics(r)))
        n = min(PR_POINTS, len(r), len(f))
        r_pts, f_pts = (a[rng.permutation(len(a))[:n]] for a in (r, f))
        recalls.append(distances.precision_recall(r_pts, f_pts, k=3)[1])
    return {
        "conditional_accuracy": float((probs.argmax(1) == labels).mean()),
        "fid_balanced": distances.frechet_distance(*distances.statistics(feats), *distances.statistics(ref_feats)),
        "fid_class_mean": float(np.mean(fids)),
        "recall_class_mean": float(np.mean(recalls)),
        "fid_per_class": [float(v) for v in fids],
        "recall_per_class": [float(v) for v in recalls],
    }


def evaluate_conditional(saved_model: Path, n: int, reference: str, path: str, seed: int,
                         guidances: list[float]) -> dict:
    """Conditional metrics of a model with `sample_class`, at each guidance weight for a DDPM
    (under `guidance/<w>/...`, and a guidance.png of the trade-off), else once."""
    model = tf.saved_model.load(str(saved_model))
    if not hasattr(model, "sample_class"):
        return {}
    labels = balanced_labels(n)
    if not hasattr(model, "default_guidance"):
        if guidances:
            raise ConfigError(f"--guidance: {saved_model} is not a guided model (only the conditional DDPM takes one)")
        return conditional_metrics(draw_class(model, labels, seed), labels, reference, path, seed)
    default = float(model.default_guidance().numpy())
    out = {}
    for w in guidances or [default]:
        print(f"kgen.evaluate: conditional samples at guidance {w:g}", flush=True)
        m = conditional_metrics(draw_class(model, labels, seed, w), labels, reference, path, seed)
        out.update({f"guidance/{w:g}/{k}": v for k, v in m.items()})
        if w == default:
            out.update(m)
    out["guidance_default"] = default
    return out


def guidance_figure(metrics: dict, out: Path) -> Path | None:
    ws = sorted({float(k.split("/")[1]) for k in metrics if k.startswith("guidance/")})
    if len(ws) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    get = lambda key: [metrics[f"guidance/{w:g}/{key}"] for w in ws]  # noqa: E731
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ws, get("fid_class_mean"), "o-", color="C0", label="class FID (mean)")
    ax.set_xlabel("guidance w")
    ax.set_ylabel("class FID (lower is better)", color="C0")
    ax2 = ax.twinx()
    ax2.plot(ws, get("conditional_accuracy"), "s-", color="C1", label="conditional accuracy")
    ax2.plot(ws, get("recall_class_mean"), "^-", color="C2", label="class recall (mean)")
    ax2.set_ylabel("accuracy, recall")
    ax2.set_ylim(0, 1.02)
    fig.legend(loc="lower center", ncol=3, fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


MNIST_REFERENCES = ("mnist", "mnist_sample")


def evaluate(path: str, num_samples: int = 10_000, reference: str = "", data_path: str = "", seed: int = 0,
             weights: str = "", endpoint: str = "sample", guidances: list[float] | None = None,
             features: str = "auto") -> dict:
    """Metrics of `num_samples` drawn through the endpoint; merged into the run's metrics.json
    (keys prefixed with the endpoint's name when it is not `sample`)."""
    saved, run_dir = runs.saved_model_of(Path(path))
    images, non_finite = finite(draw(saved, num_samples, seed, endpoint=endpoint))
    if non_finite:
        print(f"kgen.evaluate: {non_finite:,} of {num_samples:,} samples have non-finite pixels (NaN or inf); they "
              "are scored with those pixels at 0 (metrics.json: non_finite_samples)", file=sys.stderr)
    if images.shape[1:] == MNIST_SHAPE:
        reference = reference or "mnist"
        if reference not in MNIST_REFERENCES:
            raise ConfigError(f"--reference={reference}: an MNIST model is measured against one of "
                              f"{', '.join(MNIST_REFERENCES)}")
        if features != "auto" or weights:
            raise ConfigError("--features and --weights are for face models; MNIST models are measured in the "
                              "project classifier's features")
        metrics = evaluate_images(images, reference, data_path, seed)
    elif run_dir is None:
        raise ConfigError(f"{saved} samples images of shape {images.shape[1:]}, not MNIST digits: pass its run "
                          "directory (logs/<recipe>/<date-time>), whose recipe says how to read the reference")
    else:
        if reference in MNIST_REFERENCES:
            raise ConfigError(f"--reference={reference}: {saved} draws {images.shape[1:]} images, not digits; give "
                              "a folder of held-out images of its kind, or leave --reference empty")
        kind = ("inception" if weights else "face") if features == "auto" else features
        if kind == "face" and weights:
            raise ConfigError("--weights is InceptionV3's; with --features=face it would be unused. Drop one")
        ref, origin = run_reference(run_dir, data_path, reference)
        if kind == "face":
            metrics = evaluate_faces(images, ref, origin, seed)
        else:
            metrics = evaluate_inception(images, ref, origin, weights, seed)
    metrics["non_finite_samples"] = non_finite
    if images.shape[1:] == MNIST_SHAPE and endpoint == "sample":
        metrics.update(evaluate_conditional(saved, num_samples, reference, data_path, seed, guidances or []))
        if run_dir is not None:
            guidance_figure(metrics, run_dir / "guidance.png")
    if endpoint != "sample":
        metrics = {f"{endpoint}/{k}": v for k, v in metrics.items()}
    runs.merge_metrics(run_dir or saved, metrics)
    if run_dir is not None:
        writer = tf.summary.create_file_writer(str(run_dir / "train"))
        with writer.as_default():
            for k, v in metrics.items():
                if isinstance(v, float):
                    tf.summary.scalar(f"eval/{k}", v, step=0)
        writer.flush()
    return metrics


def main(argv: list[str]) -> int:
    def body(opts, paths):
        try:
            guidances = [float(w) for w in opts.guidance.split(",") if w.strip()]
        except ValueError:
            raise ConfigError(f"--guidance={opts.guidance}: expected numbers separated by commas, e.g. 0,0.5,1,2,4")
        if any(w < 0 for w in guidances):
            raise ConfigError(f"--guidance={opts.guidance}: weights must be >= 0 (0 is the conditional model alone)")
        metrics = evaluate(paths[0], opts.num_samples, opts.reference, opts.data_path, opts.seed, opts.weights,
                           opts.endpoint, guidances, opts.features)
        print(json.dumps(metrics, indent=2))

    return args_lib.run_main("kgen.evaluate", argv, Options(), __doc__, body, positional=1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
