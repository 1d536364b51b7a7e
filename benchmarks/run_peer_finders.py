"""Run the real torch-lr-finder and Lightning finders on the problems of the "other finders"
example, and refit at their suggestions.

Run by hand, never in CI (CI has neither library), in a virtualenv of its own::

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 torch-lr-finder lightning scikit-learn
    /tmp/peers-venv/bin/python benchmarks/run_peer_finders.py

It does not import sklearn_lrf. On each of ``examples/plot_03_other_finders.py``'s three sets
(split 75 / 25 with ``random_state=0``, stratified for classifiers, standardised on the
training part) it builds the model our estimators fit, in torch: a ``torch.nn.Linear`` from
zero weights, in float64, with squared error / 2, binary log loss (one output) or multinomial
log loss, plain SGD on shuffled mini-batches of 32 and an L2 penalty of 1e-4 on the weights
(``weight_decay``, not on the bias). It runs each library's range test with its defaults and
the example's settings, takes the suggestion as the library computes it, and refits for 30
epochs at a constant 1, 3 and 10 times the suggestion (the example's refit budget), once for
each of 5 batch orders, recording the validation loss, or null when the refit diverged (a
non-finite training loss, or a validation loss not below the untrained model's). Everything is
written to ``results/peers/peer_finders.json``, which the example plots.
"""

import json
import platform
import tempfile
import warnings
from datetime import date
from importlib.metadata import version
from pathlib import Path

import lightning
import numpy as np
import sklearn
import torch
import torch.nn.functional as F
import torch_lr_finder
from matplotlib.figure import Figure
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset

OUTPUT = Path(__file__).resolve().parent / "results" / "peers" / "peer_finders.json"
SEED = 0  # the range tests' batch order
REFIT_SEEDS = range(5)  # refits near the top of the stable range vary with the batch order
BATCH_SIZE = 32
ALPHA = 1e-4  # L2 penalty on the weights, our estimators' default
REFIT_EPOCHS = 30
FACTORS = (1, 3, 10)
SIGNIFICANT_DIGITS = 5
# torch-lr-finder starts at the optimizer's rate: 1e-7, as in the example; the rest defaults.
TORCH_LR_FINDER_SETTINGS = dict(start_lr=1e-7, end_lr=10.0, num_iter=100)
TORCH_LR_FINDER_PLOT = dict(skip_start=10, skip_end=5)  # plot()'s defaults
LIGHTNING_SETTINGS = dict(min_lr=1e-8, max_lr=1.0, num_training=100)  # lr_find's defaults
PROBLEMS = {
    "diabetes": (load_diabetes, "regression"),
    "breast_cancer": (load_breast_cancer, "binary"),
    "digits": (load_digits, "multiclass"),
}


def load_problem(name):
    """The example's split and scaling of one set, as float64 tensors."""
    loader, task = PROBLEMS[name]
    X, y = loader(return_X_y=True)
    classifier = task != "regression"
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if classifier else None
    )
    scaler = StandardScaler().fit(X_train)
    target_dtype = torch.int64 if task == "multiclass" else torch.float64
    return dict(
        name=name,
        task=task,
        n_outputs=len(np.unique(y)) if task == "multiclass" else 1,
        X_train=torch.tensor(scaler.transform(X_train)),
        X_val=torch.tensor(scaler.transform(X_val)),
        y_train=torch.tensor(y_train, dtype=target_dtype),
        y_val=torch.tensor(y_val, dtype=target_dtype),
    )


def make_model(problem):
    """A linear model from zero weights, as our estimators start."""
    model = torch.nn.Linear(problem["X_train"].shape[1], problem["n_outputs"], dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    return model


def loss_function(task):
    """Mean squared error / 2, binary log loss on one output, or multinomial log loss."""
    if task == "regression":
        return lambda outputs, y: 0.5 * F.mse_loss(outputs[:, 0], y)
    if task == "binary":
        return lambda outputs, y: F.binary_cross_entropy_with_logits(outputs[:, 0], y)
    return F.cross_entropy


def make_optimizer(model, learning_rate):
    """Plain SGD with the L2 penalty on the weights only."""
    return torch.optim.SGD(
        [
            {"params": [model.weight], "weight_decay": ALPHA},
            {"params": [model.bias], "weight_decay": 0.0},
        ],
        lr=learning_rate,
    )


def training_batches(problem, seed):
    """Shuffled mini-batches of the training part, reshuffled every epoch from ``seed``."""
    dataset = TensorDataset(problem["X_train"], problem["y_train"])
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, generator=generator)


def untrained_loss(problem):
    """Validation loss of the all-zero model: a refit must end below it."""
    with torch.no_grad():
        outputs = make_model(problem)(problem["X_val"])
        return loss_function(problem["task"])(outputs, problem["y_val"]).item()


def steepest_index_gradient(rates, losses, skip_start, skip_end):
    """torch-lr-finder's published rule: the rate at ``argmin(np.gradient(losses))`` once
    ``[skip_start:-skip_end]`` is trimmed."""
    trimmed = np.asarray(losses[skip_start:-skip_end])
    return rates[skip_start:-skip_end][int(np.gradient(trimmed).argmin())]


def run_torch_lr_finder(problem):
    """torch-lr-finder's range test; the suggestion as ``plot(suggest_lr=True)`` returns it."""
    torch.manual_seed(SEED)
    model = make_model(problem)
    optimizer = make_optimizer(model, TORCH_LR_FINDER_SETTINGS["start_lr"])
    finder = torch_lr_finder.LRFinder(model, optimizer, loss_function(problem["task"]), "cpu")
    finder.range_test(training_batches(problem, SEED), **TORCH_LR_FINDER_SETTINGS)
    # Given axes (of a figure outside pyplot), plot() draws there and shows nothing.
    _, suggestion = finder.plot(ax=Figure().add_subplot(), suggest_lr=True, **TORCH_LR_FINDER_PLOT)
    rates, losses = finder.history["lr"], finder.history["loss"]
    assert suggestion == steepest_index_gradient(rates, losses, **TORCH_LR_FINDER_PLOT)
    return dict(
        library="torch-lr-finder",
        version=version("torch-lr-finder"),
        settings={**TORCH_LR_FINDER_SETTINGS, **TORCH_LR_FINDER_PLOT, "other": "defaults"},
        rule="steepest np.gradient over the index of losses[10:-5]",
        rates=rates,
        losses=losses,
        suggestion=suggestion,
    )


class LinearModule(lightning.LightningModule):
    """The linear model and its loss as a LightningModule, for ``Tuner.lr_find``."""

    def __init__(self, problem):
        super().__init__()
        self.lr = LIGHTNING_SETTINGS["min_lr"]  # lr_find replaces it along its ramp
        self.linear = make_model(problem)
        self.loss = loss_function(problem["task"])

    def training_step(self, batch, batch_idx):
        X, y = batch
        return self.loss(self.linear(X), y)

    def configure_optimizers(self):
        return make_optimizer(self.linear, self.lr)


def run_lightning(problem):
    """Lightning's ``Tuner.lr_find``; the suggestion as its ``suggestion()`` computes it."""
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = lightning.Trainer(
            accelerator="cpu",
            devices=1,
            precision="64-true",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=scratch,
        )
        finder = lightning.pytorch.tuner.Tuner(trainer).lr_find(
            LinearModule(problem),
            train_dataloaders=training_batches(problem, SEED),
            update_attr=False,
            **LIGHTNING_SETTINGS,
        )
    return dict(
        library="lightning",
        version=lightning.__version__,
        settings={**LIGHTNING_SETTINGS, "skip_begin": 10, "skip_end": 1, "other": "defaults"},
        rule="steepest torch.gradient(losses, spacing=[rates]) of finite losses[10:-1]",
        rates=finder.results["lr"],
        losses=finder.results["loss"],
        suggestion=finder.suggestion(),
    )


def refit_validation_loss(problem, learning_rate, baseline, seed):
    """Validation loss after a constant-rate SGD refit from zero weights, the batches shuffled
    from ``seed``; None if it diverged (a non-finite training loss, or a validation loss not
    below ``baseline``)."""
    torch.manual_seed(seed)
    model = make_model(problem)
    optimizer = make_optimizer(model, learning_rate)
    loss = loss_function(problem["task"])
    batches = training_batches(problem, seed)
    for _ in range(REFIT_EPOCHS):
        for X, y in batches:
            optimizer.zero_grad()
            batch_loss = loss(model(X), y)
            if not torch.isfinite(batch_loss):
                return None
            batch_loss.backward()
            optimizer.step()
    with torch.no_grad():
        validation_loss = loss(model(problem["X_val"]), problem["y_val"]).item()
    return validation_loss if validation_loss < baseline else None


def rounded(value):
    """A float to SIGNIFICANT_DIGITS digits; None for None and non-finite values."""
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS - 1}e}")


def record_of(run, problem, baseline):
    """One library's run as stored: rounded curve and suggestion, and the refits (a list
    over the seeds for each factor)."""
    refits = [
        [refit_validation_loss(problem, f * run["suggestion"], baseline, s) for s in REFIT_SEEDS]
        for f in FACTORS
    ]
    return {
        **run,
        "rates": [rounded(r) for r in run["rates"]],
        "losses": [rounded(v) for v in run["losses"]],
        "suggestion": rounded(run["suggestion"]),
        "refit_validation_losses": [[rounded(v) for v in seeds] for seeds in refits],
    }


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    np.random.seed(SEED)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="lightning")  # its hints about workers and logs
    problems = []
    for name in PROBLEMS:
        problem = load_problem(name)
        baseline = untrained_loss(problem)
        runs = [run_torch_lr_finder(problem), run_lightning(problem)]
        problems.append(
            dict(
                name=name,
                task=problem["task"],
                n_train=len(problem["y_train"]),
                n_val=len(problem["y_val"]),
                untrained_validation_loss=rounded(baseline),
                finders=[record_of(run, problem, baseline) for run in runs],
            )
        )
    data = dict(
        description=(
            "Real torch-lr-finder and Lightning range tests on plot_03's sets, and 30-epoch "
            "constant-rate SGD refits at 1, 3 and 10 times each suggestion, one per seed of the "
            "batch order (validation loss; null: diverged). Written by "
            "benchmarks/run_peer_finders.py."
        ),
        date=date.today().isoformat(),
        seed=SEED,
        model=(
            "torch.nn.Linear from zero weights, float64; squared error / 2, binary or "
            "multinomial log loss; SGD, batch 32, shuffled, weight_decay 1e-4 on the weights"
        ),
        refit=dict(epochs=REFIT_EPOCHS, factors=list(FACTORS), seeds=list(REFIT_SEEDS)),
        versions=dict(
            python=platform.python_version(),
            torch=torch.__version__,
            numpy=np.__version__,
            scikit_learn=sklearn.__version__,
        ),
        cpu=cpu_model(),
        problems=problems,
    )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
