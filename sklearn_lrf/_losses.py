"""Losses of linear models: value and gradient with respect to the linear outputs ``z``.

Each loss is defined once, per sample, in a compiled function that the training loop in ``_sgd``
calls row by row: :func:`one_output_loss_gradient` (squared error, binary log loss) and
:func:`multinomial_loss_gradient`. A sample's target ``y`` is a float: the value, the 0/1 label
or the class code. The loss classes apply the same functions to whole arrays, returning the
*sum* of the weighted per-sample losses with ``dZ``, the weighted per-sample derivatives.

``curvature`` bounds the second derivative of the per-sample loss in ``z`` (in the spectral norm
for the multinomial loss); it turns a bound on ``X``'s spectrum into a smoothness constant.

Numba's on-disk cache does not see edits to this module from ``_sgd``, which inlines it: after
changing a loss, delete ``sklearn_lrf/__pycache__/*.nb*`` (or touch ``_sgd.py``).
"""

import math

import numpy as np
from numba import njit

SQUARED_ERROR, BINARY_LOG_LOSS, MULTINOMIAL_LOG_LOSS = 0, 1, 2


@njit(cache=True, inline="always")
def one_output_loss_gradient(code, z, y):
    """``(loss, dl/dz)`` of one sample with output ``z`` and target ``y``, both floats.

    - squared error: ``(z - y) ** 2 / 2``;
    - binary log loss: ``log(1 + exp(z)) - y z``, computed as
      ``(1 - y) softplus(z) + y softplus(-z)`` with ``softplus(t) = max(t, 0) + log1p(exp(-|t|))``,
      so a confident right answer adds its tiny loss instead of the difference of two large
      numbers, and nothing overflows. One ``exp`` serves the loss and the sigmoid.
    """
    if code == SQUARED_ERROR:
        return squared_error_loss_gradient(z, y)
    small, linear, slope = binary_log_loss_parts(z, y)
    return math.log1p(small) + linear, slope


@njit(cache=True, inline="always")
def squared_error_loss_gradient(z, y):
    """``(loss, dl/dz)`` of the squared error ``(z - y) ** 2 / 2``."""
    residual = z - y
    return 0.5 * residual * residual, residual


@njit(cache=True, inline="always")
def binary_log_loss_parts(z, y):
    """``(small, linear, dl/dz)`` of the binary log loss, which is ``log1p(small) + linear``:
    ``small = exp(-|z|)``, ``linear = (1 - y) max(z, 0) + y max(-z, 0)``. A caller summing the
    losses of many samples may take one ``log`` of the product of their ``1 + small``."""
    small = math.exp(-abs(z))
    linear = (1.0 - y) * max(z, 0.0) + y * max(-z, 0.0)
    probability = (1.0 if z >= 0 else small) / (1.0 + small)
    return small, linear, probability - y


@njit(cache=True, inline="always")
def multinomial_loss_gradient(z, y, dz):
    """Loss ``logsumexp(z) - z[y]`` of one sample with outputs ``z`` (shifted by their maximum)
    and class code ``y``; writes ``dl/dz = softmax(z) - onehot(y)`` into ``dz``, which may be
    ``z`` itself. One ``exp`` per class serves the loss and the softmax."""
    label = int(y)
    top = float(z.max())
    shifted_label = float(z[label]) - top
    total = 0.0
    for j in range(z.shape[0]):
        exponential = math.exp(z[j] - top)
        dz[j] = exponential
        total += exponential
    inverse = 1.0 / total
    for j in range(z.shape[0]):
        dz[j] *= inverse
    dz[label] -= 1.0
    return math.log(total) - shifted_label


@njit(cache=True)
def _loss_gradient_rows(code, Z, Y, sample_weight):
    gradient = np.empty_like(Z)
    total = 0.0
    for i in range(Z.shape[0]):
        if code == MULTINOMIAL_LOG_LOSS:
            loss = multinomial_loss_gradient(Z[i], float(Y[i, 0]), gradient[i])
        else:
            loss, gradient[i, 0] = one_output_loss_gradient(code, float(Z[i, 0]), float(Y[i, 0]))
        if sample_weight is not None:
            loss *= sample_weight[i]
            gradient[i] *= sample_weight[i]
        total += loss
    return total, gradient


class _Loss:
    """A loss over whole arrays; subclasses set ``code`` and ``curvature``."""

    code = None
    curvature = None

    @classmethod
    def loss_gradient(cls, Z, Y, sample_weight=None):
        """Summed weighted loss and ``dZ`` for outputs ``Z`` (n, k) and targets ``Y`` (n, 1).

        ``dZ`` has the shape and dtype of ``Z``; ``Z`` itself is left unchanged.

        Returns
        -------
        loss : float
        gradient : ndarray
        """
        weights = None if sample_weight is None else np.asarray(sample_weight, float)
        loss, gradient = _loss_gradient_rows(cls.code, Z, np.asarray(Y), weights)
        return float(loss), gradient


class SquaredError(_Loss):
    """``l(z, y) = (z - y) ** 2 / 2``; one output."""

    code = SQUARED_ERROR
    curvature = 1.0


class BinaryLogLoss(_Loss):
    """``l(z, y) = log(1 + exp(z)) - y z`` for ``y`` in {0, 1}; one output."""

    code = BINARY_LOG_LOSS
    curvature = 0.25


class MultinomialLogLoss(_Loss):
    """``l(z, y) = logsumexp(z) - z[y]`` (softmax cross-entropy); one output per class and
    the class code as target."""

    code = MULTINOMIAL_LOG_LOSS
    curvature = 0.5
