"""
LRFinderSearch versus GridSearchCV
==================================

The usual way to choose a learning rate in scikit-learn is a grid search: fit the model at
every rate of a grid, on every inner fold, and keep the best. :class:`~sklearn_lrf.LRFinderSearch`
replaces the grid by one range test and one refit. This example compares the two as drop-in
model-selection steps inside the same outer 5-fold cross-validation, on three small bundled
datasets: does the finder lose score, and how much time does it save? It also shows what the
grid spends its time on, and what happens at the rates where training diverges.
"""

# %%
# The contenders
# --------------
#
# Both wrap the same ``Pipeline(StandardScaler, model)``, with ``SGDLinearRegressor`` for
# diabetes (R^2) and ``SGDLogisticClassifier`` for breast cancer and iris (accuracy), all with
# default settings (``batch_size=32``, up to 200 epochs, ``tol=1e-4``).
#
# * ``GridSearchCV`` over 13 rates from 1e-4 to 10, evenly spaced on a log scale (two per
#   decade and a bit), with an inner 3-fold cross-validation: 39 fits plus a refit per outer
#   fold.
# * ``LRFinderSearch`` with its defaults: one range test on the outer training fold (one
#   mini-batch per rate, from ``1e-3 / L`` to ``1e3 / L`` at 15 rates per decade, placed from
#   the fold's data and stopped when the loss blows up), the default ``divergence_onset``
#   rule, and a refit at the picked rate.
#
# ``cross_validate`` scores both on the same outer folds and keeps the fitted searches so we
# can look inside them. The numbers below are this example's own, on three small bundled
# datasets so that it runs in about a minute. ``benchmarks/bench_finder.py`` is the larger
# study: it measures every rule on 24 problems (regression and classification, dense and
# sparse, scaled and raw, our estimators and scikit-learn's MLPs) by its regret against a grid
# oracle, and also compares ``LRFinderSearch`` with a nested ``GridSearchCV`` there.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier

GRID = np.logspace(-4, 1, 13)
DATASETS = {
    "diabetes": (load_diabetes(return_X_y=True), SGDLinearRegressor, KFold),
    "breast cancer": (load_breast_cancer(return_X_y=True), SGDLogisticClassifier, StratifiedKFold),
    "iris": (load_iris(return_X_y=True), SGDLogisticClassifier, StratifiedKFold),
}

# %%
# Divergence, and the warnings we expect
# --------------------------------------
#
# The top of the grid is deliberately too large: at a rate of 10 a squared-error fit blows up.
# When the training loss or the coefficients become non-finite, or the loss explodes while
# still finite (an epoch far worse than the best so far), ``fit`` raises
# :class:`~sklearn_lrf.DivergenceError`. We pass ``error_score=np.nan`` (scikit-learn's default,
# spelled out) so that ``GridSearchCV`` scores such a fit as NaN and ranks that rate last,
# instead of aborting the whole search as ``error_score="raise"`` would; a search with failed
# fits then warns once with a ``FitFailedWarning`` that counts them. A fit just short of
# exploding can still end with a finite but very poor model; its score is then hugely
# negative and it is ranked last just the same.
#
# The bottom of the grid is too small for 200 epochs: those fits run every epoch and raise a
# ``ConvergenceWarning`` each. Both kinds of warning are the grid doing its job of trying bad
# rates, so we record and count them instead of printing hundreds of lines; any other warning
# is re-emitted. A refit at the finder's pick can hit ``max_iter`` too; the count shows
# whether it did.

EXPECTED = (FitFailedWarning, ConvergenceWarning)


def timed_cross_validate(search, X, y, folds):
    """Outer CV of ``search``: fold scores, wall time, fitted searches, counted warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        result = cross_validate(search, X, y, cv=folds, return_estimator=True)
        seconds = time.perf_counter() - started
    counts = {category.__name__: 0 for category in EXPECTED}
    for warning in caught:
        if issubclass(warning.category, EXPECTED):
            counts[warning.category.__name__] += 1
        # GridSearchCV's note that some inner test scores are NaN follows a FitFailedWarning.
        elif not str(warning.message).startswith("One or more of the test scores"):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return result["test_score"], seconds, result["estimator"], counts


runs = {}
for name, ((X, y), Estimator, Splitter) in DATASETS.items():
    pipe = Pipeline([("scale", StandardScaler()), ("model", Estimator(random_state=0))])
    folds = list(Splitter(n_splits=5, shuffle=True, random_state=0).split(X, y))
    grid = GridSearchCV(pipe, {"model__learning_rate": GRID}, cv=3, error_score=np.nan)
    finder = LRFinderSearch(pipe, random_state=0)
    runs[name] = {
        "grid": timed_cross_validate(grid, X, y, folds),
        "finder": timed_cross_validate(finder, X, y, folds),
    }

# %%
# Scores and wall times
# ---------------------
#
# Mean outer score (and its standard deviation over the 5 outer folds), wall time of the whole
# ``cross_validate`` call, the score difference (finder minus grid) and the time ratio
# (finder over grid).

print(
    f"{'dataset':<15}{'grid score':>16}{'grid s':>8}{'finder score':>18}{'finder s':>10}"
    f"{'diff':>9}{'time ratio':>12}"
)
for name, run in runs.items():
    (g_scores, g_s, _, _), (f_scores, f_s, _, _) = run["grid"], run["finder"]
    print(
        f"{name:<15}{g_scores.mean():>9.4f} ± {g_scores.std():.3f}{g_s:>8.2f}"
        f"{f_scores.mean():>11.4f} ± {f_scores.std():.3f}{f_s:>10.2f}"
        f"{f_scores.mean() - g_scores.mean():>+9.4f}{f_s / g_s:>12.3f}"
    )

print("\nRates chosen on each outer fold:")
for name, run in runs.items():
    grid_picks = [search.best_params_["model__learning_rate"] for search in run["grid"][2]]
    finder_picks = [search.best_lr_ for search in run["finder"][2]]
    print(f"{name:<15}grid   " + "  ".join(f"{rate:8.3g}" for rate in grid_picks))
    print(f"{'':<15}finder " + "  ".join(f"{rate:8.3g}" for rate in finder_picks))

print(
    "\nWarnings recorded (FitFailedWarning: one per search with failed fits; "
    "ConvergenceWarning: one per fit that hit max_iter):"
)
for name, run in runs.items():
    for who in ("grid", "finder"):
        counts = ", ".join(f"{n} {category}" for category, n in run[who][3].items())
        print(f"{name:<15}{who:<8}{counts}")

# %%
# The bar chart puts the two side by side. The scores are on different metrics per dataset
# (R^2 for diabetes, accuracy for the others), so compare bars within a dataset; the wall
# times are on a log axis, each pair labelled with its ratio.

names = list(runs)
x = np.arange(len(names))
width = 0.38
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
for offset, who, color in [(-width / 2, "grid", "C7"), (width / 2, "finder", "C0")]:
    means = [runs[name][who][0].mean() for name in names]
    stds = [runs[name][who][0].std() for name in names]
    label = "GridSearchCV (13 rates x 3 folds)" if who == "grid" else "LRFinderSearch"
    ax_score.bar(x + offset, means, width, yerr=stds, capsize=3, color=color, label=label)
    ax_time.bar(x + offset, [runs[name][who][1] for name in names], width, color=color)
for i, name in enumerate(names):
    ratio = runs[name]["finder"][1] / runs[name]["grid"][1]
    ax_time.annotate(
        f"x{ratio:.3f}",
        (i + width / 2, runs[name]["finder"][1]),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        fontsize="small",
    )
ax_score.set_xticks(x, names)
ax_score.set_ylabel("outer 5-fold score (R^2 or accuracy)")
ax_score.set_ylim(0, 1.2)
ax_score.set_title("Score: mean ± std over outer folds")
ax_score.legend(loc="upper center", ncols=2, fontsize="small", frameon=False)
ax_time.set_xticks(x, names)
ax_time.set_yscale("log")
ax_time.set_ylabel("wall time of cross_validate (s)")
ax_time.set_title("Wall time (finder / grid ratio on top)")
plt.show()

# %%
# Inside the grid
# ---------------
#
# Each fitted ``GridSearchCV`` keeps its inner results. Averaged over the 5 outer folds, the
# table gives, per grid rate, the inner-CV score, how many of the 15 inner fits failed (NaN
# through ``error_score``) and the mean time of one fit. The fit times show where the grid
# spends its time: below the good rates, fits crawl through many epochs, often all 200 (the
# ``ConvergenceWarning`` count above). The largest rates are where a squared-error fit blows
# up: a huge negative R^2, or a NaN counted as "failed"; both are ranked last.


def profile(searches):
    scores = np.array([s.cv_results_["mean_test_score"] for s in searches])
    split_scores = np.array(
        [[s.cv_results_[f"split{k}_test_score"] for k in range(3)] for s in searches]
    )
    fit_times = np.array([s.cv_results_["mean_fit_time"] for s in searches])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a rate failing on every fold
        mean_score = np.nanmean(scores, axis=0)
    return mean_score, np.isnan(split_scores).sum(axis=(0, 1)), fit_times.mean(axis=0)


profiles = {name: profile(run["grid"][2]) for name, run in runs.items()}
print(f"{'rate':>9}" + "".join(f"{name:>31}" for name in names))
print(f"{'':>9}" + f"{'inner score':>14}{'failed':>8}{'fit s':>9}" * len(names))
for i, rate in enumerate(GRID):
    cells = ""
    for name in names:
        score, failed, fit_s = (values[i] for values in profiles[name])
        cells += f"{score:>14.4g}{failed:>8d}{fit_s:>9.4f}"
    print(f"{rate:>9.3g}{cells}")
n_inner_test = len(DATASETS["iris"][0][1]) * 4 // 5 // 3
print(f"iris: an inner test fold has {n_inner_test} samples; one sample = {1 / n_inner_test:.3f}")

# %%
# The same profile as a figure, with the rates the two searches chose on the outer folds as
# ticks along the top. The vertical axis stops a little below the worst score that is still
# reasonable; rates whose score falls off it (or is NaN) are marked with a cross on the lower
# edge.

fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
for ax, name in zip(axes, names, strict=True):
    score, failed, _ = profiles[name]
    best = np.nanmax(score)
    bottom = best - (0.5 if name == "diabetes" else 0.25)
    on_axis = np.isfinite(score) & (score >= bottom)
    ax.plot(GRID[on_axis], score[on_axis], "o-", color="C7", label="grid: inner-CV score")
    if not on_axis.all():
        ax.plot(
            GRID[~on_axis],
            np.full((~on_axis).sum(), bottom),
            "x",
            color="C3",
            markersize=9,
            label="off the axis or NaN",
        )
    for who, color, y_tick in [("grid", "C7", 0.93), ("finder", "C0", 0.98)]:
        picks = (
            [s.best_params_["model__learning_rate"] for s in runs[name]["grid"][2]]
            if who == "grid"
            else [s.best_lr_ for s in runs[name]["finder"][2]]
        )
        ax.plot(
            picks,
            np.full(len(picks), y_tick),
            "|",
            color=color,
            markersize=12,
            markeredgewidth=2,
            transform=ax.get_xaxis_transform(),
            label=f"{who} picks (outer folds)",
        )
    ax.set_xscale("log")
    ax.set_ylim(bottom - 0.04 * (best - bottom), best + 0.25 * (best - bottom))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("inner 3-fold score")
    ax.set_title(name)
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", frameon=False)
fig.suptitle("GridSearchCV's inner scores over its 13 rates, and where each search landed")
plt.show()

# %%
# Conclusions
# -----------
#
# * **Score.** The first table shows the finder's mean outer score next to the grid's; read the
#   "diff" column against the "±" columns: differences of a fraction of the fold-to-fold
#   spread are noise, not a verdict.
# * **Time.** The "time ratio" column is the point of the finder: one ramp of mini-batch updates,
#   stopped when the loss blows up, plus one refit, against 39 full fits plus a refit. Most of the
#   grid's fits are spent on rates that lose, and the slowest of them are the too-small rates that
#   never converge.
# * **Where the finder lands.** Its picks vary less from fold to fold than the grid's argmax (the
#   "rates chosen" table), which jumps between rates whose inner scores differ by a test sample or
#   two. On diabetes and iris they sit on the grid's plateau of good rates, next to the rates the
#   inner scores prefer; on breast cancer they sit on the plateau's upper side, at rates whose inner
#   score is within about one inner test sample of the best. The first table shows what that did to
#   the outer score: here the finder scores above the grid on diabetes and iris, and within one
#   outer test sample below it on breast cancer. The inner profile is itself a noisy estimate: the
#   line printed under the profile table gives the size of an inner test fold and what one sample is
#   worth there.
# * **Divergence.** A grid has to include rates that fail in order to bracket the good ones;
#   with ``error_score=np.nan`` the failures are harmless to the choice, but they cost fits
#   and warnings. The range test goes on until the loss blows up, on purpose, and stops there
#   by itself (once the smoothed loss has grown fourfold, once the raw losses' running median
#   has stayed above 4 times its running minimum for a decade of rates, or once a step makes
#   the training loss explode); its pick is a fixed fraction (0.047) of the rate where the
#   blow-up began.
