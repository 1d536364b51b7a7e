"""Suggestion rules against a transcription of fastai 2.7's ``schedule.py``, hand-worked curves,
and an independent computation of the smoothing lag; ``usable_range`` and ``suggest``."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_lrf._suggestions import (
    RAW_RULES,
    RULES,
    divergence_onset,
    lag_corrected,
    minimum,
    slide,
    steepest,
    usable_range,
    valley,
)
from sklearn_lrf.finder import suggest

# ---------------------------------------------------------------------------------------------
# References: fastai 2.7 ``fastai/callback/schedule.py``, torch tensors turned into numpy arrays.
# Only the first return value (the suggested rate) is compared.
# ---------------------------------------------------------------------------------------------


def fastai_valley(lrs, losses, num_it=None):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx]), (float(lrs[idx]), losses[idx])


def fastai_slide(lrs, losses, num_it=None, lr_diff=15, thresh=0.005, adjust_value=1.0):
    losses = np.asarray(losses)
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    suggestion = float(local_min_lr) * adjust_value
    idx = np.interp(np.log10(suggestion), np.log10(lrs), losses)
    return suggestion, (suggestion, idx)


def fastai_minimum(lrs, losses, num_it=None):
    lr_min = float(lrs[losses.argmin()])
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_min))]
    return lr_min / 10, (lr_min, loss_idx)


def fastai_steep(lrs, losses, num_it=None):
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    lr_steep = float(lrs[grads.argmin()])
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_steep))]
    return lr_steep, (lr_steep, loss_idx)


FASTAI_PAIRS = [
    pytest.param(minimum, fastai_minimum, id="minimum"),
    pytest.param(steepest, fastai_steep, id="steepest"),
    pytest.param(valley, fastai_valley, id="valley"),
    pytest.param(slide, fastai_slide, id="slide"),
]


def ema_weights(beta, m):
    """Weight of raw loss ``j`` in the bias-corrected EMA at point ``m``: run the finder's
    recursion (``avg = beta avg + (1 - beta) x``; ``avg / (1 - beta ** (t + 1))``) on unit
    impulses, one per column of the identity."""
    impulses = np.eye(m + 1)
    average = np.zeros(m + 1)
    for t in range(m + 1):
        average = beta * average + (1.0 - beta) * impulses[t]
    return average / (1.0 - beta ** (m + 1))


def mean_lag(beta, m):
    """Mean age, in points, of the losses averaged at point ``m``."""
    return float(np.sum((m - np.arange(m + 1)) * ema_weights(beta, m)))


def expected_lag_indices(losses, smoothing, offset):
    """Index (or both neighbours when within 1e-9 of a tie) that lag_corrected should pick."""
    i = int(np.argmin(losses))
    target = i - mean_lag(smoothing, offset + i)
    if abs(target - math.floor(target) - 0.5) < 1e-9:
        candidates = {math.floor(target), math.ceil(target)}
    else:
        candidates = {round(target)}
    return {max(0, k) for k in candidates}


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def lr_grids(draw, min_size=20, max_size=120):
    """Geometric grid between random bounds, at least one decade wide."""
    n = draw(st.integers(min_size, max_size))
    low = draw(st.floats(-8.0, 0.0))
    decades = draw(st.floats(1.0, 8.0))
    return np.geomspace(10.0**low, 10.0 ** (low + decades), n)


@st.composite
def curves(draw, min_size=20, max_size=120):
    """(lrs, losses): random floats, a noisy parabola in log-lr, or ties and plateaus."""
    lrs = draw(lr_grids(min_size, max_size))
    n = len(lrs)
    # Small scales keep gradient gaps near slide's threshold, so it stops at varied points.
    scale = draw(st.sampled_from([1e-4, 3e-3, 1e-2, 1.0, 10.0]))
    kind = draw(st.sampled_from(["random", "u_shape", "ties", "plateaus"]))
    if kind == "random":
        losses = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    elif kind == "u_shape":
        x = np.log10(lrs)
        centre = draw(st.floats(float(x[0]), float(x[-1])))
        noise = draw(st.sampled_from([0.0, 1e-3, 1e-2, 1e-1]))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        losses = 1.0 + 0.1 * (x - centre) ** 2 + noise * rng.standard_normal(n)
    elif kind == "ties":
        losses = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float)
    else:
        levels = draw(st.lists(st.integers(0, 5), min_size=1, max_size=12))
        losses = np.repeat(np.array(levels, float), -(-n // len(levels)))[:n]
    return lrs, scale * losses


# ---------------------------------------------------------------------------------------------
# The fastai rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule, reference", FASTAI_PAIRS)
@settings(deadline=None)
@given(curve=curves())
def test_rule_matches_fastai(rule, reference, curve):
    """Each rule returns exactly fastai's suggested rate."""
    lrs, losses = curve
    assert rule(lrs, losses) == reference(lrs, losses)[0]


@settings(deadline=None)
@given(
    curve=curves(min_size=2, max_size=40),
    lr_diff=st.integers(1, 25),
    thresh=st.sampled_from([0.0, 1e-4, 0.005, 0.1]),
    adjust_value=st.floats(0.1, 10.0),
)
def test_slide_parameters_and_short_curves(curve, lr_diff, thresh, adjust_value):
    """Where fastai is defined ours matches it; where fastai's ``lrs[-1 - lr_diff]`` raises
    (fewer than ``lr_diff + 1`` points), ours clamps to ``lrs[0]`` and the loop never runs."""
    lrs, losses = curve
    ours = slide(lrs, losses, lr_diff=lr_diff, thresh=thresh, adjust_value=adjust_value)
    if len(lrs) < lr_diff + 1:
        with pytest.raises(IndexError):
            fastai_slide(lrs, losses, lr_diff=lr_diff, thresh=thresh, adjust_value=adjust_value)
        assert ours == float(lrs[0] * adjust_value)
    else:
        expected = fastai_slide(
            lrs, losses, lr_diff=lr_diff, thresh=thresh, adjust_value=adjust_value
        )[0]
        assert ours == expected


LRS6 = 10.0 ** np.arange(-6, 0)  # 1e-6 ... 1e-1
LRS7 = 10.0 ** np.arange(-6, 1)  # 1e-6 ... 1e0


@pytest.mark.parametrize(
    "rule, lrs, losses, expected",
    [
        # V with its bottom at index 3 (1e-3): one tenth of it.
        (minimum, LRS6, [4, 3, 2, 1, 2, 3], 1e-4),
        # Tied minima at 1 and 3: argmin takes the first, lrs[1] = 1e-5.
        (minimum, LRS6, [3, 1, 2, 1, 3, 4], 1e-6),
        # Equal log steps, so slopes are the diffs -0.5, -1.5, -0.5, +1.5, +1: steepest is the
        # segment 1 -> 2 and the rule returns its left end, lrs[1].
        (steepest, LRS6, [4, 3.5, 2, 1.5, 3, 4], 1e-5),
        # Slopes -1, -1, -1, ...: a tie, the first segment wins.
        (steepest, LRS6, [5, 4, 3, 2, 1, 0], 1e-6),
        # Strictly decreasing, 7 points: end 6, length 7, start = 6 - 7 = -1, section 7/3;
        # index -1 + int(2.33) + int(1.17) = 2.
        (valley, LRS7, [7, 6, 5, 4, 3, 2, 1], 1e-4),
        # Decreasing run 5, 4, 3, 2, 1 (indices 0,1,3,4,5; the 6 at 2 is skipped): end 5,
        # length 5, start 0, section 5/3; index 0 + 1 + int(0.83) = 1.
        (valley, LRS7, [5, 4, 6, 3, 2, 1, 4], 1e-5),
        # Never decreasing: no valley, start = end = 0, lrs[0].
        (valley, LRS7, [1, 1, 2, 3, 3, 4, 5], 1e-6),
    ],
)
def test_hand_computed(rule, lrs, losses, expected):
    """Tiny curves worked out by hand."""
    assert rule(lrs, np.array(losses, float)) == pytest.approx(expected, rel=1e-12)


def test_slide_hand_computed():
    """np.gradient of [0, 0, 0, 1, 3, 6] is [0, 0, .5, 1.5, 2.5, 3]. With lr_diff=2, thresh=.6:
    |g[-1] - g[-3]| = 1.5 -> lrs[3]; |g[-2] - g[-4]| = 2 -> lrs[2]; |g[-3] - g[-5]| = 1.5 ->
    lrs[1]; |g[-4] - g[-6]| = .5 stops. Times adjust_value 2: 2e-5."""
    losses = np.array([0, 0, 0, 1, 3, 6], float)
    assert slide(LRS6, losses, lr_diff=2, thresh=0.6, adjust_value=2.0) == pytest.approx(2e-5)


@pytest.mark.parametrize(
    "n, expected_index",
    [
        (20, 4),  # flat: the loop never moves, lrs[-16] = lrs[20 - 16]
        (16, 0),  # exactly lr_diff + 1 points: lrs[-16] = lrs[0], fastai defined too
        (10, 0),  # too short for fastai (IndexError); ours clamps to lrs[0]
    ],
)
def test_slide_flat_curve_default_parameters(n, expected_index):
    """On a flat curve slide returns the window's initial left end, clamped to the start."""
    lrs, losses = np.geomspace(1e-5, 1.0, n), np.ones(n)
    assert slide(lrs, losses) == lrs[expected_index]
    if n < 16:
        with pytest.raises(IndexError):
            fastai_slide(lrs, losses)
    else:
        assert fastai_slide(lrs, losses)[0] == lrs[expected_index]


# ---------------------------------------------------------------------------------------------
# lag_corrected
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
@pytest.mark.parametrize("m", [0, 1, 10, 99])
def test_impulse_lag_matches_closed_form(beta, m):
    """The impulse reference agrees with the truncated-geometric closed form
    ``b / (1 - b) - (m + 1) b^(m+1) / (1 - b^(m+1))``."""
    closed = beta / (1 - beta) - (m + 1) * beta ** (m + 1) / (1 - beta ** (m + 1))
    assert mean_lag(beta, m) == pytest.approx(closed, rel=1e-9, abs=1e-12)


@settings(deadline=None)
@given(
    curve=curves(min_size=3, max_size=120),
    smoothing=st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.98]), st.floats(0.0, 0.999)),
    offset=st.integers(0, 60),
)
def test_lag_corrected_matches_impulse_reference(curve, smoothing, offset):
    """``min(3 lrs[round(argmin - lag)], lrs[argmin] / 3)``, lag from the EMA's impulse
    response; never before index 0, never above a third of the minimum's rate."""
    lrs, losses = curve
    cap = lrs[np.argmin(losses)] / 3.0
    got = lag_corrected(lrs, losses, smoothing, offset)
    expected = {min(3.0 * lrs[k], cap) for k in expected_lag_indices(losses, smoothing, offset)}
    assert got in {float(rate) for rate in expected}
    assert min(3.0 * lrs[0], cap) <= got <= cap


@given(curve=curves(min_size=3, max_size=120), offset=st.integers(0, 100))
def test_lag_corrected_without_smoothing_is_capped_below_the_minimum(curve, offset):
    """No smoothing, no lag: 3 * lrs[argmin] is capped to lrs[argmin] / 3."""
    lrs, losses = curve
    assert lag_corrected(lrs, losses, 0.0, offset) == lrs[np.argmin(losses)] / 3.0


@settings(deadline=None)
@given(
    curve=curves(min_size=3, max_size=120),
    smoothing=st.floats(0.0, 0.999),
    offsets=st.lists(st.integers(0, 100), min_size=2, max_size=2).map(sorted),
)
def test_lag_corrected_more_history_smaller_rate(curve, smoothing, offsets):
    """More points before the window -> older average -> larger lag -> smaller or equal rate."""
    lrs, losses = curve
    near, far = (lag_corrected(lrs, losses, smoothing, offset) for offset in offsets)
    assert far <= near


@pytest.mark.parametrize(
    "losses, smoothing, offset, expected_index",
    [
        # m = 2, weights 1, .5, .25: lag = (.5 + 2 * .25) / 1.75 = 4/7; round(2 - .57) = 1.
        ([3, 2, 1, 2, 3, 4], 0.5, 0, 1),
        # m = 3, weights 1, .5, .25, .125: lag = 1.375 / 1.875 = .73; round(2.27) = 2.
        ([4, 3, 2, 1, 2, 3], 0.5, 0, 2),
        # m = 35: lag = 9 - 36 * .9^36 / (1 - .9^36) = 8.17; round(15 - 8.17) = round(6.83) = 7.
        ([20 - k if k <= 15 else k for k in range(20)], 0.9, 20, 7),
        # m = 102, lag about 49 (beta = .98): 2 - 49 < 0 is clamped to index 0.
        ([3, 2, 1, 2, 3, 4], 0.98, 100, 0),
        # Minimum at the first point with a long history: -lag clamped to 0, and 3 * lrs[0]
        # exceeds the cap lrs[0] / 3.
        ([1, 2, 3, 4, 5, 6], 0.9, 30, 0),
    ],
)
def test_lag_corrected_hand_computed(losses, smoothing, offset, expected_index):
    """Tiny curves worked out by hand (the cap binds only in the last case)."""
    lrs = np.geomspace(1e-6, 1.0, len(losses))
    got = lag_corrected(lrs, np.array(losses, float), smoothing, offset)
    assert got == min(3.0 * lrs[expected_index], lrs[np.argmin(losses)] / 3.0)


# ---------------------------------------------------------------------------------------------
# usable_range
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, stop, expected",
    [
        (100, 100, slice(10, 100)),
        (100, 50, slice(10, 50)),
        (100, 11, slice(10, 12)),  # one point past the start: widened to two
        (20, 0, slice(2, 4)),
        (9, 9, slice(0, 9)),
    ],
)
def test_usable_range_examples(n, stop, expected):
    """Skip n // 10, end at stop, at least two points."""
    assert usable_range(n, stop) == expected


@given(data=st.data(), n=st.integers(2, 1000))
def test_usable_range_properties(data, n):
    """Starts at n // 10, ends at ``stop`` unless that leaves under two points."""
    stop = data.draw(st.integers(0, n))
    points = range(n)[usable_range(n, stop)]
    assert points.start == n // 10
    assert len(points) >= 2
    if stop >= n // 10 + 2:
        assert points == range(n // 10, stop)
    else:
        assert points == range(n // 10, n // 10 + 2)


# ---------------------------------------------------------------------------------------------
# suggest
# ---------------------------------------------------------------------------------------------


def expected_suggestions(lrs, losses, start, end, smoothing):
    """Every rule from the references, on ``[start, end)``; slide clamped where fastai raises."""
    lrs, losses = lrs[start:end], losses[start:end]
    slide_rate = fastai_slide(lrs, losses)[0] if len(lrs) > 15 else float(lrs[0])
    return {
        "minimum": fastai_minimum(lrs, losses)[0],
        "steepest": fastai_steep(lrs, losses)[0],
        "valley": fastai_valley(lrs, losses)[0],
        "slide": slide_rate,
        "lag_corrected": {
            float(min(3.0 * lrs[k], lrs[np.argmin(losses)] / 3.0))
            for k in expected_lag_indices(losses, smoothing, start)
        },
    }


@settings(deadline=None)
@given(
    data=st.data(),
    curve=curves(min_size=2, max_size=120),
    smoothing=st.sampled_from([0.0, 0.9, 0.98]),
    garbage=st.sampled_from([np.nan, np.inf, -1e9]),
)
def test_suggest_reads_only_points_before_stop(data, curve, smoothing, garbage):
    """Every rule on ``[n // 10, stop)`` against the references; points from ``stop`` on
    (here replaced by garbage) are never read; NaN for all under three points."""
    lrs, losses = curve
    n = len(lrs)
    stop = data.draw(st.integers(0, n))
    start = n // 10
    losses = losses.copy()
    losses[max(stop, start + 2) :] = garbage
    got = suggest(lrs, losses, losses, stop, smoothing)
    assert set(got) == set(RULES) | set(RAW_RULES)
    if stop - start < 3:
        assert all(np.isnan(got[name]) for name in RULES)
        return
    expected = expected_suggestions(lrs, losses, start, stop, smoothing)
    floor = lrs[0]  # a pick below the ramp's first rate is no suggestion (NaN)
    lag, candidates = got["lag_corrected"], expected.pop("lag_corrected")
    if np.isfinite(lag):
        assert lag in candidates and lag >= floor
    else:
        assert any(value < floor for value in candidates)
    for name, value in expected.items():
        if value >= floor:
            assert got[name] == value, name
        else:
            assert np.isnan(got[name]), name


@pytest.mark.parametrize(
    "n, stop, finite",
    [
        (2, 2, False),
        (3, 3, True),
        (20, 4, False),  # start 2, two points
        (20, 5, True),  # start 2, three points
        (20, 0, False),  # widened to two points
        (100, 12, False),
        (100, 13, True),
    ],
)
def test_suggest_needs_three_usable_points(n, stop, finite):
    """All NaN below three usable points, all finite from three."""
    lrs = np.geomspace(1e-10, 1e10, n)  # wide, so no pick falls below the first rate
    losses = np.cos(np.arange(n)) + 2.0
    got = suggest(lrs, losses, losses, stop, 0.98)
    assert [np.isfinite(got[name]) for name in RULES] == [finite] * len(RULES)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [10, 30, 49])
def test_suggest_non_finite_loss_gives_nan(bad, where):
    """A non-finite loss inside the usable range makes every suggestion NaN."""
    lrs, losses = np.geomspace(1e-5, 1.0, 50), np.linspace(2.0, 1.0, 50)
    losses[where] = bad
    got = suggest(lrs, losses, losses, 50, 0.98)
    assert all(np.isnan(got[name]) for name in RULES)
    losses[where] = 1.5  # the same curve made finite gives numbers
    assert all(np.isfinite(value) for value in suggest(lrs, losses, losses, 50, 0.98).values())


def test_suggestions_never_fall_below_the_first_rate():
    """A curve that only rises shows no safe rate: picks below its first rate are NaN."""
    lrs = np.geomspace(1e-4, 1e2, 91)
    losses = np.geomspace(1.0, 1e6, 91)
    got = suggest(lrs, losses, losses, 91, 0.98)
    assert all(np.isnan(value) or value >= lrs[0] for value in got.values())
    assert np.isnan(got["divergence_onset"]) and np.isnan(got["minimum"])


# ---------------------------------------------------------------------------------------------
# divergence_onset: reads raw losses (RAW_RULES)
# ---------------------------------------------------------------------------------------------

ONSET_LRS = np.logspace(-4, 2, 91)  # 15 points per decade


def _blow_up_curve(lrs, edge):
    """Loss 1 falling slowly, then ``(lr / edge) ** 2`` once the rate passes ``edge``."""
    x = np.log10(lrs / edge)
    return np.where(x < 0, 1.0 - 0.01 * (x + 10), 0.9 * 10 ** (2 * x))


def test_divergence_onset_is_the_first_rate_at_threshold_times_the_running_minimum():
    losses = _blow_up_curve(ONSET_LRS, edge=1.0)
    losses[30] = 100.0  # an isolated spike: the 3-point running median removes it
    # the curve reaches 4 x its running minimum (0.9) where 10 ** (2 x) > 4, x = log10(lr)
    x = np.log10(ONSET_LRS)
    expected = ONSET_LRS[np.argmax((x >= 0) & (10 ** (2 * x) > 4))]
    assert divergence_onset(ONSET_LRS, losses, factor=1.0) == expected
    assert divergence_onset(ONSET_LRS, losses) == pytest.approx(0.047 * expected)


def test_divergence_onset_follows_the_data_and_stops_at_the_first_non_finite_loss():
    picks = [divergence_onset(ONSET_LRS, _blow_up_curve(ONSET_LRS, edge)) for edge in (1e-2, 1)]
    assert picks[1] / picks[0] == pytest.approx(100, rel=0.2)  # 100x apart in, 100x out
    losses = _blow_up_curve(ONSET_LRS, edge=1.0)
    losses[50:] = np.inf  # the ramp failed at lr 1e-4 * 10 ** (50 / 15) before blowing up
    assert divergence_onset(ONSET_LRS, losses, factor=1.0) == ONSET_LRS[49]
    assert np.isnan(divergence_onset(ONSET_LRS, np.r_[1.0, 1.0, np.inf, 1.0]))


def test_a_callable_rule_reads_the_raw_curve_and_picks():
    """``rule=`` takes any callable (as fastai's ``suggest_funcs``): it reads the raw losses
    of the whole curve, is listed under its name, and picks ``best_lr`` and the refit's rate."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, lr_range_test

    seen = {}

    def tenth_of_lowest_raw_loss(lrs, losses):
        seen["n"] = len(losses)
        return lrs[np.nanargmin(losses)] / 10

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    result = lr_range_test(
        SGDLinearRegressor(), X, y, rule=tenth_of_lowest_raw_loss, random_state=0
    )
    assert seen["n"] == len(result.losses)
    assert result.rule == "tenth_of_lowest_raw_loss"
    assert result.best_lr == result.learning_rates[np.nanargmin(result.losses)] / 10
    assert set(result.suggestions) == set(RULES) | set(RAW_RULES) | {"tenth_of_lowest_raw_loss"}
    search = LRFinderSearch(
        SGDLinearRegressor(random_state=0), rule=tenth_of_lowest_raw_loss, cv=2, random_state=0
    ).fit(X, y)
    assert search.best_estimator_.learning_rate == search.best_lr_
    assert search.best_lr_ == search.suggestions_["tenth_of_lowest_raw_loss"]
