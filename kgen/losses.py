"""Loss functions: pure, per-example, float32. Reductions over the batch happen in the models,
so that they can divide by the global batch under tf.distribute."""

import math

import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(x, mean, log_variance):
    """log N(x; mean, exp(log_variance)) summed over the last axis.

    log N = -1/2 * sum_i [ log(2 pi) + log_var_i + (x_i - mean_i)^2 / exp(log_var_i) ]
    """
    return -0.5 * tf.reduce_sum(
        LOG_2PI + log_variance + tf.square(x - mean) * tf.exp(-log_variance), axis=-1
    )


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) = sum_pixels [x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))], per image.

    Computed with the numerically stable sigmoid cross-entropy; `x` may be grey levels in [0, 1]
    (the continuous relaxation every MNIST VAE in the seeds uses).
    """
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
    return -tf.reduce_sum(tf.reshape(ce, [tf.shape(ce)[0], -1]), axis=-1)


def gaussian_kl_standard_normal(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, I)) = 1/2 sum [exp(lv) + mean^2 - 1 - lv], per row."""
    return 0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=-1)


def binary_cross_entropy_from_logits(labels, logits):
    """-[y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))] per example, averaged over trailing axes."""
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(tf.reshape(ce, [tf.shape(ce)[0], -1]), axis=-1)


def discriminator_loss(real_logits, fake_logits, real_labels=1.0, fake_labels=0.0):
    """The discriminator's minimax loss per example (Goodfellow et al. 2014, eq. 1):

        L_D = -[y_r log D(x) + (1 - y_r) log(1 - D(x))] - [y_f log D(G(z)) + (1 - y_f) log(1 - D(G(z)))]

    with D = sigmoid(logits), y_r = 1 and y_f = 0 unless smoothed or flipped labels are given
    (scalars or tensors shaped like the logits). As TF-GAN's `modified_discriminator_loss`.
    """
    return (binary_cross_entropy_from_logits(tf.broadcast_to(tf.cast(real_labels, real_logits.dtype), tf.shape(real_logits)), real_logits)
            + binary_cross_entropy_from_logits(tf.broadcast_to(tf.cast(fake_labels, fake_logits.dtype), tf.shape(fake_logits)), fake_logits))


def generator_loss(fake_logits):
    """The non-saturating generator loss per example (Goodfellow et al. 2014, section 3): the
    generator maximises log D(G(z)) instead of minimising log(1 - D(G(z))), i.e. BCE with the
    labels flipped to 1:  L_G = -log D(G(z)).  As TF-GAN's `modified_generator_loss`."""
    return binary_cross_entropy_from_logits(tf.ones_like(fake_logits), fake_logits)


def discriminator_accuracy(real_logits, fake_logits):
    """Per example: 1/2 [1(D(x) > 1/2) + 1(D(G(z)) < 1/2)], i.e. logits thresholded at 0."""
    real = tf.reshape(tf.cast(real_logits > 0, tf.float32), [-1])
    fake = tf.reshape(tf.cast(fake_logits < 0, tf.float32), [-1])
    return 0.5 * (real + fake)
