"""LRFinderSearch against GridSearchCV, and what each suggestion rule's pick scores.

Run ``python benchmarks/bench_finder.py`` (a few minutes on 2 cores). On every dataset, in a
``Pipeline(StandardScaler, estimator)`` with the same outer folds, averaged over ``--seeds``
values of ``random_state`` (of the estimator and of the range test: the shuffling alone moves a
small set's score by a sample or two, as much as the choice between close rates):

1. ``cross_val_score`` of ``LRFinderSearch`` (default rule) against ``cross_val_score`` of
   ``GridSearchCV`` over a 13-point log grid of ``learning_rate`` from 1e-4 to 10 (inner
   cv=3): mean score and wall time.
2. For each rule: the rate it picks from the range test on each outer training fold, and the
   outer-fold score of the pipeline refitted with that rate (one range test serves all rules).
   ``lag_corrected`` multiplies the lag-corrected minimum by 3; the columns ``lag x1`` and
   ``lag x1/3`` show the same rule with factors 1 and 1/3, the evidence for 3.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test
from sklearn_lrf.finder import DEFAULT_RULE

GRID = np.logspace(-4, 1, 13)


def datasets():
    yield "diabetes", *load_diabetes(return_X_y=True)
    yield "breast_cancer", *load_breast_cancer(return_X_y=True)
    yield "digits", *load_digits(return_X_y=True)
    yield "wine", *load_wine(return_X_y=True)
    yield "iris", *load_iris(return_X_y=True)
    yield (
        "synthetic_regression",
        *make_regression(
            n_samples=3000, n_features=30, n_informative=10, noise=20.0, random_state=0
        ),
    )
    yield (
        "synthetic_classification",
        *make_classification(
            n_samples=3000, n_features=30, n_informative=8, n_classes=3, random_state=0
        ),
    )


def pipeline(y, seed):
    classification = np.issubdtype(np.asarray(y).dtype, np.integer) and len(np.unique(y)) < 20
    Estimator = SGDLogisticClassifier if classification else SGDLinearRegressor
    return Pipeline([("scale", StandardScaler()), ("model", Estimator(random_state=seed))])


def outer_folds(model, X, y):
    splitter = StratifiedKFold if is_classifier(model) else KFold
    return list(splitter(n_splits=5, shuffle=True, random_state=0).split(X, y))


def timed_cv_score(model, X, y, folds):
    started = time.perf_counter()
    scores = cross_val_score(model, X, y, cv=folds)
    return scores.mean(), time.perf_counter() - started


def rule_table(models, X, y, folds):
    """Per rule: geometric-mean pick and mean outer score over the folds and seeds."""
    picks, scores = {}, {}
    for seed, model in enumerate(models):
        for train, test in folds:
            result = lr_range_test(model, X[train], y[train], random_state=seed)
            candidates = dict(result.suggestions)
            candidates["lag x1"] = candidates["lag_corrected"] / 3
            candidates["lag x1/3"] = candidates["lag_corrected"] / 9
            for rule, rate in candidates.items():
                refit = clone(model).set_params(model__learning_rate=float(rate))
                picks.setdefault(rule, []).append(rate)
                scores.setdefault(rule, []).append(
                    refit.fit(X[train], y[train]).score(X[test], y[test])
                )
    return {
        rule: (float(np.exp(np.mean(np.log(picks[rule])))), float(np.mean(scores[rule])))
        for rule in picks
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="random states averaged over")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"default rule: {DEFAULT_RULE}; mean over random_state 0..{args.seeds - 1}\n")
    header = (
        f"{'dataset':<26}{'grid score':>11}{'grid s':>8}{'finder score':>13}{'finder s':>10}"
        f"{'diff':>8}{'time ratio':>11}"
    )
    print(header)
    print("-" * len(header))
    tables = {}
    for name, X, y in datasets():
        models = [pipeline(y, seed) for seed in range(args.seeds)]
        folds = outer_folds(models[0], X, y)
        grid = [GridSearchCV(model, {"model__learning_rate": GRID}, cv=3) for model in models]
        grid_score, grid_seconds = np.mean([timed_cv_score(g, X, y, folds) for g in grid], axis=0)
        finder = [LRFinderSearch(model, random_state=seed) for seed, model in enumerate(models)]
        finder_score, finder_seconds = np.mean(
            [timed_cv_score(f, X, y, folds) for f in finder], axis=0
        )
        print(
            f"{name:<26}{grid_score:>11.4f}{grid_seconds:>8.2f}{finder_score:>13.4f}"
            f"{finder_seconds:>10.2f}{finder_score - grid_score:>+8.4f}"
            f"{finder_seconds / grid_seconds:>11.3f}"
        )
        tables[name] = (grid_score, rule_table(models, X, y, folds))
    rules = list(next(iter(tables.values()))[1])
    print("\nEach rule's pick (geometric mean over folds) and outer score, minus the grid's:")
    print(f"{'dataset':<26}" + "".join(f"{rule:>22}" for rule in rules))
    print(f"{'':<26}" + "".join(f"{'pick':>10} {'vs grid':>10} " for _ in rules))
    for name, (grid_score, table) in tables.items():
        cells = "".join(
            f"{table[rule][0]:>10.2g} {table[rule][1] - grid_score:>+10.4f} " for rule in rules
        )
        print(f"{name:<26}{cells}")
    worst = {rule: min(t[rule][1] - g for g, t in tables.values()) for rule in rules}
    mean = {rule: np.mean([t[rule][1] - g for g, t in tables.values()]) for rule in rules}
    print(f"{'worst vs grid':<26}" + "".join(f"{worst[rule]:>+21.4f} " for rule in rules))
    print(f"{'mean vs grid':<26}" + "".join(f"{mean[rule]:>+21.4f} " for rule in rules))


if __name__ == "__main__":
    main()
