"""Per-epoch speed and peak memory of the SGD estimators against scikit-learn's.

Run ``python benchmarks/bench_sgd.py`` (about a minute on 2 cores). Every model runs the same
number of epochs on the same dense data with shuffling, a constant learning rate and the same
L2 penalty; the time per epoch is the best of ``--repeats`` fits. Peak memory is the largest
extra allocation during ``fit`` seen by ``tracemalloc`` (numpy reports its buffers to it),
as a multiple of ``X.nbytes``.
"""

import argparse
import platform
import time
import tracemalloc

import numba
import numpy as np
import sklearn
from sklearn.linear_model import SGDClassifier, SGDRegressor

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier

RATE = 1e-3


def make_data(n_samples, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    coef = rng.standard_normal(n_features) / np.sqrt(n_features)
    signal = X @ coef
    y_regression = signal + 0.1 * rng.standard_normal(n_samples)
    y_classes = (rng.random(n_samples) < 1 / (1 + np.exp(-3 * signal))).astype(int)
    return X, y_regression, y_classes


def seconds_per_epoch(model, X, y, epochs, repeats):
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        model.fit(X, y)
        best = min(best, time.perf_counter() - started)
    return best / epochs


def peak_memory_ratio(model, X, y):
    tracemalloc.start()
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / X.nbytes


def models(epochs):
    common = dict(max_iter=epochs, tol=None, random_state=0, alpha=1e-4, penalty="l2")
    ours = dict(learning_rate=RATE, **common)
    theirs = dict(learning_rate="constant", eta0=RATE, average=False, **common)
    return [
        ("regression", "SGDRegressor (sklearn)", None, SGDRegressor(**theirs)),
        ("regression", "SGDLinearRegressor", 256, SGDLinearRegressor(batch_size=256, **ours)),
        ("regression", "SGDLinearRegressor", 32, SGDLinearRegressor(batch_size=32, **ours)),
        (
            "classification",
            "SGDClassifier(log_loss) (sklearn)",
            None,
            SGDClassifier(loss="log_loss", **theirs),
        ),
        (
            "classification",
            "SGDLogisticClassifier",
            256,
            SGDLogisticClassifier(batch_size=256, **ours),
        ),
        (
            "classification",
            "SGDLogisticClassifier",
            32,
            SGDLogisticClassifier(batch_size=32, **ours),
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    X64, y_regression, y_classes = make_data(args.n_samples, args.n_features)
    X32 = X64.astype(np.float32)
    print(
        f"X: {args.n_samples} x {args.n_features} dense, {args.epochs} epochs, best of "
        f"{args.repeats}; {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    header = f"{'task':<15}{'model':<34}{'batch':>6}{'dtype':>9}{'s/epoch':>10}{'peak/X':>8}"
    print(header + f"{'vs sklearn':>12}")
    print("-" * (len(header) + 12))
    reference = {}
    ratios = {}
    for task, name, batch, model in models(args.epochs):
        y = y_regression if task == "regression" else y_classes
        dtypes = [("float64", X64)] if batch is None else [("float64", X64), ("float32", X32)]
        for dtype, X in dtypes:
            seconds = seconds_per_epoch(model, X, y, args.epochs, args.repeats)
            memory = peak_memory_ratio(model, X, y)
            if batch is None:
                reference[task] = seconds
                speedup = ""
            else:
                ratios[task, batch, dtype] = reference[task] / seconds
                speedup = f"{ratios[task, batch, dtype]:.2f}x"
            print(
                f"{task:<15}{name:<34}{batch or 1:>6}{dtype:>9}{seconds:>10.4f}"
                f"{memory:>8.2f}{speedup:>12}"
            )
    print()
    for task in ("regression", "classification"):
        print(
            f"{task}: batch 256 {ratios[task, 256, 'float64']:.2f}x (target >= 3), "
            f"batch 32 {ratios[task, 32, 'float64']:.2f}x (target >= 1), float32 over float64 "
            f"at batch 256 {ratios[task, 256, 'float32'] / ratios[task, 256, 'float64']:.2f}x "
            "(target >= 1.5)"
        )


if __name__ == "__main__":
    main()
