"""
The schedules, and one-cycle training after the finder
======================================================

:mod:`sklearn_lrf.schedules` holds small objects that map an update count to a learning rate:
the ramps the range test uses, the classic decays, cosine annealing with warm restarts,
Smith's cyclical rates and the one-cycle policy. This example draws every one of them, then
uses the most popular companion of the LR finder, one-cycle training (fastai's
``fit_one_cycle``), on digits: pick a rate with :class:`~sklearn_lrf.LRFinderSearch`, refit
with it as the peak of a one-cycle schedule, and compare with a constant rate and with the
estimator's default ``"auto"`` rate on the same epoch budget.
"""

# %%
# Every schedule, evaluated over 200 steps
# ----------------------------------------
#
# A schedule is called with a step count, or an array of them, and returns the rate(s):
# ``schedule(np.arange(200))`` evaluates it in one vectorised call. Its ``unit`` says whether
# the count advances per mini-batch (``"batch"``) or per pass over the data (``"epoch"``); the
# training loop reads it, the formula does not care. Schedules are scikit-learn parameter
# objects: their repr shows the parameters that differ from the defaults, and they clone,
# pickle and grid-search (``learning_rate__max_lr``) like estimators.

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import DivergenceError, LRFinderSearch, SGDLogisticClassifier
from sklearn_lrf.schedules import (
    Constant,
    CosineAnnealing,
    ExponentialDecay,
    ExponentialRamp,
    InverseScaling,
    LinearRamp,
    OneCycle,
    StepDecay,
    Triangular,
)

T = 200
steps = np.arange(T)
schedules = [
    Constant(lr=0.05),
    ExponentialRamp(start_lr=1e-5, end_lr=1.0, n_steps=T),
    LinearRamp(start_lr=1e-5, end_lr=0.1, n_steps=T),
    InverseScaling(lr=0.1, power_t=0.5),
    StepDecay(lr=0.1, step_size=50, gamma=0.5),
    ExponentialDecay(lr=0.1, gamma=0.98),
    CosineAnnealing(lr=0.1, n_steps=T),
    CosineAnnealing(lr=0.1, n_steps=25, warm_restarts=True, cycle_mult=2.0),
    OneCycle(max_lr=0.1, n_steps=T),
    Triangular(base_lr=0.01, max_lr=0.1, step_size=25, mode="triangular"),
    Triangular(base_lr=0.01, max_lr=0.1, step_size=25, mode="triangular2"),
    Triangular(base_lr=0.01, max_lr=0.1, step_size=25, mode="exp_range", gamma=0.99),
]

fig, axes = plt.subplots(4, 3, figsize=(11, 11), sharex=True, layout="constrained")
for ax, schedule in zip(axes.flat, schedules, strict=True):
    rates = schedule(steps)
    ax.plot(steps, rates, color="C0")
    if isinstance(schedule, ExponentialRamp):
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, 1.1 * rates.max())
    ax.set_title(textwrap.fill(f"{schedule!r}, per {schedule.unit}", 40), fontsize=9)
    ax.grid(alpha=0.3)
for ax in axes[-1]:
    ax.set_xlabel("step (update or epoch, per unit)")
for ax in axes[:, 0]:
    ax.set_ylabel("learning rate")
fig.suptitle("Every schedule in sklearn_lrf.schedules, evaluated on steps 0..199")
plt.show()

# %%
# Reading the panels row by row: a constant rate, the two ramps of the range test (geometric,
# drawn on a log axis, and arithmetic), scikit-learn's ``invscaling`` and two classic decays;
# cosine annealing without and with warm restarts (SGDR; each cycle twice as long as the
# previous with ``cycle_mult=2``), the one-cycle policy, and Smith's cyclical "triangle" in
# its three modes (constant amplitude, amplitude halved each cycle, and decaying by
# ``gamma ** step``). The table gives each schedule's first, largest and last rate, and
# ``peak_lr``, the number :meth:`~sklearn_lrf.schedules.Schedule.with_peak` rescales (the
# whole schedule scales with it); ``LRFinderSearch(refit_schedule=...)`` uses exactly that.

print(f"{'schedule':<26}{'unit':>6}{'rate(0)':>10}{'max':>10}{'rate(199)':>11}{'peak_lr':>10}")
for schedule in schedules:
    rates = schedule(steps)
    label = type(schedule).__name__
    if isinstance(schedule, Triangular):
        label += f" ({schedule.mode})"
    elif isinstance(schedule, CosineAnnealing) and schedule.warm_restarts:
        label += " (restarts)"
    print(
        f"{label:<26}{schedule.unit:>6}{rates[0]:>10.3g}{rates.max():>10.3g}"
        f"{rates[-1]:>11.3g}{schedule.peak_lr:>10.3g}"
    )
print("\nOneCycle(max_lr=0.1, n_steps=200).with_peak(0.5) ->", schedules[8].with_peak(0.5))

# %%
# One-cycle after the finder
# --------------------------
#
# fastai's recipe is: run ``lr_find``, then ``fit_one_cycle`` with the found rate as the peak.
# We reproduce it with our own objects. ``OneCycle`` warms up from ``max_lr / 25`` to
# ``max_lr`` along half a cosine over the first quarter of the updates (fastai's
# ``pct_start=0.25``, ``div_factor=25``), then anneals along half a cosine to
# ``max_lr / 25 / 1e4`` (``final_div_factor=1e4``), as fastai and PyTorch's ``OneCycleLR``
# do.
#
# The model is ``Pipeline(StandardScaler, SGDLogisticClassifier)`` on digits (10 classes,
# multinomial log loss), with a budget of exactly 20 epochs: ``max_iter=20`` and ``tol=None``,
# so no fit stops early. One cycle spans the whole budget, ``20 * ceil(n_train / 32)``
# mini-batch updates. We compare
#
# * **one-cycle**: ``LRFinderSearch(refit_schedule=OneCycle(n_steps=...))``, which refits
#   with ``OneCycle.with_peak(best_lr_)``;
# * **constant**: ``LRFinderSearch`` with its default constant refit at ``best_lr_``;
# * **auto**: the estimator's default ``learning_rate="auto"``, a constant ``1 / L(b)`` from
#   the data's smoothness bound (its plateau-based rate reductions need ``tol``, which is off
#   here, so it stays constant).
#
# Everything is fitted on 75% of the data; the other 25% is the validation set.

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
EPOCHS, BATCH = 20, 32
n_updates = EPOCHS * -(-len(X_train) // BATCH)
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "model",
            SGDLogisticClassifier(batch_size=BATCH, max_iter=EPOCHS, tol=None, random_state=0),
        ),
    ]
)

constant = LRFinderSearch(pipe, random_state=0).fit(X_train, y_train)
one_cycle = LRFinderSearch(pipe, refit_schedule=OneCycle(n_steps=n_updates), random_state=0).fit(
    X_train, y_train
)
auto = clone(pipe).fit(X_train, y_train)
best_lr = constant.best_lr_
print(f"range test picked best_lr_ = {best_lr:.3g} (one-cycle search: {one_cycle.best_lr_:.3g})")
print(f"{n_updates} updates in {EPOCHS} epochs")

fits = {
    "one-cycle": one_cycle.best_estimator_,
    "constant": constant.best_estimator_,
    '"auto"': auto,
}


def validation_scores(model):
    return model.score(X_val, y_val), log_loss(y_val, model.predict_proba(X_val))


print(
    f"\n{'refit':<11}{'schedule used':<16}{'peak rate':>10}{'mean rate':>11}{'final train':>13}"
    f"{'val acc':>9}{'val log loss':>14}"
)
for label, model in fits.items():
    used = model[-1].learning_rate_
    rates = used(np.arange(n_updates))
    accuracy, loss = validation_scores(model)
    print(
        f"{label:<11}{type(used).__name__:<16}{rates.max():>10.3g}{rates.mean():>11.3g}"
        f"{model[-1].loss_curve_[-1]:>13.4f}{accuracy:>9.4f}{loss:>14.4f}"
    )

# %%
# The rates the three fits actually used (``learning_rate_`` of each refitted estimator,
# evaluated over its updates) and the training loss they produced (``loss_curve_``: per
# epoch, the mean loss of its mini-batches plus the penalty).

fig, (ax_rate, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained")
updates = np.arange(n_updates)
for (label, model), color in zip(fits.items(), ["C0", "C1", "C7"], strict=True):
    rates = model[-1].learning_rate_(updates)
    ax_rate.plot(updates, rates, color=color, label=f"{label} (peak {rates.max():.2g})")
    curve = model[-1].loss_curve_
    ax_loss.plot(np.arange(1, len(curve) + 1), curve, "o-", color=color, markersize=3)
ax_rate.set_yscale("log")
ax_rate.set_xlabel("mini-batch update")
ax_rate.set_ylabel("learning rate")
ax_rate.set_title("Schedules used by the refits")
ax_rate.legend(fontsize="small")
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.xaxis.set_major_locator(MaxNLocator(integer=True))
ax_loss.set_ylabel("training loss (log loss + L2 penalty)")
ax_loss.set_title(f"Training loss, {EPOCHS}-epoch budget")
plt.show()

# %%
# Read the "mean rate" column first. With its peak at ``best_lr_``, one-cycle spends a quarter
# of the budget warming up from a 25th of it and most of the rest annealing towards zero, so
# its average rate is about half the constant refit's, and its final training loss is higher.
# Yet its validation columns are better: the default rule's pick is a large rate for a
# constant refit here (the sweep below finds the constant rate's lowest loss at a third of it),
# and one-cycle's annealing removes the noise that such a rate leaves at the end of a
# constant-rate fit. The warm-up protects the start, so a peak above what a constant rate
# tolerates can pay off. That is study question 2 (why one can often choose a larger rate than
# the finder recommends); the next cell measures it.
#
# The peak, swept
# ---------------
#
# The same 20-epoch budget, the pick multiplied by 1/3 to 30, as a constant rate and as the
# peak of the one-cycle schedule. Validation log loss is the finer measure (accuracy moves in
# steps of one validation sample); the finder's pick and the ``"auto"`` rate are marked. A fit
# that raises :class:`~sklearn_lrf.DivergenceError` would be printed as ``nan`` and left out
# of the figure; the last printed line counts them.

factors = np.array([1 / 3, 1, 3, 10, 30])
sweep = {"constant": [], "one-cycle": []}
for rate in best_lr * factors:
    for kind, value in [
        ("constant", float(rate)),
        ("one-cycle", OneCycle(n_steps=n_updates).with_peak(rate)),
    ]:
        model = clone(pipe).set_params(model__learning_rate=value)
        try:
            sweep[kind].append(validation_scores(model.fit(X_train, y_train)))
        except DivergenceError:  # the training loss became non-finite or exploded
            sweep[kind].append((np.nan, np.nan))

print(f"one validation sample = {1 / len(y_val):.4f} of accuracy")
print(
    f"{'peak rate':>10}{'x best_lr_':>11}" + "".join(f"{k + ' acc':>17}{'loss':>8}" for k in sweep)
)
for i, factor in enumerate(factors):
    cells = "".join(f"{sweep[k][i][0]:>17.4f}{sweep[k][i][1]:>8.4f}" for k in sweep)
    print(f"{best_lr * factor:>10.3g}{factor:>11.3g}{cells}")
best = {kind: factors[np.nanargmin([loss for _, loss in sweep[kind]])] for kind in sweep}
print(
    "lowest validation log loss: "
    + ", ".join(f"{kind} at {factor:.3g} x best_lr_" for kind, factor in best.items())
)
print(
    "fits that raised DivergenceError: "
    + ", ".join(f"{kind} {int(np.isnan(np.array(sweep[kind])[:, 1]).sum())}" for kind in sweep)
)

fig, ax = plt.subplots(figsize=(7.5, 4.3), layout="constrained")
for kind, color in [("one-cycle", "C0"), ("constant", "C1")]:
    losses = [loss for _, loss in sweep[kind]]
    ax.plot(best_lr * factors, losses, "o-", color=color, label=f"{kind} at this (peak) rate")
ax.axvline(best_lr, color="k", linestyle="--", linewidth=1, label=f"best_lr_ ({best_lr:.2g})")
ax.axvline(
    auto[-1].learning_rate_.lr,
    color="C7",
    linestyle=":",
    label=f'"auto" rate ({auto[-1].learning_rate_.lr:.2g})',
)
ax.set_xscale("log")
ax.set_xlabel("learning rate (constant) or peak rate (one-cycle)")
ax.set_ylabel("validation log loss")
ax.set_title(f"digits, SGDLogisticClassifier, {EPOCHS} epochs")
ax.legend(fontsize="small")
plt.show()

# %%
# Conclusions
# -----------
#
# * All schedules are vectorised callables with a ``unit``, and ``with_peak`` rescales any of
#   them to a rate the finder picked, which is all ``refit_schedule`` needs.
# * The finder's ``best_lr_`` (the default ``divergence_onset`` rule) aims at the best constant
#   rate for a fixed budget, read from where the ramp's loss blows up; on this problem it
#   lands above it, and a third of it does better as a constant rate. Used as the peak of a
#   one-cycle schedule, it leaves one-cycle with about half the mean rate of the constant
#   refit, and one-cycle still reaches the lowest validation loss of the sweep.
# * The sweep shows how the two schedules respond to larger rates: the last printed line
#   names the multiple of ``best_lr_`` at which each did best. One-cycle's warm-up and
#   annealing let it use a larger peak than a constant rate tolerates, and it degrades more
#   gently beyond its best (the right end of the figure). For one-cycle training, the pick is
#   a reasonable peak; for a constant refit, check a few times smaller.
# * ``"auto"`` is the safe default that needs no range test; here the finder's
#   pick trains faster within the same budget (compare the first table's rows).
