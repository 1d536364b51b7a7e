"""LRFinderDisplay: the range-test curve, scikit-learn Display style."""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._adapters import final_step
from .finder import lr_range_test
from .search import LRFinderSearch

__all__ = ["LRFinderDisplay"]

# Marker of each rule's suggestion; the colour is the curve's, so overlaid curves stay apart.
_RULE_MARKERS = {
    "divergence_onset": "*",
    "lag_corrected": "P",
    "minimum": "v",
    "steepest": "s",
    "valley": "o",
    "slide": "D",
}


def _final_name(estimator):
    """Class name of ``estimator``, or of its last step if it is a Pipeline."""
    final = final_step(estimator)
    return type(final).__name__


class LRFinderDisplay:
    """Loss against learning rate from a range test, with each rule's suggestion marked.

    Build it with :meth:`from_estimator` (runs a range test), :meth:`from_search` (the curve of
    a fitted :class:`~sklearn_lrf.LRFinderSearch`) or from a result
    (``LRFinderDisplay(result).plot()``, or ``result.plot()``). Displays plotted on one axes
    overlay: each curve takes the next colour of the axes' colour cycle (its raw loss, markers,
    divergence line and fold band take the same colour) and its legend entries start with its
    ``name``.

    Parameters
    ----------
    result : LRFinderResult
        The range test to draw.
    fold_results : list of LRFinderResult, default=None
        Per-fold curves, drawn as a band from their 25th to 75th percentile.
    name : str, default=None
        Name of the curve in the legend: ``"name: smoothed loss"``, ``"name: raw loss"`` and
        ``"name: 5 folds (25-75%)"``; None leaves the name out. Markers and vertical lines are
        labelled by what they show (``"valley: 0.0023"``) in the curve's colour.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The smoothed loss curve, styled by the ``**kwargs`` of :meth:`plot`.
    lines_ : dict of str to matplotlib Line2D
        ``"smoothed"`` (``line_``), ``"raw"`` if drawn, one entry per drawn suggestion rule and
        ``"chosen"``, the vertical line at ``result.best_lr``.
    band_ : matplotlib PolyCollection or None
        The fold band; None without ``fold_results``.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lrf import LRFinderDisplay, SGDLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> batch_32 = LRFinderDisplay.from_estimator(
    ...     SGDLinearRegressor(), X, y, name="batch 32", random_state=0
    ... )
    >>> batch_8 = LRFinderDisplay.from_estimator(
    ...     SGDLinearRegressor(batch_size=8), X, y, name="batch 8", ax=batch_32.ax_,
    ...     show_raw=False, linestyle="--", random_state=0
    ... )
    >>> batch_8.line_.get_label()
    'batch 8: smoothed loss'
    """

    def __init__(self, result, *, fold_results=None, name=None):
        self.result = result
        self.fold_results = fold_results
        self.name = name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        name=None,
        ax=None,
        show_raw=True,
        show_suggestions=True,
        sample_weight=None,
        min_lr=None,
        max_lr=None,
        n_steps=None,
        extend_decades=3.0,
        ramp="exponential",
        step_unit="batch",
        restart_steps=None,
        smoothing=0.98,
        diverge_threshold=4.0,
        validation=None,
        rule="default",
        lr_param=None,
        batch_size=None,
        classes=None,
        random_state=None,
        **kwargs,
    ):
        """Run :func:`~sklearn_lrf.lr_range_test` on ``estimator`` and plot the curve.

        Parameters
        ----------
        estimator : estimator or Pipeline
            Any estimator :func:`~sklearn_lrf.lr_range_test` supports (it is cloned, never
            modified). For a fitted :class:`~sklearn_lrf.LRFinderSearch` use
            :meth:`from_search`.
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or iterable
            Training data, or an iterable of ``(X_batch, y_batch[, sample_weight_batch])``
            mini-batches.
        y : array-like of shape (n_samples,), default=None
            Targets; None when ``X`` yields mini-batches.
        name : str, default=None
            Name of the curve in the legend. None uses the estimator's class name (its last
            step's, for a Pipeline).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_raw : bool, default=True
            Draw the raw losses behind the smoothed curve.
        show_suggestions : bool, default=True
            Mark every rule's suggestion on the smoothed curve.
        sample_weight, min_lr, max_lr, n_steps, extend_decades, ramp, step_unit, \
restart_steps, smoothing, diverge_threshold, validation, rule, lr_param, batch_size, classes, \
random_state
            Passed to :func:`~sklearn_lrf.lr_range_test`, with the same defaults (``rule``: a
            name or a callable ``rule(learning_rates, losses) -> float`` of the raw losses).
        **kwargs : dict
            Keyword arguments of matplotlib's ``plot`` for the smoothed curve (``line_``),
            e.g. ``color`` or ``linestyle``.

        Returns
        -------
        display : LRFinderDisplay
        """
        if isinstance(estimator, LRFinderSearch):
            raise TypeError(
                "from_estimator runs a new range test, so it takes the estimator to test, not "
                "an LRFinderSearch. To plot what a fitted search measured, use "
                "LRFinderDisplay.from_search(search); to run a new test of the searched "
                "estimator, pass search.estimator."
            )
        result = lr_range_test(
            estimator,
            X,
            y,
            sample_weight=sample_weight,
            min_lr=min_lr,
            max_lr=max_lr,
            n_steps=n_steps,
            extend_decades=extend_decades,
            ramp=ramp,
            step_unit=step_unit,
            restart_steps=restart_steps,
            smoothing=smoothing,
            diverge_threshold=diverge_threshold,
            validation=validation,
            rule=rule,
            lr_param=lr_param,
            batch_size=batch_size,
            classes=classes,
            random_state=random_state,
        )
        name = _final_name(estimator) if name is None else name
        return cls(result, name=name).plot(
            ax=ax, show_raw=show_raw, show_suggestions=show_suggestions, **kwargs
        )

    @classmethod
    def from_search(
        cls, search, *, name=None, ax=None, show_raw=True, show_suggestions=True, **kwargs
    ):
        """Plot the curve of a fitted :class:`~sklearn_lrf.LRFinderSearch`, with its folds.

        Parameters
        ----------
        search : LRFinderSearch
            A fitted search. Its ``range_test_`` is drawn, and with ``cv`` its
            ``fold_range_tests_`` as a band.
        name : str, default=None
            Name of the curve in the legend. None uses the searched estimator's class name
            (its last step's, for a Pipeline).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_raw : bool, default=True
            Draw the raw losses behind the smoothed curve.
        show_suggestions : bool, default=True
            Mark every rule's suggestion on the smoothed curve.
        **kwargs : dict
            Keyword arguments of matplotlib's ``plot`` for the smoothed curve (``line_``).

        Returns
        -------
        display : LRFinderDisplay

        Raises
        ------
        TypeError
            If ``search`` is not an ``LRFinderSearch``.
        sklearn.exceptions.NotFittedError
            If ``search`` is not fitted.
        """
        if not isinstance(search, LRFinderSearch):
            raise TypeError(
                f"from_search takes a fitted LRFinderSearch, got {type(search).__name__}. To "
                "run a range test on an estimator, use LRFinderDisplay.from_estimator("
                "estimator, X, y)."
            )
        check_is_fitted(search, "range_test_")
        name = _final_name(search.estimator) if name is None else name
        display = cls(search.range_test_, fold_results=search.fold_range_tests_, name=name)
        return display.plot(ax=ax, show_raw=show_raw, show_suggestions=show_suggestions, **kwargs)

    def plot(self, ax=None, *, name=None, show_raw=True, show_suggestions=True, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. On axes that already hold a curve the new
            one is overlaid in the next colour of the colour cycle, and the y-limits grow to
            show both.
        name : str, default=None
            Name of the curve in the legend; None uses the display's ``name``.
        show_raw : bool, default=True
            Draw the raw losses behind the smoothed curve.
        show_suggestions : bool, default=True
            Mark every rule's suggestion on the smoothed curve.
        **kwargs : dict
            Keyword arguments of matplotlib's ``plot`` for the smoothed curve (``line_``),
            e.g. ``color``, ``linestyle``, ``linewidth`` or ``label``. The raw losses, the
            markers, the divergence line and the fold band take the curve's colour.

        Returns
        -------
        self : LRFinderDisplay
        """
        import matplotlib.pyplot as plt
        from matplotlib.cbook import normalize_kwargs
        from matplotlib.lines import Line2D

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        name = self.name if name is None else name
        prefix = f"{name}: " if name else ""
        had_data, previous_ylim = ax.has_data(), ax.get_ylim()
        result = self.result
        rates, smoothed = result.learning_rates, result.smoothed_losses

        line_kwargs = {"linewidth": 2, "label": f"{prefix}smoothed loss"}
        line_kwargs.update(normalize_kwargs(kwargs, Line2D))
        (self.line_,) = ax.plot(rates, smoothed, **line_kwargs)
        color = self.line_.get_color()
        self.lines_ = {"smoothed": self.line_}
        self.band_ = self._plot_band(ax, color, prefix) if self.fold_results else None
        if show_raw:
            (self.lines_["raw"],) = ax.plot(
                rates,
                result.losses,
                color=color,
                alpha=0.4,
                linewidth=0.8,
                zorder=self.line_.get_zorder() - 0.1,
                label=f"{prefix}raw loss",
            )
        if result.diverged_at is not None:
            stop = rates[result.diverged_at]
            ax.axvline(
                stop, color=color, linestyle=":", linewidth=1, label=f"diverged ({stop:.2g})"
            )
        if show_suggestions:
            self._plot_suggestions(ax, color)
        self._set_ylim(ax, show_raw, previous_ylim if had_data else None)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(result.loss_name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_suggestions(self, ax, color):
        """One marker per rule on the smoothed curve; the chosen one large, with a line."""
        result = self.result
        log_rates = np.log(result.learning_rates)
        for name, rate in result.suggestions.items():
            if not np.isfinite(rate):
                continue
            chosen = name == result.rule
            (self.lines_[name],) = ax.plot(
                [rate],
                [np.interp(np.log(rate), log_rates, result.smoothed_losses)],
                marker=_RULE_MARKERS.get(name, "X"),
                linestyle="none",
                markersize=13 if chosen else 8,
                color=color,
                markeredgecolor="k" if chosen else "w",
                markeredgewidth=1.2 if chosen else 0.8,
                label=f"{name}: {rate:.2g}" + (" (chosen)" if chosen else ""),
            )
            if chosen:
                self.lines_["chosen"] = ax.axvline(
                    rate, color=color, linestyle="--", linewidth=0.8, zorder=1.5
                )

    def _set_ylim(self, ax, show_raw, previous_ylim):
        """Fit the smoothed curve before divergence, and the raw losses up to the smoothed
        curve's minimum by their 2nd to 98th percentiles (the raw spikes of the blow-up past it
        would flatten the curve), widened to ``previous_ylim`` so an overlay keeps the curves
        already drawn in view."""
        stop = self.result.diverged_at or None
        smoothed = self.result.smoothed_losses[:stop]
        finite = np.isfinite(smoothed)
        if not finite.any():
            return
        low, high = smoothed[finite].min(), smoothed[finite].max()
        turn = int(np.argmin(np.where(finite, smoothed, np.inf)))
        raw = self.result.losses[: turn + 1]
        raw = raw[np.isfinite(raw)]
        if show_raw and raw.size:
            low, high = min(low, np.percentile(raw, 2)), max(high, np.percentile(raw, 98))
        pad = 0.05 * (high - low or abs(high) or 1.0)
        low, high = low - pad, high + pad
        if previous_ylim is not None:
            low, high = min(low, previous_ylim[0]), max(high, previous_ylim[1])
        ax.set_ylim(low, high)

    def _plot_band(self, ax, color, prefix):
        """The folds' smoothed curves, from their 25th to 75th percentile."""
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
        return ax.fill_between(
            grid,
            low,
            high,
            color=color,
            alpha=0.15,
            linewidth=0,
            label=f"{prefix}{len(self.fold_results)} folds (25-75%)",
        )
