"""Files the tests read or make: a run's TensorBoard tags, and an image folder like a user's."""

import numpy as np
from PIL import Image

from kgen import report


def event_tags(directory) -> dict[str, list[int]]:
    """tag -> the steps it was written at, read with kgen's own event reader (report.read_events)."""
    return {tag: sorted(points) for tag, points in report.read_events(directory).items()}


def make_folder(root, n=24, size=(218, 178)):
    rng = np.random.default_rng(0)
    (root / "a" / "b").mkdir(parents=True)
    for i in range(n):
        sub = root if i % 3 == 0 else root / "a" if i % 3 == 1 else root / "a" / "b"
        pixels = np.full((*size, 3), 40, np.uint8)
        # a bright square in the centre: the part the centre crop must keep
        h, w = size
        pixels[h // 2 - 20 : h // 2 + 20, w // 2 - 20 : w // 2 + 20] = 220
        pixels += rng.integers(0, 10, pixels.shape, dtype=np.uint8)
        Image.fromarray(pixels).save(sub / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "list_attr_celeba.txt").write_text("not an image")
    return root
