"""Check a claimed constrained stationary point or maximiser through its Lagrangian.

The truth is computed, not assumed: the Lagrange conditions grad f = sum lambda_j grad g_j,
g = 0 are solved for the variables and multipliers, and the claimed point must be one of
the solutions.  For a maximiser the Hessian of the Lagrangian, restricted to the tangent
space of the constraints, must be negative definite there.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, replace

import mpmath
import sympy as sp

from ..derivation import StationaryClaim
from ..instantiate import InstantiationError, Instantiator
from ..nodes import is_matrix
from ..numeric import (
    DIGITS,
    TOLERANCE,
    Sampler,
    assumption_of,
    fmt_value,
    leaf_name,
    quad_integrals,
    to_mp,
    valid,
)
from ..walker import OperandShapeError
from .counterexample import operand_refutation, shape_refutation
from .instances import ShapeMismatch, expand_family, free_indices, leaves_of
from .plan import MAX_TRIES, POINTS_NUMERIC, POINTS_SYMBOLIC, claim_rng, claim_seed, numeric_configs
from .prove import is_zero
from .unknowns import matrix_point, unknown_entries
from .verdict import Emit, Evidence, Outcome, Verdict, jsonable_sizes, sizes_text


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

    @functools.cached_property
    def hessian(self) -> sp.Matrix:
        """The symbolic Hessian of the Lagrangian, once per system (not once per point)."""
        return sp.hessian(self.lagrangian, self.variables)

    @property
    def params(self) -> list:
        return leaves_of([self.f, *self.constraints, *self.point.values()], self.variables)


def build_system(claim: StationaryClaim, sizes: dict) -> System:
    d = claim.derivation
    inst = Instantiator(d, sizes)
    f = inst.scalar(claim.f, {}, frozenset())
    variables = unknown_entries(inst, d, claim.variables)
    constraints = expand_family(inst, d, claim.constraints)
    point: dict = {}
    for var, value in claim.point.items():
        idx = free_indices(d, var)
        ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
        for values in itertools.product(*ranges):
            env = dict(zip(idx, values))
            if is_matrix(var):
                point.update(matrix_point(inst, var, value, env))
                continue
            point[inst.scalar(sp.sympify(var), env, frozenset())] = \
                inst.scalar(sp.sympify(value), env, frozenset())
    missing = [v for v in variables if v not in point]
    if missing:
        raise InstantiationError(f"the claimed point gives no value for {missing[0]}")
    lams = [sp.Symbol(f"lambda_{k}") for k in range(len(constraints))]
    return System(dict(sizes), f, variables, constraints, point, lams)


def _tangent_hessian(system: System, subs: dict) -> sp.Matrix:
    """Z^T (d^2 L) Z with Z a basis of the constraints' tangent space, at ``subs``."""
    H = system.hessian.xreplace(subs)
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
        return Outcome(Verdict.UNDECIDED, "domain")
    cx = {"sizes": jsonable_sizes(system.sizes),
          "values": {leaf_name(k): str(v)
                     for k, v in sorted(point.items(), key=lambda t: str(t[0]))},
          "point": {leaf_name(k): str(v) for k, v in subs.items()}}
    for var, value in subs.items():
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if dom is not None and not dom.contains(value):
            cx["message"] = f"{leaf_name(var)} = {value} lies outside {dom.describe()}"
            return Outcome(Verdict.REFUTED, "domain", cx["message"], cx)
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
            return Outcome(Verdict.REFUTED, "Lagrange conditions", cx["message"], cx)
    else:  # the solver gave up: check the point itself, solving for the multipliers
        full = {**point, **subs}
        for g in system.constraints:
            r = sp.nsimplify(g.xreplace(full))
            if r != 0:
                cx["message"] = f"the constraint {g} = 0 fails: it is {r}"
                return Outcome(Verdict.REFUTED, "constraints", cx["message"], cx)
        lam = _solve_multipliers(system, full)
        matched = {**subs, **(lam or {})}
        if lam is None or any(not _vanishes(sp.diff(system.lagrangian, v).xreplace(
                {**full, **lam})) for v in system.variables):
            cx["message"] = "not a stationary point of the Lagrangian"
            return Outcome(Verdict.REFUTED, "Lagrange conditions", cx["message"], cx)
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
                return Outcome(Verdict.REFUTED, "second-order condition", cx["message"], cx)
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
    seed = claim_seed(claim)
    for k, (system, wanted) in enumerate(systems):
        sampled = [s.sizes for s, _ in systems[:k + 1]]
        params = system.params
        sampler = Sampler(claim.derivation, params, system.sizes, rng)
        good = 0
        for _ in range(MAX_TRIES if params else 1):
            point = sampler.draw()
            try:
                bad = _numeric_check(claim, system, point)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if bad is not None and bad.verdict == Verdict.UNDECIDED:
                continue
            if bad is not None:
                bad.evidence = Evidence(bad.method, sampled_sizes=sampled, points=points + good,
                                        seed=seed)
                return bad
            good += 1
            if good >= wanted:
                break
        if good == 0:
            return Outcome(Verdict.UNDECIDED, "sampling",
                           f"no admissible point found at {sizes_text(system.sizes)}",
                           evidence=Evidence("sampling", sampled_sizes=sampled, points=points,
                                             seed=seed))
        points += good
    sizes = [s.sizes for s, _ in systems]
    text = "; ".join(sizes_text(s) for s in sizes)
    what = "maximiser" if claim.maximum else "stationary point"
    method = f"Lagrange conditions at {points} points"
    return Outcome(Verdict.VERIFIED, method,
                   f"a {what} at {points} random parameter points ({text}), exact arithmetic",
                   evidence=Evidence("Lagrange conditions", sampled_sizes=sizes, points=points,
                                     seed=seed))


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
    text = "; ".join(sizes_text(s.sizes) for s in systems)
    what = "maximiser (second-order condition included)" if claim.maximum else "stationary point"
    return Outcome(Verdict.PROVED, "symbolic (Lagrange conditions)",
                   f"a {what} for all admissible parameters at {text}")


def _negative(h: sp.Expr) -> bool:
    if h.has(sp.Integral):
        h = h.doit()
    if h.is_negative:
        return True
    return sp.factor(sp.together(h)).is_negative is True


def _as_minimum(outcome: Outcome) -> Outcome:
    """The words of a maximiser check of -f, said of the minimiser of f it stands for."""
    for old, new in (("not a maximum", "not a minimum"), ("maximiser", "minimiser"),
                     ("eigenvalue", "eigenvalue (of the negated Hessian)")):
        outcome.message = (outcome.message or "").replace(old, new) or None
        if outcome.counterexample and "message" in outcome.counterexample:
            outcome.counterexample["message"] = outcome.counterexample["message"].replace(
                old, new)
    return outcome


def check_stationary(claim: StationaryClaim, emit: Emit) -> Outcome:
    if claim.minimum:  # a minimiser of f is a maximiser of -f (same point, same Hessian test)
        negated = replace(claim, f=-claim.f, maximum=True, minimum=False)
        return _as_minimum(check_stationary(
            negated, lambda kind, outcome: emit(kind, _as_minimum(outcome))))
    d = claim.derivation
    rng = claim_rng(claim)
    sym_cfgs, _ = d.size_configs(claim)
    try:
        systems = [build_system(claim, s) for s in sym_cfgs]
        num_systems = [build_system(claim, s) for s in numeric_configs(d, claim, rng)]
    except OperandShapeError as exc:
        return operand_refutation(claim, exc)
    except ShapeMismatch as exc:
        return shape_refutation(exc)
    except (InstantiationError, TypeError, ValueError, KeyError) as exc:
        return Outcome(Verdict.ERROR, "build", f"{type(exc).__name__}: {exc}")
    outcome = _numeric_phase(claim, [(s, POINTS_SYMBOLIC) for s in systems]
                             + [(s, POINTS_NUMERIC) for s in num_systems], rng)
    if outcome.verdict != Verdict.VERIFIED:
        return outcome
    emit("numeric", outcome)
    proof = _symbolic_phase(claim, systems)
    if proof is None:
        outcome.message += "; no symbolic proof found"
        return outcome
    proof.message = f"{proof.message}; also {outcome.message}"
    ev = outcome.evidence
    proof.evidence = Evidence(proof.method, proved_sizes=[s.sizes for s in systems],
                              sampled_sizes=ev.sampled_sizes, points=ev.points,
                              digits=ev.digits, seed=ev.seed)
    return proof
