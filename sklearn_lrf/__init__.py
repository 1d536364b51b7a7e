"""sklearn-lrf: pick learning rates with the learning-rate range test, scikit-learn style."""

from ._sgd import DivergenceError
from .linear_model import SGDLinearRegressor, SGDLogisticClassifier

__all__ = ["DivergenceError", "SGDLinearRegressor", "SGDLogisticClassifier"]
__version__ = "0.1.0.dev0"
