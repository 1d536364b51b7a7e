"""The real peer finders' records (``benchmarks/run_peer_finders.py``), which the "other
finders" example plots: well-formed, and each library's suggestion is its published rule
applied to its recorded curve, re-computed here without torch."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from peer_rules import lightning, torch_lr_finder  # noqa: E402

DATA = json.loads((BENCHMARKS / "results" / "peers" / "peer_finders.json").read_text())
FINDERS = [
    pytest.param(problem, finder, id=f"{problem['name']}-{finder['library']}")
    for problem in DATA["problems"]
    for finder in problem["finders"]
]


def as_array(values):
    """Recorded floats, None (non-finite) as NaN."""
    return np.array(values, dtype=float)


def test_every_set_has_both_libraries_with_versions_and_settings():
    assert [p["name"] for p in DATA["problems"]] == ["diabetes", "breast_cancer", "digits"]
    for problem in DATA["problems"]:
        assert [f["library"] for f in problem["finders"]] == ["torch-lr-finder", "lightning"]
        for finder in problem["finders"]:
            assert finder["version"] and finder["settings"]
    assert DATA["versions"]["torch"].startswith("2.13.0") and DATA["cpu"]


@pytest.mark.parametrize("problem", DATA["problems"], ids=lambda p: p["name"])
def test_torch_lr_finder_ramp_runs_from_start_lr_to_end_lr_in_num_iter_rates(problem):
    """Its ``ExponentialLR``: ``start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``."""
    finder = problem["finders"][0]
    settings, rates = finder["settings"], as_array(finder["rates"])
    start, end, n_rates = settings["start_lr"], settings["end_lr"], settings["num_iter"]
    expected = start * (end / start) ** (np.arange(len(rates)) / (n_rates - 1))
    assert len(finder["losses"]) == len(rates) <= n_rates
    assert rates == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("problem", DATA["problems"], ids=lambda p: p["name"])
def test_lightning_ramp_skips_its_second_rate(problem):
    """Its ``_ExponentialLR``: ``min_lr`` at step 0, then ``min_lr * q ** (i + 1)`` with
    ``q = (max_lr / min_lr) ** (1 / num_training)``, so the last of 100 rates is ``max_lr``."""
    finder = problem["finders"][1]
    settings, rates = finder["settings"], as_array(finder["rates"])
    start, end, n_rates = settings["min_lr"], settings["max_lr"], settings["num_training"]
    steps = np.r_[0, np.arange(2, len(rates) + 1)]
    expected = start * (end / start) ** (steps / n_rates)
    assert len(finder["losses"]) == len(rates) <= n_rates
    assert rates == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("problem, finder", FINDERS)
def test_suggestion_lies_on_the_recorded_curve(problem, finder):
    assert finder["suggestion"] in finder["rates"]


@pytest.mark.parametrize("problem", DATA["problems"], ids=lambda p: p["name"])
def test_torch_lr_finder_suggests_its_steepest_index_gradient(problem):
    finder = problem["finders"][0]
    rates, losses = as_array(finder["rates"]), as_array(finder["losses"])
    assert finder["suggestion"] == torch_lr_finder(rates, losses, skip_start=10, skip_end=5)


@pytest.mark.parametrize("problem", DATA["problems"], ids=lambda p: p["name"])
def test_torch_lr_finder_stops_after_the_first_loss_above_5_times_the_best(problem):
    finder = problem["finders"][0]
    losses = as_array(finder["losses"])
    best_so_far = np.minimum.accumulate(losses)
    assert np.all(losses[:-1] <= 5 * best_so_far[:-1])
    stopped_early = len(losses) < finder["settings"]["num_iter"]
    assert stopped_early == (losses[-1] > 5 * best_so_far[-1])


@pytest.mark.parametrize("problem", DATA["problems"], ids=lambda p: p["name"])
def test_lightning_suggests_its_steepest_gradient_against_the_rate(problem):
    finder = problem["finders"][1]
    rates, losses = as_array(finder["rates"]), as_array(finder["losses"])
    assert finder["suggestion"] == lightning(rates, losses, skip_begin=10, skip_end=1)


@pytest.mark.parametrize(
    "problem", [p for p in DATA["problems"] if p["task"] != "regression"], ids=lambda p: p["name"]
)
def test_lightning_curve_starts_debiased_one_step_off(problem):
    """Lightning 2.6.6 divides its moving average by 1 - 0.98**(i + 2) at point i, so its first
    point is 0.02 / (1 - 0.98**2) of the first loss, which at zero weights is log(n_classes),
    as the example says."""
    n_classes = 2 if problem["task"] == "binary" else 10
    first = problem["finders"][1]["losses"][0]
    assert first == pytest.approx(0.02 / (1 - 0.98**2) * np.log(n_classes), rel=1e-4)


@pytest.mark.parametrize("problem, finder", FINDERS)
def test_refits_beat_the_untrained_model_or_are_marked_diverged(problem, finder):
    factors, seeds = DATA["refit"]["factors"], DATA["refit"]["seeds"]
    refits = finder["refit_validation_losses"]
    assert len(refits) == len(factors) and all(len(losses) == len(seeds) for losses in refits)
    finite = as_array(refits)[np.isfinite(as_array(refits))]
    assert np.all((finite > 0) & (finite < problem["untrained_validation_loss"]))
