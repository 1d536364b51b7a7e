"""Losses: values against independent references, gradients against finite differences,
numerical stability at extreme outputs, and the curvature bounds."""

import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.metrics import log_loss

from sklearn_lrf._losses import BinaryLogLoss, MultinomialLogLoss, SquaredError

N_SAMPLES, N_CLASSES = 7, 4


def _weights(sample_weight):
    return np.ones(N_SAMPLES) if sample_weight is None else sample_weight


class Squared:
    loss = SquaredError
    n_outputs = 1

    @staticmethod
    def targets(rng, n):
        return rng.normal(size=(n, 1))

    @staticmethod
    def reference(Z, Y, sample_weight):
        return 0.5 * float(np.sum(_weights(sample_weight)[:, None] * (Z - Y) ** 2))


class Binary:
    loss = BinaryLogLoss
    n_outputs = 1

    @staticmethod
    def targets(rng, n):
        return rng.integers(0, 2, size=(n, 1)).astype(float)

    @staticmethod
    def reference(Z, Y, sample_weight):
        return log_loss(
            Y.ravel(),
            expit(Z.ravel()),
            normalize=False,
            sample_weight=sample_weight,
            labels=[0, 1],
        )


class Multinomial:
    loss = MultinomialLogLoss
    n_outputs = N_CLASSES

    @staticmethod
    def targets(rng, n):
        return rng.integers(0, N_CLASSES, size=(n, 1)).astype(float)

    @staticmethod
    def reference(Z, Y, sample_weight):
        return log_loss(
            Y.ravel(),
            softmax(Z, axis=1),
            normalize=False,
            sample_weight=sample_weight,
            labels=np.arange(N_CLASSES),
        )


PROBLEMS = [Squared, Binary, Multinomial]
WEIGHTS = {
    "unweighted": None,
    "weighted": np.array([0.5, 2.0, 0.0, 1.0, 3.5, 0.1, 1.0]),
}


def _problem(problem, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=(N_SAMPLES, problem.n_outputs))
    return Z, problem.targets(rng, N_SAMPLES)


def _loss(problem, Z, Y, sample_weight):
    """Loss value on a copy of ``Z`` (``loss_gradient`` may overwrite its input)."""
    return problem.loss.loss_gradient(Z.copy(), Y, sample_weight)[0]


@pytest.fixture(params=PROBLEMS, ids=lambda p: p.__name__)
def problem(request):
    return request.param


@pytest.fixture(params=WEIGHTS.values(), ids=WEIGHTS.keys())
def sample_weight(request):
    return request.param


def test_value_matches_reference(problem, sample_weight):
    """The summed weighted loss equals 0.5 * sum((z - y)^2) or sklearn's unnormalised log_loss."""
    Z, Y = _problem(problem)
    loss, gradient = problem.loss.loss_gradient(Z.copy(), Y, sample_weight)
    assert type(loss) is float
    assert gradient.shape == Z.shape
    assert loss == pytest.approx(problem.reference(Z, Y, sample_weight), rel=1e-10)


def test_gradient_matches_central_differences(problem, sample_weight):
    """``dZ[i, j]`` is the derivative of the summed loss in ``Z[i, j]``."""
    Z, Y = _problem(problem, seed=1)
    _, gradient = problem.loss.loss_gradient(Z.copy(), Y, sample_weight)
    eps = 1e-6
    numerical = np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        step = np.zeros_like(Z)
        step[index] = eps
        numerical[index] = (
            _loss(problem, Z + step, Y, sample_weight) - _loss(problem, Z - step, Y, sample_weight)
        ) / (2 * eps)
    np.testing.assert_allclose(gradient, numerical, rtol=1e-6, atol=1e-8)


def test_weights_scale_each_sample(problem):
    """Weight ``w_i`` multiplies sample ``i``'s loss and gradient row; weight 0 removes it."""
    Z, Y = _problem(problem, seed=2)
    w = WEIGHTS["weighted"]
    loss, gradient = problem.loss.loss_gradient(Z.copy(), Y, w)
    per_sample = [_loss(problem, Z[i : i + 1], Y[i : i + 1], None) for i in range(N_SAMPLES)]
    assert loss == pytest.approx(np.dot(w, per_sample), rel=1e-12)
    _, unweighted = problem.loss.loss_gradient(Z.copy(), Y)
    np.testing.assert_allclose(gradient, w[:, None] * unweighted, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Numerical stability
# ---------------------------------------------------------------------------------------------

# Outputs far apart (>= 1000) make every exp(-gap) vanish, so the loss is exactly its asymptote:
# binary relu(z) - y z, multinomial max(z) - z[y]; the gradient is exactly p - onehot(y) with p
# a one-hot vector.
EXTREME = {
    "binary": (
        BinaryLogLoss,
        np.array([[1e4], [-1e4], [1e3], [-1e3], [1e4], [-1e4]]),
        np.array([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]]),
        1e4 + 1e4 + 1e3 + 1e3,
        np.array([[1.0], [-1.0], [1.0], [-1.0], [0.0], [0.0]]),
    ),
    "multinomial": (
        MultinomialLogLoss,
        np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [1e3, 0.0, -1e3], [-1e4, -9e3, -1e4]]),
        np.array([[1.0], [2.0], [0.0], [0.0]]),
        2e4 + 5e3 + 0.0 + 1e3,
        np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]]),
    ),
}


@pytest.fixture
def strict_floating_point():
    """Turn every warning and any overflow / invalid / divide-by-zero flag into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("strict_floating_point")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("loss", "Z", "Y", "expected_loss", "expected_gradient"), EXTREME.values(), ids=EXTREME.keys()
)
def test_extreme_outputs_give_exact_asymptotes(loss, Z, Y, expected_loss, expected_gradient, dtype):
    value, gradient = loss.loss_gradient(Z.astype(dtype), Y)
    assert value == expected_loss
    np.testing.assert_array_equal(gradient, expected_gradient)


def _stable_reference(problem, Z, Y):
    """Per-sample log losses in float64 via an explicit max shift."""
    Z = Z.astype(np.float64)
    if problem is Binary:
        z, y = Z.ravel(), Y.ravel()
        return np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z)
    top = Z.max(axis=1)
    log_norm = top + np.log(np.sum(np.exp(Z - top[:, None]), axis=1))
    return np.sum(log_norm - Z[np.arange(len(Y)), Y.ravel().astype(int)])


@pytest.mark.usefixtures("strict_floating_point")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("problem", [Binary, Multinomial], ids=lambda p: p.__name__)
def test_large_random_outputs_are_finite_and_accurate(problem, dtype):
    """Outputs spread over [-1e4, 1e4]: finite loss and gradient, loss matching a float64
    reference, gradient rows of a softmax / sigmoid minus the target (entries in [-1, 1])."""
    rng = np.random.default_rng(3)
    n = 50
    Z = rng.uniform(-1e4, 1e4, size=(n, problem.n_outputs)).astype(dtype)
    Y = problem.targets(rng, n)
    value, gradient = problem.loss.loss_gradient(Z.copy(), Y, rng.uniform(0.5, 2.0, size=n))
    assert np.isfinite(value)
    assert np.all(np.isfinite(gradient))
    assert np.all(np.abs(gradient) <= 2.0)
    unweighted, _ = problem.loss.loss_gradient(Z.copy(), Y)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert unweighted == pytest.approx(_stable_reference(problem, Z, Y), rel=rtol)


def _confident(problem, rng, n, dtype):
    """``n`` samples predicted right with margins in [20, 1e4], then 4 with moderate outputs."""
    margin = rng.uniform(20, 1e4, size=n)
    if problem is Binary:
        sign = rng.choice([-1.0, 1.0], size=n)
        Z, Y = (sign * margin)[:, None], (sign > 0).astype(float)[:, None]
    else:
        Y = problem.targets(rng, n)
        Z = rng.normal(size=(n, N_CLASSES))
        Z[np.arange(n), Y.ravel().astype(int)] += margin
    Z_moderate, Y_moderate = _problem(problem, seed=7)
    return np.vstack([Z, Z_moderate[:4]]).astype(dtype), np.concatenate([Y, Y_moderate[:4]])


@pytest.mark.usefixtures("strict_floating_point")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    ("problem", "dtype"),
    [
        pytest.param(Binary, np.float32, id="Binary-float32"),
        pytest.param(Binary, np.float64, id="Binary-float64"),
        pytest.param(Multinomial, np.float32, id="Multinomial-float32"),
        pytest.param(Multinomial, np.float64, id="Multinomial-float64"),
    ],
)
def test_confident_predictions_keep_small_losses_accurate(problem, dtype, weighted):
    """Huge correct margins add ~0 each: the sum stays non-negative and accurate to the
    precision of the small per-sample losses, not of the margins."""
    rng = np.random.default_rng(6)
    Z, Y = _confident(problem, rng, 64, dtype)
    sample_weight = np.ones(len(Y)) if weighted else None
    value, _ = problem.loss.loss_gradient(Z.copy(), Y, sample_weight)
    assert value >= 0
    assert value == pytest.approx(_stable_reference(problem, Z, Y), rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# Curvature
# ---------------------------------------------------------------------------------------------


def _hessians(loss, Z):
    """Per-sample Hessians of the loss in ``z`` (closed forms), shape (n, k, k)."""
    if loss is SquaredError:
        return np.ones((len(Z), 1, 1))
    if loss is BinaryLogLoss:
        p = expit(Z)
        return (p * (1 - p))[:, :, None]
    P = softmax(Z, axis=1)
    return np.einsum("ij,jk->ijk", P, np.eye(Z.shape[1])) - P[:, :, None] * P[:, None, :]


CURVATURE_CASES = {
    "squared": (SquaredError, Squared.targets, 1),
    "binary": (BinaryLogLoss, Binary.targets, 1),
    "multinomial-2": (MultinomialLogLoss, lambda rng, n: rng.integers(0, 2, (n, 1)) * 1.0, 2),
    "multinomial-5": (MultinomialLogLoss, lambda rng, n: rng.integers(0, 5, (n, 1)) * 1.0, 5),
}


@pytest.mark.parametrize(
    ("loss", "targets", "k"), CURVATURE_CASES.values(), ids=CURVATURE_CASES.keys()
)
def test_hessian_closed_form_matches_gradient_differences(loss, targets, k):
    """The Hessians used below are the Jacobians of the library's own gradient."""
    rng = np.random.default_rng(4)
    Z = rng.normal(scale=2.0, size=(5, k))
    Y = targets(rng, 5)
    eps = 1e-6
    numerical = np.empty((5, k, k))
    for j in range(k):
        step = np.zeros_like(Z)
        step[:, j] = eps
        plus = loss.loss_gradient(Z + step, Y)[1]
        minus = loss.loss_gradient(Z - step, Y)[1]
        numerical[:, :, j] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(numerical, _hessians(loss, Z), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    ("loss", "k"),
    [
        (SquaredError, 1),
        (BinaryLogLoss, 1),
        (MultinomialLogLoss, 2),
        (MultinomialLogLoss, 3),
        (MultinomialLogLoss, 10),
    ],
    ids=["squared", "binary", "multinomial-2", "multinomial-3", "multinomial-10"],
)
def test_curvature_bounds_the_hessian(loss, k):
    """The largest Hessian eigenvalue over many random outputs never exceeds ``curvature``,
    and the bound is tight (reached where two outputs tie, or at z = 0 for the sigmoid)."""
    rng = np.random.default_rng(5)
    Z = np.vstack([rng.normal(scale=scale, size=(2000, k)) for scale in (0.3, 1.0, 3.0, 10.0)])
    tie = np.full((1, k), -50.0)
    tie[0, :2] = 0.0
    largest = np.linalg.eigvalsh(_hessians(loss, np.vstack([Z, tie])))[:, -1]
    assert largest.max() <= loss.curvature * (1 + 1e-12)
    assert largest.max() == pytest.approx(loss.curvature, rel=1e-9)
