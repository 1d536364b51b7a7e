"""scikit-learn conformance of every estimator, over several configurations."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier
from sklearn_lrf.schedules import OneCycle, StepDecay


def configurations(Estimator):
    """Instances covering the main code paths of one estimator class, each seeded (or not
    shuffling), so that no check's outcome depends on numpy's global random state, and so on
    the order in which the tests run."""
    return [
        Estimator(random_state=0),
        Estimator(learning_rate=1e-3, random_state=0),
        Estimator(learning_rate=OneCycle(max_lr=0.01, n_steps=30, unit="epoch"), random_state=0),
        Estimator(
            learning_rate=StepDecay(0.003, step_size=30),
            momentum=0.9,
            nesterov=True,
            random_state=0,
        ),
        Estimator(penalty="l1", alpha=1e-3, random_state=0),
        Estimator(penalty="elasticnet", batch_size=4, shuffle=False),
        Estimator(early_stopping=True, random_state=0),
    ]


ESTIMATORS = [
    *configurations(SGDLinearRegressor),
    *configurations(SGDLogisticClassifier),
    SGDLogisticClassifier(class_weight="balanced", random_state=0),
]


def expected_failures(estimator):
    """Checks each configuration is expected to fail, with the reason."""
    params = estimator.get_params()
    failures = {}
    if params["batch_size"] < 30 or params["early_stopping"]:
        reason = (
            "repeating a row puts its copies in other mini-batches (or on the other side of "
            "the early-stopping split) than one weighted row: equal only in expectation"
        )
        failures["check_sample_weight_equivalence_on_dense_data"] = reason
        failures["check_sample_weight_equivalence_on_sparse_data"] = reason
    if params.get("class_weight") == "balanced":
        reason = "repeating rows changes the class counts that 'balanced' weights derive from"
        failures["check_sample_weight_equivalence_on_dense_data"] = reason
        failures["check_sample_weight_equivalence_on_sparse_data"] = reason
    fixed_rate = params["learning_rate"] != "auto"
    if "class_weight" not in params and fixed_rate:
        reason = (
            "the check's features have mean 100: a fixed rate chosen for standardised data "
            "diverges there, and fit rightly raises DivergenceError"
        )
        for check in ("check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in"):
            failures[check] = reason
    if "class_weight" in params and (params["early_stopping"] or fixed_rate):
        failures["check_class_weight_classifiers"] = (
            "on this unscaled problem (cluster_std=20) training needs hundreds of epochs; a "
            "fixed schedule tuned for standardised data, or early stopping on 5 held-out "
            "samples, ends it sooner"
        )
    return failures


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_param_validation(Estimator):
    check_param_validation(Estimator.__name__, Estimator())


@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_dataframe_column_names(Estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(Estimator.__name__, Estimator())
