"""The one mini-batch SGD training loop behind ``fit``, ``partial_fit`` and the range test.

It owns batching, shuffling, the learning-rate schedule, momentum, the penalty, sample weights,
the per-epoch stopping rules and a per-step observer that may stop training. Estimators keep
scikit-learn glue; the finder observes steps through ``observer`` instead of re-implementing
training.

:func:`train` runs the epochs in Python; the updates within an epoch run in :func:`_sgd_steps`,
compiled by numba (cached on disk after the first call): each mini-batch row is read from X
once, where it lies, for both its outputs and its gradient, and the rows to come are
prefetched, so shuffling costs no copy of X.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.linalg import eigh
from scipy.sparse.linalg import LinearOperator, eigsh

from ._losses import (
    BINARY_LOG_LOSS,
    SQUARED_ERROR,
    binary_log_loss_parts,
    multinomial_loss_gradient,
    one_output_loss_gradient,
    squared_error_loss_gradient,
)
from ._prefetch import prefetch_row, prefetch_span

# When shuffling, the training loop prefetches the row this many bytes of X ahead of the one it
# reads, into the second-level cache (16 KiB measured best on 100 dense float64 columns, with
# the L2 prefetch: 14 to 16% faster than 8 KiB, which was best with the L1 prefetch; sparse
# rows: 4 to 16 KiB alike).
_PREFETCH_BYTES = 16384
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
# The lazily scaled sparse update folds its scale into the weights when it falls below this
# (scikit-learn's WeightVector does the same), so the division by it stays accurate.
_MIN_SCALE = 1e-9


class DivergenceError(FloatingPointError):
    """Training diverged: the loss or the coefficients became non-finite, or an epoch's training
    loss grew over ``DIVERGENCE_GROWTH`` (1000) times the best epoch's and above the first's.

    Attributes
    ----------
    epoch : int
        Epoch (1-based, counted over the estimator's life) in which it was detected.
    learning_rate : float
        Learning rate of the last update before it was detected.
    problem : str
        What was detected, e.g. ``"the training loss became non-finite"``.
    """

    def __init__(self, message, *, epoch, learning_rate, problem):
        super().__init__(message)
        self.epoch = epoch
        self.learning_rate = learning_rate
        self.problem = problem


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

    def __post_init__(self):
        # The training kernel updates flat views of these arrays.
        self.coef = np.ascontiguousarray(self.coef)
        self.intercept = np.ascontiguousarray(self.intercept)

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
            # Not np.vdot: a BLAS call would wake OpenBLAS's threads for one product.
            value += 0.5 * self.l2 * float(np.square(coef).sum())
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
        0.0 when the squared norms of the rows overflow.
    """
    n = X.shape[0]
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    squared_norms = _row_squared_norms(X) + float(fit_intercept)
    r2 = float(np.max(weights * squared_norms))
    if not math.isfinite(r2):  # the squares of X overflow: no step is safe
        return 0.0
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
    growth_check=True,
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
    growth_check : bool, default=True
        Raise :class:`DivergenceError` when an epoch's loss grows over ``DIVERGENCE_GROWTH``
        times its best. The range test, whose "epochs" are single mini-batches (one sample's
        loss can vary that much by noise), turns it off and judges divergence itself.
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
    kernel = _Kernel(X, Y, sample_weight, params, settings)
    # With an observer, run one update per kernel call so it sees every step.
    chunk = 1 if observer is not None else n_batches
    log = TrainingLog()
    best, epochs_without_improvement = math.inf, 0
    rate_scale = 1.0
    order = np.arange(n_samples)
    for _ in range(max_epochs):
        started = time.perf_counter()
        rates = _epoch_rates(settings.schedule, params, n_batches, rate_scale)
        if settings.shuffle:
            _shuffle(order, rng.random_sample(n_samples))
        batch_losses = np.empty(n_batches)
        for first in range(0, n_batches, chunk):
            count = min(chunk, n_batches - first)
            batches = slice(first, first + count)
            done = kernel.run(order, first, rates[batches], batch_losses[batches])
            params.n_updates += done
            if done < count:
                _diverged(
                    name,
                    params.n_epochs + 1,
                    rates[first + done],
                    "the training loss became non-finite",
                )
            if observer is not None:
                batch_rows = min(settings.batch_size, n_samples - first * settings.batch_size)
                step = params.n_updates - 1
                if observer(step, float(rates[first]), batch_losses[first] / batch_rows, params):
                    log.stopped_by_observer = True
                    return log
        total_loss = float(batch_losses.sum())
        params.n_epochs += 1
        if not (np.isfinite(params.coef).all() and np.isfinite(params.intercept).all()):
            _diverged(name, params.n_epochs, rates[-1], "the coefficients became non-finite")
        epoch_loss = total_loss / n_samples + settings.penalty(params.coef)
        if (
            growth_check
            and epoch_loss > DIVERGENCE_GROWTH * params.best_epoch_loss > 0
            and epoch_loss > params.first_epoch_loss
        ):
            _diverged(
                name,
                params.n_epochs,
                rates[-1],
                f"the training loss grew to {epoch_loss:.3g}, over {DIVERGENCE_GROWTH:g} times "
                f"its best ({params.best_epoch_loss:.3g})",
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
    return np.asarray(rates, dtype=np.float64) * scale


class _Kernel:
    """Calls :func:`_sgd_steps` with the arguments that stay fixed during :func:`train`.

    Dense data with several outputs trains on ``coef.T`` (each output a dot product over a
    contiguous row of X and of the weights); sparse data on ``coef`` (the outputs of one feature
    side by side). The working copies live for one call.
    """

    def __init__(self, X, Y, sample_weight, params, settings):
        dtype = params.coef.dtype
        if sp.issparse(X):
            X = X.tocsr()
            # Unsigned column indices and row offsets (views, no copy): numba then leaves out
            # the wraparound of negative indices from every read of a row and every gather and
            # scatter of the weights.
            indices = X.indices.view(f"u{X.indices.itemsize}")
            indptr = X.indptr.view(f"u{X.indptr.itemsize}")
            self.data = (None, X.data.astype(dtype, copy=False), indices, indptr)
            row_bytes = (X.data.itemsize + X.indices.itemsize) * X.nnz / max(X.shape[0], 1)
        else:
            X = np.ascontiguousarray(X, dtype=dtype)
            self.data = (X, None, None, None)
            row_bytes = X.shape[1] * X.itemsize
        self.prefetch_rows = (
            int(_PREFETCH_BYTES // max(row_bytes, 1)) + 1 if settings.shuffle else 0
        )
        self.transpose = not sp.issparse(X) and params.coef.shape[1] > 1
        self.targets = (
            np.ascontiguousarray(Y, dtype=dtype),
            None
            if sample_weight is None
            else np.ascontiguousarray(sample_weight[:, None], dtype=dtype),
        )
        if settings.momentum and params.coef_velocity is None:
            params.coef_velocity = np.zeros_like(params.coef)
            params.intercept_velocity = np.zeros_like(params.intercept)
        self.params = params
        self.momentum = bool(settings.momentum)
        self.settings = (
            settings.loss.code,
            float(settings.momentum),
            bool(settings.nesterov),
            float(settings.l2),
            float(settings.l1),
            bool(settings.fit_intercept),
        )
        self.batch_size = int(settings.batch_size)

    def run(self, order, first_batch, rates, batch_losses):
        """Run ``len(rates)`` updates from batch ``first_batch``; return how many completed."""
        params = self.params
        coef = params.coef
        velocity = params.coef_velocity if self.momentum else None
        if self.transpose:
            coef = coef.T.copy()
            velocity = None if velocity is None else velocity.T.copy()
        n_outputs = params.intercept.shape[0]
        done = _sgd_steps(
            *self.data,
            *self.targets,
            order,
            self.batch_size,
            first_batch,
            rates,
            self.prefetch_rows,
            coef.reshape(-1),
            params.intercept,
            None if velocity is None else velocity.reshape(-1),
            None if velocity is None else params.intercept_velocity,
            *self.settings,
            None if n_outputs == 1 else np.empty(n_outputs, coef.dtype),
            batch_losses,
        )
        if self.transpose:
            params.coef[:] = coef.T
            if velocity is not None:
                params.coef_velocity[:] = velocity.T
        return done


# nogil: fits running in threads (joblib's threading backend) train in parallel.
@njit(cache=True, nogil=True)
def _sgd_steps(
    X,
    X_data,
    X_indices,
    X_indptr,
    Y,
    sample_weight,
    order,
    batch_size,
    first_batch,
    rates,
    prefetch_rows,
    coef,
    intercept,
    coef_velocity,
    intercept_velocity,
    loss_code,
    momentum,
    nesterov,
    l2,
    l1,
    fit_intercept,
    outputs,
    batch_losses,
):
    """Mini-batch SGD updates. Batch ``b`` holds rows ``order[b * batch_size:(b + 1) *
    batch_size]`` of ``X``: dense, or CSR given as ``X_data``, ``X_indices``, ``X_indptr``, the
    unused ones None (numba then compiles each case without the other's branches);
    ``Y`` and ``sample_weight`` (or None) are columns, ``coef`` is flattened from
    ``(n_outputs, n_features)`` for dense X with several outputs, else from
    ``(n_features, n_outputs)``. The velocities are None without momentum, ``outputs`` (a
    buffer of one row's outputs) None with one output: the compiled cases leave out what they
    do not use. Writes each batch's summed weighted loss, measured before its update, into
    ``batch_losses``; stops before updating at a non-finite loss and returns the number of
    completed updates.

    On sparse data without momentum or L1, an update touches only the columns of its batch, as
    in scikit-learn's ``WeightVector``: the weights are ``scale * coef``, the L2 decay multiplies
    ``scale``, and ``coef`` holds the weights again on return.
    """
    lazy = X_indptr is not None and coef_velocity is None and l1 == 0.0
    gradient = np.empty(0 if lazy else coef.shape[0], coef.dtype)
    intercept_gradient = np.empty_like(intercept)
    # A batch's outputs, then their derivatives in them, row after row (float64): sparse rows,
    # and dense rows with one output (unused by the squared error, whose dense rows take one
    # pass; one small buffer per call).
    one_dense = X is not None and outputs is None
    slopes = np.empty(0 if X_indptr is None and not one_dense else batch_size * intercept.shape[0])
    scale = 1.0
    done = rates.shape[0]
    for batch in range(rates.shape[0]):
        start = (first_batch + batch) * batch_size
        stop = min(start + batch_size, order.shape[0])
        if not lazy:
            gradient[:] = 0.0
        intercept_gradient[:] = 0.0
        total = _batch_gradient(
            X,
            X_data,
            X_indices,
            X_indptr,
            Y,
            sample_weight,
            order,
            prefetch_rows,
            start,
            stop,
            coef,
            scale,
            intercept,
            loss_code,
            outputs,
            gradient,
            intercept_gradient,
            slopes,
        )
        if not math.isfinite(total):
            done = batch
            break
        batch_losses[batch] = total
        if lazy:
            scale = _lazy_step(
                X_data,
                X_indices,
                X_indptr,
                order,
                start,
                stop,
                slopes,
                coef,
                scale,
                intercept,
                intercept_gradient,
                rates[batch],
                l2,
                fit_intercept,
            )
        else:
            if X_indptr is not None:
                n_outputs = intercept.shape[0]
                _add_sparse(
                    X_data,
                    X_indices,
                    X_indptr,
                    order,
                    start,
                    stop,
                    slopes,
                    n_outputs,
                    1.0,
                    gradient,
                )
            _step(
                coef,
                intercept,
                gradient,
                intercept_gradient,
                rates[batch],
                stop - start,
                coef_velocity,
                intercept_velocity,
                momentum,
                nesterov,
                l2,
                l1,
                fit_intercept,
            )
    if scale != 1.0:
        for f in range(coef.shape[0]):
            coef[f] *= scale
    return done


# _batch_gradient reads each row once, where it lies in X, for both its outputs and its
# gradient, and prefetches the row (with its target and weight) ``prefetch_rows`` positions
# ahead. Its row loops are written out: numba does not inline a helper without
# reference-counting its array arguments once per row, which costs as much as the arithmetic.
# Reassociation lets LLVM vectorise the dot products; results stay deterministic per machine.


@njit(cache=True, fastmath={"reassoc", "contract"})
def _batch_gradient(
    X,
    X_data,
    X_indices,
    X_indptr,
    Y,
    sample_weight,
    order,
    prefetch_rows,
    start,
    stop,
    coef,
    scale,
    intercept,
    loss_code,
    outputs,
    gradient,
    intercept_gradient,
    slopes,
):
    """Add the gradient of the batch ``order[start:stop]`` to ``gradient`` (dense X) and
    ``intercept_gradient``; on sparse X, with the weights ``scale * coef``, write each row's
    derivatives in its outputs into ``slopes`` instead. Return the summed weighted loss.

    With one output (``outputs`` None), dense squared error adds each row's gradient as soon as
    it has the row's output. Otherwise (binary log loss, sparse rows) the outputs of the whole
    batch come first, then their losses, so that the ``exp`` and ``log1p`` of different rows
    overlap each other and the reads of the rows are not held up behind them (the log loss's
    gradient added in the row loop, even 2 to 8 rows late, made a prototype 18% slower); on
    dense X the gradient then adds the batch's rows again, from the second-level cache. With
    several outputs (multinomial log loss), ``outputs`` holds one row's outputs.
    """
    n_rows = order.shape[0]
    total = 0.0
    if outputs is None:
        # Dense squared error needs no exp: each row's gradient is added while the row is in the
        # first-level cache (about 6% off the float64 epoch of 200,000 x 100).
        one_pass = X is not None and loss_code == SQUARED_ERROR
        intercept_sum = intercept_gradient[0]  # a local: no store and reload per row
        for position in range(start, stop):
            if prefetch_rows and position + prefetch_rows < n_rows:
                upcoming = order[position + prefetch_rows]
                _prefetch(X, X_data, X_indices, X_indptr, Y, sample_weight, upcoming)
            row = order[position]
            if X is not None:
                dot = intercept[0]
                for f in range(X.shape[1]):
                    dot += X[row, f] * coef[f]
                if one_pass:
                    loss, slope = squared_error_loss_gradient(dot, float(Y[row, 0]))
                    weight = 1.0 if sample_weight is None else sample_weight[row, 0]
                    total += weight * loss
                    d_output = coef.dtype.type(weight * slope)
                    intercept_sum += d_output
                    for f in range(X.shape[1]):
                        gradient[f] += d_output * X[row, f]
                else:
                    slopes[position - start] = dot
            if X_indptr is not None:
                dot = 0.0
                for j in range(X_indptr[row], X_indptr[row + 1]):
                    dot += X_data[j] * coef[X_indices[j]]
                slopes[position - start] = intercept[0] + scale * dot
        if one_pass:
            intercept_gradient[0] = intercept_sum
            return total
        if loss_code == BINARY_LOG_LOSS and sample_weight is None:
            total = _binary_log_loss_slopes(Y, order, start, stop, slopes, intercept_gradient)
        else:
            for position in range(start, stop):
                i = order[position]
                loss, slope = one_output_loss_gradient(
                    loss_code, slopes[position - start], float(Y[i, 0])
                )
                weight = 1.0 if sample_weight is None else sample_weight[i, 0]
                total += weight * loss
                d_output = coef.dtype.type(weight * slope)
                slopes[position - start] = d_output
                intercept_sum += d_output
            intercept_gradient[0] = intercept_sum
        if X is not None:
            _add_dense(X, order, start, stop, slopes, gradient)
        return total

    n_outputs = intercept.shape[0]
    for position in range(start, stop):
        i = order[position]
        if prefetch_rows and position + prefetch_rows < n_rows:
            _prefetch(
                X, X_data, X_indices, X_indptr, Y, sample_weight, order[position + prefetch_rows]
            )
        if X is not None:
            n_features = X.shape[1]
            for c in range(n_outputs):
                dot = intercept[c]
                for f in range(n_features):
                    dot += X[i, f] * coef[c * n_features + f]
                outputs[c] = dot
        if X_indptr is not None:
            outputs[:] = 0.0
            for j in range(X_indptr[i], X_indptr[i + 1]):
                offset = X_indices[j] * n_outputs
                for c in range(n_outputs):
                    outputs[c] += X_data[j] * coef[offset + c]
            for c in range(n_outputs):
                outputs[c] = intercept[c] + scale * outputs[c]
        loss = multinomial_loss_gradient(outputs, float(Y[i, 0]), outputs)
        weight = 1.0 if sample_weight is None else sample_weight[i, 0]
        total += weight * loss
        for c in range(n_outputs):
            outputs[c] *= weight
            intercept_gradient[c] += outputs[c]
        if X is not None:
            n_features = X.shape[1]
            for c in range(n_outputs):
                d_output = outputs[c]
                for f in range(n_features):
                    gradient[c * n_features + f] += d_output * X[i, f]
        if X_indptr is not None:
            for c in range(n_outputs):
                slopes[(position - start) * n_outputs + c] = outputs[c]
    return total


# Rows whose 1 + exp(-|z|) (at most 2 each) are multiplied before one log: 2 ** 256 is far
# from overflow.
_LOG_PRODUCT_ROWS = 256


@njit(cache=True, inline="always")
def _binary_log_loss_slopes(Y, order, start, stop, slopes, intercept_gradient):
    """Unweighted binary log loss of the batch whose outputs ``slopes`` holds: overwrite them
    with the derivatives (rounded to the dtype of ``intercept_gradient``, to which they are
    added), return the summed loss.

    The ``log1p`` of each row becomes one ``log`` of a product per ``_LOG_PRODUCT_ROWS`` rows
    (the ``exp`` and the division stay per row): about 10% off the float64 epoch of 200,000 x 100.
    The sum changes by at most a few units of 1e-16 per row, and a non-finite output still
    makes it non-finite."""
    total = 0.0
    product = 1.0
    intercept_sum = intercept_gradient[0]  # a local: no store and reload per row
    for position in range(start, stop):
        z = slopes[position - start]
        small, linear, slope = binary_log_loss_parts(z, float(Y[order[position], 0]))
        total += linear
        product *= 1.0 + small
        if (position - start) % _LOG_PRODUCT_ROWS == _LOG_PRODUCT_ROWS - 1:
            total += math.log(product)
            product = 1.0
        d_output = intercept_gradient.dtype.type(slope)
        slopes[position - start] = d_output
        intercept_sum += d_output
    intercept_gradient[0] = intercept_sum
    return total + math.log(product)


# _add_dense and _step are inlined into their one caller (once per batch): compiled with it,
# not as functions of their own, they cut a cold first fit's compilation by about 0.35 s.
@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def _add_dense(X, order, start, stop, slopes, gradient):
    """``gradient += sum_r slopes_r x_r`` over the dense rows ``x_r`` of ``order[start:stop]``.

    Two rows at a time: the gradient is then loaded and stored once per pair of rows (the rows,
    read moments ago, come from the second-level cache)."""
    position = start
    while position + 1 < stop:
        first, second = order[position], order[position + 1]
        d_first = gradient.dtype.type(slopes[position - start])
        d_second = gradient.dtype.type(slopes[position + 1 - start])
        for f in range(X.shape[1]):
            gradient[f] += d_first * X[first, f] + d_second * X[second, f]
        position += 2
    if position < stop:
        row = order[position]
        d_output = gradient.dtype.type(slopes[position - start])
        for f in range(X.shape[1]):
            gradient[f] += d_output * X[row, f]


@njit(cache=True, inline="always")
def _prefetch(X, X_data, X_indices, X_indptr, Y, sample_weight, row):
    """Prefetch row ``row`` of the data, its target and its weight."""
    if X is not None:
        prefetch_row(X, row)
    if X_indptr is not None:
        prefetch_span(X_data, X_indptr[row], X_indptr[row + 1])
        prefetch_span(X_indices, X_indptr[row], X_indptr[row + 1])
    prefetch_row(Y, row)
    if sample_weight is not None:
        prefetch_row(sample_weight, row)


@njit(cache=True)
def _lazy_step(
    X_data,
    X_indices,
    X_indptr,
    order,
    start,
    stop,
    slopes,
    coef,
    scale,
    intercept,
    intercept_gradient,
    rate,
    l2,
    fit_intercept,
):
    """The update of :func:`_step` without momentum or L1 on the weights ``scale * coef``, from
    the ``slopes`` of the sparse rows ``order[start:stop]``: decays ``scale`` and updates only
    the columns the rows hold. Returns the new scale."""
    step = rate / (stop - start)
    scale *= 1.0 - rate * l2
    if abs(scale) < _MIN_SCALE:
        for f in range(coef.shape[0]):
            coef[f] *= scale
        scale = 1.0
    n_outputs = intercept.shape[0]
    factor = -step / scale
    _add_sparse(X_data, X_indices, X_indptr, order, start, stop, slopes, n_outputs, factor, coef)
    if fit_intercept:
        for c in range(n_outputs):
            intercept[c] -= step * intercept_gradient[c]
    return scale


@njit(cache=True)
def _add_sparse(X_data, X_indices, X_indptr, order, start, stop, slopes, n_outputs, factor, target):
    """``target += factor * sum_r outer(x_r, slopes_r)`` over the sparse rows ``x_r`` of
    ``order[start:stop]`` with their ``n_outputs`` slopes each, ``target`` flattened from
    ``(n_features, n_outputs)``."""
    for position in range(start, stop):
        i = order[position]
        first = (position - start) * n_outputs
        if n_outputs == 1:
            # A loop of one output per stored value costs as much as the update itself.
            slope = factor * slopes[first]
            for j in range(X_indptr[i], X_indptr[i + 1]):
                target[X_indices[j]] += slope * X_data[j]
            continue
        for j in range(X_indptr[i], X_indptr[i + 1]):
            x = factor * X_data[j]
            offset = X_indices[j] * n_outputs
            for c in range(n_outputs):
                target[offset + c] += x * slopes[first + c]


@njit(cache=True)
def _shuffle(order, draws):
    """Write a Fisher-Yates shuffle of ``0, ..., n - 1`` into ``order``, with ``draws`` uniform
    on [0, 1): from the identity, entry ``q`` swaps with entry ``q + floor(draws[q] * (n -
    q))``. A uniformly random permutation (to within the 2**-53 resolution of the draws). With
    the draws it takes 0.7 ms for 200,000 rows, ``RandomState.permutation`` 1.8 ms: it draws
    bounded integers one by one."""
    n_rows = order.shape[0]
    for q in range(n_rows):
        order[q] = q
    for q in range(n_rows - 1):
        other = min(q + int(draws[q] * (n_rows - q)), n_rows - 1)
        order[q], order[other] = order[other], order[q]


@njit(cache=True, inline="always")
def _step(
    coef,
    intercept,
    gradient,
    intercept_gradient,
    rate,
    n_rows,
    coef_velocity,
    intercept_velocity,
    momentum,
    nesterov,
    l2,
    l1,
    fit_intercept,
):
    """One update from the summed batch gradient.

    Without momentum (velocities None) the L2 part is weight decay, ``w <- (1 - rate l2) w -
    rate g``; with it, PyTorch's heavy ball ``v <- momentum v + g + l2 w``, ``w <- w - rate v``
    (Nesterov: ``w <- w - rate (g + l2 w + momentum v)``). The L1 part is a proximal step that
    keeps exact zeros.
    """
    scale = 1.0 / n_rows
    if coef_velocity is not None:
        _momentum_step(coef, gradient, coef_velocity, scale, l2, rate, momentum, nesterov)
        if fit_intercept:
            _momentum_step(
                intercept,
                intercept_gradient,
                intercept_velocity,
                scale,
                0.0,
                rate,
                momentum,
                nesterov,
            )
    else:
        decay = 1.0 - rate * l2
        step = rate * scale
        for f in range(coef.shape[0]):
            coef[f] = decay * coef[f] - step * gradient[f]
        if fit_intercept:
            for c in range(intercept.shape[0]):
                intercept[c] -= step * intercept_gradient[c]
    if l1:
        threshold = rate * l1
        for f in range(coef.shape[0]):
            coef[f] = math.copysign(max(abs(coef[f]) - threshold, 0.0), coef[f])


@njit(cache=True)
def _momentum_step(weights, gradient, velocity, scale, l2, rate, momentum, nesterov):
    """Heavy-ball (or Nesterov) step on ``weights`` in place, as PyTorch's SGD defines it."""
    for f in range(weights.shape[0]):
        g = gradient[f] * scale + l2 * weights[f]
        velocity[f] = momentum * velocity[f] + g
        direction = g + momentum * velocity[f] if nesterov else velocity[f]
        weights[f] -= rate * direction


def _diverged(name, epoch, rate, problem):
    raise DivergenceError(
        f"{name} diverged in epoch {epoch} at learning rate {rate:.3g}: {problem}. Scale the "
        "features (for example with StandardScaler), lower learning_rate, or let "
        "LRFinderSearch pick it.",
        epoch=epoch,
        learning_rate=rate,
        problem=problem,
    )


def _report(params, epoch_loss, log, rates, seconds):
    line = (
        f"-- Epoch {params.n_epochs}: loss {epoch_loss:.6g}, learning rate "
        f"{rates[0]:.3g}..{rates[-1]:.3g}, {seconds:.2f} s"
    )
    if log.validation_scores:
        line += f", validation score {log.validation_scores[-1]:.6g}"
    print(line)
