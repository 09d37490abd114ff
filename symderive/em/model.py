"""``MultinomialMixture``: EM for a mixture of multinomials, in the scikit-learn style.

The loop is the only thing written here: every formula it evaluates (E-step, M-step,
log-likelihood, their MAP and annealed forms, the free energy) is compiled from the
``em_multinomial`` derivation and runs only once the checker has certified it
(:mod:`symderive.em.formulas`).  What the loop adds is bookkeeping and safety:

* ``smoothing = a > 0`` is the MAP M-step under a symmetric Dirichlet(1 + a) prior on
  every mu_k (claim MAP.2), ``smoothing_pi`` the same on pi (MAP.1);
* ``anneal`` runs deterministic annealing (claim DA.1): the E-step at inverse
  temperatures beta < 1 first, then at beta = 1;
* the objective -- the free energy at the current beta plus the log prior (at beta = 1
  and no smoothing: the log-likelihood) -- is checked at every iteration and must never
  decrease by more than rounding while beta is fixed (:class:`LikelihoodDecreaseError`
  otherwise; EM guarantees it).  The log-likelihood itself may dip when beta changes;
* the maximum-likelihood M-step is certified only when every word occurs in some
  document: the data are checked before fitting (:class:`PreconditionError`);
* a cluster whose responsibilities are all zero keeps pi_k = 0 and its previous mu_k
  (the ML M-step is 0 / 0 there, and any mu_k maximises the expected log-likelihood).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_write
from ..config import CERTIFY_TIMEOUT, validate_timeout
from .defaults import DEFAULT_ANNEAL, DEFAULT_SMOOTHING
from .formulas import EMFormulas, PreconditionError, check_preconditions, load_formulas
from .kernels import SparseData

__all__ = ["MultinomialMixture", "LikelihoodDecreaseError", "NotFittedError", "Progress",
           "ConvergenceWarning", "PreconditionError", "DEFAULT_ANNEAL"]

STOP_RULES = ("loglik", "pi-norm")
DEFAULT_TOL = {"loglik": 1e-6, "pi-norm": 1e-3}
#: a decrease of the objective larger than this fraction of sum_d |log P(d)| is an error
MONOTONE_RTOL = 1e-10
#: iterations at most per annealing stage (beta < 1), and its relative tolerance
STAGE_MAX_ITER = 20
STAGE_TOL = 1e-5
SAVE_FORMAT = 1


class LikelihoodDecreaseError(RuntimeError):
    """The objective went down between two EM iterations at a fixed beta (more than
    rounding)."""


class NotFittedError(RuntimeError):
    """The estimator is used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before its stop rule was met."""


@dataclass
class Progress:
    """What a progress callback receives after every iteration."""

    init: int
    iteration: int
    log_likelihood: float
    change: float  # the quantity the stop rule compares with tol
    seconds: float
    beta: float = 1.0


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


def _positive_int(v: object) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= 1


def _nonnegative(v: object) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) \
        and math.isfinite(v) and v >= 0


class MultinomialMixture:
    """A mixture of ``n_components`` multinomials over words, fitted by EM.

    Parameters
    ----------
    n_components:
        K, the number of topics (at most the number of documents).
    tol:
        Tolerance of the stop rule (default 1e-6 for ``"loglik"``, 1e-3 for
        ``"pi-norm"``).
    max_iter:
        Most EM iterations per initialisation (at beta = 1).
    n_init:
        Number of initialisations; the one with the highest final objective is kept.
    random_state:
        Seed (or ``numpy.random.Generator``) for the initial responsibilities; the same
        seed gives the same result.
    stop:
        ``"loglik"``: stop when |L_t - L_{t-1}| <= tol * |L_t| (relative change);
        ``"pi-norm"``: the document's rule, ||pi_old - pi_new||_2 < tol.
    smoothing:
        alpha of the symmetric Dirichlet(1 + alpha) prior on each mu_k: the MAP M-step
        (0 = maximum likelihood, as the document; default ``DEFAULT_SMOOTHING`` = 1).
    smoothing_pi:
        The same for pi (0 = maximum likelihood).
    anneal:
        Deterministic annealing: ``False``/``None`` (off), ``True`` (the default: the
        inverse temperatures ``DEFAULT_ANNEAL``), or an increasing sequence of betas in (0, 1);
        a final stage at beta = 1 always follows.
    init:
        ``"random"`` (random responsibilities, rows normalised) or an array of initial
        responsibilities (documents x K).
    warm_start:
        Start ``fit`` from the previous fit's parameters (one run, as scikit-learn; no
        annealing stages, the previous fit had them).
    formulas:
        Compiled formulas to use (default: the certified ``em_multinomial`` ones).
    check_timeout:
        Budget per claim, in seconds, for certifying the formulas before the first fit.
    callback:
        Called with a :class:`Progress` after every iteration.

    Attributes (after ``fit``)
    ----------
    weights_ (K,), components_ (K x W), n_iter_, converged_, log_likelihood_ (one value
    per iteration: sum_d log P(d), multinomial coefficient included), objective_ (the
    monotone quantity: free energy + log prior), labels_ (argmax of the final
    responsibilities), n_features_in_, vocabulary_ (when fitted on a Corpus),
    fit_seconds_.
    """

    def __init__(self, n_components: int = 10, *, tol: float | None = None,
                 max_iter: int = 100, n_init: int = 1,
                 random_state: int | np.random.Generator | None = None,
                 stop: str = "loglik", smoothing: float = DEFAULT_SMOOTHING,
                 smoothing_pi: float = 0.0,
                 anneal: bool | Sequence[float] | None = True,
                 init: str | np.ndarray = "random", warm_start: bool = False,
                 formulas: EMFormulas | None = None, check_timeout: float = CERTIFY_TIMEOUT,
                 callback: Callable[[Progress], None] | None = None):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state
        self.stop = stop
        self.smoothing = smoothing
        self.smoothing_pi = smoothing_pi
        self.anneal = anneal
        self.init = init
        self.warm_start = warm_start
        self.formulas = formulas
        self.check_timeout = check_timeout
        self.callback = callback

    # -- parameters ----------------------------------------------------------------------
    def _validate(self) -> float:
        K = self.n_components
        if not _positive_int(K):
            raise ValueError(f"n_components must be a positive integer, got {K!r}")
        if self.stop not in STOP_RULES:
            raise ValueError(f"stop must be one of {STOP_RULES}, got {self.stop!r}")
        tol = DEFAULT_TOL[self.stop] if self.tol is None else float(self.tol)
        if not (tol > 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        for name in ("max_iter", "n_init"):
            v = getattr(self, name)
            if not _positive_int(v):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("smoothing", "smoothing_pi"):
            if not _nonnegative(getattr(self, name)):
                raise ValueError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        if isinstance(self.init, str) and self.init != "random":
            raise ValueError(f"init must be 'random' or an array, got {self.init!r}")
        self._schedule()
        validate_timeout(self.check_timeout, "check_timeout")
        return tol

    def _schedule(self) -> list[float]:
        """The inverse temperatures of the run, ending with 1.0."""
        a = self.anneal
        if a is None or a is False:
            return [1.0]
        if a is True:
            return [*DEFAULT_ANNEAL, 1.0]
        try:
            betas = [float(b) for b in a]
        except (TypeError, ValueError):
            raise ValueError(f"anneal must be True, False or a sequence of inverse "
                             f"temperatures, got {a!r}") from None
        if any(not (0 < b <= 1) for b in betas) or any(
                b2 <= b1 for b1, b2 in zip(betas, betas[1:], strict=False)):
            raise ValueError(f"anneal: inverse temperatures must increase within (0, 1], "
                             f"got {a!r}")
        return betas if betas and betas[-1] == 1.0 else [*betas, 1.0]

    def _formulas(self) -> EMFormulas:
        if self.formulas is None:
            self.formulas = load_formulas(timeout=self.check_timeout)
        return self.formulas

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, y=None) -> MultinomialMixture:
        """Fit to ``X`` (documents x words counts: a Corpus, sparse matrix or array)."""
        tol = self._validate()
        data = SparseData.from_counts(X)
        D, W = data.shape
        if D == 0 or W == 0:
            raise ValueError(f"need at least one document and one word, got shape {data.shape}")
        if self.n_components > D:
            raise ValueError(f"n_components={self.n_components} must be <= the number of "
                             f"documents ({D})")
        warm = self.warm_start and hasattr(self, "weights_")
        if warm and self.components_.shape != (self.n_components, W):
            raise ValueError("warm_start: the previous fit has another shape; refit cold")
        formulas = self._formulas()
        start = time.perf_counter()
        if self.smoothing == 0:
            check_preconditions(formulas, data, ["m_step_mu"])
        rng = self.random_state if isinstance(self.random_state, np.random.Generator) \
            else np.random.default_rng(self.random_state)
        best: _Run | None = None
        for init in range(1 if warm else self.n_init):
            if warm:
                resp0 = formulas.e_step(data, self.weights_, self._mu_t)[0]
            else:
                resp0 = self._initial_resp(rng, D)
            # a warm start continues the previous fit, which was annealed already
            run = self._em(formulas, data, resp0, tol, init, [1.0] if warm else None)
            if best is None or run.objective[-1] > best.objective[-1]:
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
        vocab = getattr(X, "vocabulary", None)
        self.vocabulary_ = list(vocab) if vocab is not None else None
        options = getattr(X, "text_options", None)
        self._text_options = None if options is None else options.as_dict()
        self.fit_seconds_ = time.perf_counter() - start
        self._mu_t = best.mu_t
        if not best.converged:
            warnings.warn(f"EM stopped after max_iter={self.max_iter} iterations before "
                          f"the {self.stop!r} rule was met (tol={tol:g}); raise max_iter",
                          ConvergenceWarning, stacklevel=2)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then the most probable topic of each training document."""
        return self.fit(X).labels_

    def _initial_resp(self, rng: np.random.Generator, D: int) -> np.ndarray:
        K = self.n_components
        if not isinstance(self.init, str):
            resp = np.array(self.init, dtype=np.float64)
            if resp.shape != (D, K) or not np.all(np.isfinite(resp)) or np.any(resp < 0) \
                    or np.any(resp.sum(axis=1) <= 0):
                raise ValueError(f"init must be a non-negative ({D}, {K}) array with positive "
                                 "row sums")
        else:
            resp = 1.0 - rng.random((D, K))  # in (0, 1]: every word gets mu_kw > 0
        resp /= resp.sum(axis=1, keepdims=True)
        return resp

    def _m_step(self, formulas: EMFormulas, data: SparseData, resp: np.ndarray,
                mu_prev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        pi, mu_t = formulas.m_step(data, resp, float(self.smoothing), float(self.smoothing_pi))
        empty = np.isnan(mu_t[0])  # a whole column is 0 / 0 exactly when its sum is 0
        if empty.any():  # no words in the cluster: 0 / 0, any mu_k is a maximiser
            mu_t = np.array(mu_t)
            mu_t[:, empty] = 1.0 / mu_t.shape[0] if mu_prev is None else mu_prev[:, empty]
        return pi, mu_t

    def _e_step_at(self, formulas: EMFormulas, data: SparseData, pi: np.ndarray,
                   mu_t: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(responsibilities, log P(d), objective = free energy + log prior)."""
        resp, ll_d, fe_d = formulas.e_step(data, pi, mu_t, beta)
        objective = float(np.sum(fe_d))
        if self.smoothing > 0 or self.smoothing_pi > 0:
            objective += formulas.log_prior(pi, mu_t, float(self.smoothing),
                                            float(self.smoothing_pi))
        return resp, ll_d, objective

    def _em(self, formulas: EMFormulas, data: SparseData, resp: np.ndarray, tol: float,
            init: int, schedule: list[float] | None = None) -> _Run:
        start = time.perf_counter()
        run = _Run(None, None, resp)
        t = 0
        for beta in self._schedule() if schedule is None else schedule:
            final = beta == 1.0
            limit = self.max_iter if final else STAGE_MAX_ITER
            stage: list[float] = []
            pi_old = None
            for _ in range(limit):
                t += 1
                pi, mu_t = self._m_step(formulas, data, resp, run.mu_t)
                resp, ll_d, objective = self._e_step_at(formulas, data, pi, mu_t, beta)
                if not np.all(np.isfinite(ll_d)):
                    bad = int(np.flatnonzero(~np.isfinite(ll_d))[0])
                    raise FloatingPointError(
                        f"document {bad} has log-likelihood {ll_d[bad]} at iteration {t}: it "
                        "is impossible under every cluster (a word with mu_kw = 0 everywhere)")
                ll = float(np.sum(ll_d))
                if stage:
                    self._check_monotone(stage[-1], objective, ll_d, t, beta)
                change = math.inf
                if final and self.stop == "pi-norm" and pi_old is not None:
                    change = float(np.linalg.norm(pi - pi_old))
                elif stage:
                    ref = ll if final else objective
                    prev = run.history[-1] if final else stage[-1]
                    change = abs(ref - prev) / max(abs(ref), np.finfo(float).tiny)
                stage.append(objective)
                run.history.append(ll)
                run.objective.append(objective)
                run.pi, run.mu_t, run.resp, run.n_iter = pi, mu_t, resp, t
                if self.callback is not None:
                    self.callback(Progress(init, t, ll, change, time.perf_counter() - start,
                                           beta))
                if not final:
                    if change <= STAGE_TOL:
                        break
                elif (change < tol) if self.stop == "pi-norm" else (change <= tol):
                    run.converged = True
                    break
                pi_old = pi
        run.seconds = time.perf_counter() - start
        return run

    @staticmethod
    def _check_monotone(before: float, after: float, ll_d: np.ndarray, t: int,
                        beta: float) -> None:
        slack = MONOTONE_RTOL * float(np.sum(np.abs(ll_d))) + 1e-12
        if after < before - slack:
            what = "log-likelihood" if beta == 1.0 else f"free energy at beta = {beta:g}"
            raise LikelihoodDecreaseError(
                f"the {what} (plus log prior) decreased at iteration {t}: {before!r} -> "
                f"{after!r} (by {before - after:.3g}, more than the rounding allowance "
                f"{slack:.3g}); EM cannot do that, so the formulas or the engine are wrong")

    # -- using the fit -------------------------------------------------------------------
    def _check_fitted(self, X) -> SparseData:
        if not hasattr(self, "weights_"):
            raise NotFittedError("this MultinomialMixture is not fitted yet; call fit first")
        if isinstance(X, (list, tuple)) and X and all(isinstance(x, str) for x in X):
            X = self._texts(X)
        data = SparseData.from_counts(X)
        if data.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {data.shape[1]} words, the model was fitted with "
                             f"{self.n_features_in_}")
        return data

    def _texts(self, texts: Sequence[str]):
        """Raw texts as counts over the training vocabulary (see ``Corpus.vectorize``)."""
        if getattr(self, "vocabulary_", None) is None:
            raise ValueError("this model was not fitted on a Corpus: it has no vocabulary to "
                             "turn texts into counts")
        from ..corpus.text import TextOptions
        from ..corpus.vectorize import vectorize

        saved = getattr(self, "_text_options", None)
        options = TextOptions(**saved) if saved else TextOptions(
            strip_headers=False, strip_quotes=False, strip_signatures=False)
        return vectorize(texts, self.vocabulary_, options)

    def _e_step(self, X) -> tuple[np.ndarray, np.ndarray]:
        data = self._check_fitted(X)
        resp, ll_d, _ = self._formulas().e_step(data, self.weights_, self._mu_t)
        return resp, ll_d

    def predict_proba(self, X) -> np.ndarray:
        """gamma_dk = P(c_d = k | d), the E-step (46).  ``X``: counts, or raw texts."""
        return self._e_step(X)[0]

    def predict(self, X) -> np.ndarray:
        """The most probable topic of each document (counts, or a list of raw texts)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score_samples(self, X) -> np.ndarray:
        """log P(d) of each document, multinomial coefficient included (40)."""
        return self._e_step(X)[1]

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per document."""
        return float(np.mean(self.score_samples(X)))

    # -- persistence ---------------------------------------------------------------------
    _SAVED_PARAMS = ("n_components", "tol", "max_iter", "n_init", "stop", "smoothing",
                     "smoothing_pi")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` (a ``.npz``: ``weights`` (K), ``components``
        (K x W), ``vocabulary`` (W strings, or empty), ``log_likelihood``, and ``meta``, a
        JSON string with the format version, the parameters and the text options that
        turn new texts into counts)."""
        if not hasattr(self, "weights_"):
            raise NotFittedError("this MultinomialMixture is not fitted yet; call fit first")
        import io

        meta = {"format": SAVE_FORMAT, "params": {n: getattr(self, n)
                                                  for n in self._SAVED_PARAMS},
                "n_iter": int(self.n_iter_), "converged": bool(self.converged_),
                "text_options": getattr(self, "_text_options", None)}
        buf = io.BytesIO()
        np.savez_compressed(buf, weights=self.weights_, components=self.components_,
                            vocabulary=np.array(self.vocabulary_ or [], dtype=str),
                            log_likelihood=self.log_likelihood_,
                            meta=np.array(json.dumps(meta)))
        atomic_write(path, lambda f: f.write(buf.getvalue()))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MultinomialMixture:
        """A fitted model from a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("format") != SAVE_FORMAT:
                raise ValueError(f"{os.fspath(path)}: not a symderive model file of format "
                                 f"{SAVE_FORMAT}")
            model = cls(**meta["params"])
            model.weights_ = np.array(f["weights"], dtype=np.float64)
            model.components_ = np.array(f["components"], dtype=np.float64)
            vocab = [str(w) for w in f["vocabulary"]]
            model.log_likelihood_ = np.array(f["log_likelihood"])
        model.vocabulary_ = vocab or None
        model._text_options = meta.get("text_options")
        model._mu_t = np.ascontiguousarray(model.components_.T)
        model.n_features_in_ = model.components_.shape[1]
        model.n_iter_, model.converged_ = meta["n_iter"], meta["converged"]
        return model

    def get_params(self, deep: bool = True) -> dict:
        names = ("n_components", "tol", "max_iter", "n_init", "random_state", "stop",
                 "smoothing", "smoothing_pi", "anneal", "init", "warm_start", "formulas",
                 "check_timeout", "callback")
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
                f"random_state={self.random_state!r}, smoothing={self.smoothing}, "
                f"anneal={self.anneal!r})")
