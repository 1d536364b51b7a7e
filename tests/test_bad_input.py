"""Bad and edge inputs at every public entry point: a clear error that says what was wrong
(and names the mini-batch of a stream), or a correct result; never NaN, never a mutated
estimator. The command line's cases are in test_cli.py."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test


@pytest.fixture(scope="module")
def regression():
    return make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=5, random_state=0)


def batches(X, y, n=60, size=16):
    """``n`` mini-batches of ``size`` rows cycling through ``(X, y)``, as a list to edit."""
    starts = [(i * size) % (len(X) - size) for i in range(n)]
    return [(X[s : s + size], y[s : s + size]) for s in starts]


def replace_batch(stream, index, X=None, y=None):
    X_old, y_old = stream[index]
    stream[index] = (X_old if X is None else X, y_old if y is None else y)
    return stream


# -- streams of mini-batches: each batch is checked as partial_fit would check it ------------


@pytest.mark.parametrize("estimator", [SGDLinearRegressor(), MLPRegressor(solver="sgd")])
def test_stream_batch_with_fewer_targets_than_rows_is_named(regression, estimator):
    X, y = regression
    stream = batches(X, y)
    replace_batch(stream, 3, y=stream[3][1][:10])
    with pytest.raises(ValueError, match=r"Mini-batch 3 is invalid: .*inconsistent.*\[16, 10\]"):
        lr_range_test(estimator, iter(stream), n_steps=40)


@pytest.mark.parametrize(
    "where, value, message",
    [("X", np.nan, "Input X contains NaN"), ("y", np.inf, "Input y contains infinity")],
)
def test_stream_non_finite_batch_is_an_error_not_a_divergence(regression, where, value, message):
    X, y = regression
    stream = batches(X, y)
    X_bad, y_bad = stream[30][0].copy(), stream[30][1].copy()
    (X_bad[2] if where == "X" else y_bad)[1] = value
    replace_batch(stream, 30, X_bad, y_bad)
    with pytest.raises(ValueError, match=f"Mini-batch 30 is invalid: {message}"):
        lr_range_test(SGDLinearRegressor(), iter(stream), n_steps=40)


# fit checks X for NaN and infinity only when training comes out non-finite (a pass over X
# saved): every such value, wherever it lies and however the fit is set up, must still end in
# scikit-learn's error, with the estimator untouched.
FIT_SETUPS = {
    "auto rate": {},
    "constant rate": {"learning_rate": 1e-3},
    "zero weight on the bad row": {"learning_rate": 1e-3},
    "early stopping": {"early_stopping": True, "validation_fraction": 0.5},
    "momentum, one batch": {"momentum": 0.9, "batch_size": 1000},
    "partial_fit": {"learning_rate": 1e-3},
}


@pytest.mark.parametrize(
    "value, message", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
@pytest.mark.parametrize("layout", ["dense", "sparse", "float32"])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_fit_finds_a_non_finite_x_wherever_it_lies(task, layout, value, message):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = X[:, 0] if task == "regression" else np.arange(60) % (2 if task == "binary" else 3)
    Estimator = SGDLinearRegressor if task == "regression" else SGDLogisticClassifier
    for row in (0, 31, 59):
        for column in (0, 3):
            X_bad = X.copy()
            X_bad[row, column] = value
            X_bad = sp.csr_matrix(X_bad) if layout == "sparse" else X_bad
            X_bad = X_bad.astype(np.float32) if layout == "float32" else X_bad
            for setup, params in FIT_SETUPS.items():
                estimator = Estimator(random_state=0, max_iter=2, tol=None, **params)
                weights = None
                if setup == "zero weight on the bad row":
                    weights = np.ones(60)
                    weights[row] = 0.0
                fit = estimator.partial_fit if setup == "partial_fit" else estimator.fit
                extra = (
                    {"classes": np.unique(y)}
                    if setup == "partial_fit" and task != "regression"
                    else {}
                )
                with pytest.raises(ValueError, match=f"Input X contains {message}"):
                    fit(X_bad, y, sample_weight=weights, **extra)
                assert not hasattr(estimator, "coef_"), (setup, row, column)


def test_stream_batches_must_keep_their_width(regression):
    X, y = regression
    stream = batches(X, y)
    replace_batch(stream, 7, X=np.hstack([stream[7][0], stream[7][0][:, :1]]))
    with pytest.raises(ValueError, match="Mini-batch 7 has 6 features, but mini-batch 0 has 5"):
        lr_range_test(SGDLinearRegressor(), iter(stream), n_steps=40)


def test_validation_data_must_have_the_training_width(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Mini-batch 0 has 5 features, but the validation data"):
        lr_range_test(SGDLinearRegressor(), iter(batches(X, y)), validation=(X[:, :3], y))
    with pytest.raises(ValueError, match="The validation data has 3 features, but the training"):
        lr_range_test(SGDLinearRegressor(), X, y, validation=(X[:, :3], y))


@pytest.mark.parametrize(
    "stream, message",
    [
        (lambda X, y: [X[i : i + 16] for i in range(0, 200, 16)], "Mini-batch 0 is a ndarray"),
        (lambda X, y: [(X[:16], y[:16], y[:16], y[:16])] * 50, "tuple of length 4, not an"),
    ],
)
def test_stream_items_must_be_pairs(regression, stream, message):
    with pytest.raises(TypeError, match=message):
        lr_range_test(SGDLinearRegressor(), iter(stream(*regression)), n_steps=40)


def test_stream_empty_batch_is_named(regression):
    X, y = regression
    stream = replace_batch(batches(X, y), 2, X[:0], y[:0])
    with pytest.raises(ValueError, match="Mini-batch 2 is invalid: Found array with 0 sample"):
        lr_range_test(SGDLinearRegressor(), iter(stream), n_steps=40)


def test_x_that_is_neither_data_nor_iterable():
    with pytest.raises(TypeError, match="iterable of \\(X_batch, y_batch\\) mini-batches; got int"):
        lr_range_test(SGDLinearRegressor(), 5)


@pytest.mark.parametrize("estimator", [SGDLogisticClassifier(), SGDClassifier(loss="log_loss")])
def test_stream_labels_must_be_within_classes(binary, estimator):
    X, y = binary
    stream = batches(X, y)
    replace_batch(stream, 5, y=stream[5][1] + 5)
    with pytest.raises(ValueError, match=r"Mini-batch 5 holds labels not in classes \[0, 1\]"):
        lr_range_test(estimator, iter(stream), n_steps=40, classes=[0, 1])
    with pytest.raises(ValueError, match="The validation data holds labels not in classes"):
        lr_range_test(estimator, X, y, validation=(X[:10], y[:10] + 7))
    with pytest.raises(ValueError, match=r"y holds labels not in classes \[0\]: \[1\]"):
        lr_range_test(estimator, X, y, classes=[0])


def test_validation_must_be_a_pair(regression):
    X, y = regression
    with pytest.raises(TypeError, match="The validation data is a tuple of length 1"):
        lr_range_test(SGDLinearRegressor(), X, y, validation=(X[:10],))


# -- what the finder accepts -----------------------------------------------------------------


def test_estimator_given_as_a_string_is_a_parameter_error(regression):
    with pytest.raises(InvalidParameterError, match="'estimator' parameter of lr_range_test"):
        lr_range_test("SGDLinearRegressor", *regression)


def test_lbfgs_mlp_is_refused(regression):
    with pytest.raises(ValueError, match="solver='lbfgs'.*no learning rate.*'sgd' or 'adam'"):
        lr_range_test(MLPRegressor(solver="lbfgs"), *regression)


def test_ramp_divergence_is_counted_in_ramp_steps(regression):
    """Every ramp step is one call of the training loop: its epoch count must not leak, and a
    step whose training fails is named by its place in the ramp."""
    X, y = regression
    hard = lr_range_test(
        SGDLinearRegressor(), X * 1000, y, min_lr=1e-12, max_lr=1e6, n_steps=60, random_state=0
    )
    assert hard.stop_reason.startswith("diverged at learning rate")
    assert "epoch" not in hard.stop_reason

    class FailsOnTheFifthStep(SGDRegressor):
        def partial_fit(self, X, y, sample_weight=None):
            self.calls_ = getattr(self, "calls_", 0) + 1
            if self.calls_ == 5:
                raise FloatingPointError("overflow in the update")
            return super().partial_fit(X, y, sample_weight=sample_weight)

    failed = lr_range_test(FailsOnTheFifthStep(), X, y, n_steps=30, random_state=0)
    assert failed.stop_reason.startswith("training failed at learning rate")
    assert "(ramp step 5): overflow in the update" in failed.stop_reason


def test_one_step_pipeline_works_like_its_estimator(regression):
    X, y = regression
    alone = lr_range_test(SGDLinearRegressor(), X, y, random_state=0)
    piped = lr_range_test(make_pipeline(SGDLinearRegressor()), X, y, random_state=0)
    np.testing.assert_array_equal(alone.losses, piped.losses)
    search = LRFinderSearch(make_pipeline(SGDLinearRegressor()), random_state=0).fit(X, y)
    assert search.best_lr_ == alone.best_lr


@pytest.mark.parametrize(
    "estimator", [SGDLogisticClassifier(), SGDClassifier(loss="log_loss"), MLPClassifier()]
)
def test_search_folds_that_miss_a_class_know_every_class(estimator):
    """KFold(3) on sorted iris: each training fold lacks one class, each test fold holds only
    that class; the folds take their classes from the whole y, as the refit does."""
    X, y = load_iris(return_X_y=True)
    search = LRFinderSearch(estimator, cv=KFold(3), n_steps=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the MLP's convergence warnings
        search.fit(X, y)
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    assert all(np.isfinite(result.losses).any() for result in search.fold_range_tests_)


# -- the estimators --------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_auto_rate_on_overflowing_features_says_what_to_do(binary, Estimator):
    X, y = binary
    message = "overflow.*learning_rate='auto'.*largest \\|X\\|.*Scale"
    with pytest.raises(ValueError, match=message):
        Estimator().fit(X * 1e200, y)
    with pytest.raises(ValueError, match=message + ".*min_lr and max_lr"):  # the ramp's ends
        lr_range_test(Estimator(), X * 1e200, y)


def test_classes_weighted_to_zero_are_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match=r"0 class\(es\) have positive weight"):
        SGDLogisticClassifier(class_weight={0: 0, 1: 0}).fit(X, y)
    with pytest.raises(ValueError, match=r"1 class\(es\) have positive weight \(\[1\]\)"):
        SGDLogisticClassifier(class_weight={0: 0, 1: 1}).fit(X, y)
    with pytest.raises(ValueError, match="Every sample of this partial_fit call has zero weight"):
        SGDLogisticClassifier(class_weight={0: 0, 1: 1}).partial_fit(
            X[y == 0], y[y == 0], classes=[0, 1]
        )


def test_warm_start_with_another_width_names_both(regression):
    X, y = regression
    model = SGDLinearRegressor(warm_start=True, random_state=0).fit(X[:, :3], y)
    with pytest.raises(ValueError, match="X has 4 features .* fitted with 3 features"):
        model.fit(X[:, :4], y)
    assert model.n_features_in_ == 3 and model.coef_.shape == (3,)


@pytest.mark.parametrize(
    "bad_fit",
    [
        lambda model, X, y: model.fit(X, np.zeros_like(y)),  # one class
        lambda model, X, y: model.fit(X[:, :3], y),  # rejected later by warm_start
        lambda model, X, y: model.fit(X, np.where(y == 1, "b", "a"), sample_weight=y * 1.0),
        lambda model, X, y: model.set_params(learning_rate=1e6, warm_start=False).fit(X * 1e3, y),
    ],
)
def test_a_failed_fit_leaves_the_fitted_estimator_as_it_was(binary, bad_fit):
    X, y = binary
    model = SGDLogisticClassifier(warm_start=True, random_state=0).fit(X, y)
    before = {name: value for name, value in vars(model).items() if name.endswith("_")}
    predictions = model.predict(X)
    with pytest.raises((ValueError, FloatingPointError)):  # DivergenceError is the latter
        bad_fit(model, X, y)
    np.testing.assert_array_equal(model.predict(X), predictions)
    for name, value in before.items():
        assert getattr(model, name) is value, name


def test_an_unfitted_estimator_stays_unfitted_after_a_failed_fit(binary):
    X, y = binary
    model = SGDLogisticClassifier()
    with pytest.raises(ValueError):
        model.fit(X, np.zeros_like(y))
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert vars(model) == vars(clone(model))
