"""The finder benchmark's problems: bundled and generated data only (nothing downloads).

A problem is a dataset, a preprocessing (``"standard"``, ``"maxabs"`` or none), a model family
(our linear SGD, or scikit-learn's MLP with ``"sgd"`` + momentum 0.9 or ``"adam"``) and a
training budget in epochs. Every problem is split once (``random_state=0``, 25% validation,
stratified for classifiers); the scaler is fitted on the training part.
"""

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_friedman1,
    make_friedman2,
    make_moons,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier

OURS, MLP_SGD, MLP_ADAM = "ours", "mlp-sgd", "mlp-adam"


@dataclass
class Problem:
    """One benchmark problem; ``data()`` returns ``X_train, X_val, y_train, y_val``."""

    name: str
    load: object
    family: str
    task: str  # "regression", "binary" or "multiclass"
    epochs: int
    scaler: str | None = None

    @property
    def classifier(self):
        return self.task != "regression"

    @property
    def rate_param(self):
        return "learning_rate" if self.family == OURS else "learning_rate_init"

    def data(self):
        X, y = self.load()
        X_train, X_val, y_train, y_val = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y if self.classifier else None
        )
        if self.scaler is not None:
            scaler = StandardScaler() if self.scaler == "standard" else MaxAbsScaler()
            scaler.fit(X_train)
            X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
        return X_train, X_val, y_train, y_val

    def estimator(self, rate, seed):
        """The model at a constant ``rate``; ``fit`` runs exactly ``epochs`` epochs."""
        if self.family == OURS:
            model = SGDLogisticClassifier if self.classifier else SGDLinearRegressor
            return model(learning_rate=rate, max_iter=self.epochs, tol=None, random_state=seed)
        model = MLPClassifier if self.classifier else MLPRegressor
        solver = dict(solver="sgd", momentum=0.9) if self.family == MLP_SGD else dict(solver="adam")
        return model(
            hidden_layer_sizes=(32,),
            learning_rate="constant",
            learning_rate_init=rate,
            max_iter=self.epochs,
            n_iter_no_change=self.epochs + 1,
            random_state=seed,
            **solver,
        )


def _unscale(X, seed, low=-1.0, high=3.0):
    """Columns multiplied by ``10 ** U(low, high)`` and shifted: badly conditioned raw data."""
    rng = np.random.RandomState(seed)
    scales = 10.0 ** rng.uniform(low, high, X.shape[1])
    return X * scales + rng.normal(0, 1, X.shape[1]) * scales


def _bag_of_words(n_samples, n_classes, n_words=1000, seed=0):
    """Word counts of generated documents: each class mixes a shared and its own word
    distribution; document lengths are Poisson(40). Returns a CSR matrix and the labels."""
    rng = np.random.RandomState(seed)
    background = rng.dirichlet(np.full(n_words, 0.1))
    topics = rng.dirichlet(np.full(n_words, 0.05), size=n_classes)
    y = rng.randint(n_classes, size=n_samples)
    lengths = rng.poisson(40, size=n_samples) + 1
    probabilities = 0.8 * background + 0.2 * topics[y]
    counts = np.vstack([rng.multinomial(n, p) for n, p in zip(lengths, probabilities, strict=True)])
    return sp.csr_matrix(counts, dtype=float), y


def _multilabel_counts(n_samples, seed=0):
    """``make_multilabel_classification`` counts (sparse), target: the first label."""
    X, Y = make_multilabel_classification(
        n_samples=n_samples,
        n_features=200,
        n_classes=5,
        n_labels=2,
        length=30,
        sparse=True,
        random_state=seed,
    )
    return X.astype(float), Y[:, 0]


def _load(loader):
    return loader(return_X_y=True)


def _regression(n_samples, n_features, noise, unscaled=False):
    X, y = make_regression(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_features // 2,
        noise=noise,
        random_state=0,
    )
    return (_unscale(X, 1) if unscaled else X), y


def _classification(n_samples, n_features, n_classes, unscaled=False):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_features // 2,
        n_classes=n_classes,
        n_clusters_per_class=2,
        flip_y=0.03,
        random_state=0,
    )
    return (_unscale(X, 2) if unscaled else X), y


def _moons(n_samples):
    return make_moons(n_samples=n_samples, noise=0.25, random_state=0)


def _friedman(maker, n_samples):
    return maker(n_samples=n_samples, noise=1.0, random_state=0)


def problems(quick=False):
    """The problem list (``quick``: three tiny ones for the smoke test)."""
    if quick:
        return [
            Problem(
                "quick iris ours", partial(_load, load_iris), OURS, "multiclass", 5, "standard"
            ),
            Problem("quick diabetes ours", partial(_load, load_diabetes), OURS, "regression", 5),
            Problem(
                "quick moons300 mlp-adam", partial(_moons, 300), MLP_ADAM, "binary", 5, "standard"
            ),
        ]
    return [
        # our linear SGD (batch 32)
        Problem(
            "diabetes ours std", partial(_load, load_diabetes), OURS, "regression", 20, "standard"
        ),
        Problem("diabetes ours raw", partial(_load, load_diabetes), OURS, "regression", 20),
        Problem("iris ours std", partial(_load, load_iris), OURS, "multiclass", 20, "standard"),
        Problem("wine ours raw", partial(_load, load_wine), OURS, "multiclass", 20),
        Problem(
            "cancer ours std", partial(_load, load_breast_cancer), OURS, "binary", 20, "standard"
        ),
        Problem("cancer ours raw", partial(_load, load_breast_cancer), OURS, "binary", 20),
        Problem("digits ours raw", partial(_load, load_digits), OURS, "multiclass", 20),
        Problem(
            "reg100k ours std",
            partial(_regression, 100_000, 20, 10.0),
            OURS,
            "regression",
            3,
            "standard",
        ),
        Problem(
            "reg20k ours raw", partial(_regression, 20_000, 20, 10.0, True), OURS, "regression", 10
        ),
        Problem(
            "clf50k ours std",
            partial(_classification, 50_000, 30, 2),
            OURS,
            "binary",
            5,
            "standard",
        ),
        Problem(
            "clf5k-5c ours raw", partial(_classification, 5000, 20, 5, True), OURS, "multiclass", 10
        ),
        Problem(
            "bow5k-4c ours maxabs",
            partial(_bag_of_words, 5000, 4),
            OURS,
            "multiclass",
            10,
            "maxabs",
        ),
        Problem("bow5k-2c ours raw", partial(_bag_of_words, 5000, 2, seed=1), OURS, "binary", 10),
        Problem(
            "mlcounts5k ours maxabs",
            partial(_multilabel_counts, 5000),
            OURS,
            "binary",
            10,
            "maxabs",
        ),
        # scikit-learn's MLPs (one hidden layer of 32, batch 200)
        Problem(
            "diabetes mlp-sgd std",
            partial(_load, load_diabetes),
            MLP_SGD,
            "regression",
            50,
            "standard",
        ),
        Problem(
            "friedman1 mlp-adam std",
            partial(_friedman, make_friedman1, 5000),
            MLP_ADAM,
            "regression",
            20,
            "standard",
        ),
        Problem(
            "friedman2 mlp-sgd std",
            partial(_friedman, make_friedman2, 5000),
            MLP_SGD,
            "regression",
            20,
            "standard",
        ),
        Problem(
            "cancer mlp-adam std",
            partial(_load, load_breast_cancer),
            MLP_ADAM,
            "binary",
            50,
            "standard",
        ),
        Problem("moons3k mlp-sgd std", partial(_moons, 3000), MLP_SGD, "binary", 20, "standard"),
        Problem(
            "digits mlp-sgd std", partial(_load, load_digits), MLP_SGD, "multiclass", 20, "standard"
        ),
        Problem("digits mlp-adam raw", partial(_load, load_digits), MLP_ADAM, "multiclass", 20),
        Problem(
            "clf10k-3c mlp-adam std",
            partial(_classification, 10_000, 20, 3),
            MLP_ADAM,
            "multiclass",
            10,
            "standard",
        ),
        Problem(
            "bow5k-4c mlp-adam maxabs",
            partial(_bag_of_words, 5000, 4),
            MLP_ADAM,
            "multiclass",
            10,
            "maxabs",
        ),
        Problem(
            "mlcounts5k mlp-sgd maxabs",
            partial(_multilabel_counts, 5000),
            MLP_SGD,
            "binary",
            10,
            "maxabs",
        ),
    ]


def quiet():
    """Silence the warnings a grid over rates produces by design (divergence, convergence)."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", UserWarning)
