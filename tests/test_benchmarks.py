"""The benchmark scripts still run (tiny sizes; the numbers themselves are in benchmarks/)."""

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
        "log loss: float64 / float32",
        "log loss, batch 256: sklearn / ours",
        "numpy GEMM loop / ours",
        "sklearn one-vs-rest / ours",
    ]:
        assert line in completed.stdout
    assert "target >= 4" in completed.stdout
