"""The one mini-batch SGD training loop behind ``fit``, ``partial_fit`` and the range test.

It owns batching, shuffling, the learning-rate schedule, momentum, the penalty, sample weights,
the per-epoch stopping rules and a per-step observer that may stop training. Estimators keep
scikit-learn glue; the finder observes steps through ``observer`` instead of re-implementing
training.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.linalg import LinearOperator, eigsh

# Rows gathered at once when shuffling: about this many bytes, so one gather serves many
# mini-batches while the block stays in cache.
_GATHER_BYTES = 1 << 20
# An epoch whose training loss exceeds its best epoch's this many times (and the first epoch's)
# has diverged, even while still finite: the plateau rule would otherwise take a loss that only
# grows for convergence. Both references live in Parameters, so partial_fit calls share them.
DIVERGENCE_GROWTH = 1e3
# Factor by which a plateau divides the learning rate when plateau_reductions allows it.
PLATEAU_DIVISOR = 5.0
# Rows used to estimate the spectrum for learning_rate="auto".
_AUTO_LR_ROWS = 10_000
# Above this many columns the spectrum is estimated with an iterative solver.
_DENSE_GRAM_MAX_FEATURES = 2_000


class DivergenceError(FloatingPointError):
    """Training diverged: the loss or the coefficients became non-finite, or an epoch's training
    loss grew over ``DIVERGENCE_GROWTH`` (1000) times the best epoch's and above the first's.

    Attributes
    ----------
    epoch : int
        Epoch (1-based, counted over the estimator's life) in which it was detected.
    learning_rate : float
        Learning rate of the last update before it was detected.
    """

    def __init__(self, message, *, epoch, learning_rate):
        super().__init__(message)
        self.epoch = epoch
        self.learning_rate = learning_rate


@dataclass
class Parameters:
    """Trainable state, updated in place by :func:`train`.

    ``coef`` has shape ``(n_features, n_outputs)``, ``intercept`` ``(n_outputs,)``.
    """

    coef: np.ndarray
    intercept: np.ndarray
    coef_velocity: np.ndarray = None
    intercept_velocity: np.ndarray = None
    n_updates: int = 0
    n_epochs: int = 0
    first_epoch_loss: float = math.inf
    best_epoch_loss: float = math.inf

    def copy(self):
        """Deep copy, so a failed run leaves the original untouched."""
        copied = {
            name: value.copy() if isinstance(value, np.ndarray) else value
            for name, value in vars(self).items()
        }
        return Parameters(**copied)


@dataclass(frozen=True)
class Settings:
    """How to train: loss, schedule, batching, momentum and penalty."""

    loss: object
    schedule: object
    batch_size: int
    shuffle: bool = True
    momentum: float = 0.0
    nesterov: bool = False
    l2: float = 0.0
    l1: float = 0.0
    fit_intercept: bool = True

    def penalty(self, coef):
        """Value of ``l1 * ||coef||_1 + l2 / 2 * ||coef||_2 ** 2``."""
        value = 0.0
        if self.l2:
            value += 0.5 * self.l2 * float(np.vdot(coef, coef))
        if self.l1:
            value += self.l1 * float(np.abs(coef).sum())
        return value


@dataclass
class TrainingLog:
    """What a call to :func:`train` observed, one entry per completed epoch."""

    losses: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    converged: bool = False
    stopped_by_observer: bool = False
    rate_reductions: int = 0


def auto_learning_rate(X, sample_weight, loss, batch_size, l2, fit_intercept):
    """A step size that keeps mini-batch SGD stable: ``1 / L(b)``.

    ``L(b)`` is the expected smoothness of a mini-batch of ``b`` samples drawn without
    replacement (Gower et al., 2019, "SGD: general analysis and improved rates"),

        L(b) = c * [n (b - 1) / (b (n - 1)) * lambda_max + (n - b) / (b (n - 1)) * R2] + l2

    where ``c`` is the loss's curvature bound (1 squared error, 1/4 binary log loss, 1/2
    multinomial), ``lambda_max`` the largest eigenvalue of ``sum_i w_i x_i x_i^T / n`` and
    ``R2 = max_i w_i ||x_i||^2``, with ``x_i`` extended by a constant 1 when an intercept is
    fitted and ``w`` the sample weights scaled to mean 1. It interpolates between the full-batch
    bound ``c lambda_max`` (``b = n``) and the per-sample bound ``c R2`` (``b = 1``).
    ``lambda_max`` is computed on at most 10,000 evenly spaced rows.

    Returns
    -------
    learning_rate : float
    """
    n = X.shape[0]
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    squared_norms = _row_squared_norms(X) + float(fit_intercept)
    r2 = float(np.max(weights * squared_norms))
    rows = np.linspace(0, n - 1, num=min(n, _AUTO_LR_ROWS)).astype(np.intp)
    lam = _largest_eigenvalue(X[rows], weights[rows], fit_intercept)
    b = min(batch_size, n)
    if n == 1:
        smoothness = r2
    else:
        smoothness = (n * (b - 1) * lam + (n - b) * r2) / (b * (n - 1))
    return 1.0 / (loss.curvature * smoothness + l2)


def _row_squared_norms(X):
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=float).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=float)


def _largest_eigenvalue(X, weights, fit_intercept):
    """Largest eigenvalue of ``X~^T diag(weights) X~ / n``, ``X~`` = ``[X, 1]`` if intercept."""
    n = X.shape[0]
    if fit_intercept:
        ones = np.ones((n, 1), dtype=X.dtype)
        X = sp.hstack([X, ones], format="csr") if sp.issparse(X) else np.hstack([X, ones])
    X = X.astype(float)
    if X.shape[1] <= _DENSE_GRAM_MAX_FEATURES:
        weighted = X.multiply(weights[:, None]) if sp.issparse(X) else X * weights[:, None]
        gram = X.T @ weighted
        gram = gram.toarray() if sp.issparse(gram) else gram
        last = gram.shape[0] - 1
        return float(eigh(gram / n, eigvals_only=True, subset_by_index=[last, last])[0])
    d = X.shape[1]
    operator = LinearOperator((d, d), matvec=lambda v: X.T @ (weights * (X @ v)) / n, dtype=float)
    return float(eigsh(operator, k=1, which="LA", tol=1e-3, v0=np.ones(d))[0][0])


def train(
    X,
    Y,
    sample_weight,
    params,
    settings,
    *,
    max_epochs,
    rng,
    tol=None,
    n_iter_no_change=5,
    plateau_reductions=0,
    validation_score=None,
    observer=None,
    verbose=0,
    name="SGD",
):
    """Run up to ``max_epochs`` epochs of mini-batch SGD, updating ``params`` in place.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    Y : ndarray
        Targets encoded for ``settings.loss``.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights, already scaled as the estimator wants them.
    params : Parameters
        Starting point; updated in place. Pass a copy to keep the original on failure.
    settings : Settings
    max_epochs : int
        Passes over the data.
    rng : numpy.random.RandomState
        Source of the shuffling permutations.
    tol : float or None, default=None
        Stop once the monitored value has not improved by ``tol`` for ``n_iter_no_change``
        consecutive epochs. The monitored value is the epoch's training loss, or minus the
        validation score when ``validation_score`` is given. ``None`` never stops early.
    n_iter_no_change : int, default=5
    plateau_reductions : int, default=0
        On the first ``plateau_reductions`` plateaus, divide the learning rate by
        ``PLATEAU_DIVISOR`` and go on instead of stopping (scikit-learn's MLP
        ``learning_rate="adaptive"``); the next plateau stops training.
    validation_score : callable or None, default=None
        ``validation_score(params) -> float``, higher is better, evaluated after each epoch.
    observer : callable or None, default=None
        ``observer(step, learning_rate, loss, params) -> bool`` called after every update.
        ``step`` counts updates from 0 over the estimator's life, ``learning_rate`` is the rate
        of this update and ``loss`` the mean loss of this mini-batch (data term, unweighted
        mean of the weighted per-sample losses) under the weights *before* this update. A true
        return value stops training.
    verbose : int, default=0
        Print one line per epoch when positive.
    name : str
        Name used in error messages.

    Returns
    -------
    log : TrainingLog

    Raises
    ------
    DivergenceError
        When the loss or the coefficients stop being finite.
    """
    n_samples = X.shape[0]
    n_batches = -(-n_samples // settings.batch_size)
    log = TrainingLog()
    best, epochs_without_improvement = math.inf, 0
    rate_scale = 1.0
    for _ in range(max_epochs):
        started = time.perf_counter()
        rates = _epoch_rates(settings.schedule, params, n_batches, rate_scale)
        order = rng.permutation(n_samples) if settings.shuffle else None
        total_loss = 0.0
        batches = _batches(X, Y, sample_weight, settings.batch_size, order)
        for rate, (X_batch, Y_batch, weight_batch) in zip(rates, batches, strict=True):
            batch_loss = _update(X_batch, Y_batch, weight_batch, rate, params, settings)
            if not math.isfinite(batch_loss):
                _diverged(name, params.n_epochs + 1, rate, "the training loss became non-finite")
            total_loss += batch_loss
            step = params.n_updates
            params.n_updates += 1
            if observer is not None and observer(step, rate, batch_loss / X_batch.shape[0], params):
                log.stopped_by_observer = True
                return log
        params.n_epochs += 1
        if not (np.isfinite(params.coef).all() and np.isfinite(params.intercept).all()):
            _diverged(name, params.n_epochs, rates[-1], "the coefficients became non-finite")
        epoch_loss = total_loss / n_samples + settings.penalty(params.coef)
        if epoch_loss > DIVERGENCE_GROWTH * params.best_epoch_loss > 0 and (
            epoch_loss > params.first_epoch_loss
        ):
            _diverged(
                name,
                params.n_epochs,
                rates[-1],
                f"the training loss grew to {epoch_loss:.3g}, over {DIVERGENCE_GROWTH:g} times "
                f"its best epoch's ({params.best_epoch_loss:.3g})",
            )
        if params.first_epoch_loss == math.inf:
            params.first_epoch_loss = epoch_loss
        params.best_epoch_loss = min(params.best_epoch_loss, epoch_loss)
        log.losses.append(epoch_loss)
        monitored = epoch_loss
        if validation_score is not None:
            log.validation_scores.append(validation_score(params))
            monitored = -log.validation_scores[-1]
        if verbose:
            _report(params, epoch_loss, log, rates, time.perf_counter() - started)
        if tol is not None:
            epochs_without_improvement = (
                epochs_without_improvement + 1 if monitored > best - tol else 0
            )
            best = min(best, monitored)
            if epochs_without_improvement >= n_iter_no_change:
                if log.rate_reductions == plateau_reductions:
                    log.converged = True
                    break
                log.rate_reductions += 1
                rate_scale /= PLATEAU_DIVISOR
                epochs_without_improvement = 0
    return log


def _epoch_rates(schedule, params, n_batches, scale):
    if schedule.unit == "batch":
        rates = schedule(np.arange(params.n_updates, params.n_updates + n_batches))
    else:
        rates = np.full(n_batches, schedule(params.n_epochs))
    return (rates * scale).tolist()


def _batches(X, Y, sample_weight, batch_size, order):
    """Yield ``(X, Y, sample_weight)`` mini-batches, in ``order`` if given.

    Shuffled rows are gathered a block at a time (``_GATHER_BYTES``), then sliced into
    mini-batches: one gather call per block instead of one per batch, never a copy of all X.
    """
    n_samples = X.shape[0]
    if order is None:
        block_rows = n_samples
    else:
        row_bytes = X.dtype.itemsize * (X.nnz / max(n_samples, 1) if sp.issparse(X) else X.shape[1])
        block_rows = batch_size * max(1, int(_GATHER_BYTES // (row_bytes * batch_size + 1)))
    for block_start in range(0, n_samples, block_rows):
        if order is None:
            rows = slice(block_start, block_start + block_rows)
            X_block = X[rows]
        else:
            rows = order[block_start : block_start + block_rows]
            X_block = X[rows] if sp.issparse(X) else X.take(rows, axis=0)
        Y_block = Y[rows]
        weight_block = None if sample_weight is None else sample_weight[rows]
        for start in range(0, X_block.shape[0], batch_size):
            batch = slice(start, start + batch_size)
            yield (
                X_block[batch],
                Y_block[batch],
                None if weight_block is None else weight_block[batch],
            )


def _update(X, Y, sample_weight, rate, params, settings):
    """One SGD step on a mini-batch; return the batch's summed loss before the step.

    Without momentum the L2 part is applied as weight decay, ``w <- (1 - rate l2) w``, which is
    the same step as adding ``l2 w`` to the gradient but costs fewer operations per batch.
    """
    outputs = X @ params.coef
    if settings.fit_intercept:
        outputs += params.intercept
    loss_sum, d_outputs = settings.loss.loss_gradient(outputs, Y, sample_weight)
    scale = 1.0 / X.shape[0]
    coef_gradient = X.T @ d_outputs
    intercept_gradient = np.add.reduce(d_outputs, axis=0) if settings.fit_intercept else None
    if settings.momentum:
        coef_gradient *= scale
        if settings.l2:
            coef_gradient += settings.l2 * params.coef
        params.coef -= rate * _momentum(coef_gradient, params, "coef_velocity", settings)
        if intercept_gradient is not None:
            intercept_gradient *= scale
            direction = _momentum(intercept_gradient, params, "intercept_velocity", settings)
            params.intercept -= rate * direction
    else:
        if settings.l2:
            params.coef *= 1.0 - rate * settings.l2
        params.coef -= (rate * scale) * coef_gradient
        if intercept_gradient is not None:
            params.intercept -= (rate * scale) * intercept_gradient
    if settings.l1:
        _soft_threshold(params.coef, rate * settings.l1)
    return loss_sum


def _momentum(gradient, params, velocity_name, settings):
    """Heavy-ball (or Nesterov) direction, as PyTorch's SGD defines it: ``v = mu v + g``."""
    velocity = getattr(params, velocity_name)
    if velocity is None:
        velocity = gradient.copy()
        setattr(params, velocity_name, velocity)
    else:
        velocity *= settings.momentum
        velocity += gradient
    if settings.nesterov:
        return gradient + settings.momentum * velocity
    return velocity


def _soft_threshold(coef, threshold):
    """Proximal step of ``threshold * ||coef||_1``, in place; keeps exact zeros."""
    shrunk = np.abs(coef)
    shrunk -= threshold
    np.maximum(shrunk, 0.0, out=shrunk)
    np.copysign(shrunk, coef, out=coef)


def _diverged(name, epoch, rate, problem):
    raise DivergenceError(
        f"{name} diverged in epoch {epoch} at learning rate {rate:.3g}: {problem}. Scale the "
        "features (for example with StandardScaler), lower learning_rate, or let "
        "LRFinderSearch pick it.",
        epoch=epoch,
        learning_rate=rate,
    )


def _report(params, epoch_loss, log, rates, seconds):
    line = (
        f"-- Epoch {params.n_epochs}: loss {epoch_loss:.6g}, learning rate "
        f"{rates[0]:.3g}..{rates[-1]:.3g}, {seconds:.2f} s"
    )
    if log.validation_scores:
        line += f", validation score {log.validation_scores[-1]:.6g}"
    print(line)
