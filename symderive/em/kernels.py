"""Numeric kernels the compiled formulas run on: sparse products, exp, log, log-sum-exp.

``SparseData`` holds the count matrix as float64 CSR, with what the products need
precomputed lazily (its CSC form, the row of every stored entry, the blocks of rows and
of columns that threads work on).  Only sums over stored entries are ever formed, so
0 * log 0 never happens: a zero count contributes nothing, which is the convention
0^0 = 1 of the multinomial likelihood.

The products are scipy's sparse-times-dense arithmetic.  Where the optional compiled
module ``symderive.em._sparse`` was built (``pip install`` with a C compiler), they run
its kernels, specialised by the number of dense columns and about twice as fast; they
give scipy's values bit for bit (the same multiply-adds in the same order, no fused
multiply-add), so a fit gives the same numbers with or without it.  Without it they run
scipy's CSC-times-dense kernel, through the public API: ``A.T @ G`` with ``A`` in CSR is
a CSC matrix times G (T G from the CSR form of T^T, T^T G from the CSR form of T: both
read G row after row).  Both kernels release the GIL, so threads that each take a block
of rows (or of columns) run them on several cores.  ``exp``, ``log`` and
``logsumexp`` give numpy's values bit for bit, avoiding its slow paths for the arguments
EM produces (very negative log-probabilities, probabilities that are 0).
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
import scipy.sparse as sps

__all__ = ["SparseData", "logsumexp", "exp", "exp_inplace", "log", "as_counts",
           "parallel_map", "default_threads", "compiled_products"]

try:  # the optional compiled products (see the module docstring)
    from . import _sparse as _COMPILED
except ImportError:  # built without a C compiler: scipy's kernels, the same values
    _COMPILED = None


def compiled_products() -> bool:
    """Whether the sparse products run the compiled kernels (``symderive.em._sparse``)
    rather than scipy's; ``$SYMDERIVE_EM_COMPILED=0`` turns them off (the values are
    the same either way: for comparisons and benchmarks)."""
    return _COMPILED is not None and os.environ.get("SYMDERIVE_EM_COMPILED", "1") != "0"


def as_counts(X) -> sps.csr_matrix:
    """Counts as canonical float64 CSR (sorted, summed duplicates, no stored zeros)."""
    if hasattr(X, "counts") and hasattr(X, "vocabulary"):  # a symderive Corpus
        X = X.counts
    if sps.issparse(X):
        M = sps.csr_matrix(X, dtype=np.float64, copy=True)
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"expected a documents x words matrix, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"counts must be real numbers, got dtype {arr.dtype}")
        M = sps.csr_matrix(arr.astype(np.float64))
    M.sum_duplicates()
    M.eliminate_zeros()
    M.sort_indices()
    if M.data.size and not np.all(np.isfinite(M.data)):
        raise ValueError("counts must be finite")
    if M.data.size and M.data.min() < 0:
        raise ValueError("counts must be non-negative")
    if M.data.size and not np.array_equal(M.data, np.round(M.data)):
        raise ValueError("counts must be whole numbers (the multinomial needs integer counts)")
    if M.indices.dtype != np.int32 and M.nnz < 2**31 and max(M.shape) < 2**31:
        M.indices = M.indices.astype(np.int32)
        M.indptr = M.indptr.astype(np.int32)
    return M


class SparseData:
    """A documents x words count matrix bound to the compiled program.

    ``cache`` holds values of the program that depend on the counts only (the
    multinomial coefficient, document lengths), computed once per matrix, so reuse one
    ``SparseData`` for several fits of the same counts.
    """

    #: the rows (documents) or columns (words) are cut into blocks of about this many
    #: stored entries for the blockwise evaluation of a program (``Program.run(split=)``);
    #: the cut depends on the matrix only, never on the number of threads
    BLOCK_NNZ = 1 << 18
    MAX_BLOCKS = 16
    #: the dense work a row (document) or a column (word) brings to its block, in stored
    #: entries of equal cost: the E-step's log-sum-exp and softmax over a row of K, the
    #: M-step's normalisation and logarithm over a column of K, against the K multiply-adds
    #: of a stored entry in the sparse product (measured on 20 Newsgroups at K = 10 and
    #: 50: about 20-34 and 10 entries).  Blocks of equal stored entries alone were up to
    #: 10% apart in time (the first has a third more documents), and with two threads
    #: and four blocks the slower block is what the other thread waits for
    ROW_COST = 24
    COL_COST = 10

    def __init__(self, csr: sps.csr_matrix, threads: int | None = None):
        self.csr = csr
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.shape = csr.shape
        self.cache: dict = {}
        self._t: sps.csr_matrix | None = None
        self._rows: np.ndarray | None = None
        self._blocks: dict = {}
        self._views: dict = {}
        #: id of a CSR form -> (that form, its values for the compiled kernels or None)
        self._checked: dict[int, tuple] = {}

    @classmethod
    def from_counts(cls, X) -> SparseData:
        """The prepared form of counts.  For a symderive Corpus it is kept (weakly, per
        count matrix) and reused, so a second fit of the same corpus skips the copy,
        the checks and the caches of the first (a Corpus is immutable)."""
        if isinstance(X, SparseData):
            return X
        counts = getattr(X, "counts", None) if hasattr(X, "vocabulary") else None
        if counts is None:
            return cls(as_counts(X))
        entry = _PREPARED.get(id(counts))
        if entry is not None and entry[0]() is counts:
            return entry[1]
        data = cls(as_counts(counts))
        key = id(counts)
        try:
            ref = weakref.ref(counts, lambda _, key=key: _PREPARED.pop(key, None))
        except TypeError:  # not weakly referable: not kept
            return data
        _PREPARED[key] = (ref, data)
        return data

    def with_data(self, data: np.ndarray) -> SparseData:
        """The same sparsity pattern with other stored values (an elementwise map)."""
        out = SparseData(sps.csr_matrix((data, self.csr.indices, self.csr.indptr),
                                        shape=self.shape), self.threads)
        out._rows = self._rows
        return out

    @property
    def transposed(self) -> sps.csr_matrix:
        if self._t is None:
            self._t = self.csr.T.tocsr()
            self._t.sort_indices()
        return self._t

    @property
    def rows(self) -> np.ndarray:
        """The row (document) of every stored entry."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.shape[0], dtype=np.intp),
                                   np.diff(self.csr.indptr))
        return self._rows

    def blocks(self, axis: int) -> list[tuple[int, int, SparseData]]:
        """The matrix cut along ``axis`` (0: rows, 1: columns) into consecutive ranges
        with about ``BLOCK_NNZ`` stored entries each: ``(start, stop, block)`` with
        ``block`` the sub-matrix as single-threaded :class:`SparseData` (its own caches,
        so static values are computed once per block).  The ranges have equal cost,
        counting a row as ``ROW_COST`` stored entries (a column as ``COL_COST``) besides
        its own.

        The cut is a function of the matrix alone, so a blockwise evaluation gives the
        same bits whatever the number of threads that run the blocks."""
        if axis not in self._blocks:
            if axis == 0:
                indptr = self.csr.indptr
            else:  # the column pointers of the CSC form, without building it
                indptr = np.concatenate([[0], np.cumsum(np.bincount(
                    self.csr.indices, minlength=self.shape[1]))])
            n = max(1, min(self.MAX_BLOCKS, round(self.csr.nnz / self.BLOCK_NNZ)))
            cost = self.ROW_COST if axis == 0 else self.COL_COST
            out = []
            for a, b in _balanced_bounds(indptr, n, cost):
                sub = _row_slice(self.csr, a, b) if axis == 0 else \
                    _canonical(sps.csr_matrix(self.csr[:, a:b]))
                out.append((a, b, SparseData(sub, threads=1)))
            self._blocks[axis] = out
        return self._blocks[axis]

    # -- reductions ----------------------------------------------------------------------
    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.csr.data, minlength=self.shape[0])

    def col_sums(self) -> np.ndarray:
        return np.bincount(self.csr.indices, weights=self.csr.data, minlength=self.shape[1])

    # -- products ------------------------------------------------------------------------
    def dot(self, G: np.ndarray) -> np.ndarray:
        """sum_w T[d, w] G[w, ...]: (D x W) @ (W x E).  Threads take blocks of rows
        (disjoint output rows)."""
        return self._multiply("dot", G)

    def tdot(self, G: np.ndarray) -> np.ndarray:
        """sum_d T[d, w] G[d, ...]: (W x D) @ (D x E).  Threads take blocks of columns of
        T (disjoint output rows)."""
        return self._multiply("tdot", G)

    def _multiply(self, which: str, G: np.ndarray) -> np.ndarray:
        G = np.ascontiguousarray(G, dtype=np.float64)
        if G.ndim != 2:
            return np.asarray((self.csr if which == "dot" else self.transposed) @ G)
        out = np.empty((self.shape[0] if which == "dot" else self.shape[1], G.shape[1]))
        if self.threads > 1 and self.csr.nnz * G.shape[1] >= _PARALLEL_WORK:
            def part(item):
                a, b, block = item
                block.product(which, G, out[a:b])

            parallel_map(part, self.blocks(0 if which == "dot" else 1), self.threads)
            return out
        return self.product(which, G, out)

    def product(self, which: str, G: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[...] = T G`` (``which="dot"``) or ``T^T G`` (``"tdot"``), on this thread;
        ``G`` and ``out`` C-contiguous float64 with the right shapes.

        The compiled kernels accumulate a row of the result in registers (gather, from
        the CSR form of the left factor) up to ``GATHER_MAX_K`` columns, and above that
        add the rows of G into the rows of the result (scatter, from the CSR form of its
        transpose): the faster form on either side of that width (measured on 20
        Newsgroups, 1 to 128 columns).  Both add the terms of an entry in the order of
        the summed index, as scipy's kernels do.

        Without them, scipy's CSC kernel (see :meth:`csc_view`) scatters from the
        columns of the left factor: each output row is still summed in the order of the
        summed index, so the values are those of the gather form bit for bit, but G is
        read row after row while the output rows of a block stay in cache (10-20% faster
        than scipy's gather)."""
        G = np.ascontiguousarray(G, dtype=np.float64)
        rows, cols = self.shape if which == "dot" else self.shape[::-1]
        K = G.shape[1]
        if G.shape[0] != cols or out.shape != (rows, K):
            raise ValueError(f"product {which}: a {self.shape} matrix, G of shape {G.shape} "
                             f"and out of shape {out.shape} do not fit")
        if compiled_products() and out.dtype == np.float64 and out.flags.c_contiguous:
            gather = K <= GATHER_MAX_K
            A = self.csr if (which == "dot") == gather else self.transposed
            values = self._kernel_values(A)
            if values is not None:
                kernel = _COMPILED.gather if gather else _COMPILED.scatter
                kernel(A.indptr, A.indices, values, G, out)
                return out
        np.copyto(out, self.csc_view(which) @ G)
        return out

    def _kernel_values(self, A: sps.csr_matrix) -> np.ndarray | None:
        """The stored values of ``A`` (one of this matrix's CSR forms) as the compiled
        kernels read them, or None if they may not read it.

        They may when the indices are int32 and within the shape and the row pointers go
        from 0 to the stored entries without decreasing (the kernels trust the indices),
        with float64 values.  Whole counts below 65536 are handed over as uint16: the
        same numbers exactly, in a quarter of the bytes (the products read the whole
        matrix from memory every iteration).  Worked out once per form."""
        hit = self._checked.get(id(A))
        if hit is not None and hit[0] is A:  # (an id alone could be a copy's, unpickled)
            return hit[1]
        ptr, idx, data = A.indptr, A.indices, A.data
        ok = bool(ptr.dtype == np.int32 and idx.dtype == np.int32
                  and data.dtype == np.float64
                  and all(a.flags.c_contiguous for a in (ptr, idx, data))
                  and ptr.size == A.shape[0] + 1 and ptr[0] == 0
                  and ptr[-1] == idx.size == data.size
                  and np.all(ptr[1:] >= ptr[:-1])
                  and (idx.size == 0 or (idx.min() >= 0 and idx.max() < A.shape[1])))
        values = None
        if ok:
            values = data
            if data.size and data.min() >= 0 and data.max() <= np.iinfo(np.uint16).max:
                small = data.astype(np.uint16)
                if np.array_equal(small, data):  # whole numbers: converted back exactly
                    values = small
        self._checked[id(A)] = (A, values)
        return values

    def csc_view(self, which: str) -> sps.csc_matrix:
        """The CSC matrix whose product with G is T G (``"dot"``: the transpose of the
        CSR form of T^T) or T^T G (``"tdot"``: the transpose of the CSR form of T); no
        data is copied, and each view is built once."""
        view = self._views.get(which)
        if view is None:
            view = self._views[which] = (self.transposed if which == "dot" else self.csr).T
        return view


#: id of the count matrix of a Corpus -> (weak reference to it, its SparseData); the
#: SparseData holds its own copy of the counts, never the matrix, and the entry goes
#: when the matrix is freed (sparse matrices are not hashable: keyed by id)
_PREPARED: dict[int, tuple] = {}


def _balanced_bounds(indptr: np.ndarray, n: int, row_cost: float = 0.0
                     ) -> list[tuple[int, int]]:
    """``n`` (or fewer) consecutive, non-empty row ranges of about equal cost: the stored
    entries of a range plus ``row_cost`` per row."""
    n_rows = len(indptr) - 1
    work = np.asarray(indptr, dtype=np.float64) + row_cost * np.arange(n_rows + 1)
    cuts = np.searchsorted(work, np.linspace(0, work[-1], n + 1)[1:-1])
    bounds = [0, *sorted(set(int(c) for c in cuts) - {0, n_rows}), n_rows]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _row_slice(A: sps.csr_matrix, a: int, b: int) -> sps.csr_matrix:
    """Rows a..b of a canonical CSR matrix, sharing nothing with it (a block is reused
    for every iteration; its own copy keeps it contiguous)."""
    lo, hi = int(A.indptr[a]), int(A.indptr[b])
    out = sps.csr_matrix((A.data[lo:hi].copy(), A.indices[lo:hi].copy(),
                          (A.indptr[a:b + 1] - lo).astype(A.indptr.dtype)),
                         shape=(b - a, A.shape[1]))
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def _canonical(M: sps.csr_matrix) -> sps.csr_matrix:
    M.sort_indices()
    return M


#: the compiled products accumulate in registers up to this many dense columns (see
#: ``SparseData.product``)
GATHER_MAX_K = 16

#: a product with fewer multiply-adds than this is not worth waking threads for
_PARALLEL_WORK = 1 << 20


def default_threads() -> int:
    """Threads for the sparse products and the row blocks: ``$SYMDERIVE_EM_THREADS`` if
    set, else the CPUs this process may run on (at most ``MAX_THREADS``).

    Not "idle CPUs": a load average says how busy the machine was over the last minute,
    not what it will be during the fit, and with one thread the second core can never
    help.  The result does not depend on the count (fixed row blocks, see ``blocks``)."""
    env = os.environ.get("SYMDERIVE_EM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return max(1, min(MAX_THREADS, usable_cpus()))


MAX_THREADS = 8


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity masks (macOS, Windows)
        return os.cpu_count() or 1


_POOL: ThreadPoolExecutor | None = None


def _pool(n: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < n:  # noqa: SLF001 - size check only
        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="symderive-em")
    return _POOL


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: work submitted to it would
    wait forever, so the child starts a pool of its own."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


_inside = threading.local()  # .active: this thread is running an item of parallel_map


def parallel_map(fn, items: Sequence, threads: int) -> list:
    """``[fn(x) for x in items]``, on up to ``threads`` threads: the caller and
    ``threads - 1`` pool workers take the next item until none is left.

    Worth it because the items spend their time in numpy and scipy kernels, which
    release the GIL.  Taking items one at a time balances the load when a thread is
    slowed (another process on its core); the caller working too saves a wake-up.
    A call from inside ``fn`` runs its items in its own thread: a pool worker waiting
    for work queued behind itself would wait forever."""
    items = list(items)
    threads = min(threads, len(items))
    if threads <= 1 or getattr(_inside, "active", False):
        return [fn(x) for x in items]
    results: list = [None] * len(items)
    counter = itertools.count()  # next() is atomic under the GIL

    def work() -> None:
        _inside.active = True
        try:
            for i in iter(counter.__next__, None):
                if i >= len(items):
                    return
                results[i] = fn(items[i])
        finally:
            _inside.active = False

    helpers = [_pool(threads - 1).submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        wait(helpers)  # never leave a helper writing into outputs after an error
    for h in helpers:
        h.result()  # re-raise a helper's error
    return results


#: np.exp is fast (SIMD) only where every result is a normal number: from -707.7 (-1021
#: ln 2) down, a vector of inputs takes a scalar loop, 10 to 80 times slower (numpy 2.x on
#: AVX-512; the values never depend on this bound, only the speed)
_EXP_FAST_MIN = -707.0
#: exp(x) rounds to 0.0 below -745.13...; between that and _EXP_FAST_MIN it is tiny
_EXP_ZERO_BELOW = -746.0


def exp_inplace(a: np.ndarray) -> np.ndarray:
    """``a <- exp(a)``: the same values as ``np.exp``, bit for bit, but fast when many
    entries are very negative.

    After a few iterations most shifted log-probabilities of the E-step are below -707
    (responsibilities that underflow), where np.exp takes its slow path.  Then np.exp
    only sees inputs in its fast range: either the entries at or above -707 are
    gathered, and everything else set to 0.0 (mostly such entries), or the rest are
    clamped to -707 and multiplied by 0.0 afterwards (a fair share); entries between
    -746 and -707 (tiny, not 0.0) are recomputed by np.exp one by one, entries below
    -746 are 0.0 as np.exp would round them.  NaN and +-inf come out as from np.exp."""
    if a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous:
        exp_inplace(a.T)
        return a
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        return np.exp(a, out=a)
    low = np.less(a, _EXP_FAST_MIN)
    n_low = np.count_nonzero(low)
    if n_low * 4 < a.size:  # the slow vectors cost less than any detour
        return np.exp(a, out=a)
    flat = a.reshape(-1)
    band = np.greater(a, _EXP_ZERO_BELOW)
    band &= low
    idx = np.flatnonzero(band)
    values = np.exp(flat[idx])
    if n_low * 4 > 3 * a.size:  # mostly zeros: gather the rest (NaN is not low: kept)
        keep = np.flatnonzero(~low)
        kept = np.exp(flat[keep])
        a.fill(0.0)
        flat[keep] = kept
    else:
        # 1.0, or 0.0 where low (NaN is not low: 1.0, and NaN * 1.0 is NaN); from the
        # byte mask, cheaper than comparing the floats again
        scale = np.logical_not(low, out=np.empty(a.shape))
        np.maximum(a, _EXP_FAST_MIN, out=a)  # NaN stays NaN
        np.exp(a, out=a)
        a *= scale  # exact: x * 1.0 = x, and the clamped entries (finite) * 0.0 = 0.0
    flat[idx] = values
    return a


def exp(x) -> np.ndarray:
    """``np.exp(x)`` as a new float64 array (in the layout of ``x``), by
    :func:`exp_inplace`."""
    return exp_inplace(np.array(x, dtype=np.float64, order="K"))


def log(x) -> np.ndarray:
    """``np.log(x)``, the same values bit for bit, without np.log's slow path for zeros.

    A probability mu_kw is exactly 0 for every word that no document of cluster k
    contains (its responsibilities underflowed), up to two thirds of the K x W entries
    late in a fit, and np.log takes a scalar loop on each vector of inputs holding a 0.
    A chunk where at most one entry in ``_LOG_FEW_ZEROS`` is 0 goes to np.log as it is
    (a few slow vectors cost less than any detour).  In a chunk with more, the zeros are
    replaced by the smallest subnormal number, whose logarithm is fast and finite, and
    the result is divided by 0.0 at those entries (-744.4 / 0.0 = -inf) and by 1.0
    elsewhere (exact).  The replacement is a maximum against an array of that number:
    numpy's maximum with a scalar operand runs at half the speed.  Negative inputs (NaN
    from np.log) go to np.log as they are.  Chunk by chunk, so that the scratch arrays
    stay in cache."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous:
        return log(x.T).T  # keep the layout, as np.log does (mu^T arrives transposed)
    x = np.ascontiguousarray(x)
    if x.size < 64:
        return np.log(x)
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    scale = np.empty(min(x.size, _CHUNK))
    zero = np.empty(scale.size, dtype=bool)
    for a in range(0, x.size, _CHUNK):
        xs, os_ = flat_x[a:a + _CHUNK], flat_out[a:a + _CHUNK]
        low = xs.min()
        if not low == 0.0:  # no zeros (the common case), or negatives / NaN: np.log
            np.log(xs, out=os_)
            continue
        n = xs.size
        if np.count_nonzero(np.equal(xs, 0.0, out=zero[:n])) * _LOG_FEW_ZEROS <= n:
            with np.errstate(divide="ignore"):
                np.log(xs, out=os_)
            continue
        sc = scale[:n]
        np.maximum(xs, _tiny_array()[:n], out=os_)
        np.log(os_, out=os_)
        np.not_equal(xs, 0.0, out=sc)  # 1.0, or 0.0 at the zeros
        with np.errstate(divide="ignore"):
            np.divide(os_, sc, out=os_)  # log x / 1.0, or -744.4 / 0.0 = -inf
    return out


_CHUNK = 1 << 16
#: np.log straight away when at most 1 entry in this many is 0: its slow vectors cost
#: less than the detour up to about 10% zeros (numpy 2.x on AVX-512)
_LOG_FEW_ZEROS = 10
_TINY_ARRAY: np.ndarray | None = None


def _tiny_array() -> np.ndarray:
    """``_CHUNK`` copies of ``_TINY``, made once (read-only)."""
    global _TINY_ARRAY
    if _TINY_ARRAY is None:
        arr = np.full(_CHUNK, _TINY)
        arr.flags.writeable = False
        _TINY_ARRAY = arr
    return _TINY_ARRAY


_TINY = np.nextafter(0.0, 1.0)  # 5e-324: its logarithm is finite (-744.44)


def row_max(x: np.ndarray) -> np.ndarray:
    """``np.max(x, axis=1, keepdims=True)`` for a 2-D array: the same values (a maximum
    does not depend on the order), column after column, which is several times faster
    than numpy's reduction along rows of a few dozen entries."""
    m = np.array(x[:, :1])
    for k in range(1, x.shape[1]):
        np.maximum(m[:, 0], x[:, k], out=m[:, 0])
    return m


def row_sum(x: np.ndarray) -> np.ndarray:
    """The sums of the rows of a 2-D array, as a column: by ``np.einsum``, several times
    faster than ``np.sum`` along short rows.  Its order of additions differs from
    np.sum's (a rounding difference), but is fixed: it depends neither on the number of
    rows nor on where the array starts in memory, so a row gives the same bits in any
    block."""
    return np.einsum("ij->i", x)[:, None]


def logsumexp(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lse, shifted, total)`` along ``axis``: lse = log sum exp x, computed with the
    max shift; ``shifted`` = exp(x - max) and ``total`` = its sum (for the softmax).

    A slice that is all -inf gives lse = -inf (zero probability), never NaN.
    """
    m = row_max(x) if x.ndim == 2 and axis in (1, -1) else np.max(x, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    shifted = np.subtract(x, m)
    exp_inplace(shifted)
    total = row_sum(shifted) if x.ndim == 2 and axis in (1, -1) else \
        np.sum(shifted, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = np.log(total)
    lse += m
    return np.squeeze(lse, axis=axis), shifted, total
