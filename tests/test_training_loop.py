"""The compiled training loop against a plain numpy reference of mini-batch SGD.

The reference below is written from the update rules in the docstrings (weight decay without
momentum, PyTorch's heavy ball and Nesterov with it, the L1 proximal step) and scipy's
``expit`` / ``log_softmax``; it shares no code with ``sklearn_lrf._sgd``. It shuffles as the loop
documents, from the same ``RandomState`` draws, so every coefficient can be compared.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax
from scipy.stats import chisquare

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier, _sgd

ROOT = Path(__file__).resolve().parents[1]


def _reference_loss(task, Z, y, classes):
    """Per-sample losses at the outputs ``Z`` (n, k), with scipy's ``log_expit`` and
    ``log_softmax``."""
    if task == "regression":
        return 0.5 * (Z[:, 0] - y) ** 2
    if len(classes) == 2:
        return -np.where(y == classes[1], log_expit(Z[:, 0]), log_expit(-Z[:, 0]))
    return -log_softmax(Z, axis=1)[np.arange(len(y)), np.searchsorted(classes, y)]


def _reference_gradient(task, Z, y, classes):
    """Per-sample derivatives of the loss in the outputs ``Z`` (n, k)."""
    if task == "regression":
        return Z - y[:, None]
    if len(classes) == 2:
        return expit(Z) - (y == classes[1])[:, None]
    P = np.exp(log_softmax(Z, axis=1))
    P[np.arange(len(y)), np.searchsorted(classes, y)] -= 1.0
    return P


def _fisher_yates(order, draws):
    """The shuffle the loop documents: entry q swaps with q + floor(draws[q] * (n - q))."""
    n = len(order)
    for q in range(n):
        other = q + int(draws[q] * (n - q))
        order[[q, other]] = order[[other, q]]
    return order


def _reference_fit(task, X, y, w, *, rate, epochs, batch_size, momentum, nesterov, l1, l2, seed):
    X = X.toarray() if sp.issparse(X) else X
    classes = np.unique(y)
    k = 1 if task == "regression" or len(classes) == 2 else len(classes)
    coef, intercept = np.zeros((X.shape[1], k)), np.zeros(k)
    velocity, intercept_velocity = np.zeros_like(coef), np.zeros_like(intercept)
    w = np.ones(len(y)) if w is None else w / w.mean()
    rng = np.random.RandomState(seed)
    epoch_losses = []
    for _ in range(epochs):
        order = _fisher_yates(np.arange(len(y)), rng.random_sample(len(y)))
        total = 0.0
        for start in range(0, len(y), batch_size):
            rows = order[start : start + batch_size]
            Z = X[rows] @ coef + intercept
            total += np.sum(w[rows] * _reference_loss(task, Z, y[rows], classes))
            dZ = _reference_gradient(task, Z, y[rows], classes) * w[rows, None]
            g, g0 = X[rows].T @ dZ / len(rows), dZ.sum(axis=0) / len(rows)
            if momentum:
                g = g + l2 * coef
                velocity = momentum * velocity + g
                intercept_velocity = momentum * intercept_velocity + g0
                coef = coef - rate * (g + momentum * velocity if nesterov else velocity)
                step0 = g0 + momentum * intercept_velocity if nesterov else intercept_velocity
                intercept = intercept - rate * step0
            else:
                coef = (1 - rate * l2) * coef - rate * g
                intercept = intercept - rate * g0
            coef = np.sign(coef) * np.maximum(np.abs(coef) - rate * l1, 0.0)
        penalty = l1 * np.abs(coef).sum() + 0.5 * l2 * np.square(coef).sum()
        epoch_losses.append(total / len(y) + penalty)
    return coef.T, intercept, epoch_losses


def _data(task, n_classes, n_features, rng):
    X = rng.standard_normal((90, n_features))
    X[rng.random(X.shape) < 0.3] = 0.0
    signal = X[:, :3] @ np.array([1.0, -2.0, 0.5])
    if task == "regression":
        return X, signal + 0.1 * rng.standard_normal(90)
    labels = np.array(["a", "b", "c", "d"])[:n_classes]
    return X, labels[
        np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
    ]


CASES = {
    "regression": ("regression", 1, {}),
    "binary": ("classification", 2, {}),
    "multinomial": ("classification", 3, {}),
    # Weight decay 1 - 0.05 * 19.6 = 0.02 per step: the lazily scaled sparse weights fold
    # their scale in at the 6th and last step of each epoch (0.02 ** 6 < 1e-9).
    "multinomial-strong-l2": ("classification", 3, dict(alpha=19.6)),
    "binary-momentum": ("classification", 2, dict(momentum=0.9)),
    "multinomial-nesterov": ("classification", 3, dict(momentum=0.5, nesterov=True)),
    "regression-elasticnet": ("regression", 1, dict(penalty="elasticnet", alpha=0.05)),
    "multinomial-l1": ("classification", 4, dict(penalty="l1", alpha=0.01)),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize(("task", "n_classes", "options"), CASES.values(), ids=CASES.keys())
# 1,100 float64 columns make a row wider than the prefetch distance (8 KiB).
@pytest.mark.parametrize("n_features", [5, 1100])
def test_fit_equals_numpy_reference(task, n_classes, options, layout, weighted, n_features):
    rng = np.random.default_rng(n_features + n_classes)
    X, y = _data(task, n_classes, n_features, rng)
    w = rng.uniform(0.2, 3.0, size=len(y)) if weighted else None
    params = dict(learning_rate=0.05, max_iter=3, batch_size=16, tol=None, random_state=7)
    params.update(alpha=1e-3, penalty="l2")
    params.update(options)
    Estimator = SGDLinearRegressor if task == "regression" else SGDLogisticClassifier
    model = Estimator(**params).fit(sp.csr_matrix(X) if layout == "csr" else X, y, w)
    l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.15}[params["penalty"]]
    coef, intercept, epoch_losses = _reference_fit(
        task,
        X,
        y,
        w,
        rate=0.05,
        epochs=3,
        batch_size=16,
        momentum=params.get("momentum", 0.0),
        nesterov=params.get("nesterov", False),
        l1=params["alpha"] * l1_ratio,
        l2=params["alpha"] * (1 - l1_ratio),
        seed=7,
    )
    np.testing.assert_allclose(np.atleast_2d(model.coef_), coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-9, atol=1e-12)
    # Each epoch's loss: the summed losses of its batches before their updates, plus the penalty.
    np.testing.assert_allclose(model.loss_curve_, epoch_losses, rtol=1e-9)


def test_log_loss_of_batches_longer_than_one_product():
    """A batch of 600 unweighted rows takes three logs of products (256 rows each at most);
    confident outputs (|z| up to ~60) make some factors round to 1."""
    rng = np.random.default_rng(3)
    X = 20.0 * rng.standard_normal((700, 4))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(700) > 0, "yes", "no")
    params = dict(learning_rate=0.05, max_iter=4, batch_size=600, tol=None, random_state=1)
    model = SGDLogisticClassifier(alpha=1e-3, **params).fit(X, y)
    settings = dict(momentum=0.0, nesterov=False, l1=0.0, l2=1e-3, seed=1)
    coef, intercept, epoch_losses = _reference_fit(
        "classification", X, y, None, rate=0.05, epochs=4, batch_size=600, **settings
    )
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-9)
    np.testing.assert_allclose(model.loss_curve_, epoch_losses, rtol=1e-9)


def test_shuffle_draws_every_permutation_equally_often():
    """The in-place Fisher-Yates shuffle gives each of the 24 orders of 4 rows with equal
    probability (chi-square test), so mini-batches are uniformly random."""
    rng = np.random.RandomState(0)
    counts = Counter()
    for _ in range(24_000):
        order = np.arange(4)
        _sgd._shuffle(order, rng.random_sample(4))
        counts[tuple(order)] += 1
    assert len(counts) == 24
    assert chisquare(list(counts.values())).pvalue > 1e-3


# Run in a fresh process with its own numba cache: the fits cover every compiled branch of the
# loop (dense and sparse, one and several outputs, weights, momentum, L1, the lazily scaled
# sparse update and its folding), then report what each compiled function compiled and loaded.
_COMPILED_FITS = """
import json
import numba
import numpy as np
import scipy.sparse as sp
from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier, _sgd, lr_range_test

rng = np.random.default_rng(0)
X = rng.standard_normal((203, 9))
X[rng.random(X.shape) < 0.6] = 0.0
labels = np.digitize(X[:, 0] - X[:, 1], [-0.5, 0.0, 0.5])
binary, weights = (labels > 1).astype(int), rng.uniform(0.5, 2.0, len(labels))
common = dict(learning_rate=0.05, max_iter=2, tol=None, batch_size=16, random_state=0)
# A range test, then a fit on the same data: one compilation serves both.
estimator = SGDLogisticClassifier(**common)
lr_range_test(estimator, X, binary, n_steps=20)
estimator.fit(X, binary)
after_range_test = len(_sgd._sgd_steps.signatures)
SGDLinearRegressor(**common).fit(X, X[:, 0])
SGDLogisticClassifier(momentum=0.9, penalty="elasticnet", **common).fit(X, labels, weights)
SGDLogisticClassifier(**common).fit(sp.csr_matrix(X), binary)
SGDLogisticClassifier(alpha=19.6, **common).fit(sp.csr_matrix(X), labels, weights)
SGDLogisticClassifier(momentum=0.5, **common).fit(sp.csr_matrix(X), labels)
dispatchers = [f for f in vars(_sgd).values() if isinstance(f, numba.core.dispatcher.Dispatcher)]
print(json.dumps(dict(
    boundscheck=numba.config.BOUNDSCHECK,
    after_range_test=after_range_test,
    compiled={f.__name__: sum(f.stats.cache_misses.values()) for f in dispatchers},
    loaded={f.__name__: sum(f.stats.cache_hits.values()) for f in dispatchers},
    signatures={f.__name__: len(f.signatures) for f in dispatchers},
)))
"""


def _run_compiled_fits(cache_dir):
    env = {
        **os.environ,
        "NUMBA_BOUNDSCHECK": "1",
        "NUMBA_CACHE_DIR": str(cache_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, "-c", _COMPILED_FITS], capture_output=True, text=True, env=env
    )
    assert completed.returncode == 0, completed.stderr  # an IndexError would show here
    return json.loads(completed.stdout)


def test_compiled_loop_stays_in_bounds_and_compiles_each_case_once(tmp_path):
    """Under numba's bounds checking every array access of the compiled loop is checked (an
    out-of-bounds access raises IndexError); each case is compiled once per process, a range
    test and a fit on the same data share one, and a second process loads them all."""
    first = _run_compiled_fits(tmp_path)
    assert first["boundscheck"] == 1
    assert first["after_range_test"] == 1
    assert all(n == first["signatures"][name] for name, n in first["compiled"].items())
    # Regression and binary classification share a case: 5 cases for the 6 kinds of fit.
    assert first["compiled"]["_sgd_steps"] == 5
    second = _run_compiled_fits(tmp_path)
    assert sum(second["compiled"].values()) == 0
    # The entry points hold their callees' code.
    for name in ("_sgd_steps", "_shuffle"):
        assert second["loaded"][name] == first["compiled"][name]
