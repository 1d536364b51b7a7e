"""The benchmark scripts still run (tiny sizes; the numbers themselves are in benchmarks/)."""

import json
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
    # The package's own default is measured next to the old ramp's rules and the simulation.
    assert "shipped: the package as it is now" in completed.stdout
    assert "Shipped default against the simulation" in completed.stdout
    assert "Issue #8's targets, the shipped default" in completed.stdout
    records = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert len(records) == 3
    for record in records:
        ramp = record["shipped"]["ramps"][0]
        assert ramp["rule"] == "divergence_onset"
        assert ramp["learning_rates"][0] <= ramp["best_lr"]
        assert record["default_ramp"][0]["learning_rates"][0] == 1e-7
