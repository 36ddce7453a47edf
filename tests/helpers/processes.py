"""Fresh interpreters: for process-wide TF settings, kills, import checks, and loading a SavedModel
with plain TensorFlow (no kgen)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def plain_tf(export_dir, body: str, timeout: int = 180) -> list:
    """Runs `body` in a fresh interpreter that loads the SavedModel at `export_dir` as `m` with
    plain TensorFlow (tf, np, json, sys imported; cwd / so kgen cannot be imported by accident)
    and returns the JSON list that `body` assigns to `out`, with `'kgen' in sys.modules` appended."""
    return plain_tf_each([(export_dir, body)], timeout)[0]


def plain_tf_each(checks: list, timeout: int = 240) -> list:
    """plain_tf for several (export_dir, body) pairs in one interpreter (each interpreter costs
    seconds of TensorFlow import); returns one list per pair."""
    code = "import json, sys\nimport numpy as np\nimport tensorflow as tf\nouts = []\n"
    for i, (_, body) in enumerate(checks):
        code += f"m = tf.saved_model.load(sys.argv[{i + 1}])\n{body}\nouts.append(list(out))\n"
    code += "print(json.dumps([o + ['kgen' in sys.modules] for o in outs]))\n"
    proc = subprocess.run([sys.executable, "-c", code, *(str(d) for d, _ in checks)], capture_output=True, text=True,
                          timeout=timeout, cwd="/", env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_python(code: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (for process-wide TF settings, kills and import checks)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ROOT)
