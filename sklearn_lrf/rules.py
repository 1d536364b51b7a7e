"""Suggestion rules: learning rates read off a range-test curve, and :func:`suggest`.

Every rule is called as ``rule(learning_rates, losses) -> float`` with the raw losses of the
whole recorded curve (``LRFinderResult.losses``; the last may be inf or NaN where the ramp
blew up). Pass a rule of your own, or a built-in whose keyword parameters (defaults after
those two) are set with ``functools.partial``, as ``rule=`` to ``lr_range_test``,
``LRFinderSearch`` or ``LRFinderDisplay``. :func:`divergence_onset`, the default, reads the
raw losses; the fastai
rules (after ``fastai/callback/schedule.py``, fastai 2.7) and ``lag_corrected`` read the
bias-corrected moving average of :func:`smoothed_curve`. ``benchmarks/README.md`` compares
them all.
"""

import inspect
from functools import partial

import numpy as np
from scipy.ndimage import median_filter

__all__ = [
    "RULES",
    "divergence_onset",
    "lag_corrected",
    "minimum",
    "slide",
    "smoothed_curve",
    "steepest",
    "suggest",
    "valley",
]


class MovingAverage:
    """The range test's bias-corrected moving average of the losses and its divergence test.

    ``add(loss)`` returns the smoothed loss ``a_k / (1 - beta ** k)``, with
    ``a_k = beta a_{k-1} + (1 - beta) loss_k`` (NaN for a non-finite loss), and whether the
    ramp diverged there: at a non-finite loss, or, after ``warmup`` points, once the smoothed
    loss exceeds ``diverge_threshold`` times its best since the warm-up.
    """

    def __init__(self, smoothing, diverge_threshold, warmup):
        self.beta, self.threshold, self.warmup = smoothing, diverge_threshold, warmup
        self.average, self.best, self.count = 0.0, np.inf, 0

    def add(self, loss):
        """The smoothed loss at ``loss`` and whether the ramp diverged there."""
        self.count += 1
        if not np.isfinite(loss):
            return np.nan, True
        self.average = self.beta * self.average + (1.0 - self.beta) * loss
        smoothed = self.average / (1.0 - self.beta**self.count)
        if self.count <= self.warmup:
            return smoothed, False
        self.best = min(self.best, smoothed)
        return smoothed, bool(smoothed > self.threshold * self.best)


def usable_start(n_points):
    """First point the smoothed rules read: the first tenth is the moving average's warm-up
    (fastai skips ``num_it // 10`` points too)."""
    return n_points // 10


def smoothed_curve(learning_rates, losses, smoothing=0.98, diverge_threshold=4.0):
    """Rates and smoothed losses of the usable part of a curve, as the range test smooths it.

    The bias-corrected moving average of :class:`MovingAverage` (warm-up: a tenth of the
    curve, at least 2 points), from :func:`usable_start` to the point where its divergence
    test would stop the ramp (excluded), or to the end.

    Parameters
    ----------
    learning_rates, losses : array-like of shape (n_points,)
        The recorded curve, raw losses.
    smoothing : float in [0, 1), default=0.98
        ``beta`` of the moving average.
    diverge_threshold : float > 1, default=4.0
        Multiple of its best at which the smoothed loss ends the curve.

    Returns
    -------
    rates, smoothed : ndarray
    """
    n_points = len(losses)
    average = MovingAverage(smoothing, diverge_threshold, max(2, n_points // 10))
    smoothed = []
    for loss in losses:
        value, diverged = average.add(loss)
        if diverged:
            break
        smoothed.append(value)
    usable = slice(usable_start(n_points), len(smoothed))
    return np.asarray(learning_rates[usable], dtype=float), np.asarray(smoothed[usable])


def minimum(learning_rates, losses, smoothing=0.98, diverge_threshold=4.0):
    """One tenth of the rate at the lowest smoothed loss (fastai ``minimum``, Smith 2015).

    On the :func:`smoothed_curve` ``(r, s)``: ``r[argmin s] / 10``; the loss is still falling
    there, an order of magnitude below where training stops improving.

    {curve}
    """
    rates, smoothed = smoothed_curve(learning_rates, losses, smoothing, diverge_threshold)
    return float(rates[np.argmin(smoothed)] / 10.0) if len(rates) >= 3 else np.nan


def steepest(learning_rates, losses, smoothing=0.98, diverge_threshold=4.0):
    """The rate where the smoothed loss falls fastest against ``log(lr)`` (fastai ``steep``).

    On the :func:`smoothed_curve` ``(r, s)``, with
    ``g_i = (s_{{i+1}} - s_i) / (log r_{{i+1}} - log r_i)``: ``r[argmin g]``.

    {curve}
    """
    rates, smoothed = smoothed_curve(learning_rates, losses, smoothing, diverge_threshold)
    if len(rates) < 3:
        return np.nan
    slopes = np.diff(smoothed) / np.diff(np.log(rates))
    return float(rates[np.argmin(slopes)])


def valley(learning_rates, losses, smoothing=0.98, diverge_threshold=4.0):
    """Halfway down the longest valley (fastai ``valley``, by Zachary Mueller).

    The valley is the longest strictly decreasing subsequence of the :func:`smoothed_curve`,
    ending at index ``end`` and starting ``length`` points before it; the rule returns the
    rate at ``start + int(length / 3) + int(length / 6)``.

    {curve}
    """
    rates, smoothed = smoothed_curve(learning_rates, losses, smoothing, diverge_threshold)
    n = len(smoothed)
    if n < 3:
        return np.nan
    lengths = np.ones(n, dtype=int)
    start, end = 0, 0
    for i in range(1, n):
        earlier = smoothed[:i] > smoothed[i]
        if earlier.any():
            lengths[i] = lengths[:i][earlier].max() + 1
        if lengths[i] > lengths[end]:
            end, start = i, i - lengths[i]
    section = (end - start) / 3
    return float(rates[start + int(section) + int(section / 2)])


def slide(
    learning_rates,
    losses,
    lr_diff=15,
    thresh=0.005,
    adjust_value=1.0,
    smoothing=0.98,
    diverge_threshold=4.0,
):
    """The interval-slide rule (fastai ``slide``, by Andrew Chang).

    Slides a window of ``lr_diff`` points from the end of the :func:`smoothed_curve` towards
    its start while the loss gradients (``np.gradient``) at its two ends differ by more than
    ``thresh``; returns the rate at the window's left end when it stops, times
    ``adjust_value``.

    {curve}
    """
    rates, smoothed = smoothed_curve(learning_rates, losses, smoothing, diverge_threshold)
    if len(rates) < 3:
        return np.nan
    gradient = np.gradient(smoothed)
    right, left = -1, -1 - lr_diff
    suggestion = rates[max(left, -len(rates))]
    while left >= -len(rates) and abs(gradient[right] - gradient[left]) > thresh:
        suggestion = rates[left]
        right, left = right - 1, left - 1
    return float(suggestion * adjust_value)


def lag_corrected(learning_rates, losses, smoothing=0.98, diverge_threshold=4.0):
    """Step back from the smoothed minimum by the average's mean age, then triple the rate.

    The bias-corrected moving average at point ``m`` of the ramp weighs the raw loss of point
    ``j <= m`` by ``beta ** (m - j)``; the mean age of what it averages is
    ``A = sum_j (m - j) beta ** (m - j) / sum_j beta ** (m - j)`` points (about 34 at the end
    of a 100-point ramp with ``beta = smoothing = 0.98``, 49 in the limit). With ``i`` the
    index of the minimum of the :func:`smoothed_curve` ``(r, s)`` (point
    ``m = usable_start + i``), the rule returns ``min(3 r[i - round(A)], r[i] / 3)``.

    Stepping back by ``A`` lands where the rates the average still remembers began, on the
    falling part of the curve: well below the raw loss's minimum (35 to 75 times below it in the
    study's examples), so the pick is safe whatever the curve's noise. The factor 3
    (half a decade) then moves up the good range: a fit from scratch at a constant rate tolerates
    more than a ramp point, which inherits the progress of all smaller rates. The benchmark chose
    3 over 1 and 1/3. The cap ``r[i] / 3`` keeps the rule below the minimum when the average
    barely lags (little smoothing, or restart mode's short curves).

    {curve}
    """
    rates, smoothed = smoothed_curve(learning_rates, losses, smoothing, diverge_threshold)
    if len(rates) < 3:
        return np.nan
    i = int(np.argmin(smoothed))
    age = np.arange(usable_start(len(losses)) + i + 1, dtype=float)
    weights = smoothing**age
    mean_age = np.sum(age * weights) / np.sum(weights)
    return float(min(3.0 * rates[max(0, round(i - mean_age))], rates[i] / 3.0))


def divergence_onset(learning_rates, losses, median_decades=0.2, threshold=4.0, factor=0.047):
    """``factor`` times the rate where the ramp starts to blow up, read without lag.

    It reads the raw losses of an exponential ramp that goes on until the loss blows up. Over
    the finite, positive prefix of the curve, the losses pass through a centred running median
    (of their log10) about ``median_decades`` wide (5 points at 15 per decade; it removes
    isolated spikes and does not lag); the onset is the first rate where that median exceeds
    ``threshold`` times its running minimum (the last rate if it never does: the ramp then did
    not contain its turn). Returns ``factor * onset``.

    ``benchmarks/bench_finder.py`` fitted ``factor = 10 ** -1.33`` (the median over 24 problems
    of log10(grid-best rate / onset); the spread is 0.93 decade) and evaluated it leaving each
    problem out: median regret 1.066.

    Parameters
    ----------
    learning_rates, losses : array-like of shape (n_points,)
        The recorded curve: increasing rates of an exponential ramp and their raw losses (the
        last may be inf or NaN where the ramp blew up).
    median_decades : float, default=0.2
        Width of the running median, in decades of rate.
    threshold : float, default=4.0
        How many times its running minimum the median must exceed.
    factor : float, default=0.047
        The pick as a multiple of the onset.

    Returns
    -------
    float
        The suggested rate; NaN with fewer than 3 usable points.
    """
    losses = np.asarray(losses, dtype=float)
    usable = np.isfinite(losses) & (losses > 0)
    end = len(losses) if usable.all() else int(np.argmin(usable))
    if end < 3:
        return np.nan
    learning_rates = np.asarray(learning_rates[:end], dtype=float)
    onset = onset_index(losses[:end], median_window(learning_rates, median_decades), threshold)
    return float(learning_rates[end - 1 if onset is None else onset] * factor)


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


_SMOOTHED_RULE_PARAMETERS = """Parameters
    ----------
    learning_rates, losses : array-like of shape (n_points,)
        The recorded curve: increasing rates and their raw losses (the last may be inf or NaN
        where the ramp blew up).
    smoothing, diverge_threshold : float, default=0.98 and 4.0
        Of the :func:`smoothed_curve` the rule reads (the range test passes its own).

    Returns
    -------
    float
        The suggested rate; NaN with fewer than 3 usable points."""

for _rule in (minimum, steepest, valley, slide, lag_corrected):
    _rule.__doc__ = _rule.__doc__.format(curve=_SMOOTHED_RULE_PARAMETERS)

RULES = {
    "divergence_onset": divergence_onset,
    "minimum": minimum,
    "steepest": steepest,
    "valley": valley,
    "slide": slide,
    "lag_corrected": lag_corrected,
}


def rule_name(rule):
    """A rule's name in the suggestions: a function's ``__name__``; a ``functools.partial``'s
    function with its arguments, e.g. ``"divergence_onset(factor=0.1)"``."""
    if isinstance(rule, partial):
        arguments = [repr(value) for value in rule.args]
        arguments += [f"{key}={value!r}" for key, value in rule.keywords.items()]
        return f"{rule_name(rule.func)}({', '.join(arguments)})"
    return getattr(rule, "__name__", type(rule).__name__)


def suggest(learning_rates, losses, rule=None, smoothing=0.98, diverge_threshold=4.0):
    """Every rule's suggestion on a recorded curve.

    Parameters
    ----------
    learning_rates, losses : ndarray of shape (n_points,)
        The curve: increasing rates and their raw losses.
    rule : callable, default=None
        A further rule ``rule(learning_rates, losses) -> float``, listed under its name: the
        function's ``__name__``, or for a ``functools.partial`` e.g.
        ``"divergence_onset(factor=0.1)"``.
    smoothing, diverge_threshold : float, default=0.98, 4.0
        The range test's settings, given to the rules of ``RULES`` that take them.

    Returns
    -------
    suggestions : dict of str to float
        Every rule's pick; NaN where the curve is too short to read, or where the pick is not
        finite or falls below the ramp's first rate (the curve shows nothing safe there).
    """
    settings = dict(smoothing=smoothing, diverge_threshold=diverge_threshold)
    rules = {}
    for name, builtin in RULES.items():
        takes = inspect.signature(builtin).parameters
        rules[name] = partial(builtin, **{k: v for k, v in settings.items() if k in takes})
    if rule is not None:
        rules[rule_name(rule)] = rule
    picks = {name: float(pick(learning_rates, losses)) for name, pick in rules.items()}
    return {
        name: rate if np.isfinite(rate) and rate >= learning_rates[0] else np.nan
        for name, rate in picks.items()
    }
