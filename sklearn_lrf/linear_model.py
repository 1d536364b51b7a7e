"""SGDLinearRegressor and SGDLogisticClassifier: scikit-learn glue over the one training loop."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    clone,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import assert_all_finite, check_random_state, compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _sgd
from ._compat import Interval, StrOptions, check_sample_weight, fit_context
from ._losses import BinaryLogLoss, MultinomialLogLoss, SquaredError
from .schedules import Constant, Schedule

__all__ = ["SGDLinearRegressor", "SGDLogisticClassifier"]


_COMMON_PARAMETERS_DOC = """learning_rate : float, Schedule or "auto", default="auto"
        Step size. A float is a constant rate; a :mod:`~sklearn_lrf.schedules` object maps the
        update count (per mini-batch or per epoch, as the schedule says) to a rate. ``"auto"``
        starts at ``1 / L(b)``, the inverse of the expected smoothness of a mini-batch of
        ``batch_size`` samples (see :func:`sklearn_lrf._sgd.auto_learning_rate`), which keeps a
        default fit stable on unscaled data; in ``fit`` with ``tol`` set, each of the first
        three plateaus divides the rate by 5 (like ``MLPRegressor(learning_rate="adaptive")``)
        so the final iterate settles, and the fourth stops training. ``partial_fit`` computes
        the rate from the data of its first call and keeps it. The starting rate is stored in
        ``learning_rate_``.
    batch_size : int >= 1, default=32
        Samples per mini-batch (the last batch of an epoch may be smaller).
    max_iter : int >= 1, default=200
        Maximum number of epochs (passes over the data) of ``fit``.
    shuffle : bool, default=True
        Shuffle the samples before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the early-stopping split. An int gives identical fits.
    momentum : float in [0, 1), default=0.0
        Heavy-ball momentum ``mu``: ``v <- mu v + g``, ``w <- w - lr v`` (PyTorch's convention).
    nesterov : bool, default=False
        Use Nesterov's momentum, ``w <- w - lr (g + mu v)``; requires ``momentum > 0``.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularisation term ``alpha * R(w)`` with ``R`` = ``||w||^2 / 2``, ``||w||_1`` or
        ``l1_ratio ||w||_1 + (1 - l1_ratio) ||w||^2 / 2``. The intercept is not penalised. The
        L1 part is applied by a proximal (soft-thresholding) step, so exact zeros stay zero.
    alpha : float >= 0, default=1e-4
        Strength of the penalty.
    l1_ratio : float in [0, 1], default=0.15
        Share of L1 in the elastic net; only used with ``penalty="elasticnet"``.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    tol : float >= 0 or None, default=1e-4
        A plateau is ``n_iter_no_change`` consecutive epochs in which the monitored value (the
        epoch's training objective, or the validation score with ``early_stopping``) did not
        improve by ``tol``; it stops training (with ``"auto"``, see ``learning_rate``).
        ``None`` runs all ``max_iter`` epochs.
    n_iter_no_change : int >= 1, default=5
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and monitor its score (R^2 for
        regression, accuracy for classification) instead of the training objective.
    validation_fraction : float in (0, 1), default=0.1
        Share of the data held out when ``early_stopping`` is set.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (the schedule and momentum start afresh).
    verbose : int, default=0
        Print one line per epoch when positive."""

_COMMON_ATTRIBUTES_DOC = """learning_rate_ : Schedule
        The schedule actually used (a ``Constant`` for a float or ``"auto"``).
    n_iter_ : int
        Epochs run by the last call to ``fit`` or ``partial_fit``.
    t_ : int
        Mini-batch updates made since the model was first fitted.
    loss_curve_ : list of float
        Training objective per epoch of the last call: the mean loss of the epoch's mini-batches
        (each measured before its update) plus the penalty at the end of the epoch.
    validation_scores_ : list of float
        Validation score per epoch; only with ``early_stopping=True``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names."""


# With learning_rate="auto", plateaus divide the rate by 5 this many times before stopping.
_AUTO_PLATEAU_REDUCTIONS = 3


class _BaseSGD(BaseEstimator):
    """Shared parameters and fitting logic of the two estimators."""

    _parameter_constraints: dict = {
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            Schedule,
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        learning_rate="auto",
        *,
        batch_size=32,
        max_iter=200,
        shuffle=True,
        random_state=None,
        momentum=0.0,
        nesterov=False,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.momentum = momentum
        self.nesterov = nesterov
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- subclass hooks ------------------------------------------------------------------

    def _encode_targets(self, y, dtype, first_call, classes):
        """Check ``y`` (setting label attributes on the first call), then encode it."""
        return self._loop_targets(y, dtype)

    def _loop_targets(self, y, dtype):
        """``(Y, loss, n_outputs)``: targets encoded for the training loop, and its loss."""
        raise NotImplementedError

    def _sample_weight(self, sample_weight, X, y, incremental):
        """Validated per-sample weights, or None when every weight is 1."""
        if sample_weight is None:
            return None
        return check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)

    def _validation_score(self, params, X, y, sample_weight):
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------------

    def _settings(self, loss, schedule):
        penalty_weight = {"l2": (0.0, 1.0), "l1": (1.0, 0.0), None: (0.0, 0.0)}.get(
            self.penalty, (self.l1_ratio, 1.0 - self.l1_ratio)
        )
        return _sgd.Settings(
            loss=loss,
            schedule=schedule,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            momentum=self.momentum,
            nesterov=self.nesterov,
            l1=self.alpha * penalty_weight[0],
            l2=self.alpha * penalty_weight[1],
            fit_intercept=self.fit_intercept,
        )

    def _resolve_schedule(self, X, sample_weight, loss):
        if isinstance(self.learning_rate, Schedule):
            return clone(self.learning_rate).validate()
        if self.learning_rate == "auto":
            return Constant(self._stable_rate(X, sample_weight, loss, self.batch_size))
        return Constant(float(self.learning_rate))

    def _stable_rate(self, X, sample_weight, loss, batch_size):
        """``1 / L(batch_size)``, the rate ``learning_rate="auto"`` starts from (also where the
        range test places its ramp); an overflow of the squares of X is an error."""
        with np.errstate(over="ignore", invalid="ignore"):
            rate = _sgd.auto_learning_rate(
                X,
                sample_weight,
                loss,
                batch_size,
                self._settings(loss, None).l2,
                self.fit_intercept,
            )
        if not rate > 0:  # X is not finite, or its squares overflowed: L is inf or NaN
            _raise_if_not_finite(X, self)
            raise ValueError(
                "Floating-point overflow while computing learning_rate='auto' (the stable step "
                f"1/L) from the squares of X (largest |X| is {float(abs(X).max()):.3g}). Scale "
                "the features "
                "(StandardScaler or MinMaxScaler), or pass a float learning_rate (for the "
                "range test: min_lr and max_lr)."
            )
        return rate

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        """Train; a call that raises leaves every fitted attribute as it was."""
        fitted_state = dict(vars(self))
        try:
            return self._train(X, y, sample_weight, incremental=incremental, classes=classes)
        except BaseException:
            vars(self).clear()
            vars(self).update(fitted_state)
            raise

    def _train(self, X, y, sample_weight, *, incremental, classes):
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True requires momentum > 0; set momentum, e.g. 0.9.")
        first_call = not (incremental and hasattr(self, "_params"))
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=first_call,
            y_numeric=not is_classifier(self),
            # Checked only when training fails (_raise_if_not_finite): every row's loss is
            # computed in the first epoch, and a non-finite value in X makes it non-finite.
            ensure_all_finite=False,
        )
        Y, loss, n_outputs = self._encode_targets(y, X.dtype, first_call, classes)
        sample_weight = self._sample_weight(sample_weight, X, y, incremental)

        if first_call:
            rng = check_random_state(self.random_state)
            params = _sgd.Parameters(
                coef=np.zeros((X.shape[1], n_outputs), dtype=X.dtype),
                intercept=np.zeros(n_outputs, dtype=X.dtype),
            )
            if self.warm_start and not incremental and hasattr(self, "_params"):
                if self._params.coef.shape != params.coef.shape:
                    raise ValueError(
                        f"X has {X.shape[1]} features and y {n_outputs} output(s), but "
                        f"{type(self).__name__} was fitted with {self._params.coef.shape[0]} "
                        f"features and {self._params.coef.shape[1]} output(s); warm_start=True "
                        "continues from those coefficients. Set warm_start=False to start anew."
                    )
                params.coef[:] = self._params.coef
                params.intercept[:] = self._params.intercept
        else:
            rng = self._rng
            params = self._params.copy()

        validation_score = None
        if self.early_stopping and not incremental:
            X, y, Y, sample_weight, validation_data = self._split_validation(
                X, y, Y, sample_weight, rng
            )
            validation_score = lambda p: self._validation_score(p, *validation_data)  # noqa: E731

        if sample_weight is not None:
            sample_weight = sample_weight / sample_weight.mean()
        schedule = (
            self.learning_rate_
            if incremental and not first_call
            else self._resolve_schedule(X, sample_weight, loss)
        )
        try:
            log = _sgd.train(
                X,
                Y,
                sample_weight,
                params,
                self._settings(loss, schedule),
                max_epochs=1 if incremental else self.max_iter,
                rng=rng,
                tol=None if incremental else self.tol,
                n_iter_no_change=self.n_iter_no_change,
                plateau_reductions=_AUTO_PLATEAU_REDUCTIONS if self.learning_rate == "auto" else 0,
                validation_score=validation_score,
                verbose=self.verbose,
                name=type(self).__name__,
            )
        except _sgd.DivergenceError:
            _raise_if_not_finite(X, self)
            raise
        if not incremental and self.tol is not None and not log.converged:
            warnings.warn(
                f"{type(self).__name__} ran all max_iter={self.max_iter} epochs and the "
                f"monitored value was still improving by more than tol={self.tol}. Increase "
                "max_iter, or pick a larger learning rate (LRFinderSearch finds one).",
                ConvergenceWarning,
                stacklevel=4,  # the caller of fit, past fit and scikit-learn's _fit_context
            )
        self._commit(params, rng, schedule, log)
        return self

    def _split_validation(self, X, y, Y, sample_weight, rng):
        """Hold out ``validation_fraction`` of the rows, stratified for classifiers when every
        class can be represented on both sides."""
        n_validation = int(np.ceil(self.validation_fraction * X.shape[0]))
        stratify = None
        if is_classifier(self):
            counts = np.unique(y, return_counts=True)[1]
            if counts.min() >= 2 and len(counts) <= min(n_validation, X.shape[0] - n_validation):
                stratify = y
        if n_validation >= X.shape[0]:
            raise ValueError(
                f"early_stopping needs samples on both sides of the split; with "
                f"{X.shape[0]} samples and validation_fraction={self.validation_fraction} the "
                "training side is empty. Use more data or early_stopping=False."
            )
        train, validation = train_test_split(
            np.arange(X.shape[0]), test_size=n_validation, random_state=rng, stratify=stratify
        )
        weights = None if sample_weight is None else sample_weight[validation]
        validation_data = (X[validation], y[validation], weights)
        _raise_if_not_finite(validation_data[0], self)  # training never reads these rows
        train_weights = None if sample_weight is None else sample_weight[train]
        return X[train], y[train], Y[train], train_weights, validation_data

    def _commit(self, params, rng, schedule, log):
        """Publish a successful run: nothing is stored when training raised."""
        self._params = params
        self._rng = rng
        self.learning_rate_ = schedule
        self.coef_ = params.coef.T.copy()
        self.intercept_ = params.intercept.copy()
        self.n_iter_ = len(log.losses)
        self.t_ = params.n_updates
        self.loss_curve_ = log.losses
        if log.validation_scores:
            self.validation_scores_ = log.validation_scores

    def _decision(self, X, coef, intercept):
        """Linear outputs ``X @ coef.T + intercept`` of shape (n_samples, n_outputs)."""
        return np.asarray(X @ coef.T) + intercept

    def _linear_outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32])
        return self._decision(X, np.atleast_2d(self.coef_), self.intercept_)


def _classes_and_codes(y):
    """``np.unique(y, return_inverse=True)``; by counting when ``y`` holds integers in a range
    no wider than its length (3x faster on 200,000 labels)."""
    if y.dtype.kind in "iu" and y.size and int(y.max()) - int(y.min()) < y.size:
        low = y.min()
        # In y's dtype when unsigned (y >= low), else in int64: neither wraps around.
        shifted = (y - low if y.dtype.kind == "u" else y.astype(np.int64) - low).astype(np.intp)
        present = np.bincount(shifted) > 0
        classes = np.flatnonzero(present).astype(y.dtype) + low
        return classes, (np.cumsum(present) - 1)[shifted]
    return np.unique(y, return_inverse=True)


def _raise_if_not_finite(X, estimator):
    """Raise scikit-learn's error for a NaN or infinite value in ``X``, if it holds one.

    ``fit`` skips this check up front (one more pass over X) and runs it when training or the
    stable step come out non-finite, as a non-finite value in X makes them.
    """
    try:
        assert_all_finite(X, input_name="X", estimator_name=type(estimator).__name__)
    except ValueError as error:
        raise error from None


class SGDLinearRegressor(RegressorMixin, _BaseSGD):
    """Linear least-squares regression trained by mini-batch SGD.

    Minimises ``sum_i w_i (x_i . coef + intercept - y_i) ** 2 / (2 sum_i w_i) + alpha R(coef)``
    by mini-batch stochastic gradient descent with a learning-rate schedule.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Weights, in the dtype of the training data.
    intercept_ : ndarray of shape (1,)
    {attributes}

    See Also
    --------
    sklearn.linear_model.SGDRegressor : scikit-learn's per-sample SGD.
    LRFinderSearch : pick ``learning_rate`` with the learning-rate range test.

    Notes
    -----
    Sample weights are rescaled to mean 1 over the data of each call, so they change the
    relative importance of samples, not the step size.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_lrf import SGDLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = SGDLinearRegressor(random_state=0).fit(X, y)
    >>> model.coef_.shape
    (10,)
    """

    def _loop_targets(self, y, dtype):
        return y.astype(dtype, copy=False)[:, None], SquaredError, 1

    def _validation_score(self, params, X, y, sample_weight):
        outputs = self._decision(X, params.coef.T, params.intercept)[:, 0]
        return r2_score(y, outputs, sample_weight=sample_weight)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by up to ``max_iter`` epochs of mini-batch SGD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDLinearRegressor
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``X``, continuing the schedule, momentum and shuffling stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDLinearRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._linear_outputs(X)[:, 0]

    def _commit(self, params, rng, schedule, log):
        super()._commit(params, rng, schedule, log)
        self.coef_ = self.coef_[0]


class SGDLogisticClassifier(ClassifierMixin, _BaseSGD):
    """Logistic regression (binary or multinomial) trained by mini-batch SGD.

    Two classes use one output and the binary log loss; more classes use one output per class
    and the multinomial (softmax) log loss. The objective is
    ``sum_i w_i log_loss_i / sum_i w_i + alpha R(coef)``.

    Parameters
    ----------
    {params}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))``; it needs all the data, so ``partial_fit``
        is not available with it.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    {attributes}

    See Also
    --------
    sklearn.linear_model.SGDClassifier : scikit-learn's per-sample SGD (one-vs-rest).
    sklearn.linear_model.LogisticRegression : the same model fitted by a deterministic solver.

    Notes
    -----
    Sample weights (including class weights) are rescaled to mean 1 over the data of each call,
    so they change the relative importance of samples, not the step size.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_lrf import SGDLogisticClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SGDLogisticClassifier(random_state=0).fit(X, y)
    >>> model.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **_BaseSGD._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        learning_rate="auto",
        *,
        batch_size=32,
        max_iter=200,
        shuffle=True,
        random_state=None,
        momentum=0.0,
        nesterov=False,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        verbose=0,
        class_weight=None,
    ):
        super().__init__(
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            momentum=momentum,
            nesterov=nesterov,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            warm_start=warm_start,
            verbose=verbose,
        )
        self.class_weight = class_weight

    def _encode_targets(self, y, dtype, first_call, classes):
        codes = None
        if first_call:
            if classes is None:
                # One pass for the classes and the codes. y is 1-D here, so its classes have
                # its label type, and checking them is checking y.
                self.classes_, codes = _classes_and_codes(y)
                check_classification_targets(self.classes_)
            else:
                check_classification_targets(y)
                self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes; the data "
                    f"has only one class: {self.classes_[0]!r}."
                )
        else:
            check_classification_targets(y)
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from the classes of the "
                    f"first partial_fit call, {self.classes_.tolist()}."
                )
        return self._coded_targets(self._codes(y) if codes is None else codes, dtype)

    def _loop_targets(self, y, dtype):
        return self._coded_targets(self._codes(y), dtype)

    def _codes(self, y):
        """Index of each label of ``y`` in ``classes_``; an unknown label is an error."""
        codes = np.searchsorted(self.classes_, y)
        n_classes = len(self.classes_)
        unknown = (codes >= n_classes) | (self.classes_[np.minimum(codes, n_classes - 1)] != y)
        if np.any(unknown):
            raise ValueError(
                f"y holds labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(np.asarray(y)[unknown]).tolist()}. Pass every label in "
                "`classes` on the first call to partial_fit."
            )
        return codes

    def _coded_targets(self, codes, dtype):
        """Targets for the training loop from the class codes, the loss and the number of
        outputs."""
        Y = codes.astype(dtype)[:, None]
        if len(self.classes_) == 2:
            return Y, BinaryLogLoss, 1
        return Y, MultinomialLogLoss, len(self.classes_)

    def _sample_weight(self, sample_weight, X, y, incremental):
        weights = super()._sample_weight(sample_weight, X, y, incremental)
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            class_weights = per_class[np.searchsorted(self.classes_, y)].astype(X.dtype)
            weights = class_weights if weights is None else weights * class_weights
        if weights is not None and not incremental:
            weighted_classes = np.unique(y[weights > 0])
            if len(weighted_classes) < 2:
                raise ValueError(
                    f"{len(weighted_classes)} class(es) have positive weight "
                    f"({weighted_classes.tolist()}) once sample_weight and class_weight are "
                    f"combined; {type(self).__name__} needs at least 2. Check the weights."
                )
        elif weights is not None and not weights.any():
            raise ValueError(
                "Every sample of this partial_fit call has zero weight once sample_weight and "
                "class_weight are combined; there is nothing to learn from. Check the weights."
            )
        return weights

    def _validation_score(self, params, X, y, sample_weight):
        outputs = self._decision(X, params.coef.T, params.intercept)
        return accuracy_score(y, self._labels(outputs), sample_weight=sample_weight)

    def _labels(self, outputs):
        if outputs.shape[1] == 1:
            return self.classes_[(outputs[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(outputs, axis=1)]

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by up to ``max_iter`` epochs of mini-batch SGD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any type numpy can sort.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDLogisticClassifier
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit_available(self):
        if self.class_weight == "balanced":
            raise AttributeError(
                "partial_fit is not available with class_weight='balanced', which needs all "
                "the data. Compute the weights once with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
            )
        return True

    @available_if(_partial_fit_available)
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``X``, continuing the schedule, momentum and shuffling stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever be seen; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDLogisticClassifier
        """
        if not hasattr(self, "_params") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit, e.g. "
                "classes=np.unique(y_all)."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def decision_function(self, X):
        """Linear outputs: log-odds of ``classes_[1]`` (binary) or per-class scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        outputs = self._linear_outputs(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def predict(self, X):
        """Predict class labels (the class of highest probability).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._labels(self._linear_outputs(X))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        outputs = self._linear_outputs(X)
        if outputs.shape[1] == 1:
            positive = expit(outputs[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(outputs, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed without overflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        outputs = self._linear_outputs(X)
        if outputs.shape[1] == 1:
            return np.column_stack([log_expit(-outputs[:, 0]), log_expit(outputs[:, 0])])
        return log_softmax(outputs, axis=1)


for _estimator in (SGDLinearRegressor, SGDLogisticClassifier):
    _estimator.__doc__ = _estimator.__doc__.format(
        params=_COMMON_PARAMETERS_DOC, attributes=_COMMON_ATTRIBUTES_DOC
    )
