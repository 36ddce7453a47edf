"""python -m kgen.results end to end at smoke-test size: train to a budget, evaluate, tabulate,
resume without redoing finished work."""

import json

import pytest

from kgen import results

pytestmark = pytest.mark.slow


def smoke_table(tmp_path, recipe: str) -> tuple[list[str], str, dict]:
    """The table for one recipe at smoke-test size: (argv, results.md, state.json)."""
    argv = ["--quick", f"--recipes={recipe}", "--budget=3s", "--num-samples=200", f"--out={tmp_path / 'out'}",
            f"--logdir={tmp_path / 'runs'}"]
    assert results.main(argv) == 0
    return (argv, (tmp_path / "out" / "results.md").read_text(),
            json.loads((tmp_path / "out" / "state.json").read_text()))


def test_results_table_end_to_end_with_the_conditional_columns_and_resume(tmp_path, monkeypatch):
    """One recipe through train, evaluate and augment (a conditional one: it has every step)."""
    monkeypatch.chdir(tmp_path)
    argv, table, state = smoke_table(tmp_path, "mnist_cgan")
    entry = state["mnist_cgan"]
    m = entry["metrics"]
    assert entry["done"] and entry["reached"]["stopped_by_budget"] and entry["reached"]["steps"] > 0
    row = next(ln for ln in table.splitlines() if ln.startswith("| `mnist_cgan`"))
    assert f"| {entry['reached']['steps']} |" in row and f"{m['fid']:.3g}" in row
    assert "--train.time_budget=3" in table and "kgen.evaluate" in table
    assert (tmp_path / "out" / "mnist_cgan.png").stat().st_size > 100
    assert "Not yet measured" not in table
    assert 0 <= m["conditional_accuracy"] <= 1 and 0 <= m["cas"] <= 1 and m["cas_samples"] == 500
    assert row.rstrip(" |").endswith(f"{m['conditional_accuracy']:.3g}")
    assert "## Generated digits as training data" in table and f"CAS {m['cas']:.4f}" in table
    assert "kgen.augment" in table and m["augment/100_verdict"] in table
    # a second call finds the work done and neither trains, evaluates nor augments again
    log_size = (tmp_path / "out" / "mnist_cgan.log").stat().st_size
    assert results.main(argv) == 0
    assert (tmp_path / "out" / "mnist_cgan.log").stat().st_size == log_size


def test_results_needs_full_mnist(capsys):
    assert results.main(["--budget=1m"]) == 2
    assert "--data-path is required" in capsys.readouterr().err


def test_evaluation_changes_replace_the_tables_settings(tmp_path):
    opts = results.Options(data_path="mnist.npz", num_samples=10_000)
    cddpm = results.evaluate_command(tmp_path / "mnist_cddpm" / "20261130-000000", opts)
    vae = results.evaluate_command(tmp_path / "mnist_vae" / "20261130-000000", opts)
    # the stated change wins over the table's sample count, and each option appears once
    assert [a for a in cddpm if a.startswith("--num-samples")] == ["--num-samples=1000"]
    assert "--guidance=0,0.5,1,2,4" in cddpm and "--data-path=mnist.npz" in cddpm
    assert "--num-samples=10000" in vae and not any(a.startswith("--guidance") for a in vae)
