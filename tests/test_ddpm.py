
import numpy as np
import pytest
import tensorflow as tf

from kgen import train
from kgen.errors import ConfigError
from kgen.schedules import DDIMSampler, DDPMSampler, DPMSolverPP, NoiseSchedule
from kgen.schedules.noise import cosine_betas

from helpers.processes import plain_tf
from helpers.recipes import tiny
from helpers.steps import mirrored_matches_single, runs_build


def test_linear_schedule_closed_forms():
    s = NoiseSchedule("linear", 1000)
    betas = s.np["betas"]
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(s.np["alphas_cumprod"], np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)), rtol=1e-12)
    assert s.alphas_cumprod.dtype == tf.float32
    # beta_tilde_1 = beta_1 * (1 - 1) / (1 - abar_1) = 0 at the first step
    assert s.np["posterior_variance"][0] == 0.0
    assert s.np["alphas_cumprod"][-1] < 1e-4  # x_T is almost pure noise


def test_cosine_schedule_matches_its_abar():
    T, sp = 1000, 0.008
    abar = np.cumprod(1 - cosine_betas(T))
    f = np.cos((np.arange(1, T + 1) / T + sp) / (1 + sp) * np.pi / 2) ** 2 / np.cos(sp / (1 + sp) * np.pi / 2) ** 2
    np.testing.assert_allclose(abar[:-1], f[:-1], rtol=1e-6)  # the last step is clipped at 0.999


@pytest.mark.parametrize("t", [0, 100, 500, 999])
def test_q_sample_moments(t):
    s = NoiseSchedule("linear", 1000)
    x0 = tf.fill([20000, 1, 1, 1], 0.5)
    eps = tf.random.stateless_normal([20000, 1, 1, 1], seed=[t, 1])
    x_t = s.add_noise(x0, tf.fill([20000], t), eps).numpy()
    abar = s.np["alphas_cumprod"][t]
    assert x_t.mean() == pytest.approx(np.sqrt(abar) * 0.5, abs=0.02)
    assert x_t.var() == pytest.approx(1 - abar, rel=0.05, abs=1e-5)
    np.testing.assert_allclose(s.predict_x0(x_t, tf.fill([20000], t), eps), 0.5, atol=1e-3)


@pytest.mark.parametrize("sampler", ["ddim", "ddim_eta1", "ddpm", "dpm++2m"])
def test_samplers_recover_the_data_with_the_optimal_predictor(sampler):
    """For data that is one fixed image x*, the optimal eps(x_t, t) = (x_t - sqrt(abar_t) x*) /
    sqrt(1 - abar_t) is known in closed form; every correct sampler must then return x*."""
    s = NoiseSchedule("linear", 1000)
    x_star = tf.constant(np.linspace(-0.9, 0.9, 16).reshape(1, 4, 4, 1), tf.float32)

    def oracle(x, t):
        abar = s.gather(s.alphas_cumprod, t)
        return (x - tf.sqrt(abar) * x_star) / tf.sqrt(1.0 - abar)

    smp = {"ddim": DDIMSampler(s, 20), "ddim_eta1": DDIMSampler(s, 50, eta=1.0), "ddpm": DDPMSampler(s),
           "dpm++2m": DPMSolverPP(s, 10)}[sampler]
    z = tf.random.stateless_normal([3, 4, 4, 1], seed=[1, 2])
    out = tf.function(lambda z: smp.sample(oracle, z, 0))(z)
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(x_star.numpy(), (3, 4, 4, 1)), atol=1e-4)


def test_dpm_solver_reaches_in_10_steps_what_ddim_needs_more_for():
    """Gaussian data N(mu, s^2): the optimal predictor is eps*(x_t) = sigma_t (x_t - alpha_t mu) /
    (alpha_t^2 s^2 + sigma_t^2), and the probability-flow ODE maps x_T to mu + s * xi with
    xi = (x_T - alpha_T mu) / sqrt(alpha_T^2 s^2 + sigma_T^2) exactly. A second-order solver at 10
    steps lands far closer to that than first-order DDIM at 10, and closer than DDIM at 50."""
    sch = NoiseSchedule("linear", 1000)
    mu, sd = 0.3, 0.2

    def oracle(x, t):
        abar = sch.gather(sch.alphas_cumprod, t)
        return tf.sqrt(1.0 - abar) * (x - tf.sqrt(abar) * mu) / (abar * sd**2 + 1.0 - abar)

    z = tf.random.stateless_normal([256, 2, 2, 1], seed=[3, 4])
    abar_T = float(sch.alphas_cumprod[-1])
    exact = mu + sd * (z.numpy() - np.sqrt(abar_T) * mu) / np.sqrt(abar_T * sd**2 + 1.0 - abar_T)

    def error(smp, steps):
        out = tf.function(lambda z: smp.sample(oracle, z, 0, steps))(z).numpy()
        return float(np.abs(out - exact).max())

    dpm10, ddim10, ddim50 = error(DPMSolverPP(sch), 10), error(DDIMSampler(sch), 10), error(DDIMSampler(sch), 50)
    # measured in float64 on this set-up: 0.014, 0.40 and 0.094; a second-order solver that had
    # lost its correction would sit near DDIM's first-order errors
    assert dpm10 < 0.2 * ddim10 and dpm10 < 0.5 * ddim50, (dpm10, ddim10, ddim50)
    assert error(DPMSolverPP(sch), 50) < 0.1 * ddim50  # and it converges: 0.0006 at 50 steps


def fixed_loss(model, x0):
    """L_simple at fixed t and eps, for a before/after comparison."""
    b = x0.shape[0]
    t = tf.random.stateless_uniform([b], seed=[9, 9], maxval=model.timesteps, dtype=tf.int32)
    eps = tf.random.stateless_normal(x0.shape, seed=[9, 8])
    pred = model.network([model.schedule.add_noise(x0, t, eps), t])
    return float(tf.reduce_mean(tf.square(eps - pred)))


def digits(n=32):
    from kgen import data
    from kgen.config import Data

    b = data.load(Data(name="mnist_sample", limit=n, image_size=8))
    return tf.constant(b.train_images / 127.5 - 1.0, tf.float32)


def test_training_lowers_the_loss_and_ema_follows(tmp_path):
    model = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    x0 = digits()
    before = fixed_loss(model, x0)
    w0 = [w.numpy().copy() for w in model.network.weights]
    e0 = [e.numpy().copy() for e in model.ema_network.weights]
    model.fit(tf.data.Dataset.from_tensors((x0, tf.zeros(32, tf.int32))), verbose=0)
    # EMA arithmetic after one step: ema = d * ema_0 + (1 - d) * w_1, d = min(0.9, (1 + 1) / (10 + 1))
    d = min(0.9, 2 / 11)
    for e, e_start, w in zip(model.ema_network.weights, e0, model.network.weights):
        np.testing.assert_allclose(e.numpy(), d * e_start + (1 - d) * w.numpy(), rtol=1e-5, atol=1e-7)
    assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(w0, model.network.weights))
    model.fit(tf.data.Dataset.from_tensors((x0, tf.zeros(32, tf.int32))).repeat(40), verbose=0)
    assert fixed_loss(model, x0) < 0.8 * before


def test_samplers_shapes_and_ddim_determinism(tmp_path):
    model = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    z = tf.random.stateless_normal([3, 8, 8, 1], seed=[1, 1])
    a = model.generate(z, steps=5, seed=0).numpy()
    b = model.generate(z, steps=5, seed=123).numpy()  # eta = 0: the seed only draws x_T
    assert a.shape == (3, 8, 8, 1) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    stochastic = DDIMSampler(model.schedule, 5, eta=1.0)
    c = stochastic.sample(model.eps, z, 0).numpy()
    d = stochastic.sample(model.eps, z, 1).numpy()
    assert np.abs(c - d).max() > 1e-3 and np.array_equal(c, stochastic.sample(model.eps, z, 0).numpy())
    ts = DDIMSampler(model.schedule).timesteps(5).numpy()
    assert list(ts) == [49, 37, 24, 12, 0]
    anc = tf.function(lambda z: DDPMSampler(model.schedule).sample(model.eps, z, 0))(z)  # T = 50 steps: compiled
    assert anc.shape == (3, 8, 8, 1) and np.isfinite(anc.numpy()).all()


def test_inpainting_keeps_known_pixels_exactly(tmp_path):
    model = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    x = (digits(4) + 1.0) / 2.0
    mask = np.zeros((4, 8, 8, 1), np.float32)
    mask[:, :4] = 1.0
    out = model.inpaint(x, tf.constant(mask)).numpy()
    np.testing.assert_array_equal(out[:, :4], x.numpy()[:, :4])
    assert np.abs(out[:, 4:] - x.numpy()[:, 4:]).max() > 0.01  # the rest was generated


def test_denoise_starts_at_the_matching_step(tmp_path):
    model = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    t = model.schedule.noise_level_to_t(0.4)
    abar = model.schedule.np["alphas_cumprod"]
    assert abs(np.sqrt((1 - abar[t]) / abar[t]) - 0.4) < abs(np.sqrt((1 - abar[t + 1]) / abar[t + 1]) - 0.4) + 1e-9
    # with the closed-form optimal predictor for data that is one image x*, denoising any noisy
    # version of x* must return x* itself (in [0, 1] units)
    x_star = tf.constant(np.linspace(-0.9, 0.9, 64).reshape(1, 8, 8, 1), tf.float32)
    s = model.schedule

    def oracle(x, t):
        abar = s.gather(s.alphas_cumprod, t)
        return (x - tf.sqrt(abar) * x_star) / tf.sqrt(1.0 - abar)

    model.eps = oracle
    clean = (x_star.numpy() + 1.0) / 2.0
    noisy = np.repeat(clean, 2, 0) + 0.2 * np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    out = model.denoise(noisy, 0.2).numpy()
    np.testing.assert_allclose(out, np.repeat(clean, 2, 0), atol=1e-4)


def test_mirrored_ddpm_step_equals_single_device(tmp_path, mirrored):
    # the weights include the EMA network's (updated once across replicas by merge_call)
    x0 = digits(16)
    mirrored_matches_single(tiny("ddpm", tmp_path), (8, 8, 1), (x0, tf.zeros(16, tf.int32)), mirrored)


def test_run_export_round_trip_and_restore_from_the_run(tmp_path, capsys):
    from PIL import Image

    from kgen import figures, restore

    assert restore.main([str(tmp_path / "logs" / "tiny_ddpm" / "none"), "--mode=inpaint"]) == 2  # no run there
    assert "neither a run directory" in capsys.readouterr().err
    result = train.run(tiny("ddpm", tmp_path))
    assert (result.run_dir / "inpainting.png").exists() and (result.run_dir / "samples" / "epoch_0002.png").exists()
    body = (
        "a = m.sample(num_samples=tf.constant(3), seed=tf.constant(5)).numpy()\n"
        "b = m.sample(num_samples=tf.constant(3), seed=tf.constant(5)).numpy()\n"
        "c = m.sample_steps(num_samples=tf.constant(3), seed=tf.constant(5), steps=tf.constant(10)).numpy()\n"
        "g = m.generate(z=tf.zeros([2, 8, 8, 1])).numpy()\n"
        "d = m.sample_ancestral(num_samples=tf.constant(2), seed=tf.constant(5)).numpy()\n"
        "e = m.sample_ancestral(num_samples=tf.constant(2), seed=tf.constant(5)).numpy()\n"
        "x = tf.constant(np.linspace(0.1, 0.9, 128, dtype=np.float32).reshape(2, 8, 8, 1))\n"
        "mask = tf.constant(np.concatenate([np.ones((2, 4, 8, 1)), np.zeros((2, 4, 8, 1))], 1), tf.float32)\n"
        "ip = m.inpaint(images=x, mask=mask, seed=tf.constant(1)).numpy()\n"
        "sr = m.superres(images=tf.constant(np.full((2, 4, 4, 1), 0.5, np.float32)), seed=tf.constant(1)).numpy()\n"
        "ed0 = m.edit(images=x, strength=tf.constant(0.0), seed=tf.constant(1)).numpy()\n"
        "ed = m.edit(images=x, strength=tf.constant(0.5), seed=tf.constant(1)).numpy()\n"
        "out = [list(a.shape), float(a.min()), float(a.max()), bool(np.array_equal(a, b)),"
        " list(c.shape), bool(np.abs(a - c).max() > 0), list(g.shape), list(d.shape), bool(np.array_equal(d, e)),"
        " float(d.min()), float(d.max()), float(np.abs(ip[:, :4] - x.numpy()[:, :4]).max()), list(sr.shape),"
        " float(np.abs(ed0 - x.numpy()).max()), list(ed.shape), float(np.abs(ed - x.numpy()).max())]"
    )
    (shape, lo, hi, same, shape_c, differs, shape_g, shape_d, same_d, lo_d, hi_d, inpaint_known, shape_sr, edit0,
     shape_ed, edit_moved, imported) = plain_tf(result.export_dir, body)
    # the applications from plain TensorFlow: inpainting keeps the known rows (float32 round-off
    # of x -> 2x - 1 -> (y + 1) / 2), super-resolution doubles 4x4 inputs, SDEdit at strength 0
    # is the identity and at 0.5 moves the image
    assert inpaint_known < 1e-6 and shape_sr == [2, 8, 8, 1] and edit0 == 0.0
    assert shape_ed == [2, 8, 8, 1] and edit_moved > 1e-3
    assert shape == [3, 8, 8, 1] and 0 <= lo and hi <= 1 and same
    # what sampling reads and nothing else: the EMA U-Net, not the training one or Adam's slots
    saved = [n for n, _ in tf.train.list_variables(str(result.export_dir / "variables" / "variables"))
             if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(saved) == len(result.model.ema_network.weights)
    assert shape_c == [3, 8, 8, 1] and differs  # 10 DDIM steps instead of 5 give other images
    assert shape_g == [2, 8, 8, 1] and not imported
    # the full T-step ancestral sampler, seeded: the same images for the same seed
    assert shape_d == [2, 8, 8, 1] and same_d and 0 <= lo_d and hi_d <= 1

    # python -m kgen.restore on the same run (its checkpoint, not the SavedModel)
    run_dir = result.run_dir
    assert restore.main([str(run_dir), "--mode=inpaint"]) == 0
    grid = np.asarray(Image.open(run_dir / "restore_inpaint.png"))
    assert grid.shape == (3 * 9 + 1, 8 * 9 + 1)  # rows: masked input, output, original; 8 images
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(tmp_path / "noisy.png")
    assert restore.main([str(run_dir), "--mode=denoise", f"--input={tmp_path / 'noisy.png'}", "--sigma=0.3"]) == 0
    assert np.asarray(Image.open(run_dir / "restore_denoise.png")).shape == (2 * 9 + 1, 1 * 9 + 1)
    assert restore.main([str(run_dir), "--mode=paint"]) == 2
    assert "not one of: inpaint, denoise" in capsys.readouterr().err
    # outpainting: the left half regenerated, the known right half kept exactly (the sampler
    # pastes the known pixels back at every step and at the end)
    assert restore.main([str(run_dir), "--mode=inpaint", "--mask=left"]) == 0
    rows = np.asarray(Image.open(run_dir / "restore_inpaint.png")).astype(np.int32)
    out, original = rows[10:18], rows[19:27]  # the output row and the original row, 8x8 cells with 1-pixel gaps
    np.testing.assert_allclose(out[:, 1:].reshape(8, -1, 9)[:, :, 4:8], original[:, 1:].reshape(8, -1, 9)[:, :, 4:8],
                               atol=1)
    assert restore.main([str(run_dir), "--mode=denoise", "--mask=left"]) == 2
    assert "--mask=left is for --mode=inpaint" in capsys.readouterr().err
    # super-resolution of the 8 test images averaged to 4x4, and SDEdit of blotted ones: rows of
    # input (upsampled), output, original
    assert restore.main([str(run_dir), "--mode=superres", "--factor=2"]) == 0
    assert np.asarray(Image.open(run_dir / "restore_superres.png")).shape == (3 * 9 + 1, 8 * 9 + 1)
    assert restore.main([str(run_dir), "--mode=edit", "--strength=0.4"]) == 0
    assert np.asarray(Image.open(run_dir / "restore_edit.png")).shape == (3 * 9 + 1, 8 * 9 + 1)
    # from the model's own samples (no dataset image in the figure): its last row is them
    assert restore.main([str(run_dir), "--mode=superres", "--samples=3", "--seed=5"]) == 0
    rows = np.asarray(Image.open(run_dir / "restore_superres.png")).astype(np.int32)
    assert rows.shape == (3 * 9 + 1, 3 * 9 + 1)
    own = figures.grid(result.model.sample(3, 5).numpy(), 3)[..., 0]  # one row of 3 samples, gaps included
    np.testing.assert_allclose(rows[-(9 + 1):], own.astype(np.int32), atol=1)  # uint8 rounding
    assert restore.main([str(run_dir), "--mode=edit", "--samples=3", f"--input={tmp_path / 'noisy.png'}"]) == 2
    assert "give one of them" in capsys.readouterr().err
    capsys.readouterr()
    assert restore.main([str(run_dir), "--mode=superres", "--factor=3"]) == 2
    assert "do not divide by it (try one of 2, 4, 8)" in capsys.readouterr().err
    assert restore.main([str(run_dir), "--mode=edit", "--factor=2"]) == 2
    assert "--factor=2 is for --mode=superres" in capsys.readouterr().err


@pytest.mark.parametrize("shape", [(64, 64, 3), (30, 30, 3)])
def test_unet_fits_face_sizes_and_pads_odd_ones(shape):
    from kgen.networks.unet import UNet, unet

    net = unet(UNet(channels=8, channel_mult=(1, 2, 2, 2), num_res_blocks=1, attention_levels=(3,), groups=4), shape)
    out = net([tf.zeros([2, *shape]), tf.constant([0, 999])])
    assert out.shape == (2, *shape)


@pytest.mark.parametrize("T", [50, 200, 1000, 4000])
def test_linear_schedule_ends_near_pure_noise_for_any_T(T):
    # endpoints scaled by 1000/T: abar_T stays ~4e-5, so x_T ~ N(0, I) starts on the training
    # distribution (unscaled, T = 200 ends at abar_T = 0.13)
    s = NoiseSchedule("linear", T)
    assert s.np["alphas_cumprod"][-1] < 1e-4
    assert s.np["betas"][0] == pytest.approx(1e-4 * 1000 / T) and s.np["betas"][-1] == pytest.approx(0.02 * 1000 / T)


def test_min_snr_weights_follow_the_schedule(tmp_path):
    """Hang et al.'s eq. 7 for an eps-predictor, from the schedule's own abar: 1 wherever
    SNR <= gamma, gamma / SNR (< 1) at the low-noise steps; the setting reaches the saved config."""
    model = runs_build(tiny("ddpm", tmp_path, **{"model.min_snr_gamma": 5.0}), (8, 8, 1))
    abar = np.cumprod(1.0 - np.linspace(1e-4 * 20, 0.02 * 20, 50))  # T = 50: both ends scaled by 1000/T
    snr = abar / (1.0 - abar)
    t = tf.range(50)
    # rtol: abar_0 = 0.998 is stored in float32 (relative error 6e-8), and 1 - abar_0 magnifies
    # that by 1 / 0.002 = 500, so the weight at t = 0 is good to ~3e-5
    np.testing.assert_allclose(model.loss_weight(t).numpy(), np.minimum(snr, 5.0) / snr, rtol=1e-4)
    assert model.loss_weight(t).numpy()[0] < 0.5 and model.loss_weight(t).numpy()[-1] == 1.0
    assert model.get_config()["min_snr_gamma"] == 5.0
    plain = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    np.testing.assert_array_equal(plain.loss_weight(t).numpy(), np.ones(50, np.float32))


def test_dpm_solver_is_the_models_sampler_when_asked_for(tmp_path):
    """`--model.sampler=dpm++2m`: the grids, `sample` and inpainting use DPM-Solver++(2M); DDIM's
    eta is refused beside it (it would be ignored)."""
    model = runs_build(tiny("ddpm", tmp_path, **{"model.sampler": "dpm++2m", "model.sample_steps": "4"}), (8, 8, 1))
    assert isinstance(model.ddim, DPMSolverPP) and model.get_config()["sampler"] == "dpm++2m"
    a, b = model.sample(3, 5).numpy(), model.sample(3, 5).numpy()
    np.testing.assert_array_equal(a, b)  # deterministic given the seed
    assert a.shape == (3, 8, 8, 1) and 0 <= a.min() and a.max() <= 1
    with pytest.raises(ConfigError, match="eta=0.5 is DDIM's; model.sampler=dpm\\+\\+2m is deterministic"):
        runs_build(tiny("ddpm", tmp_path, **{"model.sampler": "dpm++2m", "model.eta": "0.5"}), (8, 8, 1))


def test_ilvr_keeps_the_low_pass_content_of_the_reference():
    """ILVR: whatever the noise predictor, the final sample's f x f block means are the
    reference's (phi is a projection applied last with the clean reference), to float32 round-off."""
    from kgen.schedules.samplers import low_pass

    sch = NoiseSchedule("linear", 1000)
    y = tf.image.resize(tf.random.stateless_uniform([2, 4, 4, 1], seed=[1, 1], minval=-0.8, maxval=0.8), (8, 8),
                        method="nearest")
    untrained = lambda x, t: tf.sin(3.0 * x)  # noqa: E731 - any predictor: the constraint does not depend on it
    for smp in (DDIMSampler(sch, 6), DPMSolverPP(sch, 6)):
        out = smp.sample(untrained, tf.random.stateless_normal([2, 8, 8, 1], seed=[2, 2]), 0, low_pass_of=(y, 2))
        np.testing.assert_allclose(low_pass(out, 2).numpy(), y.numpy(), atol=1e-5)
        assert np.abs(out.numpy() - y.numpy()).max() > 1e-2  # the detail is the sampler's, not a copy


def test_sdedit_returns_the_input_at_strength_zero_and_denoises_from_its_step(tmp_path):
    model = runs_build(tiny("ddpm", tmp_path), (8, 8, 1))
    x = tf.constant(np.linspace(0.1, 0.9, 64, dtype=np.float32).reshape(1, 8, 8, 1))
    np.testing.assert_array_equal(model.edit(x, 0.0, seed=3).numpy(), x.numpy())
    # with the optimal predictor for data that is one image x*, any strength returns x*
    x_star = tf.constant(np.linspace(-0.5, 0.5, 64, dtype=np.float32).reshape(1, 8, 8, 1))
    s = model.schedule
    model.eps = lambda xt, t: (xt - tf.sqrt(s.gather(s.alphas_cumprod, t)) * x_star) / tf.sqrt(
        1.0 - s.gather(s.alphas_cumprod, t))
    for strength in (0.3, 0.8):
        np.testing.assert_allclose(model.edit(x, strength, seed=3).numpy(), (x_star.numpy() + 1) / 2, atol=1e-4)
