"""Suggestion rules: learning rates read off a range-test curve.

Each rule takes the ramp's learning rates (increasing) and the smoothed losses over the usable
part of the curve (see :func:`usable_range`) and returns one learning rate. The fastai rules
follow ``fastai/callback/schedule.py`` (fastai 2.7); ``lag_corrected`` is ours.
:func:`divergence_onset`, the default, reads the raw losses of the whole curve instead
(``RAW_RULES``); ``benchmarks/README.md`` compares them all.
"""

import numpy as np
from scipy.ndimage import median_filter


def usable_range(n_points, stop):
    """Slice of the curve that rules read: skip the first tenth, end before ``stop``.

    The first tenth is the warm-up of the smoothing (fastai skips ``num_it // 10`` points too);
    ``stop`` is the index where the ramp stopped for divergence (excluded), or ``n_points``.
    """
    start = n_points // 10
    return slice(start, max(stop, start + 2))


def minimum(lrs, losses):
    """One tenth of the rate at the lowest smoothed loss (fastai ``minimum``, Smith 2015).

    ``lr = lrs[argmin(losses)] / 10``: the loss is still falling there, an order of magnitude
    below where training stops improving.
    """
    return float(lrs[np.argmin(losses)] / 10.0)


def steepest(lrs, losses):
    """The rate where the smoothed loss falls fastest against ``log(lr)`` (fastai ``steep``).

    With ``g_i = (loss_{i+1} - loss_i) / (log lr_{i+1} - log lr_i)``, returns ``lrs[argmin g]``.
    """
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[np.argmin(slopes)])


def valley(lrs, losses):
    """Halfway down the longest valley (fastai ``valley``, by Zachary Mueller).

    The valley is the longest strictly decreasing subsequence of the losses, ending at index
    ``end`` and starting ``length`` points before it; the rule returns the rate at
    ``start + int(length / 3) + int(length / 6)``.
    """
    n = len(losses)
    lengths = np.ones(n, dtype=int)
    start, end = 0, 0
    for i in range(1, n):
        earlier = losses[:i] > losses[i]
        if earlier.any():
            lengths[i] = lengths[:i][earlier].max() + 1
        if lengths[i] > lengths[end]:
            end, start = i, i - lengths[i]
    section = (end - start) / 3
    return float(lrs[start + int(section) + int(section / 2)])


def slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    """The interval-slide rule (fastai ``slide``, by Andrew Chang).

    Slides a window of ``lr_diff`` points from the end of the curve towards the start while the
    loss gradients (``np.gradient``) at its two ends differ by more than ``thresh``; returns the
    rate at the window's left end when it stops, times ``adjust_value``.
    """
    gradient = np.gradient(losses)
    right, left = -1, -1 - lr_diff
    suggestion = lrs[max(left, -len(lrs))]
    while left >= -len(losses) and abs(gradient[right] - gradient[left]) > thresh:
        suggestion = lrs[left]
        right, left = right - 1, left - 1
    return float(suggestion * adjust_value)


def lag_corrected(lrs, losses, smoothing, offset):
    """Step back from the smoothed minimum by the average's mean age, then triple the rate.

    The bias-corrected moving average at point ``m`` (``offset + i`` from the ramp's start)
    weighs the raw loss of point ``j <= m`` by ``beta ** (m - j)``; the mean age of what it
    averages is ``A = sum_j (m - j) beta ** (m - j) / sum_j beta ** (m - j)`` points (about 34 at
    the end of a 100-point ramp with ``beta = 0.98``, 49 in the limit). With ``i`` the index of
    the smoothed minimum, the rule returns ``min(3 lrs[i - round(A)], lrs[i] / 3)``.

    Stepping back by ``A`` lands where the rates the average still remembers began, on the
    falling part of the curve: well below the raw loss's minimum (35 to 75 times below it in the
    study's examples), so the pick is safe whatever the curve's noise. The factor 3
    (half a decade) then moves up the good range: a fit from scratch at a constant rate tolerates
    more than a ramp point, which inherits the progress of all smaller rates. The benchmark chose
    3 over 1 and 1/3. The cap ``lrs[i] / 3`` keeps the rule below the minimum when the average
    barely lags (little smoothing, or restart mode's short curves).
    """
    i = int(np.argmin(losses))
    age = np.arange(offset + i + 1, dtype=float)
    weights = smoothing**age
    mean_age = np.sum(age * weights) / np.sum(weights)
    return float(min(3.0 * lrs[max(0, round(i - mean_age))], lrs[i] / 3.0))


def divergence_onset(lrs, losses, median_decades=0.2, threshold=4.0, factor=0.047):
    """``factor`` times the rate where the ramp starts to blow up, read without lag.

    Unlike the other rules, this one reads the *raw* losses of an exponential ramp that goes on
    until the loss blows up. Over the finite, positive prefix of the curve, the log10 losses
    pass through a centred running median about ``median_decades`` wide (5 points at 15 per
    decade; it removes isolated spikes and does not lag); the onset is the first rate where that
    curve exceeds ``threshold`` times its running minimum (the last rate if it never does: the
    ramp then did not contain its turn). Returns ``factor * onset``.

    ``benchmarks/bench_finder.py`` fitted ``factor = 10 ** -1.33`` (the median over 24 problems
    of log10(grid-best rate / onset); the spread is 0.93 decade) and evaluated it leaving each
    problem out: median regret 1.066. NaN with fewer than 3 usable points.
    """
    losses = np.asarray(losses, dtype=float)
    usable = np.isfinite(losses) & (losses > 0)
    end = len(losses) if usable.all() else int(np.argmin(usable))
    if end < 3:
        return np.nan
    lrs = np.asarray(lrs[:end], dtype=float)
    onset = onset_index(losses[:end], median_window(lrs, median_decades), threshold)
    return float(lrs[end - 1 if onset is None else onset] * factor)


def median_window(lrs, median_decades=0.2):
    """Odd number of points of an exponential ramp that spans about ``median_decades``
    (halves rounded up, so a float a hair below 15 points per decade still gives 5)."""
    per_decade = (len(lrs) - 1) / np.log10(lrs[-1] / lrs[0])
    return 2 * int(np.floor(median_decades * per_decade / 2 + 0.5 + 1e-6)) + 1


def onset_index(losses, window, threshold=4.0, confirmed=False):
    """Index of the first point where the centred running median (``window`` points) of the
    log10 of the positive ``losses`` exceeds ``threshold`` times its running minimum; None if
    none does.

    ``confirmed``: only when the last ``3 * window`` points whose whole window was recorded are
    all above too (a decade at 15 points per decade), so that a ramp stopping there has left
    the noise of small batches behind, and finds the same onset as the whole curve would
    (every point up to it is as the whole curve has it).
    """
    curve = median_filter(np.log10(losses), size=window, mode="nearest")
    if confirmed:
        curve = curve[: max(0, len(losses) - window // 2)]
    above = curve > np.minimum.accumulate(curve) + np.log10(threshold)
    if not above.any() or (confirmed and not above[-3 * window :].all()):
        return None
    return int(np.argmax(above))


RAW_RULES = {"divergence_onset": divergence_onset}

RULES = {
    "minimum": minimum,
    "steepest": steepest,
    "valley": valley,
    "slide": slide,
    "lag_corrected": lag_corrected,
}
