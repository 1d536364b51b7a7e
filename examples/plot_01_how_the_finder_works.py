"""
How the LR finder works, next to quadratic theory
=================================================

The learning-rate range test trains a model while its learning rate grows exponentially, and
reads a good rate off the loss curve. This example runs it on the study notebook's toy problem,
linear least squares, where gradient-descent theory is exact: full-batch gradient descent is
stable exactly below 2 / lambda_max, lambda_max being the largest eigenvalue of the loss
Hessian. It shows where the ramp stops and why that is later than the theory says, how
mini-batches move the limit, how the package's ``learning_rate="auto"`` relates to it, and how
far below it the suggestion rules land. It ends with logistic regression, where the quadratic
bound is only a bound.
"""

# %%
# How the ramp works
# ------------------
#
# :func:`~sklearn_lrf.lr_range_test` trains a fresh copy of the estimator, one update per
# rate. Update :math:`i` uses the rate
# :math:`\eta_i = \eta_{\min} (\eta_{\max} / \eta_{\min})^{i / (n_{steps} - 1)}`, so
# successive rates have a constant ratio and are evenly spaced on a log axis. By default the
# ramp is placed from the data: for this package's estimators it runs from ``1e-3 / L`` to
# ``1e3 / L``, where ``1 / L`` is the stable step that ``learning_rate="auto"`` computes (see
# below), with 15 rates per decade (91 rates); if the loss has not blown up by ``1e3 / L``,
# it goes on at the same ratio for up to 3 more decades (``extend_decades``). After each
# update the loss is measured on the *next* mini-batch, which this update did not see, and
# recorded against the rate that produced it. Each raw point is a
# single mini-batch and so is noisy. The curve is therefore smoothed with fastai's
# bias-corrected exponential moving average
# :math:`a_i = \beta a_{i-1} + (1 - \beta)\,\ell_i`, :math:`s_i = a_i / (1 - \beta^{i+1})`,
# with :math:`\beta = 0.98`. The ramp stops once the smoothed loss exceeds 4 times its best
# value (fastai's divergence rule, tested after a warm-up of a tenth of the rates), when the
# raw losses' running median has stayed above 4 times its running minimum for a decade of rates
# (the onset the default rule reads, confirmed: the moving average would notice a slow blow-up
# decades later), or when an update makes the loss or the weights non-finite. Every rule reads
# the raw losses of the whole curve: the default as they are; the others smooth them as the
# ramp does and read the smoothed curve from the end of its first tenth up to where the moving
# average's test stops it.
# No rule suggests a rate below the ramp's first one.
#
# * ``divergence_onset`` (the default): the raw log losses pass through a centred running
#   median about 0.2 decade wide (5 points), which removes isolated spikes without lagging; the
#   *onset* is the first rate where that median exceeds 4 times its running minimum, and the
#   pick is :math:`10^{-1.33} \approx 0.047` times the onset. The factor is the median, over
#   the 24 problems of ``benchmarks/bench_finder.py``, of the best rate for a fixed training
#   budget divided by the onset; its spread over those problems is about a decade, so the
#   pick is a typical distance below the blow-up, not a measured optimum. Left out of the
#   fit, it was the best rule of that benchmark (median regret 1.066, against 1.363 for
#   ``lag_corrected``);
# * ``minimum``: a tenth of the rate at the lowest smoothed loss (Smith 2015, fastai);
# * ``steepest``: the rate where the smoothed loss falls fastest against :math:`\log\eta`
#   (fastai);
# * ``valley``: about halfway down the longest decreasing stretch (the point
#   ``start + int(L/3) + int(L/6)`` of a stretch of ``L`` points; fastai's default since 2.4);
# * ``slide``: fastai's interval-slide rule;
# * ``lag_corrected`` (ours, the default before ``divergence_onset``): from the smoothed
#   minimum, step back by the mean age of the losses the moving average still remembers, then
#   triple the rate, capped at a third of the rate at the smoothed minimum. The step back
#   lands on the falling part of the curve, well below where the *raw* loss bottomed out.
#
# The fastai rules are re-implemented after ``fastai/callback/schedule.py`` (fastai 2.7) in
# ``sklearn_lrf.rules``; fastai itself is not imported.
#
# The study's toy problem
# -----------------------
#
# :math:`x` is uniform on :math:`[-1, 1]` and :math:`y = 5x + 4` plus Gaussian noise of
# standard deviation 0.1, with 300 points, fitted by :class:`~sklearn_lrf.SGDLinearRegressor`
# without penalty. The loss is half the mean squared error,
# :math:`f(w) = \lVert \tilde X w - y \rVert^2 / (2n)`, with :math:`\tilde X = [x, 1]`
# (the column of ones carries the intercept). Its Hessian is the constant matrix
# :math:`H = \tilde X^\top \tilde X / n`. On a quadratic, a gradient step multiplies the error
# along each eigenvector of :math:`H` by :math:`1 - \eta\lambda`. That factor is below 1 in
# absolute value for every eigenvalue exactly when :math:`\eta < 2/\lambda_{\max}`, and the
# error along the top eigenvector shrinks fastest at :math:`\eta = 1/\lambda_{\max}`.

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import DivergenceError, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test

rng = np.random.RandomState(0)
n_samples = 300
x = rng.uniform(-1.0, 1.0, n_samples)
y = 5.0 * x + 4.0 + rng.normal(0.0, 0.1, n_samples)
X = x[:, None]

X_tilde = np.column_stack([X, np.ones(n_samples)])
hessian = X_tilde.T @ X_tilde / n_samples
eigvals, eigvecs = np.linalg.eigh(hessian)
lam_max = eigvals[-1]
solution = np.linalg.lstsq(X_tilde, y, rcond=None)[0]
floor = 0.5 * np.mean((X_tilde @ solution - y) ** 2)
start_loss = 0.5 * np.mean(y**2)

print(f"Hessian X~^T X~ / n:\n{np.array2string(hessian, precision=4)}")
print(f"eigenvalues {eigvals[0]:.4f} and {lam_max:.4f} (condition {lam_max / eigvals[0]:.2f})")
print(f"1/lambda_max = {1 / lam_max:.4f}   2/lambda_max = {2 / lam_max:.4f}")
print(f"loss at w = 0: {start_loss:.3f}; least-squares floor (noise variance / 2): {floor:.5f}")

# %%
# A default range test
# --------------------
#
# With the estimator's default ``batch_size=32``, ``1 / L`` is about 1 here, so the ramp runs
# from about ``1e-3`` to ``1e3``; it stops long before the end (the printed stop reason), after
# about six passes over the 300 points. The figure is the package's
# :class:`~sklearn_lrf.LRFinderDisplay`: the raw loss (faint), the smoothed loss (bold), each
# rule's pick (the default's starred) and the stop. We add :math:`1/\lambda_{\max}`,
# :math:`2/\lambda_{\max}` and the rate that ``learning_rate="auto"`` would start with for
# this batch size (the ``1 / L`` that placed the ramp). The loss axis is logarithmic because
# the loss falls by three orders of magnitude.

BATCH_SIZE = 32
result = lr_range_test(SGDLinearRegressor(penalty=None), X, y, random_state=0)


def auto_rate(estimator, X, y, batch_size):
    """The starting rate of ``learning_rate="auto"``, read from the fitted ``learning_rate_``."""
    params = dict(learning_rate="auto", batch_size=batch_size, max_iter=1, tol=None)
    return estimator.set_params(**params).fit(X, y).learning_rate_.lr


def diverged_rate(res):
    """Rate at which a range test stopped for divergence, or NaN if it ran to max_lr."""
    return np.nan if res.diverged_at is None else res.learning_rates[res.diverged_at]


def mark_rates(ax, rates_and_labels):
    for rate, label, style in rates_and_labels:
        ax.axvline(rate, linestyle=style, color="0.3", linewidth=1.2, label=label)


auto_32 = auto_rate(SGDLinearRegressor(penalty=None), X, y, BATCH_SIZE)
settings = result.settings
ratio = (settings["max_lr"] / settings["min_lr"]) ** (1 / (settings["n_steps"] - 1))
beta = settings["smoothing"]
ages = np.arange(settings["n_steps"])
mean_age = np.sum(ages * beta**ages) / np.sum(beta**ages)
raw_best = np.argmin(result.losses)
print(
    f"ramp {settings['min_lr']:.3g} to {settings['max_lr']:.3g} ({settings['ramp_ends']}), "
    f"{settings['n_steps']} rates"
)
print(f"rate ratio per step {ratio:.3f}; {result.n_updates} updates; {result.stop_reason}")
print(
    f"mean age of the losses in the smoothed loss at the end of a {settings['n_steps']}-point "
    "ramp: "
    f"{mean_age:.1f} points = {mean_age * np.log10(ratio):.1f} decades of learning rate"
)
print(
    f"lowest raw loss {result.losses[raw_best]:.4f} at lr={result.learning_rates[raw_best]:.3g}; "
    f"lowest smoothed loss {np.nanmin(result.smoothed_losses):.3f} at "
    f"lr={result.learning_rates[np.nanargmin(result.smoothed_losses)]:.3g}"
)
below_raw = result.learning_rates[raw_best] / result.best_lr
onset = result.best_lr / 0.047  # divergence_onset returns 10**-1.33 = 0.047 x the onset
print(
    f"default rule (divergence_onset): onset of the blow-up at lr={onset:.3g}, pick "
    f"{result.best_lr:.3g}: {below_raw:.0f} x below the rate of the lowest raw loss, "
    f"{1 / (lam_max * result.best_lr):.1f} x below 1/lambda_max"
)

display = result.plot()
ax = display.ax_
mark_rates(
    ax,
    [
        (1 / lam_max, f"1/lambda_max = {1 / lam_max:.2g}", "-."),
        (2 / lam_max, f"2/lambda_max = {2 / lam_max:.2g}", "-"),
        (auto_32, f'"auto" 1/L(32) = {auto_32:.2g}', (0, (1, 1))),
    ],
)
ax.set_yscale("log")
ax.set_ylim(floor / 2, 4 * start_loss)
ax.set_title("Range test on the toy regression (batch 32)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
plt.show()

# %%
# The raw loss reaches its lowest value (printed) between :math:`1/\lambda_{\max}` and
# :math:`2/\lambda_{\max}` and climbs soon after :math:`2/\lambda_{\max}`. The smoothed curve
# reports the past: the losses it averages are on average as old as the printed number of
# points (and decades of rate), so it still remembers the large losses of the start while the
# raw loss falls. Its minimum, and the stop (dotted line), therefore come well past
# :math:`2/\lambda_{\max}`, at rates where constant-rate gradient descent is already unstable.
# The default rule, ``divergence_onset``, does not read the smoothed curve: the running median
# of the raw losses finds the onset of the blow-up (printed) a little past
# :math:`2/\lambda_{\max}`, and the rule takes 0.047 times it. The printed ratios show where
# this lands: an order of magnitude below the raw minimum and several times below
# :math:`1/\lambda_{\max}`, where the raw loss has only started to fall. On this toy, where
# training is fast and the limit sharp, the benchmark's typical factor is a cautious one;
# ``lag_corrected`` (+) and ``minimum`` (a tenth of the smoothed minimum) land about 2.5 times
# higher, closer to :math:`1/\lambda_{\max}`.
#
# Two things make the stop late, and the full-batch case separates them.
#
# Full batch: where theory is exact
# ---------------------------------
#
# With ``batch_size=n`` every update is an exact gradient-descent step and the "next
# mini-batch" is the whole data set. The curve is then deterministic and needs no smoothing
# (``smoothing=0``). We run it in two ways:
#
# * the ordinary ramp, with the default ends: one step per rate, each step continuing from the
#   previous one. For a full batch ``L`` is :math:`\lambda_{\max}` itself, so the ramp from
#   ``1e-3 / L`` passes exactly through :math:`1/\lambda_{\max}` (its 46th rate);
# * the restart mode (``restart_steps=20``): every rate trains 20 full-batch steps from
#   :math:`w = 0`, so each point shows what that constant rate does on its own. Here we fix
#   the ramp on purpose: 200 rates from ``1e-7`` to ``10`` (the finder's old default range),
#   with ``extend_decades=0`` and a divergence threshold so high that the smoothed-loss test
#   never fires; we find where its loss exceeds the loss at :math:`w = 0` ourselves. The run
#   still ends where a 20-step training blows up (printed), which the estimator's own
#   divergence check stops.
#
# Here theory predicts the whole curve, not only the limit. Write the error
# :math:`e = w - w^*` in the eigenbasis of :math:`H`. A step at rate :math:`\eta` multiplies
# component :math:`j` by :math:`1 - \eta\lambda_j`, and the loss is
# :math:`f^* + \sum_j \lambda_j e_j^2 / 2`. We overlay these predictions (dashed) on the
# measured curves.

full = lr_range_test(
    SGDLinearRegressor(penalty=None), X, y, batch_size=n_samples, smoothing=0.0, random_state=0
)
full_smoothed = lr_range_test(
    SGDLinearRegressor(penalty=None), X, y, batch_size=n_samples, random_state=0
)
restart = lr_range_test(
    SGDLinearRegressor(penalty=None),
    X,
    y,
    batch_size=n_samples,
    restart_steps=20,
    min_lr=1e-7,
    max_lr=10.0,
    n_steps=200,
    extend_decades=0,
    smoothing=0.0,
    diverge_threshold=1e12,
    random_state=0,
)

initial_error = eigvecs.T @ (0.0 - solution)  # every run starts at w = 0


def predicted_loss(errors):
    return floor + 0.5 * np.sum(eigvals * errors**2, axis=-1)


# Ordinary ramp: the error components after each update (the loss is measured after it).
ramp_errors = initial_error * np.cumprod(1 - full.learning_rates[:, None] * eigvals, axis=0)
ramp_theory = predicted_loss(ramp_errors)
# Restart mode: 20 steps at one constant rate, from w = 0.
restart_theory = predicted_loss(
    initial_error * (1 - restart.learning_rates[:, None] * eigvals) ** 20
)
stable = full.learning_rates < 2 / lam_max  # past it, the ramp amplifies rounding errors
ramp_gap = np.max(np.abs(full.losses - ramp_theory)[stable] / ramp_theory[stable])
at_inverse = np.argmin(np.abs(np.log(full.learning_rates * lam_max)))
finite = np.isfinite(restart.losses)  # the last point is inf if a 20-step run blew up
restart_gap = np.max(np.abs(restart.losses - restart_theory)[finite] / restart_theory[finite])
crossing = np.searchsorted(full.learning_rates, 2 / lam_max)
worse = np.flatnonzero(restart.losses > start_loss)[0]

print(f"ordinary full-batch ramp, no smoothing:   {full.stop_reason}")
print(f"ordinary full-batch ramp, smoothing 0.98: {full_smoothed.stop_reason}")
print(f"restart mode, 200 rates from 1e-7 to 10:  {restart.stop_reason}")
print(
    f"largest relative gap, measured vs theory: ramp below 2/lambda_max {ramp_gap:.1e}, "
    f"restart (finite points) {restart_gap:.1e}"
)
print(
    f"ramp point nearest 1/lambda_max: lr={full.learning_rates[at_inverse]:.6g} "
    f"(lr x lambda_max = {full.learning_rates[at_inverse] * lam_max:.6g}); measured loss at the "
    f"ramp's last point {full.losses[-1]:.3g}, theory {ramp_theory[-1]:.3g}"
)
print(
    f"error along the top eigenvector just before the ramp's first rate above 2/lambda_max "
    f"(lr={full.learning_rates[crossing]:.3g}): {abs(ramp_errors[crossing - 1, -1]):.1e}, "
    f"down from {abs(initial_error[-1]):.2f} at the start"
)
print(
    f"restart mode: the loss after 20 steps first exceeds the loss at w = 0 at "
    f"lr={restart.learning_rates[worse]:.4f} (previous rate "
    f"{restart.learning_rates[worse - 1]:.4f}); 2/lambda_max = {2 / lam_max:.4f}"
)

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.plot(full.learning_rates, full.losses, color="C0", linewidth=2, label="ramp, one step per rate")
ax.plot(
    restart.learning_rates,
    restart.losses,
    color="C1",
    linewidth=2,
    label="restart mode, 20 steps from w = 0",
)
ax.plot(full.learning_rates, ramp_theory, "--", color="k", linewidth=1, label="theory")
ax.plot(restart.learning_rates, restart_theory, "--", color="k", linewidth=1)
ax.plot(diverged_rate(full), full.losses[full.diverged_at], "x", color="C0", markersize=10)
mark_rates(ax, [(1 / lam_max, "1/lambda_max", "-."), (2 / lam_max, "2/lambda_max", "-")])
ax.axhline(floor, color="0.6", linewidth=0.8, linestyle="--", label="least-squares floor")
ax.axhline(start_loss, color="0.6", linewidth=0.8, linestyle=":", label="loss at w = 0")
ax.set(
    xscale="log",
    yscale="log",
    ylim=(floor / 2, 1e3),
    xlabel="learning rate",
    ylabel="squared error / 2 (whole data)",
    title="Full-batch gradient descent: ramp and restart mode (x = ramp stop)",
)
ax.legend(loc="lower left", fontsize="small")
plt.show()

# %%
# Below :math:`2/\lambda_{\max}` the measured curves coincide with the predictions; the
# printed relative gaps are at rounding level. With full batches, the range test is plain
# gradient descent on a quadratic. Past :math:`2/\lambda_{\max}` the ramp parts from its
# prediction (the printed last point): the ramp's step at exactly :math:`1/\lambda_{\max}`
# removed the top component, exactly in theory (the printed error is 0) but only down to
# rounding error in floating point, and the unstable rates amplify that rounding error until
# it shows.
#
# The restart curve makes the stability limit visible. Twenty steps at a rate past
# :math:`2/\lambda_{\max}` multiply the initial error along the top eigenvector many times
# over. The printed bracket around :math:`2/\lambda_{\max}` is where its loss first becomes
# worse than not training at all.
#
# The ordinary ramp sails past :math:`2/\lambda_{\max}` on a flat floor. By then it has already
# converged at the smaller rates: at :math:`\eta = 1/\lambda_{\max}`, one step removes the top
# component. The error left along the top eigenvector is nil, so an unstable rate has almost
# nothing to amplify, and many more, ever larger steps pass before the loss leaves the floor:
# the ramp stops only at the printed rate, about 17 times :math:`2/\lambda_{\max}`. With the
# default smoothing it stops later still, because the average's memory of the large early
# losses keeps its "best" value low. So **the rate where a ramp stops is not the stability
# limit. It is an upper estimate, late by the time needed to amplify the remaining error and
# by the smoothing's lag.**
#
# Mini-batches: the limit moves, and so does the ramp
# ---------------------------------------------------
#
# A mini-batch step uses the batch's Hessian :math:`H_B = \tilde X_B^\top \tilde X_B / b`
# instead of :math:`H`. The error then follows a random linear map. Its mean square shrinks
# exactly when the spectral radius of
# :math:`\mathbb{E}[(I - \eta H_B) \otimes (I - \eta H_B)]` is below 1. For batches drawn
# without replacement,
#
# .. math::
#
#    \mathbb{E}[H_B \otimes H_B] = (1 - c)\, H \otimes H + c\, \tfrac{1}{n}\textstyle\sum_i
#    A_i \otimes A_i, \qquad A_i = \tilde x_i \tilde x_i^\top, \quad c = \frac{n - b}{b(n - 1)},
#
# so the limit can be computed exactly. In one dimension it reads
# :math:`\eta < 2/\lambda_{\mathrm{eff}}` with
# :math:`\lambda_{\mathrm{eff}} = (1 - c)\lambda + c\,\overline{a^2}/\lambda`: the spread of the
# mini-batch Hessians adds to the curvature, and more so for small batches.
#
# The package's ``learning_rate="auto"`` (documented in ``sklearn_lrf._sgd.auto_learning_rate``)
# uses the closed form of Gower et al. (2019),
# :math:`L(b) = (1 - c)\lambda_{\max} + c R^2` with :math:`R^2 = \max_i \lVert\tilde x_i\rVert^2`.
# This is the same formula, with the spread bounded by the worst sample. It starts at
# :math:`1/L(b)`, the mini-batch analogue of :math:`1/\lambda_{\max}`. Below we compare, for
# each batch size:
#
# * the exact mean-square limit;
# * Gower's :math:`2/L(b)`;
# * the ``"auto"`` rate;
# * what constant-rate training actually tolerates: the largest rate whose run (at least 1000
#   updates and 30 epochs) ends below the loss at :math:`w = 0`, found by bisection. A run
#   whose ``fit`` raises :class:`~sklearn_lrf.DivergenceError` (its training loss became
#   non-finite, or exploded while still finite) counts as not tolerated;
# * where the default ramp stops.

fourth_moment = np.einsum("ni,nj,nk,nl->ijkl", *[X_tilde] * 4).reshape(4, 4) / n_samples
identity = np.eye(2)


def batch_spread(batch_size):
    """``c = (n - b) / (b (n - 1))``: variance factor of a batch mean drawn without replacement."""
    return (n_samples - batch_size) / (batch_size * (n_samples - 1))


def mean_square_limit(batch_size):
    """Largest rate at which E[e e^T] of mini-batch SGD on the toy does not grow (bisection)."""
    c = batch_spread(batch_size)
    second = (1 - c) * np.kron(hessian, hessian) + c * fourth_moment
    first = np.kron(hessian, identity) + np.kron(identity, hessian)

    def radius(rate):
        return np.abs(np.linalg.eigvals(np.eye(4) - rate * first + rate**2 * second)).max()

    low, high = 0.0, 2 / lam_max
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if radius(middle) < 1 else (low, middle)
    return low


def gower_smoothness(batch_size):
    c = batch_spread(batch_size)
    return (1 - c) * lam_max + c * np.max(np.sum(X_tilde**2, axis=1))


def tolerated_rate(batch_size, min_updates=1000):
    """Largest constant rate whose run ends below the loss at w = 0 (bisection on log-rate).

    Near the limit the error grows or shrinks by a factor close to 1 per update, so the run
    makes at least ``min_updates`` updates (and at least 30 epochs) to tell the two apart.
    """
    epochs = max(30, -(-min_updates * batch_size // n_samples))

    def survives(rate):
        model = SGDLinearRegressor(
            learning_rate=rate,
            penalty=None,
            batch_size=batch_size,
            max_iter=epochs,
            tol=None,
            random_state=0,
        )
        try:
            model.fit(X, y)
        except DivergenceError:
            return False
        return 0.5 * np.mean((model.predict(X) - y) ** 2) < start_loss

    low, high = np.log(0.5), np.log(4.0)
    for _ in range(10):
        middle = (low + high) / 2
        low, high = (middle, high) if survives(np.exp(middle)) else (low, middle)
    return np.exp(low)


batch_sizes = [1, 2, 4, 8, 16, 32, 64, 150, n_samples]
rows = []
for b in batch_sizes:
    ramp = lr_range_test(SGDLinearRegressor(penalty=None), X, y, batch_size=b, random_state=0)
    rows.append(
        dict(
            b=b,
            ms=mean_square_limit(b),
            gower=2 / gower_smoothness(b),
            auto=auto_rate(SGDLinearRegressor(penalty=None), X, y, b),
            tolerated=tolerated_rate(b),
            ramp=diverged_rate(ramp),
            result=ramp,
        )
    )

print(
    f"{'batch':>6}{'2/lam_max':>11}{'ms limit':>10}{'2/L(b)':>9}{'1/L(b)':>9}{'auto':>8}"
    f"{'tolerated':>11}{'ramp stop':>11}{'onset pick':>11}{'lag_corr.':>11}"
)
for row in rows:
    print(
        f"{row['b']:>6}{2 / lam_max:>11.3f}{row['ms']:>10.3f}{row['gower']:>9.3f}"
        f"{row['gower'] / 2:>9.3f}{row['auto']:>8.3f}{row['tolerated']:>11.3f}"
        f"{row['ramp']:>11.3g}{row['result'].best_lr:>11.3g}"
        f"{row['result'].suggestions['lag_corrected']:>11.3g}"
    )

# %%
# The ``1/L(b)`` column (computed here from the formula) and the ``auto`` column (read from a
# fitted estimator) agree, which checks the package's implementation of Gower's bound. The
# figure puts the table on one pair of axes.

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
sizes = np.array(batch_sizes)
ax.axhline(2 / lam_max, color="0.3", linewidth=1.2, label="2/lambda_max (full batch)")
ax.plot(sizes, [r["ms"] for r in rows], "-", color="C0", label="mean-square limit (exact)")
ax.plot(sizes, [r["gower"] for r in rows], "--", color="C0", label="2/L(b) (Gower bound)")
ax.plot(sizes, [r["auto"] for r in rows], ":", color="C2", linewidth=2, label='"auto" = 1/L(b)')
ax.plot(sizes, [r["tolerated"] for r in rows], "o", color="C1", label="tolerated constant rate")
ax.plot(sizes, [r["ramp"] for r in rows], "x", color="C3", markersize=9, label="ramp stop")
ax.plot(
    sizes,
    [r["result"].best_lr for r in rows],
    "v",
    color="C4",
    label="default rule's pick (divergence_onset)",
)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="batch size",
    ylabel="learning rate",
    title="Toy regression: stability limits, ramp stops and picks by batch size",
)
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
plt.show()

# %%
# How to read the table and the figure:
#
# * On this well-conditioned toy, the mini-batch limit stays at :math:`2/\lambda_{\max}` down to
#   small batches. It drops visibly only with a handful of samples per batch. The tolerated
#   constant rates follow the exact mean-square limit, sometimes a little above it: a typical
#   run can survive a rate at which the *average* squared error grows.
# * :math:`2/L(b)` is never above the exact limit, because it bounds the spread by the
#   largest sample norm. ``"auto"`` starts at half of it, so it is safe by construction, like
#   :math:`1/\lambda_{\max}` for full-batch descent.
# * At every batch size the ramp stops above every limit (the mini-batch ramps at 2.1 to 3.7
#   times :math:`2/\lambda_{\max}`, the full-batch ramp at 20 times), for the two reasons
#   seen in the full-batch case, and the mini-batch ramps stop far sooner than the full-batch
#   ramp: mini-batch noise keeps feeding error into the top eigen-direction, so an unstable
#   rate has something to amplify at once.
# * With batches of one sample, each recorded loss is one sample's squared error, which jumps
#   by orders of magnitude from one sample to the next. The ramp copes (its stop waits for the
#   smoothed loss, and the training loop's own explosion check, meant for epochs, is off during
#   a ramp), but the default rule reads the raw losses, finds an "onset" among the first
#   points, and its pick lands next to the ramp's first rate (the ``onset`` column), where it
#   is useless. The finder warns and advises measuring the curve on held-out data
#   (``validation=0.1``). A range test needs losses that mean something.
# * From batches of 8 up, the default rule's picks sit 5 to 7 times below
#   :math:`1/\lambda_{\max}`, and over 10 times below the limit; the full-batch pick is
#   close to :math:`2/\lambda_{\max}`, read off the late onset of the full-batch ramp. The
#   table at the end lists every rule.
#
# Logistic regression: a bound, not an equality
# ---------------------------------------------
#
# For the binary log loss, the Hessian at weights :math:`w` is
# :math:`\tilde X^\top \mathrm{diag}(p_i (1 - p_i)) \tilde X / n`, with :math:`p_i` the
# predicted probabilities. Since :math:`p(1 - p) \le 1/4`, it is bounded by
# :math:`\tilde X^\top \tilde X / (4n)`. Equality holds at :math:`w = 0`, where every
# :math:`p_i = 1/2`, which is exactly where a ramp starts. We use the breast-cancer data,
# standardised, with :class:`~sklearn_lrf.SGDLogisticClassifier` without penalty. We also
# evaluate the curvature at the weights of a model trained at the default rule's rate (from
# the batch-32 ramp). The default ramps are placed from the data: ``"auto"`` computes ``1 / L``
# from the bound, so they run from ``1e-3 / L`` to ``1e3 / L``, a few hundred here, and would
# go on for 3 more decades if the loss had not blown up by then. (The finder's old default
# ramp ended at ``max_lr = 10``, drawn in the figure: the full-batch ramp had not turned by
# then, and the batch-32 ramp's onset, at 9.94, lies just below it.)

X_bc, y_bc = load_breast_cancer(return_X_y=True)
X_bc = StandardScaler().fit_transform(X_bc)
n_bc = X_bc.shape[0]
X_bc_tilde = np.column_stack([X_bc, np.ones(n_bc)])


def logistic_curvature(coef, intercept):
    """lambda_max of the mean log loss's Hessian at the given weights."""
    p = expit(X_bc_tilde @ np.r_[coef, intercept])
    weighted = X_bc_tilde * (p * (1 - p))[:, None]
    return np.linalg.eigvalsh(X_bc_tilde.T @ weighted / n_bc)[-1]


bound = np.linalg.eigvalsh(X_bc_tilde.T @ X_bc_tilde / (4 * n_bc))[-1]
logistic_rows = []
for b in [n_bc, BATCH_SIZE]:
    clf = SGDLogisticClassifier(penalty=None)
    logistic_rows.append(
        dict(
            b=b,
            auto=auto_rate(SGDLogisticClassifier(penalty=None), X_bc, y_bc, b),
            result=lr_range_test(clf, X_bc, y_bc, batch_size=b, random_state=0),
        )
    )
trained = SGDLogisticClassifier(
    penalty=None, learning_rate=logistic_rows[1]["result"].best_lr, random_state=0
).fit(X_bc, y_bc)
curvature_trained = logistic_curvature(trained.coef_.ravel(), trained.intercept_)

print(
    f"bound lambda_max(X~^T X~ / 4n) = {bound:.3f}; Hessian at w = 0: "
    f"{logistic_curvature(np.zeros(X_bc.shape[1]), 0.0):.3f}"
)
print(f"1/bound = {1 / bound:.3f}   2/bound = {2 / bound:.3f}")
print(
    f"after training at lr={trained.learning_rate_.lr:.3g} ({trained.n_iter_} epochs, training "
    f"accuracy {trained.score(X_bc, y_bc):.3f}): lambda_max = {curvature_trained:.3f}, "
    f"{bound / curvature_trained:.0f} x below the bound; 2/lambda_max = {2 / curvature_trained:.1f}"
)
for row in logistic_rows:
    ext = row["result"]
    worse_than_untrained = ext.learning_rates[np.argmax(ext.losses > np.log(2))]
    print(
        f"batch {row['b']:>3}: ramp {ext.settings['min_lr']:.3g} to {ext.settings['max_lr']:.3g} "
        f"({ext.settings['ramp_ends']}): {ext.stop_reason}; pick {ext.best_lr:.3g}"
    )
    print(
        f"           first raw loss above log(2) (worse than w = 0) at lr="
        f"{worse_than_untrained:.3g}: {worse_than_untrained * bound / 2:.0f} x 2/bound, "
        f"{worse_than_untrained * curvature_trained / 2:.2f} x 2/lambda_max after training"
    )

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
for row, color in zip(logistic_rows, ["C0", "C1"], strict=True):
    ext = row["result"]
    ax.plot(ext.learning_rates, ext.losses, color=color, linewidth=0.6, alpha=0.4)
    ax.plot(
        ext.learning_rates,
        ext.smoothed_losses,
        color=color,
        linewidth=2,
        label=f"batch {row['b']}: smoothed (raw faint)",
    )
    if ext.diverged_at is not None:
        stop = ext.smoothed_losses[ext.diverged_at]
        ax.plot(diverged_rate(ext), stop, "x", color=color, markersize=10)
mark_rates(
    ax,
    [
        (2 / bound, "2/bound (Hessian at w = 0)", "-"),
        (2 / curvature_trained, "2/lambda_max after training", "--"),
    ],
)
ax.axvline(10, color="C3", linewidth=0.8, linestyle=":", label="old default max_lr = 10")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="learning rate",
    ylabel="log loss (next mini-batch)",
    title="Breast cancer, logistic regression: default ramps (x = stop)",
)
ax.legend(loc="lower left", fontsize="small")
plt.show()

# %%
# The Hessian at :math:`w = 0` equals the bound (first printed line). The curvature left after
# training is more than an order of magnitude smaller: the classes are well separated, so the
# trained model is confident on most samples and :math:`p(1 - p)` collapses. Both ramps stop
# far beyond :math:`2/\text{bound}` (above 100, more than 150 times it), and the default
# rule's picks land above :math:`2/\text{bound}` as well, at 0.47 for batches of 32 and 6.6
# for the full batch. The first raw loss worse than the untrained model's
# (:math:`\log 2`) is printed as a multiple of both limits: the curvature of the *trained*
# model, not the bound, tells where the mini-batch ramp starts to misbehave; the full-batch
# ramp goes further still.
#
# Shrinking curvature is not the only reason. The log loss is not quadratic, and its gradient is
# bounded (:math:`|p - y| \le 1`). A step that is too large overshoots into confident wrong
# predictions, and the loss then grows roughly in proportion to the weights, not geometrically.
# For classifiers, the quadratic bound describes only the first steps. It says at which rate
# training is safe from any starting point, not where a ramp will stop.
#
# All numbers in one table
# ------------------------
#
# ``curvature`` is :math:`\lambda_{\max}` of the Hessian for the regression, and the bound
# :math:`\lambda_{\max}(\tilde X^\top \tilde X / 4n)` for the classifier. ``ramp stop`` is where
# the default range test (``1e-3 / L`` to ``1e3 / L``, 15 rates per decade, extended if need
# be) stopped, or ``-`` if it ran to the end. The rules read those same ramps; ``onset`` is
# the default rule, ``divergence_onset``.

RULES = ["divergence_onset", "lag_corrected", "minimum", "steepest", "valley", "slide"]
SHORT = {"divergence_onset": "onset", "lag_corrected": "lag_corr."}


def cell(value, width=10):
    return f"{'-':>{width}}" if not np.isfinite(value) else f"{value:>{width}.3g}"


header = f"{'problem':<18}{'curvature':>10}{'2/curv.':>10}{'auto':>10}{'ramp stop':>10}"
header += "".join(f"{SHORT.get(name, name):>10}" for name in RULES)
print(header)
print("-" * len(header))
table = [
    (f"regression b={r['b']}", lam_max, r["auto"], r["result"])
    for r in rows
    if r["b"] in (1, 4, BATCH_SIZE, n_samples)
]
table += [(f"logistic b={r['b']}", bound, r["auto"], r["result"]) for r in logistic_rows]
for name, curvature, auto, res in table:
    line = f"{name:<18}{cell(curvature)}{cell(2 / curvature)}{cell(auto)}{cell(diverged_rate(res))}"
    line += "".join(cell(res.suggestions[rule]) for rule in RULES)
    print(line)

print("\nEach rule's pick divided by 1/lambda_max, over the nine regression batch sizes:")
for rule in RULES:
    picks = np.array([r["result"].suggestions[rule] for r in rows]) * lam_max
    print(f"  {rule:<14} from {picks.min():.2g} to {picks.max():.2g}")

# %%
# What this says about the finder
# -------------------------------
#
# * The range test is an experiment, not a curvature measurement. Its stop is an upper estimate
#   of the stability limit, late by the steps needed to amplify the remaining error and by the
#   smoothing's lag. On the mini-batch quadratic it lands a small factor above
#   :math:`2/\lambda_{\max}`. On a full-batch ramp that has already converged, or on a
#   classifier whose curvature collapses, it lands far above the limit; that is why the
#   default ramp goes on past ``1e3 / L`` until the loss blows up. With single-sample batches
#   the ramp still stops where the others do, but their noise puts the default rule's onset
#   among the first points.
# * The suggestion rules do not know the curvature either. They read the shape of a curve that
#   mixes time (the model keeps improving as the ramp goes on) with rate. The last printed lines
#   show how far each rule's pick sits from :math:`1/\lambda_{\max}` on the toy.
#   ``lag_corrected`` and ``minimum`` come closest, within a factor of two of each other (at
#   batches of 2 to 150 ``lag_corrected`` is a hair closer, at 1 ``minimum``; on the full batch
#   they overshoot, to 1.9 and 3.4 times it). On mini-batch ramps, ``steepest`` and
#   ``slide`` can pick rates at which the model has barely started to learn, because noise
#   early in the smoothed curve looks like a steep slope. The default ``divergence_onset``
#   reads where the blow-up starts, without the smoothing's lag, and stays a fixed factor
#   (0.047) below it: on the mini-batch toy, from batches of 8 up, that is 5 to 7 times below
#   :math:`1/\lambda_{\max}`, a wide margin. That is why a rate larger than the suggestion
#   often trains fine (question 2 of the study); the factor is a median over many problems,
#   and a well-conditioned toy that converges in a few steps is at the cautious end.
# * When the curvature can be bounded, ``learning_rate="auto"`` (:math:`1/L(b)`) gives a rate
#   that is safe by construction, and on this toy it is close to the full-batch optimum
#   :math:`1/\lambda_{\max}`. The range test is the tool for models and losses without such a
#   bound.
