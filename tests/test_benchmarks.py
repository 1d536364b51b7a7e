"""The benchmark scripts still run (tiny sizes; the numbers themselves are in benchmarks/)."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_sgd_prints_its_table():
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bench_sgd.py"),
            "--n-samples",
            "3000",
            "--n-features",
            "10",
            "--epochs",
            "1",
            "--repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "SGDRegressor (sklearn)" in completed.stdout
    assert "regression: batch 256" in completed.stdout
    assert "classification: batch 256" in completed.stdout
