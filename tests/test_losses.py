"""The GAN losses and the discriminator accuracy against their formulas, at known logits."""

import numpy as np
import pytest
import tensorflow as tf

from kgen import losses


def softplus(x):
    return np.log1p(np.exp(x))


def test_gan_losses_match_their_formulas():
    real = tf.constant([[2.0], [-1.0]])
    fake = tf.constant([[-3.0], [0.5]])
    # -log sigmoid(l) = softplus(-l);  -log(1 - sigmoid(l)) = softplus(l)
    d = losses.discriminator_loss(real, fake).numpy()
    np.testing.assert_allclose(d, softplus(-np.array([2.0, -1.0])) + softplus(np.array([-3.0, 0.5])), rtol=1e-6)
    g = losses.generator_loss(fake).numpy()
    np.testing.assert_allclose(g, softplus(-np.array([-3.0, 0.5])), rtol=1e-6)
    # smoothed real labels y = 0.9: -[0.9 log s(l) + 0.1 log(1 - s(l))]
    smooth = losses.discriminator_loss(real, fake, 0.9).numpy()
    expect = 0.9 * softplus(-np.array([2.0, -1.0])) + 0.1 * softplus(np.array([2.0, -1.0])) \
        + softplus(np.array([-3.0, 0.5]))
    np.testing.assert_allclose(smooth, expect, rtol=1e-6)


@pytest.mark.parametrize("real, fake, expected", [
    ([3.0, 1.0], [-2.0, -0.1], [1.0, 1.0]),   # both right
    ([3.0, -1.0], [-2.0, 0.4], [1.0, 0.0]),   # the second example: both wrong
    ([-3.0, 1.0], [-2.0, 0.4], [0.5, 0.5]),   # one of two right each
])
def test_discriminator_accuracy(real, fake, expected):
    out = losses.discriminator_accuracy(tf.constant(real)[:, None], tf.constant(fake)[:, None]).numpy()
    np.testing.assert_array_equal(out, expected)
