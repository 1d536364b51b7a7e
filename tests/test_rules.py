"""Suggestion rules against a transcription of fastai 2.7's ``schedule.py`` on a plain-loop
computation of the range test's smoothed curve, hand-worked curves, and an independent
computation of the smoothing lag; ``suggest``."""

import math
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_lrf.rules import (
    RULES,
    divergence_onset,
    lag_corrected,
    minimum,
    rule_name,
    slide,
    steepest,
    suggest,
    valley,
)

# The rules that read the smoothed curve (and take the range test's smoothing settings).
SMOOTHED_RULES = [name for name in RULES if name != "divergence_onset"]

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


def reference_curve(lrs, losses, smoothing=0.98, threshold=4.0):
    """The range test's smoothed curve, by a plain loop: the bias-corrected moving average of
    the raw losses, from the point ``n // 10`` to the first non-finite loss or (after a warm-up
    of ``max(2, n // 10)`` points) the first smoothed loss above ``threshold`` times its best
    since the warm-up, excluded."""
    n = len(losses)
    average, best, smoothed = 0.0, np.inf, []
    for k, loss in enumerate(losses, start=1):
        if not np.isfinite(loss):
            break
        average = smoothing * average + (1.0 - smoothing) * loss
        value = average / (1.0 - smoothing**k)
        if k > max(2, n // 10):
            best = min(best, value)
            if value > threshold * best:
                break
        smoothed.append(value)
    return lrs[n // 10 : len(smoothed)], np.array(smoothed[n // 10 :])


def on_reference_curve(reference, lrs, losses, smoothing=0.98, threshold=4.0):
    """A fastai reference's rate on :func:`reference_curve`; NaN under three points; the first
    rate where fastai's slide raises (under 16 points: ours clamps, see below)."""
    rates, smoothed = reference_curve(lrs, losses, smoothing, threshold)
    if len(rates) < 3:
        return np.nan
    try:
        return reference(rates, smoothed)[0]
    except IndexError:
        return float(rates[0])


def same(got, expected):
    """Equal, or both NaN."""
    return got == expected or (np.isnan(got) and np.isnan(expected))


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
@given(
    curve=curves(),
    smoothing=st.sampled_from([0.0, 0.5, 0.98]),
    threshold=st.sampled_from([1.5, 4.0, np.inf]),
)
def test_rule_matches_fastai(rule, reference, curve, smoothing, threshold):
    """Each rule, given raw losses, returns exactly fastai's suggested rate on the range
    test's smoothed curve (NaN when under three points are left)."""
    lrs, losses = curve
    with np.errstate(invalid="ignore"):  # an infinite threshold times a best loss of 0
        got = rule(lrs, losses, smoothing=smoothing, diverge_threshold=threshold)
        expected = on_reference_curve(reference, lrs, losses, smoothing, threshold)
    assert same(got, expected)


@pytest.mark.parametrize("rule, reference", FASTAI_PAIRS)
@settings(deadline=None)
@given(curve=curves())
def test_rule_without_smoothing_reads_the_raw_curve_after_its_first_tenth(rule, reference, curve):
    """No smoothing and no divergence cut: fastai's formula on the raw losses from ``n // 10``,
    whatever the curve (ties, plateaus, zeros)."""
    lrs, losses = curve
    start = len(lrs) // 10
    with np.errstate(invalid="ignore"):  # an infinite threshold times a best loss of 0
        got = rule(lrs, losses, smoothing=0.0, diverge_threshold=np.inf)
    assert got == reference(lrs[start:], losses[start:])[0]


@settings(deadline=None)
@given(
    curve=curves(min_size=2, max_size=40),
    lr_diff=st.integers(1, 25),
    thresh=st.sampled_from([0.0, 1e-4, 0.005, 0.1]),
    adjust_value=st.floats(0.1, 10.0),
)
def test_slide_parameters_and_short_curves(curve, lr_diff, thresh, adjust_value):
    """Where fastai is defined ours matches it; where fastai's ``lrs[-1 - lr_diff]`` raises
    (fewer than ``lr_diff + 1`` points), ours clamps to the first point and the loop never
    runs. Without smoothing, on the raw curve from ``n // 10``; NaN under three points."""
    lrs, losses = curve
    with np.errstate(invalid="ignore"):  # an infinite threshold times a best loss of 0
        ours = slide(
            lrs,
            losses,
            lr_diff=lr_diff,
            thresh=thresh,
            adjust_value=adjust_value,
            smoothing=0.0,
            diverge_threshold=np.inf,
        )
    start = len(lrs) // 10
    lrs, losses = lrs[start:], losses[start:]
    if len(lrs) < 3:
        assert np.isnan(ours)
    elif len(lrs) < lr_diff + 1:
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
    """Tiny raw curves worked out by hand, without smoothing (under ten points, none skipped;
    none rises above 4 times its best since the second point, so none is cut)."""
    assert rule(lrs, np.array(losses, float), smoothing=0.0) == pytest.approx(expected, rel=1e-12)


def test_slide_hand_computed():
    """np.gradient of [1, 1, 1, 2, 4, 7] is [0, 0, .5, 1.5, 2.5, 3]. With lr_diff=2, thresh=.6:
    |g[-1] - g[-3]| = 1.5 -> lrs[3]; |g[-2] - g[-4]| = 2 -> lrs[2]; |g[-3] - g[-5]| = 1.5 ->
    lrs[1]; |g[-4] - g[-6]| = .5 stops. Times adjust_value 2: 2e-5. (The 7 is over 4 times
    the best, 1: a threshold of 10 keeps it.)"""
    losses = np.array([1, 1, 1, 2, 4, 7], float)
    got = slide(
        LRS6, losses, lr_diff=2, thresh=0.6, adjust_value=2.0, smoothing=0.0, diverge_threshold=10
    )
    assert got == pytest.approx(2e-5)


@pytest.mark.parametrize(
    "n, expected_index",
    [
        (20, 4),  # flat: the loop never moves; from point 2, the 18 - 16th point is lrs[4]
        (17, 1),  # from point 1, exactly lr_diff + 1 points: lrs[1], fastai defined too
        (10, 1),  # from point 1, too short for fastai (IndexError); ours clamps to lrs[1]
    ],
)
def test_slide_flat_curve_default_parameters(n, expected_index):
    """On a flat curve slide returns the window's initial left end, clamped to the start of the
    usable curve (its first tenth skipped)."""
    lrs, losses = np.geomspace(1e-5, 1.0, n), np.ones(n)
    assert slide(lrs, losses) == lrs[expected_index]
    start = n // 10
    if n - start < 16:
        with pytest.raises(IndexError):
            fastai_slide(lrs[start:], losses[start:])
    else:
        assert fastai_slide(lrs[start:], losses[start:])[0] == lrs[expected_index]


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
    curve=curves(min_size=3, max_size=300),
    smoothing=st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.98]), st.floats(0.0, 0.999)),
    threshold=st.sampled_from([1.5, 4.0]),
)
def test_lag_corrected_matches_impulse_reference(curve, smoothing, threshold):
    """On the range test's smoothed curve ``(r, s)``, which starts at point ``n // 10``:
    ``min(3 r[round(argmin - lag)], r[argmin] / 3)``, the lag from the EMA's impulse response at
    point ``n // 10 + argmin``; never before the curve's start, never above a third of the
    minimum's rate. NaN under three points."""
    lrs, losses = curve
    got = lag_corrected(lrs, losses, smoothing=smoothing, diverge_threshold=threshold)
    rates, smoothed = reference_curve(lrs, losses, smoothing, threshold)
    if len(rates) < 3:
        assert np.isnan(got)
        return
    cap = rates[np.argmin(smoothed)] / 3.0
    offset = len(lrs) // 10
    expected = {min(3.0 * rates[k], cap) for k in expected_lag_indices(smoothed, smoothing, offset)}
    assert got in {float(rate) for rate in expected}
    assert min(3.0 * rates[0], cap) <= got <= cap


@given(curve=curves(min_size=3, max_size=300))
def test_lag_corrected_without_smoothing_is_capped_below_the_minimum(curve):
    """No smoothing, no lag: 3 * r[argmin] is capped to r[argmin] / 3."""
    lrs, losses = curve
    rates, smoothed = reference_curve(lrs, losses, 0.0)
    got = lag_corrected(lrs, losses, smoothing=0.0)
    assert same(got, rates[np.argmin(smoothed)] / 3.0 if len(rates) >= 3 else np.nan)


@pytest.mark.parametrize(
    "losses, smoothing, start, expected_index",
    [
        # Smoothed: 3, 2.33, 1.57, 1.8, 2.42, 3.22; minimum at m = 2, weights 1, .5, .25:
        # lag = (.5 + 2 * .25) / 1.75 = 4/7; round(2 - .57) = 1.
        ([3, 2, 1, 2, 3, 4], 0.5, 0, 1),
        # Smoothed: 4, 3.33, 2.57, 1.73, 1.87, 2.44; minimum at m = 3, weights 1, .5, .25,
        # .125: lag = 1.375 / 1.875 = .73; round(3 - .73) = 2.
        ([4, 3, 2, 1, 2, 3], 0.5, 0, 2),
        # Falling raw losses fall smoothed too: minimum at the last point, m = 39, index 35
        # from point 4; lag = 49 - 40 * .98^40 / (1 - .98^40) = 16.84; round(35 - 16.84) = 18
        # (counting the lag from point 4 instead of 0 would give 20).
        (list(range(40, 0, -1)), 0.98, 4, 18),
        # Rising slowly: minimum at the first usable point, index 0 from point 3 (m = 3); the
        # lag, about 1.5, is clamped to index 0, and 3 r[0] exceeds the cap r[0] / 3.
        ([1 + 0.01 * k for k in range(30)], 0.98, 3, 0),
    ],
)
def test_lag_corrected_hand_computed(losses, smoothing, start, expected_index):
    """Tiny raw curves worked out by hand (the cap binds only in the last case)."""
    lrs = np.geomspace(1e-6, 1.0, len(losses))
    losses = np.array(losses, float)
    rates = lrs[start:]
    minimum_index = int(np.argmin(reference_curve(lrs, losses, smoothing)[1]))
    got = lag_corrected(lrs, losses, smoothing=smoothing)
    assert got == min(3.0 * rates[expected_index], rates[minimum_index] / 3.0)


# ---------------------------------------------------------------------------------------------
# suggest
# ---------------------------------------------------------------------------------------------


def at_or_above(rate, floor):
    """``rate``, or NaN when it is not finite or below ``floor``."""
    return rate if np.isfinite(rate) and rate >= floor else np.nan


@settings(deadline=None)
@given(
    curve=curves(min_size=2, max_size=120),
    smoothing=st.sampled_from([0.0, 0.9, 0.98]),
    threshold=st.sampled_from([1.5, 4.0]),
)
def test_suggest_reports_every_rule_called_on_the_raw_curve(curve, smoothing, threshold):
    """Each entry of RULES, called as ``rule(lrs, raw_losses)`` (the smoothed ones given the
    range test's smoothing and threshold), gives what suggest reports, NaN below the first
    rate."""
    lrs, losses = curve
    got = suggest(lrs, losses, smoothing=smoothing, diverge_threshold=threshold)
    assert list(got) == list(RULES)
    settings_ = dict(smoothing=smoothing, diverge_threshold=threshold)
    for name, rule in RULES.items():
        expected = rule(lrs, losses, **settings_) if name in SMOOTHED_RULES else rule(lrs, losses)
        assert same(got[name], at_or_above(expected, lrs[0])), name
    if smoothing == 0.98 and threshold == 4.0:  # the defaults: plain calls
        for name, rule in RULES.items():
            assert same(got[name], at_or_above(rule(lrs, losses), lrs[0])), name


@settings(deadline=None)
@given(
    data=st.data(),
    curve=curves(min_size=2, max_size=120),
    bad=st.sampled_from([np.nan, np.inf]),
)
def test_no_rule_reads_past_a_non_finite_loss(data, curve, bad):
    """The ramp stops at a non-finite loss: whatever follows it changes no suggestion."""
    lrs, losses = curve
    stop = data.draw(st.integers(0, len(lrs) - 1))
    losses = losses.copy()
    losses[stop] = bad
    other = losses.copy()
    other[stop + 1 :] = data.draw(st.sampled_from([np.nan, -1e9, 0.0, 1e9]))
    first, second = suggest(lrs, losses), suggest(lrs, other)
    assert all(same(first[name], second[name]) for name in first)


@pytest.mark.parametrize(
    "n, stop, finite",
    [
        (3, 3, True),
        (20, 4, False),  # from point 2, two points
        (20, 5, True),  # from point 2, three points
        (20, 0, False),
        (100, 12, False),
        (100, 13, True),
    ],
)
def test_suggest_needs_three_usable_points(n, stop, finite):
    """The smoothed rules give NaN below three points between ``n // 10`` and the curve's end
    (here an infinite loss at ``stop``), numbers from three."""
    lrs = np.geomspace(1e-10, 1e10, n)  # wide, so no pick falls below the first rate
    losses = np.cos(np.arange(n)) + 2.0  # within [1, 3]: never above 4 times its best
    losses[stop:] = np.inf
    got = suggest(lrs, losses)
    assert [np.isfinite(got[name]) for name in SMOOTHED_RULES] == [finite] * len(SMOOTHED_RULES)


def test_suggestions_never_fall_below_the_first_rate():
    """A curve that only rises shows no safe rate: picks below its first rate are NaN."""
    lrs = np.geomspace(1e-4, 1e2, 91)
    losses = np.geomspace(1.0, 1e6, 91)
    got = suggest(lrs, losses)
    assert all(np.isnan(value) or value >= lrs[0] for value in got.values())
    assert np.isnan(got["divergence_onset"]) and np.isnan(got["minimum"])


class Third:
    """A callable object without ``__name__``."""

    def __call__(self, lrs, losses):
        return np.inf if losses[0] > 1 else lrs[-1] / 3


def test_a_further_rule_is_listed_under_its_name():
    """A function under its ``__name__``, a partial under its function and arguments, another
    callable under its type's name; a non-finite pick is NaN."""
    lrs, losses = np.geomspace(1e-4, 1e2, 91), np.linspace(1.0, 0.5, 91)
    assert rule_name(divergence_onset) == "divergence_onset"
    configured = partial(divergence_onset, factor=0.1)
    assert rule_name(configured) == "divergence_onset(factor=0.1)"
    got = suggest(lrs, losses, configured)
    assert list(got) == [*RULES, "divergence_onset(factor=0.1)"]
    assert got["divergence_onset(factor=0.1)"] == pytest.approx(
        got["divergence_onset"] * 0.1 / 0.047, rel=1e-12
    )
    assert suggest(lrs, losses, Third())["Third"] == pytest.approx(lrs[-1] / 3)
    assert np.isnan(suggest(lrs, 2 * losses, Third())["Third"])


# ---------------------------------------------------------------------------------------------
# divergence_onset: reads the raw losses
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
    assert set(result.suggestions) == set(RULES) | {"tenth_of_lowest_raw_loss"}
    search = LRFinderSearch(
        SGDLinearRegressor(random_state=0), rule=tenth_of_lowest_raw_loss, cv=2, random_state=0
    ).fit(X, y)
    assert search.best_estimator_.learning_rate == search.best_lr_
    assert search.best_lr_ == search.suggestions_["tenth_of_lowest_raw_loss"]


def test_smoothed_rules_on_raw_losses_read_the_curve_the_ramp_smoothed():
    """On a ramp stopped by the moving average's divergence test, each smoothed rule given the
    raw losses picks what the fastai references and the lag reference pick on the smoothed
    curve computed here by a plain loop, from point ``n // 10`` to the stop (excluded)."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    from sklearn_lrf import SGDLinearRegressor, lr_range_test

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    beta = 0.9
    result = lr_range_test(
        SGDLinearRegressor(), X, y, smoothing=beta, rule="minimum", random_state=0
    )
    assert "the smoothed loss exceeded" in result.stop_reason
    lrs, losses, stop = result.learning_rates, result.losses, result.diverged_at
    average, smoothed = 0.0, []
    for k, loss in enumerate(losses[:stop], start=1):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta**k))
    start = len(lrs) // 10
    rates, smoothed = lrs[start:stop], np.array(smoothed[start:])
    assert len(rates) > 20
    expected = {
        "minimum": fastai_minimum(rates, smoothed)[0],
        "steepest": fastai_steep(rates, smoothed)[0],
        "valley": fastai_valley(rates, smoothed)[0],
        "slide": fastai_slide(rates, smoothed)[0],
    }
    (lag_index,) = expected_lag_indices(smoothed, beta, start)
    expected["lag_corrected"] = min(3.0 * rates[lag_index], rates[np.argmin(smoothed)] / 3.0)
    assert set(expected) == set(SMOOTHED_RULES)
    for name, rate in expected.items():
        assert RULES[name](lrs, losses, smoothing=beta) == rate, name
        assert same(result.suggestions[name], at_or_above(rate, lrs[0])), name
