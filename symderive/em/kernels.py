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

__all__ = ["SparseData", "logsumexp", "as_counts"]


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

    def __init__(self, csr: sps.csr_matrix, threads: int | None = None):
        self.csr = csr
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.shape = csr.shape
        self.cache: dict = {}
        self._t: sps.csr_matrix | None = None
        self._rows: np.ndarray | None = None
        self._tiles: dict = {}

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


def _n_tiles(G: np.ndarray) -> int:
    if G.ndim != 2:
        return 1
    n = int(round(G.nbytes / SparseData.TILE_BYTES))
    return max(1, min(SparseData.MAX_TILES, n))


def default_threads() -> int:
    """Threads for the sparse products: ``$SYMDERIVE_EM_THREADS`` if set, else the idle
    CPUs (CPUs minus the 1-minute load average, 1 to 4).  On a busy machine extra
    threads only contend for the same cores; the result does not depend on the count."""
    env = os.environ.get("SYMDERIVE_EM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    cpus = os.cpu_count() or 1
    try:
        idle = cpus - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        idle = cpus
    return max(1, min(4, cpus, int(idle + 0.5)))


_POOL: ThreadPoolExecutor | None = None


def _pool(n: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < n:  # noqa: SLF001 - size check only
        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="symderive-em")
    return _POOL


def _plan(A: sps.csr_matrix, n_tiles: int, n_threads: int) -> list:
    """Row ranges (one per thread, balanced by stored entries), each with its column blocks."""
    indptr = A.indptr
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], n_threads + 1)[1:-1])
    bounds = [0, *sorted(set(int(c) for c in cuts) - {0, A.shape[0]}), A.shape[0]]
    edges = np.linspace(0, A.shape[1], n_tiles + 1).astype(np.intp)
    jobs = []
    for r0, r1 in zip(bounds[:-1], bounds[1:], strict=True):
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


def logsumexp(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lse, shifted, total)`` along ``axis``: lse = log sum exp x, computed with the
    max shift; ``shifted`` = exp(x - max) and ``total`` = its sum (for the softmax).

    A slice that is all -inf gives lse = -inf (zero probability), never NaN.
    """
    m = np.max(x, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    shifted = np.subtract(x, m)
    np.exp(shifted, out=shifted)
    total = np.sum(shifted, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = np.log(total)
    lse += m
    return np.squeeze(lse, axis=axis), shifted, total
