"""The repair search's only contact with the checker's internals.

Every call into the :mod:`symderive.check` package made by the repair package goes
through this module, so that a change of the checker's layout is
followed here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Callable

import numpy as np
import sympy as sp

from ..check import Outcome, check_claim
from ..check.instances import Evaluator
from ..check.stationary import build_system
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


class _Site:
    """One set of sizes of a stationary screen: the conditions, lambdified once."""

    def __init__(self, claim: StationaryClaim, sizes: dict, points: int, rng):
        from ..numeric import Sampler

        self.sizes = sizes
        system = build_system(claim, sizes)
        self.variables, self.params = system.variables, system.params
        args = [*self.variables, *self.params]
        self.grad = sp.lambdify(args, [sp.diff(system.f, v) for v in self.variables],
                                "mpmath")
        self.cons = sp.lambdify(args, list(system.constraints), "mpmath")
        self.jac = sp.lambdify(args, [[sp.diff(g, v) for v in self.variables]
                                      for g in system.constraints], "mpmath")
        sampler = Sampler(claim.derivation, self.params, sizes, rng)
        self.draws = [sampler.draw() for _ in range(points)]

    def passes(self, point: dict) -> bool:
        for draw in self.draws:
            subs = {k: sp.Float(v) for k, v in draw.items()}
            at = [complex(sp.sympify(point[v]).xreplace(subs)) for v in self.variables]
            if not all(abs(x.imag) < 1e-9 for x in at):
                return False
            args = [*at, *(complex(subs[p]) for p in self.params)]
            g = np.array([complex(x) for x in self.grad(*args)])
            scale = max(1.0, float(np.max(np.abs(g), initial=0.0)))
            c = np.array([complex(x) for x in self.cons(*args)])
            if c.size and np.max(np.abs(c)) > 1e-9:
                return False
            if c.size:
                J = np.array([[complex(x) for x in row] for row in self.jac(*args)])
                g = g - J.T @ np.linalg.lstsq(J.T, g, rcond=None)[0]
            if not np.all(np.isfinite(g)) or np.max(np.abs(g), initial=0.0) > 1e-9 * scale:
                return False
        return True


class StationaryScreen:
    """The float64 pre-filter for stationary-point claims, which have no left side: at
    a few random parameter points and two sets of sizes, the candidate point must satisfy
    the constraints and the Lagrange conditions (grad f in the span of the constraints'
    gradients)."""

    POINTS = (2, 1)

    def __init__(self, claim: StationaryClaim):
        self.build = build_system
        d = claim.derivation
        rng = random.Random(zlib.crc32(f"repair:{d.name}:{claim.id}".encode()))
        configs = d.size_configs(claim)[0]
        self.sites = [_Site(claim, sizes, k, rng) for sizes, k in zip(configs, self.POINTS)]

    def passes(self, candidate: StationaryClaim) -> bool:
        # only the point is needed: f and the constraints were instantiated once
        bare = dataclasses.replace(candidate, f=sp.S.Zero, constraints=())
        bare.derivation = candidate.derivation
        try:
            return all(site.passes(self.build(bare, site.sizes).point) for site in self.sites)
        except (ZeroDivisionError, OverflowError, TypeError, ValueError, KeyError,
                AttributeError, np.linalg.LinAlgError):
            return False
