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

One loop (:meth:`MultinomialMixture._em`) drives both backends.  They differ only in how
an E-step's statistics are computed: in this process (:class:`_LocalSteps`: the
responsibilities themselves) or on Dask workers, block by block, reduced to sum_d gamma_dk
and T^T gamma (:class:`symderive.em.distributed.DaskSteps`).  Every M-step depends on the
data only through those two sums, so the guard, the annealing schedule, the stop rules,
n_init and warm_start are the same code for both.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_write
from ..config import CERTIFY_TIMEOUT, validate_timeout
from .defaults import DEFAULT_ANNEAL, DEFAULT_SMOOTHING
from .formulas import EMFormulas, PreconditionError, check_preconditions, load_formulas
from .kernels import SparseData
from .steps import EStep, Run, initial_responsibilities, seed_entropy

__all__ = ["MultinomialMixture", "LikelihoodDecreaseError", "NotFittedError", "Progress",
           "ConvergenceWarning", "PreconditionError", "DEFAULT_ANNEAL",
           "BACKENDS"]

STOP_RULES = ("loglik", "pi-norm")
DEFAULT_TOL = {"loglik": 1e-6, "pi-norm": 1e-3}
#: a decrease of the objective larger than this fraction of sum_d |log P(d)| is an error
MONOTONE_RTOL = 1e-10
#: iterations at most per annealing stage (beta < 1), and its relative tolerance
STAGE_MAX_ITER = 20
STAGE_TOL = 1e-5
SAVE_FORMAT = 1
BACKENDS = ("local", "dask")


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


class _LocalSteps:
    """The E- and M-steps in this process, on the whole count matrix."""

    def __init__(self, X):
        self.data = SparseData.from_counts(X)
        self.shape = self.data.shape

    def prepare(self, model: MultinomialMixture, formulas: EMFormulas) -> None:
        self.model, self.formulas = model, formulas
        if model.smoothing == 0:
            check_preconditions(formulas, self.data, ["m_step_mu"])

    def initial(self, entropy: int, init: int) -> np.ndarray:
        return self.model._initial_resp(entropy, init, self.shape[0], self.data.threads)

    def m_step(self, resp: np.ndarray, mu_prev: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        return self.model._m_step(self.formulas, self.data, resp, mu_prev, keep_log=True)

    def e_step(self, pi: np.ndarray, mu_t: np.ndarray, beta: float, t: int) -> EStep:
        resp, ll_d, fe_d = self.formulas.e_step(self.data, pi, mu_t, beta)
        if not np.all(np.isfinite(ll_d)):
            bad = int(np.flatnonzero(~np.isfinite(ll_d))[0])
            raise FloatingPointError(
                f"document {bad} has log-likelihood {ll_d[bad]} at iteration {t}: it is "
                "impossible under every cluster (a word with mu_kw = 0 everywhere)")
        return EStep(resp, float(np.sum(ll_d)), float(np.sum(fe_d)),
                     float(np.sum(np.abs(ll_d))))

    def finish(self, model: MultinomialMixture, run: Run) -> None:
        model.labels_ = np.argmax(run.stats, axis=1)


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
        seed gives the same result.  A document's initial row depends only on the seed,
        the initialisation number and its own index (:func:`initial_responsibilities`).
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
    backend:
        ``"local"`` (in process) or ``"dask"``: the E-step and the sufficient statistics
        run on the workers of the current ``dask.distributed`` client, block by block
        (:mod:`symderive.em.distributed`; needs ``pip install 'symderive[dask]'``).  The
        loop, and so every option, is the same.

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
                 callback: Callable[[Progress], None] | None = None, backend: str = "local"):
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
        self.backend = backend

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
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
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
        """Fit to ``X`` (documents x words counts: a Corpus, sparse matrix or array; with
        ``backend="dask"`` also blocks on a cluster, see :mod:`symderive.em.distributed`;
        there ``y``, the class of each document, gives ``contingency_``)."""
        if self.backend == "dask":
            from .distributed import DaskSteps

            return self._fit(X, lambda: DaskSteps(X, y))
        return self._fit(X, lambda: _LocalSteps(X))

    def _fit(self, X, make_steps: Callable[[], object]) -> MultinomialMixture:
        tol = self._validate()
        start = time.perf_counter()
        steps = make_steps()
        D, W = steps.shape
        if D == 0 or W == 0:
            raise ValueError(f"need at least one document and one word, got shape {(D, W)}")
        if self.n_components > D:
            raise ValueError(f"n_components={self.n_components} must be <= the number of "
                             f"documents ({D})")
        warm = self.warm_start and hasattr(self, "weights_")
        if warm and self.components_.shape != (self.n_components, W):
            raise ValueError("warm_start: the previous fit has another shape; refit cold")
        loading = time.perf_counter()
        formulas = self._formulas()
        start += time.perf_counter() - loading  # a first certification is not the fit
        steps.prepare(self, formulas)
        entropy = seed_entropy(self.random_state)
        best: Run | None = None
        for init in range(1 if warm else self.n_init):
            if warm:  # continues the previous fit, which was annealed already: beta = 1
                stats0 = steps.e_step(self.weights_, self._mu_t, 1.0, 0).stats
                run = self._em(steps, stats0, tol, init, [1.0])
            else:
                run = self._em(steps, steps.initial(entropy, init), tol, init)
            if best is None or run.objective[-1] > best.objective[-1]:
                best = run
        assert best is not None
        self.weights_ = best.pi
        self.components_ = np.ascontiguousarray(best.mu_t.T)
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.log_likelihood_ = np.asarray(best.history)
        self.objective_ = np.asarray(best.objective)
        self.n_features_in_ = W
        self._mu_t = best.mu_t
        steps.finish(self, best)
        vocab = getattr(X, "vocabulary", None)  # a Corpus's list (LibsvmBlocks: a method)
        self.vocabulary_ = None if vocab is None or callable(vocab) else list(vocab)
        options = getattr(X, "text_options", None)
        self._text_options = None if options is None else options.as_dict()
        self.fit_seconds_ = time.perf_counter() - start
        if not best.converged:
            warnings.warn(f"EM stopped after max_iter={self.max_iter} iterations before "
                          f"the {self.stop!r} rule was met (tol={tol:g}); raise max_iter",
                          ConvergenceWarning, stacklevel=3)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then the most probable topic of each training document."""
        return self.fit(X).labels_

    def _initial_resp(self, entropy: int, init: int, D: int, threads: int = 1) -> np.ndarray:
        K = self.n_components
        if isinstance(self.init, str):  # in (0, 1]: every word gets mu_kw > 0
            return initial_responsibilities(entropy, init, 0, D, K, threads=threads)
        resp = np.array(self.init, dtype=np.float64)
        if resp.shape != (D, K) or not np.all(np.isfinite(resp)) or np.any(resp < 0) \
                or np.any(resp.sum(axis=1) <= 0):
            raise ValueError(f"init must be a non-negative ({D}, {K}) array with positive "
                             "row sums")
        resp /= resp.sum(axis=1, keepdims=True)
        return resp

    def _m_step(self, formulas: EMFormulas, data: SparseData, resp: np.ndarray,
                mu_prev: np.ndarray | None, keep_log: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
        """``keep_log``: the E-step of the result follows in this process (it then
        reuses log mu from the M-step's blocks; a repaired mu below is a new array, whose
        logarithm the E-step takes itself)."""
        pi, mu_t = formulas.m_step(data, resp, float(self.smoothing), float(self.smoothing_pi),
                                   keep_log=keep_log)
        empty = np.isnan(mu_t[0])  # a whole column is 0 / 0 exactly when its sum is 0
        if empty.any():  # no words in the cluster: 0 / 0, any mu_k is a maximiser
            mu_t = np.array(mu_t)
            mu_t[:, empty] = 1.0 / mu_t.shape[0] if mu_prev is None else mu_prev[:, empty]
        return pi, mu_t

    def _objective(self, formulas: EMFormulas, e: EStep, pi: np.ndarray,
                   mu_t: np.ndarray) -> float:
        """The monotone quantity: the free energy at the current beta + the log prior."""
        objective = e.free_energy
        if self.smoothing > 0 or self.smoothing_pi > 0:
            objective += formulas.log_prior(pi, mu_t, float(self.smoothing),
                                            float(self.smoothing_pi))
        return objective

    def _em(self, steps, stats, tol: float, init: int,
            schedule: list[float] | None = None) -> Run:
        """EM from the statistics of initial responsibilities, through the annealing
        stages, for either backend (``steps``: :class:`_LocalSteps` or ``DaskSteps``)."""
        start = time.perf_counter()
        run = Run(None, None, stats)
        t = 0
        for beta in self._schedule() if schedule is None else schedule:
            final = beta == 1.0
            limit = self.max_iter if final else STAGE_MAX_ITER
            stage: list[float] = []
            pi_old = None
            for _ in range(limit):
                t += 1
                pi, mu_t = steps.m_step(stats, run.mu_t)
                e = steps.e_step(pi, mu_t, beta, t)
                stats, ll = e.stats, e.log_likelihood
                objective = self._objective(steps.formulas, e, pi, mu_t)
                if stage:
                    self._check_monotone(stage[-1], objective, e.abs_ll, t, beta)
                change = self._change(final, pi, pi_old, ll, objective, run.history, stage)
                stage.append(objective)
                run.history.append(ll)
                run.objective.append(objective)
                run.pi, run.mu_t, run.stats, run.n_iter = pi, mu_t, stats, t
                if self.callback is not None:
                    self.callback(Progress(init, t, ll, change, time.perf_counter() - start,
                                           beta))
                if not final:
                    if change <= STAGE_TOL:
                        break
                elif self._stops(change, tol):
                    run.converged = True
                    break
                pi_old = pi
        run.seconds = time.perf_counter() - start
        return run

    def _change(self, final: bool, pi: np.ndarray, pi_old: np.ndarray | None, ll: float,
                objective: float, history: list[float], stage: list[float]) -> float:
        """The quantity a stop rule compares with its tolerance (inf at a stage's first
        iteration): at beta = 1 the rule's own; in an annealing stage the relative change
        of the free energy."""
        if final and self.stop == "pi-norm":
            return math.inf if pi_old is None else float(np.linalg.norm(pi - pi_old))
        if not stage:
            return math.inf
        ref, prev = (ll, history[-1]) if final else (objective, stage[-1])
        return abs(ref - prev) / max(abs(ref), np.finfo(float).tiny)

    def _stops(self, change: float, tol: float) -> bool:
        return (change < tol) if self.stop == "pi-norm" else (change <= tol)

    @staticmethod
    def _check_monotone(before: float, after: float, abs_ll: float, t: int,
                        beta: float) -> None:
        """``abs_ll`` = sum_d |log P(d)|: the scale of the rounding allowance."""
        slack = MONOTONE_RTOL * abs_ll + 1e-12
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
                 "check_timeout", "callback", "backend")
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
