"""Data larger than memory: dask collections and iterables of blocks are cut into mini-batches
of ``batch_size``, computed one block at a time, and lead to ``dask_ml``'s ``Incremental``."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDRegressor

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier, lr_range_test

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

PARAMS = dict(min_lr=1e-4, max_lr=1.0, n_steps=19, extend_decades=0, random_state=0)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=1000, n_features=5, noise=1.0, random_state=0)
    return X, y / y.std()


def consecutive_batches(X, y, size, w=None):
    """The reference: consecutive in-memory mini-batches of ``size`` rows."""
    return [
        (X[i : i + size], y[i : i + size], *([] if w is None else [w[i : i + size]]))
        for i in range(0, len(X), size)
    ]


def in_memory(estimator, X, y, size, w=None, **params):
    return lr_range_test(
        estimator, iter(consecutive_batches(X, y, size, w)), batch_size=size, **PARAMS, **params
    )


@pytest.mark.parametrize("chunks", [(100, 5), (130, 2), (1000, 5)])
def test_dask_array_is_cut_into_the_in_memory_batches(regression, chunks):
    """Blocks larger than a batch, not a multiple of it, split over columns, or one block."""
    X, y = regression
    X_dask, y_dask = da.from_array(X, chunks=chunks), da.from_array(y, chunks=chunks[0])
    streamed = lr_range_test(SGDLinearRegressor(), X_dask, y_dask, batch_size=20, **PARAMS)
    expected = in_memory(SGDLinearRegressor(), X, y, 20)
    np.testing.assert_array_equal(streamed.losses, expected.losses)
    assert streamed.settings["batch_size"] == 20 and streamed.n_updates == 19


def test_default_batch_size_is_used_and_reported(regression):
    """50k-row blocks once ran out as 50k-row batches while the result reported 32."""
    X, y = regression
    X_dask, y_dask = da.from_array(X, chunks=(1000, 5)), da.from_array(y, chunks=1000)
    result = lr_range_test(SGDLinearRegressor(), X_dask, y_dask, **PARAMS)
    assert result.settings["batch_size"] == SGDLinearRegressor().batch_size == 32
    np.testing.assert_array_equal(result.losses, in_memory(SGDLinearRegressor(), X, y, 32).losses)


def test_lazy_blocks_of_an_iterable_are_computed(regression):
    """``zip(X.blocks, y.blocks)`` (lazy blocks) once failed with AttributeError '_meta'."""
    X, y = regression
    X_dask, y_dask = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    blocks = zip(X_dask.blocks, y_dask.blocks, strict=True)
    streamed = lr_range_test(SGDLinearRegressor(), blocks, batch_size=20, **PARAMS)
    expected = in_memory(SGDLinearRegressor(), X, y, 20)
    np.testing.assert_array_equal(streamed.losses, expected.losses)


def test_only_the_blocks_the_ramp_needs_are_computed(regression):
    X, y = regression
    computed = []

    def load(block):
        computed.append(len(block))
        return block

    X_dask = da.from_array(X, chunks=(100, 5)).map_blocks(load, meta=np.empty((0, 5)))
    y_dask = da.from_array(y, chunks=100)
    with dask.config.set(scheduler="synchronous"):
        lr_range_test(SGDLinearRegressor(), X_dask, y_dask, batch_size=20, **PARAMS)
    # 20 batches of 20 rows (the ramp's 19 and the one its last loss is measured on).
    assert computed == [100] * 4


def test_weights_and_in_memory_targets(regression):
    X, y = regression
    w = np.random.RandomState(0).uniform(0.1, 2.0, len(y))
    X_dask = da.from_array(X, chunks=(150, 5))
    expected = in_memory(SGDLinearRegressor(), X, y, 25, w)
    for targets, weights in [(da.from_array(y, chunks=100), da.from_array(w, chunks=75)), (y, w)]:
        streamed = lr_range_test(
            SGDLinearRegressor(), X_dask, targets, sample_weight=weights, batch_size=25, **PARAMS
        )
        np.testing.assert_allclose(streamed.losses, expected.losses, rtol=1e-12)


def test_dask_dataframe_and_series():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=600, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(target=y)
    lazy = dd.from_pandas(frame, npartitions=4)
    estimator = SGDLogisticClassifier()
    streamed = lr_range_test(
        estimator, lazy[list("abcd")], lazy["target"], batch_size=16, classes=[0, 1], **PARAMS
    )
    expected = in_memory(estimator, X, y, 16, classes=[0, 1])
    np.testing.assert_allclose(streamed.losses, expected.losses, rtol=1e-13)


def test_bad_block_is_named_and_misaligned_collections_are_refused(regression):
    X, y = regression
    X_bad = X.copy()
    X_bad[250, 2] = np.nan
    X_dask = da.from_array(X_bad, chunks=(100, 5))
    with pytest.raises(ValueError, match="Block 2 is invalid: Input X contains NaN"):
        lr_range_test(SGDLinearRegressor(), X_dask, da.from_array(y, chunks=100), **PARAMS)
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X_frame = dd.from_pandas(pd.DataFrame(X), npartitions=4)
    y_series = dd.from_pandas(pd.Series(y), npartitions=3)
    with pytest.raises(ValueError, match="X has 4 row blocks but y has 3"):
        lr_range_test(SGDLinearRegressor(), X_frame, y_series, **PARAMS)
    with pytest.raises(ValueError, match="unknown row chunks; pass y as a dask collection"):
        lr_range_test(SGDLinearRegressor(), X_frame, y, **PARAMS)
    with pytest.raises(ValueError, match="Pass classes="):
        lr_range_test(SGDLogisticClassifier(), X_dask, da.from_array(y > 0, chunks=100))


def test_incremental_fits_at_the_chosen_rate_on_a_local_cluster(regression):
    """The documented path: range test on a dask array, then dask-ml's Incremental at best_lr,
    on a LocalCluster bound to 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = regression
    X_dask, y_dask = da.from_array(X, chunks=(200, 5)), da.from_array(y, chunks=200)
    sgd = SGDRegressor(learning_rate="constant", shuffle=False, random_state=0)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            host="127.0.0.1",
            protocol="tcp",
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        distributed.Client(cluster),
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        result = lr_range_test(sgd, X_dask, y_dask, batch_size=50, **PARAMS)
        incremental = wrappers.Incremental(
            sgd.set_params(eta0=result.best_lr), shuffle_blocks=False
        )
        fitted = incremental.fit(X_dask, y_dask)
    assert fitted.estimator_.eta0 == result.best_lr
    reference = SGDRegressor(**sgd.get_params())
    for start in range(0, len(X), 200):  # Incremental: one partial_fit per block, in order
        reference.partial_fit(X[start : start + 200], y[start : start + 200])
    np.testing.assert_allclose(fitted.estimator_.coef_, reference.coef_, rtol=1e-12)
    assert fitted.score(X, y) > 0.9
