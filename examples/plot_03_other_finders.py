"""
fastai, Keras and PyTorch finders: rules and defaults reproduced
================================================================

Four learning-rate finders are in common use: fastai's ``Learner.lr_find``, the
``torch-lr-finder`` package, PyTorch Lightning's ``Tuner.lr_find``, and the Keras callback of
the study notebook. This example lists their defaults and suggestion rules, reproduces each
configuration with :func:`~sklearn_lrf.lr_range_test` (without importing any of those
libraries) on the same data, applies each finder's own rule to its curve, and refits at every
suggestion and at 3 and 10 times it. Then it compares with the real torch-lr-finder and
Lightning, run on the same data by a benchmark script whose records it reads. It answers the
study's third question: does the "a larger rate than suggested works" behaviour show in all of
them, and why?
"""

# %%
# The four finders and their defaults
# -----------------------------------
#
# The settings below are as documented (and implemented) in **fastai 2.7**
# (``fastai/callback/schedule.py``: ``LRFinder``, ``lr_find`` and the suggestion functions),
# **torch-lr-finder 0.2** (``LRFinder.range_test`` and ``LRFinder.plot``), **PyTorch Lightning
# 2.x** (``Tuner.lr_find`` in ``tuner/lr_finder.py``) and the ``LRFinder`` Keras callback
# copied in the study notebook. All four run the same experiment: train on mini-batches while
# the rate grows geometrically, smooth the loss with an exponential moving average (EMA), stop
# once it exceeds a multiple of its best value, and read a rate off the curve.
#
# * **fastai** ``lr_find(start_lr=1e-7, end_lr=10, num_it=100, stop_div=True)`` records the
#   smoothed training loss (EMA with :math:`\beta = 0.98`, debiased by
#   :math:`1 - \beta^{i+1}`), stops when it exceeds 4 times its best, and applies its
#   ``suggest_funcs`` to ``losses[num_it // 10 : -5]``: ``valley`` (the default since fastai
#   2.4), ``slide``, ``minimum`` (a tenth of the rate at the minimum) and ``steep`` (steepest
#   slope against :math:`\log` rate).
# * **torch-lr-finder** ``range_test(start_lr=None, end_lr=10, num_iter=100, step_mode="exp",
#   smooth_f=0.05, diverge_th=5)`` starts from the optimizer's rate, smooths with
#   ``loss = smooth_f * loss + (1 - smooth_f) * previous``, an EMA with :math:`\beta = 0.95`
#   started at the first loss (*not* debiased), and stops at 5 times the best. With
#   ``val_loader`` it measures the validation loss after each step instead.
#   ``plot(skip_start=10, skip_end=5, suggest_lr=True)`` suggests the rate of the most negative
#   ``np.gradient`` of the plotted losses.
# * **PyTorch Lightning** ``Tuner.lr_find(min_lr=1e-8, max_lr=1, num_training=100,
#   mode="exponential", early_stop_threshold=4.0)`` smooths like fastai (:math:`\beta = 0.98`,
#   debiased, but one step off: see `The real libraries`_ below) and
#   ``suggestion(skip_begin=10, skip_end=1)`` returns the rate of the most
#   negative gradient of ``losses[10:-1]``. That gradient was taken over the point index (``np.
#   gradient(losses)``, later ``torch.gradient`` without spacing) for years; Lightning's pull
#   request #21055 (2025) passes the rates as spacing, which differentiates against the rate
#   itself rather than its logarithm. We compute both.
# * **The Keras callback** ``LRFinder(min_lr, max_lr, mom=0.9, stop_multiplier=None,
#   reload_weights=True, batches_lr_update=5)`` has no default range. It holds each rate for 5
#   batches and, with ``reload_weights``, reloads the initial weights before each new rate
#   (restart mode). It smooths every batch's loss with momentum ``mom`` (an EMA with
#   :math:`\beta = 0.9` started at the first loss), records one point per rate, and stops when
#   the smoothed loss exceeds ``stop_multiplier = -20 * mom / 3 + 10`` times its best (4 at
#   ``mom=0.9``, 10 at ``mom=0``). It has no suggestion rule: it plots the curve.

import json
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
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

FINDERS = ["fastai", "torch-lr-finder", "Lightning", "Keras callback"]
DEFAULTS = {
    "range": ["1e-7 to 10", "optimizer lr to 10", "1e-8 to 1", "none (min_lr, max_lr)"],
    "rates": ["100", "100", "100", "n_batches / 5 + 1"],
    "updates per rate": ["1", "1", "1", "5, weights reloaded"],
    "EMA beta": ["0.98", "0.95 (smooth_f=0.05)", "0.98", "0.9 per batch"],
    "EMA debiased": ["yes", "no (starts at 1st loss)", "one step off", "no (starts at 1st loss)"],
    "stop above": ["4 x best", "5 x best", "4 x best", "10 - 20 mom / 3 = 4"],
    "loss": ["training batch", "batch or val_loader", "training batch", "training batch"],
    "rule": ["valley (+3 more)", "steepest np.gradient", "steepest gradient", "none"],
    "points read": ["[num_it//10 : -5]", "[10 : -5]", "[10 : -1]", "-"],
}
print(f"{'':17}" + "".join(f"{name:>24}" for name in FINDERS))
for setting, cells in DEFAULTS.items():
    print(f"{setting:17}" + "".join(f"{cell:>24}" for cell in cells))

# %%
# Reproducing each configuration
# ------------------------------
#
# :func:`~sklearn_lrf.lr_range_test` has a parameter for each of these settings, so every
# finder becomes one call; the table prints the parameters we use. Three differences remain.
# Our smoothing is always debiased, while torch-lr-finder and the Keras callback start their
# EMA at the first loss: the two differ only in the weight of the first few points, which
# every rule skips. Lightning debiases one step off, which we do not copy: its real curve
# starts at half the loss and climbs for a few dozen points, past the first point its rule
# reads (see `The real libraries`_). Our points record the loss after the update on the *next*
# mini-batch, theirs the batch loss before the update: a shift of one point, a factor of about
# 1.2 in rate on these ramps (the Keras callback even plots the point it records at a rate
# change against the new rate, though the previous one produced it). And sklearn-lrf applies
# fastai's rules on its own usable range, from the tenth point up to the divergence point,
# instead of fastai's ``[num_it // 10 : -5]``; it does not expose the rules on another window.
# For ``minimum``, a one-liner, we print below what fastai's window would give.
#
# Two settings have no default to copy. torch-lr-finder starts at the optimizer's rate: we use
# 1e-7 like fastai, as torch-lr-finder's README does in its fastai-style example. The Keras
# callback needs ``min_lr`` and ``max_lr``: we use 1e-5 and 10. Its EMA runs over every batch
# with :math:`\beta = 0.9`, so from one recorded point to the next (5 batches) the old average
# keeps a weight of :math:`0.9^5`; that is the ``smoothing`` we pass, with
# ``restart_steps=5`` for its weight reloading.
#
# sklearn-lrf's own defaults are none of these: its ramp is placed from the data (``1e-3 / L``
# to ``1e3 / L`` for its estimators, 15 rates per decade) and goes on past ``max_lr`` until the
# loss blows up (``extend_decades``). Every call below therefore fixes ``n_steps=100`` and
# ``extend_decades=0``: 100 rates, and a stop at ``max_lr`` as in the four finders. One more
# difference stays: sklearn-lrf tests the smoothed loss against its best only after a warm-up
# of a tenth of the rates, where fastai tests from the first point; a stop within the first
# ten points would differ.

CONFIGS = {
    "fastai": dict(min_lr=1e-7, max_lr=10.0, smoothing=0.98, diverge_threshold=4.0),
    "torch-lr-finder": dict(min_lr=1e-7, max_lr=10.0, smoothing=0.95, diverge_threshold=5.0),
    "Lightning": dict(min_lr=1e-8, max_lr=1.0, smoothing=0.98, diverge_threshold=4.0),
    "Keras callback": dict(
        min_lr=1e-5, max_lr=10.0, smoothing=0.9**5, diverge_threshold=4.0, restart_steps=5
    ),
}
# Every finder tries exactly 100 rates and stops at max_lr: sklearn-lrf's own defaults (15
# rates per decade, going on past max_lr until the loss blows up) are not theirs. A rule that
# reads the moving average (its pick is not used here) keeps sklearn-lrf's ramp from stopping
# at the default rule's onset, which none of these finders does.
FIXED = dict(n_steps=100, extend_decades=0, rule="minimum")
for finder, params in CONFIGS.items():
    shown = ", ".join(f"{key}={value:.4g}" for key, value in params.items())
    print(f"{finder:16} lr_range_test(..., n_steps=100, extend_decades=0, rule='minimum', {shown})")

# %%
# torch-lr-finder and Lightning suggest the steepest point with ``np.gradient`` over the
# point index, which is a central difference :math:`(s_{i+1} - s_{i-1}) / 2`. On an
# exponential ramp the index is proportional to :math:`\log` rate, so this is the same slope
# our ``steepest`` rule (fastai's ``steep``) uses, except that ``steep`` takes a forward
# difference :math:`s_{i+1} - s_i` and returns its left point: the picks differ by at most a
# point or two (a factor of about 1.2 each), unless their windows differ. The windows are the
# real difference: torch-lr-finder drops the last 5 recorded points, Lightning only the last
# one. Lightning's newer variant (gradient against the rate itself) divides each slope by its
# rate, so it weighs small rates far more and picks a smaller rate on a long flat start. The
# small function below reproduces all three from a result.


def gradient_steepest(result, skip_start, skip_end, against="index"):
    """Rate of the most negative ``np.gradient`` of the recorded smoothed losses.

    ``against="index"``: torch-lr-finder's ``plot`` and Lightning's ``suggestion`` before its
    pull request #21055; ``against="rate"``: Lightning after it (spacing = the rates).
    """
    end = len(result.learning_rates) - skip_end
    rates = result.learning_rates[skip_start:end]
    losses = result.smoothed_losses[skip_start:end]
    finite = np.isfinite(losses)
    rates, losses = rates[finite], losses[finite]
    if len(losses) < 2:
        return np.nan
    gradient = np.gradient(losses) if against == "index" else np.gradient(losses, rates)
    return float(rates[np.argmin(gradient)])


def suggestions_of(finder, result):
    """The suggestions each finder would print for this curve."""
    if finder == "fastai":
        rules = {name: result.suggestions[name] for name in ["valley", "slide", "minimum"]}
        return {**rules, "steep": result.suggestions["steepest"]}
    if finder == "torch-lr-finder":
        return {"steepest gradient": gradient_steepest(result, 10, 5)}
    if finder == "Lightning":
        return {
            "steepest gradient": gradient_steepest(result, 10, 1),
            "gradient vs rate": gradient_steepest(result, 10, 1, against="rate"),
        }
    # The Keras callback has no rule: apply fastai's default and Smith's "a decade below the
    # minimum" (fastai's minimum) to its curve, as a reader of its plot might.
    return {name: result.suggestions[name] for name in ["valley", "minimum"]}


# %%
# The same data as the previous example: three sets split 75 / 25 and standardised on the
# training part, our SGD estimators with mini-batches of 32. Each finder's range test runs on
# the training part; the refits train from zero weights for 30 epochs at a constant rate with
# ``tol=None`` and are scored on the held-out part (R² for diabetes, accuracy for the
# classifiers) and by the loss it minimises (squared error / 2, or log loss). A refit
# *diverged*, and scores ``nan`` with an infinite loss, when training raised
# :class:`~sklearn_lrf.DivergenceError` (the training loss became non-finite, or exploded
# while still finite) or its validation loss ended above the untrained model's (all weights
# zero), as in the previous example.

MAX_ITER = 30


def load(name, loader, classifier):
    X, y = loader(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if classifier else None
    )
    scaler = StandardScaler().fit(X_train)
    if classifier:
        untrained_loss = np.log(len(np.unique(y)))  # zero weights: uniform probabilities
    else:
        untrained_loss = 0.5 * np.mean(y_val**2)  # zero weights predict 0
    return dict(
        name=name,
        classifier=classifier,
        X_train=scaler.transform(X_train),
        X_val=scaler.transform(X_val),
        y_train=y_train,
        y_val=y_val,
        untrained_loss=untrained_loss,
    )


def make_estimator(data, learning_rate="auto"):
    Estimator = SGDLogisticClassifier if data["classifier"] else SGDLinearRegressor
    return Estimator(learning_rate=learning_rate, max_iter=MAX_ITER, tol=None, random_state=0)


def refit(data, learning_rate):
    """Validation (score, loss) after a 30-epoch refit at a constant rate.

    A diverged refit gives (nan, inf).
    """
    estimator = make_estimator(data, learning_rate)
    try:
        estimator.fit(data["X_train"], data["y_train"])
    except DivergenceError:
        return np.nan, np.inf
    X, y = data["X_val"], data["y_val"]
    if data["classifier"]:
        loss = log_loss(y, estimator.predict_proba(X), labels=estimator.classes_)
    else:
        loss = 0.5 * np.mean((estimator.predict(X) - y) ** 2)
    if not loss < data["untrained_loss"]:
        return np.nan, np.inf
    return estimator.score(X, y), loss


sets = [
    load("diabetes", load_diabetes, classifier=False),
    load("breast_cancer", load_breast_cancer, classifier=True),
    load("digits", load_digits, classifier=True),
]
# Cut at max_lr, some of these ramps end before the loss turns up ("diverged: no" below), and
# sklearn-lrf warns that their curve has no turn; the peers' finders do not, and reproducing
# them is the point here, so the warning is silenced.
for data in sets:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The loss never blew up", category=UserWarning)
        data["results"] = {
            finder: lr_range_test(
                make_estimator(data),
                data["X_train"],
                data["y_train"],
                random_state=0,
                **FIXED,
                **params,
            )
            for finder, params in CONFIGS.items()
        }


def fastai_window_minimum(result, num_it=100):
    """fastai's ``minimum`` on fastai's window, ``losses[num_it // 10 : -5]``."""
    window = slice(num_it // 10, len(result.learning_rates) - 5)
    rates, losses = result.learning_rates[window], result.smoothed_losses[window]
    return rates[np.argmin(losses)] / 10


print(f"{'set':14} {'points':>6} {'diverged':>8} {'minimum, ours':>13} {'fastai window':>13}")
for data in sets:
    result = data["results"]["fastai"]
    print(
        f"{data['name']:14} {len(result.learning_rates):6d} "
        f"{'yes' if result.diverged_at is not None else 'no':>8} "
        f"{result.suggestions['minimum']:13.3g} {fastai_window_minimum(result):13.3g}"
    )

# %%
# The two windows agree when the smoothed minimum lies more than 5 points before the end of
# the curve; otherwise fastai's window cuts the minimum off, and fastai's own ``minimum`` is
# smaller (more conservative, with more room above it) than the one in the tables below, by
# the printed factor.

# %%
# All curves in one figure
# ------------------------
#
# The top row shows the four finders' smoothed curves on each data set; the bottom row shows
# each finder's suggestions on its own lane, one marker per rule (for the Keras callback,
# fastai's rules applied to its curve). The curves are not on the same footing: fastai,
# torch-lr-finder and Lightning train continuously, one mini-batch per rate, while the Keras
# callback restarts every rate from the initial weights and trains it for 5 mini-batches, so
# its curve falls lower and earlier.

COLORS = dict(zip(FINDERS, ["C0", "C1", "C2", "C3"], strict=True))
STYLES = dict(zip(FINDERS, ["-", "-", "--", "-"], strict=True))
MARKERS = {
    "valley": "o",
    "slide": "D",
    "minimum": "v",
    "steep": "s",
    "steepest gradient": "^",
    "gradient vs rate": "<",
}

fig, axes = plt.subplots(
    2, 3, figsize=(11, 5.8), sharex="col", height_ratios=[3, 1.4], layout="constrained"
)
for top, bottom, data in zip(axes[0], axes[1], sets, strict=True):
    for lane, (finder, result) in enumerate(data["results"].items()):
        top.plot(
            result.learning_rates,
            result.smoothed_losses,
            color=COLORS[finder],
            ls=STYLES[finder],
            lw=1.5,
        )
        bottom.axhline(lane, color=COLORS[finder], lw=0.5, alpha=0.5)
        for rule, rate in suggestions_of(finder, result).items():
            bottom.plot(rate, lane, MARKERS[rule], color=COLORS[finder], ms=7, mec="k", mew=0.6)
    top.set(xscale="log", yscale="log", ylabel="smoothed range-test loss", title=data["name"])
    bottom.set(xlabel="learning rate", ylim=(len(FINDERS) - 0.5, -0.5))
    bottom.set_yticks(range(len(FINDERS)), FINDERS if data is sets[0] else [])
handles = [Line2D([], [], color=COLORS[f], ls=STYLES[f], lw=1.5, label=f) for f in FINDERS]
handles += [
    Line2D([], [], color="0.5", marker=marker, ls="", mec="k", mew=0.6, label=rule)
    for rule, marker in MARKERS.items()
]
fig.legend(handles=handles, loc="outside right center", fontsize=9)
fig.suptitle("Four finders reproduced with lr_range_test, and their suggestions")
plt.show()

# %%
# Suggestions and refits
# ----------------------
#
# For every finder and rule: the suggested rate, then the validation score and the validation
# loss of a refit at 1, 3 and 10 times it. ``grid best`` is the best score over constant rates
# from 1e-4 to 100 (one per decade), the same refit, for reference. Accuracy moves in steps of
# one validation sample (printed for each set: one sample's share of the accuracy), so the
# loss, which is continuous, is the sharper comparison. The grid's largest rates diverge
# (listed next to the grid's best); ``nanargmax`` skips them.

GRID = 10.0 ** np.arange(-4, 3)
rows = []
for data in sets:
    grid = np.array([refit(data, rate) for rate in GRID])
    best = int(np.nanargmax(grid[:, 0]))
    diverged = ", ".join(f"{rate:g}" for rate in GRID[np.isnan(grid[:, 0])]) or "none"
    print(
        f"\n{data['name']}: grid best score {grid[best, 0]:.4f} (loss {grid[best, 1]:.4g}) "
        f"at learning rate {GRID[best]:g}; grid rates that diverged: {diverged}"
    )
    if data["classifier"]:
        print(f"  one validation sample = {1 / len(data['y_val']):.4f} of accuracy")
    print(
        f"  {'finder':16} {'rule':18} {'suggestion':>10} {'score x1':>9} {'x3':>7} {'x10':>7}"
        f" {'loss x1':>9} {'x3':>9} {'x10':>9}"
    )
    for finder, result in data["results"].items():
        for rule, rate in suggestions_of(finder, result).items():
            refits = [refit(data, factor * rate) for factor in (1, 3, 10)]
            scores, losses = zip(*refits, strict=True)
            rows.append((finder, rule, *losses))
            print(
                f"  {finder:16} {rule:18} {rate:10.3g} {scores[0]:9.4f} {scores[1]:7.4f} "
                f"{scores[2]:7.4f} " + " ".join(f"{loss:9.4g}" for loss in losses)
            )

# %%
# Does a larger rate than suggested work for every finder?
# --------------------------------------------------------
#
# Counting, for each finder and rule, on how many of the three sets the refit at 3 or 10
# times the suggestion reaches a validation loss at most 2 % above the refit at the suggestion
# (as good, within the noise of one split), and on how many it is strictly lower (better):

print(f"{'finder':16} {'rule':18} {'x3 as good':>10} {'x3 better':>9} {'x10 as good':>11}")
for finder in FINDERS:
    for rule in dict.fromkeys(row[1] for row in rows if row[0] == finder):
        x1, x3, x10 = np.array([row[2:] for row in rows if row[:2] == (finder, rule)]).T
        n = len(x1)
        print(
            f"{finder:16} {rule:18} {np.sum(x3 <= 1.02 * x1):6d} / {n} "
            f"{np.sum(x3 < x1):5d} / {n} {np.sum(x10 <= 1.02 * x1):7d} / {n}"
        )

# %%
# The real libraries
# ------------------
#
# Everything above reproduces the finders with :func:`~sklearn_lrf.lr_range_test`. The script
# ``benchmarks/run_peer_finders.py`` runs the real ones, by hand in a virtualenv of their own,
# on the same three sets (same split and scaling) and stores what they record in
# ``benchmarks/results/peers/peer_finders.json``, which this example reads: it needs no torch.
# The model is the one our estimators fit, written in torch: a ``torch.nn.Linear`` from zero
# weights, in float64, with squared error / 2 or log loss, plain SGD on shuffled mini-batches of
# 32 and ``weight_decay=1e-4`` on the weights. torch-lr-finder's ``range_test`` runs with
# ``start_lr=1e-7, end_lr=10, num_iter=100`` and its other defaults, and its suggestion is the
# one ``plot(suggest_lr=True)`` returns; Lightning's ``Tuner.lr_find`` runs with its defaults,
# and its suggestion is ``suggestion()``, which in the installed version takes the gradient
# against the rate (Lightning's pull request #21055). Each suggestion is then refitted at 1, 3
# and 10 times itself, for 30 epochs at a constant rate as above, in torch, once for each of 5
# batch orders (a refit near the top of the stable range varies with the order); the table
# gives the median validation loss and how many of the 5 diverged (``inf``: most did). fastai
# is missing: it requires torchvision, and the torchvision that pip pairs with this project's
# CPU build of torch 2.13.0 (0.28.0) fails on import (``operator torchvision::nms does not
# exist``).

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples from their own folder, without __file__
    EXAMPLES = Path.cwd()
peers = json.loads(
    (EXAMPLES.parent / "benchmarks" / "results" / "peers" / "peer_finders.json").read_text()
)
print(
    f"recorded {peers['date']} on {peers['cpu']}; "
    + ", ".join(f"{name} {version}" for name, version in peers["versions"].items())
)
peer_problems = {problem["name"]: problem for problem in peers["problems"]}
REPRODUCED = {"torch-lr-finder": "torch-lr-finder", "lightning": "Lightning"}


def reproduced_suggestion(library, result):
    """Our reproduction's suggestion by the rule the installed library uses."""
    if library == "torch-lr-finder":
        return gradient_steepest(result, 10, 5)
    return gradient_steepest(result, 10, 1, against="rate")


def median_refit_losses(finder):
    """Median validation loss over the batch orders, for each factor (diverged: inf)."""
    losses = np.array(finder["refit_validation_losses"], dtype=float)
    return np.median(np.nan_to_num(losses, nan=np.inf), axis=1)


print(
    f"{'set':14} {'library':21} {'points':>6} {'suggestion':>10} {'ours':>9}"
    f" {'loss x1':>9} {'x3':>9} {'x10':>9} {'diverged x1/x3/x10':>19}"
)
peer_rows = []
for data in sets:
    problem = peer_problems[data["name"]]
    for finder in problem["finders"]:
        library = finder["library"]
        result = data["results"][REPRODUCED[library]]
        losses = median_refit_losses(finder)
        diverged = [sum(v is None for v in seeds) for seeds in finder["refit_validation_losses"]]
        peer_rows.append((library, *losses))
        print(
            f"{problem['name']:14} {library + ' ' + finder['version']:21} "
            f"{len(finder['rates']):6d} {finder['suggestion']:10.4g} "
            f"{reproduced_suggestion(library, result):9.3g} "
            + " ".join(f"{loss:9.5g}" for loss in losses)
            + f" {'/'.join(str(n) for n in diverged):>19}"
        )
    print(f"{'':14} untrained model's validation loss {problem['untrained_validation_loss']:.5g}")

print(f"\n{'library':16} {'x3 as good':>10} {'x3 better':>9} {'x10 as good':>11}")
for library in REPRODUCED:
    x1, x3, x10 = np.array([row[1:] for row in peer_rows if row[0] == library]).T
    n = len(x1)
    print(
        f"{library:16} {np.sum(x3 <= 1.02 * x1):6d} / {n} "
        f"{np.sum(x3 < x1):5d} / {n} {np.sum(x10 <= 1.02 * x1):7d} / {n}"
    )

# %%
# The figure puts each library's recorded curve (black) over our reproduction of it (in the
# colours of the first figure), with both suggestions. torch-lr-finder records its smoothed
# loss without debiasing (its curve starts at the first loss), Lightning debiased one step off
# (its curve starts at half of it), as described below.

fig, axes = plt.subplots(2, 3, figsize=(11, 6.6), layout="constrained")
for column, data in enumerate(sets):
    problem = peer_problems[data["name"]]
    for ax, finder in zip(axes[:, column], problem["finders"], strict=True):
        library = finder["library"]
        result = data["results"][REPRODUCED[library]]
        color = COLORS[REPRODUCED[library]]
        rates = np.array(finder["rates"], dtype=float)
        curve = np.array(finder["losses"], dtype=float)  # None (non-finite) becomes nan
        ax.plot(result.learning_rates, result.smoothed_losses, color=color, lw=1.5)
        ax.plot(rates, curve, color="k", lw=1.2)
        ours = reproduced_suggestion(library, result)
        ax.axvline(ours, color=color, ls=":", lw=1.5)
        ax.axvline(finder["suggestion"], color="k", ls="--", lw=1.2)
        ax.set(xscale="log", yscale="log", title=f"{problem['name']}: {library}")
        ax.set_xlabel("learning rate")
        if column == 0:
            ax.set_ylabel("smoothed training loss")
handles = [
    Line2D([], [], color="k", lw=1.2, label="real library's curve"),
    Line2D([], [], color="k", ls="--", lw=1.2, label="real library's suggestion"),
    Line2D([], [], color=COLORS["torch-lr-finder"], lw=1.5, label="torch-lr-finder reproduced"),
    Line2D([], [], color=COLORS["Lightning"], lw=1.5, label="Lightning reproduced"),
    Line2D([], [], color="0.4", ls=":", lw=1.5, label="reproduction's suggestion"),
]
fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=9)
versions = [f"{f['library']} {f['version']}" for f in peers["problems"][0]["finders"]]
fig.suptitle(" and ".join(versions) + " (black) against their reproductions")
plt.show()

# %%
# **torch-lr-finder** records the curve of its reproduction: the two lie on top of each other
# (top row). Its suggestions, 0.2915, 0.2420 and 0.6136 on diabetes, breast_cancer and digits,
# are the reproduction's point (0.242 on breast_cancer) or the next one (a factor of 1.2 above
# 0.242 and 0.509), the one-point shift described above. Its refits tell the reproduction's
# story: 3 times the suggestion diverges on diabetes (in all 5 batch orders, where the
# suggestion itself reaches 1925.8), does better on breast_cancer (0.0862 against 0.0903) and
# worse on digits (0.1330 against 0.1257), and 10 times it is worse on every set (diverged,
# 0.0992 and 0.1968). In the real library too, the steepest gradient leaves little room above
# its pick.
#
# **Lightning** departs from its reproduction at the start of its curve. Lightning 2.6.6
# divides its moving average at point :math:`i` by :math:`1 - \beta^{i+2}` instead of
# :math:`1 - \beta^{i+1}` (the ``trainer.global_step`` it uses has already counted the
# point's update), so its first point is :math:`0.02 / (1 - 0.98^2) = 0.505` times the first
# loss (0.3501 on breast_cancer, :math:`0.505 \log 2`, and 1.1629 on digits,
# :math:`0.505 \log 10`), and its curve climbs over the first few dozen points (bottom row):
# the rise reported in Lightning's issue #14167. Where the climb is steady its slopes are
# positive, so its rule, the most negative gradient against the rate, cannot pick there: on
# breast_cancer and digits it picks 2.754e-3 and 0.07586 instead of the reproduction's 7.7e-8
# and 6.4e-8. On diabetes, whose batch losses are noisier, a dip within the climb (points 14 to
# 17) gives 2.291e-7 instead of 6.4e-8. These picks are still too low: larger rates do better
# on every set, the median validation losses at 1, 3 and 10 times the pick being
# 14149, 14144 and 14127 on diabetes (the untrained model's is 14151: the pick barely trains),
# 0.2720, 0.1855 and 0.1273 on breast_cancer, and 0.1375, 0.1175 and 0.1185 on digits.

# %%
# The answer
# ----------
#
# The behaviour shows in all four finders, but it belongs to the rule, not to the library.
# Rules that read the curve early on its fall leave room above their pick: fastai's default
# ``valley`` is matched (within 2 %) or beaten by 3 times itself on every set here, and the
# same rule on the Keras callback's restart curve even by 10 times itself. Rules that read the
# end of the fall leave little: the steepest-gradient suggestions of torch-lr-finder and
# Lightning, like fastai's ``steep`` and ``minimum``, refit within three validation samples of
# the grid's best score on the classification sets, and on diabetes the steepest-gradient
# picks already score below it and diverge when tripled. 10 times any of them is worse on
# every set. fastai's ``slide`` behaves like them on the classification sets but fails on
# diabetes, far below the good range. Lightning's newer gradient against the rate itself is
# the opposite extreme: on these reproduced curves it returns the first rate it reads (6.4e-8
# or 7.7e-8), and the real Lightning, whose curve starts low and climbs, picks 2.3e-7, 2.8e-3
# and 0.076; on all of them, 3 and 10 times the pick do better. The real torch-lr-finder and
# Lightning lead to the same answers as their reproductions (`The real libraries`_).
#
# Why the same shape everywhere: all four finders share one design, whose parts
# :ref:`sphx_glr_auto_examples_plot_02_why_a_larger_rate_works.py` takes apart.
#
# * **A ramp.** Each rate gets a few updates (one on top of what the smaller rates achieved,
#   or five from the initial weights for the Keras callback), so every curve falls late, not
#   far below where it turns up, while a full fit of hundreds of updates already works far
#   below that fall and stays stable up to about :math:`2/\lambda_{\max}`. The fall is where
#   ``valley`` and the steepest-slope rules look, so how much room they leave depends on how
#   long the refit is.
# * **Smoothing.** Every finder smooths with an EMA (:math:`\beta` from 0.9 to 0.98), which
#   lags the raw loss and moves the fall to larger rates, the more so the heavier the
#   smoothing: on breast_cancer fastai's ``steep`` (:math:`\beta = 0.98`) lands several times
#   above torch-lr-finder's steepest gradient (:math:`\beta = 0.95`), though both read the
#   same raw losses.
# * **Conservative rules.** A finder returns one rate for a fit it knows nothing about (its
#   length, its schedule, its data), so its rules aim at a rate that will not diverge: a point
#   on the way down, or a decade below the minimum, never the largest stable rate. fastai made
#   a conservative one, ``valley``, its default.
#
# So whichever library computes it, the suggestion is best read as the low end of a good range
# whose top is near where the ramp's loss turns up: far above it for ``valley``, a factor of a
# few at most for the steepest-slope rules, and further with a decaying refit schedule.
#
# sklearn-lrf's own default is built against this: its ramp runs until the loss blows up,
# and its ``divergence_onset`` rule reads where the blow-up begins on the raw losses (a running
# median, no moving-average lag) and takes a fixed fraction of it, fitted on the 24 problems
# of ``benchmarks/bench_finder.py`` to land near the best rate for a fixed training budget
# rather than at a safe low end. :ref:`sphx_glr_auto_examples_plot_02_why_a_larger_rate_works.py`
# shows where it lands on these three sets.
