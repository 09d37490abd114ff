"""The repair search's only contact with the checker's internals.

Every call into :mod:`symderive.check` and :mod:`symderive.stationary` made by the
repair package goes through this module, so that a change of the checker's layout is
followed here and nowhere else.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable

import sympy as sp

from ..check import Evaluator, Outcome, check_claim
from ..derivation import Claim, StationaryClaim

Emit = Callable[[str, Outcome], None]


def _check(claim: Claim, emit: Emit) -> Outcome:
    """The checker's verdict on ``claim``; ``emit`` hears of the sampling verdict (and of
    each size proved) before the final one, as the runner does."""
    return check_claim(claim, emit)


class _Sampled(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.verdict)
        self.outcome = outcome


def _sampled(claim: Claim) -> Outcome:
    """The checker's verdict from its sampling phase alone: ``verified`` or a refutation;
    the proof is left for later (it costs far more, and only the best hints need it)."""
    def emit(kind: str, outcome: Outcome) -> None:
        if kind == "numeric":
            raise _Sampled(outcome)

    try:
        return _check(claim, emit)
    except _Sampled as done:
        return done.outcome


def leaves_and_envs(claim: Claim, sizes: dict) -> tuple[list, list[dict]]:
    """The leaf entries a claim's two sides read at ``sizes``, and every assignment of
    its free indices (what the checker samples and compares)."""
    ev = Evaluator(claim, sizes)
    return ev.leaves, ev.envs


class StationaryScreen:
    """The float64 pre-filter for stationary-point claims, which have no left side: at
    a few random parameter points, the candidate point must satisfy the constraints and
    the Lagrange conditions (grad f in the span of the constraints' gradients)."""

    def __init__(self, claim: StationaryClaim, points: int = 3):
        import numpy as np

        from ..numeric import Sampler
        from ..stationary import build_system

        self.np = np
        d = claim.derivation
        self.sizes = d.size_configs(claim)[0][0]
        self.build = build_system
        system = build_system(claim, self.sizes)
        self.variables, self.params = system.variables, system.params
        args = [*self.variables, *self.params]
        grad = [sp.diff(system.f, v) for v in self.variables]
        jac = [[sp.diff(g, v) for v in self.variables] for g in system.constraints]
        self.grad = sp.lambdify(args, grad, "mpmath")
        self.cons = sp.lambdify(args, list(system.constraints), "mpmath")
        self.jac = sp.lambdify(args, jac, "mpmath")
        rng = random.Random(zlib.crc32(f"repair:{d.name}:{claim.id}".encode()))
        sampler = Sampler(d, self.params, self.sizes, rng)
        self.draws = [sampler.draw() for _ in range(points)]

    def passes(self, candidate: StationaryClaim) -> bool:
        np = self.np
        try:
            point = self.build(candidate, self.sizes).point
            for draw in self.draws:
                subs = {k: sp.Float(v) for k, v in draw.items()}
                at = [complex(sp.sympify(point[v]).xreplace(subs)) for v in self.variables]
                args = [*at, *(complex(subs[p]) for p in self.params)]
                g = np.array([complex(x) for x in self.grad(*args)])
                scale = max(1.0, float(np.max(np.abs(g), initial=0.0)))
                if self.variables and not all(abs(x.imag) < 1e-9 for x in at):
                    return False
                c = np.array([complex(x) for x in self.cons(*args)])
                if c.size and np.max(np.abs(c)) > 1e-9:
                    return False
                if c.size:
                    J = np.array([[complex(x) for x in row] for row in self.jac(*args)])
                    lam = np.linalg.lstsq(J.T, g, rcond=None)[0]
                    g = g - J.T @ lam
                if not np.all(np.isfinite(g)) or np.max(np.abs(g), initial=0.0) > 1e-9 * scale:
                    return False
        except (ZeroDivisionError, OverflowError, TypeError, ValueError, KeyError,
                AttributeError):
            return False
        return True
