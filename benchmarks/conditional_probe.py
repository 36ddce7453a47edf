"""How much a conditional model's samples depend on the label, and why: measured at every epoch
end of a training run (issue 25's probe).

    python benchmarks/conditional_probe.py mnist_cddpm --quick --out=docs/results/conditional/probe_cddpm.json
    python benchmarks/conditional_probe.py mnist_cgan --quick --model.label_init=uniform

Everything after the recipe name is the recipe's own command line (`--quick`, `--key=value`),
plus `--out=FILE` (JSON) and `--per-class=N` (samples per class for the agreement, default 20).
Per epoch it records:

- `agreement`: kgen's MNIST classifier agrees with the class asked for, on `per_class` x 10
  samples from fixed noise (the CDDPM at w = 0, the conditional model alone, and at w = 1);
- `label_effect`: at fixed noise, the mean |change| of the image when only the label changes,
  over the mean |change| when only the noise changes (0: the label is ignored);
- the label path's numbers: the RMS of the label embedding against what it joins (z for the
  cGAN's generator, the time embedding for the U-Net), the relative gradient
  |dL/de| / |e| against the same for a neighbouring weight, and for the cGAN's projection
  discriminator the spread of its projection term against its unconditional term and its
  label accuracy: how often D(x, true label) > D(x, another label) on held-out real digits (0.5:
  D ignores the label).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen import args as args_lib
from kgen import cli, losses, runs, train
from kgen.config import ConfigError, num
from kgen.data import bundle as data_lib
from kgen.data import scale as scale_images
from kgen.metrics import classifier


def rms(x) -> float:
    return float(tf.sqrt(tf.reduce_mean(tf.square(tf.cast(x, tf.float32)))))


def weight(net: keras.Model, name: str):
    return next(v for v in net.weights if v.path.split("/")[-2] == name)


class Probe(keras.callbacks.Callback):
    def __init__(self, images, labels, per_class: int = 20):
        super().__init__()
        self.images, self.labels, self.per_class = images, labels, per_class
        self.net = classifier.load()
        self.rows = []

    def samples(self, labels, seed, **kw):
        return self.model.sample_class(tf.constant(labels, tf.int32), seed, **kw).numpy()

    def agreement(self, **kw) -> float:
        labels = np.repeat(np.arange(10, dtype=np.int32), self.per_class)
        probs, _ = classifier.predict(self.net, self.samples(labels, 11, **kw))
        return float((probs.argmax(1) == labels).mean())

    def label_effect(self, **kw) -> float:
        # the same seed gives the same noise for every label vector of one length
        a = self.samples(np.zeros(self.per_class, np.int32), 5, **kw)
        b = self.samples(np.full(self.per_class, 7, np.int32), 5, **kw)
        c = self.samples(np.zeros(self.per_class, np.int32), 6, **kw)
        return float(np.abs(a - b).mean() / max(np.abs(a - c).mean(), 1e-12))

    def on_epoch_end(self, epoch, logs=None):
        m = self.model
        opt = getattr(m, "g_optimizer", None) or m.optimizer
        row = {"epoch": epoch + 1, "step": int(opt.iterations.numpy())}
        if hasattr(m, "network"):  # the CDDPM
            row.update(self.unet_numbers(m))
            for w in (0.0, 1.0):
                row[f"agreement_w{w:g}"] = self.agreement(guidance=w)
            row["label_effect_w0"] = self.label_effect(guidance=0.0)
        else:
            row.update(self.gan_numbers(m))
            row["agreement"] = self.agreement()
            row["label_effect"] = self.label_effect()
        self.rows.append(row)
        print("probe: " + " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
              flush=True)

    def batch(self, n=256):
        x = tf.constant(self.images[:n])
        y = tf.constant(self.labels[:n], tf.int32)
        return x, y

    def unet_numbers(self, m) -> dict:
        net = m.network
        temb = keras.Model(net.inputs, net.get_layer("time_mlp2").output)
        x, y = self.batch()
        t = tf.cast(tf.linspace(0.0, m.timesteps - 1.0, x.shape[0]), tf.int32)
        emb = weight(net, "label_embedding")
        neighbour = weight(net, "time_mlp2")  # the kernel of the layer the label joins
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(m.diffusion_loss(x, m.network_on(net, False, y), False))
        g_emb, g_nb = tape.gradient(loss, [emb, neighbour])
        g_emb = tf.convert_to_tensor(g_emb)
        return {"embed_rms": rms(emb[:-1]), "null_rms": rms(emb[-1]),
                "time_rms": rms(temb([x, t, y])),
                "rel_grad_embed": rms(g_emb) / rms(emb), "rel_grad_time_mlp": rms(g_nb) / rms(neighbour)}

    def gan_numbers(self, m) -> dict:
        g, d = m.generator, m.discriminator
        x, y = self.batch()
        wrong = (y + tf.random.stateless_uniform(y.shape, (3, 3), 1, 10, tf.int32)) % 10
        emb, proj = weight(g, "label_embedding"), weight(d, "projection")
        z = m.prior_noise(x.shape[0], 1)
        with tf.GradientTape() as tape:
            g_loss = losses.generator_loss(m.D(m.G((z, y), False), False))
        g_emb, g_dense = tape.gradient(g_loss, [emb, weight(g, "dense")])
        with tf.GradientTape() as tape:
            d_loss = losses.discriminator_loss(m.D((x, y), False), m.D(m.G((z, y), False), False))
        (g_proj,) = tape.gradient(d_loss, [proj])
        phi = keras.Model(d.inputs, d.get_layer("out").input)([x, y])
        uncond = d.get_layer("out")(phi)
        projected = tf.reduce_sum(tf.gather(proj, y) * tf.cast(phi, tf.float32), -1)
        right, other = m.D((x, y), False)[:, 0], m.D((x, wrong), False)[:, 0]
        return {"embed_rms": rms(emb), "z_rms": rms(z),
                "rel_grad_embed": rms(tf.convert_to_tensor(g_emb)) / rms(emb),
                "rel_grad_dense": rms(g_dense) / rms(weight(g, "dense")),
                "proj_rms": rms(proj), "rel_grad_proj": rms(tf.convert_to_tensor(g_proj)) / rms(proj),
                "projection_sd": float(tf.math.reduce_std(projected)),
                "unconditional_sd": float(tf.math.reduce_std(uncond)),
                "d_label_accuracy": float(tf.reduce_mean(tf.cast(right > other, tf.float32)))}


@dataclass
class Options:
    out: str = ""  # JSON file to write
    per_class: int = num(20, 1)  # samples per class for the agreement


def main(argv: list[str]) -> int:
    positional, _ = args_lib.split(argv)
    if len(positional) != 1 or argv[0] != positional[0]:
        raise ConfigError(f"expected one recipe name before the options, got {positional}")
    name = positional[0]
    own = {f.name for f in fields(Options)}
    # the probe's own options; every other argument is the recipe's command line
    mine = [a for a in argv[1:] if set(args_lib.split([a])[1]) <= own and a.startswith("--")]
    opts = args_lib.fill(Options(), args_lib.split(mine)[1])
    out, per_class = opts.out, opts.per_class
    rest = [a for a in argv[1:] if a not in mine]
    module = __import__(f"kgen.recipes.{name}", fromlist=["RECIPE"])
    actions, overrides = cli.split_actions(rest)
    recipe, _ = runs.resolve(module.RECIPE, overrides, actions.quick)
    data = data_lib.load(recipe.data, recipe.seed)
    images = np.asarray(scale_images(data.test_images, recipe.data.scale), np.float32)
    probe = Probe(images, data.test_labels, per_class)
    result = train.run(recipe, callbacks=[probe], export_model=False)
    report = {"recipe": name, "argv": rest, "steps": result.steps, "epochs": probe.rows}
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except ConfigError as e:
        print(f"conditional_probe: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
