"""Per-epoch speed of the SGD estimators against scikit-learn's and against the machine's limits.

Run ``python benchmarks/bench_sgd.py`` (a few minutes on 2 cores). Three groups of contenders
(dense 200,000 x 100; sparse CSR 200,000 x 50,000 with 50 stored values per row; 10 classes on
dense 100,000 x 100) are timed in interleaved rounds: each round runs every contender of the
group once, in turn, so a busy machine slows all of them alike. A contender's time per epoch is
its best round's, a fit's wall time (input checks included) divided by its epochs. Each ratio
is printed against its target, next to the machine's own limits measured in the same rounds:
reading the rows of X in a shuffled order (prefetched; the fastest of four prefetch distances)
and in order, and a numpy loop of mini-batch softmax regression (gather 256 rows, two GEMMs). BLAS
runs on one thread throughout. ``--group sparse`` (repeatable) runs only the named groups.
"""

import argparse
import platform
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp
import sklearn
from numba import njit
from sklearn.linear_model import SGDClassifier, SGDRegressor
from threadpoolctl import threadpool_limits

from sklearn_lrf import SGDLinearRegressor, SGDLogisticClassifier
from sklearn_lrf._prefetch import prefetch_row, prefetch_span

RATE = 1e-3
ALPHA = 1e-4


def cpu_model():
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def dense_data(n_samples, n_features, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    scores = X @ rng.standard_normal((n_features, n_classes)) / np.sqrt(n_features)
    if n_classes == 1:
        y = scores[:, 0] + 0.1 * rng.standard_normal(n_samples)
        return X, y, (rng.random(n_samples) < 1 / (1 + np.exp(-3 * scores[:, 0]))).astype(int)
    return X, np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)


def sparse_data(n_samples, n_features, nnz_per_row, seed=0):
    rng = np.random.default_rng(seed)
    indices = np.sort(
        rng.integers(0, n_features, size=(n_samples, nnz_per_row)).astype(np.int32), axis=1
    )
    indptr = np.arange(0, n_samples * nnz_per_row + 1, nnz_per_row)
    data = rng.standard_normal(n_samples * nnz_per_row)
    X = sp.csr_matrix((data, indices.ravel(), indptr), shape=(n_samples, n_features))
    X.sum_duplicates()
    coef = rng.standard_normal(n_features)
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-(X @ coef) / np.sqrt(nnz_per_row)))).astype(int)
    return X, y


# -- the machine's limits --------------------------------------------------------------------

# The shuffled reads prefetch with the training loop's intrinsics, at several distances (below).
# The reads sum what they read; reassociation lets the sums vectorise, so that they
# measure memory, not the latency of a chain of additions.
_fast = njit(fastmath={"reassoc"})


@_fast
def _read_dense(X, order, prefetch_rows):
    total = 0.0
    for position in range(order.shape[0]):
        if prefetch_rows and position + prefetch_rows < order.shape[0]:
            prefetch_row(X, order[position + prefetch_rows])
        row = order[position]
        for f in range(X.shape[1]):
            total += X[row, f]
    return total


@_fast
def _read_sparse(data, indices, indptr, order, prefetch_rows):
    total = 0.0
    for position in range(order.shape[0]):
        if prefetch_rows and position + prefetch_rows < order.shape[0]:
            upcoming = order[position + prefetch_rows]
            prefetch_span(data, indptr[upcoming], indptr[upcoming + 1])
            prefetch_span(indices, indptr[upcoming], indptr[upcoming + 1])
        row = order[position]
        for j in range(indptr[row], indptr[row + 1]):
            total += data[j] * indices[j]
    return total


def read_rows(X, epochs, rng, prefetch_bytes=None):
    """One pass over the rows of X per epoch: shuffled, each row prefetched ``prefetch_bytes``
    of X ahead, or in order (None); the permutations are drawn before the clock starts."""
    shuffled = prefetch_bytes is not None
    orders = [rng.permutation(X.shape[0]) if shuffled else np.arange(X.shape[0])] * epochs
    if sp.issparse(X):
        row_bytes = (X.data.itemsize + X.indices.itemsize) * X.nnz / X.shape[0]
        distance = int(prefetch_bytes // row_bytes) + 1 if shuffled else 0

        def run():
            for order in orders:
                _read_sparse(X.data, X.indices, X.indptr, order, distance)

    else:
        distance = prefetch_bytes // X.strides[0] + 1 if shuffled else 0

        def run():
            for order in orders:
                _read_dense(X, order, distance)

    return run


# The machine's shuffled read is the fastest of these prefetch distances (bytes of X ahead): the
# best one differs between machines, and from the training loop's (_PREFETCH_BYTES). On a
# 2-core Xeon, 100 float64 columns read 20% faster at 32 KiB than at the loop's 16 KiB.
READ_DISTANCES = (8192, 16384, 32768, 65536)
SHUFFLED_READ = "read shuffled rows of X, prefetch"


def shuffled_reads(X, epochs, rng):
    """Contenders that read the rows of X in a shuffled order, one per prefetch distance."""
    return {
        f"{SHUFFLED_READ} {distance // 1024} KiB ahead": read_rows(X, epochs, rng, distance)
        for distance in READ_DISTANCES
    }


def fastest_read(seconds):
    """Seconds per epoch of the fastest shuffled read, and its prefetch distance."""
    name = min((name for name in seconds if name.startswith(SHUFFLED_READ)), key=seconds.get)
    return seconds[name], name.removeprefix(SHUFFLED_READ).strip()


def numpy_softmax_loop(X, y, epochs, batch_size, seed=0):
    """Mini-batch softmax regression in plain numpy: gather, two GEMMs, softmax."""
    n_classes = int(y.max()) + 1

    def run():
        rng = np.random.RandomState(seed)
        coef = np.zeros((X.shape[1], n_classes))
        intercept = np.zeros(n_classes)
        for _ in range(epochs):
            order = rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                rows = order[start : start + batch_size]
                X_batch = X[rows]
                P = X_batch @ coef + intercept
                P -= P.max(axis=1, keepdims=True)
                np.exp(P, out=P)
                P /= P.sum(axis=1, keepdims=True)
                P[np.arange(len(rows)), y[rows]] -= 1.0
                step = RATE / len(rows)
                coef *= 1.0 - RATE * ALPHA
                coef -= step * (X_batch.T @ P)
                intercept -= step * P.sum(axis=0)

    return run


# -- contenders --------------------------------------------------------------------------------


def fit(model, X, y):
    return lambda: model.fit(X, y)


def ours(Estimator, epochs, batch_size):
    return Estimator(
        learning_rate=RATE,
        batch_size=batch_size,
        max_iter=epochs,
        tol=None,
        random_state=0,
        alpha=ALPHA,
    )


def theirs(Estimator, epochs, **kwargs):
    return Estimator(
        learning_rate="constant",
        eta0=RATE,
        max_iter=epochs,
        tol=None,
        random_state=0,
        alpha=ALPHA,
        **kwargs,
    )


def last_level_cache_bytes():
    """Size of the largest CPU cache Linux reports (1 GiB if it reports none)."""
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = path.read_text().strip()
        unit = {"K": 2**10, "M": 2**20}.get(text[-1])
        sizes.append(int(text[:-1]) * unit if unit else int(text))
    return max(sizes, default=2**30)


class CacheFlush:
    """Writes a buffer twice the size of the last-level cache, so that every timed run starts
    with none of X cached, whatever ran before it (this guest reports a 480 MiB L3, larger
    than X)."""

    def __init__(self):
        self.buffer = np.zeros(2 * last_level_cache_bytes() // 8)

    def __call__(self):
        self.buffer += 1.0


def interleaved(contenders, epochs, rounds):
    """Best seconds per epoch of each contender over ``rounds`` rounds that run every
    contender once, in turn (after one untimed warm-up round), each after a cache flush.
    Every other round runs them in reverse order."""
    best = dict.fromkeys(contenders, np.inf)
    flush = CacheFlush()
    for round_ in range(rounds + 1):
        order = list(contenders.items())
        for name, run in order if round_ % 2 == 0 else reversed(order):
            flush()
            started = time.perf_counter()
            run()
            if round_:
                best[name] = min(best[name], (time.perf_counter() - started) / epochs)
    return best


def peak_memory_ratio(run, X):
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes
    return peak / nbytes


def report(title, seconds, ratios):
    """Print the times of this machine (for the record) and each ratio against its target:
    ``(label, value, ">=" or "<=", target)``, or ``(label, value)`` without one."""
    print(f"\n{title}")
    for name, value in seconds.items():
        print(f"  {name:<46}{value * 1e3:>9.2f} ms/epoch")
    for label, value, *target in ratios:
        line = f"  {label:<46}{value:>9.2f}x"
        if target:
            sign, bound = target
            met = value >= bound if sign == ">=" else value <= bound
            line += f"   target {sign} {bound:g}: {'met' if met else 'MISSED'}"
        print(line)


def dense_group(args, rng):
    """Dense 200,000 x 100: both losses, float64 and float32, against scikit-learn."""
    epochs, batch = args.epochs, args.batch_size
    X64, y_value, y_label = dense_data(args.n_samples, args.n_features, 1)
    X32 = X64.astype(np.float32)
    seconds = interleaved(
        {
            **shuffled_reads(X64, epochs, rng),
            "read rows of X in order": read_rows(X64, epochs, rng),
            "SGDRegressor (sklearn)": fit(theirs(SGDRegressor, epochs), X64, y_value),
            "SGDLinearRegressor float64": fit(
                ours(SGDLinearRegressor, epochs, batch), X64, y_value
            ),
            "SGDLinearRegressor float32": fit(
                ours(SGDLinearRegressor, epochs, batch), X32, y_value
            ),
            "SGDClassifier log_loss (sklearn)": fit(
                theirs(SGDClassifier, epochs, loss="log_loss"), X64, y_label
            ),
            "SGDLogisticClassifier float64": fit(
                ours(SGDLogisticClassifier, epochs, batch), X64, y_label
            ),
            "SGDLogisticClassifier float32": fit(
                ours(SGDLogisticClassifier, epochs, batch), X32, y_label
            ),
        },
        epochs,
        args.rounds,
    )
    read, read_distance = fastest_read(seconds)
    report(
        f"dense {args.n_samples} x {args.n_features}"
        f" (fastest shuffled read: prefetch {read_distance})",
        seconds,
        [
            (
                "squared error float64: sklearn / ours",
                seconds["SGDRegressor (sklearn)"] / seconds["SGDLinearRegressor float64"],
                ">=",
                4,
            ),
            (
                "log loss float64: sklearn / ours",
                seconds["SGDClassifier log_loss (sklearn)"]
                / seconds["SGDLogisticClassifier float64"],
                ">=",
                4,
            ),
            (
                "squared error float64: ours / shuffled read",
                seconds["SGDLinearRegressor float64"] / read,
                "<=",
                1.25,
            ),
            (
                "log loss float64: ours / shuffled read",
                seconds["SGDLogisticClassifier float64"] / read,
                "<=",
                1.25,
            ),
            (
                "log loss: float64 / float32",
                seconds["SGDLogisticClassifier float64"] / seconds["SGDLogisticClassifier float32"],
                ">=",
                1.7,
            ),
            (
                "squared error: float64 / float32",
                seconds["SGDLinearRegressor float64"] / seconds["SGDLinearRegressor float32"],
            ),
        ],
    )
    peak = peak_memory_ratio(fit(ours(SGDLogisticClassifier, 1, batch), X64, y_label), X64)
    return f"{peak:.2f} x X (dense float64)"


def sparse_group(args, rng):
    """Sparse CSR 200,000 x 50,000, binary log loss, against scikit-learn."""
    epochs, batch = args.epochs, args.batch_size
    X_sparse, y_sparse = sparse_data(args.n_samples, args.sparse_features, args.nnz_per_row)
    seconds = interleaved(
        {
            **shuffled_reads(X_sparse, epochs, rng),
            "SGDClassifier log_loss (sklearn)": fit(
                theirs(SGDClassifier, epochs, loss="log_loss"), X_sparse, y_sparse
            ),
            f"SGDLogisticClassifier batch {batch}": fit(
                ours(SGDLogisticClassifier, epochs, batch), X_sparse, y_sparse
            ),
            "SGDLogisticClassifier batch 32": fit(
                ours(SGDLogisticClassifier, epochs, 32), X_sparse, y_sparse
            ),
        },
        epochs,
        args.rounds,
    )
    sklearn_sparse = seconds["SGDClassifier log_loss (sklearn)"]
    read, read_distance = fastest_read(seconds)
    report(
        f"sparse CSR {args.n_samples} x {args.sparse_features}, {args.nnz_per_row} values per row"
        f" (fastest shuffled read: prefetch {read_distance})",
        seconds,
        [
            (
                f"log loss, batch {batch}: sklearn / ours",
                sklearn_sparse / seconds[f"SGDLogisticClassifier batch {batch}"],
                ">=",
                2,
            ),
            (
                "log loss, batch 32: sklearn / ours",
                sklearn_sparse / seconds["SGDLogisticClassifier batch 32"],
            ),
            (
                f"log loss, batch {batch}: ours / shuffled read",
                seconds[f"SGDLogisticClassifier batch {batch}"] / read,
            ),
        ],
    )
    peak = peak_memory_ratio(
        fit(ours(SGDLogisticClassifier, 1, batch), X_sparse, y_sparse), X_sparse
    )
    return f"{peak:.2f} x X (sparse)"


def multiclass_group(args, rng):
    """10 classes on dense 100,000 x 100: against a numpy loop and scikit-learn's one-vs-rest."""
    epochs, batch = args.epochs, args.batch_size
    X_multi, y_multi = dense_data(args.multiclass_samples, args.n_features, args.classes)
    seconds = interleaved(
        {
            "numpy loop: gather, 2 GEMMs, softmax": numpy_softmax_loop(
                X_multi, y_multi, epochs, batch
            ),
            "SGDClassifier log_loss one-vs-rest (sklearn)": fit(
                theirs(SGDClassifier, epochs, loss="log_loss"), X_multi, y_multi
            ),
            "SGDLogisticClassifier": fit(
                ours(SGDLogisticClassifier, epochs, batch), X_multi, y_multi
            ),
        },
        epochs,
        args.rounds,
    )
    report(
        f"multinomial, {args.classes} classes, dense {args.multiclass_samples} x {args.n_features}",
        seconds,
        [
            (
                "numpy GEMM loop / ours",
                seconds["numpy loop: gather, 2 GEMMs, softmax"] / seconds["SGDLogisticClassifier"],
                ">=",
                1,
            ),
            (
                "sklearn one-vs-rest / ours",
                seconds["SGDClassifier log_loss one-vs-rest (sklearn)"]
                / seconds["SGDLogisticClassifier"],
                ">=",
                6,
            ),
        ],
    )


GROUPS = {"dense": dense_group, "sparse": sparse_group, "multiclass": multiclass_group}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--sparse-features", type=int, default=50_000)
    parser.add_argument("--nnz-per-row", type=int, default=50)
    parser.add_argument("--multiclass-samples", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--group",
        choices=list(GROUPS),
        action="append",
        help="run only this group (repeatable; default: all three)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(1)

    print(
        f"CPU: {cpu_model()}; Python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__}, scikit-learn {sklearn.__version__}; BLAS on 1 thread; "
        f"best of {args.rounds} interleaved rounds of {args.epochs} epochs, batch "
        f"{args.batch_size}"
    )
    peaks = [GROUPS[name](args, rng) for name in args.group or GROUPS]
    peaks = [peak for peak in peaks if peak]
    if peaks:
        print(f"\npeak extra memory of one fit: {', '.join(peaks)}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
