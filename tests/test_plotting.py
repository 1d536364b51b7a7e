"""LRFinderDisplay: what it draws, from a result, an estimator or a fitted search."""

import ast
import inspect
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import same_color
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lrf import LRFinderDisplay, LRFinderSearch, SGDLinearRegressor, finder, lr_range_test
from sklearn_lrf.finder import LRFinderResult

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


@pytest.fixture(scope="module")
def result(data):
    return lr_range_test(SGDLinearRegressor(), *data, random_state=0)


def test_line_keywords_style_the_curve_and_its_colour_follows(result):
    display = LRFinderDisplay(result).plot(c="C3", linestyle="--", lw=3, label="mine")
    line = display.line_
    assert line is display.lines_["smoothed"]
    assert (line.get_linestyle(), line.get_linewidth(), line.get_label()) == ("--", 3, "mine")
    for key in ["raw", "chosen", *result.suggestions]:
        assert same_color(display.lines_[key].get_color(), "C3"), key
    with pytest.raises(TypeError, match="color"):
        LRFinderDisplay(result).plot(c="C3", color="C4")


def test_result_plot_passes_name_and_line_keywords(result):
    display = result.plot(name="diabetes", color="C2")
    assert isinstance(display, LRFinderDisplay)
    assert display.line_.get_label() == "diabetes: smoothed loss"
    assert display.lines_["raw"].get_label() == "diabetes: raw loss"
    assert same_color(display.line_.get_color(), "C2")


def test_name_labels_the_curve_and_defaults_to_the_estimator(data, result):
    assert LRFinderDisplay(result).plot().line_.get_label() == "smoothed loss"
    assert LRFinderDisplay(result, name="").plot().line_.get_label() == "smoothed loss"
    named = LRFinderDisplay(result, name="stored")
    assert named.plot().line_.get_label() == "stored: smoothed loss"
    assert named.plot(name="given").line_.get_label() == "given: smoothed loss"
    pipe = make_pipeline(StandardScaler(), SGDLinearRegressor())
    display = LRFinderDisplay.from_estimator(pipe, *data, n_steps=20, random_state=0)
    assert display.line_.get_label() == "SGDLinearRegressor: smoothed loss"


def test_overlays_take_the_next_colour_and_keep_both_curves_in_view(data, result):
    first = LRFinderDisplay(result, name="batch 32").plot()
    second = LRFinderDisplay.from_estimator(
        SGDLinearRegressor(batch_size=8), *data, name="batch 8", ax=first.ax_, random_state=0
    )
    assert second.ax_ is first.ax_
    assert same_color(first.line_.get_color(), "C0")
    assert same_color(second.line_.get_color(), "C1")
    assert same_color(second.lines_["raw"].get_color(), "C1")
    assert same_color(second.lines_[second.result.rule].get_color(), "C1")
    labels = [text.get_text() for text in first.ax_.get_legend().get_texts()]
    assert {"batch 32: smoothed loss", "batch 8: smoothed loss"} <= set(labels)
    low, high = first.ax_.get_ylim()
    for display in (first, second):
        stop = display.result.diverged_at
        curve = display.result.smoothed_losses[:stop]
        assert low <= curve.min() and curve.max() <= high


def test_from_estimator_sends_a_search_to_from_search(data):
    search = LRFinderSearch(SGDLinearRegressor(random_state=0), random_state=0)
    for candidate in (search, clone(search).fit(*data)):
        with pytest.raises(TypeError, match=r"from_search\(search\).*search\.estimator"):
            LRFinderDisplay.from_estimator(candidate, *data)


def test_from_search_needs_a_fitted_search(data):
    search = LRFinderSearch(SGDLinearRegressor(random_state=0))
    with pytest.raises(NotFittedError, match="LRFinderSearch instance is not fitted"):
        LRFinderDisplay.from_search(search)
    with pytest.raises(TypeError, match=r"LRFinderSearch, got SGDLinearRegressor.*from_estimator"):
        LRFinderDisplay.from_search(SGDLinearRegressor().fit(*data))


def test_from_search_names_the_searched_estimator(data):
    pipe = make_pipeline(StandardScaler(), SGDLinearRegressor(random_state=0))
    search = LRFinderSearch(pipe, random_state=0).fit(*data)
    display = LRFinderDisplay.from_search(search, color="C4")
    assert display.line_.get_label() == "SGDLinearRegressor: smoothed loss"
    assert display.band_ is None and same_color(display.line_.get_color(), "C4")


def test_from_estimator_offers_every_range_test_parameter_with_its_default():
    test = inspect.signature(lr_range_test).parameters
    display = inspect.signature(LRFinderDisplay.from_estimator).parameters
    for name, parameter in test.items():
        assert name in display, name
        assert display[name].default == parameter.default, name


def test_the_finder_imports_the_display_only_inside_plot():
    tree = ast.parse(Path(finder.__file__).read_text())
    imports = [
        f"{getattr(node, 'module', None) or ''}.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imports and not any("plotting" in name for name in imports)


def test_the_blow_up_past_the_turn_does_not_flatten_the_curve():
    """The y-range fits the smoothed curve up to the stop and the raw losses up to the smoothed
    minimum; raw spikes of the blow-up after it may leave the axes."""
    rates = np.geomspace(1e-3, 1e2, 76)
    smoothed = np.r_[np.linspace(0.7, 0.3, 60), np.linspace(0.35, 1.0, 16)]
    raw = smoothed - 0.1
    raw[62::3] = 6.0  # spikes of the blow-up
    result = LRFinderResult(
        learning_rates=rates,
        losses=raw,
        smoothed_losses=smoothed,
        diverged_at=75,
        suggestions={"divergence_onset": 0.1},
        rule="divergence_onset",
        loss_name="log loss (next mini-batch)",
        n_updates=76,
        seconds=0.0,
        stop_reason="diverged",
    )
    low, high = LRFinderDisplay(result).plot().ax_.get_ylim()
    assert low <= raw[:60].min() and max(smoothed[:75].max(), raw[:60].max()) <= high < 2.0
