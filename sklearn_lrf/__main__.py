"""Command line: ``python -m sklearn_lrf`` (also installed as ``sklearn-lrf``).

Runs the learning-rate range test on a bundled dataset (or a CSV file), picks a rate with
``LRFinderSearch``, compares its cross-validated score with the estimator's default rate, and
writes the curve as a figure. Prints a report, or with ``--json`` one JSON document whose shape
``docs/user_guide.rst`` describes.

Only the arguments are read at import: numba, scikit-learn, pandas and matplotlib are imported
once they are parsed, so ``--help``, ``--version`` and argument errors return at once.
"""

import argparse
import csv
import json
import math
import os
import re
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

BUNDLED = ("breast_cancer", "diabetes", "digits", "iris", "wine")
ESTIMATORS = ("sgd", "sklearn-sgd", "mlp")
# The rules of sklearn_lrf.rules.RULES (a test keeps the two equal), named here so that
# --help does not import numpy.
RULES = ("divergence_onset", "lag_corrected", "minimum", "steepest", "valley", "slide")
# Version of the --json document's shape; it changes only when a key changes meaning or goes.
JSON_SCHEMA = 1
# A text column with more distinct values than this share of its filled rows (and more than
# FREE_TEXT_MIN_DISTINCT) is free text or an identifier: it is dropped, not one-hot encoded.
FREE_TEXT_SHARE = 0.5
FREE_TEXT_MIN_DISTINCT = 20


class UsageError(Exception):
    """A problem with the user's input, reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see --help)")


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _n_steps(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 5:
        raise argparse.ArgumentTypeError(f"must be at least 5, got {value}")
    return value


def _separator(text):
    separator = "\t" if text in ("tab", "\\t") else text
    if len(separator) != 1:
        raise argparse.ArgumentTypeError(f"must be one character or 'tab', got {text!r}")
    return separator


def build_parser():
    """The argument parser of ``sklearn-lrf``."""
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
    data.add_argument(
        "--csv",
        type=Path,
        help="your own CSV file (with a header row). Numeric columns are standardised, text "
        "columns one-hot encoded (a missing value is a category of its own); text columns with "
        "nearly all values distinct (free text, ids) are dropped with a note",
    )
    data.add_argument("--target", help="target column of --csv (required with --csv)")
    data.add_argument(
        "--sep",
        type=_separator,
        help="field separator of --csv: one character, or 'tab' (default: sniffed among , ; "
        "tab |). A ';' file with numbers like 1,5 is read with decimal commas",
    )
    data.add_argument(
        "--task",
        choices=("auto", "regression", "classification"),
        default="auto",
        help="default: classification when the target is text or has at most 20 integer values",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default="sgd",
        help="sgd: this package's SGD estimators; sklearn-sgd: SGDRegressor / "
        "SGDClassifier(log_loss); mlp: MLPRegressor / MLPClassifier (default: sgd)",
    )
    model.add_argument(
        "--cv",
        type=int,
        default=5,
        help="folds of the range test (one per training fold, as LRFinderSearch(cv=)) and of "
        "the cross-validated comparison (default: 5)",
    )
    model.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="folds run in parallel through joblib; -1: all cores (default: 1)",
    )
    model.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    ramp = parser.add_argument_group("range test")
    ramp.add_argument(
        "--rule",
        choices=("default", *RULES),
        default="default",
        help="suggestion rule that picks the rate (default: divergence_onset)",
    )
    ramp.add_argument(
        "--min-lr",
        type=_positive_float,
        help="first rate (default: placed from the data, 1e-3/L for --estimator sgd, where 1/L "
        "is the stable step; 1e-6 for the others)",
    )
    ramp.add_argument(
        "--max-lr",
        type=_positive_float,
        help="last planned rate (default: 1e3/L for sgd, 100 for the others); the ramp goes on "
        "for up to 3 more decades until the loss blows up",
    )
    ramp.add_argument(
        "--n-steps",
        type=_n_steps,
        help="rates tried up to --max-lr, at least 5 (default: 15 per decade)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        type=Path,
        default=Path("lr_finder.png"),
        help="where to write the plot; its extension picks any format matplotlib writes "
        "(png, pdf, svg, ...) (default: ./lr_finder.png)",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="print the report as one JSON document on stdout, and nothing else there",
    )
    output.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


@dataclass
class Data:
    """Features and target read by :func:`load_data`.

    ``X`` holds the numeric columns first, then one column of category codes per text column
    (-1 for a missing value).
    """

    X: object
    y: object
    name: str
    n_numeric: int
    categorical: dict = field(default_factory=dict)  # column -> number of distinct values
    dropped: dict = field(default_factory=dict)  # column -> why
    separator: str | None = None
    decimal: str | None = None
    imputed: list = field(default_factory=list)  # numeric columns with missing values


def inspect_csv(args):
    """``(separator, decimal mark, size in bytes)`` of ``--csv``; None for a bundled dataset.

    Checks what can be checked before the heavy imports.
    """
    if args.csv is None:
        if args.target is not None:
            raise UsageError("--target names a column of --csv; bundled datasets have their own")
        return None
    try:
        return (*_sniff(args.csv, args.sep), args.csv.stat().st_size)
    except OSError as error:
        raise UsageError(f"cannot read {args.csv}: {_one_line(error)}") from None


def load_data(args, csv_info, progress):
    """Read the bundled dataset or the CSV file of ``args`` into a :class:`Data`."""
    if args.csv is None:
        from sklearn import datasets

        X, y = getattr(datasets, f"load_{args.dataset}")(return_X_y=True)
        return Data(X, y, args.dataset, X.shape[1])
    import numpy as np
    import pandas as pd

    separator, decimal, size = csv_info
    try:
        with _step(progress, f"reading {args.csv} ({size / 1e6:.1f} MB)"):
            frame = pd.read_csv(args.csv, sep=separator, decimal=decimal)
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
    numeric = frame.select_dtypes(["number", "bool"]).astype(float)
    if y.isna().any():
        raise UsageError(
            f"missing values in the target column {args.target!r} ({int(y.isna().sum())} rows); "
            "drop those rows first"
        )
    imputed = [str(c) for c in numeric.columns if numeric[c].isna().any()]
    infinite = [str(c) for c in numeric.columns if np.isinf(numeric[c].to_numpy()).any()]
    if pd.api.types.is_numeric_dtype(y) and np.isinf(y.to_numpy(float)).any():
        infinite.append(str(args.target))
    if infinite:
        raise UsageError(f"infinite values in column(s) {', '.join(infinite)}; fix them first")
    categorical, dropped, codes = {}, {}, []
    for column in frame.columns.difference(numeric.columns, sort=False):
        values = frame[column]
        filled = int(values.notna().sum())
        distinct = values.nunique()
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() >= FREE_TEXT_SHARE * filled > 0:
            text = values[values.notna() & numbers.isna()].iloc[0]
            raise UsageError(
                f"column {column!r} holds numbers and text such as {text!r}; make it all numbers "
                "(an empty field for a missing value) or all text"
            )
        if filled == 0:
            dropped[str(column)] = "empty"
        elif distinct > max(FREE_TEXT_MIN_DISTINCT, FREE_TEXT_SHARE * filled):
            dropped[str(column)] = f"free text: {distinct} distinct values in {filled} rows"
        else:
            categorical[str(column)] = distinct
            codes.append(pd.factorize(values)[0])
    if not numeric.shape[1] and not categorical:
        raise UsageError(
            f"{args.csv} has no usable feature columns besides {args.target!r} (dropped: "
            + ", ".join(f"{column}: {why}" for column, why in dropped.items())
            + ")"
        )
    X = np.column_stack([numeric.to_numpy(), *codes]) if codes else numeric.to_numpy()
    return Data(
        X,
        y.to_numpy(),
        args.csv.name,
        numeric.shape[1],
        categorical,
        dropped,
        separator,
        decimal,
        imputed,
    )


def _sniff(path, separator):
    """``(separator, decimal mark)`` of a CSV file, sniffed from its first 64 kB unless given."""
    with open(path, newline="", encoding="utf-8", errors="replace") as file:
        sample = file.read(1 << 16)
    lines = sample.splitlines()[:100]
    if separator is None:
        try:
            separator = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
        except csv.Error:  # one column, or no consistent separator
            separator = ","
    fields = (value.strip().strip('"') for line in lines[1:] for value in line.split(separator))
    decimal_comma = separator == ";" and any(re.fullmatch(r"-?\d*,\d+", v) for v in fields)
    return separator, "," if decimal_comma else "."


def is_classification(y, task):
    """Whether ``y`` is a classification target (``task="auto"``: text, or few integers)."""
    import numpy as np

    if task != "auto":
        return task == "classification"
    if not np.issubdtype(y.dtype, np.number):
        return True
    return np.issubdtype(y.dtype, np.integer) and len(np.unique(y)) <= 20


def check_target(y, classification, cv, target_name):
    """Refuse, in one line, a target the cross-validated comparison cannot work with."""
    import numpy as np

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


@contextmanager
def _step(progress, message, every=3.0):
    """Say that ``message`` starts, then every ``every`` seconds that it still runs."""
    progress(message)
    if progress is _silent:
        yield
        return
    done = threading.Event()
    started = time.perf_counter()

    def beat():
        while not done.wait(every):
            progress(f"  still running ({time.perf_counter() - started:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _silent(message):
    """The progress reporter of ``--quiet``."""


def _one_line(error):
    """An exception's message on one line."""
    return " ".join(str(error).split())


def main(argv=None):
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
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
        args = build_parser().parse_args(argv)
        progress = _silent if args.quiet else _report_progress
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = run(args, progress)
    except UsageError as error:
        print(f"sklearn-lrf: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FloatingPointError, OSError) as error:  # raised by the work itself
        print(f"sklearn-lrf: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sklearn-lrf: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # anything else is a bug: still one line, with its type
        print(f"sklearn-lrf: error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return 1
    report["warnings"] = _warning_summary(caught)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(format_report(report))
    return 0


def _report_progress(message):
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _warning_summary(caught):
    """``{category: {"count": n, "first": message}}`` of the recorded warnings."""
    summary = {}
    for warning in caught:
        entry = summary.setdefault(
            warning.category.__name__, {"count": 0, "first": _one_line(warning.message)}
        )
        entry["count"] += 1
    return summary


def run(args, progress):
    """Do the work of the command line; return the report (the ``--json`` document)."""
    started_run = time.perf_counter()
    if args.cv < 2:
        raise UsageError(f"--cv must be at least 2, got {args.cv}")
    if args.n_jobs == 0:
        raise UsageError("--n-jobs must be a positive number of jobs, or negative (-1: all cores)")
    if args.min_lr is not None and args.max_lr is not None and args.min_lr >= args.max_lr:
        raise UsageError(
            f"--min-lr must be below --max-lr, got {args.min_lr:g} and {args.max_lr:g}"
        )
    _check_writable(args.output)
    csv_info = inspect_csv(args)
    plot_format = _check_plot_format(args.output)
    with _step(progress, "importing scikit-learn and numba"):
        import numpy as np
        from sklearn.base import clone

        from . import LRFinderDisplay, LRFinderSearch

    started = time.perf_counter()
    data = load_data(args, csv_info, progress)
    load_seconds = time.perf_counter() - started
    classification = is_classification(data.y, args.task)
    check_target(data.y, classification, args.cv, repr(args.target) if args.csv else "the target")
    pipeline, preprocessing = _pipeline(data, classification, args)
    search = LRFinderSearch(
        pipeline,
        rule=args.rule,
        cv=args.cv,
        n_jobs=args.n_jobs,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        n_steps=args.n_steps,
        random_state=args.random_state,
    )
    final = pipeline[-1]
    n_samples = data.X.shape[0]

    with _step(progress, "loading the compiled training loop"):
        compile_seconds = _load_training_loop()
    started = time.perf_counter()
    with _step(
        progress,
        f"fitting LRFinderSearch on all {n_samples} samples: a range test in each of "
        f"{args.cv} folds, then the refit",
    ):
        search.fit(data.X, data.y)
    search_seconds = time.perf_counter() - started
    default_scores, default_seconds = _cross_validate(
        clone(pipeline), data, args, "the default rate", progress
    )
    chosen_scores, chosen_seconds = _cross_validate(
        clone(search), data, args, "LRFinderSearch (a search in each fold)", progress
    )

    started = time.perf_counter()
    with _step(progress, f"writing the plot to {args.output}"):
        display = LRFinderDisplay.from_search(search)
        display.ax_.set_title(f"{type(final).__name__} on {data.name}")
        try:
            display.figure_.savefig(args.output, dpi=120, format=plot_format)
        except Exception as error:  # matplotlib's writers raise many kinds
            raise OSError(f"cannot write the plot to {args.output}: {_one_line(error)}") from None
        finally:
            import matplotlib.pyplot as plt

            plt.close(display.figure_)
    plot_seconds = time.perf_counter() - started

    result = search.range_test_

    def scores(values):
        return {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "folds": [float(v) for v in values],
        }

    return {
        "schema": JSON_SCHEMA,
        "version": __version__,
        "dataset": {
            "name": data.name,
            "path": None if args.csv is None else str(args.csv.resolve()),
            "target": args.target,
            "task": "classification" if classification else "regression",
            "n_samples": n_samples,
            "n_numeric_columns": data.n_numeric,
            "categorical_columns": data.categorical,
            "dropped_columns": data.dropped,
            "separator": data.separator,
            "decimal": data.decimal,
        },
        "estimator": {
            "name": type(final).__name__,
            "choice": args.estimator,
            "preprocessing": preprocessing,
            "default_rate": _default_rate(final),
        },
        "settings": {
            "rule": result.rule,
            "cv": args.cv,
            "min_lr": args.min_lr,
            "max_lr": args.max_lr,
            "n_steps": args.n_steps,
            "n_jobs": args.n_jobs,
            "random_state": args.random_state,
        },
        "range_test": {
            "loss": result.loss_name,
            "folds": [
                {
                    "n_points": len(fold.learning_rates),
                    "first_lr": float(fold.learning_rates[0]),
                    "last_lr": float(fold.learning_rates[-1]),
                    "stop_reason": fold.stop_reason,
                }
                for fold in search.fold_range_tests_
            ],
        },
        "chosen_lr": float(search.best_lr_),
        "suggestions": {
            rule: float(rate) if np.isfinite(rate) else None
            for rule, rate in result.suggestions.items()
        },
        "scores": {
            "metric": "accuracy" if classification else "r2",
            "default": scores(default_scores),
            "chosen": scores(chosen_scores),
        },
        "seconds": {
            "load_data": load_seconds,
            "compile": compile_seconds,
            "search": search_seconds,
            "range_tests": search.range_test_time_,
            "refit": search.refit_time_,
            "cv_default": default_seconds,
            "cv_chosen": chosen_seconds,
            "plot": plot_seconds,
            "total": time.perf_counter() - started_run,
        },
        "plot": str(args.output.resolve()),
    }


def format_report(report):
    """The text report of a ``run`` report."""
    dataset, estimator, result = report["dataset"], report["estimator"], report["range_test"]
    seconds, scores = report["seconds"], report["scores"]
    n_features = dataset["n_numeric_columns"] + len(dataset["categorical_columns"])
    lines = [
        f"sklearn-lrf {report['version']}: {estimator['name']} on {dataset['name']}, "
        f"{dataset['n_samples']} samples x {n_features} features, {estimator['preprocessing']}"
    ]
    for column, why in dataset["dropped_columns"].items():
        lines.append(f"dropped        column {column!r} ({why})")
    if seconds["compile"] > 1:
        lines.append(
            f"first run      compiled the training loop in {seconds['compile']:.1f} s (numba "
            "caches it: later runs load it in a fraction of a second)"
        )
    settings = report["settings"]
    folds = result["folds"]
    lines.append(
        f"range test     {len(folds)} folds, rates from "
        + ", ".join(f"{fold['first_lr']:.2g}" for fold in folds)
        + " up to "
        + ", ".join(f"{fold['last_lr']:.2g}" for fold in folds)
        + f" ({seconds['range_tests']:.2f} s)"
    )
    lines.append(f"{'':<15}first fold: {folds[0]['stop_reason']}")
    lines += [
        f"chosen rate    {report['chosen_lr']:.3g}   ({settings['rule']} rule; refit "
        f"{seconds['refit']:.2f} s, whole search {seconds['search']:.2f} s)",
        "suggestions    "
        + "   ".join(
            f"{rule} {rate:.2g}" if rate is not None else f"{rule} -"
            for rule, rate in report["suggestions"].items()
        ),
    ]
    metric = {"accuracy": "accuracy", "r2": "R^2"}[scores["metric"]]
    lines += [
        f"{settings['cv']}-fold {metric:<9}default, {estimator['default_rate']}: "
        f"{_summary(scores['default'])}  ({seconds['cv_default']:.2f} s)",
        f"{'':<15}LRFinderSearch: {_summary(scores['chosen'])}  ({seconds['cv_chosen']:.2f} s)",
    ]
    for name, caught in report["warnings"].items():
        lines.append(f"warning        {caught['count']} x {name}, first: {caught['first']}")
    lines.append(f"plot written to {report['plot']}")
    return "\n".join(lines)


def _summary(scores):
    return f"{scores['mean']:.4f} +/- {scores['std']:.4f}"


def _pipeline(data, classification, args):
    """``(pipeline, description of its preprocessing)`` for ``data``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from . import SGDLinearRegressor, SGDLogisticClassifier

    Estimator = {
        "sgd": (SGDLinearRegressor, SGDLogisticClassifier),
        "sklearn-sgd": (SGDRegressor, lambda **kw: SGDClassifier(loss="log_loss", **kw)),
        "mlp": (MLPRegressor, MLPClassifier),
    }[args.estimator][classification]
    estimator = Estimator(random_state=args.random_state)
    numeric, numeric_description = StandardScaler(), "StandardScaler"
    if data.imputed:
        numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        numeric_description = f"median imputation of {', '.join(data.imputed)}, then StandardScaler"
    if not data.categorical:
        return make_pipeline(numeric, estimator), f"{numeric_description} first"
    k, m = data.n_numeric, len(data.categorical)
    steps = [("numeric", numeric, list(range(k)))] if k else []
    steps.append(("text", OneHotEncoder(handle_unknown="ignore"), list(range(k, k + m))))
    description = (
        f"one-hot encoding of {m} text column(s) ({sum(data.categorical.values())} values)"
    )
    if k:
        description = f"{numeric_description} on {k} numeric column(s), {description}"
    return make_pipeline(ColumnTransformer(steps), estimator), description


def _cross_validate(estimator, data, args, what, progress):
    """``(scores, seconds)`` of ``estimator`` over the ``--cv`` folds, reporting each fold."""
    import numpy as np
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import check_cv
    from sklearn.utils.parallel import Parallel, delayed

    cv = check_cv(args.cv, data.y, classifier=is_classifier(estimator))
    folds = list(cv.split(data.X, data.y))
    started = time.perf_counter()
    scores = np.empty(len(folds))
    with _step(progress, f"cross-validating {what}: {len(folds)} folds"):
        results = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
            delayed(_fit_and_score)(clone(estimator), data.X, data.y, train, test, fold)
            for fold, (train, test) in enumerate(folds)
        )
        for done, (fold, score) in enumerate(results, start=1):
            scores[fold] = score
            elapsed = time.perf_counter() - started
            progress(f"  fold {done} of {len(folds)} done ({elapsed:.1f} s so far)")
    return scores, time.perf_counter() - started


def _fit_and_score(estimator, X, y, train, test, fold):
    """``(fold, score on the test rows)`` after fitting ``estimator`` on the training rows."""
    return fold, estimator.fit(X[train], y[train]).score(X[test], y[test])


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


def _check_plot_format(path):
    """The format named by the extension of ``path``, once matplotlib has written a small
    figure with text in it (a format can need more than matplotlib, e.g. LaTeX for ``.pgf``)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    extension = path.suffix.lower().lstrip(".")
    if extension not in formats:
        named = f"extension .{extension}" if extension else "no extension"
        raise UsageError(
            f"--output {path} has {named}; matplotlib writes: {', '.join(sorted(formats))}"
        )
    try:
        probe = Figure(figsize=(1, 1))
        probe.text(0.5, 0.5, "0.1")
        probe.savefig(io.BytesIO(), format=extension)
    except Exception as error:  # matplotlib's writers raise many kinds
        raise UsageError(f"cannot write .{extension} files here: {_one_line(error)}") from None
    return extension


def _load_training_loop():
    """Compile the training loop, or load it from numba's cache, before anything is timed, by
    a search on a tiny problem; return the seconds it took."""
    import numpy as np

    from . import LRFinderSearch, SGDLinearRegressor

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


if __name__ == "__main__":
    sys.exit(main())
