"""The EM formulas the engine runs: read from the derivation, certified, then compiled.

The engine has no formula of its own.  It takes ``E_STEP``, ``M_STEP_PI``, ``M_STEP_MU``
and ``LOG_LIKELIHOOD`` from the ``em_multinomial`` derivation and runs them only if

1. each formula is, verbatim, a side of a claim of that derivation (``E_STEP`` the
   right-hand side of (46), the M-step formulas the claimed maximisers of (47), ...), so
   the checker has looked at exactly what runs; and
2. those claims -- the derivation's ``ENGINE_CLAIMS`` plus any claim found in step 1 --
   come back ``proved`` or ``verified`` from the checker.

A positive result is cached per process and on disk (``<cache>/em/<key>.json``), keyed by
a hash of everything the verdicts depend on: the claims and definitions of the derivation
(as ``srepr``), and the source of the checker itself.  Editing a formula or a claim
changes the key, so the claims are checked again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from .. import __version__
from ..atomic import atomic_write_text
from ..check.verdict import HOLDS
from ..config import CERTIFY_TIMEOUT
from ..derivation import Claim, StationaryClaim
from ..loader import load_module
from .compile import CompileError, Program, TensorSpec
from .kernels import SparseData

__all__ = ["EMFormulas", "Spec", "UnverifiedFormulasError", "load_formulas", "certify",
           "ACCEPTED", "DEFAULT_MODULE"]

DEFAULT_MODULE = "symderive.derivations.em_multinomial"
ACCEPTED = HOLDS
FORMULAS = ("E_STEP", "M_STEP_PI", "M_STEP_MU", "LOG_LIKELIHOOD")
_NAMES = ("derivation", "D", "K", "W", "d", "k", "w", "j", "T", "pi", "mu", "gamma",
          *FORMULAS, "ENGINE_CLAIMS")
_CHECKER_FILES = ("check/equality.py", "check/prove.py", "numeric.py", "instantiate.py",
                  "check/stationary.py", "nodes.py", "ops.py", "assumptions.py",
                  "derivation.py", "runner.py", "check/conditions.py", "check/maxima.py",
                  "evaluate.py", "walker.py")


class UnverifiedFormulasError(RuntimeError):
    """The derivation's formulas are not certified by the checker: the engine refuses."""


@dataclass(frozen=True)
class Spec:
    """What the engine reads from the derivation module (see the module docstring)."""

    module: object

    def __post_init__(self) -> None:
        missing = [n for n in _NAMES if not hasattr(self.module, n)]
        if missing:
            name = getattr(self.module, "__name__", "the derivation module")
            raise UnverifiedFormulasError(f"{name} does not export {', '.join(missing)}; the "
                                          "EM engine needs all of " + ", ".join(_NAMES))

    def __getattr__(self, name: str):
        if name in _NAMES:
            return getattr(self.module, name)
        raise AttributeError(name)

    @property
    def formulas(self) -> dict[str, sp.Expr]:
        return {n: sp.sympify(getattr(self.module, n)) for n in FORMULAS}


# -- which claims certify which formula -------------------------------------------------
def _sides(claim: Claim, spec: Spec, formula: str) -> list[sp.Basic]:
    """The parts of a claim that may *be* the formula."""
    if isinstance(claim, StationaryClaim):
        target = {"M_STEP_PI": spec.pi[spec.k], "M_STEP_MU": spec.mu[spec.k, spec.w]}
        var = target.get(formula)
        return [v for key, v in claim.point.items() if key == var]
    if claim.given:
        return []
    return [claim.lhs, claim.rhs]


def _covering(spec: Spec) -> dict[str, Claim]:
    """For each formula, a non-erratum claim that has it verbatim as a side.

    ``log(x)`` is also covered by a claim with ``x`` as a side: taking the logarithm of
    both sides of a proved equality of positive quantities keeps it proved.
    """
    engine = [spec.derivation.claim(cid) for cid in spec.ENGINE_CLAIMS]
    others = [c for c in spec.derivation.claims if c not in engine]
    out: dict[str, Claim] = {}
    for name, expr in spec.formulas.items():
        wanted = [expr] + ([expr.args[0]] if isinstance(expr, sp.log) else [])
        for claim in [*engine, *others]:
            if claim.erratum:
                continue
            if any(side == e for side in _sides(claim, spec, name) for e in wanted):
                out[name] = claim
                break
        else:
            raise UnverifiedFormulasError(
                f"{name} is not a side of any claim of {spec.derivation.name}: the checker "
                "never looked at it, so the engine will not run it")
    return out


def _claim_text(c: Claim) -> str:
    parts = [c.id, sp.srepr(c.lhs), sp.srepr(c.rhs), repr(c.erratum),
             sp.srepr(sp.Tuple(*c.given)), sp.srepr(sp.Tuple(*c.unknowns)), repr(c.sizes)]
    if isinstance(c, StationaryClaim):
        parts += [sp.srepr(c.f), sp.srepr(sp.Tuple(*c.variables)),
                  sp.srepr(sp.Tuple(*c.constraints)), repr(c.maximum), repr(c.local),
                  sp.srepr(sp.Dict(dict(c.point))), repr(sorted(map(repr, c.domain.items())))]
    return "\n".join(parts)


def _key(spec: Spec, claims: Sequence[Claim]) -> str:
    """A hash of everything the verdicts depend on."""
    d = spec.derivation
    h = hashlib.sha256()
    h.update(f"symderive {__version__}\n".encode())
    root = Path(__file__).resolve().parent.parent
    for name in _CHECKER_FILES:
        with contextlib.suppress(OSError):
            h.update((root / name).read_bytes())
    h.update(repr(sorted((str(k), v) for k, v in d.dims.items())).encode())
    h.update(repr(sorted((n, v.kind, tuple(map(str, v.shape)), repr(v.assume))
                         for n, v in d.vars.items())).encode())
    for token, defn in d.defs.items():
        h.update(f"{token}:{sp.srepr(defn.body)}:{defn.params}\n".encode())
    for c in claims:
        h.update(_claim_text(c).encode())
    return h.hexdigest()


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

    def to_json(self) -> dict:
        return {"derivation": self.derivation, "verdicts": self.verdicts,
                "covers": self.covers, "source": self.source,
                "seconds": round(self.seconds, 3)}


_PROCESS_CACHE: dict[str, Certificate] = {}


def _cache_file(key: str) -> Path | None:
    from ..corpus.cache import default_cache_dir

    base = default_cache_dir()
    return None if base is None else base / "em" / f"{key}.json"


def _load_cached(key: str) -> Certificate | None:
    path = _cache_file(key)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cert = Certificate(data["derivation"], dict(data["verdicts"]), dict(data["covers"]),
                           key, "disk cache", 0.0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("key") != key or any(v not in ACCEPTED for v in cert.verdicts.values()):
        return None
    return cert


def _save_cached(cert: Certificate) -> None:
    path = _cache_file(cert.key)
    if path is None:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({**cert.to_json(), "key": cert.key}, indent=1))


def _run_claims(claims: Sequence[Claim], timeout: float, jobs: int | None):
    from ..runner import run_claims

    return run_claims(claims, timeout=timeout, jobs=jobs)


def certify(spec: Spec, *, timeout: float = CERTIFY_TIMEOUT, jobs: int | None = None,
            cache: bool = True) -> Certificate:
    """Check the claims behind the formulas; raise :class:`UnverifiedFormulasError`
    unless every one is proved or verified."""
    import time

    covers = _covering(spec)
    try:
        claims = [spec.derivation.claim(cid) for cid in spec.ENGINE_CLAIMS]
    except KeyError as exc:
        raise UnverifiedFormulasError(f"ENGINE_CLAIMS names {exc}, which "
                                      f"{spec.derivation.name} does not have") from None
    claims += [c for c in covers.values() if c not in claims]
    key = _key(spec, claims)
    cover_ids = {name: c.id for name, c in covers.items()}
    if cache:
        hit = _PROCESS_CACHE.get(key)
        if hit is not None:
            return Certificate(hit.derivation, hit.verdicts, hit.covers, key, "process cache")
        hit = _load_cached(key)
        if hit is not None:
            _PROCESS_CACHE[key] = hit
            return hit
    start = time.perf_counter()
    results = _run_claims(claims, timeout, jobs)
    cert = Certificate(spec.derivation.name, {r.id: r.verdict for r in results}, cover_ids,
                       key, "checked", time.perf_counter() - start,
                       {r.id: r.message or "" for r in results})
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


# -- the compiled formulas ----------------------------------------------------------------
class EMFormulas:
    """The certified, compiled E-step, M-step and log-likelihood."""

    def __init__(self, spec: Spec, program: Program, certificate: Certificate | None):
        self.spec, self.program, self.certificate = spec, program, certificate

    @classmethod
    def compile(cls, spec: Spec) -> Program:
        d = spec.derivation
        dims = {name: tuple(d.vars[str(getattr(spec, name).label)].shape)
                for name in ("T", "pi", "mu", "gamma")}
        tensors = [TensorSpec(str(spec.T.label), dims["T"], sparse=True),
                   TensorSpec(str(spec.pi.label), dims["pi"]),
                   TensorSpec(str(spec.mu.label), dims["mu"]),
                   TensorSpec(str(spec.gamma.label), dims["gamma"])]
        if dims["T"] != (spec.D, spec.W) or dims["mu"] != (spec.K, spec.W) or \
                dims["pi"] != (spec.K,) or dims["gamma"] != (spec.D, spec.K):
            raise CompileError(f"unexpected tensor shapes {dims}: the engine needs T (D x W), "
                               "pi (K), mu (K x W), gamma (D x K)")
        prog = Program(d.indices, tensors)
        f = spec.formulas
        prog.add("gamma", f["E_STEP"], (spec.d, spec.k))
        prog.add("loglik", f["LOG_LIKELIHOOD"], (spec.d,))
        prog.add("pi", f["M_STEP_PI"], (spec.k,))
        prog.add("mu", f["M_STEP_MU"], (spec.w, spec.k))
        return prog

    def _names(self) -> tuple[str, str, str, str]:
        """The tensor names (printing SymPy labels at every step would cost more than
        the small programs it names)."""
        names = self.__dict__.get("_tensor_names")
        if names is None:
            s = self.spec
            names = self.__dict__["_tensor_names"] = (
                str(s.T.label), str(s.pi.label), str(s.mu.label), str(s.gamma.label))
        return names

    def e_step(self, data: SparseData, pi: np.ndarray, mu_t: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(responsibilities D x K, log P(d) per document) from pi (K) and mu^T (W x K)."""
        t, p, m, _ = self._names()
        out = self.program.run(["gamma", "loglik"], {t: data, p: pi, m: mu_t.T},
                               split=self.spec.D)
        return out["gamma"], out["loglik"]

    def m_pi(self, resp: np.ndarray) -> np.ndarray:
        _, _, _, g = self._names()
        return self.program.run(["pi"], {g: resp})["pi"]

    def m_step(self, data: SparseData, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pi, mu^T) from the same responsibilities, in one blockwise run: pi is
        computed beside the blocks of mu."""
        t, _, _, g = self._names()
        out = self.program.run(["pi", "mu"], {t: data, g: resp}, split=self.spec.W)
        return out["pi"], out["mu"]

    def m_mu(self, data: SparseData, resp: np.ndarray) -> np.ndarray:
        """mu^T (W x K); a cluster with no words at all gives a NaN column (0 / 0)."""
        t, _, _, g = self._names()
        return self.program.run(["mu"], {t: data, g: resp}, split=self.spec.W)["mu"]


def load_formulas(module: object | str | None = None, *, verify: bool = True,
                  timeout: float = CERTIFY_TIMEOUT, jobs: int | None = None, cache: bool = True,
                  on_check: Callable[[], None] | None = None) -> EMFormulas:
    """The compiled formulas of ``module`` (default: the packaged em_multinomial).

    With ``verify`` (the default) the claims behind them are checked first (see the
    module docstring); ``on_check`` is called just before a check that is not cached.
    """
    if module is None or isinstance(module, str):
        module = load_module(module or DEFAULT_MODULE)
    spec = Spec(module)
    program = EMFormulas.compile(spec)
    cert = None
    if verify:
        if on_check is not None and not (cache and _is_cached(spec)):
            on_check()
        cert = certify(spec, timeout=timeout, jobs=jobs, cache=cache)
    return EMFormulas(spec, program, cert)


def _is_cached(spec: Spec) -> bool:
    try:
        covers = _covering(spec)
        claims = [spec.derivation.claim(cid) for cid in spec.ENGINE_CLAIMS]
    except (UnverifiedFormulasError, KeyError):
        return False
    claims += [c for c in covers.values() if c not in claims]
    key = _key(spec, claims)
    return key in _PROCESS_CACHE or _load_cached(key) is not None
