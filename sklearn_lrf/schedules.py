"""Learning-rate schedules: small objects that map an update count to a learning rate.

Every schedule is called with a step count ``t`` (an integer, or an array of them for
vectorised evaluation) and returns the learning rate used for update ``t`` (counting from 0).
Its ``unit`` says what a step is: ``"batch"`` (the count advances once per mini-batch update)
or ``"epoch"`` (it advances once per pass over the data).

Schedules are scikit-learn style parameter objects: ``get_params`` / ``set_params`` work, so an
estimator holding one can be cloned and grid-searched (``learning_rate__lr``), they pickle, and
their repr shows the parameters that differ from the defaults.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone

from ._compat import Interval, StrOptions, validate_params_of

__all__ = [
    "Schedule",
    "Constant",
    "ExponentialRamp",
    "LinearRamp",
    "InverseScaling",
    "StepDecay",
    "ExponentialDecay",
    "CosineAnnealing",
    "OneCycle",
    "Triangular",
]

_POSITIVE = Interval(Real, 0, None, closed="neither")
_UNIT = StrOptions({"batch", "epoch"})


class Schedule(BaseEstimator):
    """Base class of learning-rate schedules.

    Subclasses define ``_rates(t)`` for a float array of step counts and name the parameter
    holding their largest rate in ``_peak_param``.
    """

    _parameter_constraints: dict = {}
    _peak_param = "lr"

    def __init__(self):
        self.validate()

    def validate(self):
        """Check the parameters; raise ``ValueError`` or ``TypeError`` naming the bad one.

        Returns
        -------
        self : Schedule
        """
        validate_params_of(self)
        self._check_consistency()
        return self

    def _check_consistency(self):
        """Check relations between parameters (overridden where there are any)."""

    def __call__(self, step):
        """Learning rate at update ``step`` (0-based).

        Parameters
        ----------
        step : int or array-like of int
            Update count(s), each >= 0.

        Returns
        -------
        lr : float or ndarray of float
            A float for a scalar ``step``, else an array of the same shape.
        """
        t = np.asarray(step, dtype=float)
        if np.any(t < 0):
            raise ValueError(f"step must be >= 0, got {step!r}.")
        rates = np.asarray(self._rates(t), dtype=float)
        return float(rates) if rates.ndim == 0 else rates

    @property
    def peak_lr(self):
        """The largest learning rate the schedule reaches."""
        return getattr(self, self._peak_param)

    def with_peak(self, peak_lr):
        """Return a copy whose largest learning rate is ``peak_lr``, other rates scaled alike.

        Parameters
        ----------
        peak_lr : float > 0

        Returns
        -------
        schedule : Schedule
        """
        factor = peak_lr / self.peak_lr
        params = {
            name: value * factor for name, value in self.get_params().items() if name.endswith("lr")
        }
        return clone(self).set_params(**params).validate()


class Constant(Schedule):
    """The same learning rate at every update.

    Parameters
    ----------
    lr : float > 0, default=0.01
        The learning rate.
    """

    _parameter_constraints = {"lr": [_POSITIVE]}
    unit = "batch"

    def __init__(self, lr=0.01):
        self.lr = lr
        super().__init__()

    def _rates(self, t):
        return np.full_like(t, self.lr)


class _Ramp(Schedule):
    _parameter_constraints = {
        "start_lr": [_POSITIVE],
        "end_lr": [_POSITIVE],
        "n_steps": [Interval(Integral, 2, None, closed="left")],
        "unit": [_UNIT],
    }
    _peak_param = "end_lr"

    def __init__(self, start_lr=1e-7, end_lr=10.0, n_steps=100, unit="batch"):
        self.start_lr = start_lr
        self.end_lr = end_lr
        self.n_steps = n_steps
        self.unit = unit
        super().__init__()

    def _check_consistency(self):
        if self.start_lr >= self.end_lr:
            raise ValueError(
                f"start_lr must be smaller than end_lr, got start_lr={self.start_lr} "
                f"and end_lr={self.end_lr}."
            )

    def _fraction(self, t):
        return np.minimum(t, self.n_steps - 1) / (self.n_steps - 1)


class ExponentialRamp(_Ramp):
    """Rate growing geometrically from ``start_lr`` to ``end_lr`` (the classic LR-finder ramp).

    ``lr(t) = start_lr * (end_lr / start_lr) ** (min(t, n_steps - 1) / (n_steps - 1))``: equal
    ratios between successive rates, so the steps are evenly spaced on a log axis.

    Parameters
    ----------
    start_lr : float > 0, default=1e-7
        Rate of the first update.
    end_lr : float > start_lr, default=10.0
        Rate of update ``n_steps - 1`` and after.
    n_steps : int >= 2, default=100
        Number of steps of the ramp.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    def _rates(self, t):
        return self.start_lr * (self.end_lr / self.start_lr) ** self._fraction(t)


class LinearRamp(_Ramp):
    """Rate growing linearly from ``start_lr`` to ``end_lr``.

    ``lr(t) = start_lr + (end_lr - start_lr) * min(t, n_steps - 1) / (n_steps - 1)``.

    Parameters
    ----------
    start_lr : float > 0, default=1e-7
        Rate of the first update.
    end_lr : float > start_lr, default=10.0
        Rate of update ``n_steps - 1`` and after.
    n_steps : int >= 2, default=100
        Number of steps of the ramp.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    def _rates(self, t):
        return self.start_lr + (self.end_lr - self.start_lr) * self._fraction(t)


class InverseScaling(Schedule):
    """Rate decaying as a power of the step: ``lr(t) = lr / (t + 1) ** power_t``.

    This is scikit-learn's ``learning_rate="invscaling"`` of ``SGDRegressor``.

    Parameters
    ----------
    lr : float > 0, default=0.01
        Rate of the first update.
    power_t : float >= 0, default=0.25
        Exponent of the decay.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "lr": [_POSITIVE],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "unit": [_UNIT],
    }

    def __init__(self, lr=0.01, power_t=0.25, unit="batch"):
        self.lr = lr
        self.power_t = power_t
        self.unit = unit
        super().__init__()

    def _rates(self, t):
        return self.lr / (t + 1.0) ** self.power_t


class StepDecay(Schedule):
    """Rate multiplied by ``gamma`` every ``step_size`` steps.

    ``lr(t) = lr * gamma ** floor(t / step_size)``.

    Parameters
    ----------
    lr : float > 0, default=0.01
        Initial rate.
    step_size : int >= 1, default=10
        Steps between two decays.
    gamma : float in (0, 1], default=0.1
        Multiplicative factor of each decay.
    unit : {"batch", "epoch"}, default="epoch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "lr": [_POSITIVE],
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, 1, closed="right")],
        "unit": [_UNIT],
    }

    def __init__(self, lr=0.01, step_size=10, gamma=0.1, unit="epoch"):
        self.lr = lr
        self.step_size = step_size
        self.gamma = gamma
        self.unit = unit
        super().__init__()

    def _rates(self, t):
        return self.lr * self.gamma ** np.floor(t / self.step_size)


class ExponentialDecay(Schedule):
    """Rate multiplied by ``gamma`` at every step: ``lr(t) = lr * gamma ** t``.

    Parameters
    ----------
    lr : float > 0, default=0.01
        Initial rate.
    gamma : float in (0, 1], default=0.95
        Multiplicative factor per step.
    unit : {"batch", "epoch"}, default="epoch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "lr": [_POSITIVE],
        "gamma": [Interval(Real, 0, 1, closed="right")],
        "unit": [_UNIT],
    }

    def __init__(self, lr=0.01, gamma=0.95, unit="epoch"):
        self.lr = lr
        self.gamma = gamma
        self.unit = unit
        super().__init__()

    def _rates(self, t):
        return self.lr * self.gamma**t


def _cosine(start, end, fraction):
    """Half a cosine going from ``start`` (fraction 0) to ``end`` (fraction 1)."""
    return end + (start - end) * (1.0 + np.cos(np.pi * fraction)) / 2.0


class CosineAnnealing(Schedule):
    """Cosine decay from ``lr`` to ``min_lr`` over ``n_steps``, optionally with warm restarts.

    Without restarts, ``lr(t) = min_lr + (lr - min_lr) * (1 + cos(pi * min(t, n) / n)) / 2`` with
    ``n = n_steps``. With ``warm_restarts=True`` (SGDR, Loshchilov & Hutter 2017) the cosine
    restarts at ``lr`` after each cycle; cycle ``i`` lasts ``n_steps * cycle_mult ** i`` steps.

    Parameters
    ----------
    lr : float > 0, default=0.01
        Rate at the start of each cycle.
    n_steps : int >= 1, default=100
        Length of the (first) cycle.
    min_lr : float >= 0, default=0.0
        Rate at the end of each cycle; must be smaller than ``lr``.
    warm_restarts : bool, default=False
        Restart the cosine at ``lr`` after each cycle.
    cycle_mult : float >= 1, default=1.0
        Growth factor of the cycle length after each restart.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "lr": [_POSITIVE],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "min_lr": [Interval(Real, 0, None, closed="left")],
        "warm_restarts": ["boolean"],
        "cycle_mult": [Interval(Real, 1, None, closed="left")],
        "unit": [_UNIT],
    }

    def __init__(
        self,
        lr=0.01,
        n_steps=100,
        min_lr=0.0,
        warm_restarts=False,
        cycle_mult=1.0,
        unit="batch",
    ):
        self.lr = lr
        self.n_steps = n_steps
        self.min_lr = min_lr
        self.warm_restarts = warm_restarts
        self.cycle_mult = cycle_mult
        self.unit = unit
        super().__init__()

    def _check_consistency(self):
        if self.min_lr >= self.lr:
            raise ValueError(
                f"min_lr must be smaller than lr, got min_lr={self.min_lr} and lr={self.lr}."
            )

    def _rates(self, t):
        n = float(self.n_steps)
        if not self.warm_restarts:
            return _cosine(self.lr, self.min_lr, np.minimum(t, n) / n)
        if self.cycle_mult == 1:
            return _cosine(self.lr, self.min_lr, np.mod(t, n) / n)
        m = self.cycle_mult
        cycle = np.floor(np.log1p(t / n * (m - 1.0)) / np.log(m))
        # The logarithm can land just below an integer at a cycle's first step: correct it.
        cycle += t >= n * (m ** (cycle + 1.0) - 1.0) / (m - 1.0)
        cycle_start = n * (m**cycle - 1.0) / (m - 1.0)
        return _cosine(self.lr, self.min_lr, (t - cycle_start) / (n * m**cycle))


class OneCycle(Schedule):
    """Smith's one-cycle policy: cosine warm-up to ``max_lr``, then cosine annealing.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` during the first
    ``pct_start * n_steps`` steps, then falls to ``max_lr / (div_factor * final_div_factor)`` at
    step ``n_steps - 1`` and stays there. Both phases follow half a cosine, as in fastai's
    ``fit_one_cycle`` and PyTorch's ``OneCycleLR(anneal_strategy="cos")``, whose parameter
    names this follows (fastai's default ``pct_start`` of 0.25).

    Parameters
    ----------
    max_lr : float > 0, default=0.01
        Peak rate.
    n_steps : int >= 2, default=100
        Length of the cycle.
    pct_start : float in (0, 1), default=0.25
        Fraction of the cycle spent warming up.
    div_factor : float >= 1, default=25.0
        ``max_lr / div_factor`` is the initial rate.
    final_div_factor : float >= 1, default=1e4
        The final rate is the initial rate divided by ``final_div_factor``.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "max_lr": [_POSITIVE],
        "n_steps": [Interval(Integral, 2, None, closed="left")],
        "pct_start": [Interval(Real, 0, 1, closed="neither")],
        "div_factor": [Interval(Real, 1, None, closed="left")],
        "final_div_factor": [Interval(Real, 1, None, closed="left")],
        "unit": [_UNIT],
    }
    _peak_param = "max_lr"

    def __init__(
        self,
        max_lr=0.01,
        n_steps=100,
        pct_start=0.25,
        div_factor=25.0,
        final_div_factor=1e4,
        unit="batch",
    ):
        self.max_lr = max_lr
        self.n_steps = n_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.unit = unit
        super().__init__()

    def _rates(self, t):
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        last = self.n_steps - 1.0
        peak_step = self.pct_start * last
        t = np.minimum(t, last)
        warm_up = _cosine(initial, self.max_lr, t / peak_step)
        annealing = _cosine(self.max_lr, final, (t - peak_step) / (last - peak_step))
        return np.where(t <= peak_step, warm_up, annealing)


class Triangular(Schedule):
    """Smith's cyclical learning rates (2017): the rate cycles between ``base_lr`` and ``max_lr``.

    With ``cycle = floor(1 + t / (2 * step_size))`` and
    ``x = |t / step_size - 2 * cycle + 1|``, the rate is
    ``base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale`` where ``scale`` is 1
    (``"triangular"``), ``1 / 2 ** (cycle - 1)`` (``"triangular2"``, halving each cycle) or
    ``gamma ** t`` (``"exp_range"``).

    Parameters
    ----------
    base_lr : float > 0, default=0.001
        Lowest rate.
    max_lr : float > base_lr, default=0.01
        Highest rate.
    step_size : int >= 1, default=100
        Steps in half a cycle.
    mode : {"triangular", "triangular2", "exp_range"}, default="triangular"
        How the amplitude changes from cycle to cycle.
    gamma : float in (0, 1], default=1.0
        Per-step amplitude decay of ``"exp_range"``.
    unit : {"batch", "epoch"}, default="batch"
        Whether the step count advances per mini-batch or per epoch.
    """

    _parameter_constraints = {
        "base_lr": [_POSITIVE],
        "max_lr": [_POSITIVE],
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions({"triangular", "triangular2", "exp_range"})],
        "gamma": [Interval(Real, 0, 1, closed="right")],
        "unit": [_UNIT],
    }
    _peak_param = "max_lr"

    def __init__(
        self,
        base_lr=0.001,
        max_lr=0.01,
        step_size=100,
        mode="triangular",
        gamma=1.0,
        unit="batch",
    ):
        self.base_lr = base_lr
        self.max_lr = max_lr
        self.step_size = step_size
        self.mode = mode
        self.gamma = gamma
        self.unit = unit
        super().__init__()

    def _check_consistency(self):
        if self.base_lr >= self.max_lr:
            raise ValueError(
                f"base_lr must be smaller than max_lr, got base_lr={self.base_lr} "
                f"and max_lr={self.max_lr}."
            )

    def _rates(self, t):
        cycle = np.floor(1.0 + t / (2.0 * self.step_size))
        x = np.abs(t / self.step_size - 2.0 * cycle + 1.0)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 0.5 ** (cycle - 1.0)
        else:
            scale = self.gamma**t
        return self.base_lr + (self.max_lr - self.base_lr) * np.maximum(0.0, 1.0 - x) * scale
