"""How good is each range-test pick? Regret against a grid oracle on 24 problems.

Run ``python benchmarks/bench_finder.py`` (``--quick``: three tiny problems). Every problem of
``benchmarks/problems.py`` is split once into training and validation parts (75/25,
``random_state=0``). Then, with ``--seeds`` seeds (the estimator's ``random_state``: shuffling
and MLP initialisation; the range test's ``random_state``):

1. **Grid oracle.** Constant rates 4 per decade (from ``1e-4 / L`` for our models, where
   ``1 / L`` is ``learning_rate="auto"``'s step; from ``1e-6`` for MLPs) upwards until the mean
   validation loss is non-finite or over 10x the best so far (at most ``1e4 / L``, or 10),
   each trained for the problem's budget of epochs on the training part; the validation loss
   (squared error / 2, or log loss) after every epoch, per seed. The oracle's loss is the
   minimum over rates of the mean over seeds after the full budget.
2. **Range tests** on the training part, per seed: the package as shipped
   (``lr_range_test(estimator, X, y)``, every default, and its ``best_lr``), the old default
   ramp (1e-7 to 10, 100 steps, no extension: the default before Finder v2, 5e7505a) and a
   wide ramp (15 steps per decade, from ``1e-3 / L`` to ``1e3 / L`` for our models, ``1e-6``
   to ``100`` for MLPs, no extension); raw and smoothed losses are cached.
3. **Regret** of a pick: the mean-over-seeds validation loss at the picked rate, interpolated
   linearly in (log rate, log loss) between grid rates, over the oracle's loss; infinite above
   the last stable grid rate; picks below the grid use the lowest rate's loss (marked ``<``: a
   lower bound). Averaged over the range-test seeds.
4. **DoG** (our models only): the same linear model, batches and epochs, no rate.
5. **Against nested GridSearchCV** (seed 0): ``GridSearchCV`` over the oracle's rates (cv=3)
   fitted on the training part, ``LRFinderSearch`` as shipped (defaults, ``random_state=0``)
   and with the old defaults (old ramp, ``lag_corrected``), all scored (accuracy or R^2) on
   the validation part.
6. **The race** (``LRFinderSearch(estimator, race=RACE_FACTORS, random_state=seed)``, every
   other default), per seed: the curve's pick, the race's candidates, held-out losses and
   winner (its regret read off the grid as above); seed 0's refit scored on the validation
   part.

Raw results are cached in ``benchmarks/results/<problem>.json`` (delete one to recompute it;
``--results DIR`` elsewhere), so the rules are re-evaluated offline (``report.py``). A cached
problem without the shipped package's record gets only that (range tests and LRFinderSearch),
one without the race's record only the races.
"""

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import _checkout  # noqa: F401  (first: this checkout's sklearn_lrf)
import numpy as np
from peer_rules import dog_validation_loss
from problems import OURS, problems, quiet
from report import RACE_FACTORS, held_out_rules, report
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV

from sklearn_lrf import LRFinderSearch, lr_range_test

RESULTS = Path(__file__).resolve().parent / "results"
PER_DECADE = 4
WIDE_PER_DECADE = 15
# The package's defaults before Finder v2 (commit 5e7505a): the "old ramp" the classic rules
# are compared on, and the old LRFinderSearch. The cached results were collected with them.
OLD_RAMP = dict(min_lr=1e-7, max_lr=10.0, n_steps=100, extend_decades=0)
OLD_SEARCH = dict(OLD_RAMP, rule="lag_corrected")


def validation_loss(model, X, y, classifier, classes):
    """Squared error / 2 or log loss on ``(X, y)``; inf when the model is not finite."""
    if classifier:
        proba = model.predict_proba(X)
        if not np.isfinite(proba).all():
            return np.inf
        return float(log_loss(y, proba, labels=classes))
    prediction = model.predict(X)
    if not np.isfinite(prediction).all():
        return np.inf
    return float(0.5 * np.mean((prediction - y) ** 2))


def train_curve(problem, rate, seed, data, classes):
    """Validation loss after each epoch at a constant ``rate`` (inf from divergence on)."""
    X_train, X_val, y_train, y_val = data
    model = problem.estimator(rate, seed)
    extra = {"classes": classes} if problem.classifier else {}
    losses = []
    for _ in range(problem.epochs):
        try:
            model.partial_fit(X_train, y_train, **extra)
            losses.append(validation_loss(model, X_val, y_val, problem.classifier, classes))
        except (ValueError, FloatingPointError, OverflowError):
            losses.append(np.inf)
        if not np.isfinite(losses[-1]):
            return losses + [np.inf] * (problem.epochs - len(losses))
    return losses


def auto_rate(problem, data):
    """``1 / L``: the step ``learning_rate="auto"`` starts from (one epoch to read it)."""
    model = problem.estimator("auto", 0).set_params(max_iter=1)
    return float(model.fit(data[0], data[2]).learning_rate_.lr)


def oracle(problem, data, classes, seeds, base):
    """Grid rates (ascending) and validation losses, shape (rates, seeds, epochs)."""
    low, high = (-16, 16) if problem.family == OURS else (-24, 4)
    rates, curves, best = [], [], np.inf
    for k in range(low, high + 1):
        rate = base * 10.0 ** (k / PER_DECADE)
        curve = [train_curve(problem, rate, seed, data, classes) for seed in seeds]
        rates.append(rate)
        curves.append(curve)
        final = np.mean([c[-1] for c in curve])
        best = min(best, final)
        if not np.isfinite(final) or final > 10 * best:
            break
    return rates, curves


def range_test(problem, data, seed, **ramp):
    X_train, _, y_train, _ = data
    estimator = problem.estimator(1e-3, seed)
    result = lr_range_test(estimator, X_train, y_train, random_state=seed, **ramp)
    return dict(
        learning_rates=result.learning_rates.tolist(),
        losses=result.losses.tolist(),
        smoothed_losses=result.smoothed_losses.tolist(),
        diverged_at=result.diverged_at,
        suggestions=result.suggestions,
        n_updates=result.n_updates,
        stop_reason=result.stop_reason,
    )


def shipped_range_test(problem, data, seed):
    """``lr_range_test(estimator, X, y)`` with every default (only the seed given): the ramp,
    rule and pick the package ships, and the warnings it gave."""
    X_train, _, y_train, _ = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = lr_range_test(problem.estimator(1e-3, seed), X_train, y_train, random_state=seed)
    return dict(
        learning_rates=result.learning_rates.tolist(),
        losses=result.losses.tolist(),
        diverged_at=result.diverged_at,
        rule=result.rule,
        best_lr=result.best_lr,
        suggestions=result.suggestions,
        n_updates=result.n_updates,
        stop_reason=result.stop_reason,
        ramp_ends=result.settings["ramp_ends"],
        warnings=[str(w.message) for w in caught if issubclass(w.category, UserWarning)],
    )


def shipped(problem, data, seeds):
    """The package as shipped: default range tests per seed, and ``LRFinderSearch(estimator)``
    with its defaults (``random_state=0``) scored on the validation part."""
    X_train, X_val, y_train, y_val = data
    search = LRFinderSearch(problem.estimator(1e-3, 0), random_state=0).fit(X_train, y_train)
    return dict(
        package_commit=package_commit(),
        ramps=[shipped_range_test(problem, data, seed) for seed in seeds],
        search_rate=float(search.best_lr_),
        search_score=float(search.score(X_val, y_val)),
        search_updates=int(search.range_test_.n_updates),
    )


def raced(problem, data, seeds):
    """``LRFinderSearch(estimator, race=RACE_FACTORS)`` with every other default, per seed
    (``random_state=seed``): the curve's pick, the race's table and winner; seed 0 refitted and
    scored on the validation part."""
    X_train, X_val, y_train, y_val = data
    runs = []
    for seed in seeds:
        search = LRFinderSearch(
            problem.estimator(1e-3, seed), race=RACE_FACTORS, refit=seed == 0, random_state=seed
        ).fit(X_train, y_train)
        race = search.race_results_
        runs.append(
            dict(
                curve_lr=float(search.range_test_.best_lr),
                best_lr=float(search.best_lr_),
                learning_rates=race["learning_rates"].tolist(),
                losses=race["losses"].tolist(),
                errors=race["errors"],
                budget=race["budget"],
                train_sizes=race["train_sizes"],
                ramp_updates=int(search.range_test_.n_updates),
                score=float(search.score(X_val, y_val)) if seed == 0 else None,
            )
        )
    return dict(
        package_commit=package_commit(),
        race=list(RACE_FACTORS),
        race_budget=LRFinderSearch(None).race_budget,
        runs=runs,
    )


def package_commit():
    """The last commit that changed ``sklearn_lrf/`` in this checkout (None outside git)."""
    try:
        return subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", "sklearn_lrf"],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def score_against_grid(problem, data, rates):
    """Nested GridSearchCV over ``rates`` and LRFinderSearch (defaults), seed 0."""
    X_train, X_val, y_train, y_val = data
    grid = GridSearchCV(
        problem.estimator(rates[0], 0), {problem.rate_param: rates}, cv=3, error_score=-np.inf
    ).fit(X_train, y_train)
    search = LRFinderSearch(problem.estimator(1e-3, 0), random_state=0, **OLD_SEARCH)
    search.fit(X_train, y_train)
    return dict(
        grid_rate=float(grid.best_params_[problem.rate_param]),
        grid_score=float(grid.score(X_val, y_val)),
        search_rate=float(search.best_lr_),
        search_score=float(search.score(X_val, y_val)),
    )


def refit(problem, rule, record):
    """Refits at ``rule``'s picks from the wide ramps: the validation score of seed 0's (with
    seed 0), and the mean over seeds of the validation loss, trained rather than interpolated."""
    data = problem.data()
    X_train, X_val, y_train, y_val = data
    classes = np.unique(y_train) if problem.classifier else None
    rates = [
        rule(np.asarray(curve["learning_rates"]), np.asarray(curve["losses"]))
        for curve in record["wide_ramp"]
    ]
    losses = [
        train_curve(problem, rate, seed, data, classes)[-1] for seed, rate in enumerate(rates)
    ]
    try:
        score = float(problem.estimator(rates[0], 0).fit(X_train, y_train).score(X_val, y_val))
    except (ValueError, FloatingPointError, OverflowError):
        score = np.nan
    return score, float(np.mean(losses))


def collect(problem, seeds, directory):
    """Everything the report needs for one problem, cached in ``directory``."""
    path = directory / f"{problem.name.replace(' ', '_')}.json"
    if path.exists():
        record = json.loads(path.read_text())
        if "shipped" not in record:  # cached before the package's own default was measured
            record["shipped"] = shipped(problem, problem.data(), seeds)
            path.write_text(json.dumps(record, default=float))
        if "raced" not in record:  # cached before the race was measured
            record["raced"] = raced(problem, problem.data(), seeds)
            path.write_text(json.dumps(record, default=float))
        return record
    data = problem.data()
    X_train, y_train = data[0], data[2]
    classes = np.unique(y_train) if problem.classifier else None
    if problem.family == OURS:
        base = auto_rate(problem, data)
        wide = dict(min_lr=base * 1e-3, max_lr=base * 1e3, n_steps=6 * WIDE_PER_DECADE + 1)
    else:
        base = 1.0
        wide = dict(min_lr=1e-6, max_lr=1e2, n_steps=8 * WIDE_PER_DECADE + 1)
    rates, curves = oracle(problem, data, classes, seeds, base)
    record = dict(
        name=problem.name,
        family=problem.family,
        task=problem.task,
        epochs=problem.epochs,
        n_train=X_train.shape[0],
        n_features=X_train.shape[1],
        batch_size=32 if problem.family == OURS else min(200, X_train.shape[0]),
        auto_rate=base if problem.family == OURS else None,
        grid_rates=rates,
        grid_losses=curves,
        default_ramp=[range_test(problem, data, seed, **OLD_RAMP) for seed in seeds],
        wide_ramp=[range_test(problem, data, seed, extend_decades=0, **wide) for seed in seeds],
        **score_against_grid(problem, data, rates),
        shipped=shipped(problem, data, seeds),
        raced=raced(problem, data, seeds),
    )
    if problem.family == OURS:
        record["dog"] = [
            dog_validation_loss(
                *data[::2], *data[1::2], problem.task, epochs=problem.epochs, seed=seed
            )[0]
            for seed in seeds
        ]
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, default=float))
    return record


def cpu_name():
    """The CPU's model name (Linux), else the machine type."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        model = platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three tiny problems")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS, help="cache directory")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    quiet()
    seeds = range(1 if args.quick else args.seeds)
    started = time.perf_counter()
    chosen = problems(args.quick)
    records = [collect(problem, seeds, args.results) for problem in chosen]
    for problem, record, rule in zip(chosen, records, held_out_rules(records), strict=True):
        record["proposed_score"], record["proposed_loss"] = refit(problem, rule, record)

    print(
        f"CPU: {cpu_name()}; {len(records)} problems, "
        f"{len(seeds)} seeds; this run {time.perf_counter() - started:.0f} s (without the cached "
        "problems)\n"
    )
    print(report(records))


if __name__ == "__main__":
    main()
