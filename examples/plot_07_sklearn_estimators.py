"""
LRFinderSearch on scikit-learn's MLPClassifier and SGDClassifier
================================================================

The range test is not limited to this package's estimators: anything with ``partial_fit`` and
a learning-rate parameter can be ramped. This example runs :class:`~sklearn_lrf.LRFinderSearch`
on scikit-learn's :class:`~sklearn.neural_network.MLPClassifier` (with the ``"adam"`` and the
``"sgd"`` solver) and :class:`~sklearn.linear_model.SGDClassifier` with the log loss, on the
digits dataset, shows their range-test curves with :class:`~sklearn_lrf.LRFinderDisplay`, and
compares the cross-validated accuracy and training effort at the picked rate with each
estimator's default.
"""

# %%
# How the finder drives a foreign estimator
# -----------------------------------------
#
# :func:`~sklearn_lrf.lr_range_test` recognises the rate parameter by name (``eta0``, else
# ``learning_rate_init``; ``lr_param`` names any other). For each ramp point it sets that
# parameter and calls ``partial_fit`` on one mini-batch, then records the log loss of
# ``predict_proba`` on the *next* mini-batch, which that update has not seen. A foreign
# estimator has no smoothness bound to place the ramp from, so the default ramp runs from
# 1e-6 to 100 at 15 rates per decade, and goes on past 100 (up to 3 more decades) while the
# loss has not blown up.
#
# * ``MLPClassifier.partial_fit`` builds its optimizer on the first call and then ignores
#   changes of ``learning_rate_init``, so the finder also writes the rate into the live
#   optimizer (Adam's ``learning_rate_init``, SGD's ``learning_rate``) before every step.
#   The ramp's mini-batches have the estimator's own ``batch_size``, with ``"auto"`` read as
#   ``fit`` reads it (200 rows, at most the number of samples), so the ramp and the refit take
#   steps of the same size. Before each ``partial_fit`` the finder also sets ``batch_size`` to
#   the mini-batch's size, so that every call is exactly one optimizer step, including the
#   shorter last mini-batch of a pass over the data.
# * ``SGDClassifier`` is per-sample SGD: one ``partial_fit`` on a mini-batch of 32 rows (the
#   finder's default when the estimator has no ``batch_size``) is 32 updates at the ramp's
#   rate. Its default ``learning_rate="optimal"`` policy ignores ``eta0`` (``"invscaling"``
#   and ``"adaptive"`` would decay it), so the finder ramps a copy switched to
#   ``"constant"``, and ``LRFinderSearch`` refits with ``learning_rate="constant"`` as well:
#   the picked ``eta0`` is then the constant rate the ramp measured.
#
# All three estimators keep their scikit-learn defaults here, apart from a small hidden layer
# for the MLPs, a fixed ``random_state`` and ``loss="log_loss"`` (the range test needs
# ``predict_proba``). The default rate is ``learning_rate_init=0.001`` for both MLP solvers;
# the default ``SGDClassifier`` uses the ``"optimal"`` schedule, ``1 / (alpha (t + t0))``.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import LRFinderDisplay, LRFinderSearch

X, y = load_digits(return_X_y=True)
print(f"digits: {X.shape[0]} samples, {X.shape[1]} features, {len(np.unique(y))} classes")

mlp = dict(hidden_layer_sizes=(32,), random_state=0)
models = {
    "MLP (adam)": (MLPClassifier(solver="adam", **mlp), "learning_rate_init"),
    "MLP (sgd)": (MLPClassifier(solver="sgd", **mlp), "learning_rate_init"),
    "SGDClassifier": (SGDClassifier(loss="log_loss", random_state=0), "eta0"),
}

# %%
# Cross-validated comparison
# --------------------------
#
# ``cross_validate`` on the same 5 stratified outer folds scores two pipelines per estimator:
# the estimator with its defaults, and ``LRFinderSearch`` around it (default rule, one range
# test per outer training fold, refit at the pick). ``return_estimator=True`` keeps the
# fitted models, so we can read the picks and the epochs each fit ran (``n_iter_``).
#
# One warning is expected and counted rather than printed: ``ConvergenceWarning``, raised when
# a fit reached ``max_iter`` epochs (200 for the MLPs, 1000 for ``SGDClassifier``) without
# meeting its stopping test. We report it per model as "hit max_iter", a sign of a rate too
# small for the budget. Any other warning is re-emitted.

outer = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)


def evaluate(model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        started = time.perf_counter()
        result = cross_validate(model, X, y, cv=outer, return_estimator=True)
        seconds = time.perf_counter() - started
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    hit_max_iter = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return result["test_score"], result["estimator"], seconds, hit_max_iter


results = {}
for name, (estimator, _) in models.items():
    pipe = make_pipeline(StandardScaler(), estimator)
    results[name, "default"] = evaluate(pipe)
    results[name, "finder"] = evaluate(LRFinderSearch(clone(pipe), random_state=0))

print(
    f"\n{'model':<15}{'setting':<9}{'rate parameter':<20}{'value':>16}{'accuracy':>18}"
    f"{'epochs':>8}{'hit max_iter':>14}{'wall s':>8}"
)
for name, (estimator, rate_param) in models.items():
    for setting in ("default", "finder"):
        scores, fitted, seconds, hit_max_iter = results[name, setting]
        if setting == "default":
            final = [model[-1] for model in fitted]
            value = getattr(estimator, rate_param)
            rate = "optimal schedule" if name == "SGDClassifier" else f"{value:g}"
        else:
            final = [search.best_estimator_[-1] for search in fitted]
            picks = [search.best_lr_ for search in fitted]
            rate = f"{min(picks):.2g}..{max(picks):.2g}"
        epochs = np.mean([model.n_iter_ for model in final])
        print(
            f"{name:<15}{setting:<9}{rate_param:<20}{rate:>16}"
            f"{scores.mean():>10.4f} ± {scores.std():.3f}{epochs:>8.0f}{hit_max_iter:>14d}"
            f"{seconds:>8.2f}"
        )

print(
    f"\n{'model':<15}{'ramp mini-batch':>16}{'refit batch_size':>18}{'refit learning_rate':>21}"
    f"{'max_iter':>10}"
)
for name in models:
    search = results[name, "finder"][1][0]
    refitted = search.best_estimator_[-1]
    print(
        f"{name:<15}{search.range_test_.settings['batch_size']:>16}"
        f"{getattr(refitted, 'batch_size', '-')!s:>18}{refitted.learning_rate!s:>21}"
        f"{refitted.max_iter:>10}"
    )

# %%
# The "rate" column shows the picks across the 5 outer folds, the "epochs" column the mean
# number of epochs the final fit ran (``n_iter_``), and "hit max_iter" how many of the 5 fits
# stopped at ``max_iter`` rather than by their own convergence test. The wall time of the
# finder includes its range tests, so for a model that is cheap to fit (compare the wall
# times of ``SGDClassifier``'s two rows) the finder can cost more than a default fit; its
# value there is the rate, not the time.
#
# The second table shows what the finder ran on the first outer fold: the ramp's mini-batch
# size (the MLPs' ``batch_size="auto"`` read as the 200 rows ``fit`` uses), the refitted
# estimator's own ``batch_size`` (left as given), and its ``learning_rate`` policy, which
# ``LRFinderSearch`` set to ``"constant"`` for ``SGDClassifier`` so that the picked ``eta0`` is
# used as measured.
#
# The range-test curves
# ---------------------
#
# :meth:`LRFinderDisplay.from_search <sklearn_lrf.LRFinderDisplay.from_search>` draws the
# curve kept by a fitted search, here the one from the first outer training fold, with every
# rule's suggestion marked and the chosen one, the default ``divergence_onset``, starred.

fig, axes = plt.subplots(3, 1, figsize=(8, 10), layout="constrained")
for ax, name in zip(axes, models, strict=True):
    search = results[name, "finder"][1][0]
    LRFinderDisplay.from_search(search, ax=ax, name=name)
    test = search.range_test_
    # Zoom on the informative range: after the turn, raw losses shoot far above the start.
    ax.set_ylim(0, 2 * test.smoothed_losses[0])
    ax.set_title(f"{name}: {test.n_updates} partial_fit steps in {test.seconds:.2f} s")
fig.suptitle("Range tests on scikit-learn estimators (digits, first outer training fold)")
plt.show()

# %%
# All three curves have the classic shape: flat while the rate is too small to move the
# weights, falling, then turning up once steps overshoot. Where each turns, and what the
# search picked (about a twentieth of where the blow-up begins; the stop reason says when a ramp had
# to go on past 100 to find it):

print(f"{'model':<15}{'smoothed minimum at':>21}{'pick':>9}  stop reason")
for name in models:
    test = results[name, "finder"][1][0].range_test_
    at_minimum = test.learning_rates[np.nanargmin(test.smoothed_losses)]
    print(f"{name:<15}{at_minimum:>21.3g}{test.best_lr:>9.2g}  {test.stop_reason}")

# %%
# The rates are not on a common scale across estimators: Adam divides each step by a running
# estimate of the gradient's scale, so its rate is roughly a step length in weight space,
# while SGD's step is the rate times the gradient (with momentum 0.9 for the MLP's ``"sgd"``
# solver, which multiplies the effective step by up to 10, and per sample for
# ``SGDClassifier``). A rate learnt on one optimiser says nothing about another; each needs
# its own range test, which costs what each panel's title says.
#
# Training curves at the default and the picked rate
# ---------------------------------------------------
#
# ``MLPClassifier`` records its training loss per epoch in ``loss_curve_``. On the first outer
# fold, the default rate against the finder's pick:

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for ax, name in zip(axes, ["MLP (adam)", "MLP (sgd)"], strict=True):
    default_model = results[name, "default"][1][0][-1]
    search = results[name, "finder"][1][0]
    for model, label, color in [
        (default_model, f"default rate {default_model.learning_rate_init:g}", "C7"),
        (search.best_estimator_[-1], f"finder's pick {search.best_lr_:.2g}", "C0"),
    ]:
        ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(name)
    ax.legend()
axes[0].set_ylabel("training log loss (+ L2 penalty)")
fig.suptitle("MLPClassifier training loss per epoch, first outer fold")
plt.show()

# %%
# Conclusions
# -----------
#
# * The finder drives scikit-learn's estimators through their public ``partial_fit``, with the
#   estimator-specific details handled for you: the MLP's live optimizer, one optimizer step
#   per ``partial_fit`` call with the MLP's own batch size, and ``SGDClassifier``'s policy
#   switched to ``"constant"`` for the ramp and for the refit. The estimators go in with
#   their defaults; nothing needs to be set by hand for the pick to be used as measured.
# * The first table answers whether the picked rate beats the default: compare the
#   "accuracy" columns (against their fold-to-fold "±"), and the "epochs" and "hit max_iter"
#   columns for the training effort. A default rate that is too small for the budget shows
#   up as fits that stop at ``max_iter``. Where the accuracies are within each other's "±"
#   (Adam is the forgiving optimiser here), the pick's gain is in the effort: fewer epochs,
#   and a fit that stops by its own test.
