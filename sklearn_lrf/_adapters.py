"""How the range test and LRFinderSearch drive an estimator: one small protocol.

A trainer, made by :func:`trainer_for`, offers

- ``start(classes)``: a fresh copy of the estimator at its initial weights;
- ``step(X, y, weights, rate) -> float``: one update at ``rate`` on a mini-batch; returns the
  mini-batch's loss before the update (NaN before the first update of a foreign estimator);
- ``loss(X, y, weights) -> float``: the weighted mean loss of the current model on data;
- ``stable_rate(X, y, weights, batch_size)``: the stable step ``1 / L`` of the data, or None
  when nothing tells it;
- ``unit_mean_weights``: whether the estimator's ``fit`` rescales sample weights to mean 1
  (ours) or uses them as given (scikit-learn's and skorch's), so that a ramp weighs its
  updates as the refit will;

and :func:`rate_params` gives the parameters that make an estimator train at a rate: what the
ramp sets before each step and what ``LRFinderSearch`` refits with, so the two cannot disagree;
:func:`budget_params` shortens its training to a share of its epochs (``LRFinderSearch``'s race),
and :func:`model_loss` is the loss the ramp records, of any fitted model on data.

Our estimators step through their own training loop (``_sgd.train`` with the settings ``fit``
builds from their parameters); every other estimator through ``partial_fit`` with its rate
parameter set before each call. ``weights`` always hold the class weights already.
"""

import inspect
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import replace

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline

from . import _sgd
from .linear_model import _BaseSGD
from .schedules import Constant

__all__ = ["Diverged", "budget_params", "model_loss", "rate_params", "trainer_for"]

# Rate parameters recognised on foreign estimators, in order of preference (``lr``: skorch).
KNOWN_RATE_PARAMETERS = ("eta0", "learning_rate_init", "lr")
# Learning-rate policies of scikit-learn estimators that would change the ramp's rates.
_DECAYING_POLICIES = {"optimal", "invscaling", "adaptive"}


class Diverged(Exception):
    """Training raised because of the rate (overflow): the ramp's expected end."""

    def __init__(self, rate, cause):
        super().__init__(str(cause))
        self.rate, self.cause = rate, cause


def constant_rate_params(estimator):
    """Parameters that make a scikit-learn estimator use its rate parameter as a constant.

    ``SGDRegressor``/``SGDClassifier`` (``learning_rate="optimal"`` ignores ``eta0``;
    ``"invscaling"`` and ``"adaptive"`` decay it) and ``MLP*(solver="sgd")`` decay the rate unless
    their policy is ``"constant"``; the range test measures, and suggests, constant rates.
    """
    if estimator.get_params().get("learning_rate") in _DECAYING_POLICIES:
        return {"learning_rate": "constant"}
    return {}


def rate_parameter(estimator, lr_param=None):
    """The name of ``estimator``'s learning-rate parameter, checked."""
    params = estimator.get_params()
    if isinstance(estimator, _BaseSGD):
        if lr_param not in (None, "learning_rate"):
            raise ValueError(
                f"{type(estimator).__name__} takes its rate in learning_rate, not {lr_param!r}."
            )
        return "learning_rate"
    if lr_param is None:
        lr_param = next((name for name in KNOWN_RATE_PARAMETERS if name in params), None)
        if lr_param is None:
            raise ValueError(
                f"{type(estimator).__name__} has no learning-rate parameter the range test "
                f"knows ({', '.join(KNOWN_RATE_PARAMETERS)}); name it with lr_param=..."
            )
    elif lr_param not in params:
        raise ValueError(
            f"{type(estimator).__name__} has no parameter {lr_param!r}; its parameters "
            f"are {sorted(params)}."
        )
    return lr_param


def rate_params(estimator, rate, lr_param=None, schedule=None):
    """Parameters that make ``estimator`` train at the constant ``rate``.

    Parameters
    ----------
    estimator : estimator
        Not a Pipeline: its final step.
    rate : float
    lr_param : str, default=None
        The rate parameter of a foreign estimator, found when None.
    schedule : Schedule, default=None
        For our estimators only: train with ``schedule.with_peak(rate)`` instead.

    Returns
    -------
    params : dict
    """
    name = rate_parameter(estimator, lr_param)
    if isinstance(estimator, _BaseSGD):
        return {name: rate if schedule is None else schedule.with_peak(rate)}
    return {**constant_rate_params(estimator), name: rate}


def budget_params(estimator, fraction):
    """Parameters that make ``estimator`` train for ``fraction`` of its budget of epochs, exactly.

    The budget is ``max_iter`` (ours, scikit-learn's ``SGDRegressor``, ``SGDClassifier`` and
    MLPs) or ``max_epochs`` (skorch), times ``fraction``, rounded, at least 1. Stopping on a
    tolerance is switched off (``tol=None``; MLPs: ``n_iter_no_change`` as long as the budget),
    so that every rate trains the same number of epochs.

    Parameters
    ----------
    estimator : estimator
        Not a Pipeline: its final step.
    fraction : float in (0, 1]

    Returns
    -------
    params : dict
    """
    params = estimator.get_params()
    name = "max_epochs" if _is_skorch(estimator) else "max_iter"
    known = (_BaseSGD, SGDClassifier, SGDRegressor, MLPClassifier, MLPRegressor)
    if not (isinstance(estimator, known) or _is_skorch(estimator)):
        raise TypeError(
            f"The race trains each candidate for a share of the estimator's epochs, which it "
            f"knows only for SGDLinearRegressor, SGDLogisticClassifier, scikit-learn's "
            f"SGDRegressor, SGDClassifier and MLP* (max_iter) and skorch nets (max_epochs), "
            f"not for {type(estimator).__name__}. Set race=None."
        )
    epochs = max(1, round(fraction * params[name]))
    if isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return {name: epochs, "n_iter_no_change": epochs}
    return {name: epochs} if name == "max_epochs" else {name: epochs, "tol": None}


def model_loss(model, X, y, weights, classes=None):
    """The range test's loss of a fitted model on data: the weighted mean log loss of
    ``predict_proba`` over ``classes`` (a classifier's), else squared error / 2 of ``predict``.

    Returns inf when the probabilities are not finite (a diverged classifier); a regressor's
    non-finite predictions give a non-finite loss.
    """
    if classes is None:
        return _half_squared_error(model.predict(X), y, weights)
    probabilities = model.predict_proba(X)
    if not np.isfinite(probabilities).all():
        return np.inf
    return log_loss(y, probabilities, labels=classes, sample_weight=weights)


def final_step(estimator):
    """The estimator that trains: the last step of a Pipeline, or ``estimator`` itself."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


@contextmanager
def seeded(estimator, seed):
    """Run a fit of ``estimator`` seeded by ``seed`` where its parameters cannot be: a skorch net
    (no ``random_state``) under torch's random state seeded by ``seed``, leaving torch's global
    random state as it was. Any other estimator: nothing (seed its ``random_state``)."""
    if not _is_skorch(estimator):
        yield
        return
    torch = sys.modules["torch"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _is_skorch(estimator):
    """Whether ``estimator`` is a skorch net (skorch is loaded if it is; it is not imported)."""
    skorch = sys.modules.get("skorch")
    return skorch is not None and isinstance(estimator, skorch.NeuralNet)


def trainer_for(estimator, lr_param, seed):
    """The trainer that drives ``estimator`` (a final step, not a Pipeline)."""
    if isinstance(estimator, _BaseSGD):
        rate_parameter(estimator, lr_param)
        return _NativeTrainer(estimator, seed)
    return _PartialFitTrainer(estimator, lr_param, seed)


class _NativeTrainer:
    """Steps SGDLinearRegressor / SGDLogisticClassifier through their training loop, with the
    settings (loss, penalty, momentum, intercept) that ``fit`` builds from their parameters."""

    unit_mean_weights = True

    def __init__(self, estimator, seed):
        self.estimator = clone(estimator).set_params(random_state=seed)
        self.loss_name = "log loss" if is_classifier(estimator) else "squared error / 2"
        self.n_updates = 0

    def start(self, classes):
        self.classes, self.params = classes, None

    def stable_rate(self, X, y, weights, batch_size):
        """``1 / L``, the rate ``learning_rate="auto"`` starts from (None for a stream)."""
        if X is None:
            return None
        X = _floating(X)
        loss = self.estimator._encode_targets(y, X.dtype, True, self.classes)[1]
        return self.estimator._stable_rate(X, weights, loss, batch_size)

    def _encode(self, X, y):
        X = _floating(X)
        if self.params is not None:
            return X, self.estimator._loop_targets(y, X.dtype)[0]
        Y, loss, n_outputs = self.estimator._encode_targets(y, X.dtype, True, self.classes)
        self.params = _sgd.Parameters(
            coef=np.zeros((X.shape[1], n_outputs), dtype=X.dtype),
            intercept=np.zeros(n_outputs, dtype=X.dtype),
        )
        self.settings = self.estimator._settings(loss, None)
        return X, Y

    def step(self, X, y, weights, rate):
        X, Y = self._encode(X, y)
        settings = replace(
            self.settings, schedule=Constant(rate), batch_size=X.shape[0], shuffle=False
        )
        losses = []
        try:
            _sgd.train(
                X,
                Y,
                weights,
                self.params,
                settings,
                max_epochs=1,
                rng=None,
                observer=lambda step, rate, loss, params: losses.append(loss),
                growth_check=False,
            )
        except _sgd.DivergenceError as error:
            # Its epoch count means nothing here: every ramp step is one call of step.
            raise Diverged(rate, error.problem) from error
        self.n_updates += 1
        return losses[0]

    def loss(self, X, y, weights):
        X, Y = self._encode(X, y)
        outputs = np.asarray(X @ self.params.coef) + self.params.intercept
        total = self.settings.loss.loss_gradient(outputs, Y, weights)[0]
        return total / (X.shape[0] if weights is None else weights.sum())


def _floating(X):
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(float)


class _PartialFitTrainer:
    """Drives a foreign estimator through ``partial_fit`` and its rate parameter.

    A skorch net (``skorch.NeuralNet``) trains without its ``train_split`` and callbacks, on the
    whole mini-batch as one batch for one epoch; each call must make exactly one optimizer
    step, counted by a hook on its optimizer. It draws its initial weights, dropout and data
    loading from a torch random state of its own, seeded by ``seed``. Its rate ``lr`` is set with
    ``set_params``, which updates the live optimizer's parameter groups without rebuilding it
    (momentum and Adam state survive), and its inputs are cast to its module's dtype.
    """

    unit_mean_weights = False

    def __init__(self, estimator, lr_param, seed):
        if not hasattr(estimator, "partial_fit"):
            raise TypeError(
                f"{type(estimator).__name__} has no partial_fit, so the range test cannot "
                "train it step by step"
                + (
                    " (for MLPs use solver='sgd' or 'adam')."
                    if "solver" in estimator.get_params()
                    else "."
                )
            )
        params = estimator.get_params()
        if params.get("solver") == "lbfgs":
            raise ValueError(
                f"{type(estimator).__name__}(solver='lbfgs') takes full-batch quasi-Newton "
                "steps with no learning rate, so there is nothing to ramp. Use solver='sgd' or "
                "'adam'."
            )
        self.lr_param = rate_parameter(estimator, lr_param)
        self.prototype = clone(estimator).set_params(**constant_rate_params(estimator))
        if "class_weight" in params:  # the ramp's weights hold the class weights already
            self.prototype.set_params(class_weight=None)
        self.takes_weights = "sample_weight" in inspect.signature(estimator.partial_fit).parameters
        self.skorch = _is_skorch(estimator)
        if self.skorch:
            # skorch would hold out a validation split, run max_epochs epochs, cut the batch
            # by batch_size and let callbacks (e.g. LRScheduler) change the rate.
            self.prototype.set_params(
                train_split=None, callbacks="disable", iterator_train__batch_size=-1
            )
        # One partial_fit call must make one update: MLPs split a call by their batch_size.
        self.batch_size_param = "batch_size" in params and not self.skorch
        if "random_state" in params:
            self.prototype.set_params(random_state=seed)
        self.seed = seed
        self.classifier = is_classifier(estimator)
        if self.classifier and not hasattr(self.prototype, "predict_proba"):
            raise ValueError(
                f"The range test measures the log loss, which needs predict_proba; "
                f"{type(estimator).__name__} with these parameters has none (for SGDClassifier "
                "use loss='log_loss' or 'modified_huber')."
            )
        self.loss_name = "log loss" if self.classifier else "squared error / 2"
        self.n_updates = 0

    def start(self, classes):
        self.classes = classes
        self.model = clone(self.prototype)
        self.fitted = False
        if self.skorch:
            self.torch_state = None
            with self._torch_random_state():
                self.model.initialize()
            self.steps, self.step_depth = 0, 0
            self.model.optimizer_.register_step_pre_hook(self._enter_step)
            self.model.optimizer_.register_step_post_hook(self._count_step)
            parameter = next(self.model.module_.parameters(), None)
            self.dtype = np.dtype("float32" if parameter is None else _numpy_dtype(parameter))

    @contextmanager
    def _torch_random_state(self):
        """Run with the net's own torch random state, seeded by ``seed`` at ``start`` (initial
        weights, dropout, data loaders), leaving torch's global random state as it was."""
        torch = sys.modules["torch"]
        with torch.random.fork_rng(devices=[]):
            if self.torch_state is None:
                torch.manual_seed(self.seed)
            else:
                torch.random.set_rng_state(self.torch_state)
            yield
            self.torch_state = torch.random.get_rng_state()

    def _enter_step(self, optimizer, args, kwargs):
        self.step_depth += 1

    def _count_step(self, optimizer, args, kwargs):
        """Count outermost steps only: torch hooks both ``step`` of an optimizer subclass and the
        ``step`` of its base class it calls, once each class has had an instance."""
        self.step_depth -= 1
        if self.step_depth == 0:
            self.steps += 1

    def _inputs(self, X, y):
        """``X`` and ``y`` as a skorch module takes them: X in its dtype, integer labels as
        int64, regression targets in its dtype as a column."""
        if not self.skorch:
            return X, y
        if np.issubdtype(X.dtype, np.number) and X.dtype != self.dtype:
            X = X.astype(self.dtype)
        if self.classifier:
            return X, (y.astype(np.int64) if np.issubdtype(y.dtype, np.integer) else y)
        return X, y.astype(self.dtype).reshape(len(y), -1)

    def stable_rate(self, X, y, weights, batch_size):
        """None: nothing tells a foreign estimator's stable rate."""
        return None

    def step(self, X, y, weights, rate):
        before = self.loss(X, y, weights) if self.fitted else np.nan
        _set_rate(self.model, self.lr_param, rate)
        if self.batch_size_param:
            self.model.set_params(batch_size=X.shape[0])
        extra = {"classes": self.classes} if self.classifier else {}
        if self.skorch:
            extra["epochs"] = 1
        if weights is not None:
            if not self.takes_weights:
                raise TypeError(
                    f"{type(self.model).__name__}.partial_fit takes no sample_weight, so the "
                    "ramp cannot weigh the samples or classes."
                )
            extra["sample_weight"] = weights
        try:
            with self._torch_random_state() if self.skorch else nullcontext():
                self.model.partial_fit(*self._inputs(X, y), **extra)
        except (ValueError, FloatingPointError, OverflowError) as error:
            if not self.fitted:
                raise
            raise Diverged(rate, error) from error
        if self.skorch:
            steps, self.steps = self.steps, 0
            if steps != 1:
                raise RuntimeError(
                    f"{type(self.model).__name__}.partial_fit(X, y, epochs=1) made {steps} "
                    "optimizer steps on one mini-batch, but each ramp step must make exactly "
                    "one; a net that overrides fit_loop or get_iterator must keep skorch's "
                    "one step per batch of iterator_train."
                )
        self.fitted = True
        self.n_updates += 1
        return before

    def loss(self, X, y, weights):
        X_in = self._inputs(X, y)[0]
        with self._torch_random_state() if self.skorch else nullcontext():
            return model_loss(
                self.model, X_in, y, weights, self.classes if self.classifier else None
            )


def _half_squared_error(predictions, y, weights):
    """Weighted mean of ``(prediction - y) ** 2 / 2``; predictions of shape (n, 1), as skorch's
    regressors make, are compared with targets of shape (n,) row by row, never broadcast."""
    predictions, y = np.asarray(predictions, dtype=float), np.asarray(y, dtype=float)
    if predictions.size != y.size:
        raise ValueError(
            f"The estimator predicted an array of shape {predictions.shape} for targets of "
            f"shape {y.shape}."
        )
    squared = (predictions.reshape(y.shape) - y) ** 2
    if squared.ndim > 1:  # multi-output: the mean over outputs, per sample
        squared = squared.mean(axis=1)
    return 0.5 * float(np.average(squared, weights=weights))


def _numpy_dtype(tensor):
    """The numpy dtype of a torch tensor, e.g. float32 (torch is not imported)."""
    return str(tensor.dtype).removeprefix("torch.")


def _set_rate(model, lr_param, rate):
    """Set the rate parameter, and the live optimizer's rate of an MLP already started.

    ``MLP*.partial_fit`` builds its optimizer on the first call and ignores later changes of
    ``learning_rate_init``; its optimizers (sklearn.neural_network._stochastic_optimizers) read
    ``learning_rate`` (SGD) and ``learning_rate_init`` (Adam) attributes. skorch's
    ``set_params(lr=...)`` sets the live optimizer's rate itself.
    """
    model.set_params(**{lr_param: rate})
    optimizer = getattr(model, "_optimizer", None)
    if optimizer is not None:
        optimizer.learning_rate_init = rate
        optimizer.learning_rate = rate
