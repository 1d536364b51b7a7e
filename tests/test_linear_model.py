"""SGDLinearRegressor and SGDLogisticClassifier against independent references."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import DivergenceError, SGDLinearRegressor, SGDLogisticClassifier, _sgd
from sklearn_lrf._losses import SquaredError
from sklearn_lrf.linear_model import _classes_and_codes
from sklearn_lrf.schedules import Constant, ExponentialDecay, ExponentialRamp, InverseScaling

# Full-batch settings: plain gradient descent, which converges to the exact optimum.
FULL_BATCH = dict(batch_size=10_000, max_iter=3000, tol=None, shuffle=False)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:, :8]), y


@pytest.fixture(scope="module")
def multiclass():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- exact optima ----------------------------------------------------------------------------


def test_regressor_reaches_least_squares(regression):
    X, y = regression
    model = SGDLinearRegressor(penalty=None, **FULL_BATCH).fit(X, y)
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, solution[:-1], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, solution[-1:], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_regressor_l2_matches_ridge(regression, momentum, nesterov):
    X, y = regression
    alpha = 0.3
    model = SGDLinearRegressor(
        penalty="l2", alpha=alpha, momentum=momentum, nesterov=nesterov, **FULL_BATCH
    ).fit(X, y)
    # Ours: sum r^2 / (2n) + alpha |w|^2 / 2  <=>  Ridge: sum r^2 + (alpha n) |w|^2.
    reference = Ridge(alpha=alpha * len(X)).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-7)
    np.testing.assert_allclose(model.intercept_[0], reference.intercept_, rtol=1e-7)


def test_regressor_l1_matches_lasso_with_exact_zeros():
    X, y = make_regression(n_samples=100, n_features=8, n_informative=3, noise=1.0, random_state=1)
    X = StandardScaler().fit_transform(X)
    alpha = 5.0
    model = SGDLinearRegressor(penalty="l1", alpha=alpha, **FULL_BATCH).fit(X, y)
    reference = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    assert np.sum(reference.coef_ == 0) >= 3
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)


def test_regressor_elasticnet_matches_sklearn(regression):
    X, y = regression
    model = SGDLinearRegressor(penalty="elasticnet", alpha=2.0, l1_ratio=0.4, **FULL_BATCH).fit(
        X, y
    )
    reference = ElasticNet(alpha=2.0, l1_ratio=0.4, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)


def test_minibatch_sgd_with_decay_gets_close_to_least_squares(regression):
    X, y = regression
    model = SGDLinearRegressor(
        learning_rate=InverseScaling(0.05, power_t=0.5),
        penalty=None,
        batch_size=8,
        max_iter=300,
        tol=None,
        random_state=0,
    ).fit(X, y)
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, solution[:-1], rtol=0.02, atol=0.5)


@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_classifier_matches_logistic_regression(data, request):
    X, y = request.getfixturevalue(data)
    alpha = 0.01
    model = SGDLogisticClassifier(penalty="l2", alpha=alpha, **FULL_BATCH).fit(X, y)
    # Ours: mean log loss + alpha |w|^2 / 2  <=>  LogisticRegression: C sum + |w|^2 / 2.
    reference = LogisticRegression(C=1 / (alpha * len(X)), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(X), rtol=1e-5, atol=1e-8
    )


def test_class_weight_matches_logistic_regression(binary):
    X, y = binary
    alpha = 0.01
    model = SGDLogisticClassifier(alpha=alpha, class_weight="balanced", **FULL_BATCH).fit(X, y)
    # Balanced weights sum to n, so the normalisations agree with C = 1 / (alpha n).
    reference = LogisticRegression(
        C=1 / (alpha * len(X)), class_weight="balanced", tol=1e-12, max_iter=10_000
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5, atol=1e-6)


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.integers(0, 3), min_size=30, max_size=30).filter(lambda w: sum(w) > 5),
    classify=st.booleans(),
)
def test_integer_weights_equal_repeated_rows_in_one_batch(weights, classify):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int) if classify else X @ [1.0, -2.0, 0.5]
    if classify and len(np.unique(y[np.asarray(weights) > 0])) < 2:
        return
    Estimator = SGDLogisticClassifier if classify else SGDLinearRegressor
    params = dict(batch_size=1000, max_iter=40, tol=None, shuffle=False)
    weighted = Estimator(**params).fit(X, y, sample_weight=weights)
    repeated = Estimator(**params).fit(np.repeat(X, weights, 0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-9, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    batch_size=st.integers(1, 64),
    momentum=st.sampled_from([0.0, 0.5]),
)
def test_same_random_state_gives_identical_fits(seed, batch_size, momentum):
    X, y = load_iris(return_X_y=True)
    params = dict(random_state=seed, batch_size=batch_size, momentum=momentum, max_iter=3, tol=None)
    first = SGDLogisticClassifier(**params).fit(X, y)
    second = SGDLogisticClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    np.testing.assert_array_equal(first.loss_curve_, second.loss_curve_)


@settings(max_examples=15, deadline=None)
@given(
    epochs=st.integers(1, 4),
    batch_size=st.integers(3, 40),
    momentum=st.sampled_from([0.0, 0.9]),
    per_epoch=st.booleans(),
)
def test_partial_fit_epochs_equal_fit_epochs(epochs, batch_size, momentum, per_epoch):
    X, y = load_iris(return_X_y=True)
    schedule = ExponentialDecay(0.05, gamma=0.7, unit="epoch" if per_epoch else "batch")
    params = dict(learning_rate=schedule, batch_size=batch_size, momentum=momentum, random_state=3)
    fitted = SGDLogisticClassifier(max_iter=epochs, tol=None, **params).fit(X, y)
    incremental = SGDLogisticClassifier(**params)
    for _ in range(epochs):
        incremental.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(incremental.coef_, fitted.coef_, rtol=1e-12, atol=1e-14)
    assert incremental.t_ == fitted.t_ == epochs * -(-len(X) // batch_size)


# -- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_float32_is_computed_in_float32(Estimator):
    X, y = load_iris(return_X_y=True)
    y = y if Estimator is SGDLogisticClassifier else X[:, 0] * 2 + 1
    params = dict(random_state=0, max_iter=20, tol=None)
    single = Estimator(**params).fit(X.astype(np.float32), y)
    double = Estimator(**params).fit(X, y)
    assert single.coef_.dtype == np.float32
    assert single.intercept_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("to_sparse", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_sparse_input_equals_dense(Estimator, to_sparse):
    X, y = load_iris(return_X_y=True)
    X[X < 1.5] = 0.0
    params = dict(random_state=0, max_iter=5, tol=None, penalty="elasticnet", batch_size=7)
    dense = Estimator(**params).fit(X, y)
    sparse = Estimator(**params).fit(to_sparse(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.predict(to_sparse(X)), dense.predict(X))


def test_pandas_column_names_are_kept():
    pd = pytest.importorskip("pandas")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = SGDLinearRegressor(max_iter=5, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, X.columns)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X.to_numpy())
    assert isinstance(X, pd.DataFrame)


def test_labels_of_any_type_and_consistent_outputs(multiclass):
    X, y = multiclass  # standardised: on raw iris, 30 epochs reach 0.68 to 0.97 by seed
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    model = SGDLogisticClassifier(random_state=0, max_iter=30).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    np.testing.assert_array_equal(model.decision_function(X).argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)
    assert np.mean(model.predict(X) == labels) > 0.9


def test_binary_outputs_are_consistent_and_stable_at_extremes(binary):
    X, y = binary
    model = SGDLogisticClassifier(random_state=0, max_iter=20).fit(X, y)
    scores = model.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(scores > 0).astype(int)])
    log_proba = model.predict_log_proba(X * 1e6)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(np.exp(log_proba).sum(axis=1), 1.0)


# -- learning rates, stopping and errors -----------------------------------------------------


def test_auto_rate_is_inverse_largest_eigenvalue_for_full_batch(regression):
    X, _ = regression
    design = np.column_stack([X, np.ones(len(X))])
    largest = np.linalg.eigvalsh(design.T @ design / len(X))[-1]
    rate = _sgd.auto_learning_rate(X, None, SquaredError, len(X), 0.0, True)
    assert rate == pytest.approx(1 / largest, rel=1e-10)
    per_sample = _sgd.auto_learning_rate(X, None, SquaredError, 1, 0.0, True)
    assert per_sample == pytest.approx(1 / np.max(np.sum(design**2, axis=1)), rel=1e-10)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_default_fit_is_stable_on_unscaled_data(batch_size):
    X, y = load_diabetes(return_X_y=True)
    X = X * 1e4 + 300.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SGDLinearRegressor(batch_size=batch_size, random_state=0).fit(X, y)
    assert np.isfinite(model.coef_).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.score(X, y) > 0.2


def test_divergence_raises_clear_error_and_keeps_model_unfitted():
    X, y = load_diabetes(return_X_y=True)
    model = SGDLinearRegressor(learning_rate=50.0, random_state=0)
    message = r"diverged in epoch \d+ at learning rate 50: .*StandardScaler.*LRFinderSearch"
    with pytest.raises(DivergenceError, match=message) as error:
        model.fit(X * 100, y)
    assert error.value.learning_rate == 50.0
    assert not hasattr(model, "coef_")


def test_finite_but_exploding_loss_is_divergence_not_convergence():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = SGDLinearRegressor(learning_rate=1.0, random_state=0)  # tol stops plateaus
    with pytest.raises(DivergenceError, match=r"the training loss grew to .* times its best"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


def test_failed_refit_leaves_previous_coefficients():
    X, y = load_diabetes(return_X_y=True)
    model = SGDLinearRegressor(random_state=0, max_iter=5, tol=None).fit(X, y)
    before = model.coef_.copy()
    model.set_params(learning_rate=1e6, warm_start=True)
    with pytest.raises(DivergenceError):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, before)


def test_nesterov_requires_momentum(regression):
    with pytest.raises(ValueError, match="nesterov=True requires momentum > 0"):
        SGDLinearRegressor(nesterov=True).fit(*regression)


def test_convergence_warning_when_max_iter_is_reached(regression):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        SGDLinearRegressor(max_iter=2, tol=1e-12).fit(*regression)


def test_tol_stops_training(regression):
    model = SGDLinearRegressor(max_iter=1000, tol=1e-3, random_state=0).fit(*regression)
    assert model.n_iter_ < 1000
    assert len(model.loss_curve_) == model.n_iter_


def test_early_stopping_records_validation_scores(multiclass):
    X, y = multiclass
    model = SGDLogisticClassifier(
        early_stopping=True, validation_fraction=0.2, max_iter=500, random_state=0
    ).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ < 500
    assert max(model.validation_scores_) > 0.85
    assert not hasattr(SGDLogisticClassifier(max_iter=3).fit(X, y), "validation_scores_")


def test_warm_start_continues_from_previous_solution(regression):
    X, y = regression
    params = dict(random_state=0, max_iter=3, tol=None, learning_rate=0.01)
    cold = SGDLinearRegressor(**params).fit(X, y)
    warm = SGDLinearRegressor(warm_start=True, **params).fit(X, y).fit(X, y)
    assert warm.loss_curve_[0] < cold.loss_curve_[-1]


def test_learning_rate_float_and_schedule_are_recorded(regression):
    X, y = regression
    recorded = SGDLinearRegressor(learning_rate=0.02, max_iter=2).fit(X, y).learning_rate_
    assert isinstance(recorded, Constant) and recorded.lr == 0.02
    schedule = ExponentialDecay(0.02)
    model = SGDLinearRegressor(learning_rate=schedule, max_iter=2).fit(X, y)
    assert model.learning_rate_ is not schedule
    assert model.learning_rate_.get_params() == schedule.get_params()


def test_partial_fit_errors(multiclass):
    X, y = multiclass
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        SGDLogisticClassifier().partial_fit(X, y)
    model = SGDLogisticClassifier().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=re.escape("labels not in classes_ [0, 1]: [2]")):
        model.partial_fit(X, y)
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as error:
        SGDLogisticClassifier(class_weight="balanced").partial_fit
    assert "compute_class_weight" in str(error.value.__cause__)


def test_single_weighted_class_is_rejected(binary):
    X, y = binary
    with pytest.raises(ValueError, match=r"1 class\(es\) have positive weight"):
        SGDLogisticClassifier().fit(X, y, sample_weight=(y == 1).astype(float))


def test_verbose_prints_one_line_per_epoch(regression, capsys):
    SGDLinearRegressor(verbose=1, max_iter=3, tol=None).fit(*regression)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("-- Epoch 1: loss")


def test_fitted_model_pickles(multiclass):
    model = SGDLogisticClassifier(random_state=0, max_iter=5).fit(*multiclass)
    restored = pickle.loads(pickle.dumps(model))
    X = multiclass[0]
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


# -- the training loop's observer ----------------------------------------------------------


def test_observer_sees_each_update_and_can_stop(regression):
    X, y = regression
    schedule = ExponentialRamp(1e-4, 1.0, n_steps=50)
    params = _sgd.Parameters(coef=np.zeros((X.shape[1], 1)), intercept=np.zeros(1))
    settings_ = _sgd.Settings(loss=SquaredError, schedule=schedule, batch_size=10, shuffle=False)
    seen, snapshots = [], []

    def observer(step, rate, loss, current):
        seen.append((step, rate, loss))
        snapshots.append((current.coef.copy(), current.intercept.copy()))
        return step == 20

    log = _sgd.train(
        X,
        y[:, None],
        None,
        params,
        settings_,
        max_epochs=10,
        rng=np.random.RandomState(0),
        observer=observer,
    )
    assert log.stopped_by_observer and params.n_updates == 21
    steps, rates, losses = map(np.array, zip(*seen, strict=True))
    np.testing.assert_array_equal(steps, np.arange(21))
    np.testing.assert_allclose(rates, schedule(np.arange(21)))
    # The loss reported at a step is its batch's mean loss under the weights before the update.
    for step in (1, 13, 20):
        coef, intercept = snapshots[step - 1]
        rows = slice(10 * (step % 12), 10 * (step % 12) + 10)
        expected = 0.5 * np.mean((X[rows] @ coef[:, 0] + intercept[0] - y[rows]) ** 2)
        assert losses[step] == pytest.approx(expected, rel=1e-12)


def test_plateaus_divide_the_rate_then_stop(regression):
    X, y = regression
    params = _sgd.Parameters(coef=np.zeros((X.shape[1], 1)), intercept=np.zeros(1))
    settings_ = _sgd.Settings(loss=SquaredError, schedule=Constant(0.05), batch_size=4)
    rates = []
    log = _sgd.train(
        X,
        y[:, None],
        None,
        params,
        settings_,
        max_epochs=1000,
        rng=np.random.RandomState(0),
        tol=1e-2,
        n_iter_no_change=3,
        plateau_reductions=2,
        observer=lambda step, rate, loss, current: rates.append(rate),
    )
    assert log.converged and log.rate_reductions == 2
    np.testing.assert_allclose(np.unique(rates), [0.05 / 25, 0.05 / 5, 0.05])


def test_default_regressor_scores_like_least_squares_under_cross_validation():
    X, y = load_diabetes(return_X_y=True)
    ours = cross_val_score(
        make_pipeline(StandardScaler(), SGDLinearRegressor(random_state=0)), X, y, cv=5
    )
    reference = cross_val_score(LinearRegression(), X, y, cv=5)
    assert abs(ours.mean() - reference.mean()) < 0.01


def test_partial_fit_calls_share_the_divergence_check():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = SGDLinearRegressor(learning_rate=0.7, random_state=0)
    with pytest.raises(DivergenceError, match="grew to"):
        for _ in range(10):
            model.partial_fit(X, y)
    assert np.isfinite(model.coef_).all() and np.abs(model.coef_).max() < 1e8


@settings(max_examples=200, deadline=None)
@given(
    dtype=st.sampled_from(["int8", "uint8", "int16", "int32", "int64", "uint32", "uint64"]),
    data=st.data(),
)
def test_classes_and_codes_equal_numpy_unique(dtype, data):
    """The counting path (integers in a range no wider than the data) and the fallback give
    np.unique's classes, dtype and inverse, at the dtype's extremes too."""
    info = np.iinfo(dtype)
    low = data.draw(st.integers(int(info.min), int(info.max)))
    width = data.draw(st.sampled_from([1, 3, 50, int(info.max) - int(info.min) + 1]))
    high = min(int(info.max), low + width - 1)
    values = data.draw(st.lists(st.integers(low, high), min_size=1, max_size=60))
    y = np.array(values, dtype=dtype)
    classes, codes = _classes_and_codes(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(codes, expected_codes)
