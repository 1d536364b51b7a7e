"""sklearn-lrf: pick learning rates with the learning-rate range test, scikit-learn style."""

from ._sgd import DivergenceError
from .finder import LRFinderResult, lr_range_test
from .linear_model import SGDLinearRegressor, SGDLogisticClassifier
from .plotting import LRFinderDisplay
from .search import LRFinderSearch

__all__ = [
    "DivergenceError",
    "LRFinderDisplay",
    "LRFinderResult",
    "LRFinderSearch",
    "SGDLinearRegressor",
    "SGDLogisticClassifier",
    "lr_range_test",
]
__version__ = "0.1.0.dev0"
