"""A face metric that works offline: the MTCNN face detector (Zhang et al. 2016), whose weights ship
inside the `mtcnn` wheel on PyPI.

Two kinds of number, for images [N, H, W, 3] in [0, 1]:

- **Detection** (realism as a face detector sees it, as the MNIST classifier's confidence is for
  digits): the full three-stage cascade at its default thresholds runs on every image;
  `face_detection_rate` is the share of images in which it finds at least one face, and
  `mean_face_probability` the mean over images of the most confident face's probability (0 where
  none is found).
- **Features** for FID, KID, precision and recall: the 256-d output of the cascade's last network
  (ONet's fc5 + PReLU, the layer its face/non-face, box and landmark heads read) on each image
  resized to ONet's 48x48 input. The whole image is the crop: the face recipes' images are aligned
  so that the face fills most of the frame (img_align_celeba, UTKFace's aligned and cropped set),
  and a fixed crop gives every image a feature, so a generator cannot improve its FID by drawing
  non-faces that a detector-based crop would leave out.

Why this and not InceptionV3: the ImageNet weights cannot be downloaded on an offline machine,
and these ship in the package registry. What it measures is narrower: 48x48 pixels of a face, in a
space trained to tell faces from non-faces and to place landmarks, not to describe texture or
identity. Its FIDs are comparable only with FIDs computed here with the same reference set and the
same number of samples. docs/results/faces/metric_validation.md checks that it orders real,
degraded and noise images as it should.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kgen.errors import ConfigError
from kgen.metrics import float32

SIZE = 48  # ONet's input
FEATURES = "MTCNN ONet 256-d fc5 (mtcnn wheel weights), whole image resized to 48x48"


def _mtcnn():
    try:
        import mtcnn
    except ImportError as e:
        raise ConfigError("the face metric needs the `mtcnn` package (its weights are inside the wheel): "
                          "pip install mtcnn") from e
    return mtcnn


class FaceMetric:
    """The detector and the feature network, built once (a build loads three weight files)."""

    def __init__(self):
        with float32.policy():  # the validated numbers are float32's
            self.detector = _mtcnn().MTCNN(stages="face_and_landmarks_detection", device="CPU:0")
        onet = self.detector.get_stage(stage_id=3)._model  # noqa: SLF001 - the stage keeps its network there

        @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
        def embed(x):
            h = x
            for name in ("conv1", "prelu1", "maxpool1", "conv2", "prelu2", "maxpool2", "conv3", "prelu3",
                         "maxpool3", "conv4", "prelu4", "permute", "flatten", "fc5", "prelu5"):
                h = getattr(onet, name)(h)
            return h

        self._embed = embed

    def features(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """[N, 256] float64. Pixels are standardised as MTCNN standardises its inputs, (x - 127.5) / 128."""
        out = []
        for i in range(0, len(images), batch):
            x = tf.image.resize(tf.constant(images[i : i + batch], tf.float32), (SIZE, SIZE), antialias=True)
            out.append(self._embed((x * 255.0 - 127.5) / 128.0).numpy())
        return np.concatenate(out).astype(np.float64)

    def face_probabilities(self, images: np.ndarray, batch: int = 100) -> np.ndarray:
        """[N]: the most confident face's probability in each image, 0 where the cascade finds none."""
        out = []
        for i in range(0, len(images), batch):
            chunk = np.clip(np.round(images[i : i + batch] * 255.0), 0, 255).astype(np.uint8)
            found = self.detector.detect_faces([x for x in chunk])
            out += [max((f["confidence"] for f in faces), default=0.0) for faces in found]
        return np.asarray(out, np.float64)

    def detection(self, images: np.ndarray) -> dict:
        return detection_summary(self.face_probabilities(images))


def detection_summary(p: np.ndarray) -> dict:
    """From each image's best face probability (0: no face found)."""
    return {"face_detection_rate": float((p > 0).mean()), "mean_face_probability": float(p.mean())}
