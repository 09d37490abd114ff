"""The EM formulas the engine runs: read from the derivation, certified, then compiled.

The engine has no formula of its own.  The derivation module exports ``ENGINE``, an
:class:`~symderive.em.spec.EngineSpec` naming each formula it offers (E-step, M-step,
log-likelihood; the MAP M-step, the annealed E-step and the free energy) together with
the id of the claim that certifies it.  The engine runs a formula only if

1. it is, verbatim, a part of its claim (a side of an equality, the claimed point of a
   maximiser, or a term of a maximiser's objective), so the checker has looked at
   exactly what runs; and
2. those claims come back ``proved`` or ``verified`` from the checker.

A formula whose claim holds only under a precondition on the data (the
maximum-likelihood mu-update: every word occurs) carries it in the spec and in the
certificate; the engine checks it on the data before running (:func:`check_preconditions`).

A positive result is cached per process and on disk, in the one result store of
:mod:`symderive.cache` (``Store("em")``), under the one key function
(:func:`symderive.cache.key`): a hash of the covered claims, the definitions and domains
they use, and the source of every module of the checker (found by walking the package,
so moved or new checker modules are covered).  Editing a formula, a claim or the checker
changes the key, so the claims are checked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..cache import Store, context_text, key, statement_text
from ..check.verdict import HOLDS
from ..config import CERTIFY_TIMEOUT
from ..derivation import Claim, StationaryClaim
from ..loader import load_module
from . import kernels
from .compile import CompileError, Program, TensorSpec
from .kernels import SparseData
from .spec import EngineSpec

__all__ = ["EMFormulas", "UnverifiedFormulasError", "PreconditionError", "load_formulas",
           "certify", "check_preconditions", "ACCEPTED", "DEFAULT_MODULE"]

DEFAULT_MODULE = "symderive.derivations.em_multinomial"
ACCEPTED = HOLDS


class UnverifiedFormulasError(RuntimeError):
    """The derivation's formulas are not certified by the checker: the engine refuses."""


class PreconditionError(ValueError):
    """The data violate a precondition under which a formula is certified."""


def _spec_of(module: object) -> EngineSpec:
    spec = getattr(module, "ENGINE", None)
    if not isinstance(spec, EngineSpec):
        name = getattr(module, "__name__", "the derivation module")
        raise UnverifiedFormulasError(
            f"{name} does not export ENGINE (a symderive.em.spec.EngineSpec naming the "
            "formulas the engine runs and the claims that certify them)")
    return spec


# -- which claims certify which formula -------------------------------------------------
def _parts(claim: Claim) -> list[sp.Basic]:
    """The parts of a claim that may *be* a formula (a sum of terms of a maximiser's
    objective is matched in ``_covering``)."""
    if isinstance(claim, StationaryClaim):
        return list(claim.point.values())
    if claim.given:
        return []
    return [claim.lhs, claim.rhs]


def _covering(spec: EngineSpec) -> dict[str, Claim]:
    """For each formula, its claim, after checking that the formula is verbatim a part
    of it.  ``log(x)`` is also covered by a claim with ``x`` as a side: taking the
    logarithm of both sides of an equality of positive quantities keeps it."""
    d = spec.derivation
    out: dict[str, Claim] = {}
    for name, f in spec.formulas.items():
        try:
            claim = d.claim(f.claim)
        except KeyError:
            raise UnverifiedFormulasError(f"{name}: ENGINE names claim {f.claim!r}, which "
                                          f"{d.name} does not have") from None
        expr = sp.sympify(f.expr)
        wanted = [expr] + ([expr.args[0]] if isinstance(expr, sp.log) else [])
        terms = set(sp.Add.make_args(expr))
        part = any(p == e for p in _parts(claim) for e in wanted) or (
            isinstance(claim, StationaryClaim) and terms <= set(sp.Add.make_args(claim.f)))
        if claim.erratum or not part:
            raise UnverifiedFormulasError(
                f"{name} is not a part of claim {f.claim} of {d.name}"
                + (" (a marked erratum)" if claim.erratum else "")
                + ": the checker never looked at it, so the engine will not run it")
        out[name] = claim
    return out


def _key(spec: EngineSpec, claims: Sequence[Claim]) -> str:
    """The certificate's key (:func:`symderive.cache.key`): every covered claim's statement
    and the part of the derivation it depends on, the claims' ids (the certificate records
    verdicts by id), and the checker's source."""
    d = spec.derivation
    parts: list[str] = [d.name]
    for c in claims:
        parts += [c.id, statement_text(c), context_text(d, c)]
    return key("em-certificate", *parts)


# -- certification ----------------------------------------------------------------------
@dataclass
class Certificate:
    """The verdicts that allow the engine to run, and where they came from."""

    derivation: str
    verdicts: dict[str, str]
    covers: dict[str, str]
    key: str
    source: str = "checked"  # checked | disk cache | process cache
    seconds: float = 0.0
    messages: dict[str, str] = field(default_factory=dict)
    preconditions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"derivation": self.derivation, "verdicts": self.verdicts,
                "covers": self.covers, "preconditions": self.preconditions,
                "source": self.source, "seconds": round(self.seconds, 3)}


_PROCESS_CACHE: dict[str, Certificate] = {}


_STORE_KIND = "em"


def _load_cached(k: str) -> Certificate | None:
    data = Store(_STORE_KIND).get(k)
    if data is None:
        return None
    try:
        cert = Certificate(data["derivation"], dict(data["verdicts"]), dict(data["covers"]),
                           k, "disk cache", 0.0,
                           preconditions=dict(data.get("preconditions", {})))
    except (KeyError, TypeError, ValueError):
        return None
    if any(v not in ACCEPTED for v in cert.verdicts.values()):
        return None
    return cert


def _save_cached(cert: Certificate) -> None:
    Store(_STORE_KIND).put(cert.key, cert.to_json())


def _run_claims(claims: Sequence[Claim], timeout: float, jobs: int | None):
    from ..runner import run_claims

    return run_claims(claims, timeout=timeout, jobs=jobs)


def _claims_and_key(spec: EngineSpec) -> tuple[list[Claim], dict[str, Claim], str]:
    covers = _covering(spec)
    claims: list[Claim] = []
    for c in covers.values():
        if c not in claims:
            claims.append(c)
    return claims, covers, _key(spec, claims)


def certify(spec: EngineSpec, *, timeout: float = CERTIFY_TIMEOUT, jobs: int | None = None,
            cache: bool = True) -> Certificate:
    """Check the claims behind the formulas; raise :class:`UnverifiedFormulasError`
    unless every one is proved or verified."""
    claims, covers, key = _claims_and_key(spec)
    cover_ids = {name: c.id for name, c in covers.items()}
    pre = {name: f.precondition for name, f in spec.formulas.items() if f.precondition}
    if cache:
        hit = _PROCESS_CACHE.get(key)
        if hit is not None:
            return Certificate(hit.derivation, hit.verdicts, hit.covers, key, "process cache",
                               preconditions=hit.preconditions)
        hit = _load_cached(key)
        if hit is not None:
            _PROCESS_CACHE[key] = hit
            return hit
    start = time.perf_counter()
    results = _run_claims(claims, timeout, jobs)
    cert = Certificate(spec.derivation.name, {r.id: r.verdict for r in results}, cover_ids,
                       key, "checked", time.perf_counter() - start,
                       {r.id: r.message or "" for r in results}, pre)
    bad = {cid: v for cid, v in cert.verdicts.items() if v not in ACCEPTED}
    if bad:
        lines = [f"  {cid}: {v}" + (f" ({cert.messages[cid]})" if cert.messages[cid] else "")
                 for cid, v in bad.items()]
        raise UnverifiedFormulasError(
            f"the EM engine refuses to run: claims of {spec.derivation.name} that its "
            "formulas rely on are not proved or verified:\n" + "\n".join(lines)
            + f"\n(check them with `symderive check {spec.derivation.name}`)")
    if cache:
        _PROCESS_CACHE[key] = cert
        _save_cached(cert)
    return cert


def check_preconditions(formulas: EMFormulas, data: SparseData, names: Sequence[str]) -> None:
    """Refuse data outside the domain on which the formulas ``names`` are certified.

    The one precondition today is that of the maximum-likelihood mu-update: every word
    occurs in some document (positive column sums), so that with responsibilities > 0
    every sum_d gamma_dk T_dw is positive and the maximiser is interior."""
    spec = formulas.spec
    for name in names:
        f = spec.formulas.get(name)
        if f is None or not f.precondition:
            continue
        if name == "m_step_mu":
            empty = data.cache.get("_words_never_seen")
            if empty is None:  # a property of the counts alone: once per matrix
                empty = data.cache["_words_never_seen"] = np.flatnonzero(
                    np.bincount(data.csr.indices, minlength=data.shape[1]) == 0)
            if empty.size:
                raise PreconditionError(
                    f"{empty.size} word(s) occur in no document (column {int(empty[0])} "
                    f"first); the maximum-likelihood M-step is certified only when "
                    f"{f.precondition} (claim {f.claim}). Drop those words (min_df >= 1) "
                    "or use smoothing > 0")
        else:  # pragma: no cover - a precondition this engine does not know how to test
            raise PreconditionError(f"{name}: the engine cannot check the precondition "
                                    f"{f.precondition!r}, so it will not run the formula")


# -- the compiled formulas ----------------------------------------------------------------
class EMFormulas:
    """The certified, compiled formulas of an :class:`EngineSpec`."""

    def __init__(self, spec: EngineSpec, program: Program, certificate: Certificate | None,
                 module: str | None = None):
        self.spec, self.program, self.certificate = spec, program, certificate
        #: the derivation module's name (Dask workers import and compile it themselves)
        self.module = module
        t = spec.tensors
        self._t, self._p, self._m, self._g = (str(t[r].label) for r in ("T", "pi", "mu",
                                                                           "gamma"))
        self._scalar = {r: str(s) for r, s in spec.scalars.items()}
        #: (mu^T, log mu^T) of the last M-step asked to keep its logarithm: the E-step of
        #: that very array (checked by identity) takes it instead of another pass over mu
        self._log_mu: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def compile(cls, spec: EngineSpec) -> Program:
        d, D, K, W = spec.derivation, spec.dims["D"], spec.dims["K"], spec.dims["W"]
        dims = {r: tuple(d.vars[str(spec.tensors[r].label)].shape) for r in ("T", "pi", "mu",
                                                                             "gamma")}
        if dims != {"T": (D, W), "pi": (K,), "mu": (K, W), "gamma": (D, K)}:
            raise CompileError(f"unexpected tensor shapes {dims}: the engine needs T (D x W), "
                               "pi (K), mu (K x W), gamma (D x K)")
        tensors = [TensorSpec(str(spec.tensors[r].label), dims[r], sparse=(r == "T"))
                   for r in ("T", "pi", "mu", "gamma")]
        tensors += [TensorSpec(str(s), ()) for s in spec.scalars.values()]
        prog = Program(d.indices, tensors)
        for name, f in spec.formulas.items():
            prog.add(name, f.expr, spec.axes(name))
        return prog

    @property
    def D(self) -> sp.Symbol:
        return self.spec.dims["D"]

    def _scalars(self, **values: float) -> dict:
        return {self._scalar[r]: np.float64(v) for r, v in values.items()}

    def e_step(self, data: SparseData, pi: np.ndarray, mu_t: np.ndarray, beta: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(responsibilities D x K, log P(d), free energy per document) from pi (K) and
        mu^T (W x K); at inverse temperature ``beta`` (1: the plain E-step, whose free
        energy is the log-likelihood)."""
        inputs = {self._t: data, self._p: pi, self._m: mu_t.T}
        given = self._given(mu_t)
        if beta == 1.0:
            out = self.program.run(["e_step", "log_likelihood"], inputs, split=self.D,
                                   given=given)
            return out["e_step"], out["log_likelihood"], out["log_likelihood"]
        inputs.update(self._scalars(beta=beta))
        out = self.program.run(["e_step_annealed", "log_likelihood", "free_energy"], inputs,
                               split=self.D, given=given)
        return out["e_step_annealed"], out["log_likelihood"], out["free_energy"]

    def m_step(self, data: SparseData, resp: np.ndarray, alpha: float = 0.0,
               alpha_pi: float = 0.0, *, keep_log: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """(pi, mu^T) from the responsibilities: maximum likelihood, or MAP under
        Dirichlet(1 + alpha) on mu and Dirichlet(1 + alpha_pi) on pi.

        ``keep_log``: an E-step follows in this process, so log mu^T (which every E-step
        formula reads, through the compiled program's elementwise log) is computed here,
        block by block as the blocks of mu^T are written, and handed to the next
        :meth:`e_step` of this very array: one parallel pass (and one barrier) less per
        iteration, with the same values."""
        names = ["m_step_pi_map" if alpha_pi > 0 else "m_step_pi",
                 "m_step_mu_map" if alpha > 0 else "m_step_mu"]
        inputs = {self._t: data, self._g: resp}
        inputs.update(self._scalars(**{r: v for r, v in (("alpha", alpha),
                                                          ("alpha_pi", alpha_pi)) if v > 0}))
        then = {names[1]: kernels.log} if keep_log else None
        out = self.program.run(names, inputs, split=self.spec.dims["W"], then=then)
        if keep_log:
            self._log_mu = (out[names[1]], out[(names[1], kernels.log)])
        return out[names[0]], out[names[1]]

    def _given(self, mu_t: np.ndarray) -> dict | None:
        """log mu (as the programs read mu: transposed) if the last M-step kept it for
        this array."""
        kept = self._log_mu
        if kept is None or kept[0] is not mu_t:
            return None
        return {(self._m, kernels.log): kept[1].T}

    def log_prior(self, pi: np.ndarray, mu_t: np.ndarray, alpha: float, alpha_pi: float
                  ) -> float:
        """alpha sum_kw log mu_kw + alpha_pi sum_k log pi_k (the MAP objective's prior)."""
        out = self.program.run(["log_prior"], {self._p: pi, self._m: mu_t.T,
                                               **self._scalars(alpha=alpha,
                                                               alpha_pi=alpha_pi)},
                               given=self._given(mu_t))
        return float(out["log_prior"])


#: per process: spec id -> (spec, program, certificate or None); the spec is kept alive
#: with its entry, so an id is never reused while its entry exists
_LOADED: dict[int, tuple[EngineSpec, Program, Certificate | None]] = {}


def load_formulas(module: object | str | None = None, *, verify: bool = True,
                  timeout: float = CERTIFY_TIMEOUT, jobs: int | None = None,
                  cache: bool = True, on_check: Callable[[], None] | None = None
                  ) -> EMFormulas:
    """The compiled formulas of ``module`` (default: the packaged em_multinomial).

    With ``verify`` (the default) the claims behind them are checked first (see the
    module docstring); ``on_check`` is called just before a check that is not cached.
    The compiled program is kept per process: a second estimator does not compile again.
    """
    if module is None or isinstance(module, str):
        module = load_module(module or DEFAULT_MODULE)
    spec = _spec_of(module)
    name = getattr(module, "__name__", None)
    hit = _LOADED.get(id(spec))
    if hit is not None and hit[0] is spec and (hit[2] is not None or not verify) and cache:
        return EMFormulas(spec, hit[1], hit[2] if verify else None, name)
    program = hit[1] if hit is not None and hit[0] is spec else EMFormulas.compile(spec)
    cert = None
    if verify:
        if on_check is not None and not (cache and _is_cached(spec)):
            on_check()
        cert = certify(spec, timeout=timeout, jobs=jobs, cache=cache)
    _LOADED[id(spec)] = (spec, program, cert)
    return EMFormulas(spec, program, cert, name)


def _is_cached(spec: EngineSpec) -> bool:
    try:
        key = _claims_and_key(spec)[2]
    except UnverifiedFormulasError:
        return False
    return key in _PROCESS_CACHE or _load_cached(key) is not None
