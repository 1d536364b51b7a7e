"""LRFinderDisplay: the range-test curve, scikit-learn Display style."""

import warnings

import numpy as np

__all__ = ["LRFinderDisplay"]

_RULE_MARKERS = {"minimum": "v", "steepest": "s", "valley": "o", "slide": "D"}


class LRFinderDisplay:
    """Loss against learning rate from a range test, with each rule's suggestion marked.

    Build it with :meth:`from_estimator` (runs the test), :meth:`from_search` (a fitted
    ``LRFinderSearch``) or from a result, then call :meth:`plot`.

    Parameters
    ----------
    result : LRFinderResult
        The range test to draw.
    fold_results : list of LRFinderResult, default=None
        Per-fold curves, drawn as a band from their 25th to 75th percentile.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        ``"raw"``, ``"smoothed"`` and one entry per suggestion rule.
    """

    def __init__(self, result, fold_results=None):
        self.result = result
        self.fold_results = fold_results

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, ax=None, **range_test_params):
        """Run :func:`~sklearn_lrf.lr_range_test` and plot it.

        Returns
        -------
        display : LRFinderDisplay
        """
        from .finder import lr_range_test

        return cls(lr_range_test(estimator, X, y, **range_test_params)).plot(ax=ax)

    @classmethod
    def from_search(cls, search, *, ax=None):
        """Plot the curve(s) of a fitted :class:`~sklearn_lrf.LRFinderSearch`.

        Returns
        -------
        display : LRFinderDisplay
        """
        return cls(search.range_test_, fold_results=search.fold_range_tests_).plot(ax=ax)

    def plot(self, ax=None, *, show_raw=True, show_suggestions=True):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_raw : bool, default=True
            Draw the raw losses behind the smoothed curve.
        show_suggestions : bool, default=True
            Mark every rule's suggestion on the smoothed curve.

        Returns
        -------
        self : LRFinderDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        result = self.result
        rates, smoothed = result.learning_rates, result.smoothed_losses
        self.lines_ = {}
        if self.fold_results:
            self._plot_band(ax)
        if show_raw:
            (self.lines_["raw"],) = ax.plot(
                rates, result.losses, color="0.7", linewidth=0.8, label="loss"
            )
        (self.lines_["smoothed"],) = ax.plot(
            rates, smoothed, color="C0", linewidth=2, label="smoothed loss"
        )
        if result.diverged_at is not None:
            ax.axvline(
                rates[result.diverged_at],
                color="C3",
                linestyle=":",
                linewidth=1,
                label=f"diverged ({rates[result.diverged_at]:.2g})",
            )
        if show_suggestions:
            for i, (name, rate) in enumerate(result.suggestions.items()):
                if not np.isfinite(rate):
                    continue
                chosen = name == result.rule
                (self.lines_[name],) = ax.plot(
                    [rate],
                    [np.interp(np.log(rate), np.log(rates), smoothed)],
                    marker=_RULE_MARKERS.get(name, "*"),
                    linestyle="none",
                    markersize=12 if chosen else 7,
                    color=f"C{i + 1}",
                    markeredgecolor="k" if chosen else "none",
                    label=f"{name}: {rate:.2g}" + (" (chosen)" if chosen else ""),
                )
                if chosen:
                    self.lines_["chosen"] = ax.axvline(
                        rate, color="k", linestyle="--", linewidth=0.8, zorder=1.5
                    )
        self._set_ylim(ax, show_raw)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(result.loss_name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _set_ylim(self, ax, show_raw):
        """Fit the curve before divergence; raw losses by their 2nd to 98th percentiles."""
        stop = self.result.diverged_at or None
        smoothed = self.result.smoothed_losses[:stop]
        smoothed = smoothed[np.isfinite(smoothed)]
        if not smoothed.size:
            return
        low, high = smoothed.min(), smoothed.max()
        raw = self.result.losses[:stop]
        raw = raw[np.isfinite(raw)]
        if show_raw and raw.size:
            low, high = min(low, np.percentile(raw, 2)), max(high, np.percentile(raw, 98))
        pad = 0.05 * (high - low or abs(high) or 1.0)
        ax.set_ylim(low - pad, high + pad)

    def _plot_band(self, ax):
        grid = self.result.learning_rates
        curves = np.array(
            [
                np.interp(
                    np.log(grid), np.log(fold.learning_rates), fold.smoothed_losses, right=np.nan
                )
                for fold in self.fold_results
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # columns past every divergence
            low, high = np.nanpercentile(curves, [25, 75], axis=0)
        self.band_ = ax.fill_between(
            grid,
            low,
            high,
            color="C0",
            alpha=0.15,
            linewidth=0,
            label=f"{len(self.fold_results)} folds (25-75%)",
        )
