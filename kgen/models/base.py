"""What the runner, the callbacks, the checkpoints and the export need from every kgen model."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kgen.config import num
from kgen.layers.replicas import replica_context
from kgen.networks.conv import ConvNet, DeconvNet


FAMILIES: dict[str, type] = {}


class Alternatives(tuple):
    """The input signatures of an endpoint with optional arguments (a flow's `sample(num_samples,
    seed[, temperature])`): the export traces one function per signature, and the SavedModel's
    function picks the one that matches the arguments it is called with."""


class FamilyConfig:
    """Defaults of the facts a model family's config declares (see `register`)."""

    data_scales = ("unit", "symmetric")
    main_loss = "loss"

    def role_learning_rates(self) -> dict:
        return {}


@dataclass
class CodingConfig(FamilyConfig):
    """The fields every model with an encoder and a decoder shares (VAE, AAE, AVB), so that the
    three compare on the same networks."""

    latent_dim: int = num(2, 1)
    encoder: ConvNet = field(default_factory=ConvNet)
    decoder: DeconvNet = field(default_factory=DeconvNet)


def register(family: str):
    """Class decorator for a model family's config dataclass: names the family (written into
    config.json) and makes it findable by that name.

    What the config declares (defaults in `FamilyConfig`):
    - `build(image_shape, seed, data_scale)`: the model, uncompiled; it never sees the recipe
      (`runs.build_model` compiles it from the recipe's optimizer settings);
    - `role_learning_rates()`: optimizer role -> its own learning rate (None: the recipe's);
    - `data_scales`: the data scales (`data.scale`) the model accepts, checked before building;
    - `main_loss`: the logged term reports follow.
    """

    def deco(cls):
        cls.family = family
        FAMILIES[family] = cls
        return cls

    return deco


def minimize(optimizer, variables, loss_fn):
    """One gradient step of `optimizer` on `variables`.

    `loss_fn()` returns the per-example losses [B], or a tuple whose first element they are (the
    rest is passed back). The mean is taken over the global batch (see `average`), scaled for
    float16 loss scaling, differentiated and applied.
    """
    with tf.GradientTape() as tape:
        out = loss_fn()
        per_example = out[0] if isinstance(out, tuple) else out
        scaled = optimizer.scale_loss(average(per_example, tf.shape(per_example)[0]))
    optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
    return out


def average(per_example, local_batch):
    """Sum over the local batch divided by the global batch: the per-replica share of the mean.

    The optimizer sums gradients over replicas, so each replica must divide by the global batch.
    """
    n, _ = replica_context()
    return tf.nn.compute_average_loss(per_example, global_batch_size=local_batch * n)


class PriorCoded:
    """Codes drawn from a prior layer (kgen.layers.priors) through its base noise, so that the
    epoch grids keep one fixed draw of base noise while a learned prior moves (the VAE, the AAE)."""

    def prior_noise(self, n, seed):
        return self.prior.from_base(self.prior.base_noise(n, seed))

    def grid_noise(self, n, seed):
        return self.prior.base_noise(n, seed)

    def grid_images(self, noise):
        return self.generate(self.prior.from_base(noise))


class GenerativeModel(keras.Model):
    """Base of every kgen model. Subclasses own `train_step` and declare:

    - `image_shape`, `latent_shape`: tuples.
    - `optimizers()`: name -> optimizer, for learning-rate logging and checkpoints.
    - `prior_noise(n, seed)`: stateless latent noise for fixed sample grids and `sample`.
    - `generate(z)`: latent batch -> images in [0, 1].
    - `endpoints()`: name -> (function, input signature) for the SavedModel.
    - `figures(images, labels)`: name -> uint8 [H, W, C] pictures drawn after training.
    """

    image_shape: tuple = ()
    latent_shape: tuple = ()
    network_names: tuple = ()
    trackers: dict = {}

    def make_noise(self, seed: int) -> None:
        """The seed generators: `noise` for training, `eval_noise` for validation and test steps,
        so that turning validation on or off leaves the training noise unchanged."""
        self.noise = keras.random.SeedGenerator(seed, name="noise")
        self.eval_noise = keras.random.SeedGenerator(seed + 1, name="eval_noise")

    def make_trackers(self, *names: str) -> None:
        """One running mean per logged term, in the order given."""
        self.trackers = {k: keras.metrics.Mean(k) for k in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def track(self, **terms) -> dict:
        """Adds each term's values (per example, or a scalar) to its running mean; returns every
        mean. Means are over examples, so a partial last batch weighs by its size."""
        for k, v in terms.items():
            self.trackers[k].update_state(v)
        return {k: m.result() for k, m in self.trackers.items()}

    def networks(self) -> dict:
        """name -> keras.Model of every sub-network, for summaries and parameter counts."""
        return {n: getattr(self, n) for n in self.network_names}

    # models with several optimizers: compile keyword -> role (keras-io's compile(d_optimizer=,
    # g_optimizer=)); the role names the optimizer in logs and checkpoints
    optimizer_roles: dict = {}

    def compile(self, optimizer=None, **kwargs):
        own = {k: kwargs.pop(k) for k in self.optimizer_roles}
        super().compile(optimizer=optimizer, **kwargs)
        for k, opt in own.items():
            setattr(self, k, opt)

    def get_compile_config(self) -> dict:
        """What `model.keras` keeps of the compile: every optimizer's settings by its compile
        keyword (their slots stay in the run's checkpoints), and XLA."""
        names = list(self.optimizer_roles) or ["optimizer"]
        return {"optimizers": {k: keras.optimizers.serialize(getattr(self, k)) for k in names},
                "jit_compile": bool(getattr(self, "jit_compile", False))}

    def compile_from_config(self, config: dict) -> None:
        """`keras.saving.load_model` compiles the model as it was, ready for more train steps."""
        self.compile(jit_compile=config.get("jit_compile", False),
                     **{k: keras.optimizers.deserialize(v) for k, v in config["optimizers"].items()})
        self.build_optimizers()

    def optimizers(self) -> dict:
        if not self.optimizer_roles:
            return {"optimizer": self.optimizer}
        return {role: getattr(self, k) for k, role in self.optimizer_roles.items()}

    def build_optimizers(self) -> None:
        """Creates optimizer slots now so that a checkpoint can be restored before the first step."""
        for name, opt in self.optimizers().items():
            opt.build(self.trainable_variables_for(name))

    def trainable_variables_for(self, optimizer_name: str) -> list:
        return self.trainable_variables

    def prior_noise(self, n, seed):
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        return tf.random.stateless_normal(tf.concat([[n], self.latent_shape], 0), seed=seed)

    def generate(self, z):
        raise NotImplementedError

    def grid_noise(self, n, seed):
        """The epoch grid's fixed noise, drawn once before training; `grid_images` turns it into
        images with the model as it is then. Models with a learned prior keep the prior's base
        noise here and push it through the current prior at every grid."""
        return self.prior_noise(n, seed)

    def grid_images(self, noise):
        return self.generate(noise)

    def sample(self, num_samples, seed):
        """Images in [0, 1], a pure function of (num_samples, seed)."""
        return self.generate(self.prior_noise(num_samples, seed))

    def endpoints(self) -> dict:
        def sample(num_samples, seed):
            return self.sample(num_samples, seed)

        def generate(z):
            return self.generate(z)

        return {
            "sample": (sample, [tf.TensorSpec([], tf.int32, "num_samples"), tf.TensorSpec([], tf.int32, "seed")]),
            "generate": (generate, [tf.TensorSpec([None, *self.latent_shape], tf.float32, "z")]),
        }

    def coding_endpoints(self, encode, encode_signature) -> dict:
        """`sample` and `generate`, plus `encode` and `decode` for models that have an encoder."""

        def decode(z):
            return self.generate(z)

        out = GenerativeModel.endpoints(self)
        out["encode"] = (encode, encode_signature)
        out["decode"] = (decode, [tf.TensorSpec([None, *self.latent_shape], tf.float32, "z")])
        return out

    def image_spec(self, name: str = "images") -> tf.TensorSpec:
        return tf.TensorSpec([None, *self.image_shape], tf.float32, name)

    def figures(self, images: np.ndarray, labels: np.ndarray) -> dict:
        return {}

    def encoder_figures(self, images, labels, scatter_title: str, **scatter_kwargs) -> dict:
        """Prior samples, reconstructions (inputs above outputs) and, for a 2-d latent, the test
        codes' scatter: the figures every model with an `encode(x)` shares."""
        from kgen import figures

        x = images[:16]
        out = {
            "prior_samples": figures.grid(self.sample(64, 0).numpy(), 8),
            "reconstructions": figures.grid(np.concatenate([x[:8], self.generate(self.encode(x)).numpy()[:8]]), 8),
        }
        if self.latent_shape == (2,):
            codes = np.concatenate([np.asarray(self.encode(images[i : i + 500])) for i in range(0, len(images), 500)])
            out["latent_scatter"] = figures.latent_scatter(codes, labels, scatter_title, **scatter_kwargs)
        return out

    def final_metrics(self, images: np.ndarray, labels: np.ndarray) -> dict:
        """Test-set numbers computed once after training (e.g. likelihood bounds)."""
        return {}

    def get_config(self) -> dict:
        """Every constructor argument under its own name (keras-hub's rule); networks and priors
        as serialised Keras objects."""
        import inspect

        config = {"name": self.name}
        for name in inspect.signature(type(self).__init__).parameters:
            if name in ("self", "kwargs"):
                continue
            value = getattr(self, name)
            config[name] = keras.saving.serialize_keras_object(value) if isinstance(value, keras.layers.Layer) else value
        return config

    @classmethod
    def from_config(cls, config):
        config = {k: keras.saving.deserialize_keras_object(v) if isinstance(v, dict) and "class_name" in v else v
                  for k, v in config.items()}
        return cls(**config)
