"""Check a claimed constrained stationary point or maximiser through its Lagrangian.

The truth is computed, not assumed: the Lagrange conditions grad f = sum lambda_j grad g_j,
g = 0 are solved for the variables and multipliers, and the claimed point must be one of
the solutions.  For a maximiser the Hessian of the Lagrangian, restricted to the tangent
space of the constraints, must be negative definite there.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp

from .check import (
    MAX_TRIES,
    POINTS_NUMERIC,
    POINTS_SYMBOLIC,
    Emit,
    Outcome,
    _jsonable_sizes,
    _numeric_configs,
    _sizes_text,
    claim_rng,
    expand_family,
    free_indices,
    leaves_of,
    to_mp,
)
from .derivation import StationaryClaim
from .instantiate import InstantiationError, Instantiator
from .numeric import (
    DIGITS,
    TOLERANCE,
    Sampler,
    assumption_of,
    fmt_value,
    leaf_name,
    quad_integrals,
    valid,
)
from .plan import POINTS_SCALAR
from .prove import is_zero
from .scope import evidence


@dataclass
class System:
    sizes: dict
    f: sp.Expr
    variables: list
    constraints: list
    point: dict
    multipliers: list

    @property
    def lagrangian(self) -> sp.Expr:
        return self.f - sum(lam * g for lam, g in zip(self.multipliers, self.constraints))

    @property
    def params(self) -> list:
        return leaves_of([self.f, *self.constraints, *self.point.values()], self.variables)


def build_system(claim: StationaryClaim, sizes: dict) -> System:
    d = claim.derivation
    inst = Instantiator(d, sizes)
    f = inst.scalar(claim.f, {}, frozenset())
    variables = expand_family(inst, d, claim.variables)
    constraints = expand_family(inst, d, claim.constraints)
    point: dict = {}
    for var, value in claim.point.items():
        idx = free_indices(d, var)
        import itertools
        ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
        for values in itertools.product(*ranges):
            env = dict(zip(idx, values))
            point[inst.scalar(sp.sympify(var), env, frozenset())] = \
                inst.scalar(sp.sympify(value), env, frozenset())
    missing = [v for v in variables if v not in point]
    if missing:
        raise InstantiationError(f"the claimed point gives no value for {missing[0]}")
    lams = [sp.Symbol(f"lambda_{k}") for k in range(len(constraints))]
    return System(dict(sizes), f, variables, constraints, point, lams)


def _tangent_hessian(system: System, subs: dict) -> sp.Matrix:
    """Z^T (d^2 L) Z with Z a basis of the constraints' tangent space, at ``subs``."""
    L = system.lagrangian
    H = sp.hessian(L, system.variables).xreplace(subs)
    if not system.constraints:
        return H
    J = sp.Matrix([[sp.diff(g, v) for v in system.variables] for g in system.constraints])
    J = J.xreplace(subs)
    Z = J.nullspace()
    if not Z:
        return sp.zeros(0, 0)
    Z = sp.Matrix.hstack(*Z)
    return Z.T * H * Z


def solve_system(eqs: list, unknowns: list) -> list[dict] | None:
    """All solutions of ``eqs == 0`` (denominators cleared), or None when SymPy cannot.

    Unknowns are renamed to plain symbols first: ``solve`` mishandles indexed ones.
    """
    if any(sp.sympify(e).has(sp.Integral) for e in eqs):
        return None  # solve cannot see inside an integral: it would wrongly find nothing
    plain = [sp.Symbol(f"_u{k}") for k in range(len(unknowns))]
    forward, back = dict(zip(unknowns, plain)), dict(zip(plain, unknowns))
    nums, dens = [], []
    for e in eqs:
        num, den = sp.fraction(sp.together(sp.sympify(e).xreplace(forward)))
        nums.append(num)
        dens.append(den)
    try:
        sols = sp.solve(nums, plain, dict=True)
    except (NotImplementedError, ValueError, IndexError, TypeError):
        return None
    out = []
    for sol in sols:
        if any(sp.simplify(den.xreplace(sol)) == 0 for den in dens):
            continue
        out.append({back[k]: v for k, v in sol.items()})
    return out


def _solve_multipliers(system: System, subs: dict) -> dict | None:
    """Solve the (linear) stationarity equations for the multipliers at the point."""
    if not system.multipliers:
        return {}
    grads = [sp.diff(system.lagrangian, v).xreplace(subs) for v in system.variables]
    sols = solve_system(grads, system.multipliers)
    return sols[0] if sols else None


def _numeric_check(claim, system: System, point: dict) -> Outcome | None:
    """None when the claim holds at this parameter point; an Outcome when it fails."""
    subs = {v: sp.sympify(val).xreplace(point) for v, val in system.point.items()}
    if any(s.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for s in subs.values()):
        return Outcome("undecided", "domain")
    cx = {"sizes": _jsonable_sizes(system.sizes),
          "values": {leaf_name(k): str(v)
                     for k, v in sorted(point.items(), key=lambda t: str(t[0]))},
          "point": {leaf_name(k): str(v) for k, v in subs.items()}}
    for var, value in subs.items():
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if dom is not None and not dom.contains(value):
            cx["message"] = f"{leaf_name(var)} = {value} lies outside {dom.describe()}"
            return Outcome("refuted", "domain", cx["message"], cx)
    L = system.lagrangian.xreplace(point)
    eqs = [sp.diff(L, v) for v in system.variables] + [g.xreplace(point)
                                                        for g in system.constraints]
    truth = solve_system(eqs, system.variables + system.multipliers)
    matched = None
    if truth is not None:
        for sol in truth:
            if all(sp.simplify(sol.get(v, v) - subs[v]) == 0 for v in system.variables):
                matched = sol
                break
        if matched is None:
            cx["solutions"] = [{leaf_name(k): str(v) for k, v in sol.items()
                                if k in system.variables} for sol in truth[:3]]
            cx["message"] = ("not a solution of the Lagrange conditions"
                             if truth else "the Lagrange conditions have no solution here")
            return Outcome("refuted", "Lagrange conditions", cx["message"], cx)
    else:  # the solver gave up: check the point itself, solving for the multipliers
        full = {**point, **subs}
        for g in system.constraints:
            r = sp.nsimplify(g.xreplace(full))
            if r != 0:
                cx["message"] = f"the constraint {g} = 0 fails: it is {r}"
                return Outcome("refuted", "constraints", cx["message"], cx)
        lam = _solve_multipliers(system, full)
        matched = {**subs, **(lam or {})}
        if lam is None or any(not _vanishes(sp.diff(system.lagrangian, v).xreplace(
                {**full, **lam})) for v in system.variables):
            cx["message"] = "not a stationary point of the Lagrangian"
            return Outcome("refuted", "Lagrange conditions", cx["message"], cx)
    fpoint = {**point, **subs, **{k: v for k, v in matched.items()
                                  if k in system.multipliers}}
    if claim.maximum:
        M = _tangent_hessian(system, fpoint)
        if M.shape[0]:
            with mpmath.workdps(DIGITS):
                Mn = mpmath.matrix([[mpmath.mpf(sp.Float(sp.N(quad_integrals(x), DIGITS),
                                                         DIGITS)._mpf_)
                                     for x in row] for row in M.tolist()])
                eig = mpmath.eigsy(Mn)[0]
                top = max(eig[k] for k in range(M.shape[0]))
            if top >= 0:
                cx["message"] = (f"stationary, but not a maximum: the Hessian of the Lagrangian "
                                 f"has eigenvalue {fmt_value(top)} >= 0 on the tangent space")
                cx["eigenvalue"] = fmt_value(top)
                return Outcome("refuted", "second-order condition", cx["message"], cx)
    return None


def _vanishes(e: sp.Expr) -> bool:
    """Whether a stationarity condition holds at a point: exactly, or at 50 digits when
    it contains integrals (a functional), which ``simplify`` cannot decide."""
    if not e.has(sp.Integral):
        return sp.simplify(e) == 0
    value = to_mp(e)
    if not valid(value):
        raise ValueError(f"cannot evaluate {e}")  # the point is skipped, not refuted
    return abs(value) <= TOLERANCE


def _domain_for(claim, var):
    d = claim.derivation
    a = assumption_of(d, var)
    return a if a.describe() != "real" else None


def _numeric_phase(claim, systems: list[tuple[System, int]], rng) -> Outcome:
    points = 0
    for system, wanted in systems:
        params = system.params
        sampler = Sampler(claim.derivation, params, system.sizes, rng)
        good = 0
        for _ in range(max(MAX_TRIES, 3 * wanted) if params else 1):
            point = sampler.draw()
            try:
                bad = _numeric_check(claim, system, point)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if bad is not None and bad.verdict == "undecided":
                continue
            if bad is not None:
                return bad
            good += 1
            if good >= wanted:
                break
        if good == 0:
            return Outcome("undecided", "sampling",
                           f"no admissible point found at {_sizes_text(system.sizes)}")
        points += good
    sizes = [s.sizes for s, _ in systems]
    text = "; ".join(_sizes_text(s) for s in sizes)
    what = "maximiser" if claim.maximum else "stationary point"
    return Outcome("verified", f"Lagrange conditions at {points} points",
                   f"a {what} at {points} random parameter points ({text}), exact arithmetic",
                   evidence=evidence("Lagrange conditions", sizes, points, DIGITS, None))


def _symbolic_phase(claim, systems: list[System]) -> Outcome | None:
    """Prove, for symbolic parameters, that the point satisfies the constraints and the
    Lagrange conditions (multipliers solved for), and the second-order condition."""
    for system in systems:
        subs = dict(system.point)
        for g in system.constraints:
            if is_zero(g.xreplace(subs)) is not True:
                return None
        lam = _solve_multipliers(system, subs)
        if lam is None:
            return None
        full = {**subs, **lam}
        for v in system.variables:
            if is_zero(sp.diff(system.lagrangian, v).xreplace(full)) is not True:
                return None
        if claim.maximum:
            H = sp.hessian(system.lagrangian, system.variables).xreplace(full)
            if H.is_diagonal() and all(_negative(h) for h in H.diagonal()):
                continue  # negative definite everywhere, so on the tangent space too
            M = _tangent_hessian(system, full)
            if M.shape[0] > 4:
                return None  # leading minors of a large symbolic matrix: not affordable
            for k in range(1, M.shape[0] + 1):
                minor = sp.factor(sp.simplify(M[:k, :k].det() * (-1) ** k))
                if minor.is_positive is not True:
                    return None
    text = "; ".join(_sizes_text(s.sizes) for s in systems)
    what = "maximiser (second-order condition included)" if claim.maximum else "stationary point"
    return Outcome("proved", "symbolic (Lagrange conditions)",
                   f"a {what} for all admissible parameters at {text}")


def _negative(h: sp.Expr) -> bool:
    if h.has(sp.Integral):
        h = h.doit()
    if h.is_negative:
        return True
    return sp.factor(sp.together(h)).is_negative is True


def check_stationary(claim: StationaryClaim, emit: Emit, seed: int | None = None) -> Outcome:
    d = claim.derivation
    rng = claim_rng(claim, seed)
    sym_cfgs, _ = d.size_configs(claim)
    wanted = POINTS_SCALAR if sym_cfgs == [{}] else POINTS_SYMBOLIC
    try:
        systems = [build_system(claim, s) for s in sym_cfgs]
        num_systems = [build_system(claim, s) for s in _numeric_configs(d, claim, rng)]
    except (InstantiationError, TypeError, ValueError, KeyError) as exc:
        return Outcome("error", "build", f"{type(exc).__name__}: {exc}")
    outcome = _numeric_phase(claim, [(s, wanted) for s in systems]
                             + [(s, POINTS_NUMERIC) for s in num_systems], rng)
    if outcome.verdict != "verified":
        return outcome
    outcome.evidence["seed"] = seed
    emit("numeric", outcome)
    proof = _symbolic_phase(claim, systems)
    if proof is None:
        outcome.message += "; no symbolic proof found"
        return outcome
    proof.message = f"{proof.message}; also {outcome.message}"
    proof.evidence = {**outcome.evidence, "method": proof.method, "seed": seed,
                      "proved_sizes": [_jsonable_sizes(s) for s in sym_cfgs]}
    return proof
