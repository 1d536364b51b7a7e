"""lr_range_test against hand-written SGD, closed forms and scikit-learn's own estimators."""

import ast
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, make_regression
from sklearn.linear_model import Ridge, SGDClassifier, SGDRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_lrf import LRFinderDisplay, SGDLinearRegressor, SGDLogisticClassifier, lr_range_test
from sklearn_lrf.finder import DEFAULT_RULE
from sklearn_lrf.rules import divergence_onset


@pytest.fixture(scope="module")
def quadratic():
    """Standardised least squares: the full-batch loss is a quadratic with known Hessian."""
    X, y = make_regression(n_samples=64, n_features=3, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X, y


def full_batch_gd(X, y, rates, start=None):
    """Hand-written gradient descent on sum r^2 / (2n); loss after each update."""
    w = np.zeros(X.shape[1]) if start is None else start
    losses = []
    for rate in rates:
        w = w - rate * X.T @ (X @ w - y) / len(X)
        losses.append(0.5 * np.mean((X @ w - y) ** 2))
    return np.array(losses)


NO_INTERCEPT = SGDLinearRegressor(penalty=None, fit_intercept=False)


def test_each_loss_belongs_to_the_rate_that_produced_it(quadratic):
    X, y = quadratic
    result = lr_range_test(
        NO_INTERCEPT,
        X,
        y,
        min_lr=1e-3,
        max_lr=5.0,
        n_steps=40,
        extend_decades=0,
        batch_size=len(X),
        diverge_threshold=1e6,
        random_state=0,
    )
    expected_rates = np.geomspace(1e-3, 5.0, 40)
    n = len(result.losses)
    np.testing.assert_allclose(result.learning_rates, expected_rates[:n], rtol=1e-12)
    np.testing.assert_allclose(result.losses, full_batch_gd(X, y, expected_rates)[:n], rtol=1e-9)


def test_divergence_is_detected_just_past_two_over_largest_eigenvalue(quadratic):
    X, y = quadratic
    largest = np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    result = lr_range_test(
        NO_INTERCEPT,
        X,
        y,
        min_lr=1e-3,
        max_lr=100.0,
        n_steps=60,
        batch_size=len(X),
        random_state=0,
    )
    assert result.diverged_at is not None
    diverged = result.learning_rates[result.diverged_at]
    assert 2 / largest < diverged < 10 * 2 / largest
    assert "diverged at learning rate" in result.stop_reason


def test_smoothing_is_the_bias_corrected_moving_average(quadratic):
    X, y = quadratic
    beta = 0.9
    # A rule that reads the moving average: the ramp stops on it (the default stops earlier).
    result = lr_range_test(
        SGDLinearRegressor(), X, y, smoothing=beta, rule="minimum", random_state=0
    )
    average, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        average = beta * average + (1 - beta) * loss
        expected.append(average / (1 - beta ** (i + 1)))
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-12)
    stop = result.diverged_at
    if stop is not None:
        assert result.smoothed_losses[stop] > 4 * np.min(result.smoothed_losses[:stop])
        running_best = np.minimum.accumulate(result.smoothed_losses[:stop])
        assert np.all(result.smoothed_losses[:stop] <= 4 * running_best)


def test_a_built_in_rule_configured_with_partial_picks_through_lr_range_test():
    """``rule=partial(divergence_onset, factor=0.1)``: listed under its arguments, it picks
    0.1 / 0.047 times the default's pick, on its own curve and on the default's (which stops
    at the onset this rule reads; the configured copy's ramp runs on to the smoothed stop)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    default = lr_range_test(SGDLogisticClassifier(), X, y, random_state=0)
    configured = lr_range_test(
        SGDLogisticClassifier(), X, y, rule=partial(divergence_onset, factor=0.1), random_state=0
    )
    assert "running median" in default.stop_reason
    assert "smoothed loss exceeded" in configured.stop_reason
    assert configured.rule == "divergence_onset(factor=0.1)"
    ratio = 0.1 / 0.047
    assert configured.best_lr == pytest.approx(
        ratio * configured.suggestions["divergence_onset"], rel=1e-12
    )
    assert configured.best_lr == pytest.approx(ratio * default.best_lr, rel=1e-12)


def whole_curve_onset(learning_rates, losses):
    """The default rule as a callable, so that the ramp runs on to the smoothed loss's stop."""
    return divergence_onset(learning_rates, losses)


@pytest.mark.parametrize(
    "estimator, data, saves",
    [
        (SGDLinearRegressor(), load_diabetes, 0),
        (make_pipeline(StandardScaler(), SGDLogisticClassifier()), load_breast_cancer, 0),
        (SGDRegressor(), load_diabetes, 0),
        (MLPClassifier(hidden_layer_sizes=(8,), max_iter=5), load_breast_cancer, 20),
    ],
    ids=["ours-regression", "ours-classifier", "SGDRegressor", "MLPClassifier"],
)
def test_the_default_rule_stops_the_ramp_at_its_onset_without_moving_the_pick(
    estimator, data, saves
):
    X, y = data(return_X_y=True)
    if isinstance(estimator, (SGDRegressor, MLPClassifier)):
        X = StandardScaler().fit_transform(X)
        y = y / y.std() if isinstance(estimator, SGDRegressor) else y
    default = lr_range_test(estimator, X, y, random_state=0)
    longer = lr_range_test(estimator, X, y, rule=whole_curve_onset, random_state=0)
    n = len(default.losses)
    np.testing.assert_array_equal(default.losses, longer.losses[:n])
    assert default.best_lr == longer.best_lr
    # A loss that explodes within a few rates stops both ways at about once; a slow blow-up
    # (this MLP's saturating log loss) ran on for the moving average's lag: 26 rates here.
    assert n <= len(longer.losses) - saves
    if saves:
        assert "running median of the raw loss" in default.stop_reason


def test_restart_mode_trains_every_rate_from_the_same_start(quadratic):
    X, y = quadratic
    rates = np.geomspace(1e-2, 1.0, 10)
    result = lr_range_test(
        NO_INTERCEPT,
        X,
        y,
        min_lr=1e-2,
        max_lr=1.0,
        n_steps=10,
        extend_decades=0,
        restart_steps=5,
        batch_size=len(X),
        validation=(X, y),
        random_state=0,
    )
    expected = [full_batch_gd(X, y, [rate] * 5)[-1] for rate in rates]
    np.testing.assert_allclose(result.losses, expected, rtol=1e-9)
    assert result.n_updates == 50


def test_linear_ramp_and_epoch_unit(quadratic):
    X, y = quadratic
    result = lr_range_test(
        SGDLinearRegressor(),
        X,
        y,
        min_lr=0.01,
        max_lr=0.5,
        n_steps=8,
        ramp="linear",
        step_unit="epoch",
        batch_size=16,
        diverge_threshold=1e9,
        random_state=0,
    )
    np.testing.assert_allclose(result.learning_rates, np.linspace(0.01, 0.5, 8))
    assert result.n_updates == 8 * 4
    assert "before update" in result.loss_name


def test_results_are_reproducible_and_the_estimator_untouched():
    X, y = load_diabetes(return_X_y=True)
    estimator = make_pipeline(StandardScaler(), SGDLinearRegressor(random_state=3))
    params = clone(estimator).get_params()
    first = lr_range_test(estimator, X, y, random_state=7)
    second = lr_range_test(estimator, X, y, random_state=7)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert first.suggestions == second.suggestions
    assert not hasattr(estimator[-1], "coef_")
    assert estimator.get_params().keys() == params.keys()


def test_pipeline_preprocessing_is_fitted_on_the_ramp_data():
    X, y = load_diabetes(return_X_y=True)
    model = SGDLinearRegressor()
    piped = lr_range_test(make_pipeline(StandardScaler(), model), X * 50 + 3, y, random_state=0)
    direct = lr_range_test(model, StandardScaler().fit_transform(X), y, random_state=0)
    np.testing.assert_allclose(piped.losses, direct.losses, rtol=1e-8)


def test_stream_of_batches_equals_arrays(quadratic):
    X, y = quadratic
    params = dict(min_lr=1e-3, max_lr=1.0, n_steps=30, extend_decades=0, random_state=0)
    arrays = lr_range_test(NO_INTERCEPT, X, y, batch_size=len(X), **params)
    stream = lr_range_test(NO_INTERCEPT, ((X, y) for _ in range(31)), batch_size=len(X), **params)
    np.testing.assert_allclose(stream.losses, arrays.losses, rtol=1e-9)
    with pytest.raises(ValueError, match="ran out before the ramp ended"):
        lr_range_test(NO_INTERCEPT, ((X, y) for _ in range(10)), batch_size=len(X), **params)
    with pytest.raises(ValueError, match="restart_steps replays the same mini-batches"):
        lr_range_test(NO_INTERCEPT, iter([(X, y)]), restart_steps=2)
    with pytest.raises(ValueError, match="step_unit='epoch' needs arrays"):
        lr_range_test(NO_INTERCEPT, iter([(X, y)]), step_unit="epoch")


def test_dask_array_blocks_stream():
    da = pytest.importorskip("dask.array")
    X, y = make_regression(n_samples=4000, n_features=5, noise=1.0, random_state=0)
    X_dask, y_dask = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    blocks = (
        (X_dask.blocks[i].compute(), y_dask.blocks[i].compute()) for i in range(X_dask.numblocks[0])
    )
    streamed = lr_range_test(
        SGDLinearRegressor(),
        blocks,
        n_steps=39,
        extend_decades=0,
        min_lr=1e-7,
        max_lr=10.0,
        random_state=0,
    )
    in_memory = [(X[i : i + 100], y[i : i + 100]) for i in range(0, 4000, 100)]
    expected = lr_range_test(
        SGDLinearRegressor(),
        in_memory,
        n_steps=39,
        extend_decades=0,
        min_lr=1e-7,
        max_lr=10.0,
        random_state=0,
    )
    np.testing.assert_array_equal(streamed.losses, expected.losses)
    assert streamed.n_updates == expected.n_updates == len(streamed.losses) > 30
    assert np.isfinite(streamed.best_lr)


def test_classifier_stream_needs_classes():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="Pass classes="):
        lr_range_test(SGDLogisticClassifier(), iter([(X, y)]))


@pytest.mark.parametrize(
    "estimator",
    [
        SGDRegressor(random_state=0),
        MLPRegressor(solver="sgd", hidden_layer_sizes=(8,), random_state=0),
        MLPRegressor(solver="adam", hidden_layer_sizes=(8,), random_state=0),
    ],
    ids=["SGDRegressor", "MLPRegressor-sgd", "MLPRegressor-adam"],
)
def test_scikit_learn_regressors_follow_the_ramp_and_diverge(estimator):
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    result = lr_range_test(
        make_pipeline(StandardScaler(), estimator),
        X,
        y,
        min_lr=1e-5,
        max_lr=1e3,
        n_steps=60,
        batch_size=32,
        random_state=0,
    )
    # The ramp reaches rates no model survives: only if each step used its rate does it stop.
    assert result.diverged_at is not None
    assert np.isfinite(result.losses[: result.diverged_at]).all()
    assert 1e-5 < result.best_lr < 1e3
    assert not hasattr(estimator, "coef_") and not hasattr(estimator, "coefs_")


@pytest.mark.parametrize(
    "estimator",
    [
        SGDClassifier(loss="log_loss", random_state=0),
        MLPClassifier(solver="sgd", hidden_layer_sizes=(8,), random_state=0),
        MLPClassifier(hidden_layer_sizes=(8,), random_state=0),
    ],
    ids=["SGDClassifier", "MLPClassifier-sgd", "MLPClassifier-adam"],
)
def test_scikit_learn_classifiers(estimator):
    X, y = load_breast_cancer(return_X_y=True)
    result = lr_range_test(
        make_pipeline(StandardScaler(), estimator), X, y, n_steps=50, random_state=0
    )
    assert result.loss_name.startswith("log loss")
    assert result.losses[0] < 1.0  # log loss of a barely trained model: about log 2
    assert all(np.isfinite(rate) for rate in result.suggestions.values())


def test_mlp_rate_reaches_the_live_optimizer():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    kwargs = dict(min_lr=1e-4, max_lr=1e-3, n_steps=20, random_state=0, batch_size=32)
    mlp = MLPRegressor(solver="sgd", hidden_layer_sizes=(8,), random_state=0)
    slow = lr_range_test(mlp, X, y, **kwargs)
    fast = lr_range_test(mlp, X, y, **{**kwargs, "min_lr": 1e-2, "max_lr": 1e-1})
    # Were the optimizer stuck at its first rate, later points would not pull apart this much.
    assert fast.losses[-1] < 0.9 * slow.losses[-1]


def test_rate_parameter_errors():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(TypeError, match="has no partial_fit"):
        lr_range_test(Ridge(), X, y)
    with pytest.raises(ValueError, match="lr_param"):
        lr_range_test(GaussianNB(), X, y > 150)
    with pytest.raises(ValueError, match="has no parameter 'rate'"):
        lr_range_test(SGDRegressor(), X, y, lr_param="rate")
    with pytest.raises(ValueError, match="predict_proba"):
        lr_range_test(SGDClassifier(), X, y > 150)


def test_bad_settings_give_clear_errors(quadratic):
    X, y = quadratic
    with pytest.raises(ValueError, match="min_lr must be smaller than max_lr"):
        lr_range_test(SGDLinearRegressor(), X, y, min_lr=1.0, max_lr=0.1)
    with pytest.raises(InvalidParameterError, match="n_steps"):
        lr_range_test(SGDLinearRegressor(), X, y, n_steps=3)
    with pytest.raises(ValueError, match="fewer than one mini-batch of 100"):
        lr_range_test(SGDLinearRegressor(), X, y, batch_size=100)


def test_immediate_divergence_warns_with_advice(quadratic):
    X, y = quadratic
    with pytest.warns(UserWarning, match="Lower min_lr"):
        result = lr_range_test(SGDLinearRegressor(), X * 1e4, y, min_lr=10.0, max_lr=1e4)
    assert np.isnan(result.best_lr)


def test_default_rule_and_plot(quadratic):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = quadratic
    result = lr_range_test(SGDLinearRegressor(), X, y, random_state=0)
    assert result.rule == DEFAULT_RULE and result.best_lr == result.suggestions[DEFAULT_RULE]
    display = result.plot()
    assert isinstance(display, LRFinderDisplay)
    assert display.ax_.get_xscale() == "log"
    assert set(display.lines_) >= {"raw", "smoothed", DEFAULT_RULE}


def test_validation_fraction_is_held_out_and_measured_after_each_update():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    result = lr_range_test(
        SGDLogisticClassifier(),
        X,
        y,
        validation=0.25,
        n_steps=30,
        batch_size=426,
        random_state=0,
    )
    assert result.loss_name == "log loss (validation set)"
    # A full-batch ramp measured on held-out data: the loss before any progress is log 2,
    # and it falls once the rates become useful.
    assert result.losses[0] == pytest.approx(np.log(2), abs=1e-3)
    assert result.losses.min() < 0.5


# -- where the ramp goes, and when it stops --------------------------------------------------


def test_ramp_is_placed_from_the_smoothness_bound(quadratic):
    """Full-batch least squares without intercept: 1 / L is 1 / lambda_max(X^T X / n)."""
    X, y = quadratic
    model = SGDLinearRegressor(penalty=None, fit_intercept=False, batch_size=len(X))
    result = lr_range_test(model, X, y, random_state=0)
    stable = 1.0 / np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    assert result.settings["min_lr"] == pytest.approx(1e-3 * stable, rel=1e-9)
    assert result.settings["max_lr"] == pytest.approx(1e3 * stable, rel=1e-9)
    assert result.settings["n_steps"] == 91  # 15 per decade over six decades
    assert result.settings["ramp_ends"].startswith("from the data: 1/L")
    # Divergence of gradient descent starts at 2 / lambda_max: the curve contains its turn.
    assert result.diverged_at is not None
    assert stable < result.learning_rates[result.diverged_at] < 100 * stable
    given = lr_range_test(model, X, y, min_lr=1e-4, random_state=0)
    assert given.settings["max_lr"] == pytest.approx(1e-4 * 1e6)


@pytest.mark.parametrize("Estimator", [SGDLinearRegressor, SGDLogisticClassifier])
def test_picks_follow_the_data_when_the_best_rate_moves_100x(Estimator):
    """Features 10x larger: curvature 100x larger, best rate 100x smaller. The picks must
    move by at least 10x, the right way (issue #8's test of data dependence)."""
    if Estimator is SGDLinearRegressor:
        X, y = make_regression(n_samples=2000, n_features=10, noise=5.0, random_state=0)
    else:
        X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with np.errstate(all="ignore"):
        small = lr_range_test(Estimator(), X, y, random_state=0).best_lr
        large = lr_range_test(Estimator(), 10 * X, y, random_state=0).best_lr
    assert small / large >= 10


def test_a_ramp_without_a_turn_is_extended_then_warns(quadratic):
    X, y = quadratic
    params = dict(min_lr=1e-4, max_lr=1e-1, n_steps=31, random_state=0)
    extended = lr_range_test(NO_INTERCEPT, X, y, **params)
    assert extended.learning_rates[-1] > 1e-1 and extended.diverged_at is not None
    assert "extended" in extended.stop_reason and "past max_lr=0.1" in extended.stop_reason
    with pytest.warns(UserWarning, match="never blew up .* the curve has no turn"):
        lr_range_test(NO_INTERCEPT, X, y, extend_decades=0, **params)


def test_a_heavy_tailed_loss_early_is_not_a_divergence(quadratic):
    """One outlier among the first points used to read as a blow-up (the smoothed loss
    against a best that was a single raw loss); the ramp now warms up first."""
    X, y = quadratic
    batches = [
        (X[i % 8 * 8 : i % 8 * 8 + 8], y[i % 8 * 8 : i % 8 * 8 + 8].copy()) for i in range(40)
    ]
    batches[2][1][0] = 20 * np.abs(y).max()  # the loss measured after step 1
    result = lr_range_test(
        NO_INTERCEPT,
        iter(batches),
        min_lr=1e-4,
        max_lr=1e-1,
        n_steps=39,
        extend_decades=0,
        batch_size=8,
    )
    assert result.diverged_at is None and len(result.losses) == 39


class ColumnSGDRegressor(SGDRegressor):
    """SGDRegressor predicting a column of shape (n, 1), as skorch's NeuralNetRegressor does."""

    def predict(self, X):
        return super().predict(X).reshape(-1, 1)


def test_column_predictions_are_compared_row_by_row():
    """(n, 1) predictions minus (n,) targets must not broadcast to an n x n matrix: the losses
    equal those of partial_fit steps replayed by hand on the same batches."""
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 32 * 13, 32)]
    params = dict(min_lr=1e-4, max_lr=0.1, n_steps=12, extend_decades=0, smoothing=0.0)
    result = lr_range_test(ColumnSGDRegressor(shuffle=False), iter(batches), **params)
    model, expected = SGDRegressor(shuffle=False, learning_rate="constant"), []
    for (Xb, yb), (Xn, yn), rate in zip(batches, batches[1:], result.learning_rates, strict=False):
        model.set_params(eta0=rate).partial_fit(Xb, yb)
        expected.append(0.5 * np.mean((model.predict(Xn) - yn) ** 2))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-12)


def test_single_sample_batches_do_not_stop_the_ramp_early():
    """One sample's loss jumps 1000x by noise: the training loop's epoch growth check would
    take that for a blow-up (it stopped such ramps 30x below the 'auto' rate)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=200)
    auto = SGDLinearRegressor(batch_size=1, random_state=0).fit(X, y).learning_rate_.lr
    with pytest.warns(UserWarning, match="validation=0.1"):  # the raw curve is too noisy
        result = lr_range_test(SGDLinearRegressor(batch_size=1), X, y, random_state=0)
    assert result.stop_reason.startswith("diverged at learning rate")
    assert result.learning_rates[result.diverged_at] > auto


def test_pipeline_steps_see_the_data_as_given():
    """Column names, missing values and text reach the Pipeline's own steps unconverted (a
    ColumnTransformer by name, an imputer); the final step's input is checked after them."""
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.choice(list("xyz"), 300)}
    )
    frame.loc[::7, "a"] = np.nan
    y = (frame["b"] > 0).astype(int)
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]), (OneHotEncoder(), ["c"])
    )
    pipe = make_pipeline(columns, SGDLogisticClassifier(random_state=0))
    result = lr_range_test(pipe, frame, y, random_state=0)
    assert np.isfinite(result.best_lr) and np.isfinite(result.losses[:-1]).all()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        lr_range_test(make_pipeline(StandardScaler(), SGDLogisticClassifier()), frame[["a"]], y)


def test_only_the_adapters_reach_into_our_estimators():
    """The range test and the search drive every estimator through ``_adapters``: no other
    module calls a private method of our estimators (the issue that ran the ramp beside fit)."""
    import sklearn_lrf.__main__ as cli
    from sklearn_lrf import finder, plotting, search
    from sklearn_lrf.linear_model import _BaseSGD

    private = {
        name
        for cls in (SGDLinearRegressor, SGDLogisticClassifier, _BaseSGD)
        for name in vars(cls)
        if name.startswith("_") and not name.startswith("__")
    }
    assert {"_encode_targets", "_stable_rate", "_settings"} <= private
    for module in (finder, search, plotting, cli):
        tree = ast.parse(Path(module.__file__).read_text())
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not used & private, (module.__name__, used & private)


@pytest.mark.parametrize(
    "pick", [lambda rates: np.nan, lambda rates: rates[0] / 2], ids=["nan", "below the ramp"]
)
def test_a_chosen_rule_without_a_usable_pick_warns_and_suggests_nothing(quadratic, pick):
    """NaN, or a rate below the ramp's first, is no suggestion: best_lr is NaN, and the
    warning names the rule and says what to check."""
    X, y = quadratic

    def my_rule(learning_rates, losses):
        return pick(learning_rates)

    with pytest.warns(UserWarning, match=r"The my_rule rule gave no rate in the range tested"):
        result = lr_range_test(SGDLinearRegressor(), X, y, rule=my_rule, random_state=0)
    assert np.isnan(result.best_lr) and result.rule == "my_rule"
    assert np.isfinite(result.suggestions["divergence_onset"])  # the others still read the curve
