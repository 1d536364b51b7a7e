"""
Ramp per mini-batch or per epoch?
=================================

The study notebook raised its learning rate once per *epoch*, and asked (question 4) what
changes when the rate rises once per *mini-batch* instead, as fastai's ``lr_find`` does. This
example runs both on one regression set and one classification set, over the same range of
rates. It compares the curves, each rule's suggestion, what each ramp costs, and the
validation score of a model refitted at each suggestion, and it explains where the
differences come from.
"""

# %%
# The two ramps
# -------------
#
# The notebook's ``FindLearningRateScheduler`` was called with the epoch counter. Its
# 300-point toy set, with batches of 18, therefore trained all 17 mini-batches of an epoch at
# one rate. The rate grew from ``1e-6`` by 8 steps per decade over 53 epochs, and the plotted
# cost was the epoch's mean mini-batch cost. That made 901 updates to draw 53 points.
#
# :func:`~sklearn_lrf.lr_range_test` offers both designs through ``step_unit``:
#
# * ``step_unit="batch"`` (fastai's design, the default): one update per rate. The point's loss
#   is measured after that update, on the next mini-batch.
# * ``step_unit="epoch"`` (the notebook's design): one pass over the data per rate. The point's
#   loss is the mean of the epoch's mini-batch losses, each measured *before* its own update.
#   This is how Keras reports an epoch's training loss.
#
# Both ramps below share ``min_lr=1e-7`` and ``max_lr=10``, the default smoothing
# (:math:`\beta = 0.98`) and the default divergence stops: 4 times the best smoothed loss
# (tested after a warm-up of a tenth of the rates), or, with the default rule on these
# exponential ramps, the raw losses' running median confirmed above 4 times its running
# minimum for three of its windows (the onset the rule reads). The ends and the numbers of
# rates are fixed on purpose, so that both units cover the same range: the per-batch ramp uses
# 100 rates (the finder's old default ramp) and the per-epoch ramp 40 rates, that is 40
# epochs, already many more updates. (By default the finder would place the ramp from the
# data, at 15 rates per decade.) As by default, a ramp that reaches ``max_lr`` before its loss
# blows up goes on at the same ratio, for up to 3 more decades, until it does. The data are
# ``load_diabetes`` (regression, :class:`~sklearn_lrf.SGDLinearRegressor`) and ``load_digits``
# (10 classes, :class:`~sklearn_lrf.SGDLogisticClassifier`), each standardised in a pipeline.
# A quarter of each set is held out to score the refitted models.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import DivergenceError, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test

MIN_LR, MAX_LR = 1e-7, 10.0
N_STEPS = {"batch": 100, "epoch": 40}
RULES = ["divergence_onset", "lag_corrected", "minimum", "steepest", "valley", "slide"]


def make_problem(loader, estimator, stratify):
    X, y = loader(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    model = Pipeline([("scale", StandardScaler()), ("model", estimator)])
    return dict(model=model, X=X_train, y=y_train, X_val=X_val, y_val=y_val)


problems = {
    "diabetes": make_problem(load_diabetes, SGDLinearRegressor(random_state=0), False),
    "digits": make_problem(load_digits, SGDLogisticClassifier(random_state=0), True),
}

for problem in problems.values():
    problem["results"] = {
        unit: lr_range_test(
            problem["model"],
            problem["X"],
            problem["y"],
            min_lr=MIN_LR,
            max_lr=MAX_LR,
            n_steps=n_steps,
            step_unit=unit,
            random_state=0,
        )
        for unit, n_steps in N_STEPS.items()
    }
    problem["n_batches"] = -(-len(problem["y"]) // problem["model"][-1].batch_size)

# %%
# Cost
# ----
#
# ``result.n_updates`` counts the training updates a test made, and ``result.seconds`` is its
# wall time.

print(f"{'data':<10}{'unit':<7}{'batches/epoch':>14}{'points':>8}{'updates':>9}{'seconds':>9}")
for name, problem in problems.items():
    for unit, res in problem["results"].items():
        print(
            f"{name:<10}{unit:<7}{problem['n_batches']:>14}{len(res.learning_rates):>8}"
            f"{res.n_updates:>9}{res.seconds:>9.3f}"
        )
    batch, epoch = problem["results"]["batch"], problem["results"]["epoch"]
    print(
        f"{'':<10}per epoch / per batch: {epoch.n_updates / batch.n_updates:.1f} x the updates, "
        f"{epoch.seconds / batch.seconds:.1f} x the time; stops: batch '{batch.stop_reason}', "
        f"epoch '{epoch.stop_reason}'"
    )

# %%
# Each per-epoch point costs ``n_batches`` updates. Even with fewer points, the per-epoch ramp
# therefore makes several times more updates than the per-batch one, more so on the larger
# digits set. On diabetes both ramps blow up before ``max_lr``; on digits both go on past it
# by the printed number of steps: the per-batch ramp until its running median confirms the
# onset it found at 4.75 (stop at 25.4), the per-epoch ramp until its smoothed loss blows up
# (at 438).
#
# The curves
# ----------
#
# The two ramps are drawn on the same axes: the raw losses thin and the smoothed losses thick,
# with an ``x`` where each ramp stopped and a triangle at the default rule's pick. The two loss
# definitions differ (after the update on the next batch, or the epoch's mean before each
# update), but both estimate the training loss at the current weights, so the levels are
# comparable.

COLORS = {"batch": "C0", "epoch": "C1"}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for ax, (name, problem) in zip(axes, problems.items(), strict=True):
    for unit, res in problem["results"].items():
        color = COLORS[unit]
        ax.plot(res.learning_rates, res.losses, color=color, linewidth=0.7, alpha=0.5)
        ax.plot(
            res.learning_rates,
            res.smoothed_losses,
            color=color,
            linewidth=2,
            label=f"per {unit} ({len(res.learning_rates)} points)",
        )
        if res.diverged_at is not None:
            rate = res.learning_rates[res.diverged_at]
            ax.plot(rate, res.smoothed_losses[res.diverged_at], "x", color=color, markersize=10)
        pick = res.best_lr
        pick_loss = np.interp(np.log(pick), np.log(res.learning_rates), res.smoothed_losses)
        ax.plot(pick, pick_loss, "v", color=color, markersize=10, markeredgecolor="k")
    first = problem["results"]["batch"].smoothed_losses[0]
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(None, 3 * first),
        xlabel="learning rate",
        ylabel=problem["results"]["batch"].loss_name.split(" (")[0],
        title=f"{name}: raw (thin) and smoothed (thick)",
    )
    ax.legend(loc="lower left", fontsize="small")

# %%
# Three differences stand out:
#
# * The per-epoch raw curve is much less noisy, because each point averages ``n_batches``
#   mini-batch losses. To measure the noise, we rerun both ramps with another shuffling seed
#   (``random_state=1``) and take the median of :math:`|\log(\ell^{(0)}_i / \ell^{(1)}_i)|`
#   over the points where the loss has fallen by at least 10 % and before either run stops.
#   This is how much a point would change if the data were shuffled differently. We also
#   print the default rule's pick from both seeds.
# * The per-epoch curve falls at *smaller* rates.
# * The smoothed per-epoch curve lags further behind its raw curve. The exponential average
#   lags by a number of points, and with 40 points over 8 decades each point spans a wider
#   step of rate. The printout gives this lag in decades of learning rate, and the rates at
#   which the raw and the smoothed losses are lowest.


def noise_between_seeds(res, other):
    stops = [len(r.losses) if r.diverged_at is None else r.diverged_at for r in (res, other)]
    first, second = res.losses[: min(stops)], other.losses[: min(stops)]
    learning = np.minimum(first, second) < 0.9 * res.losses[0]
    return np.median(np.abs(np.log(first / second))[learning])


def smoothing_lag_decades(res):
    beta = res.settings["smoothing"]
    ages = np.arange(res.settings["n_steps"])
    lag_points = np.sum(ages * beta**ages) / np.sum(beta**ages)
    return lag_points * np.log10(MAX_LR / MIN_LR) / (res.settings["n_steps"] - 1)


def lowest(res, losses):
    stop = len(losses) if res.diverged_at is None else res.diverged_at
    return res.learning_rates[np.argmin(losses[:stop])]


print(
    f"{'data':<10}{'unit':<7}{'noise':>7}{'pick seed 0':>13}{'pick seed 1':>13}"
    f"{'lag (decades)':>15}{'lowest raw':>12}{'lowest smoothed':>17}"
)
for name, problem in problems.items():
    for unit, res in problem["results"].items():
        other = lr_range_test(
            problem["model"],
            problem["X"],
            problem["y"],
            min_lr=MIN_LR,
            max_lr=MAX_LR,
            n_steps=N_STEPS[unit],
            step_unit=unit,
            random_state=1,
        )
        print(
            f"{name:<10}{unit:<7}{noise_between_seeds(res, other):>7.3f}{res.best_lr:>13.2g}"
            f"{other.best_lr:>13.2g}{smoothing_lag_decades(res):>15.1f}"
            f"{lowest(res, res.losses):>12.3g}{lowest(res, res.smoothed_losses):>17.3g}"
        )

# %%
# Why the per-epoch curve falls earlier: time and rate are mixed
# ---------------------------------------------------------------
#
# In both ramps, the weights at a given rate are the product of *all* the updates made so far.
# In the per-epoch ramp those are ``n_batches`` updates at every earlier rate, not one. While
# the rate is small, each step is a small gradient step, and the progress made depends mostly
# on the accumulated step size :math:`\sum_k \eta_k` (the "time" of gradient flow). The
# per-epoch ramp accumulates that time much faster. To check this, we redraw both curves
# against :math:`\sum_k \eta_k`, the sum of the rates of the updates behind each point. For a
# per-epoch point, whose loss averages the states before each of its ``n_batches`` updates,
# that is the sum up to the epoch's start plus :math:`\eta (n_{batches} - 1) / 2`.


def accumulated_rate(res, n_batches):
    rates = res.learning_rates
    if res.settings["step_unit"] == "batch":
        return np.cumsum(rates)  # the loss is measured after the update
    before = np.concatenate([[0.0], np.cumsum(rates * n_batches)[:-1]])
    return before + rates * (n_batches - 1) / 2


fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for ax, (name, problem) in zip(axes, problems.items(), strict=True):
    for unit, res in problem["results"].items():
        time = accumulated_rate(res, problem["n_batches"])
        ax.plot(time, res.losses, color=COLORS[unit], linewidth=1.5, label=f"per {unit} (raw)")
    first = problem["results"]["batch"].losses[0]
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(None, 3 * first),
        xlabel="accumulated step size: sum of the rates so far",
        ylabel=problem["results"]["batch"].loss_name.split(" (")[0],
        title=f"{name}: the same losses against training 'time'",
    )
    ax.legend(loc="lower left", fontsize="small")

for name, problem in problems.items():
    rate = 1e-2
    times = {
        unit: np.interp(
            np.log(rate),
            np.log(res.learning_rates),
            accumulated_rate(res, problem["n_batches"]),
        )
        for unit, res in problem["results"].items()
    }
    print(
        f"{name:<9} when the ramps reach lr={rate:g}: accumulated step size per batch "
        f"{times['batch']:.3g}, per epoch {times['epoch']:.3g} "
        f"({times['epoch'] / times['batch']:.0f} x)"
    )

# %%
# Against accumulated step size, the descending parts of the two curves nearly coincide. The
# two ramps trace the *same* training trajectory, but the per-epoch ramp has travelled the
# printed factor further by the time it reaches any given rate. It therefore reaches low losses
# at smaller rates, and its whole curve, with every rule reading it, shifts left. The curves
# separate again at the right end, where stability, and not time, decides the outcome. That
# depends on the rate itself, and the per-epoch ramp spends a whole epoch at each rate: an
# unstable rate is amplified ``n_batches`` times before the next point is recorded.
#
# Suggestions and what they are worth
# -----------------------------------
#
# We refit the pipeline at each rule's suggestion, with a constant rate and the estimator's
# default stopping (``max_iter=200``, ``tol=1e-4``), and score it on the held-out quarter (R²
# for diabetes, accuracy for digits). For reference we also refit on a grid of constant rates.
# Some rules suggest rates so small that 200 epochs are not enough to converge. Those refits
# raise a ``ConvergenceWarning``, which we silence here because the low scores in the table
# already show the problem. The largest grid rates can diverge: the fit then raises
# :class:`~sklearn_lrf.DivergenceError` (its training loss became non-finite, or exploded while
# still finite), which we catch and score as ``nan``; the printout lists those rates.


def refit_score(problem, rate):
    model = clone(problem["model"]).set_params(model__learning_rate=float(rate))
    with warnings.catch_warnings():
        # Expected for the tiny rates some rules pick: 200 epochs do not converge there.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(problem["X"], problem["y"])
        except DivergenceError:
            return np.nan
    return model.score(problem["X_val"], problem["y_val"])


GRID = np.logspace(-5, 1, 13)
for problem in problems.values():
    problem["grid"] = np.array([refit_score(problem, rate) for rate in GRID])
    problem["scores"] = {
        unit: {rule: refit_score(problem, res.suggestions[rule]) for rule in RULES}
        for unit, res in problem["results"].items()
    }

print(f"{'data':<10}{'unit':<7}" + "".join(f"{rule:>18}" for rule in RULES))
print(f"{'':<17}" + "".join(f"{'rate   score':>18}" for _ in RULES))
for name, problem in problems.items():
    for unit, res in problem["results"].items():
        cells = "".join(
            f"{res.suggestions[rule]:>10.2g}{problem['scores'][unit][rule]:>8.3f}" for rule in RULES
        )
        print(f"{name:<10}{unit:<7}{cells}")
    best = np.nanargmax(problem["grid"])
    diverged = ", ".join(f"{rate:.2g}" for rate in GRID[np.isnan(problem["grid"])]) or "none"
    print(
        f"{'':<10}grid of {len(GRID)} constant rates: best score {problem['grid'][best]:.3f} "
        f"at lr={GRID[best]:.2g}; rates that raised DivergenceError: {diverged}"
    )
for name, problem in problems.items():
    scores = problem["scores"]
    close = [rule for rule in RULES if abs(scores["batch"][rule] - scores["epoch"][rule]) < 0.01]
    print(
        f"{name:<9} default rule: score {scores['batch']['divergence_onset']:.3f} per batch, "
        f"{scores['epoch']['divergence_onset']:.3f} per epoch; rules whose two picks score within "
        f"0.01: {', '.join(close) or 'none'}"
    )
lower_per_epoch = set(RULES)
for name, problem in problems.items():
    ratios = [
        problem["results"]["batch"].suggestions[rule]
        / problem["results"]["epoch"].suggestions[rule]
        for rule in RULES
    ]
    shown = ", ".join(f"{rule} {ratio:.2g}" for rule, ratio in zip(RULES, ratios, strict=True))
    print(f"{name:<9} per-batch pick / per-epoch pick: {shown}")
    lower_per_epoch &= {rule for rule, ratio in zip(RULES, ratios, strict=True) if ratio > 1}
print(f"rules picking a lower rate per epoch on both sets: {', '.join(sorted(lower_per_epoch))}")

# %%
# The last figure puts the picks on the validation-score curve of the grid. Circles mark the
# per-batch picks and squares the per-epoch picks, coloured by rule. The y-axis is cut below so
# that the good region stays readable; picks that score below the cut are listed in the table.
# Red crosses on the lower edge mark grid rates whose fit raised ``DivergenceError``.

RULE_COLORS = {rule: f"C{i}" for i, rule in enumerate(RULES)}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for ax, (name, problem) in zip(axes, problems.items(), strict=True):
    ax.plot(GRID, problem["grid"], color="0.5", linewidth=1.5, label="constant-rate grid")
    diverged = np.isnan(problem["grid"])
    if diverged.any():
        ax.plot(
            GRID[diverged],
            np.full(diverged.sum(), 0.02),
            "x",
            color="C3",
            markersize=8,
            transform=ax.get_xaxis_transform(),
            label="grid: DivergenceError",
        )
    for unit, marker in [("batch", "o"), ("epoch", "s")]:
        for rule in RULES:
            ax.plot(
                problem["results"][unit].suggestions[rule],
                problem["scores"][unit][rule],
                marker,
                color=RULE_COLORS[rule],
                markersize=8,
                markeredgecolor="k",
                linestyle="none",
                label=rule if unit == "batch" else None,
            )
    best = np.nanmax(problem["grid"])
    ax.set(
        xscale="log",
        ylim=(best - 0.25, best + 0.03),
        xlabel="learning rate of the refit",
        ylabel="validation R²" if name == "diabetes" else "validation accuracy",
        title=f"{name}: refit at each pick (o per batch, s per epoch)",
    )
    ax.legend(loc="lower left", fontsize="small")

# %%
# The answer
# ----------
#
# * **Same trajectory, different clock.** A per-epoch ramp makes ``n_batches`` updates at each
#   rate. By the time it reaches a given rate, the model has therefore made much more progress
#   (the printed factor of accumulated step size), and its loss falls at smaller rates. Plotted
#   against accumulated step size, the two curves coincide until instability sets in; the rate
#   itself matters only near the limit of stability, where both raw curves turn up at rates of
#   the same order (the printed "lowest raw" column).
# * **The rules move, not all the same way.** Rules that read the falling part of the curve
#   pick lower rates per epoch: the printed list names those that do so on both sets, and the
#   printed ratios show by how much. Rules that read the minimum of the *smoothed* curve can
#   move either way. The smoothed per-epoch curve lags by more decades of rate, which pushes
#   its minimum to the right (the printed "lowest smoothed" column). ``lag_corrected`` starts
#   from that minimum but steps back by the average's mean age, a number of points that spans
#   more decades per epoch, so it lands on the falling part and moves with it. The default
#   ``divergence_onset`` reads the onset of the blow-up on the raw losses, at the right end,
#   where the rate decides and not the time: its two picks agree within a factor 1.4 on both
#   sets and score the same within 0.01.
# * **Less noise, but a lagged view.** Each per-epoch point averages a whole epoch of mini-batch
#   losses, so the raw curve is far less noisy, and a different shuffle changes it much less
#   (the printed noise). However, each of those losses was measured *before* its update, as
#   Keras reports an epoch, so a point describes the weights during the epoch, not after it.
#   Per batch, each point is a single mini-batch after a single step. The point is noisier,
#   and the step rate and the model's progress change together at every point.
# * **Cost.** Per epoch costs ``n_batches`` times more updates per point (the printed cost
#   table). On a large data set, 40 epochs is a full training budget, while a per-batch ramp
#   fits inside one epoch and is cheap enough to run in every fold of a cross-validation.
# * **What to use.** Compare the refit scores in the table with the grid's best score. The
#   picks of the two ramps differ, yet the printed lists show that for most rules the two
#   picks score within 0.01 of each other. Usually both land in the wide plateau of rates that
#   train well (last figure); where the scores differ by more, one of the two picks lies near
#   an edge of that plateau or beyond it. Neither ramp wins for every rule and data set, so the
#   per-epoch ramp does not buy a better choice for its much higher cost. That is why this
#   package ramps per mini-batch by default, and offers ``step_unit="epoch"`` to reproduce the
#   notebook's design and Keras-style finders.
