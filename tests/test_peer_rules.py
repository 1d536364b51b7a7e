"""The benchmark's re-implementations of other finders' rules, DoG and the candidate rules,
checked against their published formulas on hand-made curves; the proposed rule on the
benchmark's recorded curves."""

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from curve_rules import centred_curve, plateau_start, smoothed_minimum  # noqa: E402
from peer_rules import (  # noqa: E402
    dog,
    lightning,
    lightning_curve,
    torch_lr_finder,
    torch_lr_finder_curve,
)

from sklearn_lrf.rules import divergence_onset  # noqa: E402

LRS = np.logspace(-7, 1, 41)  # 5 points per decade


def test_torch_lr_finder_smoothing_and_stop_follow_its_loop():
    # s_0 = l_0; s_i = 0.05 l_i + 0.95 s_{i-1}; stop after the first s_i > 5 * best.
    assert torch_lr_finder_curve([1.0, 2.0, 0.5]) == pytest.approx([1.0, 1.05, 1.0225])
    history = torch_lr_finder_curve([1.0, 0.5, 200.0, 1.0])
    # 0.05 * 0.5 + 0.95 = 0.975 (best), then 0.05 * 200 + 0.95 * 0.975 = 10.93 > 5 * 0.975
    assert history == pytest.approx([1.0, 0.975, 10.92625])


def test_torch_lr_finder_picks_the_steepest_index_gradient_inside_the_trim():
    losses = np.ones(41)
    losses[20:] = 0.0  # a unit cliff between points 19 and 20
    losses[38:] = -10.0  # a steeper cliff, but inside the last skip_end=5 points
    # np.gradient over [10:36]: -0.5 at the points either side of the cliff, 0 elsewhere;
    # argmin takes the first, point 19.
    assert torch_lr_finder(LRS, losses) == LRS[19]
    assert np.isnan(torch_lr_finder(LRS[:16], losses[:16]))  # fewer than 10 + 5 + 2 points


def test_lightning_since_21055_differentiates_with_respect_to_the_rate():
    # A loss linear in log(lr) has d loss / d lr = -1/lr: steepest at the smallest rate kept
    # (skip_begin=10), where the unit-spacing gradient (before #21055) is flat, so argmin
    # takes the first point too; a curve with one cliff separates the two.
    linear = -np.log(LRS)
    assert lightning(LRS, linear) == LRS[10]
    cliff = np.ones(41)
    cliff[30:] = 0.0
    assert lightning(LRS, cliff, wrt_lr=False) == LRS[29]
    # W.r.t. the rate, a dip of 0.001 at 1e-5 (slope ~ -0.001 / 2e-5 = -50) beats the unit
    # cliff at 1e-1 (slope ~ -1 / 0.2 = -5): the rule is drawn to small rates.
    noisy = cliff.copy()
    noisy[12] = 0.999
    expected = LRS[np.argmin(np.gradient(noisy[10:40], LRS[10:40])) + 10]
    assert lightning(LRS, noisy) == expected == LRS[11]


def test_lightning_curve_is_debiased_one_step_off_and_stops_at_4_times_the_best():
    losses = np.r_[np.full(30, 2.0), 1.0, np.full(30, 2.0), np.full(10, 40.0)]
    curve = lightning_curve(losses)
    assert curve[0] == pytest.approx(2.0 * 0.02 / (1 - 0.98**2))  # 0.505 of the first loss
    average = 0.0
    for i, loss in enumerate(losses[: len(curve)]):
        average = 0.98 * average + 0.02 * loss
        assert curve[i] == pytest.approx(average / (1 - 0.98 ** (i + 2)), rel=1e-12)
    best_before = np.minimum.accumulate(curve)[:-1]
    assert curve[-1] > 4 * best_before[-1] and np.all(curve[1:-1] <= 4 * best_before[:-1])
    assert 61 < len(curve) < len(losses)
    # Its first point as the real Lightning 2.6.6 recorded it on breast_cancer, at zero weights.
    peers = json.loads(
        (
            Path(__file__).resolve().parents[1] / "benchmarks/results/peers/peer_finders.json"
        ).read_text()
    )["problems"]
    cancer = next(p for p in peers if p["name"] == "breast_cancer")["finders"][1]
    assert cancer["losses"][0] == pytest.approx(lightning_curve([np.log(2.0)])[0], rel=1e-4)


def test_lightning_drops_non_finite_points_and_the_last():
    losses = np.ones(41)
    losses[20:] = 0.0
    losses[19] = np.nan  # dropped: the cliff now joins points 18 and 20
    losses[40] = -100.0  # skip_end=1 drops it
    assert lightning(LRS, losses, wrt_lr=False) == LRS[18]
    assert np.isnan(lightning(LRS[:12], losses[:12]))  # one point left after the trim


def test_dog_first_steps_follow_the_formula():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    # One full batch, no penalty: the first step has length r_eps = 1e-6 exactly.
    coef, intercept, n_updates = dog(X, y, "regression", epochs=1, batch_size=8, alpha=0.0)
    assert n_updates == 1
    assert np.sqrt(np.sum(coef**2) + np.sum(intercept**2)) == pytest.approx(1e-6)
    # Second step: eta_1 = max(r_eps, ||x_1||) / sqrt(||g_0||^2 + ||g_1||^2).
    A = np.hstack([X, np.ones((8, 1))])
    x0 = np.zeros(4)
    g0 = A.T @ (A @ x0 - y) / 8
    x1 = x0 - 1e-6 / np.linalg.norm(g0) * g0
    g1 = A.T @ (A @ x1 - y) / 8
    eta1 = max(1e-6, np.linalg.norm(x1)) / np.sqrt(g0 @ g0 + g1 @ g1)
    x2 = x1 - eta1 * g1
    coef, intercept, _ = dog(X, y, "regression", epochs=2, batch_size=8, alpha=0.0)
    assert np.append(coef.ravel(), intercept) == pytest.approx(x2, rel=1e-10)


def test_dog_reaches_the_least_squares_solution():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 5))
    y = X @ np.arange(1.0, 6.0) + 2.0 + 0.01 * rng.normal(size=500)
    coef, intercept, _ = dog(X, y, "regression", epochs=50, alpha=0.0)
    assert coef.ravel() == pytest.approx(np.arange(1.0, 6.0), abs=0.05)
    assert intercept[0] == pytest.approx(2.0, abs=0.05)


def _valley(lrs, centre, noise=0.0, seed=0):
    """A range-test-like curve: a parabola in log10(lr) with its minimum at ``centre``."""
    rng = np.random.RandomState(seed)
    x = np.log10(lrs) - np.log10(centre)
    return np.exp(0.3 * x**2) * np.exp(noise * rng.normal(size=len(lrs)))


def test_smoothed_minimum_finds_the_centre_of_a_noisy_valley_and_scales_it():
    lrs = np.logspace(-6, 2, 121)
    for centre in (1e-4, 1e-2, 1.0):
        pick = smoothed_minimum(lrs, _valley(lrs, centre, noise=0.2))
        assert abs(np.log10(pick / centre)) <= 0.25
    assert smoothed_minimum(lrs, _valley(lrs, 1e-2), factor=0.1) == pytest.approx(1e-3)


def test_centred_curve_stops_at_the_first_non_finite_loss():
    lrs = np.logspace(-3, 0, 31)
    losses = _valley(lrs, 0.1)
    losses[25:] = np.inf
    rates, curve = centred_curve(lrs, losses)
    assert len(rates) == len(curve) == 25


def test_plateau_start_is_below_the_minimum_on_a_flat_bottom():
    lrs = np.logspace(-4, 1, 101)
    x = np.log10(lrs)
    losses = np.where(x < -2, 1.0 + (-2 - x), 1.0) + np.where(x > 0, x**2, 0.0)
    pick = plateau_start(lrs, losses, sigma_decades=0.1, fraction=0.05)
    assert 10**-2.3 < pick < smoothed_minimum(lrs, losses, sigma_decades=0.1)


def test_divergence_onset_follows_the_oracle_on_the_recorded_curves():
    """On the benchmark's recorded wide ramps, problems whose grid-best rates differ by 100x or
    more get proposed picks 10x or more apart, in the same direction (issue #8)."""
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    records = {}
    for path in sorted(results.glob("*.json")):
        record = json.loads(path.read_text())
        losses = np.asarray(record["grid_losses"], dtype=float)[:, :, -1].mean(axis=1)
        picks = [
            divergence_onset(np.asarray(c["learning_rates"]), np.asarray(c["losses"]))
            for c in record["wide_ramp"]
        ]
        best_rate = record["grid_rates"][
            int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))
        ]
        records[record["name"]] = (best_rate, np.exp(np.mean(np.log(picks))))
    # breast cancer raw against standardised: best rates 1.7e-5 and 0.91
    (raw_best, raw_pick), (std_best, std_pick) = (
        records["cancer ours raw"],
        records["cancer ours std"],
    )
    assert std_best / raw_best > 100 and std_pick / raw_pick > 10
    pairs = [
        (a, b)
        for a, b in itertools.combinations(records.values(), 2)
        if a[0] / b[0] >= 100 or b[0] / a[0] >= 100
    ]
    follows = [(a[1] / b[1] >= 10) if a[0] > b[0] else (b[1] / a[1] >= 10) for a, b in pairs]
    assert len(pairs) >= 100 and np.mean(follows) > 0.8
