"""LRFinderSearch: run the range test, pick a learning rate, refit (used like GridSearchCV)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv, cross_validate, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array, check_is_fitted, indexable

from ._adapters import budget_params, final_step, model_loss, rate_params, seeded
from ._compat import HasMethods, Interval, StrOptions, fit_context, safe_indexing
from .finder import (
    RANGE_TEST_CONSTRAINTS,
    LRFinderResult,
    class_weighted,
    lr_range_test,
    resolved_class_weight,
)
from .linear_model import _BaseSGD
from .schedules import Schedule

__all__ = ["LRFinderSearch"]

# Share of the data the race holds out when neither cv nor validation says which.
RACE_HOLD_OUT = 0.2


def _estimator_has(method):
    """Available when the fitted (or else the given) estimator has ``method``, and refit."""

    def check(search):
        if search.refit is False:
            raise AttributeError(
                f"{method} is not available with refit=False: there is no best_estimator_."
            )
        estimator = getattr(search, "best_estimator_", search.estimator)
        getattr(estimator, method)
        return True

    return check


class LRFinderSearch(MetaEstimatorMixin, BaseEstimator):
    """Pick the learning rate with the range test, then refit: a drop-in for a grid search.

    ``fit`` runs :func:`~sklearn_lrf.lr_range_test` on the training data (or once per fold of
    ``cv``, each fold's curve measured on its held-out part), takes the rate suggested by
    ``rule`` (the median over folds), and refits a clone of ``estimator`` on all the data with
    that rate, as a constant or as the peak of ``refit_schedule``. scikit-learn estimators are
    refitted with ``learning_rate="constant"`` when their policy would decay or ignore the
    rate (``SGDClassifier``'s default ``"optimal"`` ignores ``eta0``), as during the ramp.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Any estimator :func:`~sklearn_lrf.lr_range_test` supports, or a Pipeline ending in one.
    rule : {"default", "divergence_onset", "lag_corrected", "minimum", "steepest", "valley", \
"slide"} or callable, default="default"
        Suggestion rule that picks ``best_lr_``; ``"default"`` is ``"divergence_onset"``; or
        a callable ``rule(learning_rates, losses) -> float`` of the raw losses, as
        :func:`~sklearn_lrf.lr_range_test` takes it.
    cv : int, cross-validation generator, iterable or None, default=None
        None runs one range test on all the data. Otherwise one per training fold, with the
        fold's held-out part as the validation data of its curve.
    refit_schedule : Schedule or None, default=None
        For our SGD estimators: refit with ``refit_schedule.with_peak(best_lr_)`` instead of the
        constant ``best_lr_`` (e.g. ``OneCycle``).
    race : array-like of float > 0 or None, default=None
        Confirm the curve's pick with a short race: two or more distinct multiples of it, e.g.
        ``(1/3, 1, 3)``, each trained at that constant rate for ``race_budget`` of the
        estimator's epochs and scored by its held-out loss (the range test's loss: log loss or
        squared error / 2, weighted by ``sample_weight`` and ``class_weight``); the lowest wins
        and becomes ``best_lr_``. The multiples need not include 1 nor lie on both sides of it
        (``(1, 3, 10)`` only looks upwards). Held out: each fold's held-out part with ``cv``,
        else a seeded ``validation`` share of the data (20% when ``validation`` is None;
        stratified for classifiers) drawn for the race alone. A candidate whose training
        diverges or whose loss is not finite loses; if every candidate fails, ``fit`` raises.
        Needs an estimator whose epochs the search knows (``max_iter``: ours, scikit-learn's
        ``SGDRegressor``, ``SGDClassifier`` and MLPs; ``max_epochs``: skorch). None (the
        default) keeps the curve's pick and costs nothing.
    race_budget : float in (0, 1], default=0.2
        Share of the estimator's epochs (``max_iter`` or ``max_epochs``, rounded, at least 1)
        each candidate of ``race`` trains, with stopping on ``tol`` switched off so that every
        candidate trains the same epochs. With ``tol`` set, ``max_iter`` is only a cap, and the
        refit may stop sooner than the race's candidates; set ``max_iter`` to the epochs you
        mean to train.
    scoring : str, callable, list, tuple, dict or None, default=None
        With ``cv``: how each fold's model, fitted at ``best_lr_`` on the fold's training
        part, is scored on its held-out part (``cv_results_``, ``best_score_``), as in
        ``GridSearchCV``; None uses the estimator's ``score``. Several metrics are allowed.
    refit : bool or str, default=True
        Refit ``best_estimator_`` on all the data at ``best_lr_``. With several metrics, a
        metric's name (``best_score_`` is then its mean score) also means True.
    error_score : "raise" or float, default=np.nan
        Score of a fold whose scoring fit fails; "raise" raises. A failed range test always
        raises.
    verbose : int, default=0
        Print progress over the range tests, the scoring of the folds and the refit.
    n_jobs : int, default=None
        Folds run in parallel through joblib (``sklearn.utils.parallel``), so a joblib backend
        such as dask or ray can spread them over machines.
    min_lr, max_lr, n_steps, extend_decades, ramp, step_unit, restart_steps, smoothing, \
diverge_threshold, validation, lr_param, batch_size
        Passed to :func:`~sklearn_lrf.lr_range_test`.
    random_state : int, RandomState instance or None, default=None
        Seeds every range test (each fold gets the same seed), the folds of an int ``cv``
        when shuffled, and the race: its held-out split and every candidate's fit (the
        ``random_state`` of the final estimator, the same for all candidates; for a skorch
        net, which has none, torch's random state during the fit, restored after it).

    Attributes
    ----------
    best_lr_ : float
        The chosen learning rate: the curve's pick (``range_test_.best_lr``), or with ``race``
        the race's winner.
    best_params_ : dict
        The parameters that set ``best_lr_`` on ``estimator`` (with a Pipeline's step
        prefix; for scikit-learn estimators also the constant-rate policy, for
        ``refit_schedule`` the schedule peaking at ``best_lr_``), so that
        ``clone(estimator).set_params(**best_params_)`` is the refit's model.
    best_index_ : int
        Always 0: the row of ``cv_results_`` (the search has one candidate, the chosen rate).
    best_score_ : float
        Only with ``cv``: mean held-out score at ``best_lr_`` over the folds (for several
        metrics, of the one named by ``refit``).
    cv_results_ : dict of ndarray
        Only with ``cv``; ``pandas.DataFrame(cv_results_)`` reads it. One row, the chosen
        rate: ``params``, ``param_<name>``, per fold ``split<k>_test_<score>`` (scored as
        ``scoring`` says), ``split<k>_lr`` (the fold's own pick) and ``split<k>_ramp_loss``
        (the fold curve's smoothed loss at ``best_lr_``), their means and standard
        deviations, ``rank_test_<score>``, ``mean_fit_time``, ``mean_score_time`` and
        ``mean_range_test_time`` (with standard deviations).
    n_splits_ : int
        Only with ``cv``: the number of folds.
    scorer_ : callable or dict
        The scorer(s) built from ``scoring``.
    multimetric_ : bool
        Whether ``scoring`` names several metrics.
    best_estimator_ : estimator
        The clone refitted on all the data with ``best_lr_``; only with ``refit``.
    suggestions_ : dict of str to float
        Every rule's suggestion (medians over folds).
    range_test_ : LRFinderResult
        The curve (with folds: the median of the fold curves, and the median suggestions).
    race_results_ : dict or None
        Only with ``race`` (else None): ``learning_rates`` (the candidates, the curve's pick
        times ``race``), ``losses`` (mean held-out loss over the splits; inf when a candidate
        failed), ``split_losses`` (shape (n_candidates, n_splits)), ``errors`` (why each
        failed candidate failed, else None), ``best_index`` (the winner), ``budget`` (the
        parameters that shortened the training, e.g. ``{"max_iter": 4, "tol": None}``) and
        ``train_sizes`` (samples each candidate trained on, per split). With ``cv``,
        ``cv_results_`` also has the winner's ``split<k>_race_loss``.
    fold_range_tests_ : list of LRFinderResult or None
        Each fold's range test; None without ``cv``.
    range_test_time_ : float
        Seconds spent in range tests.
    refit_time_ : float
        Seconds spent refitting.
    classes_ : ndarray
        Class labels of a classifier.
    n_features_in_ : int
    feature_names_in_ : ndarray

    Notes
    -----
    What differs from ``GridSearchCV``: the rate is read off range-test curves, not chosen
    by the scores, so ``cv_results_`` has a single candidate and ``best_score_`` is the
    cross-validated score *at the chosen rate* (scored after the choice, on the same folds
    whose held-out parts measured the curves: like a grid search's best score, it is a
    slightly optimistic estimate; nest the search in ``cross_val_score`` for an unbiased
    one). Scoring the folds costs one fit per fold at ``best_lr_``. A race costs
    ``len(race) * race_budget`` fits per split (with the default ``race_budget``, three
    candidates cost about 0.6 of a fit on 80% of the data); the race compares constant
    rates, also when ``refit_schedule`` then refits with a schedule.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lrf import LRFinderSearch, SGDLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), SGDLinearRegressor(random_state=0))
    >>> search = LRFinderSearch(pipe, random_state=0).fit(X, y)
    >>> search.best_lr_ > 0
    True
    """

    _parameter_constraints: dict = {
        **RANGE_TEST_CONSTRAINTS,
        "estimator": [HasMethods(["fit"])],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, list, tuple, dict, None],
        "refit": ["boolean", str],
        "error_score": [StrOptions({"raise"}), Real],
        "verbose": ["verbose"],
        "refit_schedule": [Schedule, None],
        "race": ["array-like", None],
        "race_budget": [Interval(Real, 0, 1, closed="right")],
        "n_jobs": [Integral, None],
        "validation": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        estimator,
        *,
        rule="default",
        cv=None,
        scoring=None,
        refit=True,
        error_score=np.nan,
        verbose=0,
        refit_schedule=None,
        race=None,
        race_budget=0.2,
        n_jobs=None,
        min_lr=None,
        max_lr=None,
        n_steps=None,
        extend_decades=3.0,
        ramp="exponential",
        step_unit="batch",
        restart_steps=None,
        smoothing=0.98,
        diverge_threshold=4.0,
        validation=None,
        lr_param=None,
        batch_size=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.rule = rule
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.error_score = error_score
        self.verbose = verbose
        self.refit_schedule = refit_schedule
        self.race = race
        self.race_budget = race_budget
        self.n_jobs = n_jobs
        self.min_lr = min_lr
        self.max_lr = max_lr
        self.n_steps = n_steps
        self.extend_decades = extend_decades
        self.ramp = ramp
        self.step_unit = step_unit
        self.restart_steps = restart_steps
        self.smoothing = smoothing
        self.diverge_threshold = diverge_threshold
        self.validation = validation
        self.lr_param = lr_param
        self.batch_size = batch_size
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.target_tags.required = inner.target_tags.required
        return tags

    def _range_test_params(self, seed):
        return dict(
            min_lr=self.min_lr,
            max_lr=self.max_lr,
            n_steps=self.n_steps,
            extend_decades=self.extend_decades,
            ramp=self.ramp,
            step_unit=self.step_unit,
            restart_steps=self.restart_steps,
            smoothing=self.smoothing,
            diverge_threshold=self.diverge_threshold,
            rule=self.rule,
            lr_param=self.lr_param,
            batch_size=self.batch_size,
            random_state=seed,
        )

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, groups=None, **params):
        """Run the range test(s), pick ``best_lr_`` and refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv``.
        **params : dict
            Parameters of the estimator's ``fit``, as ``GridSearchCV`` takes them. Without
            metadata routing they all go to the refit, and ``sample_weight`` also weighs the
            range tests (for a Pipeline it goes to the final step). With
            ``sklearn.set_config(enable_metadata_routing=True)`` they go where the estimator
            requested them (``set_fit_request``), and the range tests take the routed
            ``sample_weight``.

        Returns
        -------
        self : LRFinderSearch
        """
        if self.cv is not None and self.validation is not None:
            raise ValueError(
                "validation and cv cannot be combined: with cv, each fold's curve is measured on "
                "the fold's held-out part. Set validation=None, or cv=None."
            )
        if self.refit_schedule is not None and not isinstance(self._final(), _BaseSGD):
            raise ValueError(
                f"refit_schedule needs SGDLinearRegressor or SGDLogisticClassifier; "
                f"{type(self._final()).__name__} takes only a float rate."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        self.scorer_ = check_scoring(self.estimator, self.scoring)
        self.multimetric_ = isinstance(self.scoring, (list, tuple, dict))
        refit_metric = self._refit_metric()
        routed_params = params
        fit_params, sample_weight, groups = self._route(groups, params)
        X, y, groups, sample_weight = indexable(X, y, groups, sample_weight)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if is_classifier(self.estimator):
            check_classification_targets(y)
        race = self._race_plan()
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        params = self._range_test_params(seed)
        if is_classifier(self.estimator):
            # Every fold knows every class, as the refit on all of y does.
            params["classes"] = np.unique(y)
        started = time.perf_counter()
        folds = None
        if self.cv is None:
            self._say("range test on all the data")
            self.fold_range_tests_ = None
            self.range_test_ = lr_range_test(
                self.estimator,
                X,
                y,
                sample_weight=sample_weight,
                validation=self.validation,
                **params,
            )
        else:
            cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
            folds = list(cv.split(X, y, groups))
            self._say(f"range tests on {len(folds)} folds")
            self.fold_range_tests_ = Parallel(n_jobs=self.n_jobs)(
                delayed(_fold_range_test)(self.estimator, X, y, sample_weight, train, test, params)
                for train, test in folds
            )
            for index, result in enumerate(self.fold_range_tests_):
                self._say(
                    f"fold {index + 1}/{len(folds)}: {len(result.learning_rates)} ramp steps, "
                    f"{result.stop_reason}; picked {result.best_lr:.3g}"
                )
            self.range_test_ = _aggregate(self.fold_range_tests_)
        self.range_test_time_ = time.perf_counter() - started
        self.suggestions_ = self.range_test_.suggestions
        self.best_lr_ = self.range_test_.best_lr
        if not np.isfinite(self.best_lr_):
            raise ValueError(
                f"The range test could not suggest a learning rate ({self.range_test_.stop_reason}"
                f"). Lower min_lr, scale the features, or raise diverge_threshold."
            )
        self.race_results_ = None
        if race is not None:
            race_seed = rng.randint(np.iinfo(np.int32).max)
            self.race_results_ = self._race(X, y, sample_weight, folds, *race, race_seed)
            self.best_lr_ = float(
                self.race_results_["learning_rates"][self.race_results_["best_index"]]
            )
        self.best_params_ = self._rate_params(self.best_lr_, self.refit_schedule)
        self.best_index_ = 0
        if folds is not None:
            self._say(f"chose {self.best_lr_:.3g}; scoring it on the {len(folds)} folds")
            self.n_splits_ = len(folds)
            self.cv_results_ = self._cv_results(X, y, folds, routed_params, fit_params)
            if refit_metric is not None:
                self.best_score_ = float(self.cv_results_[f"mean_test_{refit_metric}"][0])
        if self.refit is not False:
            self._say(f"refitting on all {len(y)} samples at {self.best_lr_:.3g}")
            started = time.perf_counter()
            estimator = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_ = estimator.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - started
        return self

    def _refit_metric(self):
        """Name of the score behind ``best_score_`` (None: several metrics, no name)."""
        if not self.multimetric_:
            return "score"
        names = self.scoring if not isinstance(self.scoring, dict) else list(self.scoring)
        if isinstance(self.refit, str):
            if self.refit not in names:
                raise ValueError(
                    f"refit={self.refit!r} is not one of the metrics in scoring: {list(names)}."
                )
            return self.refit
        if self.refit is True and len(names) > 1:
            raise ValueError(
                "With several metrics in scoring, set refit to the name of the one that "
                f"best_score_ reports ({', '.join(map(str, names))}), or refit=False."
            )
        return None

    def _cv_results(self, X, y, folds, routed_params, fit_params):
        """One row, the chosen rate: fold scores at ``best_lr_`` and what the ramps measured."""
        scores = cross_validate(
            clone(self.estimator).set_params(**self.best_params_),
            X,
            y,
            cv=folds,
            scoring=self.scoring,
            error_score=self.error_score,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            params=routed_params if get_config()["enable_metadata_routing"] else fit_params,
        )
        results = {"params": [self.best_params_]}
        for name, value in self.best_params_.items():
            results[f"param_{name}"] = np.ma.MaskedArray([value], dtype=object)
        per_fold = {
            "lr": [result.best_lr for result in self.fold_range_tests_],
            "ramp_loss": [_loss_at(result, self.best_lr_) for result in self.fold_range_tests_],
            **{key: scores[key] for key in scores if key.startswith("test_")},
        }
        if self.race_results_ is not None:
            race = self.race_results_
            per_fold["race_loss"] = race["split_losses"][race["best_index"]]
        for column, values in per_fold.items():
            for k, value in enumerate(values):
                results[f"split{k}_{column}"] = np.array([value])
            results[f"mean_{column}"] = np.array([np.mean(values)])
            results[f"std_{column}"] = np.array([np.std(values)])
            if column.startswith("test_"):
                results[f"rank_{column}"] = np.array([1], dtype=np.int32)
        times = {
            "fit_time": scores["fit_time"],
            "score_time": scores["score_time"],
            "range_test_time": [result.seconds for result in self.fold_range_tests_],
        }
        for name, values in times.items():
            results[f"mean_{name}"] = np.array([np.mean(values)])
            results[f"std_{name}"] = np.array([np.std(values)])
        return results

    def _race_plan(self):
        """``(factors, budget parameters)`` of the race, checked before any training (None
        without a race)."""
        if self.race is None:
            return None
        try:
            factors = np.asarray(self.race, dtype=float)
        except (TypeError, ValueError):
            factors = None
        if (
            factors is None
            or factors.ndim != 1
            or factors.size < 2
            or not np.all(np.isfinite(factors) & (factors > 0))
            or np.unique(factors).size < factors.size
        ):
            raise ValueError(
                "race must hold two or more distinct positive multiples of the curve's pick, "
                f"such as (1/3, 1, 3), or be None; got {self.race!r}."
            )
        return factors, budget_params(self._final(), self.race_budget)

    def _race(self, X, y, sample_weight, folds, factors, budget, seed):
        """Train the candidates ``best_lr_ * factors`` for ``race_budget`` of the epochs on the
        training part of each split and score them on its held-out part: ``race_results_``."""
        classifier = is_classifier(self.estimator)
        folds, where = self._race_splits(y, folds, seed)
        rates = self.best_lr_ * factors
        self._say(
            f"racing {len(rates)} rates around {self.best_lr_:.3g}, trained with {budget}, "
            f"scored on {where}"
        )
        classes = np.unique(y) if classifier else None
        class_weight = self._final().get_params().get("class_weight") if classifier else None
        outcomes = Parallel(n_jobs=self.n_jobs)(
            delayed(_race_loss)(candidate, X, y, sample_weight, class_weight, classes, split, seed)
            for candidate in self._race_candidates(rates, budget, seed)
            for split in folds
        )
        rows = [outcomes[i : i + len(folds)] for i in range(0, len(outcomes), len(folds))]
        split_losses = np.array([[loss for loss, _ in row] for row in rows])
        errors = [next((error for _, error in row if error), None) for row in rows]
        losses = split_losses.mean(axis=1)
        if not np.isfinite(losses).any():
            reasons = "; ".join(f"{r:.3g}: {e}" for r, e in zip(rates, errors, strict=True))
            raise ValueError(
                f"Every candidate rate of the race failed ({reasons}). Lower the factors of "
                "race, scale the features, or set race=None."
            )
        best = int(np.argmin(losses))
        for index, (rate, loss) in enumerate(zip(rates, losses, strict=True)):
            self._say(
                f"  rate {rate:.3g}: held-out loss {loss:.4g}"
                + (" (winner)" if index == best else "")
            )
        return dict(
            learning_rates=rates,
            losses=losses,
            split_losses=split_losses,
            errors=errors,
            best_index=best,
            budget=budget,
            train_sizes=[len(train) for train, _ in folds],
        )

    def _race_splits(self, y, folds, seed):
        """``(train, test)`` index pairs the race trains and scores on, and what they are: the
        folds of ``cv``, else one seeded split holding out ``validation`` (or 20%)."""
        if folds is not None:
            return folds, f"the held-out parts of {len(folds)} folds"
        hold_out = self.validation or RACE_HOLD_OUT
        split = train_test_split(
            np.arange(len(y)),
            test_size=hold_out,
            random_state=seed,
            stratify=y if is_classifier(self.estimator) else None,
        )
        return [split], f"a held-out {hold_out:.0%} of the data"

    def _race_candidates(self, rates, budget, seed):
        """Unfitted clones of ``estimator`` at each constant rate, with the shortened budget
        and, when the final estimator takes one, the ``random_state`` ``seed``."""
        shared = dict(budget)
        if "random_state" in self._final().get_params():
            shared["random_state"] = seed
        shared = _final_params(self.estimator, shared)
        return [
            clone(self.estimator).set_params(**self._rate_params(rate), **shared) for rate in rates
        ]

    def _say(self, message):
        if self.verbose:
            print(f"[{type(self).__name__}] {message}")

    def _route(self, groups, params):
        """``(fit parameters of the refit, sample_weight of the range tests, groups)``."""
        if get_config()["enable_metadata_routing"]:
            if groups is not None:
                params = {**params, "groups": groups}
            routed = process_routing(self, "fit", **params)
            splitter = routed.splitter.split if self.cv is not None else {}
            fit_params = routed.estimator.fit
            return fit_params, fit_params.get("sample_weight"), splitter.get("groups")
        sample_weight = params.get("sample_weight")
        if isinstance(self.estimator, Pipeline) and sample_weight is not None:
            params = dict(params)
            params[f"{self.estimator.steps[-1][0]}__sample_weight"] = params.pop("sample_weight")
        return params, sample_weight, groups

    def get_metadata_routing(self):
        """How ``fit`` routes metadata: to the estimator's ``fit``, and with ``cv`` to the
        splitter's ``split`` and the scorer.

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=type(self).__name__).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        if self.cv is not None:
            router.add(
                splitter=check_cv(self.cv),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            ).add(
                scorer=check_scoring(self.estimator, self.scoring),
                method_mapping=MethodMapping().add(caller="fit", callee="score"),
            )
        return router

    def _final(self):
        return final_step(self.estimator)

    def _rate_params(self, rate, schedule=None):
        """Parameters of ``estimator`` that make it train at ``rate``, as the ramp set them (as
        the peak of ``schedule`` when given)."""
        params = rate_params(self._final(), rate, self.lr_param, schedule)
        return _final_params(self.estimator, params)

    @property
    def classes_(self):
        """Class labels of the refitted classifier."""
        check_is_fitted(self)
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen during ``fit``."""
        check_is_fitted(self)
        return self.best_estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names seen during ``fit``, when X had string column names."""
        check_is_fitted(self)
        return self.best_estimator_.feature_names_in_

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform with ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None, sample_weight=None):
        """Score of ``best_estimator_`` (R^2 or accuracy for our estimators)."""
        check_is_fitted(self)
        if sample_weight is None:
            return self.best_estimator_.score(X, y)
        return self.best_estimator_.score(X, y, sample_weight=sample_weight)


def _final_params(estimator, params):
    """``params`` addressed to the final step when ``estimator`` is a Pipeline."""
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__{name}": value for name, value in params.items()}
    return params


def _fold_range_test(estimator, X, y, sample_weight, train, test, params):
    """Range test on one fold's training part, its curve measured on the held-out part."""
    X_train, y_train = safe_indexing(X, train), safe_indexing(y, train)
    validation = (safe_indexing(X, test), safe_indexing(y, test))
    train_weight = None
    if sample_weight is not None:
        train_weight = safe_indexing(sample_weight, train)
        validation += (safe_indexing(sample_weight, test),)
    return lr_range_test(
        estimator, X_train, y_train, sample_weight=train_weight, validation=validation, **params
    )


def _race_loss(candidate, X, y, sample_weight, class_weight, classes, split, seed):
    """``(held-out loss, None)`` of one race candidate fitted on a split's training part
    (seeded by ``seed`` where its parameters cannot be), or ``(inf, why)`` when its training
    fails (diverges) or its loss is not finite."""
    train, test = split
    y_train, y_test = safe_indexing(y, train), safe_indexing(y, test)
    fit_params, test_weight = {}, None
    if sample_weight is not None:
        train_weight = safe_indexing(sample_weight, train)
        fit_params = _final_params(candidate, {"sample_weight": train_weight})
        test_weight = safe_indexing(sample_weight, test)
    if class_weight is not None:
        class_weight = resolved_class_weight(class_weight, y_train)
        test_weight = class_weighted(y_test, test_weight, class_weight, classes)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # A short budget rarely converges; a diverging rate overflows: both expected here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            # Seeded around the loss too: torch's data loaders draw a seed even to predict.
            with seeded(final_step(candidate), seed):
                candidate.fit(safe_indexing(X, train), y_train, **fit_params)
                loss = model_loss(candidate, safe_indexing(X, test), y_test, test_weight, classes)
    except (ValueError, FloatingPointError, OverflowError) as error:
        return np.inf, f"{type(error).__name__}: {error}"
    if not np.isfinite(loss):
        return np.inf, "the held-out loss is not finite"
    return float(loss), None


def _loss_at(result, rate):
    """The smoothed loss of a curve at ``rate``, interpolated in log-rate (NaN off the curve)."""
    finite = np.isfinite(result.smoothed_losses)
    rates, losses = result.learning_rates[finite], result.smoothed_losses[finite]
    if not rates.size or not rates[0] <= rate <= rates[-1]:
        return np.nan
    return float(np.interp(np.log(rate), np.log(rates), losses))


def _log_median(rates):
    """Median on a log scale of the finite rates (NaN when there is none)."""
    rates = np.asarray(rates, dtype=float)
    rates = rates[np.isfinite(rates)]
    return float(np.exp(np.median(np.log(rates)))) if rates.size else np.nan


def _aggregate(results):
    """One result from the folds: the median of the fold curves (each interpolated in log-rate
    onto the rates of the longest, whose ends the data may have placed a little differently),
    and the median suggestion of every rule."""
    longest = max(results, key=lambda result: len(result.learning_rates))
    grid = np.log(longest.learning_rates)

    def on_grid(result, values):
        rates = np.log(result.learning_rates)
        return np.interp(grid, rates, values, left=np.nan, right=np.nan)

    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns past every fold's end
        losses = np.nanmedian([on_grid(r, r.losses) for r in results], axis=0)
        smoothed = np.nanmedian([on_grid(r, r.smoothed_losses) for r in results], axis=0)
    suggestions = {
        name: _log_median([result.suggestions[name] for result in results])
        for name in results[0].suggestions
    }
    stops = [r.diverged_at for r in results if r.diverged_at is not None]
    return LRFinderResult(
        learning_rates=longest.learning_rates,
        losses=losses,
        smoothed_losses=smoothed,
        diverged_at=min(stops) if stops else None,
        suggestions=suggestions,
        rule=results[0].rule,
        loss_name=results[0].loss_name + f", median of {len(results)} folds",
        n_updates=sum(r.n_updates for r in results),
        seconds=sum(r.seconds for r in results),
        stop_reason="; ".join(sorted({r.stop_reason for r in results})),
        settings=results[0].settings,
    )
