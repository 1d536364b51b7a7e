"""Sample and class weights shape the range test's curve, the pick and the refit exactly as
they shape ``fit``: checked against weighted gradient descent written by hand, against the
same weights given the other way, and against repeated rows."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test

NO_INTERCEPT = SGDLinearRegressor(penalty=None, fit_intercept=False)


@pytest.fixture(scope="module")
def weighted_quadratic():
    rng = np.random.RandomState(0)
    X = StandardScaler().fit_transform(rng.normal(size=(60, 3)))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=60)
    weights = rng.uniform(0.0, 3.0, size=60)
    return X, y, weights


@pytest.fixture(scope="module")
def imbalanced():
    """99:1 binary data, the case where class_weight matters most."""
    X, y = make_classification(
        n_samples=2000, n_features=6, weights=[0.99], flip_y=0, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def weighted_gd(X, y, w, rates):
    """Full-batch gradient descent on sum_i w_i r_i^2 / (2 sum_i w_i); loss after each step."""
    w = w / w.mean()
    coef, losses = np.zeros(X.shape[1]), []
    for rate in rates:
        coef = coef - rate * X.T @ (w * (X @ coef - y)) / len(X)
        losses.append(0.5 * np.average((X @ coef - y) ** 2, weights=w))
    return np.array(losses)


def test_weighted_ramp_is_weighted_gradient_descent(weighted_quadratic):
    X, y, w = weighted_quadratic
    params = dict(
        min_lr=1e-3, max_lr=1.0, n_steps=30, extend_decades=0, batch_size=len(X), random_state=0
    )
    result = lr_range_test(NO_INTERCEPT, X, y, sample_weight=w, **params)
    rates = np.geomspace(1e-3, 1.0, 30)
    np.testing.assert_allclose(result.losses, weighted_gd(X, y, w, rates), rtol=1e-9)
    unweighted = lr_range_test(NO_INTERCEPT, X, y, **params)
    assert not np.allclose(unweighted.losses, result.losses, rtol=1e-3)


def test_stream_triples_and_weighted_validation_equal_arrays(weighted_quadratic):
    X, y, w = weighted_quadratic
    params = dict(min_lr=1e-3, max_lr=1.0, n_steps=30, extend_decades=0, random_state=0)
    arrays = lr_range_test(
        NO_INTERCEPT, X, y, sample_weight=w, batch_size=len(X), validation=(X, y, w), **params
    )
    stream = lr_range_test(
        NO_INTERCEPT, ((X, y, w) for _ in range(31)), batch_size=len(X), **params
    )
    np.testing.assert_allclose(stream.losses, arrays.losses, rtol=1e-9)
    np.testing.assert_allclose(
        arrays.losses, weighted_gd(X, y, w, np.geomspace(1e-3, 1.0, 30)), rtol=1e-9
    )


def test_weights_scale_each_update_as_the_estimators_fit_does(weighted_quadratic):
    """scikit-learn's SGD multiplies each update by the weight as given, so weights of 10 are a
    rate 10 times larger, and the ramp must say so (its refit will use them as given); ours
    rescale the weights to mean 1, so their scale changes nothing."""
    X, y, w = weighted_quadratic
    sgd = SGDRegressor(penalty=None, random_state=0)
    ramp = dict(n_steps=31, extend_decades=0, random_state=0)
    tenfold = lr_range_test(sgd, X, y, sample_weight=10 * w, min_lr=1e-5, max_lr=1e-2, **ramp)
    plain = lr_range_test(sgd, X, y, sample_weight=w, min_lr=1e-4, max_lr=1e-1, **ramp)
    n = min(len(tenfold.losses), len(plain.losses))
    assert n > 10
    np.testing.assert_allclose(tenfold.losses[:n], plain.losses[:n], rtol=1e-9)
    ramp.update(min_lr=1e-3, max_lr=1.0)
    ours_tenfold = lr_range_test(NO_INTERCEPT, X, y, sample_weight=10 * w, **ramp)
    ours = lr_range_test(NO_INTERCEPT, X, y, sample_weight=w, **ramp)
    np.testing.assert_allclose(ours_tenfold.losses, ours.losses, rtol=1e-12)


def test_search_refits_weighted_sklearn_sgd_at_the_rate_its_ramp_measured(weighted_quadratic):
    X, y, w = weighted_quadratic
    sgd = SGDRegressor(penalty=None, random_state=0, max_iter=5, tol=None)
    searches = [
        LRFinderSearch(sgd, n_steps=60, random_state=0).fit(X, y, sample_weight=scale * w)
        for scale in (1.0, 10.0)
    ]
    assert searches[1].best_lr_ == pytest.approx(searches[0].best_lr_ / 10, rel=0.2)
    np.testing.assert_allclose(
        searches[1].best_estimator_.coef_, searches[0].best_estimator_.coef_, rtol=0.05
    )


def test_integer_weights_equal_repeated_rows_on_full_batches(weighted_quadratic):
    X, y, _ = weighted_quadratic
    counts = np.arange(len(X)) % 3 + 1
    params = dict(min_lr=1e-3, max_lr=1.0, n_steps=25, random_state=0)
    weighted = lr_range_test(NO_INTERCEPT, X, y, sample_weight=counts, batch_size=len(X), **params)
    X_rep, y_rep = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    repeated = lr_range_test(NO_INTERCEPT, X_rep, y_rep, batch_size=len(X_rep), **params)
    np.testing.assert_allclose(weighted.losses, repeated.losses, rtol=1e-9)


@pytest.mark.parametrize(
    "estimator",
    [
        SGDLogisticClassifier(random_state=0),
        SGDClassifier(loss="log_loss", random_state=0),
    ],
    ids=["SGDLogisticClassifier", "SGDClassifier"],
)
def test_class_weight_shapes_the_curve_like_the_same_sample_weight(imbalanced, estimator):
    X, y = imbalanced
    params = dict(n_steps=40, random_state=0)
    plain = lr_range_test(estimator, X, y, **params)
    balanced = lr_range_test(estimator.set_params(class_weight="balanced"), X, y, **params)
    explicit = lr_range_test(
        estimator.set_params(class_weight=None),
        X,
        y,
        sample_weight=compute_sample_weight("balanced", y),
        **params,
    )
    n = min(len(plain.losses), len(balanced.losses))
    assert not np.allclose(plain.losses[:n], balanced.losses[:n], rtol=1e-2)
    np.testing.assert_allclose(balanced.losses, explicit.losses, rtol=1e-7)


def test_class_weight_dict_counts_in_streams_and_balanced_is_refused(imbalanced):
    X, y = imbalanced
    stream = [(X[i : i + 50], y[i : i + 50]) for i in range(0, 2000, 50)]
    params = dict(n_steps=38, extend_decades=0, classes=[0, 1], random_state=0)
    weighted = lr_range_test(SGDLogisticClassifier(class_weight={1: 20.0}), iter(stream), **params)
    explicit = lr_range_test(
        SGDLogisticClassifier(),
        iter([(Xb, yb, np.where(yb == 1, 20.0, 1.0)) for Xb, yb in stream]),
        **params,
    )
    np.testing.assert_allclose(weighted.losses, explicit.losses, rtol=1e-9)
    with pytest.raises(ValueError, match="class_weight='balanced' needs all the labels"):
        lr_range_test(SGDLogisticClassifier(class_weight="balanced"), iter(stream), **params)


def test_zero_and_bad_weights_are_refused(weighted_quadratic):
    X, y, w = weighted_quadratic
    with pytest.raises(ValueError, match="Negative values"):
        lr_range_test(NO_INTERCEPT, X, y, sample_weight=-w)
    with pytest.raises(ValueError, match="expected \\(60,\\)"):
        lr_range_test(NO_INTERCEPT, X, y, sample_weight=w[:10])
    zero = "The validation data (has zero weight|is invalid: Sample weights must contain)"
    with pytest.raises(ValueError, match=zero):  # the latter from scikit-learn >= 1.7
        lr_range_test(NO_INTERCEPT, X, y, validation=(X, y, 0 * w))
    labels = (y > 0).astype(int)
    with pytest.raises(ValueError, match="Every sample of the ramp's training data has zero"):
        lr_range_test(SGDLogisticClassifier(class_weight={0: 0, 1: 0}), X, labels)
    with pytest.raises(ValueError, match="sample_weight goes with arrays"):
        lr_range_test(NO_INTERCEPT, iter([(X, y)] * 200), sample_weight=w)


def test_search_passes_weights_to_the_ramp_and_the_refit(imbalanced):
    X, y = imbalanced
    weights = compute_sample_weight("balanced", y)
    estimator = SGDLogisticClassifier(random_state=0, max_iter=20, tol=None)
    search = LRFinderSearch(estimator, n_steps=40, random_state=0).fit(X, y, sample_weight=weights)
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)  # what the search draws
    expected = lr_range_test(estimator, X, y, sample_weight=weights, n_steps=40, random_state=seed)
    np.testing.assert_array_equal(search.range_test_.losses, expected.losses)
    assert search.best_lr_ == expected.best_lr
    refit = clone(estimator).set_params(learning_rate=search.best_lr_)
    refit.fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(search.best_estimator_.coef_, refit.coef_)


def test_search_weights_reach_a_pipeline_and_every_fold(imbalanced):
    X, y = imbalanced
    weights = compute_sample_weight("balanced", y)
    pipe = make_pipeline(StandardScaler(), SGDLogisticClassifier(random_state=0, max_iter=5))
    search = LRFinderSearch(pipe, cv=3, n_steps=30, random_state=0)
    search.fit(X, y, sample_weight=weights)
    plain = clone(search).fit(X, y)
    for weighted_fold, plain_fold in zip(
        search.fold_range_tests_, plain.fold_range_tests_, strict=True
    ):
        n = min(len(weighted_fold.losses), len(plain_fold.losses))
        assert not np.allclose(weighted_fold.losses[:n], plain_fold.losses[:n], rtol=1e-2)
    refit = clone(pipe).set_params(sgdlogisticclassifier__learning_rate=search.best_lr_)
    refit.fit(X, y, sgdlogisticclassifier__sample_weight=weights)
    np.testing.assert_array_equal(search.best_estimator_[-1].coef_, refit[-1].coef_)


def test_metadata_routing_sends_weights_where_requested(imbalanced):
    X, y = imbalanced
    weights = compute_sample_weight("balanced", y)
    with config_context(enable_metadata_routing=True):
        estimator = SGDLogisticClassifier(random_state=0, max_iter=5)
        search = LRFinderSearch(
            estimator.set_fit_request(sample_weight=True), n_steps=30, random_state=0
        )
        scores = cross_validate(search, X, y, cv=2, params={"sample_weight": weights})
        assert np.isfinite(scores["test_score"]).all()
        search.set_params(random_state=0).fit(X, y, sample_weight=weights)
        unrequested = LRFinderSearch(
            SGDLogisticClassifier(random_state=0, max_iter=5), n_steps=30, random_state=0
        )
        with pytest.raises(ValueError, match="sample_weight"):  # not requested: an error
            unrequested.fit(X, y, sample_weight=weights)
    without_routing = clone(search).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(search.range_test_.losses, without_routing.range_test_.losses)
    np.testing.assert_array_equal(
        search.best_estimator_.coef_, without_routing.best_estimator_.coef_
    )


def test_routed_weights_reach_the_fold_scores(imbalanced):
    X, y = imbalanced
    weights = compute_sample_weight("balanced", y)
    with config_context(enable_metadata_routing=True):
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        estimator = SGDLogisticClassifier(random_state=0, max_iter=5).set_fit_request(
            sample_weight=False
        )
        search = LRFinderSearch(estimator, cv=3, scoring=scorer, n_steps=30, random_state=0)
        search.fit(X, y, sample_weight=weights)
        folds = list(StratifiedKFold(3).split(X, y))
        model = clone(estimator).set_params(**search.best_params_)
        expected = [
            accuracy_score(
                y[test],
                clone(model).fit(X[train], y[train]).predict(X[test]),
                sample_weight=weights[test],
            )
            for train, test in folds
        ]
    scores = [search.cv_results_[f"split{k}_test_score"][0] for k in range(3)]
    np.testing.assert_allclose(scores, expected)
