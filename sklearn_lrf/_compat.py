"""The one place that imports scikit-learn's private modules.

scikit-learn has no public API for declarative parameter constraints, the fit context that
validates them once, sample-weight validation or sample indexing; its own estimators and its
conformance checks rely on these private helpers. Everything this package needs from them is
re-exported here, so a change upstream is mended in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_sample_weight",
    "fit_context",
    "safe_indexing",
    "validate_params",
    "validate_params_of",
]

fit_context = _fit_context
safe_indexing = _safe_indexing
check_sample_weight = _check_sample_weight


def validate_params_of(obj):
    """Validate ``obj.get_params(deep=False)`` against ``obj._parameter_constraints``."""
    validate_parameter_constraints(
        obj._parameter_constraints,
        obj.get_params(deep=False),
        caller_name=type(obj).__name__,
    )
