"""``MultinomialMixture``: EM for a mixture of multinomials, in the scikit-learn style.

The loop is the only thing written here: every formula it evaluates (E-step, M-step,
log-likelihood) is compiled from the ``em_multinomial`` derivation and runs only once the
checker has certified it (:mod:`symderive.em.formulas`).  What the loop adds is
bookkeeping and safety:

* the log-likelihood is checked at every iteration and must never decrease by more than
  rounding (:class:`LikelihoodDecreaseError` otherwise -- EM guarantees it);
* a cluster whose responsibilities are all zero keeps pi_k = 0 and its previous mu_k
  (the M-step is 0 / 0 there, and any mu_k maximises the expected log-likelihood);
* ``smoothing = a > 0`` adds, in the mu-update, one pseudo-document per cluster with ``a``
  counts of every word (a Dirichlet(1 + a) prior): the derivation's own M-step formula
  is applied to the augmented counts.  The quantity that must not decrease is then the
  log posterior, log-likelihood + a * sum_kw log mu_kw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sps

from ..config import CERTIFY_TIMEOUT, validate_timeout
from .formulas import EMFormulas, load_formulas
from .kernels import SparseData

__all__ = ["MultinomialMixture", "LikelihoodDecreaseError", "NotFittedError", "Progress",
           "initial_responsibilities", "BACKENDS"]

STOP_RULES = ("loglik", "pi-norm")
DEFAULT_TOL = {"loglik": 1e-6, "pi-norm": 1e-3}
#: a decrease of the objective larger than this fraction of sum_d |log P(d)| is an error
MONOTONE_RTOL = 1e-10
BACKENDS = ("local", "dask")
#: documents per draw of random initial responsibilities (see initial_responsibilities)
INIT_CHUNK = 4096


class LikelihoodDecreaseError(RuntimeError):
    """The log-likelihood went down between two EM iterations (more than rounding)."""


class NotFittedError(RuntimeError):
    """The estimator is used before ``fit``."""


def seed_entropy(random_state: int | np.random.Generator | None) -> int:
    """The one integer that seeds every initialisation of a fit."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) \
            or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, a numpy Generator or "
                         f"None, got {random_state!r}")
    return int(random_state)


def initial_responsibilities(entropy: int, init: int, start: int, stop: int, K: int
                             ) -> np.ndarray:
    """Random initial responsibilities of documents ``start .. stop-1`` (rows normalised).

    Document d's row depends only on (entropy, init, d): rows are drawn in fixed chunks of
    ``INIT_CHUNK`` documents, chunk c from the stream seeded by (entropy, init, c).  So a
    fit that sees the documents in blocks of any size (the Dask backend) starts from the
    same responsibilities as the in-process fit.
    """
    out = np.empty((stop - start, K))
    for c in range(start // INIT_CHUNK, (stop - 1) // INIT_CHUNK + 1 if stop > start else 0):
        lo, hi = max(start, c * INIT_CHUNK), min(stop, (c + 1) * INIT_CHUNK)
        # a stream fills rows in order: the first rows of a chunk do not depend on its end
        draw = np.random.default_rng([entropy, init, c]).random((hi - c * INIT_CHUNK, K))
        out[lo - start:hi - start] = 1.0 - draw[lo - c * INIT_CHUNK:]  # in (0, 1]
    out /= out.sum(axis=1, keepdims=True)
    return out


@dataclass
class Progress:
    """What a progress callback receives after every iteration."""

    init: int
    iteration: int
    log_likelihood: float
    change: float  # the quantity the stop rule compares with tol
    seconds: float


@dataclass
class _Run:
    pi: np.ndarray | None
    mu_t: np.ndarray | None   # mu transposed (W x K), the layout of the sparse products
    resp: np.ndarray
    history: list[float] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    seconds: float = 0.0


class MultinomialMixture:
    """A mixture of ``n_components`` multinomials over words, fitted by EM.

    Parameters
    ----------
    n_components:
        K, the number of topics.
    tol:
        Tolerance of the stop rule (default 1e-6 for ``"loglik"``, 1e-3 for
        ``"pi-norm"``).
    max_iter:
        Most EM iterations per initialisation.
    n_init:
        Number of initialisations; the one with the highest log-likelihood is kept.
    random_state:
        Seed (or ``numpy.random.Generator``) for the initial responsibilities; the same
        seed gives the same result.  A document's initial row depends only on the seed,
        the initialisation number and its own index (:func:`initial_responsibilities`).
    stop:
        ``"loglik"``: stop when |L_t - L_{t-1}| <= tol * |L_t| (relative change);
        ``"pi-norm"``: the document's rule, ||pi_old - pi_new||_2 < tol.
    smoothing:
        Pseudo-count added to every word of every topic in the mu-update (0 = plain
        maximum likelihood, as the document).
    init:
        ``"random"`` (random responsibilities, rows normalised) or an array of initial
        responsibilities (documents x K).
    formulas:
        Compiled formulas to use (default: the certified ``em_multinomial`` ones).
    check_timeout:
        Budget per claim, in seconds, for certifying the formulas before the first fit.
    callback:
        Called with a :class:`Progress` after every iteration.
    backend:
        ``"local"`` (in process) or ``"dask"``: the E-step and the sufficient statistics
        run on the workers of the current ``dask.distributed`` client, block by block
        (:mod:`symderive.em.distributed`; needs ``pip install 'symderive[dask]'``).

    Attributes (after ``fit``)
    ----------
    weights_ (K,), components_ (K x W), n_iter_, converged_, log_likelihood_ (one value
    per iteration: sum_d log P(d), multinomial coefficient included), labels_ (argmax of
    the final responsibilities), n_features_in_, fit_seconds_.
    """

    def __init__(self, n_components: int = 10, *, tol: float | None = None,
                 max_iter: int = 100, n_init: int = 1,
                 random_state: int | np.random.Generator | None = None,
                 stop: str = "loglik", smoothing: float = 0.0, init: str | np.ndarray = "random",
                 formulas: EMFormulas | None = None, check_timeout: float = CERTIFY_TIMEOUT,
                 callback: Callable[[Progress], None] | None = None, backend: str = "local"):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state
        self.stop = stop
        self.smoothing = smoothing
        self.init = init
        self.formulas = formulas
        self.check_timeout = check_timeout
        self.callback = callback
        self.backend = backend

    # -- parameters ----------------------------------------------------------------------
    def _validate(self) -> float:
        K = self.n_components
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
            raise ValueError(f"n_components must be a positive integer, got {K!r}")
        if self.stop not in STOP_RULES:
            raise ValueError(f"stop must be one of {STOP_RULES}, got {self.stop!r}")
        tol = DEFAULT_TOL[self.stop] if self.tol is None else float(self.tol)
        if not (tol > 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        for name in ("max_iter", "n_init"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (self.smoothing >= 0 and math.isfinite(self.smoothing)):
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing!r}")
        if isinstance(self.init, str) and self.init != "random":
            raise ValueError(f"init must be 'random' or an array, got {self.init!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        return tol

    def _formulas(self) -> EMFormulas:
        if self.formulas is None:
            timeout = validate_timeout(self.check_timeout, "check_timeout")
            self.formulas = load_formulas(timeout=timeout)
        return self.formulas

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, y=None) -> MultinomialMixture:
        """Fit to ``X`` (documents x words counts: a Corpus, sparse matrix or array; with
        ``backend="dask"`` also blocks on a cluster, see :mod:`symderive.em.distributed`)."""
        if self.backend == "dask":  # -- the Dask backend hook --
            from .distributed import fit_dask

            return fit_dask(self, X, y)
        tol = self._validate()
        formulas = self._formulas()
        start = time.perf_counter()
        data = SparseData.from_counts(X)
        D, W = data.shape
        if D == 0 or W == 0:
            raise ValueError(f"need at least one document and one word, got shape {data.shape}")
        entropy = seed_entropy(self.random_state)
        augmented = self._augment(data) if self.smoothing > 0 else None
        best: _Run | None = None
        for init in range(self.n_init):
            resp0 = self._initial_resp(entropy, init, D)
            run = self._em(formulas, data, augmented, resp0, tol, init)
            if best is None or run.history[-1] > best.history[-1]:
                best = run
        assert best is not None
        self.weights_ = best.pi
        self.components_ = np.ascontiguousarray(best.mu_t.T)
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.log_likelihood_ = np.asarray(best.history)
        self.objective_ = np.asarray(best.objective)
        self.labels_ = np.argmax(best.resp, axis=1)
        self.n_features_in_ = W
        self.fit_seconds_ = time.perf_counter() - start
        self._mu_t = best.mu_t
        return self

    def _initial_resp(self, entropy: int, init: int, D: int) -> np.ndarray:
        K = self.n_components
        if isinstance(self.init, str):  # in (0, 1]: every word gets mu_kw > 0
            return initial_responsibilities(entropy, init, 0, D, K)
        resp = np.array(self.init, dtype=np.float64)
        if resp.shape != (D, K) or not np.all(np.isfinite(resp)) or np.any(resp < 0) \
                or np.any(resp.sum(axis=1) <= 0):
            raise ValueError(f"init must be a non-negative ({D}, {K}) array with positive "
                             "row sums")
        resp /= resp.sum(axis=1, keepdims=True)
        return resp

    def _augment(self, data: SparseData) -> SparseData:
        """The counts plus one pseudo-document per cluster with ``smoothing`` of each word."""
        K, W = self.n_components, data.shape[1]
        pseudo = sps.csr_matrix(np.full((K, W), float(self.smoothing)))
        return SparseData(sps.vstack([data.csr, pseudo], format="csr"))

    def _m_step(self, formulas: EMFormulas, data: SparseData, augmented: SparseData | None,
                resp: np.ndarray, mu_prev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if augmented is None:
            pi, mu_t = formulas.m_step(data, resp)
        else:
            pi = formulas.m_pi(resp)
            mu_t = formulas.m_mu(augmented, np.vstack([resp, np.eye(self.n_components)]))
        empty = np.isnan(mu_t[0])  # a whole column is 0 / 0 exactly when its sum is 0
        if empty.any():  # no words in the cluster: 0 / 0, any mu_k is a maximiser
            mu_t = np.array(mu_t)
            mu_t[:, empty] = 1.0 / mu_t.shape[0] if mu_prev is None else mu_prev[:, empty]
        return pi, mu_t

    def _em(self, formulas: EMFormulas, data: SparseData, augmented: SparseData | None,
            resp: np.ndarray, tol: float, init: int) -> _Run:
        start = time.perf_counter()
        run = _Run(None, None, resp)
        pi_old = None
        for t in range(1, self.max_iter + 1):
            pi, mu_t = self._m_step(formulas, data, augmented, resp, run.mu_t)
            resp, ll_d = formulas.e_step(data, pi, mu_t)
            if not np.all(np.isfinite(ll_d)):
                bad = int(np.flatnonzero(~np.isfinite(ll_d))[0])
                raise FloatingPointError(
                    f"document {bad} has log-likelihood {ll_d[bad]} at iteration {t}: it is "
                    "impossible under every cluster (a word with mu_kw = 0 everywhere)")
            ll = float(np.sum(ll_d))
            objective = ll
            if augmented is not None:
                with np.errstate(divide="ignore"):
                    objective += self.smoothing * float(np.sum(np.log(mu_t)))
            if run.objective:
                self._check_monotone(run.objective[-1], objective, ll_d, t)
            change = self._change(pi, pi_old, ll, run.history)
            run.history.append(ll)
            run.objective.append(objective)
            run.pi, run.mu_t, run.resp, run.n_iter = pi, mu_t, resp, t
            if self.callback is not None:
                self.callback(Progress(init, t, ll, change, time.perf_counter() - start))
            if self._stops(change, tol):
                run.converged = True
                break
            pi_old = pi
        run.seconds = time.perf_counter() - start
        return run

    def _change(self, pi: np.ndarray, pi_old: np.ndarray | None, ll: float,
                history: list[float]) -> float:
        """The quantity the stop rule compares with tol (inf at the first iteration)."""
        if self.stop == "pi-norm" and pi_old is not None:
            return float(np.linalg.norm(pi - pi_old))
        if self.stop == "loglik" and history:
            return abs(ll - history[-1]) / max(abs(ll), np.finfo(float).tiny)
        return math.inf

    def _stops(self, change: float, tol: float) -> bool:
        return (change < tol) if self.stop == "pi-norm" else (change <= tol)

    @staticmethod
    def _check_monotone(before: float, after: float, ll_d: np.ndarray, t: int) -> None:
        slack = MONOTONE_RTOL * float(np.sum(np.abs(ll_d))) + 1e-12
        if after < before - slack:
            raise LikelihoodDecreaseError(
                f"the log-likelihood decreased at iteration {t}: {before!r} -> {after!r} "
                f"(by {before - after:.3g}, more than the rounding allowance {slack:.3g}); "
                "EM cannot do that, so the formulas or the engine are wrong")

    # -- using the fit -------------------------------------------------------------------
    def _check_fitted(self, X) -> SparseData:
        if not hasattr(self, "weights_"):
            raise NotFittedError("this MultinomialMixture is not fitted yet; call fit first")
        data = SparseData.from_counts(X)
        if data.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {data.shape[1]} words, the model was fitted with "
                             f"{self.n_features_in_}")
        return data

    def _e_step(self, X) -> tuple[np.ndarray, np.ndarray]:
        data = self._check_fitted(X)
        return self._formulas().e_step(data, self.weights_, self._mu_t)

    def predict_proba(self, X) -> np.ndarray:
        """gamma_dk = P(c_d = k | d), the E-step (46)."""
        return self._e_step(X)[0]

    def predict(self, X) -> np.ndarray:
        """The most probable topic of each document."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score_samples(self, X) -> np.ndarray:
        """log P(d) of each document, multinomial coefficient included (40)."""
        return self._e_step(X)[1]

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per document."""
        return float(np.mean(self.score_samples(X)))

    def get_params(self, deep: bool = True) -> dict:
        names = ("n_components", "tol", "max_iter", "n_init", "random_state", "stop",
                 "smoothing", "init", "formulas", "check_timeout", "callback", "backend")
        return {n: getattr(self, n) for n in names}

    def set_params(self, **params) -> MultinomialMixture:
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return (f"MultinomialMixture(n_components={self.n_components}, stop={self.stop!r}, "
                f"tol={self.tol}, max_iter={self.max_iter}, n_init={self.n_init}, "
                f"random_state={self.random_state!r}, smoothing={self.smoothing})")
