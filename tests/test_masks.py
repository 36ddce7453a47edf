"""Inpainting and outpainting masks (1 known, 0 regenerated)."""

import numpy as np
import pytest

from kgen import masks
from kgen.errors import ConfigError


def test_each_named_mask_regenerates_its_region():
    shape = (2, 8, 8, 1)
    assert masks.make("bottom", shape)[:, 4:].sum() == 0 and masks.make("bottom", shape)[:, :4].min() == 1
    assert masks.make("top", shape)[:, :4].sum() == 0 and masks.make("top", shape)[:, 4:].min() == 1
    assert masks.make("left", shape)[:, :, :4].sum() == 0 and masks.make("right", shape)[:, :, 4:].sum() == 0
    centre = masks.make("center", shape)
    assert centre[:, 2:6, 2:6].sum() == 0 and centre.sum() == 2 * (64 - 16)


def test_random_masks_drop_about_half_of_the_blocks_and_are_seeded():
    m = masks.make("random", (64, 28, 28, 1), seed=3)
    # 64 images x 49 blocks: the dropped share has sd sqrt(0.25 / 3136) = 0.009; 0.05 is 5.6 sd
    assert abs(1 - m.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(m, masks.make("random", (64, 28, 28, 1), seed=3))
    assert not np.array_equal(m, masks.make("random", (64, 28, 28, 1), seed=4))
    blocks = m[:, ::4, ::4]  # constant within each 4x4 block
    np.testing.assert_array_equal(np.repeat(np.repeat(blocks, 4, 1), 4, 2), m)


def test_an_unknown_mask_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="bottom, top, left, right, center, random"):
        masks.make("diagonal", (1, 8, 8, 1))
