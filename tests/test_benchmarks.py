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


def test_bench_finder_quick_prints_its_tables(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_finder.py"), "--quick", "--results", tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCHMARKS,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Regret (validation loss at the pick" in completed.stdout
    assert "quick moons300 mlp-adam" in completed.stdout
    assert len(list(tmp_path.glob("*.json"))) == 3
