"""skorch nets in the range test and the search: one optimizer step per ramp step at the ramp's
rate, losses equal to a hand-written reference, the user's settings kept for the refit."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import log_loss

from sklearn_lrf import LRFinderSearch, lr_range_test

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

RATES = dict(min_lr=1e-3, max_lr=0.5, n_steps=12, extend_decades=0)


class Linear(torch.nn.Module):
    """A linear layer that starts at zero, so a reference can start from the same weights."""

    def __init__(self, n_in=4, n_out=1):
        super().__init__()
        self.layer = torch.nn.Linear(n_in, n_out)
        torch.nn.init.zeros_(self.layer.weight)
        torch.nn.init.zeros_(self.layer.bias)

    def forward(self, X):
        return self.layer(X)


class CountingSGD(torch.optim.SGD):
    """SGD that counts its steps over all instances."""

    steps = 0

    def step(self, closure=None):
        type(self).steps += 1
        return super().step(closure)


@pytest.fixture
def regression():
    X, y = make_regression(n_samples=300, n_features=4, noise=1.0, random_state=0)
    return X, y / y.std()  # float64, as scikit-learn makes them


def regressor(**params):
    params = dict(module=Linear, optimizer=torch.optim.SGD, max_epochs=5, verbose=0) | params
    return skorch.NeuralNetRegressor(**params)


def test_lr_is_found_and_each_ramp_step_is_one_optimizer_step(regression):
    X, y = regression
    # Once a plain SGD has stepped, torch hooks SGD.step as well as CountingSGD.step, so one
    # step of CountingSGD runs the step hooks twice: still one optimizer step.
    parameter = torch.nn.Parameter(torch.zeros(1))
    parameter.grad = torch.ones(1)
    torch.optim.SGD([parameter], lr=0.1).step()
    CountingSGD.steps = 0
    net = regressor(optimizer=CountingSGD, batch_size=32)
    result = lr_range_test(net, X, y, random_state=0, **RATES)
    assert result.n_updates == RATES["n_steps"] == len(result.losses)
    assert CountingSGD.steps == result.n_updates
    assert result.settings["batch_size"] == 32
    assert not net.initialized_  # the passed net is cloned, never fitted
    own_loader = regressor(batch_size=32, iterator_train__batch_size=16)
    assert lr_range_test(own_loader, X, y, **RATES).settings["batch_size"] == 16


def test_regression_losses_equal_a_hand_computed_ramp(regression):
    """Plain gradient descent on MSELoss with numpy, batch by batch: the ramp's losses (half the
    squared error on the next batch) match, so each step trained on the whole batch once, at its
    rate, on float64 input cast to float32, and (n, 1) predictions were not broadcast."""
    X, y = regression
    blocks = ((X[i : i + 60], y[i : i + 60]) for i in range(0, 300, 60))  # cut into 20s
    result = lr_range_test(regressor(), blocks, batch_size=20, smoothing=0.0, **RATES)
    rates = np.geomspace(RATES["min_lr"], RATES["max_lr"], RATES["n_steps"])
    w, b, expected = np.zeros(4), 0.0, []
    for step, rate in enumerate(rates):
        Xb, yb = X[20 * step : 20 * step + 20], y[20 * step : 20 * step + 20]
        residual = Xb @ w + b - yb
        w, b = w - rate * 2 * Xb.T @ residual / 20, b - rate * 2 * residual.mean()
        Xn, yn = X[20 * step + 20 : 20 * step + 40], y[20 * step + 20 : 20 * step + 40]
        expected.append(0.5 * np.mean((Xn @ w + b - yn) ** 2))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-4)


def test_classifier_losses_equal_a_plain_torch_ramp():
    X, y = make_classification(
        n_samples=260, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    net = skorch.NeuralNetClassifier(
        Linear,
        module__n_out=3,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.9,
        max_epochs=5,
        verbose=0,
    )
    blocks = [(X[i : i + 20], y[i : i + 20]) for i in range(0, 260, 20)]
    result = lr_range_test(net, iter(blocks), batch_size=20, classes=[0, 1, 2], **RATES)

    model = Linear(n_out=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    expected = []
    for (Xb, yb), (Xn, yn), rate in zip(blocks, blocks[1:], result.learning_rates, strict=False):
        optimizer.param_groups[0]["lr"] = rate
        optimizer.zero_grad()
        logits = model(torch.as_tensor(Xb, dtype=torch.float32))
        torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb)).backward()
        optimizer.step()  # the momentum buffer carries over: the optimizer is never rebuilt
        with torch.no_grad():
            proba = torch.softmax(model(torch.as_tensor(Xn, dtype=torch.float32)), -1).numpy()
        expected.append(log_loss(yn, proba, labels=[0, 1, 2]))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-4)
    assert result.loss_name == "log loss (next mini-batch)"


def test_search_refits_with_the_users_settings(regression):
    X, y = regression
    X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)  # as skorch takes them
    search = LRFinderSearch(regressor(max_epochs=4), random_state=0, **RATES).fit(X, y)
    refit = search.best_estimator_
    assert refit.lr == search.best_lr_ == search.range_test_.best_lr
    assert search.best_params_ == {"lr": search.best_lr_}
    history = refit.history
    assert len(history) == 4  # the user's max_epochs, with the default train_split's validation
    assert all("valid_loss" in epoch for epoch in history)
    assert search.predict(X).shape == (len(X), 1)


def test_a_net_that_makes_several_steps_per_call_is_refused(regression):
    class TwoEpochs(skorch.NeuralNetRegressor):
        def fit_loop(self, X, y=None, epochs=None, **params):
            return super().fit_loop(X, y, epochs=2, **params)

    X, y = regression
    with pytest.raises(RuntimeError, match="made 2 optimizer steps on one mini-batch"):
        lr_range_test(TwoEpochs(Linear, optimizer=torch.optim.SGD, verbose=0), X, y, **RATES)


def test_callbacks_do_not_change_the_ramps_rates(regression):
    """An LRScheduler in the net would override each step's rate; the ramp runs without it."""
    X, y = regression
    scheduler = skorch.callbacks.LRScheduler("StepLR", step_size=1, gamma=0.01)
    plain = lr_range_test(regressor(), X, y, random_state=0, **RATES)
    scheduled = lr_range_test(regressor(callbacks=[scheduler]), X, y, random_state=0, **RATES)
    np.testing.assert_allclose(scheduled.losses, plain.losses, rtol=1e-6)


def test_random_state_fixes_the_initial_weights(regression):
    """Two ramps with one random_state start from the same random weights (restart mode
    restarts from them); torch's global random state is left alone."""
    X, y = regression
    net = regressor(module=torch.nn.Linear, module__in_features=4, module__out_features=1)
    state = torch.random.get_rng_state()
    first = lr_range_test(net, X, y, random_state=3, restart_steps=2, **RATES)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = lr_range_test(net, X, y, random_state=3, restart_steps=2, **RATES)
    other = lr_range_test(net, X, y, random_state=4, restart_steps=2, **RATES)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert not np.allclose(first.losses, other.losses)


class RandomLinear(torch.nn.Module):
    """A linear layer with torch's default (random) initialisation."""

    def __init__(self, n_in=4, n_out=1):
        super().__init__()
        self.layer = torch.nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.layer(X)


def test_race_fits_are_seeded_by_random_state_not_by_torchs_global_state(regression):
    """A skorch net takes no random_state: the race seeds torch for each candidate's fit
    (initial weights, shuffled batches), so the same random_state gives the same race
    whatever torch's global state, and leaves that state as it was."""
    X, y = regression
    X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)  # as skorch takes them
    net = regressor(module=RandomLinear, iterator_train__shuffle=True, batch_size=32)
    races = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        search = LRFinderSearch(net, race=(1 / 3, 1, 3), random_state=0, **RATES).fit(X, y)
        races.append(search.race_results_["losses"])
        after = torch.rand(1)
        # Only the refit (the user's net, as the user would fit it) draws from torch's state.
        torch.manual_seed(global_seed)
        clone(search.best_estimator_).fit(X, y)
        assert torch.equal(torch.rand(1), after)
    np.testing.assert_array_equal(races[0], races[1])
