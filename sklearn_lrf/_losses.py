"""Losses of linear models: value and gradient with respect to the linear outputs ``Z``.

A loss receives the raw outputs ``Z = X @ coef + intercept`` of shape ``(n_samples, n_outputs)``,
the encoded targets and optional per-sample weights, and returns the *sum* of the weighted
per-sample losses together with ``dZ``, the weighted per-sample derivatives. The training loop
divides by the batch size. ``Z`` may be overwritten (it is scratch space of the loop).

``curvature`` bounds the second derivative of the per-sample loss in ``Z`` (in the spectral norm
for the multinomial loss); it turns a bound on ``X``'s spectrum into a smoothness constant.
"""

import numpy as np
from scipy.special import expit, log_softmax


class SquaredError:
    """``l(z, y) = (z - y) ** 2 / 2``; targets of shape ``(n, 1)``."""

    curvature = 1.0

    @staticmethod
    def loss_gradient(Z, Y, sample_weight=None):
        residual = np.subtract(Z, Y, out=Z)
        if sample_weight is None:
            return 0.5 * float(np.vdot(residual, residual)), residual
        weighted = residual * sample_weight[:, None]
        return 0.5 * float(np.vdot(residual, weighted)), weighted


class BinaryLogLoss:
    """``l(z, y) = log(1 + exp(z)) - y z`` for ``y`` in {0, 1}; targets of shape ``(n, 1)``.

    ``np.logaddexp(0, z)`` computes ``log(1 + exp(z))`` without overflow.
    """

    curvature = 0.25

    @staticmethod
    def loss_gradient(Z, Y, sample_weight=None):
        # Summing softplus(z) and y z separately would cancel catastrophically for confident
        # predictions: subtract per sample, then sum.
        losses = np.logaddexp(0.0, Z)
        losses -= Y * Z
        gradient = expit(Z)
        gradient -= Y
        if sample_weight is None:
            return float(losses.sum()), gradient
        gradient *= sample_weight[:, None]
        return float(np.vdot(sample_weight, losses)), gradient


class MultinomialLogLoss:
    """``l(z, y) = logsumexp(z) - z[y]`` (softmax cross-entropy); targets are class codes ``(n,)``.

    The log-probabilities come from ``scipy.special.log_softmax``, which never overflows.
    """

    curvature = 0.5

    @staticmethod
    def loss_gradient(Z, Y, sample_weight=None):
        log_proba = log_softmax(Z, axis=1)
        rows = np.arange(Z.shape[0])
        losses = -log_proba[rows, Y]
        gradient = np.exp(log_proba, out=log_proba)
        gradient[rows, Y] -= 1.0
        if sample_weight is not None:
            losses *= sample_weight
            gradient *= sample_weight[:, None]
        return float(losses.sum()), gradient
