"""The learning-rate range test (Smith 2015; fastai's ``lr_find``) on any supported estimator.

The test trains a fresh copy of the estimator while the learning rate ramps from ``min_lr`` to
``max_lr`` and records, for each rate, the loss measured *after* the update(s) at that rate on
data those updates did not see: the next mini-batch (or a validation set). Estimators are
driven through the trainers of :mod:`sklearn_lrf._adapters`: ours through their own training
loop; scikit-learn's ``SGDRegressor``, ``SGDClassifier``, ``MLPRegressor`` and ``MLPClassifier``
(and anything else with ``partial_fit`` and a rate parameter, such as skorch's
``NeuralNetClassifier`` / ``NeuralNetRegressor``) through ``partial_fit`` with the rate
parameter set before each step. Data larger than memory arrives
as dask collections or an iterable of blocks, cut into mini-batches and computed one block at a
time; the core package never imports dask or torch.
"""

import sys
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.validation import check_X_y, column_or_1d, indexable

from ._adapters import Diverged, final_step, trainer_for
from ._compat import HasMethods, Interval, StrOptions, check_sample_weight, validate_params
from .rules import RULES, MovingAverage, median_window, onset_index, rule_name, suggest
from .schedules import ExponentialRamp, LinearRamp

__all__ = ["LRFinderResult", "lr_range_test", "DEFAULT_RULE"]

DEFAULT_RULE = "divergence_onset"
# Ends of the ramp, as multiples of 1 / L for our estimators (L: the smoothness bound behind
# learning_rate="auto"), and absolute otherwise; points per decade of the exponential ramp.
# benchmarks/bench_finder.py measured the default rule on ramps placed this way.
_NATIVE_RANGE = (1e-3, 1e3)
_FOREIGN_RANGE = (1e-6, 100.0)
_STEPS_PER_DECADE = 15
# scikit-learn's MLPs read batch_size="auto" as min(200, n_samples).
_MLP_AUTO_BATCH_SIZE = 200


@dataclass
class LRFinderResult:
    """What a range test measured.

    Attributes
    ----------
    learning_rates : ndarray of shape (n_points,)
        Rate of each recorded point, increasing.
    losses : ndarray of shape (n_points,)
        Loss measured after the update(s) at that rate on data they did not see (the next
        mini-batch, or the validation set), so the curve is not shifted by one step. The last
        may be inf or NaN, where the ramp blew up.
    smoothed_losses : ndarray of shape (n_points,)
        Bias-corrected exponential moving average of ``losses``.
    diverged_at : int or None
        Index of the point where the ramp stopped for divergence (``stop_reason`` says which
        test: the smoothed loss above ``diverge_threshold`` times its best, the default rule's
        confirmed onset, or a non-finite loss). None if it never did.
    suggestions : dict of str to float
        Every rule's suggested rate: NaN when the curve is too short to read, or when the
        rule's pick is not finite or below the ramp's first rate.
    rule : str
        The rule behind ``best_lr``.
    loss_name : str
        What the losses are, e.g. ``"log loss (next mini-batch)"``.
    n_updates : int
        Training updates the test made.
    seconds : float
        Wall time of the test.
    stop_reason : str
        Why the ramp ended.
    settings : dict
        The range test's settings (ramp ends and steps, unit, restart steps, smoothing,
        threshold, batch size), for the record.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    diverged_at: int | None
    suggestions: dict
    rule: str
    loss_name: str
    n_updates: int
    seconds: float
    stop_reason: str
    settings: dict = field(default_factory=dict, repr=False)

    @property
    def best_lr(self):
        """The rate suggested by ``rule``."""
        return self.suggestions[self.rule]

    def plot(self, ax=None, **kwargs):
        """Plot the curve with :class:`~sklearn_lrf.LRFinderDisplay`.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`LRFinderDisplay.plot <sklearn_lrf.LRFinderDisplay.plot>`:
            ``name``, ``show_raw``, ``show_suggestions``, and matplotlib line keywords (such
            as ``color``) for the curve.

        Returns
        -------
        display : LRFinderDisplay
        """
        from .plotting import LRFinderDisplay

        return LRFinderDisplay(result=self).plot(ax=ax, **kwargs)


class _Recorder:
    """Smooths the losses as they arrive and says when the ramp has diverged.

    The smoothed loss is compared with its best only after ``warmup`` points: the first
    bias-corrected averages rest on a handful of raw losses, and one heavy-tailed loss among
    them would otherwise read as a blow-up. A non-finite loss stops the ramp at once. With an
    ``onset_window``, the ramp also stops once the raw losses show the onset that
    ``divergence_onset`` reads (their centred running median over that many points above
    ``diverge_threshold`` times its running minimum), confirmed over three times that many
    points: the moving average, which lags by dozens of points, would notice a slow blow-up
    (of a saturating log loss, of an MLP) decades of rates later.
    """

    def __init__(self, smoothing, diverge_threshold, warmup, onset_window=None):
        self.average = MovingAverage(smoothing, diverge_threshold, warmup)
        self.threshold = diverge_threshold
        self.onset_window = onset_window
        self.rates, self.losses, self.smoothed = [], [], []
        self.diverged_at, self.why = None, None

    def add(self, rate, loss):
        """Record one point; return True when the ramp should stop."""
        self.rates.append(rate)
        self.losses.append(loss)
        smoothed, diverged = self.average.add(loss)
        self.smoothed.append(smoothed)
        if not np.isfinite(loss):
            self.diverged_at, self.why = len(self.losses) - 1, "the loss became non-finite"
            return True
        if self._onset_reached():
            return True
        if diverged:
            self.diverged_at = len(self.losses) - 1
            self.why = f"the smoothed loss exceeded {self.threshold:g} x its best"
        return diverged

    def _onset_reached(self):
        if self.onset_window is None:
            return False
        losses = np.asarray(self.losses)
        positive = len(losses) if (losses > 0).all() else int(np.argmin(losses > 0))
        onset = onset_index(losses[:positive], self.onset_window, self.threshold, confirmed=True)
        if onset is None:
            return False
        self.diverged_at = len(self.losses) - 1
        self.why = (
            f"the running median of the raw loss ({self.onset_window} points) exceeded "
            f"{self.threshold:g} x its running minimum at learning rate {self.rates[onset]:.3g}"
        )
        return True


# Constraints shared by lr_range_test and LRFinderSearch.
RANGE_TEST_CONSTRAINTS = {
    "min_lr": [Interval(Real, 0, None, closed="neither"), None],
    "max_lr": [Interval(Real, 0, None, closed="neither"), None],
    "n_steps": [Interval(Integral, 5, None, closed="left"), None],
    "extend_decades": [Interval(Real, 0, None, closed="left")],
    "ramp": [StrOptions({"exponential", "linear"})],
    "step_unit": [StrOptions({"batch", "epoch"})],
    "restart_steps": [Interval(Integral, 1, None, closed="left"), None],
    "smoothing": [Interval(Real, 0, 1, closed="left")],
    "diverge_threshold": [Interval(Real, 1, None, closed="neither")],
    "rule": [StrOptions(set(RULES) | {"default"}), callable],
    "lr_param": [str, None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
}


@validate_params(
    {
        **RANGE_TEST_CONSTRAINTS,
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix", object],
        "y": ["array-like", None],
        "sample_weight": ["array-like", None],
        "validation": [Interval(Real, 0, 1, closed="neither"), tuple, None],
        "classes": ["array-like", None],
    },
    prefer_skip_nested_validation=False,
)
def lr_range_test(
    estimator,
    X,
    y=None,
    *,
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
):
    """Run the learning-rate range test on a copy of ``estimator``.

    Parameters
    ----------
    estimator : estimator or Pipeline
        ``SGDLinearRegressor``, ``SGDLogisticClassifier``, or any estimator with ``partial_fit``
        and a learning-rate parameter (scikit-learn's ``SGDRegressor``, ``SGDClassifier`` with a
        probabilistic loss, ``MLPRegressor``, ``MLPClassifier`` with ``solver="sgd"`` or
        ``"adam"``; skorch's ``NeuralNetClassifier`` and ``NeuralNetRegressor``), possibly the
        last step of a ``Pipeline``, whose earlier steps are then fitted once on the ramp's
        training data. It is cloned, never modified. A skorch net makes one optimizer step per
        ramp step (one epoch on the mini-batch as a single batch, without its ``train_split``
        and callbacks, which would hold out data or change the rate), on inputs cast to its
        module's dtype (regression targets as a column).
    X : {array-like, sparse matrix} of shape (n_samples, n_features), dask collection, or \
iterable
        Training data; a dask array or DataFrame (with ``y`` and ``sample_weight`` as dask
        collections or arrays split like its row chunks); or an iterable of ``(X_block,
        y_block)`` or ``(X_block, y_block, sample_weight_block)`` blocks of any sizes, dask
        blocks included. Collections and iterables are streamed: one block is computed at a
        time, checked as ``partial_fit`` would check it (errors name the block), and cut into
        consecutive mini-batches of ``batch_size`` rows; they must hold ``n_steps + 1`` of them.
    y : array-like of shape (n_samples,) or (n_samples, 1), or dask collection, default=None
        Targets; None when ``X`` is an iterable of blocks.
    sample_weight : array-like of shape (n_samples,) or dask collection, default=None
        Weights of the samples. They shape the ramp as they shape ``fit``: multiplied by the
        estimator's ``class_weight`` (``"balanced"`` computed over the ramp's training data),
        applied to each update at the scale the estimator's ``fit`` applies them (ours rescale
        them to mean 1, over the data or per streamed mini-batch; scikit-learn's SGD and skorch
        use them as given, so weights of 10 act as a 10 times larger rate), and every recorded
        loss is the weighted mean ``sum_i w_i loss_i / sum_i w_i``.
    min_lr, max_lr : float > 0, default=None
        Ends of the ramp; ``min_lr < max_lr``. None places them from the data for our
        estimators, at ``1e-3 / L`` and ``1e3 / L``, where ``1 / L`` is the stable step that
        ``learning_rate="auto"`` computes from the smoothness of the ramp's training data;
        and at 1e-6 and 100 for other estimators and for streams of mini-batches (which
        cannot be looked at before the ramp). ``result.settings`` records the ends used.
    n_steps : int >= 5, default=None
        Rates tried up to ``max_lr``; None takes 15 per decade of the range (100 for a
        linear ramp).
    extend_decades : float >= 0, default=3.0
        If an exponential ramp reaches ``max_lr`` and the loss has not blown up, go on at the
        same ratio for up to this many more decades, until it does: a curve must contain its
        turn for the rules to read it. ``result.stop_reason`` says how far it went; a curve
        that still has no turn warns. 0 stops at ``max_lr``.
    ramp : {"exponential", "linear"}, default="exponential"
        Spacing of the rates: equal ratios (even on a log axis) or equal differences.
    step_unit : {"batch", "epoch"}, default="batch"
        Whether the rate advances per mini-batch or per epoch. Per epoch, a point's loss is the
        mean loss of the epoch's mini-batches, each measured before its update (as Keras
        reports an epoch), unless ``validation`` is given.
    restart_steps : int >= 1, default=None
        Restart mode: train every rate for ``restart_steps`` units from the same initial
        weights on the same data (the Keras "reload weights" variant), so each point shows the
        effect of its rate alone, not of the progress made at earlier rates. Costs
        ``n_steps * restart_steps`` units.
    smoothing : float in [0, 1), default=0.98
        ``beta`` of the bias-corrected exponential moving average
        ``s_i = (beta a_{i-1} + (1 - beta) loss_i) / (1 - beta ** (i + 1))``; 0 disables it.
    diverge_threshold : float > 1, default=4.0
        Stop once the smoothed loss exceeds this multiple of its best value; with the default
        rule on an exponential ramp, also once the raw losses' centred running median has
        stayed above this multiple of its running minimum for three median windows (past the
        onset the rule reads, so the pick is the one the longer curve would give).
    validation : float in (0, 1) or tuple (X_val, y_val[, sample_weight_val]), default=None
        Measure the loss on a held-out fraction of the data (with its share of
        ``sample_weight``), or on the given data, after each point instead of on the next
        mini-batch; ``class_weight`` weighs it too.
    rule : {"default", "divergence_onset", "lag_corrected", "minimum", "steepest", "valley", \
"slide"} or callable, default="default"
        Rule behind ``result.best_lr``; ``"default"`` is ``"divergence_onset"``. Every rule
        is a callable
        ``rule(learning_rates, losses) -> float`` of the raw losses of the whole recorded
        curve; pass your own, or a built-in configured with ``functools.partial`` (e.g.
        ``partial(divergence_onset, factor=0.1)``, from ``sklearn_lrf.rules``). A
        callable is listed in ``result.suggestions`` under its ``__name__`` (a partial's:
        ``"divergence_onset(factor=0.1)"``). Only the named ``"divergence_onset"`` stops
        the ramp at its onset; with any other rule (a configured ``divergence_onset``
        included) the ramp runs on until the moving average diverges, a few more updates, so
        the smoothed rules' entries in ``result.suggestions`` can differ from a default run.
    lr_param : str, default=None
        Name of the learning-rate parameter of a foreign estimator (``"eta0"`` or
        ``"learning_rate_init"`` are found automatically).
    batch_size : int, default=None
        Mini-batch size. By default the estimator's own ``batch_size`` (200 for an MLP's
        ``"auto"``, as scikit-learn reads it; a skorch net's ``iterator_train__batch_size`` if
        set), else 32, at most the number of samples; a given ``batch_size`` larger than the
        data is an error. Streamed blocks are cut into batches of this size (the last one of the
        stream may be smaller); ``result.settings["batch_size"]`` is the size used.
    classes : array-like, default=None
        All class labels; needed for classifiers when ``X`` is streamed.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the validation split and the copy of the estimator.

    Returns
    -------
    result : LRFinderResult
    """
    if min_lr is not None and max_lr is not None and min_lr >= max_lr:
        raise ValueError(
            f"min_lr must be smaller than max_lr, got min_lr={min_lr} and max_lr={max_lr}."
        )
    if restart_steps is not None and y is None:
        raise ValueError(
            "restart_steps replays the same mini-batches for every rate, so it needs arrays X "
            "and y, not an iterable of batches."
        )
    started = time.perf_counter()
    rng = check_random_state(random_state)
    seed = rng.randint(np.iinfo(np.int32).max)
    final = final_step(estimator)
    model = trainer_for(final, lr_param, seed)
    data = _Data.prepare(
        estimator,
        X,
        y,
        sample_weight,
        validation,
        classes,
        batch_size,
        step_unit,
        rng,
        model.unit_mean_weights,
    )
    model.start(data.classes)
    min_lr, max_lr, placed_by = _ramp_ends(model, data, min_lr, max_lr)
    if n_steps is None:
        decades = np.log10(max_lr / min_lr)
        n_steps = max(5, round(_STEPS_PER_DECADE * decades) + 1) if ramp == "exponential" else 100
    ramp_class = ExponentialRamp if ramp == "exponential" else LinearRamp
    rates = ramp_class(min_lr, max_lr, n_steps)(np.arange(n_steps))
    if ramp == "exponential" and extend_decades > 0:
        ratio = rates[1] / rates[0]
        extra = np.arange(1, int(np.ceil(extend_decades / np.log10(ratio))) + 1)
        rates = np.concatenate([rates, rates[-1] * ratio**extra])
    rule = DEFAULT_RULE if rule == "default" else rule
    # divergence_onset by name (not a configured copy, whose onset may differ) needs the ramp
    # only up to its onset (an exponential ramp's), once a running median can tell it from noise.
    window = median_window(rates) if rule == "divergence_onset" and ramp == "exponential" else 1
    onset_window = window if window >= 3 else None
    recorder = _Recorder(smoothing, diverge_threshold, max(2, n_steps // 10), onset_window)
    stop_reason = f"completed all {n_steps} steps"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            if restart_steps is None:
                losses = _train_units(model, rates, data, step_unit, seed)
                for rate, loss in zip(rates, losses, strict=False):
                    if recorder.add(rate, loss):
                        break
            else:
                for rate in rates:
                    model.start(data.classes)
                    units = _train_units(model, [rate] * restart_steps, data, step_unit, seed)
                    if recorder.add(rate, list(units)[-1]):
                        break
        except Diverged as error:
            recorder.add(error.rate, np.inf)
            stop_reason = (
                f"training failed at learning rate {error.rate:.3g} (ramp step "
                f"{len(recorder.rates)}): {error.cause}"
            )
    if recorder.diverged_at is not None and not stop_reason.startswith("training failed"):
        stop_reason = (
            f"diverged at learning rate {recorder.rates[recorder.diverged_at]:.3g}: {recorder.why}"
        )
    extended = len(recorder.rates) - n_steps
    if extended > 0:
        stop_reason += (
            f" (extended {extended} steps past max_lr={max_lr:.3g}: the loss had not blown up)"
        )
    learning_rates = np.asarray(recorder.rates)
    losses = np.asarray(recorder.losses)
    smoothed = np.asarray(recorder.smoothed)
    stop = len(learning_rates) if recorder.diverged_at is None else recorder.diverged_at
    suggestions = suggest(
        learning_rates,
        losses,
        rule if callable(rule) else None,
        smoothing=smoothing,
        diverge_threshold=diverge_threshold,
    )
    rule = rule_name(rule) if callable(rule) else rule
    if recorder.diverged_at is None and stop >= 3:
        reach = "max_lr" if extended <= 0 else f"{extend_decades:g} decades past max_lr"
        warnings.warn(
            f"The loss never blew up on the ramp (up to {learning_rates[-1]:.3g}, {reach}), so "
            "the curve has no turn and the rules read where it was cut, not the data. Raise "
            "max_lr or extend_decades, or check that the loss can grow (e.g. a log loss on "
            "separable classes).",
            UserWarning,
            stacklevel=3,  # past scikit-learn's validate_params wrapper, to the caller
        )
    elif stop >= 3 and not np.isfinite(suggestions[rule]):
        warnings.warn(
            f"The {rule} rule gave no rate in the range tested (it returned NaN, or a rate "
            f"below the ramp's first, {learning_rates[0]:.3g}), so there is no suggestion. "
            "Lower min_lr or scale the features; if the raw losses are very noisy (a batch of "
            "a few samples), measure them on held-out data with validation=0.1; if the rule "
            "is your own, check what it returns on result.learning_rates and result.losses.",
            UserWarning,
            stacklevel=3,  # past scikit-learn's validate_params wrapper, to the caller
        )
    if stop < 3:
        warnings.warn(
            f"The range test diverged after {stop + 1} of {n_steps} steps (at learning rate "
            f"{learning_rates[-1]:.3g}), too early to suggest a rate. Lower min_lr (for example "
            f"to {min_lr / 1e3:.1g}), scale the features (StandardScaler), or raise "
            "diverge_threshold.",
            UserWarning,
            stacklevel=3,  # past scikit-learn's validate_params wrapper, to the caller
        )
    return LRFinderResult(
        learning_rates=learning_rates,
        losses=losses,
        smoothed_losses=smoothed,
        diverged_at=recorder.diverged_at,
        suggestions=suggestions,
        rule=rule,
        loss_name=f"{model.loss_name} ({data.measured_on(step_unit)})",
        n_updates=model.n_updates,
        seconds=time.perf_counter() - started,
        stop_reason=stop_reason,
        settings=dict(
            min_lr=min_lr,
            max_lr=max_lr,
            ramp_ends=placed_by,
            n_steps=n_steps,
            extend_decades=extend_decades,
            ramp=ramp,
            step_unit=step_unit,
            restart_steps=restart_steps,
            smoothing=smoothing,
            diverge_threshold=diverge_threshold,
            batch_size=data.batch_size,
        ),
    )


def _ramp_ends(model, data, min_lr, max_lr):
    """``(min_lr, max_lr, how they were set)``: given, or placed from the data."""
    if min_lr is not None and max_lr is not None:
        return min_lr, max_lr, "given"
    base = model.stable_rate(data.X, data.y, data.weights, data.batch_size)
    if base is None:
        low, high = _FOREIGN_RANGE
        how = "fixed defaults"
    else:
        low, high = base * _NATIVE_RANGE[0], base * _NATIVE_RANGE[1]
        how = f"from the data: 1/L = {base:.3g}"
    if min_lr is None and max_lr is None:
        return low, high, how
    span = high / low  # keep the default span of decades around the end that was given
    if min_lr is None:
        return max_lr / span, max_lr, f"max_lr given, min_lr {how}"
    return min_lr, min_lr * span, f"min_lr given, max_lr {how}"


def _train_units(model, rates, data, step_unit, seed):
    """Train one unit (mini-batch or epoch) per rate; yield the loss measured after each."""
    if step_unit == "batch":
        batches = data.batches(seed)
        batch = next(batches)
        for rate in rates:
            model.step(*batch, rate)
            batch = _next_batch(batches)
            yield model.loss(*(data.validation or batch))
    else:
        epochs = data.epochs(seed)
        for rate in rates:
            before_update = [model.step(*batch, rate) for batch in next(epochs)]
            yield model.loss(*data.validation) if data.validation else np.nanmean(before_update)


def _next_batch(batches):
    try:
        return next(batches)
    except StopIteration:
        raise ValueError(
            "The streamed data ran out before the ramp ended; it must hold n_steps + 1 "
            "mini-batches of batch_size rows (lower n_steps or batch_size, or pass more data)."
        ) from None


@dataclass
class _Data:
    """The ramp's training data (arrays or a stream), after any Pipeline preprocessing."""

    estimator: object
    X: object
    y: object
    weights: np.ndarray | None
    stream: object
    validation: tuple | None
    classes: np.ndarray | None
    batch_size: int

    @classmethod
    def prepare(
        cls,
        estimator,
        X,
        y,
        sample_weight,
        validation,
        classes,
        batch_size,
        step_unit,
        rng,
        unit_mean_weights,
    ):
        """Check the data; ``unit_mean_weights``: rescale the weights to mean 1 (over the arrays,
        or per mini-batch of a stream), as the estimator's ``fit`` and ``partial_fit`` do."""
        final = final_step(estimator)
        class_weight = final.get_params().get("class_weight") if is_classifier(final) else None
        batch_size_given = batch_size is not None
        if not batch_size_given:
            # skorch trains with iterator_train__batch_size when it is set.
            own = getattr(final, "iterator_train__batch_size", getattr(final, "batch_size", None))
            if own == "auto":
                own = _MLP_AUTO_BATCH_SIZE
            batch_size = own if isinstance(own, Integral) else 32
        block_name = "mini-batch"
        if _is_lazy(X):
            X, y, sample_weight, block_name = _dask_blocks(X, y, sample_weight), None, None, "block"
        if y is None:
            if hasattr(X, "shape"):
                raise ValueError(
                    "y is None: pass the targets, or pass X as an iterable of "
                    "(X_batch, y_batch) mini-batches."
                )
            if isinstance(estimator, Pipeline) and len(estimator) > 1:
                raise ValueError(
                    "A Pipeline needs arrays X and y to fit its preprocessing steps; with an "
                    "iterable of batches, fit them first and pass the final estimator."
                )
            if is_classifier(final) and classes is None:
                raise ValueError("Pass classes=... (all labels) when X yields mini-batches.")
            if step_unit == "epoch":
                raise ValueError("step_unit='epoch' needs arrays X and y, not an iterable.")
            if isinstance(validation, Real):
                raise ValueError("validation must be (X_val, y_val) when X yields mini-batches.")
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight goes with arrays X and y; a stream carries its weights in "
                    "(X_batch, y_batch, sample_weight_batch) triples."
                )
            if isinstance(class_weight, str):
                raise ValueError(
                    f"class_weight={class_weight!r} needs all the labels at once, which a stream "
                    "of mini-batches does not give; pass a dict of class weights."
                )
            classes = None if classes is None else np.unique(classes)
            checker = _PairChecker(is_classifier(final), classes, class_weight)
            if validation is not None:
                validation = checker(validation, "the validation data")
            try:
                stream = iter(X)
            except TypeError:
                raise TypeError(
                    f"X must be an array, a sparse matrix or an iterable of (X_batch, y_batch) "
                    f"mini-batches; got {type(X).__name__}."
                ) from None
            blocks = (
                checker(_computed(block), f"{block_name} {index}")
                for index, block in enumerate(stream)
            )
            batches = _cut(blocks, batch_size, unit_mean_weights)
            return cls(final, None, None, None, batches, validation, classes, batch_size)
        classifier = is_classifier(final)
        if not classifier and np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = np.ravel(y)  # the column skorch's regressors take
        checks = dict(accept_sparse="csr", dtype=None, y_numeric=not classifier, estimator=final)
        preprocessed = isinstance(estimator, Pipeline) and len(estimator) > 1
        if preprocessed:  # the Pipeline's own steps take X as given (column names, NaN, text)
            X, y = indexable(X, column_or_1d(y))
        else:
            X, y = check_X_y(X, y, **checks)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if isinstance(validation, Real):
            split = train_test_split(
                X,
                y,
                *([] if sample_weight is None else [sample_weight]),
                test_size=validation,
                random_state=rng,
                stratify=y if classifier else None,
            )
            X, validation, y, y_val = split[:4]
            validation = (validation, y_val, *split[5:6])
            sample_weight = split[4] if sample_weight is not None else None
        if preprocessed:
            preprocessing = clone(estimator[:-1]).fit(X, y)
            X = preprocessing.transform(X)
            if validation is not None:
                validation = (preprocessing.transform(validation[0]), *validation[1:])
            X, y = check_X_y(X, y, **checks)
        if classifier:
            classes = np.unique(y if classes is None else classes)
            missing = np.setdiff1d(y, classes)
            if missing.size:
                raise ValueError(
                    f"y holds labels not in classes {classes.tolist()}: {missing.tolist()}. "
                    "Pass every label in classes, or leave classes=None."
                )
            class_weight = resolved_class_weight(class_weight, y)
        checker = _PairChecker(classifier, classes, class_weight, X.shape[1])
        weights = checker.weights(y, sample_weight)
        if weights is not None and not weights.any():
            raise ValueError(
                "Every sample of the ramp's training data has zero weight once sample_weight "
                "and class_weight are combined; nothing to learn from. Check the weights."
            )
        if unit_mean_weights:
            weights = _unit_mean(weights)
        if validation is not None:
            validation = checker(validation, "the validation data")
        if not batch_size_given:
            batch_size = min(batch_size, X.shape[0])
        elif X.shape[0] < batch_size:
            raise ValueError(
                f"The ramp's training data has {X.shape[0]} samples, fewer than one mini-batch "
                f"of {batch_size}. Lower batch_size or pass more data."
            )
        return cls(final, X, y, weights, None, validation, classes, batch_size)

    def measured_on(self, step_unit):
        if self.validation is not None:
            return "validation set"
        return "next mini-batch" if step_unit == "batch" else "mini-batches, before update"

    def batches(self, seed):
        """Mini-batches: the stream, or shuffled passes over the arrays, reshuffled per pass."""
        if self.stream is not None:
            yield from self.stream
            return
        epochs = self.epochs(seed)
        while True:
            yield from next(epochs)

    def epochs(self, seed):
        """Per pass over the arrays, the shuffled mini-batches, gathered as they are used."""
        rng = np.random.RandomState(seed)
        n = self.X.shape[0]
        while True:
            order = rng.permutation(n)
            yield (
                (self.X[rows], self.y[rows], None if self.weights is None else self.weights[rows])
                for rows in (order[i : i + self.batch_size] for i in range(0, n, self.batch_size))
            )


class _PairChecker:
    """Checks ``(X, y[, sample_weight])`` data of the ramp (a streamed block or the validation
    data) as ``partial_fit`` would: lengths, finite values, non-negative weights, the width of
    the first data, labels within ``classes``; errors name the data, e.g. ``"mini-batch 7"``.
    Returns ``(X, y, weights)``, the weights combined with the class weights (None when there
    are none)."""

    def __init__(self, classifier, classes, class_weight, n_features=None):
        self.classifier, self.classes, self.class_weight = classifier, classes, class_weight
        self.n_features, self.width_of = n_features, "the training data"

    def weights(self, y, sample_weight):
        """``sample_weight`` times the class weights of ``y`` (None when both are absent)."""
        return class_weighted(y, sample_weight, self.class_weight, self.classes)

    def __call__(self, data, where):
        name = where[0].upper() + where[1:]
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            kind = f"a {type(data).__name__}" + (
                f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""
            )
            raise TypeError(f"{name} is {kind}, not an (X, y) or (X, y, sample_weight) tuple.")
        try:
            X, y = check_X_y(
                *data[:2], accept_sparse="csr", dtype=None, y_numeric=not self.classifier
            )
            sample_weight = None
            if len(data) == 3 and data[2] is not None:
                sample_weight = check_sample_weight(data[2], X, ensure_non_negative=True)
        except ValueError as error:
            raise ValueError(f"{name} is invalid: {error}") from None
        if self.n_features is None:
            self.n_features, self.width_of = X.shape[1], where
        elif X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} has {X.shape[1]} features, but {self.width_of} has {self.n_features}."
            )
        if self.classes is not None:
            unknown = np.setdiff1d(y, self.classes)
            if unknown.size:
                raise ValueError(
                    f"{name} holds labels not in classes {self.classes.tolist()}: "
                    f"{unknown.tolist()}. Pass every label in classes=..."
                )
        weights = self.weights(y, sample_weight)
        if weights is not None and not weights.any():
            raise ValueError(f"{name} has zero weight in every sample; nothing to learn from.")
        return X, y, weights


def resolved_class_weight(class_weight, y):
    """``class_weight`` as ``fit`` on ``y`` applies it: ``"balanced"`` becomes a dict computed
    over the classes present in ``y``; a dict or None stays as it is."""
    if not isinstance(class_weight, str):
        return class_weight
    present = np.unique(y)
    balanced = compute_class_weight(class_weight, classes=present, y=y)
    return dict(zip(present, balanced, strict=True))


def class_weighted(y, sample_weight, class_weight, classes):
    """``sample_weight`` times the weights a dict ``class_weight`` gives the labels ``y``
    (None when both are absent)."""
    if class_weight is None:
        return sample_weight
    per_class = compute_class_weight(class_weight, classes=classes, y=y)
    class_weights = per_class[np.searchsorted(classes, y)]
    return class_weights if sample_weight is None else sample_weight * class_weights


def _is_lazy(data):
    """Whether ``data`` is a dask collection (dask's protocol; dask itself is not imported)."""
    return hasattr(data, "__dask_graph__")


def _computed(block):
    """A streamed ``(X, y[, w])`` block with its dask parts computed together."""
    if _is_lazy(block):
        block = block.compute()
    if isinstance(block, (tuple, list)) and any(_is_lazy(part) for part in block):
        # A dask collection in the block means dask is loaded.
        block = sys.modules["dask"].compute(*block)
    return block


def _dask_blocks(X, y, sample_weight):
    """The ``(X, y[, w])`` row blocks of a dask array or DataFrame X, still lazy.

    ``y`` and ``sample_weight`` are dask collections with as many row blocks (dask arrays are
    rechunked like X's rows), or arrays split like X's row chunks; a dask array's column chunks
    are merged first.
    """
    if y is None:
        raise ValueError("y is None: pass the targets of the dask collection X.")
    if hasattr(X, "blocks"):  # array
        if X.ndim == 2 and X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        rows = X.chunks[0]
    else:  # DataFrame
        rows = None
    parts = [_row_blocks(X)]
    for name, data in (("y", y), ("sample_weight", sample_weight)):
        if data is None:
            continue
        if _is_lazy(data):
            if hasattr(data, "blocks") and rows is not None and data.chunks[0] != rows:
                data = data.rechunk({0: rows})
            split = _row_blocks(data)
        elif rows is not None and np.isfinite(rows).all():
            split = np.split(np.asarray(data), np.cumsum(rows)[:-1])
        else:
            raise ValueError(
                f"X is a dask collection of unknown row chunks; pass {name} as a dask "
                "collection partitioned like X."
            )
        if len(split) != len(parts[0]):
            raise ValueError(
                f"X has {len(parts[0])} row blocks but {name} has {len(split)}; partition them "
                "alike (e.g. y.rechunk(X.chunks[0]))."
            )
        parts.append(split)
    return zip(*parts, strict=True)


def _row_blocks(collection):
    """The lazy row blocks of a dask array, DataFrame or Series."""
    if hasattr(collection, "blocks"):
        return [collection.blocks[i] for i in range(collection.numblocks[0])]
    return [collection.partitions[i] for i in range(collection.npartitions)]


def _cut(blocks, batch_size, unit_mean_weights):
    """Consecutive mini-batches of ``batch_size`` rows cut from checked ``(X, y, weights)``
    blocks of any sizes (the last may be smaller), weights rescaled to mean 1 per batch when
    ``unit_mean_weights`` (as our estimators' ``partial_fit`` does)."""
    carry = None
    for block in blocks:
        if carry is not None:
            block = _concatenate(carry, block)
        X, y, weights = block
        n_full = X.shape[0] - X.shape[0] % batch_size
        for start in range(0, n_full, batch_size):
            yield _batch(block, slice(start, start + batch_size), unit_mean_weights)
        carry = _rows(block, slice(n_full, None)) if n_full < X.shape[0] else None
    if carry is not None:
        yield _batch(carry, slice(None), unit_mean_weights)


def _rows(block, rows):
    X, y, weights = block
    return X[rows], y[rows], None if weights is None else weights[rows]


def _batch(block, rows, unit_mean_weights):
    X, y, weights = _rows(block, rows)
    if weights is not None and not weights.any():
        raise ValueError(
            "A mini-batch cut from the stream has zero weight in every sample; nothing to "
            "learn from. Check the weights."
        )
    return X, y, _unit_mean(weights) if unit_mean_weights else weights


def _concatenate(first, second):
    """Rows of ``first`` then ``second`` (weights of 1 where one side has none)."""
    stack = sparse.vstack if sparse.issparse(first[0]) or sparse.issparse(second[0]) else np.vstack
    X = stack([first[0], second[0]])
    y = np.concatenate([first[1], second[1]])
    if first[2] is None and second[2] is None:
        return X, y, None
    weights = [np.ones(len(part[1])) if part[2] is None else part[2] for part in (first, second)]
    return X, y, np.concatenate(weights)


def _unit_mean(weights):
    """Weights rescaled to mean 1, as our estimators' fit does (None stays None)."""
    return None if weights is None else weights / weights.mean()
