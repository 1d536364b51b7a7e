"""The one place that touches scikit-learn's private parameter-validation module.

scikit-learn has no public API for declarative parameter constraints; its estimators (and
``check_param_validation``) rely on ``sklearn.utils._param_validation``. Everything this package
needs from it is re-exported here, so a change upstream is mended in one file.
"""

from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

__all__ = ["HasMethods", "Interval", "StrOptions", "validate_params", "validate_params_of"]


def validate_params_of(obj):
    """Validate ``obj.get_params(deep=False)`` against ``obj._parameter_constraints``."""
    validate_parameter_constraints(
        obj._parameter_constraints,
        obj.get_params(deep=False),
        caller_name=type(obj).__name__,
    )
