"""LRFinderDisplay: what it draws, from a result, an estimator or a fitted search."""

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import LRFinderDisplay, LRFinderSearch, SGDLinearRegressor, lr_range_test

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_from_estimator_draws_the_curve_the_rules_and_divergence(data):
    display = LRFinderDisplay.from_estimator(SGDLinearRegressor(), *data, random_state=0)
    result = display.result
    raw, smoothed = display.lines_["raw"], display.lines_["smoothed"]
    np.testing.assert_array_equal(raw.get_xdata(), result.learning_rates)
    np.testing.assert_array_equal(smoothed.get_ydata(), result.smoothed_losses)
    for rule, rate in result.suggestions.items():
        assert display.lines_[rule].get_xdata()[0] == rate
        assert rule in display.lines_[rule].get_label()
    assert "(chosen)" in display.lines_[result.rule].get_label()
    assert display.lines_["chosen"].get_xdata()[0] == result.best_lr
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert any(label.startswith("diverged") for label in labels)
    assert display.ax_.get_xscale() == "log" and display.figure_ is display.ax_.figure
    assert display.ax_.get_ylabel() == result.loss_name


def test_plot_on_given_axes_without_raw_or_suggestions(data):
    result = lr_range_test(SGDLinearRegressor(), *data, random_state=0)
    _, ax = plt.subplots()
    display = LRFinderDisplay(result).plot(ax=ax, show_raw=False, show_suggestions=False)
    assert display.ax_ is ax and set(display.lines_) == {"smoothed"}


def test_from_search_with_folds_draws_a_band(data):
    search = LRFinderSearch(SGDLinearRegressor(random_state=0), cv=3, random_state=0)
    display = LRFinderDisplay.from_search(search.fit(*data))
    assert "3 folds" in display.band_.get_label()
    band = display.band_.get_paths()[0].vertices[:, 1]
    finite = np.isfinite(band)
    assert band[finite].min() <= np.nanmin(display.result.smoothed_losses)
