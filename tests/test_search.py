"""LRFinderSearch: the pick, the refit, folds, parallelism and scikit-learn conformance."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    parametrize_with_checks,
)

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier
from sklearn_lrf.schedules import OneCycle


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_best_lr_is_the_rule_pick_and_the_refit_uses_it(diabetes):
    X, y = diabetes
    search = LRFinderSearch(SGDLinearRegressor(random_state=0), rule="minimum", random_state=0)
    search.fit(X, y)
    assert (
        search.best_lr_
        == search.range_test_.suggestions["minimum"]
        == search.suggestions_["minimum"]
    )
    assert search.best_estimator_.learning_rate == search.best_lr_
    reference = SGDLinearRegressor(random_state=0, learning_rate=search.best_lr_).fit(X, y)
    np.testing.assert_allclose(search.predict(X), reference.predict(X))
    assert search.score(X, y) == pytest.approx(reference.score(X, y))
    assert search.range_test_time_ > 0 and search.refit_time_ > 0
    assert search.fold_range_tests_ is None


def test_folds_aggregate_with_the_median_on_a_log_scale(diabetes):
    X, y = diabetes
    search = LRFinderSearch(SGDLinearRegressor(random_state=0), cv=3, random_state=0).fit(X, y)
    assert len(search.fold_range_tests_) == 3
    picks = [fold.best_lr for fold in search.fold_range_tests_]
    assert search.best_lr_ == pytest.approx(np.exp(np.median(np.log(picks))))
    assert all("validation set" in fold.loss_name for fold in search.fold_range_tests_)


def test_parallel_folds_equal_sequential(diabetes):
    X, y = diabetes
    params = dict(cv=4, random_state=0)
    sequential = LRFinderSearch(SGDLinearRegressor(random_state=0), n_jobs=1, **params).fit(X, y)
    parallel = LRFinderSearch(SGDLinearRegressor(random_state=0), n_jobs=2, **params).fit(X, y)
    assert parallel.best_lr_ == sequential.best_lr_
    for a, b in zip(parallel.fold_range_tests_, sequential.fold_range_tests_, strict=True):
        np.testing.assert_array_equal(a.losses, b.losses)


def test_dask_backend_gives_the_same_result(diabetes):
    distributed = pytest.importorskip("dask.distributed")
    X, y = diabetes
    params = dict(cv=3, random_state=0)
    expected = LRFinderSearch(SGDLinearRegressor(random_state=0), **params).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = LRFinderSearch(SGDLinearRegressor(random_state=0), n_jobs=-1, **params)
        on_dask.fit(X, y)
    assert on_dask.best_lr_ == expected.best_lr_
    np.testing.assert_array_equal(on_dask.best_estimator_.coef_, expected.best_estimator_.coef_)


def test_refit_schedule_peaks_at_best_lr(diabetes):
    X, y = diabetes
    schedule = OneCycle(max_lr=1.0, n_steps=20, unit="epoch")
    search = LRFinderSearch(
        SGDLinearRegressor(max_iter=20, tol=None, random_state=0),
        refit_schedule=schedule,
        random_state=0,
    ).fit(X, y)
    refit = search.best_estimator_.learning_rate
    assert isinstance(refit, OneCycle) and refit.max_lr == pytest.approx(search.best_lr_)
    assert schedule.max_lr == 1.0
    with pytest.raises(ValueError, match="refit_schedule needs"):
        LRFinderSearch(SGDRegressor(), refit_schedule=schedule).fit(X, y)


def test_scikit_learn_estimators_get_their_own_rate_parameter(diabetes):
    X, y = diabetes
    search = LRFinderSearch(SGDRegressor(random_state=0), random_state=0).fit(X, y)
    assert search.best_estimator_.eta0 == search.best_lr_
    assert not hasattr(search, "predict_proba")
    Xc, yc = load_breast_cancer(return_X_y=True)
    mlp = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), random_state=0))
    search = LRFinderSearch(mlp, n_steps=60, random_state=0).fit(Xc, yc)
    assert search.best_estimator_[-1].learning_rate_init == search.best_lr_
    np.testing.assert_array_equal(search.classes_, [0, 1])
    assert search.predict_proba(Xc).shape == (len(Xc), 2)
    sgd = LRFinderSearch(SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    assert (
        sgd.fit(StandardScaler().fit_transform(Xc), yc).score(
            StandardScaler().fit_transform(Xc), yc
        )
        > 0.95
    )


def test_inside_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    search = LRFinderSearch(SGDLogisticClassifier(random_state=0), random_state=0)
    pipe = make_pipeline(StandardScaler(), search)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    grid = GridSearchCV(pipe, {"lrfindersearch__estimator__alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert grid.best_estimator_[-1].best_lr_ > 0
    assert grid.predict_proba(X).shape == (150, 3)


def test_validation_and_cv_are_exclusive(diabetes):
    search = LRFinderSearch(SGDLinearRegressor(), cv=3, validation=0.2)
    with pytest.raises(ValueError, match="validation and cv cannot be combined"):
        search.fit(*diabetes)


def test_unusable_curve_raises_with_advice(diabetes):
    X, y = diabetes
    search = LRFinderSearch(SGDLinearRegressor(), min_lr=1e3, max_lr=1e6)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="could not suggest"):
        search.fit(X * 1e3, y)


def test_dataframe_column_names():
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(
        "LRFinderSearch", LRFinderSearch(SGDLinearRegressor(), n_steps=20)
    )


@parametrize_with_checks(
    [
        # Seeded: an unseeded search draws its ramps from numpy's global random state, which
        # depends on what ran before (a check on 40 samples can then pick an unusable curve).
        LRFinderSearch(SGDLinearRegressor(random_state=0), n_steps=20, random_state=0),
        LRFinderSearch(SGDLogisticClassifier(random_state=0), n_steps=20, cv=2, random_state=0),
        LRFinderSearch(
            SGDLinearRegressor(random_state=0), n_steps=20, race=(1 / 3, 1, 3), random_state=0
        ),
        LRFinderSearch(
            SGDLogisticClassifier(random_state=0), n_steps=20, race=(1, 3), cv=2, random_state=0
        ),
    ],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# -- GridSearchCV's contract ----------------------------------------------------------------


def test_best_params_reproduce_the_refit_inside_a_pipeline(diabetes):
    X, y = diabetes
    for final in (SGDLinearRegressor(random_state=0), SGDRegressor(random_state=0)):
        pipe = make_pipeline(StandardScaler(), final)
        search = LRFinderSearch(pipe, random_state=0).fit(X, y)
        assert search.best_index_ == 0
        rebuilt = clone(pipe).set_params(**search.best_params_).fit(X, y)
        np.testing.assert_array_equal(rebuilt.predict(X), search.predict(X))
    assert search.best_params_ == {
        "sgdregressor__learning_rate": "constant",  # 'invscaling' would decay eta0
        "sgdregressor__eta0": search.best_lr_,
    }


def test_cv_results_score_the_chosen_rate_on_every_fold(diabetes):
    pd = pytest.importorskip("pandas")
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), SGDLinearRegressor(random_state=0))
    folds = list(KFold(4).split(X))
    search = LRFinderSearch(pipe, cv=folds, scoring="neg_mean_absolute_error", random_state=0)
    search.fit(X, y)
    expected = cross_val_score(
        clone(pipe).set_params(**search.best_params_),
        X,
        y,
        cv=folds,
        scoring="neg_mean_absolute_error",
    )
    frame = pd.DataFrame(search.cv_results_)
    assert len(frame) == 1 and search.n_splits_ == 4
    np.testing.assert_allclose([frame[f"split{k}_test_score"][0] for k in range(4)], expected)
    assert search.best_score_ == pytest.approx(expected.mean())
    picks = [frame[f"split{k}_lr"][0] for k in range(4)]
    assert picks == [result.best_lr for result in search.fold_range_tests_]
    assert frame["rank_test_score"][0] == 1 and frame["mean_fit_time"][0] > 0
    assert np.isfinite(frame["mean_ramp_loss"][0])
    assert search.scorer_(search, X, y) == pytest.approx(-np.mean(np.abs(search.predict(X) - y)))


def test_several_metrics_refit_by_name_and_error_score(diabetes):
    X, y = diabetes
    scoring = ["r2", "neg_mean_squared_error"]
    search = LRFinderSearch(
        SGDLinearRegressor(random_state=0), cv=3, scoring=scoring, refit="r2", random_state=0
    )
    search.fit(X, y)
    assert search.multimetric_
    assert search.best_score_ == search.cv_results_["mean_test_r2"][0]
    assert "split2_test_neg_mean_squared_error" in search.cv_results_
    with pytest.raises(ValueError, match="set refit to the name"):
        search.set_params(refit=True).fit(X, y)
    with pytest.raises(ValueError, match="refit='accuracy' is not one of the metrics"):
        search.set_params(refit="accuracy").fit(X, y)
    no_refit = LRFinderSearch(SGDLinearRegressor(random_state=0), refit=False, random_state=0)
    no_refit.fit(X, y)
    assert not hasattr(no_refit, "best_estimator_") and not hasattr(no_refit, "predict")


def test_error_score_replaces_a_failing_fold(diabetes):
    X, y = diabetes

    def failing(estimator, X_test, y_test):
        raise RuntimeError("this scorer fails")

    search = LRFinderSearch(
        SGDLinearRegressor(random_state=0), cv=2, scoring=failing, error_score=-1.0, random_state=0
    )
    with pytest.warns(UserWarning, match="Scoring failed"):
        search.fit(X, y)
    assert search.best_score_ == -1.0
    with pytest.raises(RuntimeError, match="this scorer fails"):
        search.set_params(error_score="raise").fit(X, y)


def test_verbose_reports_folds_and_refit(diabetes, capsys):
    search = LRFinderSearch(
        SGDLinearRegressor(random_state=0), cv=2, verbose=1, n_steps=20, random_state=0
    )
    search.fit(*diabetes)
    out = capsys.readouterr().out
    for expected in (
        "range tests on 2 folds",
        "fold 2/2:",
        "scoring it on the 2 folds",
        "refitting on all 442 samples",
    ):
        assert expected in out
