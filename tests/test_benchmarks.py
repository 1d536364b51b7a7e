"""The benchmark scripts still run (tiny sizes; the numbers themselves are in benchmarks/)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_sgd_prints_its_table():
    tiny = dict(
        n_samples=3000,
        n_features=10,
        sparse_features=500,
        nnz_per_row=5,
        multiclass_samples=2000,
        classes=3,
        epochs=1,
        rounds=1,
    )
    options = [f"--{name.replace('_', '-')}={value}" for name, value in tiny.items()]
    # The script imports the sklearn_lrf of this checkout, as the tests do.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_sgd.py"), *options],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("CPU: ")
    for line in [
        "squared error float64: sklearn / ours",
        "log loss float64: ours / shuffled read",
        "read shuffled rows of X, prefetch 64 KiB ahead",
        "fastest shuffled read: prefetch",
        "log loss: float64 / float32",
        "log loss, batch 256: sklearn / ours",
        "numpy GEMM loop / ours",
        "sklearn one-vs-rest / ours",
    ]:
        assert line in completed.stdout
    assert "target >= 4" in completed.stdout


def test_bench_finder_quick_prints_its_tables(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_finder.py"),
            "--quick",
            "--results",
            tmp_path,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert completed.returncode == 0, completed.stderr
    assert "Regret (validation loss at the pick" in completed.stdout
    assert "quick moons300 mlp-adam" in completed.stdout
    # The package's own default is measured next to the old ramp's rules and the simulation.
    assert "shipped: the package as it is now" in completed.stdout
    assert "Shipped default against the simulation" in completed.stdout
    assert "Issue #8's targets, the shipped default" in completed.stdout
    assert "The race measured (LRFinderSearch(estimator, race=(1/3, 1, 3))" in completed.stdout
    records = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert len(records) == 3
    for record in records:
        ramp = record["shipped"]["ramps"][0]
        assert ramp["rule"] == "divergence_onset"
        assert ramp["learning_rates"][0] <= ramp["best_lr"]
        assert record["default_ramp"][0]["learning_rates"][0] == 1e-7
        run = record["raced"]["runs"][0]
        assert run["best_lr"] in run["learning_rates"]
        assert run["learning_rates"][1] == run["curve_lr"]
