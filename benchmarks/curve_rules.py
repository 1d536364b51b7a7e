"""Candidate rules that read a range-test curve without lag, for the finder benchmark.

They take the ramp's rates (an exponential ramp: evenly spaced in ``log10(lr)``) and the *raw*
losses, and smooth after the ramp with a centred Gaussian in ``log10(lr)`` (scipy.ndimage), so
the smoothed curve's minimum does not drift with the ramp's length. The log of the loss is
smoothed, after a running median (also centred) that removes isolated spikes: the raw curve
of a mini-batch ramp spikes near divergence, and a Gaussian alone would spread a spike over the
points before it.
"""

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter

from sklearn_lrf.rules import median_window


def centred_curve(lrs, losses, sigma_decades=0.25, median_decades=0.0):
    """Rates and centred-smoothed log10 losses over the finite prefix of the curve: a running
    median over ``median_decades`` (none if 0), then a Gaussian of ``sigma_decades``."""
    losses = np.asarray(losses, dtype=float)
    finite = np.isfinite(losses) & (losses > 0)
    end = len(losses) if finite.all() else int(np.argmin(finite))
    lrs, log_losses = np.asarray(lrs[:end], dtype=float), np.log10(losses[:end])
    if end < 3:
        return lrs, log_losses
    per_decade = (end - 1) / (np.log10(lrs[-1]) - np.log10(lrs[0]))
    size = median_window(lrs, median_decades) if median_decades > 0 else 1
    if size > 1:
        log_losses = median_filter(log_losses, size=size, mode="nearest")
    if sigma_decades > 0:
        log_losses = gaussian_filter1d(log_losses, sigma_decades * per_decade, mode="nearest")
    return lrs, log_losses


def smoothed_minimum(lrs, losses, sigma_decades=0.25, median_decades=0.0, factor=1.0):
    """``factor`` times the rate at the minimum of the centred-smoothed curve."""
    lrs, curve = centred_curve(lrs, losses, sigma_decades, median_decades)
    if len(curve) < 3:
        return np.nan
    return float(lrs[np.argmin(curve)] * factor)


def plateau_start(lrs, losses, sigma_decades=0.25, median_decades=0.0, fraction=0.05, factor=1.0):
    """``factor`` times the first rate where the smoothed loss is within ``fraction`` of the
    way from its minimum back to its start (in log10 loss): where the loss stops improving."""
    lrs, curve = centred_curve(lrs, losses, sigma_decades, median_decades)
    if len(curve) < 3:
        return np.nan
    best = int(np.argmin(curve))
    threshold = curve[best] + fraction * (curve[0] - curve[best])
    first = int(np.argmax(curve[: best + 1] <= threshold))
    return float(lrs[first] * factor)
