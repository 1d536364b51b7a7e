"""Other finders' suggestion rules and a parameter-free baseline, re-implemented from source.

- torch-lr-finder (davidtvs/pytorch-lr-finder, ``torch_lr_finder/lr_finder.py`` at 76df305):
  ``range_test`` smooths the raw losses with ``s_0 = l_0``, ``s_i = f l_i + (1 - f) s_{i-1}``
  (``smooth_f=0.05``) and stops after the first point with ``s_i > diverge_th * best``
  (``diverge_th=5``), that point included; ``plot(suggest_lr=True)`` trims
  ``[skip_start:-skip_end]`` (10 and 5) and returns the rate at ``argmin(np.gradient(losses))``
  (gradient over the index).
- Lightning (Lightning-AI/pytorch-lightning, ``src/lightning/pytorch/tuner/lr_finder.py``):
  ``_LRFinder.suggestion(skip_begin=10, skip_end=1)`` on its moving average (``beta=0.98``,
  debiased one step off: :func:`lightning_curve`): since PR #21055 (August 2025) the gradient
  is taken with respect to the learning rate, ``torch.gradient(losses, spacing=[lrs])``, which
  uses the same formulas as ``np.gradient(losses, lrs)``; before it, over the index.
- DoG (Ivgi, Hinder and Carmon 2023, "DoG is SGD's best friend"): SGD with
  ``eta_t = max(r_eps, max_{i<=t} ||x_i - x_0||) / sqrt(sum_{i<=t} ||g_i||^2)``,
  ``r_eps = 1e-6 (1 + ||x_0||)``, for our linear models (same loss, L2 penalty, batches, epochs);
  the last iterate is returned.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_softmax, softmax


def torch_lr_finder_curve(losses, smooth_f=0.05, diverge_th=5.0):
    """torch-lr-finder's recorded curve from raw losses: its smoothing and its stop.

    Returns the smoothed losses up to and including the first point above
    ``diverge_th`` times the best smoothed loss so far.
    """
    history, best = [], None
    for i, loss in enumerate(losses):
        if i == 0:
            best = loss
        else:
            if smooth_f > 0:
                loss = smooth_f * loss + (1 - smooth_f) * history[-1]
            if loss < best:
                best = loss
        history.append(loss)
        if loss > diverge_th * best:
            break
    return np.asarray(history)


def torch_lr_finder(lrs, losses, skip_start=10, skip_end=5):
    """torch-lr-finder's suggestion: steepest ``np.gradient`` over ``[skip_start:-skip_end]``.

    ``lrs`` and ``losses`` are the recorded history (see :func:`torch_lr_finder_curve`);
    returns NaN when the history is shorter than ``skip_start + skip_end + 2``.
    """
    if len(losses) < skip_start + skip_end + 2:
        return np.nan
    end = len(losses) - skip_end
    trimmed = np.asarray(losses[skip_start:end], dtype=float)
    return float(np.asarray(lrs)[skip_start:end][np.gradient(trimmed).argmin()])


def lightning_curve(losses, beta=0.98, early_stop_threshold=4.0):
    """Lightning's recorded curve from raw losses: its moving average and its stop.

    ``_LRCallback.on_train_batch_end`` divides the average by ``1 - beta ** (step + 1)`` with
    ``step = trainer.global_step``, which already counts the batch's update: at point ``i`` the
    divisor is ``1 - beta ** (i + 2)``, one step off, so the curve starts at ``0.505`` times the
    first loss (``benchmarks/results/peers/peer_finders.json`` records it from Lightning 2.6.6).
    From the second step on, it stops after the first point above ``early_stop_threshold`` times
    the best so far, that point included.
    """
    average, best, history = 0.0, np.inf, []
    for i, loss in enumerate(losses):
        step = i + 1
        average = beta * average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (step + 1))
        diverged = step > 1 and smoothed > early_stop_threshold * best
        if smoothed < best or step == 1:
            best = smoothed
        history.append(smoothed)
        if diverged:
            break
    return np.asarray(history)


def lightning(lrs, losses, skip_begin=10, skip_end=1, wrt_lr=True):
    """Lightning's suggestion: steepest gradient of the finite trimmed losses.

    ``wrt_lr=True`` is the rule since PR #21055 (gradient w.r.t. the learning rate);
    ``wrt_lr=False`` the rule before it (unit spacing). NaN with fewer than 2 finite points.
    """
    end = len(losses) - skip_end
    trimmed = np.asarray(losses[skip_begin:end], dtype=float)
    rates = np.asarray(lrs[skip_begin:end], dtype=float)
    finite = np.isfinite(trimmed)
    if finite.sum() < 2:
        return np.nan
    trimmed, rates = trimmed[finite], rates[finite]
    gradients = np.gradient(trimmed, rates) if wrt_lr else np.gradient(trimmed)
    return float(rates[np.argmin(gradients)])


def _loss_and_output_gradient(Z, Y, task):
    """Mean loss and d(mean loss)/dZ for outputs ``Z`` (n, k)."""
    n = Z.shape[0]
    if task == "regression":
        residual = Z - Y
        return 0.5 * np.mean(residual**2), residual / n
    if task == "binary":
        z = Z[:, 0]
        loss = np.mean(np.logaddexp(0, z) - Y[:, 0] * z)
        return loss, (expit(z) - Y[:, 0])[:, None] / n
    loss = -np.mean(np.sum(Y * log_softmax(Z, axis=1), axis=1))
    return loss, (softmax(Z, axis=1) - Y) / n


def encode_targets(y, task, classes=None):
    """Targets as the linear model's outputs see them: (n, 1) values, 0/1, or one-hot."""
    if task == "regression":
        return np.asarray(y, dtype=float)[:, None]
    classes = np.unique(y) if classes is None else classes
    codes = np.searchsorted(classes, y)
    if task == "binary":
        return (codes == 1).astype(float)[:, None]
    return np.eye(len(classes))[codes]


def linear_outputs(X, coef, intercept):
    return np.asarray(X @ coef) + intercept


def dog(X, y, task, *, epochs, batch_size=32, alpha=1e-4, seed=0):
    """Train a linear model by mini-batch SGD with DoG step sizes (no learning rate).

    Minimises the mean loss of ``task`` (squared error / 2, binary or multinomial log loss)
    plus ``alpha / 2 ||coef||^2`` from zero weights, shuffling every epoch.

    Returns
    -------
    coef, intercept : ndarray of shape (n_features, k) and (k,)
    n_updates : int
    """
    Y = encode_targets(y, task)
    n, d = X.shape
    k = Y.shape[1]
    coef, intercept = np.zeros((d, k)), np.zeros(k)
    # r_eps = 1e-6 (1 + ||x_0||) with x_0 = 0
    max_distance, gradient_sum, n_updates = 1e-6, 0.0, 0
    rng = np.random.RandomState(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            Xb = X[rows]
            _, dZ = _loss_and_output_gradient(linear_outputs(Xb, coef, intercept), Y[rows], task)
            grad_coef = np.asarray(Xb.T @ dZ) + alpha * coef
            grad_intercept = dZ.sum(axis=0)
            gradient_sum += np.sum(grad_coef**2) + np.sum(grad_intercept**2)
            rate = max_distance / np.sqrt(gradient_sum) if gradient_sum > 0 else 0.0
            coef -= rate * grad_coef
            intercept -= rate * grad_intercept
            distance = np.sqrt(np.sum(coef**2) + np.sum(intercept**2))
            max_distance = max(max_distance, distance)
            n_updates += 1
    return coef, intercept, n_updates


def dog_validation_loss(X_train, y_train, X_val, y_val, task, *, epochs, seed=0):
    """Validation loss (squared error / 2 or log loss) of the DoG-trained linear model."""
    if sp.issparse(X_train):
        X_train, X_val = X_train.tocsr(), X_val.tocsr()
    coef, intercept, n_updates = dog(X_train, y_train, task, epochs=epochs, seed=seed)
    Z = linear_outputs(X_val, coef, intercept)
    Y = encode_targets(y_val, task, classes=np.unique(y_train))
    loss = _loss_and_output_gradient(Z, Y, task)[0]
    return float(loss) if np.isfinite(loss) else np.inf, n_updates
