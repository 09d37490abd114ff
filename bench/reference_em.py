"""A plain EM for a mixture of multinomials: the baseline of ``bench/em_bench.py``.

Deliberately ordinary code -- scipy.sparse products, ``scipy.special.logsumexp``, float64
-- written by hand from the document's formulas (46), (47) and (40).  It is the
independent second implementation the compiled engine is timed and cross-checked
against; symderive itself never imports it.

The iteration order is the engine's: an M-step from the current responsibilities, then
an E-step, whose normaliser gives the log-likelihood of the new parameters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sps
from scipy.special import gammaln, logsumexp


@dataclass
class ReferenceResult:
    pi: np.ndarray
    mu: np.ndarray                      # K x W
    resp: np.ndarray                    # D x K
    log_likelihood: list[float] = field(default_factory=list)
    iteration_seconds: list[float] = field(default_factory=list)
    iteration_cpu_seconds: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False


def log_coefficient(X: sps.csr_matrix) -> np.ndarray:
    """log(n_d! / prod_w T_dw!) per document."""
    lengths = np.asarray(X.sum(axis=1)).ravel()
    logfact = X.copy()
    logfact.data = gammaln(logfact.data + 1.0)
    return gammaln(lengths + 1.0) - np.asarray(logfact.sum(axis=1)).ravel()


def reference_em(X, resp0: np.ndarray, *, max_iter: int = 100, tol: float = 1e-3,
                 stop: str = "pi-norm") -> ReferenceResult:
    """Run EM from the responsibilities ``resp0`` (D x K)."""
    X = sps.csr_matrix(X, dtype=np.float64)
    coef = log_coefficient(X)
    resp = np.array(resp0, dtype=np.float64)
    out = ReferenceResult(np.empty(0), np.empty((0, 0)), resp)
    pi_old = None
    for t in range(1, max_iter + 1):
        start, cpu = time.perf_counter(), time.process_time()
        # M-step (47)
        nk = resp.sum(axis=0)
        pi = nk / nk.sum()
        counts = (X.T @ resp).T                       # K x W: sum_d gamma_dk T_dw
        mu = counts / counts.sum(axis=1, keepdims=True)
        # E-step (46) in log space, and log P(d) (40)
        with np.errstate(divide="ignore"):
            log_joint = X @ np.log(mu).T + np.log(pi)  # D x K
        log_pd = logsumexp(log_joint, axis=1)
        resp = np.exp(log_joint - log_pd[:, None])
        ll = float(np.sum(log_pd + coef))
        out.iteration_seconds.append(time.perf_counter() - start)
        out.iteration_cpu_seconds.append(time.process_time() - cpu)
        out.log_likelihood.append(ll)
        out.pi, out.mu, out.resp, out.n_iter = pi, mu, resp, t
        if stop == "pi-norm":
            done = pi_old is not None and np.linalg.norm(pi - pi_old) < tol
        else:
            prev = out.log_likelihood[-2] if t > 1 else None
            done = prev is not None and abs(ll - prev) <= tol * abs(ll)
        if done:
            out.converged = True
            break
        pi_old = pi
    return out
