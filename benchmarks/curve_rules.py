"""Candidate rules that read a range-test curve without lag, for the finder benchmark.

They take the ramp's rates (an exponential ramp: evenly spaced in ``log10(lr)``) and the *raw*
losses, and smooth after the ramp with a centred Gaussian in ``log10(lr)`` (scipy.ndimage), so
the smoothed curve's minimum does not drift with the ramp's length. The log of the loss is
smoothed, so one huge loss near divergence moves the curve by its logarithm, not its size.
"""

import numpy as np
from scipy.ndimage import gaussian_filter1d


def centred_curve(lrs, losses, sigma_decades=0.25):
    """Rates and centred-smoothed log10 losses over the finite prefix of the curve."""
    losses = np.asarray(losses, dtype=float)
    finite = np.isfinite(losses) & (losses > 0)
    end = len(losses) if finite.all() else int(np.argmin(finite))
    lrs, log_losses = np.asarray(lrs[:end], dtype=float), np.log10(losses[:end])
    if end < 3:
        return lrs, log_losses
    per_decade = (end - 1) / (np.log10(lrs[-1]) - np.log10(lrs[0]))
    return lrs, gaussian_filter1d(log_losses, sigma_decades * per_decade, mode="nearest")


def smoothed_minimum(lrs, losses, sigma_decades=0.25, factor=1.0):
    """``factor`` times the rate at the minimum of the centred-smoothed curve."""
    lrs, curve = centred_curve(lrs, losses, sigma_decades)
    if len(curve) < 3:
        return np.nan
    return float(lrs[np.argmin(curve)] * factor)


def plateau_start(lrs, losses, sigma_decades=0.25, fraction=0.05, factor=1.0):
    """``factor`` times the first rate where the smoothed loss is within ``fraction`` of the
    way from its minimum back to its start (in log10 loss): where the loss stops improving."""
    lrs, curve = centred_curve(lrs, losses, sigma_decades)
    if len(curve) < 3:
        return np.nan
    best = int(np.argmin(curve))
    threshold = curve[best] + fraction * (curve[0] - curve[best])
    first = int(np.argmax(curve[: best + 1] <= threshold))
    return float(lrs[first] * factor)
