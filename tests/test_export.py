"""The SavedModel works from plain TensorFlow, in a process that never imports kgen or keras."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kgen import runs
from kgen.export import export

from helpers.recipes import tiny

LOADER = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    a = m.sample(num_samples=tf.constant(16), seed=tf.constant(0))
    b = m.sample(num_samples=tf.constant(16), seed=tf.constant(0))
    c = m.sample(num_samples=tf.constant(16), seed=tf.constant(1))
    x = tf.random.stateless_uniform([5, 28, 28, 1], seed=[3, 3])
    mean, log_var = m.encode(images=x)
    d = m.decode(z=mean)
    g = m.generate(z=mean)
    out = {
        "shape": a.shape.as_list(), "dtype": a.dtype.name,
        "min": float(tf.reduce_min(a)), "max": float(tf.reduce_max(a)),
        "same_seed_equal": bool(np.array_equal(a.numpy(), b.numpy())),
        "other_seed_differs": bool(np.abs(a.numpy() - c.numpy()).max() > 1e-3),
        "encode": [mean.shape.as_list(), log_var.shape.as_list()], "decode": d.shape.as_list(),
        "generate_equals_decode": bool(np.allclose(d.numpy(), g.numpy())),
        "first": a.numpy()[0, 10:12, 10:12, 0].tolist(),
        "modules": sorted(k for k in sys.modules if k.split(".")[0] == "kgen"),
    }
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    recipe = tiny("vae", tmp)
    model = runs.build_model(recipe, (28, 28, 1))
    return model, export(model, tmp / "saved_models" / "tiny_vae")


def test_endpoints_from_plain_tensorflow(exported):
    model, path = exported
    proc = subprocess.run([sys.executable, "-c", LOADER, str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # kgen was never imported to load and call it (TensorFlow 2.21 imports keras by itself)
    assert out["modules"] == []
    assert out["shape"] == [16, 28, 28, 1] and out["dtype"] == "float32"
    assert 0.0 <= out["min"] and out["max"] <= 1.0
    assert out["same_seed_equal"] and out["other_seed_differs"]
    assert out["encode"] == [[5, 2], [5, 2]] and out["decode"] == [5, 28, 28, 1]
    assert out["generate_equals_decode"]
    # the SavedModel computes what the Keras model computes
    np.testing.assert_allclose(out["first"], model.sample(16, 0).numpy()[0, 10:12, 10:12, 0], atol=1e-5)


def test_export_replaces_an_old_model(exported, tmp_path):
    model, path = exported
    again = export(model, path)
    assert again == path and (path / "saved_model.pb").exists()
    assert not path.with_name(path.name + ".tmp").exists() and not path.with_name(path.name + ".old").exists()
