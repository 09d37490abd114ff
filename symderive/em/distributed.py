"""EM beyond one machine: the E-step and the sufficient statistics on Dask.

EM for a mixture of multinomials splits over documents.  Each iteration of
``MultinomialMixture(..., backend="dask").fit(X)``

1. broadcasts pi and mu to the workers (``Client.scatter(..., broadcast=True)``);
2. maps, over the blocks of documents that stay on the workers, the engine's own compiled
   E-step (:meth:`EMFormulas.e_step`, the certified formula, compiled on each worker from
   the same derivation) and reduces each block to its sufficient statistics: N_k =
   sum_d gamma_dk, S = T^T gamma (W x K), sum_d log P(d) (and sum_d |log P(d)|, the
   rounding allowance of the monotonicity check), and a K x C contingency table of the
   block's labels against its most probable topics;
3. sums the blocks' statistics by a tree reduction on the workers;
4. runs the in-process M-step (``MultinomialMixture._m_step``, the certified formulas,
   maximum likelihood or MAP) on the client.  It is applied to K pseudo-documents:
   pseudo-document k has counts S[:, k] / N_k and responsibility N_k for topic k only.
   Every M-step of a mixture of multinomials, the MAP one included, depends on the data
   only through sum_d gamma_dk and sum_d gamma_dk T_d, and these K pseudo-documents have
   exactly those sums, so the M-step gives the same pi and mu as on the whole corpus (up
   to the order of the sums).

The loop itself is the in-process engine's (:meth:`MultinomialMixture._em`): this module
only supplies :class:`DaskSteps`, how an E-step's statistics are computed.  So the
free-energy guard, the annealing schedule (the workers run the annealed E-step at the
loop's beta), the stop rules, ``n_init`` and ``warm_start`` are the same code.

The client never holds per-document data: it holds pi, mu and the reduced statistics.
Random initial responsibilities are drawn per document
(:func:`~symderive.em.steps.initial_responsibilities`), so the blocks do not change the
start, and the fit equals the in-process fit for any block size.

Inputs: a ``dask.array`` of scipy.sparse row blocks, a list of ``dask.delayed`` (or
concrete) CSR blocks, a :class:`LibsvmBlocks` corpus on disk that every worker reads block
by block, or anything the in-process engine fits (it is then cut into ``block_rows``
rows and scattered).
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps

from .formulas import check_preconditions
from .kernels import SparseData, as_counts
from .steps import EStep, Estimator, Run, initial_responsibilities

__all__ = ["fit_dask", "require_dask", "LibsvmBlocks", "Blocks", "scatter_blocks",
           "DaskSteps", "DaskUnavailable", "DEFAULT_BLOCK_ROWS", "connect", "describe"]

INSTALL_HINT = "pip install 'symderive[dask]'"
#: documents per block: large enough that the per-block work on K x W (log mu, T^T gamma)
#: stays small beside the per-document work
DEFAULT_BLOCK_ROWS = 16384


class DaskUnavailable(ImportError):
    """backend="dask" without dask and distributed installed."""


def require_dask():
    """``dask.distributed``, or an error that says how to install it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise DaskUnavailable(f"backend='dask' needs dask and distributed ({exc}); install "
                              f"them with: {INSTALL_HINT}") from None
    return distributed


# -- worker side --------------------------------------------------------------------------
@dataclass
class _Block:
    """Documents ``start .. start + n - 1``, kept in a worker's memory between iterations."""

    start: int
    data: SparseData
    labels: np.ndarray | None  # class of each document (-1: unknown), or None


@dataclass
class _Stats:
    """Sufficient statistics of some documents' responsibilities (summed over blocks)."""

    n: int                   # documents
    nk: np.ndarray           # (K,) sum_d gamma_dk
    tg: np.ndarray           # (W, K) T^T gamma
    ll: float = 0.0          # sum_d log P(d)
    abs_ll: float = 0.0      # sum_d |log P(d)|
    fe: float = 0.0          # sum_d free energy at the E-step's beta
    table: np.ndarray | None = None  # (K, C) documents of class c whose argmax topic is k


def _add(*parts: _Stats) -> _Stats:
    """The sum of blocks' statistics (a node of the tree reduction)."""
    tables = [p.table for p in parts if p.table is not None]
    table = None
    if tables:
        table = np.zeros((tables[0].shape[0], max(t.shape[1] for t in tables)))
        for t in tables:
            table[:, :t.shape[1]] += t
    return _Stats(sum(p.n for p in parts), sum(p.nk for p in parts), sum(p.tg for p in parts),
                  math.fsum(p.ll for p in parts), math.fsum(p.abs_ll for p in parts),
                  math.fsum(p.fe for p in parts), table)


def _stats(block: _Block, resp: np.ndarray, ll_d: np.ndarray | None,
           fe_d: np.ndarray | None = None) -> _Stats:
    out = _Stats(block.data.shape[0], resp.sum(axis=0), block.data.transposed @ resp)
    if ll_d is not None:
        out.ll, out.abs_ll = float(np.sum(ll_d)), float(np.sum(np.abs(ll_d)))
        out.fe = out.ll if fe_d is None else float(np.sum(fe_d))
        if block.labels is not None:
            out.table = _contingency(np.argmax(resp, axis=1), block.labels, resp.shape[1])
    return out


def _contingency(topics: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    known = labels >= 0
    C = int(labels.max()) + 1 if known.any() else 0
    flat = np.bincount(topics[known] * C + labels[known], minlength=K * C)
    return flat.reshape(K, C).astype(np.float64)


_WORKER_FORMULAS: dict = {}


def _worker_formulas(module: str, certificate):
    """The certified formulas, compiled once per worker process from the same derivation.

    The client certified them.  Its certificate applies here only if this process computes
    the same key for them: the key hashes the derivation and the checker's source, so a
    worker whose code differs is refused instead of running unchecked code.
    """
    hit = _WORKER_FORMULAS.get(module)
    if hit is not None:
        return hit
    from . import formulas as fm

    out = fm.load_formulas(module, verify=False)  # compiled; the certificate is the client's
    if certificate is not None:
        if fm._claims_and_key(out.spec)[2] != certificate.key:
            raise fm.UnverifiedFormulasError(
                f"worker {os.getpid()}: the formulas of {module} here are not the ones the "
                "client certified (different derivation or checker source); install the same "
                "symderive on the client and the workers")
        out = fm.EMFormulas(out.spec, out.program, certificate, out.module)
    _WORKER_FORMULAS[module] = out
    return out


def _load_block(start: int, block, labels) -> _Block:
    csr = as_counts(block)
    lab = None if labels is None else np.asarray(labels, dtype=np.int64).ravel()
    if lab is not None and lab.size != csr.shape[0]:
        raise ValueError(f"the block at row {start} has {csr.shape[0]} documents and "
                         f"{lab.size} labels")
    return _Block(start, SparseData(csr, threads=1), lab)


def _initial_stats(block: _Block, entropy: int, init: int, K: int, resp0) -> _Stats:
    n = block.data.shape[0]
    if resp0 is None:
        resp = initial_responsibilities(entropy, init, block.start, block.start + n, K)
    else:
        resp = np.array(resp0, dtype=np.float64)
        resp /= resp.sum(axis=1, keepdims=True)
    return _stats(block, resp, None)


def _seen(block: _Block) -> np.ndarray:
    """In how many of the block's documents each word occurs."""
    return np.bincount(block.data.csr.indices, minlength=block.data.shape[1])


def _e_stats(block: _Block, module: str, certificate, params, beta: float, t: int) -> _Stats:
    """The engine's E-step (at inverse temperature ``beta``) on one block, reduced to its
    sufficient statistics."""
    pi, mu_t = params
    resp, ll_d, fe_d = _worker_formulas(module, certificate).e_step(block.data, pi, mu_t, beta)
    if not np.all(np.isfinite(ll_d)):
        bad = int(np.flatnonzero(~np.isfinite(ll_d))[0])
        raise FloatingPointError(
            f"document {block.start + bad} has log-likelihood {ll_d[bad]} at iteration {t}: it "
            "is impossible under every cluster (a word with mu_kw = 0 everywhere)")
    return _stats(block, resp, ll_d, fe_d)


def _predict(block: _Block, module: str, certificate, params) -> np.ndarray:
    resp = _worker_formulas(module, certificate).e_step(block.data, *params)[0]
    return np.argmax(resp, axis=1)


def _rows(block: _Block) -> int:
    return block.data.shape[0]


def _width(block: _Block) -> int:
    return block.data.shape[1]


# -- a corpus on disk ---------------------------------------------------------------------
@dataclass(frozen=True)
class LibsvmBlocks:
    """A libsvm corpus (``docid id:count ...`` lines, 0-based ids) read block by block.

    The client only scans the file for the byte offset of every ``rows``-th document;
    each worker reads and parses its own byte range, so no process holds the corpus.
    """

    data_path: str
    vocab_path: str
    rows: int = DEFAULT_BLOCK_ROWS

    def vocabulary(self) -> list[str]:
        from ..corpus.formats import read_vocabulary

        return read_vocabulary(self.vocab_path, allow_ids=True)

    def ranges(self) -> list[tuple[int, int, int, int]]:
        """(first document, first line, start byte, stop byte) of every block."""
        out, docs, start, first_line = [], 0, 0, 1
        pos = 0
        with open(self.data_path, "rb") as f:
            for number, line in enumerate(f, start=1):
                text = line.strip()
                if text and not text.startswith(b"#"):
                    if docs and docs % self.rows == 0:
                        out.append((docs - self.rows, first_line, start, pos))
                        start, first_line = pos, number
                    docs += 1
                pos += len(line)
        if docs:
            out.append((docs - (docs - 1) % self.rows - 1, first_line, start, pos))
        return out

    def read(self, first_line: int, start: int, stop: int, n_words: int) -> sps.csr_matrix:
        """The documents in bytes ``start .. stop``; errors name the file and line."""
        from ..corpus.bag import CorpusError
        from ..corpus.formats import _libsvm_items

        with open(self.data_path, "rb") as f:
            f.seek(start)
            raw = f.read(stop - start).decode("latin-1").splitlines()
        indptr, indices, counts = [0], [], []
        for number, text in enumerate(raw, start=first_line):
            fields = text.split()
            if not fields or fields[0].startswith("#"):
                continue
            if ":" in fields[0]:
                raise CorpusError(f"malformed line: it must start with a document id, not the "
                                  f"item {fields[0]!r}", self.data_path, number)
            ids, cs = _libsvm_items(fields[1:], self.data_path, number, n_words,
                                    self.vocab_path)
            indices += ids
            counts += cs
            indptr.append(len(indices))
        return sps.csr_matrix((np.asarray(counts, np.float64), np.asarray(indices, np.int64),
                               np.asarray(indptr, np.int64)), shape=(len(indptr) - 1, n_words))


def _read_libsvm(source: LibsvmBlocks, first_doc: int, first_line: int, start: int,
                 stop: int, n_words: int) -> _Block:
    return _load_block(first_doc, source.read(first_line, start, stop, n_words), None)


# -- client side --------------------------------------------------------------------------
def connect(address: str):
    """A client for ``local:N`` (a new local cluster of N worker processes) or a scheduler
    address (``tcp://HOST:PORT``); returns (client, cluster or None)."""
    distributed = require_dask()
    if address.startswith("local:"):
        n = address.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--dask {address}: expected local:N with N >= 1 workers")
        cluster = distributed.LocalCluster(n_workers=int(n), threads_per_worker=1,
                                           processes=True, dashboard_address=":0")
        return distributed.Client(cluster), cluster
    return distributed.Client(address), None


def describe(client, cluster=None) -> str:
    """Where a fit runs, for the report: the cluster, its workers and the dashboard."""
    workers = len(client.scheduler_info().get("workers", {}))
    where = (f"dask local cluster, {workers} worker processes" if cluster is not None else
             f"dask scheduler {client.scheduler.address}, {workers} workers")
    link = getattr(client, "dashboard_link", None)
    return where + (f"; dashboard {link}" if link else "")


def _client():
    distributed = require_dask()
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("backend='dask' fits on the current dask.distributed client: start "
                         "one first, e.g. Client(LocalCluster()) or Client('tcp://HOST:PORT')"
                         ) from None


def _split_labels(y, bounds: Sequence[tuple[int, int]]):
    if y is None:
        return [None] * len(bounds)
    if hasattr(y, "labels") and hasattr(y, "vocabulary"):  # a Corpus passed as y
        y = y.labels
    if hasattr(y, "to_delayed"):  # a dask array with the row chunks of X
        parts = list(y.to_delayed().ravel())
        if len(parts) != len(bounds):
            y = y.rechunk((tuple(b - a for a, b in bounds),))
            parts = list(y.to_delayed().ravel())
        return parts
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != bounds[-1][1]:
        raise ValueError(f"y must hold one label per document ({bounds[-1][1]}), got shape "
                         f"{y.shape}")
    return [y[a:b] for a, b in bounds]


@dataclass
class Blocks:
    """A corpus held on the workers, block by block (reuse it for several fits)."""

    futures: list
    shape: tuple[int, int]
    sizes: list[int]


def scatter_blocks(X, y=None, *, block_rows: int = DEFAULT_BLOCK_ROWS, client=None) -> Blocks:
    """Put ``X`` (and the labels ``y``) on the workers of ``client`` (default: the current
    one), as blocks of ``block_rows`` documents unless ``X`` is already cut into blocks."""
    if isinstance(X, Blocks):
        return X
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) \
            or block_rows < 1:
        raise ValueError(f"block_rows must be a positive integer, got {block_rows!r}")
    client = client or _client()
    futures, shape, sizes = _blocks(client, X, y, int(block_rows))
    return Blocks(futures, shape, [int(n) for n in sizes])


def _blocks(client, X, y, block_rows: int):
    """Futures of the :class:`_Block` s on the workers, and the corpus shape."""
    if isinstance(X, LibsvmBlocks):
        if y is not None:
            raise ValueError("a libsvm corpus read block by block has no labels; pass y=None")
        W = len(X.vocabulary())
        futures = [client.submit(_read_libsvm, X, first, line, a, b, W, pure=False)
                   for first, line, a, b in X.ranges()]
    elif hasattr(X, "to_delayed") and hasattr(X, "chunks"):  # a dask array of row blocks
        if X.ndim != 2:
            raise ValueError(f"expected a documents x words dask array, got {X.ndim} dims")
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])])
        bounds = list(zip(starts[:-1].tolist(), starts[1:].tolist()))
        labels = _split_labels(y, bounds)
        parts = list(X.to_delayed().ravel())
        futures = [client.compute(_delayed_load(a, part, lab))
                   for (a, _), part, lab in zip(bounds, parts, labels)]
    elif isinstance(X, (list, tuple)):  # delayed or concrete CSR blocks
        futures = [client.compute(_delayed_load(0, part, None)) if _is_delayed(part)
                   else client.submit(_load_block, 0, part, None) for part in X]
        sizes = client.gather([client.submit(_rows, f) for f in futures])
        starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        bounds = list(zip(starts[:-1], starts[1:]))
        labels = _split_labels(y, bounds)
        futures = [client.submit(_restart, f, a, lab) for f, (a, _), lab
                   in zip(futures, bounds, labels)]
    else:  # anything the in-process engine fits: cut into blocks here and scattered
        if y is None and hasattr(X, "labels") and hasattr(X, "vocabulary"):
            y = X.labels
        csr = X.csr if isinstance(X, SparseData) else as_counts(X)
        D = csr.shape[0]
        bounds = [(a, min(a + block_rows, D)) for a in range(0, D, block_rows)]
        labels = _split_labels(y, bounds)
        futures = [client.submit(_load_block, a, client.scatter(csr[a:b]), lab, pure=False)
                   for (a, b), lab in zip(bounds, labels)]
    if not futures:
        raise ValueError("need at least one document and one word, got no blocks")
    sizes = client.gather([client.submit(_rows, f) for f in futures])
    widths = set(client.gather([client.submit(_width, f) for f in futures]))
    if len(widths) != 1:
        raise ValueError(f"the blocks have different numbers of words: {sorted(widths)}")
    return futures, (int(sum(sizes)), widths.pop()), sizes


def _add_arrays(*parts: np.ndarray) -> np.ndarray:
    return sum(parts)


def _is_delayed(x) -> bool:
    return hasattr(x, "dask") and hasattr(x, "key") and not sps.issparse(x)


def _delayed_load(start, part, labels):
    import dask

    return dask.delayed(_load_block)(start, part, labels)


def _restart(block: _Block, start: int, labels) -> _Block:
    return _load_block(start, block.data.csr, labels)


def _tree_sum(client, futures: list, add=_add, fan_in: int = 8):
    """Sum statistics on the workers, ``fan_in`` at a time, until one is left."""
    while len(futures) > 1:
        futures = [client.submit(add, *futures[i:i + fan_in], pure=False)
                   for i in range(0, len(futures), fan_in)]
    return futures[0].result()


def _module_name(formulas) -> str:
    name = formulas.module
    try:
        importlib.import_module(name)
    except (ImportError, TypeError, ValueError):
        raise ValueError(f"backend='dask' compiles the formulas on every worker from an "
                         f"importable derivation module; {name!r} is not one") from None
    return name


def m_step_from_stats(model: Estimator, formulas, stats: _Stats,
                      mu_prev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The in-process M-step (ML or MAP) applied to K pseudo-documents with the same sums
    (module docstring, step 4)."""
    nk = stats.nk
    W, K = stats.tg.shape
    scale = np.divide(1.0, nk, out=np.zeros_like(nk), where=nk > 0)
    # dense rows stored as CSR as they are (a stored 0 adds nothing to the M-step's sums;
    # looking for the zeros would cost more than the M-step itself)
    pseudo = SparseData(sps.csr_matrix(
        ((stats.tg * scale).T.ravel(), np.tile(np.arange(W, dtype=np.int32), K),
         np.arange(K + 1, dtype=np.int64) * W), shape=(K, W)))
    return model._m_step(formulas, pseudo, np.diag(nk), mu_prev)


class DaskSteps:
    """The E-step on the blocks held by Dask workers, reduced to sufficient statistics;
    the M-step on the client from those statistics.  What :meth:`MultinomialMixture._em`
    needs of a backend (the in-process one is ``model._LocalSteps``)."""

    def __init__(self, X, y=None, block_rows: int | None = None):
        require_dask()
        self.client = _client()
        self.placed = scatter_blocks(X, y, client=self.client, block_rows=DEFAULT_BLOCK_ROWS
                                     if block_rows is None else block_rows)
        self.blocks, self.shape = self.placed.futures, self.placed.shape

    def prepare(self, model: Estimator, formulas) -> None:
        self.model, self.formulas = model, formulas
        self.module, self.cert = _module_name(formulas), formulas.certificate
        self.resp0 = [None] * len(self.blocks)
        if not isinstance(model.init, str):
            full = model._initial_resp(0, 0, self.shape[0])  # validates the user's array
            edges = np.concatenate([[0], np.cumsum(self.placed.sizes)])
            self.resp0 = [full[a:b] for a, b in zip(edges[:-1], edges[1:])]
        if model.smoothing == 0:  # the ML M-step's precondition: the in-process check
            seen = _tree_sum(self.client, [self.client.submit(_seen, b) for b in self.blocks],
                             _add_arrays)
            check_preconditions(formulas, SparseData(sps.csr_matrix(seen[None, :])),
                                ["m_step_mu"])

    def initial(self, entropy: int, init: int) -> _Stats:
        K = self.model.n_components
        return _tree_sum(self.client, [
            self.client.submit(_initial_stats, b, entropy, init, K, r0, pure=False)
            for b, r0 in zip(self.blocks, self.resp0)])

    def m_step(self, stats: _Stats, mu_prev: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        return m_step_from_stats(self.model, self.formulas, stats, mu_prev)

    def e_step(self, pi: np.ndarray, mu_t: np.ndarray, beta: float, t: int) -> EStep:
        [params] = self.client.scatter([(pi, mu_t)], broadcast=True, hash=False)
        stats = _tree_sum(self.client, [
            self.client.submit(_e_stats, b, self.module, self.cert, params, beta, t, pure=False)
            for b in self.blocks])
        return EStep(stats, stats.ll, stats.fe, stats.abs_ll)

    def finish(self, model: Estimator, run: Run) -> None:
        model.contingency_ = run.stats.table
        model.n_documents_ = self.shape[0]
        model.blocks_ = len(self.blocks)
        [params] = self.client.scatter([(run.pi, run.mu_t)], broadcast=True,
                                       hash=False)
        model.labels_ = _lazy_labels(self.blocks, self.placed.sizes, self.module, self.cert,
                                     params)


def fit_dask(model: Estimator, X, y=None, *, block_rows: int | None = None
             ) -> Estimator:
    """``model.fit(X, y)`` with the E-step on the workers of the current Dask client, in
    blocks of ``block_rows`` documents (see :class:`DaskSteps`).

    ``y`` (optional): the class of each document (numpy or dask array, -1 unknown), for
    the K x C contingency table ``contingency_`` reduced on the workers.
    Sets the in-process attributes, except that ``labels_`` is a lazy dask array.
    """
    return model._fit(X, lambda: DaskSteps(X, y, block_rows))


def _lazy_labels(blocks, sizes, module: str, cert, params):
    """The most probable topic of every document, as a dask array computed on demand
    from the blocks still held on the workers."""
    import dask
    import dask.array as da

    parts = [da.from_delayed(dask.delayed(_predict)(b, module, cert, params), (n,), dtype=np.intp)
             for b, n in zip(blocks, sizes)]
    return da.concatenate(parts)
