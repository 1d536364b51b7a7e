"""Command line: ``python -m sklearn_lrf`` (also installed as ``sklearn-lrf``)."""

import argparse
import sys
import time

from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import SGDLinearRegressor, SGDLogisticClassifier, __version__

DATASETS = {
    "diabetes": (load_diabetes, SGDLinearRegressor, "R^2"),
    "breast_cancer": (load_breast_cancer, SGDLogisticClassifier, "accuracy"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-lrf",
        description="Fit the SGD estimators of sklearn-lrf on scikit-learn's bundled datasets "
        "and report their cross-validated scores.",
    )
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default: 5)")
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of the shuffling (default: 0)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def report(name, load, Estimator, metric, cv, random_state):
    X, y = load(return_X_y=True)
    model = make_pipeline(StandardScaler(), Estimator(random_state=random_state))
    started = time.perf_counter()
    scores = cross_val_score(model, X, y, cv=cv)
    cv_seconds = time.perf_counter() - started
    fitted = model.fit(X, y)[-1]
    print(
        f"{name:<14} {Estimator.__name__:<22} {X.shape[0]:>5} x {X.shape[1]:<3} "
        f"{metric:<9} {scores.mean():.3f} +/- {scores.std():.3f}   "
        f"lr {fitted.learning_rate_.lr:.3g}  epochs {fitted.n_iter_:>3}  {cv_seconds:.2f} s"
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.cv < 2:
        print(f"sklearn-lrf: error: --cv must be at least 2, got {args.cv}", file=sys.stderr)
        return 2
    print(
        f"sklearn-lrf {__version__}: StandardScaler + SGD estimator, learning_rate='auto', "
        f"{args.cv}-fold cross-validation"
    )
    for name, (load, Estimator, metric) in DATASETS.items():
        report(name, load, Estimator, metric, args.cv, args.random_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
