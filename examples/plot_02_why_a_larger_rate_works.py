"""
Why a larger rate than the suggestion often works
=================================================

Finders are known for suggesting a *safe* rate, not the best one. On three standardised data
sets we train from scratch at constant rates, all with the same budget, and compare the final
validation loss with every rule's suggestion. fastai's default ``valley`` (and ``steepest``
on one set) picks well below the best rate on the classification sets, and rates several
times larger do better. The finder's default, ``divergence_onset`` on a ramp placed from the
data that runs until the loss blows up, lands on or next to the floor of good rates instead
(a validation loss within 1.27 times the best here), so it leaves little room above it;
``minimum`` and ``slide``, read on that ramp, even land far above the best rate on the
classification sets. We then take the reasons apart: the lag of the smoothing and the rules'
built-in safety factors, the ramp mixing time with rate (compared with ``restart_steps``,
which trains every rate from scratch), and what a decaying refit schedule (``OneCycle``,
``CosineAnnealing``) changes. The example ends with when a
larger rate is fine, and where it stops being fine: near :math:`2 / \\lambda_{\\max}`, the
stability limit of gradient descent.
"""

# %%
# Three data sets, one training budget
# ------------------------------------
#
# Each set is split once into a training part (75 %) and a held-out validation part (25 %) and
# standardised on the training part. Every fit trains :class:`~sklearn_lrf.SGDLinearRegressor`
# or :class:`~sklearn_lrf.SGDLogisticClassifier` from zero weights for ``MAX_ITER`` epochs of
# mini-batches of 32 with ``tol=None``, so every rate gets exactly the same number of updates,
# and reports the loss the estimator minimises (squared error / 2, or log loss) on the
# validation part. A fit *diverged* when training raised
# :class:`~sklearn_lrf.DivergenceError` or ended worse than the untrained model (all weights
# zero). ``fit`` raises ``DivergenceError`` when the training loss becomes non-finite, and also
# when it stays finite but explodes: an epoch whose loss exceeds its best epoch's by a large
# factor (the first such error is printed below, with the factor) is divergence, not
# convergence. The second case, ending worse than untrained, is how a classifier fails: its
# log-loss gradient is bounded, so at too large a rate its weights thrash instead of exploding.
# The printed counts show which case each set's diverged fits fall into.
#
# The last column is a yardstick used throughout: gradient descent on a quadratic is stable
# for rates below :math:`2 / \lambda_{\max}`, where :math:`\lambda_{\max}` is the largest
# eigenvalue of the Hessian. For squared error / 2 the Hessian is
# :math:`\tilde X^\top \tilde X / n` (:math:`\tilde X` is ``X`` with a column of ones for the
# intercept); the log loss's Hessian is at most :math:`c\,\tilde X^\top \tilde X / n` with
# :math:`c = 1/4` (binary) or :math:`1/2` (multinomial), so we print
# :math:`2 / (c\,\lambda_{\max})`, with :math:`c = 1` for squared error.

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from scipy.ndimage import median_filter
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import (
    DivergenceError,
    SGDLinearRegressor,
    SGDLogisticClassifier,
    lr_range_test,
)
from sklearn_lrf.schedules import CosineAnnealing, OneCycle

MAX_ITER = 30
BATCH_SIZE = 32
RULES = ["divergence_onset", "lag_corrected", "minimum", "steepest", "valley", "slide"]
RULE_COLORS = dict(zip(RULES, ["C5", "C4", "C0", "C1", "C2", "C3"], strict=True))


def load(name, loader, classifier):
    """Split, standardise, and describe one data set."""
    X, y = loader(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if classifier else None
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    X_tilde = np.hstack([X_train, np.ones((X_train.shape[0], 1))])
    lambda_max = np.linalg.eigvalsh(X_tilde.T @ X_tilde / X_train.shape[0])[-1]
    n_classes = len(np.unique(y)) if classifier else 0
    curvature = {0: 1.0, 2: 0.25}.get(n_classes, 0.5)
    if classifier:
        untrained_loss = np.log(n_classes)  # zero weights predict uniform probabilities
    else:
        untrained_loss = 0.5 * np.mean(y_val**2)  # zero weights predict 0
    return dict(
        name=name,
        classifier=classifier,
        X_train=X_train,
        X_val=X_val,
        y_train=y_train,
        y_val=y_val,
        stability_limit=2.0 / (curvature * lambda_max),
        untrained_loss=untrained_loss,
        updates=MAX_ITER * -(-X_train.shape[0] // BATCH_SIZE),
    )


def make_estimator(data, learning_rate="auto"):
    Estimator = SGDLogisticClassifier if data["classifier"] else SGDLinearRegressor
    return Estimator(
        learning_rate=learning_rate,
        batch_size=BATCH_SIZE,
        max_iter=MAX_ITER,
        tol=None,  # no early stop: every rate gets the same budget
        random_state=0,
    )


def validation_loss(estimator, data):
    X, y = data["X_val"], data["y_val"]
    if data["classifier"]:
        return log_loss(y, estimator.predict_proba(X), labels=estimator.classes_)
    return 0.5 * np.mean((estimator.predict(X) - y) ** 2)


def fit_loss(data, learning_rate, record=None):
    """Validation loss after MAX_ITER epochs from zero weights (inf if the fit diverged).

    ``record`` (a dict) counts the two ways a fit diverges and keeps the first error message.
    """
    estimator = make_estimator(data, learning_rate)
    try:
        estimator.fit(data["X_train"], data["y_train"])
    except DivergenceError as error:
        if record is not None:
            record["DivergenceError"] += 1
            record.setdefault("message", str(error))
        return np.inf
    loss = validation_loss(estimator, data)
    if loss < data["untrained_loss"]:
        return loss
    if record is not None:
        record["worse than untrained"] += 1
    return np.inf


def floor(rates, losses, tolerance=1.1):
    """The contiguous run of rates around the best one whose loss is within 10 % of it."""
    best = int(np.argmin(losses))
    good = losses <= tolerance * losses[best]
    low, high = best, best
    while low > 0 and good[low - 1]:
        low -= 1
    while high < len(rates) - 1 and good[high + 1]:
        high += 1
    return rates[best], losses[best], rates[low], rates[high]


sets = [
    load("diabetes", load_diabetes, classifier=False),
    load("breast_cancer", load_breast_cancer, classifier=True),
    load("digits", load_digits, classifier=True),
]
print(f"{'set':14} {'train':>6} {'val':>5} {'features':>8} {'updates/fit':>11} {'2/(c lmax)':>11}")
for data in sets:
    n_train, n_features = data["X_train"].shape
    print(
        f"{data['name']:14} {n_train:6d} {data['X_val'].shape[0]:5d} {n_features:8d} "
        f"{data['updates']:11d} {data['stability_limit']:11.3g}"
    )

# %%
# The final validation loss against the constant rate
# ---------------------------------------------------
#
# For each set we run one range test on the training part with the defaults (rates from
# ``1e-3 / L`` to ``1e3 / L``, 15 per decade, placed from the data by the stable step ``1 / L``
# of ``learning_rate="auto"`` and continued until the loss blows up; one mini-batch per rate;
# smoothing 0.98), which gives every rule's suggestion. Then we train at
# 19 constant rates from 1e-4 to 100 (three per decade) and plot the final validation loss.
# The coloured vertical lines are the rules' suggestions (a triangle on the left edge marks one
# below the plotted range); the dotted black line is :math:`2 / (c\,\lambda_{\max})`.

RATES = 10.0 ** np.linspace(-4, 2, 19)
XLIM = (RATES[0] / 2, RATES[-1] * 2)

for data in sets:
    data["range_test"] = lr_range_test(
        make_estimator(data), data["X_train"], data["y_train"], random_state=0
    )
    data["failures"] = {"DivergenceError": 0, "worse than untrained": 0}
    data["sweep"] = np.array([fit_loss(data, rate, data["failures"]) for rate in RATES])

print(f"diverged fits among the {len(RATES)} constant rates:")
for data in sets:
    failures = data["failures"]
    print(
        f"  {data['name']:14} {failures['DivergenceError']:2d} raised DivergenceError, "
        f"{failures['worse than untrained']:2d} ended worse than the untrained model"
    )
first_error = next(data["failures"]["message"] for data in sets if "message" in data["failures"])
print("first DivergenceError:\n" + textwrap.indent(textwrap.fill(first_error, 94), "  "))


def plot_sweep(ax, losses, color, label):
    """Validation losses against RATES; diverged fits as crosses along the top."""
    finite = np.isfinite(losses)
    ax.plot(RATES[finite], losses[finite], "o-", ms=3, color=color, label=label)
    ax.plot(
        RATES[~finite],
        np.full((~finite).sum(), 0.95),
        "x",
        color=color,
        transform=ax.get_xaxis_transform(),
    )


def mark_rate(ax, rate, color, **style):
    """A vertical line at ``rate``, or a triangle on the left edge if it is off the axis."""
    if rate >= ax.get_xlim()[0]:
        ax.axvline(rate, color=color, **style)
    else:
        ax.plot(0, 0.05, "<", ms=9, color=color, transform=ax.transAxes, clip_on=False)


def set_axes(ax, title, xlabel="learning rate", ylabel="validation loss"):
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)


diverged_handle = Line2D([], [], color="k", marker="x", ls="", label="diverged")
fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
for ax, data in zip(axes, sets, strict=True):
    ax.set_xlim(*XLIM)
    plot_sweep(ax, data["sweep"], "k", f"constant rate, {MAX_ITER} epochs")
    for rule in RULES:
        mark_rate(ax, data["range_test"].suggestions[rule], RULE_COLORS[rule], lw=1.5)
    ax.axvline(data["stability_limit"], color="k", ls=":")
    set_axes(ax, data["name"])
handles = [
    Line2D([], [], color="k", marker="o", ms=3, label=f"constant rate, {MAX_ITER} epochs"),
    diverged_handle,
    *(Line2D([], [], color=RULE_COLORS[rule], lw=1.5, label=rule) for rule in RULES),
    Line2D([], [], color="k", ls=":", label=r"$2/(c\,\lambda_{max})$"),
]
fig.legend(handles=handles, loc="outside right center", fontsize=9)
fig.suptitle("Validation loss after training from scratch at a constant rate")
plt.show()

# %%
# The table below refits at each exact suggestion. ``best / rule`` is how many times larger
# the best rate of the grid is than the suggestion, and ``loss / best`` the validation loss at
# the suggestion relative to the grid's best loss. The *floor* is the contiguous range of grid
# rates around the best one whose loss is within 10 % of the best.

for data in sets:
    best_rate, best_loss, low, high = floor(RATES, data["sweep"])
    data["best_loss"] = best_loss
    largest_stable = RATES[np.isfinite(data["sweep"])].max()
    print(
        f"\n{data['name']}: best grid rate {best_rate:.3g} (validation loss {best_loss:.4g}); "
        f"floor {low:.3g} to {high:.3g}; largest grid rate that did not diverge "
        f"{largest_stable:.3g}; 2/(c lmax) = {data['stability_limit']:.3g}"
    )
    print(f"  {'rule':16} {'suggestion':>10} {'best / rule':>11} {'loss':>10} {'loss / best':>11}")
    for rule in RULES:
        rate = data["range_test"].suggestions[rule]
        loss = fit_loss(data, rate)
        print(
            f"  {rule:16} {rate:10.3g} {best_rate / rate:11.3g} {loss:10.4g} "
            f"{loss / best_loss:11.2f}"
        )

# %%
# At small rates the loss is high because the budget runs out before the model converges;
# then comes a wide floor; on its right the loss rises. Where it rises is set by the dotted
# line, the stability limit of a fit from scratch: on diabetes the largest grid rate that did
# not diverge is the last one below :math:`2/\lambda_{\max}` (the loss is already noisy a
# little before it, so the 10 % floor ends earlier); on the two classification sets the floor
# ends next to :math:`2/(c\,\lambda_{\max})`, and beyond it the loss climbs gradually instead
# of blowing up.
#
# Where the rules land: on diabetes every rule but ``slide`` lands on the wide floor (loss
# within 1 % of the best), and ``slide`` far below it. On breast cancer the default
# ``divergence_onset`` lands next to the best rate (``loss / best`` 1.00); ``valley`` lands at
# the floor's left end and ``steepest`` well below it (``best / rule`` 2 and 7), where a rate
# several times larger does better; ``lag_corrected`` lands past the floor's right end, and
# ``minimum`` and ``slide`` ten times above the best rate. On digits ``lag_corrected`` lands on
# the best rate, ``divergence_onset`` 1.7 times above it (just past the floor, loss 1.27 times
# the best, still below :math:`2/(c\,\lambda_{\max})`), ``minimum`` and ``slide`` further
# above, and ``valley`` ten times below. So "a larger rate works" holds for fastai's
# ``valley``, not for the default: on this ramp, which contains the loss's turn, the default
# has no built-in margin beyond the one fitted on the benchmark. The sections below explain
# why the rules end up where they do.
#
# (a) The smoothing lags
# ----------------------
#
# The smoothed curve is the bias-corrected exponential moving average (EMA) of the raw losses.
# Point :math:`m` averages the raw losses :math:`j \le m` with weights :math:`\beta^{m-j}`, so
# it reports the past: the mean age of its inputs is
# :math:`\sum_{k \le m} k \beta^k / \sum_{k \le m} \beta^k` points, which tends to
# :math:`\beta / (1 - \beta) = 49` for :math:`\beta = 0.98`. On the default ramp (15 points per
# decade) that is up to three decades of rate.

ramp_settings = sets[0]["range_test"].settings
beta = ramp_settings["smoothing"]
decades_per_point = np.log10(ramp_settings["max_lr"] / ramp_settings["min_lr"]) / (
    ramp_settings["n_steps"] - 1
)


def mean_age(m):
    age = np.arange(m + 1)
    return np.sum(age * beta**age) / np.sum(beta**age)


print(f"default ramp: {1 / decades_per_point:.1f} points per decade of rate")
print(f"beta = {beta}: asymptotic mean age beta/(1-beta) = {beta / (1 - beta):.1f} points")
for m in (10, 50, 99):
    print(
        f"  at point {m:2d}: mean age {mean_age(m):5.1f} points = "
        f"{mean_age(m) * decades_per_point:.2f} decades of rate"
    )

# %%
# How this lag shows depends on the curve's shape. The figure shows the raw losses (next
# mini-batch, grey), their centred running median over 9 points (black, which has no lag),
# and the smoothed curve (red). While the raw loss falls, the EMA trails far behind it: the
# table's ``level delay`` is how many points before the smoothed minimum the raw median had
# already reached the smoothed minimum's loss. Where the raw loss turns up sharply, the rising
# values pull the average up within a few points, so the ``minimum delay`` (smoothed minimum
# against raw minimum) is much shorter. The last two columns divide each rule's rate by the
# rate of the raw minimum.

fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
print(
    f"{'set':14} {'level delay':>11} {'min delay':>9} {'mean age':>8} {'raw min':>8} "
    f"{'smoothed min':>12} {'minimum/raw':>11} {'lag_corr./raw':>13}"
)
for ax, data in zip(axes, sets, strict=True):
    result = data["range_test"]
    stop = len(result.losses) if result.diverged_at is None else result.diverged_at
    rates, raw = result.learning_rates[:stop], result.losses[:stop]
    smoothed = result.smoothed_losses[:stop]
    median = median_filter(raw, size=9, mode="nearest")
    i_raw, i_smooth = int(np.argmin(median)), int(np.argmin(smoothed))
    level_delay = i_smooth - int(np.argmax(median <= smoothed[i_smooth]))
    print(
        f"{data['name']:14} {level_delay:7d} pts {i_smooth - i_raw:5d} pts "
        f"{mean_age(i_smooth):4.0f} pts {rates[i_raw]:8.3g} {rates[i_smooth]:12.3g} "
        f"{result.suggestions['minimum'] / rates[i_raw]:11.3g} "
        f"{result.suggestions['lag_corrected'] / rates[i_raw]:13.3g}"
    )
    ax.plot(rates, raw, color="0.75", lw=0.8)
    ax.plot(rates, median, color="k", lw=1.2)
    ax.plot(rates, smoothed, color="C3", lw=2)
    ax.axvline(rates[i_raw], color="k", ls="--", lw=1)
    ax.axvline(rates[i_smooth], color="C3", ls="--", lw=1)
    for rule in ["minimum", "lag_corrected"]:
        ax.axvline(result.suggestions[rule], color=RULE_COLORS[rule], lw=1.5)
    set_axes(ax, data["name"], ylabel="range-test loss (next mini-batch)")
handles = [
    Line2D([], [], color="0.75", lw=0.8, label="raw loss"),
    Line2D([], [], color="k", lw=1.2, label="running median (no lag)"),
    Line2D([], [], color="C3", lw=2, label=f"EMA, beta={beta}"),
    Line2D([], [], color="k", ls="--", lw=1, label="raw minimum"),
    Line2D([], [], color="C3", ls="--", lw=1, label="smoothed minimum"),
    Line2D([], [], color=RULE_COLORS["minimum"], lw=1.5, label="minimum rule (/10)"),
    Line2D([], [], color=RULE_COLORS["lag_corrected"], lw=1.5, label="lag_corrected"),
]
fig.legend(handles=handles, loc="outside right center", fontsize=9)
fig.suptitle("Raw and smoothed range-test curves (default ramp, placed from the data)")
plt.show()

# %%
# The level delays are a large part of the mean age; the minimum delays are a handful of
# points, less than the 15 points of a decade. The two rules that correct for the lag
# therefore both overshoot to the left. fastai's ``minimum`` steps back one decade from the
# smoothed minimum (Smith's "one order of magnitude before the minimum"), so it lands left of
# the raw minimum (``minimum/raw`` below 1), where the loss was still falling. Our
# ``lag_corrected`` steps back by the full mean age :math:`A` at the smoothed minimum
# :math:`m` and then multiplies by 3, capped at a third of the minimum's rate:
# :math:`\min(3\eta_{m-A},\ \eta_m/3)` (the cap matters only when the average barely lags,
# with little smoothing or on short restart-mode curves). Because the minimum itself was
# delayed far less than the mean age, it lands well below the raw minimum (``lag_corr./raw``:
# 0.6 decade on diabetes, more than a decade on the classifiers), where the raw loss has only
# started to fall. Both corrections put a safety margin between the suggestion and the point
# where the ramp's loss turned up, on purpose: that is one reason a larger rate works with
# them. The default ``divergence_onset`` does not read the moving average at all: it runs a
# centred median of 5 raw points (the black curve uses 9), which does not lag, finds where it
# first exceeds 4 times its running minimum, and takes :math:`10^{-1.33}` of that rate. Its
# margin is not a correction for lag but a factor fitted on the 24 problems of
# ``benchmarks/bench_finder.py``: the median distance from the onset down to the best rate of
# a fixed training budget.
#
# (b) The ramp mixes time and rate
# --------------------------------
#
# A point of a continuous ramp at rate :math:`r` starts from the weights all the smaller rates
# produced, so its loss measures "a few updates at :math:`r` after a warm-up at smaller rates",
# not "training at :math:`r` from scratch". How much does the warm-up carry? On an exponential
# ramp with ratio :math:`q` between consecutive rates, the rates up to :math:`r` sum to about
# :math:`r / (1 - 1/q)`. For a linear model at small rates, where each update moves the weights
# in proportion to its rate, a ramp point has therefore made about as much progress as that
# many updates at its own rate, far fewer than a full fit's hundreds:

for label, q in [
    ("the default ramp, 15 rates per decade", 10 ** (1 / 15)),
    ("the old default ramp, 1e-7 to 10 in 100 steps", 1e8 ** (1 / 99)),
]:
    print(
        f"{label}: q = {q:.3f}, progress of about {1 / (1 - 1 / q):.1f} updates at the current rate"
    )

# %%
# ``restart_steps=k`` makes the comparison explicit: every rate trains ``k`` mini-batches from
# zero weights on the same data, so each point shows its rate alone. We run it for several
# ``k`` next to the continuous ramp, all from 1e-5 to 10 (fixed here so that the four curves
# share their rates; 15 per decade, going on past 10 while the loss has not blown up, as the
# default does), with the loss measured on our
# validation part after each point (``validation=(X_val, y_val)``) and no smoothing, so the
# curves and the constant-rate sweep of the first figure (grey) share one y axis. The table
# gives each curve's *fall* (the first rate where the loss is halfway, on a log scale, from the
# untrained model's loss to the curve's minimum), its minimum, and its *turn-up* (the last rate
# whose loss is below twice the minimum).


def fall_min_turn_up(rates, losses, untrained_loss):
    best = int(np.argmin(losses))
    halfway = np.sqrt(untrained_loss * losses[best])
    fall = rates[int(np.argmax(losses <= halfway))]
    turn_up = rates[best + np.flatnonzero(losses[best:] < 2 * losses[best])[-1]]
    return fall, rates[best], turn_up


RESTARTS = [5, 20, 100]
COLORS = ["k", "C0", "C1", "C2"]
fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
print(f"{'set':14} {'curve':18} {'updates per rate':>16} {'fall':>8} {'minimum':>8} {'turn-up':>8}")
for ax, data in zip(axes, sets, strict=True):
    common = dict(
        min_lr=1e-5,
        max_lr=10.0,
        smoothing=0.0,
        diverge_threshold=50.0,
        validation=(data["X_val"], data["y_val"]),
        random_state=0,
    )
    curves = {"continuous ramp": ({}, "1 + warm-up")}
    curves.update({f"restart_steps={k}": (dict(restart_steps=k), str(k)) for k in RESTARTS})
    plot_sweep(ax, data["sweep"], "0.6", None)
    table = []
    for (label, (extra, per_rate)), color in zip(curves.items(), COLORS, strict=True):
        result = lr_range_test(
            make_estimator(data), data["X_train"], data["y_train"], **common, **extra
        )
        ax.plot(result.learning_rates, result.losses, color=color, lw=1.5)
        table.append(fall_min_turn_up(result.learning_rates, result.losses, data["untrained_loss"]))
        print(
            f"{data['name']:14} {label:18} {per_rate:>16} "
            + " ".join(f"{rate:8.3g}" for rate in table[-1])
        )
    falls, _, turn_ups = np.array(table).T
    print(
        f"{'':14} spread (largest / smallest) over these four curves: fall "
        f"{falls.max() / falls.min():.3g}, turn-up {turn_ups.max() / turn_ups.min():.3g}"
    )
    sweep = fall_min_turn_up(RATES, data["sweep"], data["untrained_loss"])
    print(
        f"{'':14} {'30-epoch fits':18} {data['updates']:16d} "
        + " ".join(f"{rate:8.3g}" for rate in sweep)
    )
    ax.axvline(data["stability_limit"], color="k", ls=":")
    set_axes(ax, data["name"])
    ax.set_ylim(None, 3 * data["untrained_loss"])
handles = [
    Line2D([], [], color="0.6", marker="o", ms=3, label=f"from scratch, {MAX_ITER} epochs"),
    *(Line2D([], [], color=c, lw=1.5, label=name) for name, c in zip(curves, COLORS, strict=True)),
    Line2D([], [], color="k", ls=":", label=r"$2/(c\,\lambda_{max})$"),
]
fig.legend(handles=handles, loc="outside right center", fontsize=9)
fig.suptitle("Continuous ramp against restart mode (each rate trained from scratch)")
plt.show()

# %%
# The more updates each rate gets, the further left its curve falls, and the 30-epoch sweep
# (grey, last row) falls further left still: the *left* side of a curve is about time, not
# about the rate. The continuous ramp falls about where ``restart_steps=5`` does, as the
# estimate of a few updates' worth of progress per point predicts. The right side is
# different: the printed spread of the turn-up over the four range-test curves is much
# smaller than the spread of their fall. For the regression set the turn-up sits near
# :math:`2/\lambda_{\max}`, where the fits diverge. For the classifiers it lies above
# :math:`2/(c\,\lambda_{\max})`: that bound uses the log loss's largest curvature (at
# predicted probabilities of one half), and the curvature shrinks as predictions become
# confident; the loss then rises because of the noise of large steps, not because of a
# blow-up.
#
# So the continuous ramp behaves like a short restart curve: it falls late, 0.7 to 2.2
# decades below where it turns up, and the classic rules read that late fall: ``valley`` and
# ``steepest`` pick points on it, ``lag_corrected`` steps back from its minimum to where it
# begins. A full fit has hundreds of updates per rate: it falls more than two decades below
# its turn-up, which lies within a factor of about five of the ramp's. Every rate in between
# converges; within a fixed budget the larger ones get further. The default
# ``divergence_onset`` reads the turn-up instead, the part of the curve that moves least with
# the number of updates per rate, which is why a fixed factor below it carries over to a full
# fit better than a point on the fall.
#
# (c) What a decaying refit schedule changes
# ------------------------------------------
#
# With a constant rate, SGD ends rattling around the optimum with a spread that grows with the
# rate. A schedule that decays the rate lets a fit use a large rate early and still settle at
# the end. We refit with :class:`~sklearn_lrf.schedules.OneCycle` (warm-up to the peak over the
# first quarter, then cosine decay, as fastai's ``fit_one_cycle``) and with
# :class:`~sklearn_lrf.schedules.CosineAnnealing` (cosine decay from the peak to zero), both
# advancing per epoch over the same ``MAX_ITER`` epochs and scaled with ``with_peak`` so that
# their largest rate is the x value.

SCHEDULES = {
    "constant": lambda peak: peak,
    "OneCycle": lambda peak: OneCycle(n_steps=MAX_ITER, unit="epoch").with_peak(peak),
    "CosineAnnealing": lambda peak: CosineAnnealing(n_steps=MAX_ITER, unit="epoch").with_peak(peak),
}
SCHEDULE_COLORS = dict(zip(SCHEDULES, ["k", "C1", "C2"], strict=True))

fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
print(f"{'set':14} {'schedule':16} {'best peak':>9} {'best loss':>9} {'floor':>17}")
for ax, data in zip(axes, sets, strict=True):
    for name, schedule in SCHEDULES.items():
        if name == "constant":
            sweep = data["sweep"]
        else:
            sweep = np.array([fit_loss(data, schedule(rate)) for rate in RATES])
        plot_sweep(ax, sweep, SCHEDULE_COLORS[name], name)
        best_rate, best_loss, low, high = floor(RATES, sweep)
        print(
            f"{data['name']:14} {name:16} {best_rate:9.3g} {best_loss:9.4g} "
            f"{low:8.3g} to {high:<6.3g}"
        )
    for rule in ["divergence_onset", "minimum"]:
        ax.axvline(data["range_test"].suggestions[rule], color=RULE_COLORS[rule], lw=1.5)
    set_axes(ax, data["name"], xlabel="learning rate (peak of the schedule)")
handles = [
    *(Line2D([], [], color=c, marker="o", ms=3, label=n) for n, c in SCHEDULE_COLORS.items()),
    diverged_handle,
    *(
        Line2D([], [], color=RULE_COLORS[r], lw=1.5, label=r)
        for r in ["divergence_onset", "minimum"]
    ),
]
fig.legend(handles=handles, loc="outside right center", fontsize=9)
fig.suptitle(f"Constant rate against decaying schedules ({MAX_ITER} epochs)")
plt.show()

# %%
# The next table refits at 1, 3 and 10 times two suggestions: the default rule
# (``divergence_onset``, which is ``result.best_lr``) and fastai's ``minimum``, which lands
# past the floor on the classification sets. ``loss / best`` divides by the best loss of the
# constant-rate grid.

print(f"{'set':14} {'rule':16} {'factor':>6} {'peak':>8}", end="")
print("".join(f"{name + ' / best':>24}" for name in SCHEDULES))
for data in sets:
    for rule in ["divergence_onset", "minimum"]:
        for factor in [1, 3, 10]:
            peak = factor * data["range_test"].suggestions[rule]
            cells = []
            for schedule in SCHEDULES.values():
                ratio = fit_loss(data, schedule(peak)) / data["best_loss"]
                cells.append("diverged" if np.isinf(ratio) else f"{ratio:.2f}")
            print(f"{data['name']:14} {rule:16} {factor:6d} {peak:8.3g}", end="")
            print("".join(f"{cell:>24}" for cell in cells))

# %%
# A decaying schedule changes both ends of the floor. On the right, where a constant rate is
# stable but noisy, the end of training now runs at small rates and the noise goes away:
# ``OneCycle``'s floor ends further right than the constant rate's on every set,
# ``CosineAnnealing``'s on two of the three. On the left, where the budget is too short, both
# start later than a constant rate at the same peak, because they spend most epochs below
# it. A decaying schedule therefore moves the floor up and wants a larger peak. With
# ``OneCycle`` the default rule's pick, and 3 times it, reach the constant grid's best loss
# or beat it on every set (``OneCycle / best`` 0.98 to 1.02), while the same peaks as constant
# rates are worse on the classification sets (1.10 to 1.84 at 3 times the pick);
# ``CosineAnnealing``, which starts at its peak without a warm-up, helps less and not always.
# Even 10 times ``minimum``, far past the floor, does better with ``OneCycle`` than at a
# constant rate on the classification sets. No schedule rescues a peak beyond the stability
# limit: on diabetes, 10 times ``minimum`` lies beyond :math:`2/\lambda_{\max}` and diverges
# with all three.
#
# When and why the larger rate is fine
# ------------------------------------
#
# * **The range test marks where the loss stops improving during the ramp**: a short run in
#   which each point carries only a few updates' worth of progress, read through a lagging
#   moving average. The classic rules step back from it on purpose: ``minimum`` by a decade,
#   ``valley`` to about halfway down the fall, ``lag_corrected`` by the mean age of the
#   average (then up by 3, to at most a third of the smoothed minimum's rate). On a ramp that
#   ends before the loss turns up, or reads the turn through the lag, the result is a safe
#   rate, not the largest one that works: that is where the folklore comes from.
# * **The default rule aims at the best rate, not at a safe one.** ``divergence_onset`` reads
#   where the blow-up starts, without lag, on a ramp that goes on until it happens, and steps
#   back by a factor fitted on 24 problems to the best rate of a fixed budget. Here it lands on
#   or next to the floor (``loss / best`` 1.00 to 1.27), so a larger constant rate gains
#   little: 3 times it is as good on diabetes and worse on the classification sets. The factor
#   is a median over problems whose best rates scatter by about a decade around it, so on a
#   given problem the best rate can still lie a few times above or below the pick.
# * **A constant-rate fit from scratch is stable up to about** :math:`2/\lambda_{\max}`
#   (for the log loss, at least up to :math:`2/(c\,\lambda_{\max})`). Every rate between a
#   low suggestion and that limit converges given enough updates, and a larger one needs
#   fewer, so with a fixed budget the larger rate often wins.
# * **Go larger** when the suggestion comes from a conservative rule: in the first table
#   ``valley`` is 2 and 11 times below the best rate on the classification sets (and
#   ``steepest`` 7 times on breast cancer). Go larger with ``OneCycle`` too, which removes the
#   noise of a large rate at the end: there 1 to 3 times the default's pick matches or beats
#   the best constant rate. With standardised features :math:`2/\lambda_{\max}` is cheap to
#   compute and gives the ceiling.
# * **Stay at the suggestion** for a constant-rate refit when it comes from the default rule,
#   ``lag_corrected`` or ``minimum`` on this ramp, which land on the floor or past it already
#   (3 times ``minimum`` at a constant rate is no better on diabetes and worse on the two other
#   sets), or when a failed fit is costly and there is no validation data to check it: beyond
#   :math:`2/\lambda_{\max}` no schedule helps, and for squared error the fit diverges.
