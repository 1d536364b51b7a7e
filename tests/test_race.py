"""LRFinderSearch's race: candidates around the curve's pick, trained on a share of the budget and
scored on held-out data, checked against hand-made fits scored by hand."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_lrf import LRFinderSearch, SGDLinearRegressor, SGDLogisticClassifier

RAMP = dict(n_steps=30, random_state=0)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def half_squared_error(model, X, y, weights=None):
    return 0.5 * np.average((model.predict(X) - y) ** 2, weights=weights)


def test_candidate_losses_equal_hand_made_fits_on_the_folds(diabetes):
    """With cv, each candidate is the estimator at pick x factor and max_iter = 20% of its
    epochs (tol off), fitted on each fold's training part and scored on its held-out part.
    shuffle=False and zero initial weights make the fits independent of the seed."""
    X, y = diabetes
    estimator = SGDLinearRegressor(max_iter=20, shuffle=False)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    search = LRFinderSearch(estimator, cv=folds, race=(1 / 3, 1, 3), **RAMP).fit(X, y)
    race = search.race_results_
    pick = search.range_test_.best_lr
    np.testing.assert_array_equal(race["learning_rates"], pick * np.array([1 / 3, 1, 3]))
    assert race["budget"] == {"max_iter": 4, "tol": None}
    expected = [
        [
            half_squared_error(
                clone(estimator)
                .set_params(learning_rate=rate, max_iter=4, tol=None)
                .fit(X[train], y[train]),
                X[test],
                y[test],
            )
            for train, test in folds
        ]
        for rate in race["learning_rates"]
    ]
    np.testing.assert_allclose(race["split_losses"], expected, rtol=1e-12)
    np.testing.assert_allclose(race["losses"], np.mean(expected, axis=1), rtol=1e-12)
    assert race["train_sizes"] == [len(train) for train, _ in folds]
    best = race["best_index"]
    assert search.cv_results_["split1_race_loss"][0] == race["split_losses"][best][1]


def test_the_winner_is_the_argmin_and_the_refit_uses_it(diabetes):
    X, y = diabetes
    search = LRFinderSearch(
        SGDLinearRegressor(max_iter=20, random_state=0), race=(1 / 3, 1, 3), **RAMP
    ).fit(X, y)
    race = search.race_results_
    assert race["best_index"] == int(np.argmin(race["losses"]))
    assert search.best_lr_ == race["learning_rates"][race["best_index"]]
    assert search.range_test_.best_lr == race["learning_rates"][1]  # the curve's pick, kept
    assert search.best_params_ == {"learning_rate": search.best_lr_}
    assert search.best_estimator_.learning_rate == search.best_lr_
    assert search.best_estimator_.max_iter == 20  # the refit gets the whole budget
    assert race["errors"] == [None, None, None]
    assert race["train_sizes"] == [len(y) - int(np.ceil(0.2 * len(y)))]


def test_a_pick_too_low_is_moved_up(diabetes):
    """A rule that picks the ramp's first rate (1e-3 / L) barely trains in 4 epochs; the race
    moves the rate 100x up, and the refit fits better than one at the curve's pick."""
    X, y = diabetes

    def first_rate(learning_rates, losses):
        return learning_rates[0]

    estimator = SGDLinearRegressor(max_iter=20, random_state=0)
    search = LRFinderSearch(estimator, rule=first_rate, race=(1, 10, 100), **RAMP).fit(X, y)
    pick = search.range_test_.best_lr
    assert pick == search.range_test_.learning_rates[0]
    assert search.best_lr_ == pytest.approx(100 * pick)
    at_pick = clone(estimator).set_params(learning_rate=pick).fit(X, y)
    assert search.score(X, y) > at_pick.score(X, y) + 0.1


def test_a_diverging_candidate_loses_without_an_error(diabetes):
    X, y = diabetes
    search = LRFinderSearch(SGDLinearRegressor(max_iter=10, random_state=0), race=(1, 1e6), **RAMP)
    race = search.fit(X, y).race_results_
    assert race["losses"][1] == np.inf
    assert "DivergenceError" in race["errors"][1]
    assert race["errors"][0] is None and np.isfinite(race["losses"][0])
    assert search.best_lr_ == search.range_test_.best_lr


def test_scikit_learn_sgd_blowing_up_loses(diabetes):
    """scikit-learn's SGD keeps its weights finite at 1e6 x the pick: a huge loss, no error."""
    search = LRFinderSearch(SGDRegressor(max_iter=10, random_state=0), race=(1, 1e6), **RAMP)
    race = search.fit(*diabetes).race_results_
    assert race["losses"][1] > 1e20 * race["losses"][0]
    assert search.best_lr_ == search.range_test_.best_lr


def test_every_candidate_failing_raises_with_the_reasons(diabetes):
    search = LRFinderSearch(SGDLinearRegressor(max_iter=10), race=(1e6, 1e7), **RAMP)
    with pytest.raises(ValueError, match="Every candidate rate of the race failed"):
        search.fit(*diabetes)


def test_weights_reach_the_fits_and_the_held_out_loss(diabetes):
    X, y = diabetes
    weights = np.random.RandomState(0).uniform(0.1, 3.0, len(y))
    estimator = SGDLinearRegressor(max_iter=20, shuffle=False)
    folds = list(KFold(2, shuffle=True, random_state=0).split(X))
    search = LRFinderSearch(estimator, cv=folds, race=(1, 3), **RAMP)
    race = search.fit(X, y, sample_weight=weights).race_results_
    expected = [
        [
            half_squared_error(
                clone(estimator)
                .set_params(learning_rate=rate, max_iter=4, tol=None)
                .fit(X[train], y[train], sample_weight=weights[train]),
                X[test],
                y[test],
                weights[test],
            )
            for train, test in folds
        ]
        for rate in race["learning_rates"]
    ]
    np.testing.assert_allclose(race["split_losses"], expected, rtol=1e-12)


def test_class_weight_weighs_the_held_out_log_loss(cancer):
    X, y = cancer
    class_weight = {0: 3.0, 1: 1.0}
    estimator = SGDLogisticClassifier(max_iter=10, shuffle=False, class_weight=class_weight)
    folds = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    race = LRFinderSearch(estimator, cv=folds, race=(1, 3), **RAMP).fit(X, y).race_results_
    expected = []
    for rate in race["learning_rates"]:
        model = clone(estimator).set_params(learning_rate=rate, max_iter=2, tol=None)
        expected.append(
            [
                log_loss(
                    y[test],
                    model.fit(X[train], y[train]).predict_proba(X[test]),
                    sample_weight=np.where(y[test] == 0, 3.0, 1.0),
                )
                for train, test in folds
            ]
        )
    np.testing.assert_allclose(race["split_losses"], expected, rtol=1e-12)


def test_inside_a_pipeline_with_weights_and_scikit_learn_sgd(diabetes):
    """The scaler is fitted on each training part; the weights go to the final step."""
    X, y = load_diabetes(return_X_y=True)
    weights = np.random.RandomState(1).uniform(0.5, 2.0, len(y))
    pipe = make_pipeline(StandardScaler(), SGDRegressor(max_iter=10, shuffle=False))
    folds = list(KFold(2, shuffle=True, random_state=0).split(X))
    search = LRFinderSearch(pipe, cv=folds, race=(1 / 3, 1), **RAMP)
    race = search.fit(X, y, sample_weight=weights).race_results_
    assert race["budget"] == {"max_iter": 2, "tol": None}
    expected = []
    for rate in race["learning_rates"]:
        model = clone(pipe).set_params(
            sgdregressor__learning_rate="constant",
            sgdregressor__eta0=rate,
            sgdregressor__max_iter=2,
            sgdregressor__tol=None,
        )
        expected.append(
            [
                half_squared_error(
                    model.fit(X[train], y[train], sgdregressor__sample_weight=weights[train]),
                    X[test],
                    y[test],
                    weights[test],
                )
                for train, test in folds
            ]
        )
    np.testing.assert_allclose(race["split_losses"], expected, rtol=1e-12)
    assert search.best_params_["sgdregressor__eta0"] == search.best_lr_


@pytest.mark.parametrize(
    "estimator, budget",
    [
        (
            MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0),
            {"max_iter": 2, "n_iter_no_change": 2},
        ),
        (SGDClassifier(loss="log_loss", max_iter=10), {"max_iter": 2, "tol": None}),
    ],
    ids=["MLPClassifier", "SGDClassifier"],
)
def test_scikit_learn_classifiers_race_seeded_and_reproducibly(cancer, estimator, budget):
    X, y = cancer
    search = LRFinderSearch(estimator, race=(1 / 3, 1, 3), **RAMP)
    race = search.fit(X, y).race_results_
    assert race["budget"] == budget
    assert np.isfinite(race["losses"]).all()
    again = clone(search).fit(X, y).race_results_
    np.testing.assert_array_equal(again["split_losses"], race["split_losses"])
    other = clone(search).set_params(random_state=1).fit(X, y).race_results_
    assert not np.array_equal(other["split_losses"], race["split_losses"])


def test_validation_sets_the_race_hold_out(cancer):
    X, y = cancer
    search = LRFinderSearch(
        SGDLogisticClassifier(max_iter=10, random_state=0), validation=0.5, race=(1, 3), **RAMP
    )
    assert search.fit(X, y).race_results_["train_sizes"] == [len(y) - int(np.ceil(len(y) / 2))]


def test_verbose_shows_the_race(diabetes, capsys):
    search = LRFinderSearch(
        SGDLinearRegressor(max_iter=10, random_state=0), race=(1, 3), verbose=1, **RAMP
    )
    search.fit(*diabetes)
    out = capsys.readouterr().out
    assert "racing 2 rates around" in out and "max_iter" in out
    assert "held-out 20% of the data" in out and "(winner)" in out


class RateOnly(RegressorMixin, BaseEstimator):
    """An estimator with a rate but no budget of epochs the race knows."""

    def __init__(self, eta0=0.1):
        self.eta0 = eta0

    def fit(self, X, y):
        return self


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(race="fast"), InvalidParameterError, "'race' parameter"),
        (dict(race=(1,)), ValueError, "two or more distinct positive multiples"),
        (dict(race=(1, 1)), ValueError, "two or more distinct positive multiples"),
        (dict(race=(0, 1)), ValueError, "two or more distinct positive multiples"),
        (dict(race=(1, np.inf)), ValueError, "two or more distinct positive multiples"),
        (dict(race=[[1, 2]]), ValueError, "two or more distinct positive multiples"),
        (dict(race=(1, 3), race_budget=0), InvalidParameterError, "'race_budget' parameter"),
        (dict(race=(1, 3), race_budget=1.5), InvalidParameterError, "'race_budget' parameter"),
    ],
)
def test_parameter_validation(diabetes, params, error, match):
    search = LRFinderSearch(SGDLinearRegressor(), **params)
    with pytest.raises(error, match=match):
        search.fit(*diabetes)


def test_an_estimator_without_a_known_budget_is_refused_before_the_ramp(diabetes):
    with pytest.raises(TypeError, match="RateOnly.*Set race=None"):
        LRFinderSearch(RateOnly(), race=(1, 3)).fit(*diabetes)


def test_skorch_nets_race_on_max_epochs():
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32))[:, None]
    # Adam, not SGD: a torch.optim.SGD stepped earlier in the process makes test_skorch's
    # CountingSGD (which calls SGD.step) run its step hooks twice per step.
    net = skorch.NeuralNetRegressor(
        torch.nn.Linear,
        module__in_features=4,
        module__out_features=1,
        optimizer=torch.optim.Adam,
        max_epochs=5,
        verbose=0,
    )
    torch.manual_seed(0)
    race = LRFinderSearch(net, race=(1, 3), race_budget=0.4, **RAMP).fit(X, y).race_results_
    assert race["budget"] == {"max_epochs": 2}
    assert np.isfinite(race["losses"]).all()
