"""Numeric kernels the compiled formulas run on: sparse products and log-sum-exp.

``SparseData`` holds the count matrix once, as float64 CSR, with what the products need
precomputed lazily (its transpose in CSR form, the row of every stored entry).  Only
sums over stored entries are ever formed, so 0 * log 0 never happens: a zero count
contributes nothing, which is the convention 0^0 = 1 of the multinomial likelihood.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sps

__all__ = ["SparseData", "logsumexp", "exp_inplace", "as_counts", "parallel_map",
           "default_threads"]


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

    #: the dense operand of a product is cut into slices of about this many bytes, and
    #: the sparse matrix into the matching column blocks, so each slice stays in cache
    TILE_BYTES = 512 << 10
    MAX_TILES = 5  # each block re-reads the output: more blocks cost more than they save

    #: the rows (documents) or columns (words) are cut into blocks of about this many
    #: stored entries for the blockwise evaluation of a program (``Program.run(split=)``);
    #: the cut depends on the matrix only, never on the number of threads
    BLOCK_NNZ = 1 << 18
    MAX_BLOCKS = 16

    def __init__(self, csr: sps.csr_matrix, threads: int | None = None):
        self.csr = csr
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.shape = csr.shape
        self.cache: dict = {}
        self._t: sps.csr_matrix | None = None
        self._rows: np.ndarray | None = None
        self._tiles: dict = {}
        self._blocks: dict = {}

    @classmethod
    def from_counts(cls, X) -> SparseData:
        return X if isinstance(X, SparseData) else cls(as_counts(X))

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
        so static values are computed once per block).

        The cut is a function of the matrix alone, so a blockwise evaluation gives the
        same bits whatever the number of threads that run the blocks."""
        if axis not in self._blocks:
            major = self.csr if axis == 0 else self.transposed
            n = max(1, min(self.MAX_BLOCKS, round(major.nnz / self.BLOCK_NNZ)))
            bounds = _balanced_bounds(major.indptr, n)
            out = []
            for a, b in bounds:
                if axis == 0:
                    block = SparseData(_row_slice(self.csr, a, b), threads=1)
                else:
                    block = SparseData(_canonical(self.csr[:, a:b].tocsr()), threads=1)
                    block._t = _row_slice(self.transposed, a, b)
                out.append((a, b, block))
            self._blocks[axis] = out
        return self._blocks[axis]

    # -- reductions ----------------------------------------------------------------------
    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.csr.data, minlength=self.shape[0])

    def col_sums(self) -> np.ndarray:
        return np.bincount(self.csr.indices, weights=self.csr.data, minlength=self.shape[1])

    # -- products ------------------------------------------------------------------------
    def dot(self, G: np.ndarray) -> np.ndarray:
        """sum_w T[d, w] G[w, ...]: (D x W) @ (W x E)."""
        return _tiled_product(self.csr, G, self._tiles, "dot", self.threads)

    def tdot(self, G: np.ndarray) -> np.ndarray:
        """sum_d T[d, w] G[d, ...]: (W x D) @ (D x E)."""
        return _tiled_product(self.transposed, G, self._tiles, "tdot", self.threads)


def _balanced_bounds(indptr: np.ndarray, n: int) -> list[tuple[int, int]]:
    """``n`` (or fewer) consecutive, non-empty row ranges with about equal stored entries."""
    n_rows = len(indptr) - 1
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], n + 1)[1:-1])
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


def _n_tiles(G: np.ndarray) -> int:
    if G.ndim != 2:
        return 1
    n = int(round(G.nbytes / SparseData.TILE_BYTES))
    return max(1, min(SparseData.MAX_TILES, n))


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


def parallel_map(fn, items: list, threads: int) -> list:
    """``[fn(x) for x in items]``, on up to ``threads`` threads.

    Worth it because the work items spend their time in numpy and scipy kernels, which
    release the GIL.  ``fn`` must not itself submit to the pool (the workers could all
    wait for each other): blocks are single-threaded :class:`SparseData`."""
    threads = min(threads, len(items))
    if threads <= 1:
        return [fn(x) for x in items]
    return list(_pool(threads).map(fn, items))


def _plan(A: sps.csr_matrix, n_tiles: int, n_threads: int) -> list:
    """Row ranges (one per thread, balanced by stored entries), each with its column blocks."""
    edges = np.linspace(0, A.shape[1], n_tiles + 1).astype(np.intp)
    jobs = []
    for r0, r1 in _balanced_bounds(A.indptr, n_threads):
        rows = A[r0:r1]
        if n_tiles == 1:
            blocks = [(0, A.shape[1], rows)]
        else:
            csc = rows.tocsc()
            blocks = [(a, b, csc[:, a:b].tocsr()) for a, b in zip(edges[:-1], edges[1:],
                                                                  strict=True)]
        jobs.append((r0, r1, blocks))
    return jobs


def _run_job(job, G: np.ndarray, out: np.ndarray) -> None:
    r0, r1, blocks = job
    E = G.shape[1]
    flat = out[r0:r1].reshape(-1)
    for a, b, block in blocks:
        _matvecs(block.shape[0], block.shape[1], E, block.indptr, block.indices, block.data,
                 G[a:b].reshape(-1), flat)


def _tiled_product(A: sps.csr_matrix, G: np.ndarray, tiles: dict, tag: str,
                   threads: int) -> np.ndarray:
    """A @ G for dense 2-D G: A is cut into column blocks so that each slice of G is read
    from cache, and into row ranges computed by parallel threads (scipy's kernel releases
    the GIL).  Every output row is summed by one thread in the order of an untiled
    product, so the result is the same bit for bit, whatever the number of threads."""
    G = np.ascontiguousarray(G, dtype=np.float64)
    if G.ndim != 2 or _matvecs is None:
        return np.asarray(A @ G)
    n_tiles = _n_tiles(G)
    n_threads = max(1, min(threads, A.shape[0] // 256 or 1))
    if n_tiles == 1 and n_threads == 1:
        return np.asarray(A @ G)
    key = (tag, n_tiles, n_threads)
    if key not in tiles:
        tiles[key] = _plan(A, n_tiles, n_threads)
    out = np.zeros((A.shape[0], G.shape[1]))
    jobs = tiles[key]
    if len(jobs) == 1:
        _run_job(jobs[0], G, out)
    else:
        list(_pool(len(jobs)).map(lambda job: _run_job(job, G, out), jobs))
    return out


try:  # scipy's own kernel, accumulating y += A @ X without a temporary
    from scipy.sparse._sparsetools import csr_matvecs as _matvecs
except ImportError:  # pragma: no cover - a scipy without it: plain products
    _matvecs = None


#: np.exp is fast (SIMD) only where every result is a normal number: below this, in a
#: vector of inputs it falls back to a scalar loop, about 8 times slower
_EXP_FAST_MIN = -708.0
#: exp(x) rounds to 0.0 below -745.13...; between the two it is subnormal
_EXP_ZERO_BELOW = -746.0


def exp_inplace(a: np.ndarray) -> np.ndarray:
    """``a <- exp(a)``: the same values as ``np.exp``, bit for bit, but fast when many
    entries are very negative.

    The shifted log-probabilities of the E-step are mostly below -708 after a few
    iterations (responsibilities that underflow to 0), where np.exp takes its slow
    path.  Here those entries are set to 0 directly, the few in the subnormal band
    (-746, -708) are computed by np.exp one by one, and the rest by np.exp on inputs
    that are all in its fast range."""
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        return np.exp(a, out=a)
    low = np.less(a, _EXP_FAST_MIN)
    if not low.any():
        return np.exp(a, out=a)
    flat = a.reshape(-1)
    band = np.greater(a, _EXP_ZERO_BELOW)
    band &= low
    idx = np.flatnonzero(band)
    values = np.exp(flat[idx])
    np.maximum(a, _EXP_FAST_MIN, out=a)
    np.exp(a, out=a)
    np.copyto(a, 0.0, where=low)
    flat[idx] = values
    return a


def logsumexp(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lse, shifted, total)`` along ``axis``: lse = log sum exp x, computed with the
    max shift; ``shifted`` = exp(x - max) and ``total`` = its sum (for the softmax).

    A slice that is all -inf gives lse = -inf (zero probability), never NaN.
    """
    m = np.max(x, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    shifted = np.subtract(x, m)
    exp_inplace(shifted)
    total = np.sum(shifted, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = np.log(total)
    lse += m
    return np.squeeze(lse, axis=axis), shifted, total
