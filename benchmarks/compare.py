"""kgen's training step against a hand-written TensorFlow loop, side by side.

    python benchmarks/compare.py [--recipes=mnist_vae,mnist_dcgan,...] [--runs=5] [--steps=30]
                                 [--warmup=5] [--batch=32] [--precision=off|mixed_bfloat16]
                                 [--jit=false] [--reference-precision=off]
                                 [--impls=reference,kgen|paired] [--out=benchmarks/compare.json]
                                 [--table=benchmarks/compare.json]

For each recipe, a reference step written as the TensorFlow tutorials write it (`tf.function` +
`GradientTape` over the same Keras architectures, computing the same algorithm: the VAE's
single-sample negative ELBO, the GAN's alternating discriminator and generator updates with fresh
noise, the DDPM's L_simple with its EMA update) is timed against kgen's own path (the runner's
`train.Loop` over a distributed dataset, the model's `train_step`). The architectures are the
recipe's networks (plain Keras models from `kgen.networks`); what is compared is everything
around them.

Every measurement is a fresh process (a slow mode, if any, is chosen per process), reference and
kgen alternating, each with `--warmup` untimed steps; each reports ms per step over `--steps`
steps and its peak resident memory. The summary gives, per recipe, the median and the spread
(min-max) of images/s for both, and the ratio of the medians. Run it on a quiet machine.

`--impls=paired` times both in each process instead, in six alternating rounds of `--steps` steps,
and reports the median per-round ratio of each process: on a machine whose speed drifts (this
one's reference loop varied 0.78-1.10 of its median from one process to the next) it is steadier:
three processes' medians stayed within 0.955-1.016.
`--impls=reference,kgen,kgen_step` adds kgen's `train_step` driven by a plain `tf.function` loop,
which tells a gap in the step from a gap in the runner's loop.

`--precision` and `--jit` set kgen's path; the reference runs at `--reference-precision` (by
default the same policy) without XLA, so `--precision=mixed_bfloat16 --reference-precision=off`
sets kgen's fast path against the float32 tutorial loop.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

RECIPES = ("mnist_vae", "mnist_dcgan", "mnist_ddpm", "celeba_gan", "celeba_vae")


def reference_step(recipe, model):
    """A tutorial-style step for the recipe's family, over the recipe's networks (copied into
    fresh weights so the two paths share nothing but the architecture)."""
    import keras
    import numpy as np
    import tensorflow as tf

    family = type(recipe.model).family
    clone = {n: keras.models.clone_model(net) for n, net in model.networks().items()}
    for n, net in clone.items():
        net.set_weights(model.networks()[n].get_weights())
    lr, b1 = recipe.optimizer.learning_rate, recipe.optimizer.beta_1
    log2pi = np.log(2 * np.pi).astype(np.float32)

    if family == "vae":
        enc, dec = clone["encoder"], clone["decoder"]
        d = recipe.model.latent_dim
        opt = keras.optimizers.Adam(lr, beta_1=b1)
        prior_vars = []
        if recipe.model.prior == "mixture":
            k = recipe.model.prior_components
            means = tf.Variable(tf.random.normal([k, d]))
            log_scales = tf.Variable(tf.zeros([k, d]))
            logits = tf.Variable(tf.zeros([k]))
            prior_vars = [means, log_scales, logits]

            def log_prior(z):
                zz = (z[:, None, :] - means) / tf.exp(log_scales)
                comp = -0.5 * tf.reduce_sum(zz ** 2 + log2pi + 2 * log_scales, -1)
                return tf.reduce_logsumexp(comp + tf.nn.log_softmax(logits), -1)
        else:
            def log_prior(z):
                return -0.5 * tf.reduce_sum(z ** 2 + log2pi, -1)
        variables = enc.trainable_variables + dec.trainable_variables + prior_vars

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                mean, log_var = tf.split(enc(x, training=True), 2, axis=-1)
                eps = tf.random.normal(tf.shape(mean))
                z = mean + tf.exp(0.5 * log_var) * eps
                ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=dec(z, training=True))
                log_px = -tf.reduce_sum(ce, axis=[1, 2, 3])
                log_q = -0.5 * tf.reduce_sum(eps ** 2 + log2pi + log_var, -1)
                loss = tf.reduce_mean(-log_px + log_q - log_prior(z))
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss
        return step

    if family == "gan":
        g, dnet = clone["generator"], clone["discriminator"]
        g_opt, d_opt = keras.optimizers.Adam(lr, beta_1=b1), keras.optimizers.Adam(lr, beta_1=b1)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        latent = recipe.model.latent_dim

        @tf.function
        def step(x):
            b = tf.shape(x)[0]
            fake = g(tf.random.normal([b, latent]), training=True)
            with tf.GradientTape() as tape:
                real_logits, fake_logits = dnet(x, training=True), dnet(fake, training=True)
                d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
            d_opt.apply_gradients(zip(tape.gradient(d_loss, dnet.trainable_variables), dnet.trainable_variables))
            with tf.GradientTape() as tape:
                logits = dnet(g(tf.random.normal([b, latent]), training=True), training=True)
                g_loss = bce(tf.ones_like(logits), logits)
            g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
            return d_loss + g_loss
        return step

    if family == "ddpm":
        net = clone["network"]
        ema = keras.models.clone_model(net)
        ema.set_weights(net.get_weights())
        opt = keras.optimizers.Adam(lr, beta_1=b1)
        T = recipe.model.timesteps
        abar = tf.constant(model.schedule.np["alphas_cumprod"], tf.float32)
        decay = recipe.model.ema_decay

        @tf.function
        def step(x):
            b = tf.shape(x)[0]
            t = tf.random.uniform([b], 0, T, tf.int32)
            eps = tf.random.normal(tf.shape(x))
            a = tf.reshape(tf.gather(abar, t), [-1, 1, 1, 1])
            with tf.GradientTape() as tape:
                pred = net([tf.sqrt(a) * x + tf.sqrt(1 - a) * eps, t], training=True)
                loss = tf.reduce_mean(tf.square(eps - pred))
            opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
            for e, w in zip(ema.weights, net.weights):
                e.assign(decay * e + (1 - decay) * w)
            return loss
        return step

    raise ValueError(f"no reference step for family {family}")


def measure(name: str, impl: str, steps: int, warmup: int, batch: int, precision: str, jit: bool,
            reference_precision: str = "") -> dict:
    """One timed run in this process; `paired` builds the reference at `reference_precision`
    (default `precision`) and kgen's model at `precision`."""
    import importlib

    import numpy as np
    import tensorflow as tf

    from kgen import data, runs, train

    def configured(policy):
        """The recipe at `policy`, set as the process's dtype policy for the models built next."""
        recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
        recipe, _ = runs.resolve(recipe, {"train.batch_size": batch, "train.mixed_precision": policy,
                                          "train.jit_compile": jit})
        return runs.configure(recipe)

    recipe = configured(precision)
    shape = runs.image_shape(recipe)
    n = 8 * batch
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    labels = np.zeros(n, np.int32)
    batches = lambda: data.index_batches(n, batch, 0, 0, 10_000, n // batch)  # noqa: E731
    lookup = data.in_memory(images, labels, recipe.data.scale)

    def runner(impl, recipe=recipe):
        """run(k): k training steps of `impl` on a model of its own."""
        model = runs.build_model(recipe, shape)
        if impl == "kgen":
            strategy = tf.distribute.get_strategy()
            it = iter(data.distributed_dataset(strategy, batches, lookup))
            loop = train.Loop(model, strategy, jit)
            key = next(iter(model.trackers))
            return lambda k: float(loop.train_chunk(it, tf.constant(k, tf.int64))[key])
        if impl == "kgen_step":  # kgen's train_step without the runner's loop: says where a gap lies
            it = iter(batches().map(lookup).prefetch(tf.data.AUTOTUNE))
            step = tf.function(model.train_step, jit_compile=jit)
            key = next(iter(model.trackers))
            loss_of = lambda logs: logs[key]  # noqa: E731
        else:
            step = reference_step(recipe, model)
            it = iter(batches().map(lambda idx: lookup(idx)[0]).prefetch(tf.data.AUTOTUNE))
            loss_of = lambda loss: loss  # noqa: E731

        def run(k):
            for _ in range(k):
                out = step(next(it))
            return float(loss_of(out))
        return run

    def timed(run, k):
        start = time.perf_counter()
        run(k)
        return time.perf_counter() - start

    out = {"recipe": name, "impl": impl, "precision": precision, "jit": jit, "batch": batch, "steps": steps}
    if impl == "paired":
        # both in this process, alternating chunks of `steps` steps: the machine's drift (other
        # tenants, clock) hits both alike, so the per-round ratio is steadier than across processes.
        # The reference is built first, at its own policy (a layer keeps the policy it was built under).
        out["reference_precision"] = reference_precision or precision
        reference = runner("reference", configured(out["reference_precision"]))
        runners = {"reference": reference, "kgen": runner("kgen", configured(precision))}
        for run in runners.values():
            run(warmup)
        rounds = {"reference": [], "kgen": []}
        for r in range(6):
            for which in (("reference", "kgen") if r % 2 == 0 else ("kgen", "reference")):
                rounds[which].append(steps * batch / timed(runners[which], steps))
        ratios = [k / f for k, f in zip(rounds["kgen"], rounds["reference"])]
        out.update({"reference_images_per_s": rounds["reference"], "kgen_images_per_s": rounds["kgen"],
                    "ratios": ratios, "ratio": statistics.median(ratios), "images_per_s": statistics.median(rounds["kgen"])})
    else:
        run = runner(impl)
        run(warmup)
        secs = timed(run, steps)
        out.update({"ms_per_step": 1000 * secs / steps, "images_per_s": steps * batch / secs})
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


@dataclass
class Options:
    recipes: str = ",".join(RECIPES)
    runs: int = 5
    steps: int = 30
    warmup: int = 5
    batch: int = 32
    precision: str = "off"
    jit: bool = False
    reference_precision: str = ""  # empty: the same as --precision
    # reference, kgen; kgen_step (kgen's train_step in a plain tf.function loop); paired (both in
    # one process, alternating)
    impls: str = "reference,kgen"
    out: str = ""
    table: str = ""  # print the Markdown table of a report written by --out, and exit
    one: str = ""  # internal: "recipe:impl" runs a single measurement in this process
    help: bool = False


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["recipe"] for r in rows):
        entry = {"recipe": name}
        paired = [r for r in rows if r["recipe"] == name and r["impl"] == "paired"]
        if paired:
            ratios = [r["ratio"] for r in paired]
            rounds = [x for r in paired for x in r["ratios"]]
            entry["paired"] = {
                "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
                "processes": len(paired), "rounds": len(rounds), "round_ratio_min": min(rounds),
                "round_ratio_max": max(rounds), "precision": paired[0]["precision"], "jit": paired[0]["jit"],
                "reference_precision": paired[0].get("reference_precision", paired[0]["precision"]),
                "reference_median": statistics.median(x for r in paired for x in r["reference_images_per_s"]),
                "kgen_median": statistics.median(x for r in paired for x in r["kgen_images_per_s"]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in paired)}
            out.append(entry)
            continue
        for impl in dict.fromkeys(r["impl"] for r in rows):
            mine = [r for r in rows if r["recipe"] == name and r["impl"] == impl]
            ips = [r["images_per_s"] for r in mine]
            entry[impl] = {"median": statistics.median(ips), "min": min(ips), "max": max(ips), "runs": len(ips),
                           "peak_rss_mb": max(r["peak_rss_mb"] for r in mine), "precision": mine[0]["precision"],
                           "jit": mine[0]["jit"], "slowest_vs_median": min(ips) / statistics.median(ips)}
        entry["ratio"] = entry["kgen"]["median"] / entry["reference"]["median"]
        if "kgen_step" in entry:
            entry["kgen_step_ratio"] = entry["kgen_step"]["median"] / entry["reference"]["median"]
        entry["kgen_slowest_vs_median"] = entry["kgen"]["slowest_vs_median"]
        out.append(entry)
    return out


def markdown(report: dict) -> str:
    """The summary as the Markdown table benchmarks/README.md shows."""
    def cell(d):
        return f"{d['median']:.1f} ({d['min']:.1f}-{d['max']:.1f})"

    def policy(d):
        return ("bfloat16" if d["precision"] == "mixed_bfloat16" else "float32") + (" + XLA" if d["jit"] else "")

    if report["summary"] and "paired" in report["summary"][0]:
        rows = ["| recipe | reference images/s, median | kgen images/s, median | kgen / reference: median of the "
                "processes (min-max) | per round (min-max) |", "|---|---|---|---|---|"]
        for e in report["summary"]:
            p = e["paired"]
            ref_policy = policy({"precision": p.get("reference_precision", p["precision"]), "jit": False})
            rows.append(f"| {e['recipe']} | {p['reference_median']:.1f} {ref_policy} | {p['kgen_median']:.1f} {policy(p)} "
                        f"| {p['ratio_median']:.3f} ({p['ratio_min']:.3f}-{p['ratio_max']:.3f}) "
                        f"| {p['round_ratio_min']:.2f}-{p['round_ratio_max']:.2f} |")
        return (f"Measured {report['date']} on {report['cpu']} ({report['cores']} cores), "
                f"{report['summary'][0]['paired']['processes']} processes per recipe, each timing both "
                f"implementations in 6 alternating rounds:\n\n    {report['command']}\n\n" + "\n".join(rows))
    rows = ["| recipe | reference images/s, median (min-max) | kgen images/s, median (min-max) | kgen / reference "
            "| slowest / median, ref and kgen | peak RSS ref / kgen (MB) |", "|---|---|---|---|---|---|"]
    for e in report["summary"]:
        ref, kg = e["reference"], e["kgen"]
        slow_ref = ref.get("slowest_vs_median", ref["min"] / ref["median"])
        rows.append(f"| {e['recipe']} | {cell(ref)} {policy(ref)} | {cell(kg)} {policy(kg)} | {e['ratio']:.2f} "
                    f"| {slow_ref:.2f} / {e['kgen_slowest_vs_median']:.2f} "
                    f"| {ref['peak_rss_mb']:.0f} / {kg['peak_rss_mb']:.0f} |")
    runs = report["summary"][0]["kgen"]["runs"] if report["summary"] else 0
    return (f"Measured {report['date']} on {report['cpu']} ({report['cores']} cores), {runs} processes per recipe "
            f"and implementation, alternating:\n\n    {report['command']}\n\n" + "\n".join(rows))


def main(argv: list[str]) -> int:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from kgen import args

    opts, _ = args.parse(argv, Options())
    if opts.help:
        print(__doc__ + "\n" + args.help_text(Options()))
        return 0
    if opts.table:
        with open(opts.table) as f:
            print(markdown(json.load(f)))
        return 0
    if opts.one:
        name, impl = opts.one.split(":")
        print("RESULT " + json.dumps(measure(name, impl, opts.steps, opts.warmup, opts.batch, opts.precision,
                                             opts.jit, opts.reference_precision)), flush=True)
        return 0
    rows = []
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for r in range(opts.runs):
        for name in opts.recipes.split(","):
            impls = opts.impls.split(",")
            for impl in (impls if r % 2 == 0 else impls[::-1]):
                precision, jit = (opts.precision, opts.jit) if impl != "reference" else (
                    opts.reference_precision or opts.precision, False)
                cmd = [sys.executable, __file__, f"--one={name}:{impl}", f"--steps={opts.steps}",
                       f"--warmup={opts.warmup}", f"--batch={opts.batch}", f"--precision={precision}",
                       f"--jit={jit}", f"--reference-precision={opts.reference_precision}"]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if line is None:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                rows.append(json.loads(line[7:]))
                print(json.dumps(rows[-1]), flush=True)
    report = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(), "cores": os.cpu_count(),
              "command": "python benchmarks/compare.py " + " ".join(argv), "summary": summarise(rows), "runs": rows}
    text = json.dumps(report, indent=2)
    if opts.out:
        with open(opts.out, "w") as f:
            f.write(text + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
