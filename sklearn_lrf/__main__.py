"""Command line: ``python -m sklearn_lrf`` (also installed as ``sklearn-lrf``).

Runs the learning-rate range test on a bundled dataset (or a CSV file), picks a rate with
``LRFinderSearch``, compares its cross-validated score with the estimator's default rate, and
writes the curve as a PNG.
"""

import argparse
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import (
    LRFinderDisplay,
    LRFinderSearch,
    SGDLinearRegressor,
    SGDLogisticClassifier,
    __version__,
)
from ._suggestions import RULES

BUNDLED = ("breast_cancer", "diabetes", "digits", "iris", "wine")
ESTIMATORS = {
    "sgd": (SGDLinearRegressor, SGDLogisticClassifier),
    "sklearn-sgd": (SGDRegressor, lambda **kw: SGDClassifier(loss="log_loss", **kw)),
    "mlp": (MLPRegressor, MLPClassifier),
}


class UsageError(Exception):
    """A problem with the user's input, reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see --help)")


def build_parser():
    parser = _Parser(
        prog="sklearn-lrf",
        description="Run the learning-rate range test, pick a learning rate, and compare its "
        "cross-validated score with the estimator's default rate.",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=BUNDLED,
        default="breast_cancer",
        help="scikit-learn bundled dataset (default: breast_cancer)",
    )
    data.add_argument("--csv", type=Path, help="your own CSV file (with a header row)")
    data.add_argument("--target", help="target column of --csv (required with --csv)")
    data.add_argument(
        "--task",
        choices=("auto", "regression", "classification"),
        default="auto",
        help="default: classification when the target is text or has at most 20 integer values",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--estimator",
        choices=tuple(ESTIMATORS),
        default="sgd",
        help="sgd: this package's SGD estimators; sklearn-sgd: SGDRegressor / "
        "SGDClassifier(log_loss); mlp: MLPRegressor / MLPClassifier (default: sgd)",
    )
    model.add_argument(
        "--rule",
        choices=("default", *RULES),
        default="default",
        help="suggestion rule that picks the rate (default: lag_corrected)",
    )
    model.add_argument("--cv", type=int, default=5, help="cross-validation folds (default: 5)")
    model.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        type=Path,
        default=Path("lr_finder.png"),
        help="where to write the plot (default: ./lr_finder.png)",
    )
    output.add_argument("--quiet", action="store_true", help="no progress messages")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def load_data(args):
    """Return ``(X, y, name, feature_count_note)`` from a bundled dataset or a CSV file."""
    if args.csv is None:
        if args.target is not None:
            raise UsageError("--target names a column of --csv; bundled datasets have their own")
        X, y = getattr(datasets, f"load_{args.dataset}")(return_X_y=True)
        return X, y, args.dataset, ""
    import pandas as pd

    try:
        frame = pd.read_csv(args.csv)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.csv}: {_one_line(error)}") from None
    columns = ", ".join(map(str, frame.columns))
    if args.target is None:
        raise UsageError(f"name the target column with --target; {args.csv} has: {columns}")
    if args.target not in frame.columns:
        raise UsageError(f"no column {args.target!r} in {args.csv}; columns are: {columns}")
    if frame.shape[1] < 2:
        raise UsageError(f"{args.csv} has only the target column; it needs features too")
    if frame.shape[0] == 0:
        raise UsageError(f"{args.csv} has a header but no rows of data")
    y = frame.pop(args.target)
    numeric = frame.select_dtypes("number")
    ignored = sorted(set(frame.columns) - set(numeric.columns))
    if numeric.shape[1] == 0:
        raise UsageError(f"{args.csv} has no numeric feature columns besides {args.target!r}")
    missing = [str(c) for c in numeric.columns if numeric[c].isna().any()]
    missing += [str(args.target)] if y.isna().any() else []
    if missing:
        raise UsageError(f"missing values in column(s) {', '.join(missing)}; impute them first")
    infinite = [str(c) for c in numeric.columns if np.isinf(numeric[c].to_numpy(float)).any()]
    if pd.api.types.is_numeric_dtype(y) and np.isinf(y.to_numpy(float)).any():
        infinite.append(str(args.target))
    if infinite:
        raise UsageError(f"infinite values in column(s) {', '.join(infinite)}; fix them first")
    note = f" (ignored non-numeric columns: {', '.join(map(str, ignored))})" if ignored else ""
    return numeric.to_numpy(dtype=float), y.to_numpy(), args.csv.name, note


def is_classification(y, task):
    if task != "auto":
        return task == "classification"
    if not np.issubdtype(y.dtype, np.number):
        return True
    return np.issubdtype(y.dtype, np.integer) and len(np.unique(y)) <= 20


def check_target(y, classification, cv, target_name):
    """Refuse, in one line, a target the cross-validated comparison cannot work with."""
    n = len(y)
    if n < 2 * cv:
        raise UsageError(
            f"{n} row(s) is too few for --cv {cv}: every fold needs training and test rows "
            f"(at least {2 * cv}); lower --cv or use more data"
        )
    if not classification:
        if not np.issubdtype(y.dtype, np.number):
            raise UsageError(
                f"--task regression needs a numeric target; {target_name} holds text (e.g. "
                f"{y[0]!r}); use --task classification or another --target"
            )
        return
    labels, counts = np.unique(y.astype(str) if y.dtype == object else y, return_counts=True)
    if len(labels) < 2:
        raise UsageError(
            f"{target_name} has a single value ({str(labels[0])!r}); classification needs 2 classes"
        )
    if counts.max() < cv:
        kind = "distinct text values" if not np.issubdtype(y.dtype, np.number) else "classes"
        raise UsageError(
            f"{target_name} has {len(labels)} {kind} in {n} rows and none appears {cv} times, "
            f"so --cv {cv} cannot stratify it: is it free text or an id rather than a class? "
            "Choose another --target, or --task regression for a numeric target"
        )


def _one_line(error):
    """An exception's message on one line."""
    return " ".join(str(error).split())


def main(argv=None):
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe raises here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader of the report left early (``sklearn-lrf | head``): stop quietly. Python
        # flushes stdout at exit; point it at devnull so that flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = run(build_parser().parse_args(argv))
    except UsageError as error:
        print(f"sklearn-lrf: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FloatingPointError, OSError) as error:  # raised by the work itself
        print(f"sklearn-lrf: error: {_one_line(error)}", file=sys.stderr)
        return 1
    counts = Counter(warning.category.__name__ for warning in caught)
    if counts:
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        print(f"warnings       {summary} (fits that hit max_iter or similar)")
    return status


def run(args):
    if args.cv < 2:
        raise UsageError(f"--cv must be at least 2, got {args.cv}")
    if args.output.suffix.lower() != ".png":
        raise UsageError(f"--output must end in .png, got {args.output}")
    _check_writable(args.output)

    def progress(message):
        if not args.quiet:
            print(f"  ... {message}", file=sys.stderr, flush=True)

    X, y, name, note = load_data(args)
    classification = is_classification(y, args.task)
    check_target(y, classification, args.cv, repr(args.target) if args.csv else "the target")
    Estimator = ESTIMATORS[args.estimator][classification]
    pipeline = make_pipeline(StandardScaler(), Estimator(random_state=args.random_state))
    search = LRFinderSearch(pipeline, rule=args.rule, random_state=args.random_state)
    metric = "accuracy" if classification else "R^2"
    final = pipeline[-1]

    progress("loading the compiled training loop")
    compile_seconds = _load_training_loop()
    progress(f"range test on all {X.shape[0]} samples")
    started = time.perf_counter()
    search.fit(X, y)
    search_seconds = time.perf_counter() - started
    progress(f"cross-validating the default rate ({args.cv} folds)")
    started = time.perf_counter()
    default_scores = cross_val_score(clone(pipeline), X, y, cv=args.cv)
    default_seconds = time.perf_counter() - started
    progress(f"cross-validating LRFinderSearch ({args.cv} folds, a range test in each)")
    started = time.perf_counter()
    chosen_scores = cross_val_score(clone(search), X, y, cv=args.cv)
    chosen_seconds = time.perf_counter() - started

    import matplotlib

    matplotlib.use("Agg")
    display = LRFinderDisplay.from_search(search)
    display.ax_.set_title(f"{type(final).__name__} on {name}")
    display.figure_.savefig(args.output, dpi=120)

    result = search.range_test_
    default_rate = _default_rate(final)
    print(
        f"sklearn-lrf {__version__}: {type(final).__name__} on {name}, {X.shape[0]} samples x "
        f"{X.shape[1]} features{note}, StandardScaler first"
    )
    if compile_seconds > 1:
        print(
            f"first run      compiled the training loop in {compile_seconds:.1f} s (numba "
            "caches it: later runs load it in a fraction of a second)"
        )
    print(
        f"range test     {len(result.learning_rates)} steps from {result.learning_rates[0]:.2g} "
        f"to {result.learning_rates[-1]:.2g}, {result.stop_reason}, {result.seconds:.2f} s"
    )
    print(
        f"chosen rate    {search.best_lr_:.3g}   ({result.rule} rule; refit "
        f"{search.refit_time_:.2f} s, whole search {search_seconds:.2f} s)"
    )
    print(
        "suggestions    "
        + "   ".join(f"{rule} {rate:.2g}" for rule, rate in result.suggestions.items())
    )
    print(
        f"{args.cv}-fold {metric:<9}default, {default_rate}: {_summary(default_scores)}  "
        f"({default_seconds:.2f} s)"
    )
    print(f"{'':<15}LRFinderSearch: {_summary(chosen_scores)}  ({chosen_seconds:.2f} s)")
    print(f"plot written to {args.output.resolve()}")
    return 0


def _check_writable(path):
    """Fail now, not after the run, when the plot cannot be written to ``path``."""
    if not path.parent.is_dir():
        raise UsageError(f"the folder of --output does not exist: {path.parent}")
    if path.is_dir():
        raise UsageError(f"--output is a folder, not a file: {path}")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise UsageError(f"cannot write --output {path}: {error.strerror}") from None
    if not existed:
        path.unlink()


def _load_training_loop():
    """Compile the training loop, or load it from numba's cache, before anything is timed, by
    a search on a tiny problem; return the seconds it took."""
    started = time.perf_counter()
    X = np.linspace(-1.0, 1.0, 40)[:, None]
    LRFinderSearch(SGDLinearRegressor(max_iter=2, tol=None), random_state=0).fit(X, 2 * X[:, 0])
    return time.perf_counter() - started


def _default_rate(estimator):
    """How the estimator's defaults set its rate, e.g. ``learning_rate='optimal'``."""
    params = estimator.get_params()
    policy = params.get("learning_rate")
    if "eta0" in params and policy != "optimal":  # 'optimal' ignores eta0
        return f"eta0={params['eta0']:g} ({policy})"
    if "learning_rate_init" in params:
        return f"learning_rate_init={params['learning_rate_init']:g}"
    return f"learning_rate={policy!r}"


def _summary(scores):
    return f"{scores.mean():.4f} +/- {scores.std():.4f}"


if __name__ == "__main__":
    sys.exit(main())
