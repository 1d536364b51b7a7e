"""Learning-rate schedules against closed forms written independently, step by step."""

import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone

from sklearn_lrf import schedules
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

# ---------------------------------------------------------------------------------------------
# Reference implementations: plain per-step Python, following the PyTorch / fastai formulas.
# ---------------------------------------------------------------------------------------------


def ref_constant(lr, n):
    return [lr] * n


def ref_exponential_ramp(start, end, n_steps, n):
    """fastai's geometric ramp, evaluated in log space and held at ``end`` after the ramp."""
    out = []
    for t in range(n):
        pos = min(t, n_steps - 1) / (n_steps - 1)
        out.append(math.exp(math.log(start) + pos * (math.log(end) - math.log(start))))
    return out


def ref_linear_ramp(start, end, n_steps, n):
    return [start + (end - start) * min(t, n_steps - 1) / (n_steps - 1) for t in range(n)]


def ref_inverse_scaling(lr, power_t, n):
    """scikit-learn's ``invscaling`` with a 1-based count: ``eta0 / t ** power_t``."""
    return [lr / (t + 1) ** power_t for t in range(n)]


def ref_step_decay(lr, step_size, gamma, n):
    """PyTorch ``StepLR`` in its chained form: multiply by gamma every ``step_size`` steps."""
    out, rate = [], lr
    for t in range(n):
        if t > 0 and t % step_size == 0:
            rate *= gamma
        out.append(rate)
    return out


def ref_exponential_decay(lr, gamma, n):
    """PyTorch ``ExponentialLR`` in its chained form."""
    out, rate = [], lr
    for _ in range(n):
        out.append(rate)
        rate *= gamma
    return out


def ref_cosine(lr, min_lr, n_steps, n):
    """PyTorch ``CosineAnnealingLR`` (``T_max = n_steps``), held at ``min_lr`` afterwards."""
    return [
        min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(t, n_steps) / n_steps)) / 2
        for t in range(n)
    ]


def ref_cosine_restarts(lr, min_lr, n_steps, cycle_mult, n):
    """PyTorch ``CosineAnnealingWarmRestarts`` (``T_0 = n_steps``, ``T_mult = cycle_mult``)."""
    out, t_cur, t_i = [], 0.0, float(n_steps)
    for _ in range(n):
        out.append(min_lr + (lr - min_lr) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        t_cur += 1
        if t_cur >= t_i:
            t_cur -= t_i
            t_i *= cycle_mult
    return out


def ref_one_cycle(max_lr, n_steps, pct_start, div_factor, final_div_factor, n):
    """Cosine warm-up over ``pct_start * (n_steps - 1)`` steps, cosine annealing to step
    ``n_steps - 1``, then constant (PyTorch ``OneCycleLR`` cos strategy, fastai phases)."""

    def anneal_cos(start, end, pct):
        return start + (end - start) * (1 - math.cos(math.pi * pct)) / 2

    initial = max_lr / div_factor
    final = initial / final_div_factor
    last = n_steps - 1
    peak = pct_start * last
    out = []
    for t in range(n):
        if t <= peak:
            out.append(anneal_cos(initial, max_lr, t / peak))
        elif t <= last:
            out.append(anneal_cos(max_lr, final, (t - peak) / (last - peak)))
        else:
            out.append(final)
    return out


def ref_cyclic(base_lr, max_lr, step_size, mode, gamma, n):
    """PyTorch ``CyclicLR`` (``step_size_up = step_size_down = step_size``)."""
    total, ratio = 2 * step_size, 0.5
    out = []
    for t in range(n):
        cycle = math.floor(1 + t / total)
        x = 1 + t / total - cycle
        factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        height = (max_lr - base_lr) * factor
        if mode == "triangular":
            scale = 1.0
        elif mode == "triangular2":
            scale = 1 / 2 ** (cycle - 1)
        else:
            scale = gamma**t
        out.append(base_lr + height * scale)
    return out


N = 200  # steps evaluated: well past every ramp, cycle and decay configured below
CASES = {
    "constant": (Constant(lr=0.3), ref_constant(0.3, N)),
    "exp_ramp": (
        ExponentialRamp(start_lr=1e-5, end_lr=2.0, n_steps=11),
        ref_exponential_ramp(1e-5, 2.0, 11, N),
    ),
    "exp_ramp_2_steps": (
        ExponentialRamp(start_lr=0.1, end_lr=1.0, n_steps=2),
        ref_exponential_ramp(0.1, 1.0, 2, N),
    ),
    "linear_ramp": (
        LinearRamp(start_lr=0.01, end_lr=0.5, n_steps=17, unit="epoch"),
        ref_linear_ramp(0.01, 0.5, 17, N),
    ),
    "inverse_scaling": (InverseScaling(lr=0.2, power_t=0.5), ref_inverse_scaling(0.2, 0.5, N)),
    "inverse_scaling_flat": (InverseScaling(lr=0.2, power_t=0.0), ref_constant(0.2, N)),
    "step_decay": (StepDecay(lr=0.5, step_size=7, gamma=0.3), ref_step_decay(0.5, 7, 0.3, N)),
    "exp_decay": (ExponentialDecay(lr=0.5, gamma=0.97), ref_exponential_decay(0.5, 0.97, N)),
    "cosine": (
        CosineAnnealing(lr=0.1, n_steps=30, min_lr=0.002),
        ref_cosine(0.1, 0.002, 30, N),
    ),
    "cosine_restarts": (
        CosineAnnealing(lr=0.1, n_steps=6, min_lr=0.002, warm_restarts=True),
        ref_cosine_restarts(0.1, 0.002, 6, 1.0, N),
    ),
    "cosine_restarts_mult2": (
        CosineAnnealing(lr=0.1, n_steps=3, warm_restarts=True, cycle_mult=2.0),
        ref_cosine_restarts(0.1, 0.0, 3, 2.0, N),
    ),
    "cosine_restarts_mult1.5": (
        CosineAnnealing(lr=0.1, n_steps=4, min_lr=0.01, warm_restarts=True, cycle_mult=1.5),
        ref_cosine_restarts(0.1, 0.01, 4, 1.5, N),
    ),
    "one_cycle": (OneCycle(max_lr=0.4, n_steps=101), ref_one_cycle(0.4, 101, 0.25, 25.0, 1e4, N)),
    "one_cycle_fractional_peak": (
        OneCycle(max_lr=1.0, n_steps=10, pct_start=0.3, div_factor=10.0, final_div_factor=100.0),
        ref_one_cycle(1.0, 10, 0.3, 10.0, 100.0, N),
    ),
    "one_cycle_2_steps": (
        OneCycle(max_lr=1.0, n_steps=2, pct_start=0.5),
        ref_one_cycle(1.0, 2, 0.5, 25.0, 1e4, N),
    ),
    "triangular": (
        Triangular(base_lr=0.01, max_lr=0.1, step_size=5),
        ref_cyclic(0.01, 0.1, 5, "triangular", 1.0, N),
    ),
    "triangular2": (
        Triangular(base_lr=0.01, max_lr=0.1, step_size=5, mode="triangular2"),
        ref_cyclic(0.01, 0.1, 5, "triangular2", 1.0, N),
    ),
    "exp_range": (
        Triangular(base_lr=0.01, max_lr=0.1, step_size=5, mode="exp_range", gamma=0.98),
        ref_cyclic(0.01, 0.1, 5, "exp_range", 0.98, N),
    ),
}
SCHEDULES = [schedule for schedule, _ in CASES.values()]


@pytest.mark.parametrize(("schedule", "expected"), CASES.values(), ids=CASES.keys())
def test_matches_closed_form(schedule, expected):
    """Every step, one at a time and vectorised, equals the reference."""
    steps = np.arange(N)
    np.testing.assert_allclose(schedule(steps), expected, rtol=1e-10, atol=0)
    np.testing.assert_allclose([schedule(int(t)) for t in steps], expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        (ExponentialRamp(start_lr=1e-3, end_lr=1.0, n_steps=4), 0, 1e-3),
        (ExponentialRamp(start_lr=1e-3, end_lr=1.0, n_steps=4), 1, 1e-2),
        (ExponentialRamp(start_lr=1e-3, end_lr=1.0, n_steps=4), 3, 1.0),
        (ExponentialRamp(start_lr=1e-3, end_lr=1.0, n_steps=4), 10**6, 1.0),
        (LinearRamp(start_lr=0.1, end_lr=0.5, n_steps=5), 4, 0.5),
        (StepDecay(lr=1.0, step_size=3, gamma=0.5), 5, 0.5),
        (StepDecay(lr=1.0, step_size=3, gamma=0.5), 6, 0.25),
        (CosineAnnealing(lr=1.0, n_steps=4), 2, 0.5),
        (CosineAnnealing(lr=1.0, n_steps=4), 4, 0.0),
        (CosineAnnealing(lr=1.0, n_steps=4, min_lr=0.2, warm_restarts=True), 4, 1.0),
        (CosineAnnealing(lr=1.0, n_steps=2, warm_restarts=True, cycle_mult=2.0), 6, 1.0),
        (OneCycle(max_lr=1.0, n_steps=5, pct_start=0.5, div_factor=4.0), 0, 0.25),
        (OneCycle(max_lr=1.0, n_steps=5, pct_start=0.5, div_factor=4.0), 2, 1.0),
        (OneCycle(max_lr=1.0, n_steps=5, pct_start=0.5, div_factor=4.0), 4, 0.25e-4),
        (OneCycle(max_lr=1.0, n_steps=5, pct_start=0.5, div_factor=4.0), 99, 0.25e-4),
        (Triangular(base_lr=0.1, max_lr=0.5, step_size=2), 2, 0.5),
        (Triangular(base_lr=0.1, max_lr=0.5, step_size=2), 4, 0.1),
        (Triangular(base_lr=0.1, max_lr=0.5, step_size=2, mode="triangular2"), 6, 0.3),
    ],
)
def test_landmarks(schedule, step, expected):
    """Hand-computed values at the ends of ramps, phases and cycles."""
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("n_steps", "cycle_mult", "restart_step"),
    [(1, 3.0, 121), (10, 3.0, 1210), (5, 3.0, 605), (1, 10.0, 111), (1, 10.0, 111111)],
)
def test_cosine_restart_with_cycle_mult_starts_at_lr(n_steps, cycle_mult, restart_step):
    """At the first step of every cycle the rate is back at ``lr``."""
    schedule = CosineAnnealing(
        lr=1.0, n_steps=n_steps, min_lr=0.1, warm_restarts=True, cycle_mult=cycle_mult
    )
    assert schedule(restart_step) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# Calling conventions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
@pytest.mark.parametrize("step", [0, 3, np.int64(17), np.int32(150)])
def test_scalar_step_returns_python_float(schedule, step):
    rate = schedule(step)
    assert type(rate) is float
    assert rate == pytest.approx(schedule(np.array([step]))[0], rel=1e-14)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
def test_array_step_is_vectorised(schedule):
    """An array of any shape gives an array of that shape, equal to the scalar calls.

    Equal up to an ulp: NumPy's SIMD ``power`` may round differently from the scalar path.
    """
    steps = np.array([[0, 5, 9], [40, 1, 120]])
    rates = schedule(steps)
    assert isinstance(rates, np.ndarray)
    assert rates.shape == steps.shape
    assert rates.dtype == np.float64
    expected = [[schedule(int(t)) for t in row] for row in steps]
    np.testing.assert_allclose(rates, expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(schedule([0, 5, 9]), expected[0], rtol=1e-14, atol=0)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
@pytest.mark.parametrize("step", [-1, np.int64(-5), [0, 3, -2]])
def test_negative_step_raises(schedule, step):
    with pytest.raises(ValueError, match="step must be >= 0"):
        schedule(step)


# ---------------------------------------------------------------------------------------------
# scikit-learn parameter protocol
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
def test_clone_and_pickle_preserve_params_and_rates(schedule):
    steps = np.arange(N)
    for copy in (clone(schedule), pickle.loads(pickle.dumps(schedule))):
        assert copy is not schedule
        assert type(copy) is type(schedule)
        assert copy.get_params() == schedule.get_params()
        np.testing.assert_array_equal(copy(steps), schedule(steps))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
def test_repr_evaluates_back_to_an_equal_schedule(schedule):
    """The repr names the class and is valid code rebuilding the same parameters."""
    text = repr(schedule)
    assert text.startswith(type(schedule).__name__ + "(")
    rebuilt = eval(text, vars(schedules))
    assert rebuilt.get_params() == schedule.get_params()


def test_repr_shows_only_non_default_params():
    text = repr(OneCycle(max_lr=0.1, n_steps=50))
    assert text == "OneCycle(max_lr=0.1, n_steps=50)"
    assert repr(Triangular()) == "Triangular()"
    assert "mode='exp_range'" in repr(Triangular(mode="exp_range", gamma=0.9))


def test_get_params_and_set_params():
    schedule = CosineAnnealing(lr=0.1, n_steps=10)
    assert schedule.get_params() == dict(
        lr=0.1, n_steps=10, min_lr=0.0, warm_restarts=False, cycle_mult=1.0, unit="batch"
    )
    assert schedule.set_params(lr=0.4, min_lr=0.1) is schedule
    assert schedule.get_params()["lr"] == 0.4
    assert schedule(0) == pytest.approx(0.4)
    assert schedule(10) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx(0.25)


class _Holder(BaseEstimator):
    def __init__(self, learning_rate=None):
        self.learning_rate = learning_rate


def test_nested_params_reach_the_schedule():
    """An estimator holding a schedule exposes and sets ``learning_rate__<param>``."""
    holder = _Holder(learning_rate=StepDecay(lr=0.1, step_size=5))
    assert holder.get_params()["learning_rate__step_size"] == 5
    holder.set_params(learning_rate__lr=0.7)
    assert holder.learning_rate(0) == pytest.approx(0.7)
    cloned = clone(holder)
    assert cloned.learning_rate is not holder.learning_rate
    assert cloned.learning_rate.get_params() == holder.learning_rate.get_params()


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

RAMPS = [ExponentialRamp, LinearRamp]
BAD_PARAMS = [
    (Constant, dict(lr=0.0), "lr"),
    (Constant, dict(lr=-0.1), "lr"),
    *[(ramp, dict(start_lr=0.0), "start_lr") for ramp in RAMPS],
    *[(ramp, dict(end_lr=-1.0), "end_lr") for ramp in RAMPS],
    *[(ramp, dict(start_lr=1.0, end_lr=1.0), "start_lr") for ramp in RAMPS],
    *[(ramp, dict(start_lr=2.0, end_lr=1.0), "start_lr") for ramp in RAMPS],
    *[(ramp, dict(n_steps=1), "n_steps") for ramp in RAMPS],
    *[(ramp, dict(unit="step"), "unit") for ramp in RAMPS],
    (InverseScaling, dict(lr=-1.0), "lr"),
    (InverseScaling, dict(power_t=-0.5), "power_t"),
    (StepDecay, dict(lr=0.0), "lr"),
    (StepDecay, dict(step_size=0), "step_size"),
    (StepDecay, dict(gamma=0.0), "gamma"),
    (StepDecay, dict(gamma=1.5), "gamma"),
    (ExponentialDecay, dict(gamma=0.0), "gamma"),
    (ExponentialDecay, dict(unit="iteration"), "unit"),
    (CosineAnnealing, dict(lr=0.0), "lr"),
    (CosineAnnealing, dict(lr=0.1, min_lr=0.1), "min_lr"),
    (CosineAnnealing, dict(lr=0.1, min_lr=0.5), "min_lr"),
    (CosineAnnealing, dict(min_lr=-0.01), "min_lr"),
    (CosineAnnealing, dict(n_steps=0), "n_steps"),
    (CosineAnnealing, dict(cycle_mult=0.5), "cycle_mult"),
    (OneCycle, dict(max_lr=-0.1), "max_lr"),
    (OneCycle, dict(n_steps=1), "n_steps"),
    (OneCycle, dict(pct_start=0.0), "pct_start"),
    (OneCycle, dict(pct_start=1.0), "pct_start"),
    (OneCycle, dict(pct_start=1.5), "pct_start"),
    (OneCycle, dict(div_factor=0.5), "div_factor"),
    (Triangular, dict(base_lr=0.0), "base_lr"),
    (Triangular, dict(base_lr=0.01, max_lr=0.01), "base_lr"),
    (Triangular, dict(base_lr=0.1, max_lr=0.01), "base_lr"),
    (Triangular, dict(step_size=0), "step_size"),
    (Triangular, dict(mode="cosine"), "mode"),
    (Triangular, dict(mode="exp_range", gamma=0.0), "gamma"),
]


def _names(param):
    """A regex matching ``param`` as a whole word (``lr`` does not match ``min_lr``)."""
    return rf"(?<![\w]){re.escape(param)}(?![\w])"


@pytest.mark.parametrize(
    ("cls", "kwargs", "param"),
    BAD_PARAMS,
    ids=[f"{cls.__name__}-{kw}" for cls, kw, _ in BAD_PARAMS],
)
def test_bad_params_raise_at_construction(cls, kwargs, param):
    with pytest.raises(ValueError, match=_names(param)):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs", "param"),
    BAD_PARAMS,
    ids=[f"{cls.__name__}-{kw}" for cls, kw, _ in BAD_PARAMS],
)
def test_validate_after_bad_set_params_raises(cls, kwargs, param):
    """``set_params`` does not check; ``validate`` (as used by ``fit``) does."""
    schedule = cls()
    assert schedule.validate() is schedule
    schedule.set_params(**kwargs)
    with pytest.raises(ValueError, match=_names(param)):
        schedule.validate()


# ---------------------------------------------------------------------------------------------
# with_peak
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
@pytest.mark.parametrize("new_peak", [1e-4, 0.05, 3.0])
def test_with_peak_scales_the_whole_curve(schedule, new_peak):
    steps = np.arange(N)
    before_params, before_rates = schedule.get_params(), schedule(steps)
    old_peak = schedule.peak_lr

    scaled = schedule.with_peak(new_peak)

    assert scaled is not schedule
    assert type(scaled) is type(schedule)
    assert scaled.peak_lr == pytest.approx(new_peak, rel=1e-12)
    np.testing.assert_allclose(scaled(steps), before_rates * (new_peak / old_peak), rtol=1e-10)
    assert schedule.get_params() == before_params
    np.testing.assert_array_equal(schedule(steps), before_rates)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=CASES.keys())
def test_peak_lr_bounds_the_curve(schedule):
    """No step's rate exceeds ``peak_lr``."""
    assert schedule(np.arange(N)).max() <= schedule.peak_lr * (1 + 1e-12)


def test_with_peak_rejects_non_positive_peak():
    with pytest.raises(ValueError, match=_names("lr")):
        Constant(lr=0.1).with_peak(-1.0)


# ---------------------------------------------------------------------------------------------
# Property: the exponential ramp is geometric and monotone
# ---------------------------------------------------------------------------------------------

positive_rates = st.floats(min_value=1e-10, max_value=1e4, allow_nan=False, allow_infinity=False)


@given(start=positive_rates, end=positive_rates, n_steps=st.integers(2, 400))
def test_exponential_ramp_is_geometric_and_monotone(start, end, n_steps):
    assume(start < end)
    schedule = ExponentialRamp(start_lr=start, end_lr=end, n_steps=n_steps)
    rates = schedule(np.arange(n_steps + 5))
    ramp = rates[:n_steps]
    ratio = (end / start) ** (1 / (n_steps - 1))
    np.testing.assert_allclose(ramp[1:] / ramp[:-1], ratio, rtol=1e-9)
    assert ramp[0] == pytest.approx(start, rel=1e-12)
    np.testing.assert_allclose(rates[n_steps - 1 :], end, rtol=1e-12)
    assert np.all(np.diff(rates) >= 0)
