"""A cheap numeric screen for repair candidates: most edits are wrong, and show it at once.

The truth (the claim's left side) is evaluated once, at a few random points and at two
sets of sizes, at the checker's working precision.  A candidate right side is evaluated
at float64 precision (53-bit mpmath), reusing the values of every definition and
derivative already computed at that point, and must agree with the truth to about 9
digits.  Passing the screen proves nothing: a survivor still goes to the checker.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping

import mpmath
import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..derivation import Claim
from ..evaluate import KinkError, NumericInstantiator, key_of, working_precision
from ..instantiate import InstantiationError
from ..numeric import Sampler
from ..quadrature import QuadratureUnreliable
from . import checker

POINTS = (2, 1)  # random points at the smallest sizes, then at the next ones
MAX_DRAWS = 20
RTOL = 1e-9
FLOAT_BITS = 53

Failure = (ZeroDivisionError, OverflowError, KinkError, QuadratureUnreliable,
           InstantiationError, TypeError, ValueError, KeyError, AttributeError, IndexError,
           sp.ShapeError)


class _Memo(NumericInstantiator):
    """The checker's numeric walker, with each derivative computed once per point (at full
    precision, whatever precision the candidate is evaluated at)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dcache: dict = {}
        self._vcache: dict = {}

    def scalar(self, e: sp.Basic, env: Mapping, cuts: frozenset):
        # every sub-expression's value is kept: a candidate differs from the claim in
        # one place, so only the path from that place to the root is evaluated anew
        if self.parent is not None or cuts or e.is_Atom:
            return super().scalar(e, env, cuts)
        key = (e, frozenset(env.items()))
        try:
            return self._vcache[key]
        except KeyError:
            value = self._vcache[key] = super().scalar(e, env, cuts)
            return value

    def matrix(self, e: sp.Basic, env: Mapping, cuts: frozenset):
        if self.parent is not None or cuts or not isinstance(e, MatrixExpr):
            return super().matrix(e, env, cuts)
        key = (e, frozenset(env.items()))
        try:
            return self._vcache[key]
        except KeyError:
            value = self._vcache[key] = super().matrix(e, env, cuts)
            return value

    def derivative(self, e, env: Mapping, cuts: frozenset):
        if self.parent is not None:
            return super().derivative(e, env, cuts)
        key = (e, frozenset(env.items()), cuts)
        if key not in self._dcache:
            with working_precision():
                self._dcache[key] = super().derivative(e, env, cuts)
        return self._dcache[key]


class Prefilter:
    """Values of the truth at a few points; ``values(rhs)`` of a candidate at the same."""

    def __init__(self, claim: Claim):
        self.claim = claim
        d = claim.derivation
        rng = random.Random(zlib.crc32(f"repair:{d.name}:{claim.id}".encode()))
        self.sites: list[tuple[NumericInstantiator, list]] = []
        truth = []
        sym_cfgs, _ = d.size_configs(claim)
        for sizes, wanted in zip(sym_cfgs, POINTS):
            leaves, envs = checker.leaves_and_envs(claim, sizes)
            sampler = Sampler(d, leaves, sizes, rng)
            got = 0
            for _ in range(MAX_DRAWS if leaves else 1):
                point = sampler.draw()
                with working_precision():
                    values = {key_of(k): mpmath.mpf(int(v.p)) / int(v.q)
                              for k, v in point.items()}
                    inst = _Memo(d, sizes, values)
                    try:
                        lhs = self._side(inst, envs, claim.lhs)
                    except Failure:
                        continue
                    try:
                        self._side(inst, envs, claim.rhs)  # warms the caches
                    except Failure:
                        pass  # a claim refuted for its shape: candidates may still fit
                if not np.all(np.isfinite(lhs)):
                    continue
                self.sites.append((inst, envs))
                truth.append(lhs)
                got += 1
                if got >= wanted:
                    break
        self.truths = truth
        self.ok = bool(self.sites)

    def truth(self, sites: int | None = None) -> np.ndarray:
        """The truth at the first ``sites`` screening points (all by default)."""
        parts = self.truths[:sites]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=complex)

    def scale(self, sites: int | None = None) -> np.ndarray:
        return np.maximum(np.abs(self.truth(sites)), 1.0)

    @staticmethod
    def _side(inst: NumericInstantiator, envs: list, expr: sp.Basic) -> np.ndarray:
        out = []
        for env in envs:
            m = inst.matrix(expr, env, frozenset())
            out += [complex(x) for x in m.data]
        return np.array(out, dtype=complex)

    def values(self, rhs: sp.Basic, sites: int | None = None) -> np.ndarray | None:
        """The candidate at the first ``sites`` screening points (all by default), or
        None where it cannot be evaluated."""
        out = []
        with mpmath.workprec(FLOAT_BITS):
            for inst, envs in self.sites[:sites]:
                try:
                    out.append(self._side(inst, envs, rhs))
                except Failure:
                    return None
        vals = np.concatenate(out) if out else np.zeros(0, dtype=complex)
        if vals.shape != self.truth(sites).shape or not np.all(np.isfinite(vals)):
            return None
        return vals

    def matches(self, vals: np.ndarray | None, sites: int | None = None) -> bool:
        if vals is None:
            return False
        return bool(np.all(np.abs(vals - self.truth(sites)) <= RTOL * self.scale(sites)))
