"""EM beyond one machine: the E-step and the sufficient statistics on Dask.

EM for a mixture of multinomials splits over documents.  Each iteration of
``MultinomialMixture(..., backend="dask").fit(X)``

1. sends pi and mu to the workers: the client sends them once, to one worker, and the
   others copy them along a binary tree of relay tasks (:meth:`DaskSteps._params`);
2. runs one task per worker thread that maps, over blocks of documents pinned to that
   worker (they never move), the engine's own compiled E-step
   (:meth:`EMFormulas.e_step`, the certified formula, compiled on each worker from the
   same derivation) and reduces each
   block to its sufficient statistics: N_k = sum_d gamma_dk, S = T^T gamma (W x K),
   sum_d log P(d) (and sum_d |log P(d)|, the rounding allowance of the monotonicity
   check), and a K x C contingency table of the block's labels against its most probable
   topics; the task sums its blocks' statistics;
3. sums the tasks' statistics by a tree reduction of fan-in 8 on the workers, whose last
   level (at most 8 partial sums) is added on the client.  Steps 1-3 are one graph,
   submitted at once: one scheduler round trip per iteration;
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

import dataclasses
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
    # T^T gamma by the engine's own sparse product (W x K, contiguous float64)
    out = _Stats(block.data.shape[0], resp.sum(axis=0), block.data.tdot(resp))
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
    return _with_start(_Block(start, SparseData(as_counts(block), threads=1), None), start,
                       labels)


def _map_sum(fn, add, args: tuple, extra: list | None, *blocks: _Block):
    """``fn(block, *args[, extra])`` on blocks a worker holds, summed there: the first
    level of the reduction costs no transfer (one task per worker thread and iteration)."""
    if extra is None:
        return add(*[fn(b, *args) for b in blocks])
    return add(*[fn(b, *args, x) for b, x in zip(blocks, extra, strict=True)])


def _hold(*params):
    """A task that holds pi and mu^T on a worker (its arguments, sent once by the
    client), or (``_hold(held)``) a copy fetched from another worker: a node of the
    broadcast tree (:meth:`DaskSteps._params`)."""
    return params if len(params) != 1 else params[0]


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


def _e_stats(block: _Block, module: str, certificate, beta: float, t: int, params
             ) -> _Stats:
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


def _size(block: _Block) -> tuple[int, int, int]:
    """(documents, words, tokens) of a block."""
    return block.data.shape[0], block.data.shape[1], int(block.data.csr.data.sum())


def _with_start(block: _Block, start: int, labels) -> _Block:
    """The same documents (not a copy), numbered from ``start``, with their labels."""
    lab = None if labels is None else np.asarray(labels, dtype=np.int64).ravel()
    if lab is not None and lab.size != block.data.shape[0]:
        raise ValueError(f"the block at row {start} has {block.data.shape[0]} documents and "
                         f"{lab.size} labels")
    return _Block(start, block.data, lab)


# -- a corpus on disk ---------------------------------------------------------------------
@dataclass(frozen=True)
class LibsvmBlocks:
    """A libsvm corpus (``docid id:count ...`` lines, 0-based ids) read block by block.

    The client only scans the file (streaming) for the byte offset of every ``rows``-th
    document; each worker reads and parses its own byte range, so no process holds the
    corpus.  ``rows=None``: :func:`default_block_rows` (one more scan counts the
    documents).  The file must be at the same path on the workers, and uncompressed (a
    byte range of a .gz file cannot be read alone).
    """

    data_path: str
    vocab_path: str
    rows: int | None = DEFAULT_BLOCK_ROWS

    def vocabulary(self) -> list[str]:
        from ..corpus.formats import read_vocabulary

        return read_vocabulary(self.vocab_path, allow_ids=True)

    def _documents(self):
        """(line number, byte offset) of every document line, streamed, then (None, the
        file's size)."""
        from ..corpus.bag import CorpusError

        if self.data_path.endswith(".gz"):
            raise CorpusError("a compressed file cannot be read block by block on the "
                              "workers; decompress it (gunzip) first", self.data_path)
        try:
            f = open(self.data_path, "rb")
        except OSError as exc:
            raise CorpusError(f"cannot read: {exc.strerror or exc}", self.data_path) from None
        pos = 0
        with f:
            for number, line in enumerate(f, start=1):
                text = line.strip()
                if text and not text.startswith(b"#"):
                    yield number, pos
                pos += len(line)
        yield None, pos  # the end of the file

    def ranges(self, workers: int = 1) -> list[tuple[int, int, int, int]]:
        """(first document, first line, start byte, stop byte) of every block."""
        rows = self.rows
        if rows is None:
            rows = default_block_rows(sum(1 for n, _ in self._documents() if n) or 1, workers)
        out, docs, start, first_line = [], 0, 0, 1
        for number, pos in self._documents():
            if number is None or (docs and docs % rows == 0):
                if docs:
                    out.append((docs - (docs - 1) % rows - 1, first_line, start, pos))
                start, first_line = pos, number
            docs += 1
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
#: worker environment of the local clusters started here.  Dask sets MALLOC_TRIM_THRESHOLD_
#: in its workers (to hand freed memory back to the system at once); that also turns off
#: glibc's adaptive mmap threshold, so every large temporary array of an E-step is mapped
#: and page-faulted anew, and the same E-step runs about 1.7x slower than in the client.
#: Unset (None) here, glibc's default applies.
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster(n_workers: int, **options):
    """A ``LocalCluster`` of ``n_workers`` worker processes (one thread each) with the
    worker environment the E-step needs (:data:`WORKER_ENVIRONMENT`)."""
    distributed = require_dask()
    import dask

    saved = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # a previous cluster's, inherited
    try:
        with dask.config.set(WORKER_ENVIRONMENT):
            return distributed.LocalCluster(
                n_workers=n_workers, **{"threads_per_worker": 1, "processes": True,
                                        "dashboard_address": ":0", **options})
    finally:
        if saved is not None:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = saved


def connect(address: str):
    """A client for ``local:N`` (a new local cluster of N worker processes) or a scheduler
    address (``tcp://HOST:PORT``); returns (client, cluster or None)."""
    distributed = require_dask()
    if address.startswith("local:"):
        n = address.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--dask {address}: expected local:N with N >= 1 workers")
        cluster = local_cluster(int(n))
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
            if any(math.isnan(c) for c in y.chunks[0]):
                raise ValueError("y is a dask array with unknown chunk sizes and not the row "
                                 "chunks of X: call y.compute_chunk_sizes() first")
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
    """A corpus held on the workers, block by block (reuse it for several fits).

    ``workers`` pairs each worker's address with the indices of the blocks it holds: the
    E-step runs there (one task per worker thread), so the blocks never move."""

    futures: list
    shape: tuple[int, int]
    sizes: list[int]
    tokens: int = 0
    workers: list[tuple[str, list[int]]] | None = None


def default_block_rows(documents: int, workers: int) -> int:
    """Blocks of at most :data:`DEFAULT_BLOCK_ROWS` documents, as many on every worker and
    of equal size, so that the workers finish an E-step together."""
    per = -(-documents // (max(1, workers) * DEFAULT_BLOCK_ROWS))  # blocks per worker
    return max(1, -(-documents // (max(1, workers) * per)))


def scatter_blocks(X, y=None, *, block_rows: int | None = None, client=None) -> Blocks:
    """Put ``X`` (and the labels ``y``) on the workers of ``client`` (default: the current
    one), as blocks of ``block_rows`` documents unless ``X`` is already cut into blocks
    (default: :func:`default_block_rows`), spread evenly over the workers."""
    if isinstance(X, Blocks):
        return X
    if block_rows is not None and (isinstance(block_rows, bool) or not isinstance(
            block_rows, (int, np.integer)) or block_rows < 1):
        raise ValueError(f"block_rows must be a positive integer, got {block_rows!r}")
    client = client or _client()
    workers = sorted(client.scheduler_info().get("workers", {}))
    if not workers:
        raise ValueError("the dask cluster has no workers")
    futures = _blocks(client, X, y, block_rows, workers)
    if not futures:
        raise ValueError("need at least one document and one word, got no blocks")
    sizes = client.gather([client.submit(_size, f, pure=False) for f in futures])
    widths = {w for _, w, _ in sizes}
    if len(widths) != 1:
        raise ValueError(f"the blocks have different numbers of words: {sorted(widths)}")
    rows = [int(n) for n, _, _ in sizes]
    if isinstance(X, (list, tuple)) or _unknown_rows(X):  # numbered once their sizes are known
        starts = np.concatenate([[0], np.cumsum(rows)]).tolist()
        bounds = list(zip(starts[:-1], starts[1:]))
        futures = [_submit(client, _with_start, f, a, lab, workers=_holder(client, f))
                   for f, (a, _), lab in zip(futures, bounds, _split_labels(y, bounds))]
    held: dict[str, list[int]] = {}
    for i, f in enumerate(futures):
        held.setdefault(_holder(client, f)[0], []).append(i)
    return Blocks(futures, (sum(rows), widths.pop()), rows, sum(t for _, _, t in sizes),
                  sorted(held.items()))


def _submit(client, fn, *args, workers: list[str]):
    """``fn(*args)`` on ``workers``; through ``dask.delayed`` when an argument is delayed
    (a chunk of a dask array of labels), which ``Client.submit`` would not compute."""
    if any(_is_delayed(a) for a in args):
        import dask

        return client.compute(dask.delayed(fn)(*args), workers=workers)
    return client.submit(fn, *args, pure=False, workers=workers)


def _holder(client, future) -> list[str]:
    """The worker that holds a block (waiting for it)."""
    from distributed import wait

    wait(future)
    return sorted(client.who_has(future)[future.key])[:1]


def _unknown_rows(X) -> bool:
    return hasattr(X, "chunks") and any(math.isnan(c) for c in X.chunks[0])


def _blocks(client, X, y, block_rows: int | None, workers: list[str]) -> list:
    """Futures of the :class:`_Block` s, block i computed (or read) on worker i mod n."""
    def on(i: int) -> list[str]:
        return [workers[i % len(workers)]]

    if isinstance(X, LibsvmBlocks):
        if y is not None:
            raise ValueError("a libsvm corpus read block by block has no labels; pass y=None")
        W = len(X.vocabulary())
        if block_rows is not None:
            X = dataclasses.replace(X, rows=block_rows)
        return [client.submit(_read_libsvm, X, first, line, a, b, W, pure=False, workers=on(i))
                for i, (first, line, a, b) in enumerate(X.ranges(len(workers)))]
    if hasattr(X, "to_delayed") and hasattr(X, "chunks"):  # a dask array of row blocks
        if X.ndim != 2:
            raise ValueError(f"expected a documents x words dask array, got {X.ndim} dims")
        if any(math.isnan(c) for c in X.chunks[1]):
            raise ValueError("the dask array has unknown chunk sizes along the words (axis "
                             "1): call X.compute_chunk_sizes() first")
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})
        parts = list(X.to_delayed().ravel())
        if _unknown_rows(X):  # sizes known once the blocks are on the workers
            return [client.compute(_delayed_load(0, part, None), workers=on(i))
                    for i, part in enumerate(parts)]
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(int).tolist()
        bounds = list(zip(starts[:-1], starts[1:]))
        return [client.compute(_delayed_load(a, part, lab), workers=on(i))
                for i, ((a, _), part, lab) in enumerate(zip(bounds, parts,
                                                           _split_labels(y, bounds)))]
    if isinstance(X, (list, tuple)):  # delayed or concrete CSR blocks
        return [client.compute(_delayed_load(0, part, None), workers=on(i)) if _is_delayed(part)
                else client.submit(_load_block, 0, client.scatter(part, workers=on(i)), None,
                                   pure=False, workers=on(i))
                for i, part in enumerate(X)]
    # anything the in-process engine fits: cut into blocks here and scattered
    if y is None and hasattr(X, "labels") and hasattr(X, "vocabulary"):
        y = X.labels
    csr = X.csr if isinstance(X, SparseData) else as_counts(X)
    D = csr.shape[0]
    rows = block_rows or default_block_rows(D, len(workers))
    bounds = [(a, min(a + rows, D)) for a in range(0, D, rows)]
    return [client.submit(_load_block, a, client.scatter(csr[a:b], workers=on(i)), lab,
                          pure=False, workers=on(i))
            for i, ((a, b), lab) in enumerate(zip(bounds, _split_labels(y, bounds)))]


def _add_arrays(*parts: np.ndarray) -> np.ndarray:
    return sum(parts)


def _is_delayed(x) -> bool:
    return hasattr(x, "dask") and hasattr(x, "key") and not sps.issparse(x)


def _delayed_load(start, part, labels):
    import dask

    return dask.delayed(_load_block)(start, part, labels)


def _tree_sum(client, futures: list, add=_add, fan_in: int = 8):
    """Sum statistics by a tree of fan-in ``fan_in``: on the workers while more than
    ``fan_in`` partial sums are left, then the last level on the client."""
    while len(futures) > fan_in:
        futures = [client.submit(add, *futures[i:i + fan_in], pure=False)
                   for i in range(0, len(futures), fan_in)]
    return add(*client.gather(futures))


def _module_name(formulas) -> str:
    name = formulas.module
    try:
        importlib.import_module(name)
    except (ImportError, TypeError, ValueError):
        raise ValueError(f"backend='dask' compiles the formulas on every worker from an "
                         f"importable derivation module; {name!r} is not one") from None
    return name


def _pseudo_documents(K: int, W: int) -> SparseData:
    """K dense pseudo-documents of W words (module docstring, step 4), built once per fit:
    each M-step only puts its values in (``SparseData.with_data``)."""
    return SparseData(sps.csr_matrix(
        (np.ones(K * W), np.tile(np.arange(W, dtype=np.int32), K),
         np.arange(K + 1, dtype=np.int64) * W), shape=(K, W)))


def m_step_from_stats(model: Estimator, formulas, stats: _Stats,
                      mu_prev: np.ndarray | None, pseudo: SparseData | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The in-process M-step (ML or MAP) applied to K pseudo-documents with the same sums
    (module docstring, step 4)."""
    nk = stats.nk
    W, K = stats.tg.shape
    scale = np.divide(1.0, nk, out=np.zeros_like(nk), where=nk > 0)
    # dense rows stored as CSR as they are (a stored 0 adds nothing to the M-step's sums;
    # looking for the zeros would cost more than the M-step itself)
    if pseudo is None or pseudo.shape != (K, W):
        pseudo = _pseudo_documents(K, W)
    values = (stats.tg * scale).T.ravel()
    return model._m_step(formulas, pseudo.with_data(values), np.diag(nk), mu_prev)


class DaskSteps:
    """The E-step on the blocks held by Dask workers, reduced to sufficient statistics;
    the M-step on the client from those statistics.  What :meth:`MultinomialMixture._em`
    needs of a backend (the in-process one is ``model._LocalSteps``)."""

    def __init__(self, X, y=None, block_rows: int | None = None):
        require_dask()
        self.client = _client()
        self.placed = scatter_blocks(X, y, client=self.client, block_rows=block_rows)
        self.blocks, self.shape = self.placed.futures, self.placed.shape
        self.pseudo: SparseData | None = None
        # one task per worker thread (a worker's blocks dealt among its threads): the
        # groups of a worker are consecutive, so the tree's first level sums them there
        info = self.client.scheduler_info().get("workers", {})
        self.groups = [(worker, held[j::n]) for worker, held in self.placed.workers
                       for n in [min(len(held), info.get(worker, {}).get("nthreads", 1))]
                       for j in range(n)]

    def _per_worker(self, fn, args: tuple, extra: list | None = None, add=_add,
                    params: dict | None = None):
        """``fn(block, *args[, params][, extra])`` on every block, summed: one task per
        worker thread (over blocks that worker holds; ``params``: its copy of pi and mu),
        then the tree; submitted at once, so one scheduler round trip."""
        futures = [self.client.submit(
            _map_sum, fn, add, args if params is None else (*args, params[worker]),
            None if extra is None else [extra[i] for i in held],
            *[self.blocks[i] for i in held], workers=[worker], allow_other_workers=True,
            pure=False) for worker, held in self.groups]
        return _tree_sum(self.client, futures, add)

    def _params(self, pi: np.ndarray, mu_t: np.ndarray) -> dict:
        """Futures of (pi, mu^T) on every worker, by worker: the client sends them once,
        to the first worker; worker i fetches them from worker (i - 1) // 2, a binary
        tree of depth log2(workers) in which no link carries more than two copies.  Part
        of the iteration's graph: no round trip of its own."""
        out: dict = {}
        for i, (worker, _) in enumerate(self.placed.workers):
            args = ((np.ascontiguousarray(pi), np.ascontiguousarray(mu_t)) if i == 0 else
                    (out[self.placed.workers[(i - 1) // 2][0]],))
            out[worker] = self.client.submit(_hold, *args, workers=[worker],
                                             allow_other_workers=True, pure=False)
        return out

    def prepare(self, model: Estimator, formulas) -> None:
        self.model, self.formulas = model, formulas
        self.module, self.cert = _module_name(formulas), formulas.certificate
        self.resp0 = None
        if not isinstance(model.init, str):
            full = model._initial_resp(0, 0, self.shape[0])  # validates the user's array
            edges = np.concatenate([[0], np.cumsum(self.placed.sizes)])
            self.resp0 = [full[a:b] for a, b in zip(edges[:-1], edges[1:])]
        if model.smoothing == 0:  # the ML M-step's precondition: the in-process check
            seen = self._per_worker(_seen, (), add=_add_arrays)
            check_preconditions(formulas, SparseData(sps.csr_matrix(seen[None, :])),
                                ["m_step_mu"])

    def initial(self, entropy: int, init: int) -> _Stats:
        K = self.model.n_components
        return self._per_worker(_initial_stats, (entropy, init, K),
                                [None] * len(self.blocks) if self.resp0 is None else self.resp0)

    def m_step(self, stats: _Stats, mu_prev: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        W, K = stats.tg.shape
        if self.pseudo is None or self.pseudo.shape != (K, W):
            self.pseudo = _pseudo_documents(K, W)
        return m_step_from_stats(self.model, self.formulas, stats, mu_prev, self.pseudo)

    def e_step(self, pi: np.ndarray, mu_t: np.ndarray, beta: float, t: int) -> EStep:
        stats = self._per_worker(_e_stats, (self.module, self.cert, beta, t),
                                 params=self._params(pi, mu_t))
        return EStep(stats, stats.ll, stats.fe, stats.abs_ll)

    def finish(self, model: Estimator, run: Run) -> None:
        model.contingency_ = run.stats.table
        model.n_documents_ = self.shape[0]
        model.blocks_ = len(self.blocks)
        params = self._params(run.pi, run.mu_t)
        model.labels_ = _lazy_labels(self.blocks, self.placed.sizes, self.module, self.cert,
                                     [params[w] for w, held in self.placed.workers
                                      for _ in held],
                                     [i for _, held in self.placed.workers for i in held])


def fit_dask(model: Estimator, X, y=None, *, block_rows: int | None = None
             ) -> Estimator:
    """``model.fit(X, y)`` with the E-step on the workers of the current Dask client, in
    blocks of ``block_rows`` documents (see :class:`DaskSteps`).

    ``y`` (optional): the class of each document (numpy or dask array, -1 unknown), for
    the K x C contingency table ``contingency_`` reduced on the workers.
    Sets the in-process attributes, except that ``labels_`` is a lazy dask array.
    """
    return model._fit(X, lambda: DaskSteps(X, y, block_rows))


def _lazy_labels(blocks, sizes, module: str, cert, params: list, order: list[int]):
    """The most probable topic of every document, as a dask array computed on demand
    from the blocks still held on the workers (block ``order[j]`` with ``params[j]``, the
    copy of pi and mu on its worker)."""
    import dask
    import dask.array as da

    by_block = dict(zip(order, params))
    parts = [da.from_delayed(dask.delayed(_predict)(b, module, cert, by_block[i]), (n,),
                             dtype=np.intp) for i, (b, n) in enumerate(zip(blocks, sizes))]
    return da.concatenate(parts)
