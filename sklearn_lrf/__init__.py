"""sklearn-lrf: pick learning rates with the learning-rate range test, scikit-learn style.

The public names are imported on first use (PEP 562), so ``import sklearn_lrf`` and the
command line's ``--help`` do not load numba, scikit-learn or matplotlib.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0.dev0"

# Public name -> the module that defines it.
_LAZY = {
    "DivergenceError": "._sgd",
    "LRFinderDisplay": ".plotting",
    "LRFinderResult": ".finder",
    "LRFinderSearch": ".search",
    "SGDLinearRegressor": ".linear_model",
    "SGDLogisticClassifier": ".linear_model",
    "lr_range_test": ".finder",
}
__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time, __getattr__ imports
    from ._sgd import DivergenceError as DivergenceError
    from .finder import LRFinderResult as LRFinderResult
    from .finder import lr_range_test as lr_range_test
    from .linear_model import SGDLinearRegressor as SGDLinearRegressor
    from .linear_model import SGDLogisticClassifier as SGDLogisticClassifier
    from .plotting import LRFinderDisplay as LRFinderDisplay
    from .search import LRFinderSearch as LRFinderSearch


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
