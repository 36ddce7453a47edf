"""Sample quality of any exported kgen model on MNIST.

    python -m kgen.evaluate PATH [--num-samples=10000] [--reference=mnist|mnist_sample]
                                 [--data-path=mnist.npz] [--seed=0] [--weights=inception.weights.h5]

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
from kgen import runs
from kgen.config import choices, num
from kgen.data.mnist import data_dir, load_mnist
from kgen.errors import ConfigError
from kgen.metrics import classifier, distances, inception


@dataclass
class Options:
    num_samples: int = num(10_000, 2)
    reference: str = choices("mnist", "mnist_sample")
    data_path: str = ""  # full MNIST for the reference set (as --data.path of the recipes)
    seed: int = num(0)
    weights: str = ""  # InceptionV3 weights file for non-MNIST images (default: Keras' cache)

PR_POINTS = 5000


def reference_features(reference: str, path: str = "") -> tuple[np.ndarray, np.ndarray, str]:
    """(class probabilities, features) of the reference test set, cached per classifier weights."""
    weights = hashlib.sha256(classifier.weights_path().read_bytes()).hexdigest()[:12]
    cache = data_dir() / "cache" / f"{reference}_test_features_{weights}.npz"
    if cache.exists():
        with np.load(cache) as f:
            return f["probs"], f["features"], str(f["origin"])
    arrays, origin = load_mnist(reference, path)
    probs, feats = classifier.predict(classifier.load(), arrays["x_test"][..., None] / 255.0)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, probs=probs, features=feats, origin=origin)
    except OSError:
        pass  # a read-only cache folder only costs time
    return probs, feats, origin


def find_model(path: Path) -> tuple[Path, Path | None]:
    """(SavedModel directory, run directory or None)."""
    if (path / "saved_model.pb").exists():
        return path, None
    if (path / "config.json").exists():
        recipe = runs.read_recipe(path)
        saved = Path(recipe.train.export_dir) / recipe.name
        if (saved / "saved_model.pb").exists():
            return saved, path
        raise ConfigError(f"{path} is a run of {recipe.name}, but its SavedModel {saved} does not exist "
                          "(run from the directory the run was started in, or pass the SavedModel path)")
    raise ConfigError(f"{path}: neither a SavedModel (no saved_model.pb) nor a run directory (no config.json)")


def draw(saved_model: Path, n: int, seed: int, batch: int = 500) -> np.ndarray:
    model = tf.saved_model.load(str(saved_model))
    out = []
    for i, start in enumerate(range(0, n, batch)):
        m = min(batch, n - start)
        out.append(model.sample(num_samples=tf.constant(m), seed=tf.constant(seed * 100_003 + i)).numpy())
    return np.concatenate(out)


MNIST_SHAPE = (28, 28, 1)


def distances_of(ref_feats: np.ndarray, feats: np.ndarray, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    pr_ref = ref_feats[rng.permutation(len(ref_feats))[:PR_POINTS]]
    pr_fake = feats[rng.permutation(len(feats))[:PR_POINTS]]
    kid, kid_std = distances.kid(ref_feats, feats, seed=seed)
    precision, recall = distances.precision_recall(pr_ref, pr_fake, k=3)
    return {
        "fid": distances.frechet_distance(*distances.statistics(feats), *distances.statistics(ref_feats)),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }


def evaluate_inception(images: np.ndarray, reference: np.ndarray, origin: str, weights: str = "",
                       seed: int = 0) -> dict:
    """images and reference [N, H, W, C] in [0, 1], compared in InceptionV3's pool features."""
    model = inception.build(weights or None)
    metrics = distances_of(inception.features(model, reference), inception.features(model, images), seed)
    return {**metrics, "num_samples": int(len(images)), "reference": origin, "reference_images": int(len(reference)),
            "features": f"Keras InceptionV3 2048-d pool, {inception.SIZE}x{inception.SIZE} bilinear "
                        f"({weights or 'ImageNet weights from the Keras cache'})"}


def run_reference(run_dir: Path, data_path: str = "") -> tuple[np.ndarray, str]:
    """The run's own held-out images in [0, 1], read as its recipe reads them."""
    from kgen import data as data_lib

    recipe = runs.read_recipe(run_dir)
    if data_path:
        recipe.data.path = data_path
    bundle = data_lib.load(recipe.data, recipe.seed)
    return bundle.test_images.astype(np.float32) / 255.0, bundle.origin + " (held out)"


def evaluate_images(images: np.ndarray, reference: str = "mnist", path: str = "", seed: int = 0) -> dict:
    ref_probs, ref_feats, origin = reference_features(reference, path)
    probs, feats = classifier.predict(classifier.load(), images)
    return {
        **distances_of(ref_feats, feats, seed),
        **distances.class_coverage(probs),
        "num_samples": int(len(images)),
        "reference": origin,
        "reference_images": int(len(ref_feats)),
        "features": f"kgen MNIST classifier, 128-d penultimate layer ({classifier.WEIGHTS})",
    }


def evaluate(path: str, num_samples: int = 10_000, reference: str = "mnist", data_path: str = "", seed: int = 0,
             weights: str = "") -> dict:
    saved, run_dir = find_model(Path(path))
    images = draw(saved, num_samples, seed)
    if images.shape[1:] == MNIST_SHAPE:
        metrics = evaluate_images(images, reference, data_path, seed)
    elif run_dir is None:
        raise ConfigError(f"{saved} samples images of shape {images.shape[1:]}, not MNIST digits: pass its run "
                          "directory (logs/<recipe>/<date-time>), whose held-out images are the reference")
    else:
        metrics = evaluate_inception(images, *run_reference(run_dir, data_path), weights, seed)
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
        metrics = evaluate(paths[0], opts.num_samples, opts.reference, opts.data_path, opts.seed, opts.weights)
        print(json.dumps(metrics, indent=2))

    return args_lib.run_main("kgen.evaluate", argv, Options(), __doc__, body, positional=1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
