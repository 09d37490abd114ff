"""Check a claimed constrained stationary point or maximiser through its Lagrangian.

The truth is computed, not assumed, and never depends on ``solve`` finding every
solution: the claimed point is substituted, the constraints must hold there, and the
Lagrange conditions grad f = sum lambda_j grad g_j must hold for some multipliers, found by
a linear solve.  A maximiser is global unless the claim says ``local=True``: a local one
is proved by the second-order test (the Hessian of the Lagrangian negative definite on the
constraints' tangent space), a global one only by a global argument (concavity on a convex
feasible set, symderive/check/maxima.py), and refuted by a feasible point with a larger value.
A singular Hessian on the tangent space leaves the second-order test inconclusive: the
verdict is then ``undecided`` unless a global argument settles it, never ``refuted``.
"""

from __future__ import annotations

import copy
import functools
import itertools
import random
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

import mpmath
import sympy as sp

from ..assumptions import Interval, Positive, Simplex
from ..derivation import StationaryClaim
from ..instantiate import InstantiationError, Instantiator
from ..nodes import is_matrix
from ..numeric import (
    DIGITS,
    TOLERANCE,
    Sampler,
    assumption_of,
    fmt_pair,
    fmt_value,
    leaf_name,
    quad_integrals,
    to_mp,
    valid,
)
from ..walker import OperandShapeError
from .counterexample import operand_refutation, shape_refutation
from .far import far_better_point
from .instances import ShapeMismatch, expand_family, free_indices, leaves_of
from .kinks import KINK, kinks, off_kinks, on_kink
from .maxima import (
    CONVEX,
    SCREEN_DIGITS,
    better_point,
    bracketed,
    concave_everywhere,
    in_domain,
    linear_multipliers,
    nonvanishing,
    number,
    tangent_basis,
)
from .memo import Memo, content_key, point_key, sizes_key
from .plan import (
    POINTS_NUMERIC,
    POINTS_SCALAR,
    POINTS_SYMBOLIC,
    claim_rng,
    claim_seed,
    numeric_configs,
    tries,
)
from .prove import is_zero
from .stationary_large import WORK, _compiler, _inside, distinct_draw, larger_sizes
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
    #: (text, expression): what puts the claimed value of a structured unknown in its
    #: domain, each expression to vanish (see :func:`.unknowns.matrix_point`)
    structure: list = field(default_factory=list)

    @property
    def lagrangian(self) -> sp.Expr:
        return self.f - sum(lam * g for lam, g in zip(self.multipliers, self.constraints))

    @functools.cached_property
    def hessian(self) -> sp.Matrix:
        """The symbolic Hessian of the Lagrangian, once per system (not once per point):
        each entry is ``sp.hessian``'s, d/dv_j of the cached d L/dv_i (``sp.hessian``
        differentiates L afresh for every pair)."""
        n = len(self.variables)
        H = sp.zeros(n, n)
        for i, g in enumerate(self.gradient):
            for j in range(i, n):
                H[i, j] = H[j, i] = g.diff(self.variables[j])
        return H

    @functools.cached_property
    def kinks(self) -> list:
        """The kinks of f and the constraints that move with the unknowns (kinks.py)."""
        return kinks([self.f, *self.constraints], self.variables)

    @functools.cached_property
    def params(self) -> list:
        return leaves_of([self.f, *self.constraints, *self.point.values()], self.variables)

    @functools.cached_property
    def gradient(self) -> list:
        """d Lagrangian / d v for each unknown, once per system (not once per point)."""
        return [sp.diff(self.lagrangian, v) for v in self.variables]

    @functools.cached_property
    def jacobian(self) -> sp.Matrix:
        """d constraints / d unknowns, once per system (not once per point)."""
        return sp.Matrix(len(self.constraints), len(self.variables),
                         lambda j, i: sp.diff(self.constraints[j], self.variables[i]))

    @functools.cached_property
    def affine(self) -> bool:
        """Every second derivative of every constraint is 0 as built, for symbolic
        parameters: then it is 0 at every parameter point too."""
        return all(sp.diff(e, v) == 0 for e in self.jacobian for v in self.variables)

    @functools.cached_property
    def coefficients(self) -> sp.Matrix:
        """The coefficients of the multipliers in the stationarity equations (``-J^T``:
        the gradient of the Lagrangian is grad f - J^T lambda)."""
        return -self.jacobian.T

    @functools.cached_property
    def compiled_f(self):
        """f as an mpmath function of (unknowns, parameters), for screening trial
        points (see :func:`symderive.check.maxima.better_point`); None if it will not
        compile."""
        try:
            return _compiler([*self.variables, *self.params])(self.f, cse=True,
                                                               vary=len(self.variables))
        except Exception:  # noqa: BLE001 -- only a screen: the exact test decides
            return None


def build_system(claim: StationaryClaim, sizes: dict) -> System:
    d = claim.derivation
    inst = Instantiator(d, sizes)
    f = inst.scalar(claim.f, {}, frozenset())
    variables = unknown_entries(inst, d, claim.variables)
    constraints = expand_family(inst, d, claim.constraints)
    point: dict = {}
    structure: list = []
    for var, value in claim.point.items():
        idx = free_indices(d, var)
        ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
        for values in itertools.product(*ranges):
            env = dict(zip(idx, values))
            if is_matrix(var):
                entries, conditions = matrix_point(inst, var, value, env)
                point.update(entries)
                structure += conditions
                continue
            point[inst.scalar(sp.sympify(var), env, frozenset())] = \
                inst.scalar(sp.sympify(value), env, frozenset())
    missing = [v for v in variables if v not in point]
    if missing:
        raise InstantiationError(f"the claimed point gives no value for {missing[0]}")
    lams = [sp.Symbol(f"lambda_{k}") for k in range(len(constraints))]
    return System(dict(sizes), f, variables, constraints, point, lams, structure)


def _tangent_hessian(system: System, subs: dict) -> sp.Matrix:
    """Z^T (d^2 L) Z with Z a basis of the constraints' tangent space, at ``subs``."""
    H = system.hessian.xreplace(subs)
    if not system.constraints:
        return H
    Z = tangent_basis(system.jacobian.xreplace(subs))
    if not Z:
        return sp.zeros(0, 0)
    Z = sp.Matrix.hstack(*Z)
    return Z.T * H * Z


def _solve_multipliers(system: System, subs: dict, grads: list | None = None
                       ) -> dict | None:
    """Solve the stationarity equations, linear in the multipliers, at the point: a
    linear solve decides exactly whether multipliers exist (see symderive/check/maxima.py).
    ``grads``, when the caller has them, is the gradient of the Lagrangian at the point."""
    if not system.multipliers:
        return {}
    if grads is None:
        grads = [g.xreplace(subs) for g in system.gradient]
    lam = linear_multipliers(grads, system.multipliers,
                             system.coefficients.xreplace(subs))
    return lam if lam is not None else _numeric_multipliers(grads, system.multipliers)


def _numeric_multipliers(grads: list, multipliers: list) -> dict | None:
    """Least-squares multipliers at 60 digits, for a system whose exact elimination found
    it inconsistent only because its zero test could not see through exp and log (at a
    large parameter, log(e^-832/7 / (...)) + 832/7 + ...).  The caller still checks every
    condition at them (:func:`_vanishes`), so a wrong answer here cannot accept a point;
    this is the sampling phase, whose verdict is at most ``verified``."""
    A, b = sp.linear_eq_to_matrix(grads, multipliers)
    A, b = A.evalf(60), b.evalf(60)
    if A.free_symbols or b.free_symbols:
        return None
    try:
        sol = (A.T * A).LUsolve(A.T * b)
    except (ValueError, ZeroDivisionError):
        return None
    return dict(zip(multipliers, sol))


def _numeric_check(claim, system: System, point: dict) -> Outcome | None:
    """None when the claim holds at this parameter point; an Outcome when it fails."""
    subs = {v: sp.sympify(val).xreplace(point) for v, val in system.point.items()}
    if any(s.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for s in subs.values()):
        return Outcome(Verdict.UNDECIDED, "domain")

    def failed(verdict: Verdict, method: str, message: str, **more) -> Outcome:
        # the counterexample's texts only for a point that fails (most hold)
        cx = {"sizes": jsonable_sizes(system.sizes),
              "values": {leaf_name(k): str(v)
                         for k, v in sorted(point.items(), key=lambda t: str(t[0]))},
              "point": {leaf_name(k): str(v) for k, v in subs.items()},
              "message": message, **more}
        return Outcome(verdict, method, message, cx)

    for var, value in subs.items():
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if dom is not None and not in_domain(dom, value):
            return failed(Verdict.REFUTED, "domain",
                          f"{leaf_name(var)} = {value} lies outside {dom.describe()}")
    for kind, text, e in system.structure:
        v = sp.sympify(e.xreplace(point))
        if not _condition_holds(kind, v):
            detail = f"they differ by {v}" if kind == "zero" else f"{v} at this point"
            return failed(Verdict.REFUTED, "domain", f"{text} ({detail}): it lies outside "
                          "the unknown's domain")
    # the claimed point itself, substituted: the constraints hold, and multipliers exist
    # (a linear solve); never "is it among the solutions solve found"
    full = {**point, **subs}
    for g in system.constraints:
        if not _vanishes(g.xreplace(full)):
            return failed(Verdict.REFUTED, "constraints",
                          f"the constraint {g} = 0 fails at the claimed point")
    # at a kink of f (or of a constraint) diff's value is no derivative: the first- and
    # second-order tests do not apply there; a better feasible point still refutes
    node = on_kink(system.kinks, full) if system.kinks else None
    if node is not None:
        if claim.maximum and not claim.local:
            bad = _better_refutation(claim, system, full, failed)
            if bad is not None:
                return bad
        return failed(Verdict.UNDECIDED, KINK,
                      f"the claimed point lies on a kink ({node} changes branch there)")
    # the gradient at the point once, the multipliers left symbols: they are then put
    # into it, not the point into the symbolic gradient a second time
    grads = [g.xreplace(full) for g in system.gradient]
    bounds = _active_bounds(claim, system, subs) if claim.maximum else []
    if bounds:  # a maximiser on the boundary of a closed interval: the KKT conditions
        return _kkt_check(claim, system, full, grads, bounds, failed)
    lam = _solve_multipliers(system, full, grads)
    if lam is None or any(not _vanishes(g.xreplace(lam)) for g in grads):
        return failed(Verdict.REFUTED, "Lagrange conditions",
                      "not a stationary point: no multipliers satisfy the Lagrange "
                      "conditions" if system.multipliers else "not a stationary point: "
                      "the gradient does not vanish")
    fpoint = {**full, **lam}
    if claim.maximum:
        M = _tangent_hessian(system, fpoint)
        if M.shape[0]:
            with mpmath.workdps(DIGITS):
                Mn = mpmath.matrix([[mpmath.mpf(sp.Float(sp.N(quad_integrals(x), DIGITS),
                                                         DIGITS)._mpf_)
                                     for x in row] for row in M.tolist()])
                eig = mpmath.eigsy(Mn)[0]
                top = max(eig[k] for k in range(M.shape[0]))
                scale = max(1, *(abs(eig[k]) for k in range(M.shape[0])))
            if top > TOLERANCE * scale:  # a direction of increase: not even a local max
                return failed(Verdict.REFUTED, "second-order condition",
                              f"stationary, but not a maximum: the Hessian of the Lagrangian "
                              f"has eigenvalue {fmt_value(top)} > 0 on the tangent space",
                              eigenvalue=fmt_value(top))
        if not claim.local:
            bad = _better_refutation(claim, system, full, failed)
            if bad is not None:
                return bad
        if M.shape[0] and abs(top) <= TOLERANCE * scale:
            return failed(Verdict.UNDECIDED, SINGULAR,
                          "the second-order test is inconclusive: the Hessian of the "
                          "Lagrangian is singular on the tangent space")
    return None


def _active_bounds(claim, system: System, subs: dict) -> list[tuple[int, int]]:
    """(index of the unknown, +1 at the upper end or -1 at the lower) for each unknown
    whose claimed value is exactly an end of its closed interval."""
    out = []
    for k, var in enumerate(system.variables):
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if not (isinstance(dom, Interval) and dom.closed):
            continue
        value = sp.sympify(subs[var])
        for end, side in ((dom.lo, -1), (dom.hi, 1)):
            if value == sp.Rational(end.numerator, end.denominator):
                out.append((k, side))
    return out


def _kkt_check(claim, system: System, full: dict, grads: list, bounds: list, failed
               ) -> Outcome | None:
    """A maximiser with unknowns at ends of their closed intervals (``bounds``): the KKT
    conditions, grad f = J^T lambda + sum_i mu_i s_i e_i with every mu_i >= 0 (s_i = +1
    at an upper end, -1 at a lower one: f may only increase out of the domain), the
    multipliers from a linear solve as at an interior point; then the second-order test
    along the directions that keep the active ends fixed (a direction of increase there
    refutes), and, for a global claim, the better-point search.  Only sampling: the
    verdict is at most ``verified``."""
    mus = [sp.Symbol(f"mu_{k}") for k in range(len(bounds))]
    n = len(system.variables)
    extended = list(grads)
    for mu, (k, side) in zip(mus, bounds):
        extended[k] = extended[k] - mu * side
    coefficients = system.coefficients.xreplace(full).row_join(
        sp.Matrix(n, len(mus), lambda i, j: -bounds[j][1] if bounds[j][0] == i else 0))
    lam = linear_multipliers(extended, [*system.multipliers, *mus], coefficients)
    if lam is None or any(not _vanishes(g.xreplace(lam)) for g in extended):
        return failed(Verdict.REFUTED, "KKT conditions",
                      "not a maximiser: no multipliers satisfy the KKT conditions at the "
                      "claimed point on the boundary of the domain")
    degenerate = []  # ends whose multiplier is 0: f is flat into the domain there
    for mu, (k, side) in zip(mus, bounds):
        value = to_mp(sp.sympify(lam[mu]))
        if not valid(value):
            raise ValueError("a KKT multiplier that does not evaluate")
        if abs(value) <= TOLERANCE:
            degenerate.append((k, side))
        elif value < 0:
            var = system.variables[k]
            if coefficients.rank() < coefficients.cols:
                # the multipliers are not unique (dependent constraints and ends): another
                # choice may have every mu_i >= 0, so this one decides nothing; a better
                # feasible point still refutes a global claim
                bad = None if claim.local else _better_refutation(claim, system, full,
                                                                  failed)
                return bad or failed(Verdict.UNDECIDED, "KKT conditions",
                                     "the KKT multipliers are not unique here")
            return failed(Verdict.REFUTED, "KKT conditions",
                          f"not a maximiser: f is larger inside the domain than at "
                          f"{leaf_name(var)} = {full[var]}, its "
                          f"{'upper' if side > 0 else 'lower'} end (KKT multiplier "
                          f"{fmt_value(value)} < 0)", multiplier=fmt_value(value))
    # the second-order test moves along the boundary: the active ends stay fixed, except
    # one end with multiplier 0, along which a direction of positive curvature or its
    # opposite enters the domain (with two or more such ends, neither may)
    held = [b for b in bounds if b not in degenerate] if len(degenerate) == 1 else bounds
    fixed = sp.Matrix(len(held), n, lambda j, i: int(held[j][0] == i))
    J = system.jacobian.xreplace(full).col_join(fixed) if system.constraints else fixed
    Z = tangent_basis(J) if J.rows else [sp.eye(n)[:, i] for i in range(n)]
    if Z:
        Zm = sp.Matrix.hstack(*Z)
        M = Zm.T * system.hessian.xreplace({**full, **lam}) * Zm
        with mpmath.workdps(DIGITS):
            Mn = mpmath.matrix([[to_mp(x) for x in row] for row in M.tolist()])
            eig = mpmath.eigsy(Mn)[0]
            top = max(eig[k] for k in range(M.shape[0]))
            scale = max(1, *(abs(eig[k]) for k in range(M.shape[0])))
        if top > TOLERANCE * scale:
            return failed(Verdict.REFUTED, "second-order condition",
                          f"a KKT point, but not a maximum: the Hessian of the Lagrangian "
                          f"has eigenvalue {fmt_value(top)} > 0 along a direction the "
                          "active ends allow",
                          eigenvalue=fmt_value(top))
    if not claim.local:
        return _better_refutation(claim, system, full, failed)
    return None


def _better_refutation(claim, system: System, full: dict, failed) -> Outcome | None:
    """The refutation of a global claim by a better feasible point, if one is found."""
    found = _better_point(claim, system, full)
    if found is None:
        return None
    trial, got, base = found
    better, claimed = fmt_pair(got, base)  # digits enough to show the difference
    return failed(Verdict.REFUTED, "global maximum",
                  f"not a global maximiser: f = {better} at "
                  + ", ".join(f"{leaf_name(k)} = {v}" for k, v in trial.items())
                  + f", greater than f = {claimed} at the claimed point",
                  better={leaf_name(k): str(v) for k, v in trial.items()})


#: parameter points of the wider search for a better point (far.py)
FAR_POINTS = 3


def _far_refutation(claim, system: System, seed: int | None) -> Outcome | None:
    """A better feasible point far from the claimed one (far.py), at a few parameter
    points drawn from the seed; None when none is found or the search does not apply
    (an integral in f, curved constraints, f that does not compile)."""
    if system.f.has(sp.Integral) or not system.affine or system.compiled_f is None:
        return None
    rng = claim_rng(seed)
    sampler = Sampler(claim.derivation, system.params, system.sizes, rng)
    variables = system.variables
    for _ in range(FAR_POINTS if system.params else 1):
        point = distinct_draw(sampler) if system.params else {}
        try:
            found = _far_at(claim, system, point, rng)
        except (ZeroDivisionError, ValueError, TypeError, ArithmeticError):
            continue
        if found is None:
            continue
        trial, got, base, subs = found
        better, claimed = fmt_pair(got, base)
        message = (f"not a global maximiser: f = {better} at "
                   + ", ".join(f"{leaf_name(v)} = {t}" for v, t in zip(variables, trial))
                   + f", greater than f = {claimed} at the claimed point")
        cx = {"sizes": jsonable_sizes(system.sizes),
              "values": {leaf_name(k): str(v)
                         for k, v in sorted(point.items(), key=lambda t: str(t[0]))},
              "point": {leaf_name(k): str(v) for k, v in subs.items()},
              "message": message,
              "better": {leaf_name(v): str(t) for v, t in zip(variables, trial)}}
        return Outcome(Verdict.REFUTED, "global maximum", message, cx)
    return None


def _far_at(claim, system: System, point: dict, rng) -> tuple | None:
    subs = {v: sp.sympify(val).xreplace(point) for v, val in system.point.items()}
    x0 = [subs[v] for v in system.variables]
    if not all(v.is_number and v.is_real is not False for v in x0):
        return None
    full = {**point, **subs}
    for var, value in subs.items():  # a better point than a feasible claimed point only
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if dom is not None and not in_domain(dom, value):
            return None
    if not all(_vanishes(g.xreplace(full)) for g in system.constraints):
        return None
    if system.constraints:
        J = system.jacobian.xreplace(point)
        if not all(e.is_Rational for e in J):
            return None
        basis = [list(z) for z in tangent_basis(J)]
    else:
        basis = [[int(i == k) for i in range(len(x0))] for k in range(len(x0))]
    if not basis:
        return None
    f = system.f.xreplace(point)
    with mpmath.workdps(WORK):
        pvals = [_to_mpf(point[p]) for p in system.params]

    def fn(xs):
        try:
            v = system.compiled_f(*xs, *pvals)
        except Exception:  # noqa: BLE001 -- a guide only: the exact value decides
            return None
        return v if isinstance(v, mpmath.mpf) and mpmath.isfinite(v) else None

    def inside(k, value) -> bool:
        try:
            return _inside(claim, system.variables[k], value, strict=True)
        except ValueError:
            return False

    def exact(trial):
        for v, t in zip(system.variables, trial):
            dom = claim.domain.get(v) or assumption_of(claim.derivation, v)
            if not in_domain(dom, t):
                return None
        base = number(f.xreplace(dict(zip(system.variables, x0))), DIGITS)
        got = number(f.xreplace(dict(zip(system.variables, trial))), DIGITS)
        if base is None or got is None:
            return None
        with mpmath.workdps(SCREEN_DIGITS):
            return (got, base) if got > base + TOLERANCE * max(1, abs(base)) else None

    with mpmath.workdps(WORK):
        found = far_better_point(fn, x0, basis, inside, exact, rng)
    return None if found is None else (*found, subs)


SINGULAR = "second-order test inconclusive"

#: pure results by claim content (see memo.py): a point that held, the symbolic
#: phase's outcome, the local proof; claims that say the same thing (45.x and 47.x)
#: share them in one worker
_POINTS = Memo(512)
_PROOFS = Memo(16)
_LOCAL = Memo(16)


def _better_point(claim, system: System, full: dict):
    """A feasible point with a larger f (see symderive/check/maxima.py), all numbers."""
    f = system.f.xreplace({k: v for k, v in full.items() if k not in system.variables})
    near = _Trials(system, full)

    def admissible(var, value) -> bool:
        dom = claim.domain.get(var) or assumption_of(claim.derivation, var)
        return near.inside(dom, var, value)

    point = {v: full[v] for v in system.variables}
    params = {k: v for k, v in full.items() if k not in system.variables}
    return better_point(f, system.variables, [g.xreplace(params) for g in system.constraints],
                        point, admissible, lambda e: number(e, DIGITS),
                        random.Random(len(system.variables)), TOLERANCE,
                        screen=near.screen, affine=system.affine,
                        jacobian=system.jacobian.xreplace(params),
                        kinks=[(n, dist.xreplace(params), i, g) for n, dist, i, g in system.kinks])


_BOUND = 10 ** 6


class _Trials:
    """Trial points of the better-point search, numerically: a trial differs from the
    claimed point by a rational step, so the claimed point is evaluated once (at 70
    digits) and each trial costs one addition.  Used to screen f (see
    :func:`symderive.check.maxima.better_point`) and to decide domain membership where
    a bracket a relative 10^-50 wide is decisive; anything else goes to the exact
    tests."""

    def __init__(self, system: System, full: dict):
        self.system, self.full = system, full
        with mpmath.workdps(WORK):
            try:
                self.at = {v: _to_mpf(full[v]) for v in system.variables}
                self.params = [_to_mpf(full[p]) for p in system.params]
            except (TypeError, ValueError, ZeroDivisionError, AttributeError):
                self.at = None

    def approx(self, var, value):
        """``value`` (a trial's entry for ``var``) as an mpf within 10^-60 of it, or
        None (the point's entry and the step are at most 10^6 in size, each known to 70
        digits)."""
        if self.at is None:
            return None
        step = value - self.full[var]
        if not step.is_Rational or abs(step) > _BOUND or abs(self.at[var]) > _BOUND:
            return None
        with mpmath.workdps(WORK):
            return self.at[var] + _to_mpf(step)

    def shifted(self, var, step: Fraction):
        """:meth:`approx` of the claimed entry moved by the rational ``step``."""
        if abs(step) > _BOUND or abs(self.at[var]) > _BOUND:
            return None
        return self.at[var] + mpmath.mpf(step.numerator) / step.denominator

    def inside(self, dom, var, value) -> bool:
        if not value.is_Rational and isinstance(dom, CONVEX):
            mid = self.approx(var, value)
            if mid is not None:
                got = bracketed(dom, sp.Rational(sp.Float(mid, WORK)), WORK - 20)
                if got is not None:
                    return got
        return in_domain(dom, value)

    def screen(self, trial: dict):
        """f at ``trial`` from the compiled f at 70 digits; None wherever that fails."""
        fn = self.system.compiled_f
        if fn is None or self.at is None:
            return None
        moves = getattr(trial, "moves", None)  # exact offsets (maxima.Moved)
        with mpmath.workdps(WORK):
            try:
                xs = [self.approx(v, trial[v]) if moves is None else self.shifted(v, moves[v])
                      for v in self.system.variables]
                if any(x is None for x in xs):
                    return None
                got = fn(*xs, *self.params)
            except Exception:  # noqa: BLE001 -- only a screen: the exact test decides
                return None
            return got if isinstance(got, mpmath.mpf) and mpmath.isfinite(got) else None


def _to_mpf(x) -> mpmath.mpf:
    """An exact SymPy number as an mpf at the working precision (ValueError if it is
    not real)."""
    x = sp.sympify(x)
    if x.is_Rational:
        return mpmath.mpf(int(x.p)) / int(x.q)
    v = sp.N(x, mpmath.mp.dps)
    if not v.is_Float:
        raise ValueError(f"not a real number: {x}")
    return mpmath.mpf(v._mpf_)


def _vanishes(e: sp.Expr) -> bool:
    """Whether a stationarity condition holds at a sampled point: exactly after cheap
    rewrites (see :func:`_exactly_zero`), or else at 50 digits relative to the size of
    its terms (``evalf`` raises its precision through cancellation), the tolerance of
    every sampled comparison.  This is the sampling phase, whose verdict is at most
    ``verified``; no ``simplify`` here: on sums of logs of algebraic numbers (a sampled
    rational beta makes x**beta irrational) it asks SymPy's sign assumptions, which
    compute minimal polynomials and run for minutes.  An exact test failing to reach 0
    proves nothing (at a large parameter, log(e^937/(e^937 + e^3)) + ...), so it never
    refutes."""
    if not e.has(sp.Integral) and _exactly_zero(e):
        return True
    value = to_mp(e)
    if not valid(value):
        raise ValueError(f"cannot evaluate {e}")  # the point is skipped, not refuted
    scale = max([1, *(abs(to_mp(t)) for t in sp.Add.make_args(e))])
    return bool(valid(scale) and abs(value) <= TOLERANCE * scale)


def _condition_holds(kind: str, v: sp.Expr) -> bool:
    """A domain condition of a structured unknown's claimed value (see
    :func:`.unknowns.matrix_point`) at a sampled point: decided exactly for a rational
    value, else at 50 digits; a value too close to 0 to tell raises ValueError (the
    point is skipped, never refuted)."""
    if kind == "zero":
        return _vanishes(v)
    if v.is_Rational:
        return bool(v > 0) if kind == "positive" else v != 0
    x = to_mp(v)
    if not valid(x) or abs(x) <= TOLERANCE:
        raise ValueError(f"cannot tell the sign of {v}")
    return x > 0 if kind == "positive" else True


def _condition_shown(kind: str, e: sp.Expr) -> bool:
    """The same condition for all parameters, shown from the domains' assumptions."""
    if kind == "zero":
        return _identically_zero(e)
    return _sign_ok(e, False) if kind == "positive" else nonvanishing(e)


def _identically_zero(e: sp.Expr) -> bool:
    """Zero for all parameters: the cheap exact rewrites first (a common denominator, logs
    of positive factors split: both sound for every value), ``simplify`` only if they do
    not reach 0 (it costs 0.3 s on an annealed E-step's conditions, which the rewrites
    settle at once)."""
    return (not e.has(sp.Integral) and _exactly_zero(e)) or is_zero(e) is True


def _exactly_zero(e: sp.Expr) -> bool:
    """Zero after exact rewrites: one common denominator, logs of positive factors
    split."""
    if e == 0:
        return True
    for rewrite in (lambda x: x, lambda x: sp.expand_log(x, deep=True)):
        num = sp.fraction(sp.together(rewrite(e)))[0]
        if sp.expand(num) == 0:
            return True
    return False


def _domain_for(claim, var):
    d = claim.derivation
    a = assumption_of(d, var)
    return a if a.describe() != "real" else None


def _numeric_phase(claim, systems: list[tuple[System, int]], rng,
                   seed: int | None = None) -> Outcome:
    points = 0
    seed = claim_seed(seed)
    singular = None
    kinked, on = 0, None  # points skipped because the claimed point is on a kink there
    for k, (system, wanted) in enumerate(systems):
        sampled = [s.sizes for s, _ in systems[:k + 1]]
        params = system.params
        sampler = Sampler(claim.derivation, params, system.sizes, rng)
        good = regular = 0
        # the special points first (a vanishing parameter; the ends of the domains, where
        # a saddle may hide), at the first size only
        firsts = sampler.special_points() if params and k == 0 else []
        for n in range(len(firsts) + (tries(wanted) if params else 1)):
            point = firsts[n] if n < len(firsts) else distinct_draw(sampler)
            try:
                bad = _POINTS.get(
                    (content_key(claim), sizes_key(system.sizes), point_key(point)),
                    lambda s=system, p=point: _numeric_check(claim, s, p),
                    remember=(ZeroDivisionError, ValueError, TypeError),
                    keep=lambda got: got is None)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if bad is not None and bad.method == SINGULAR:
                singular = singular or bad
            elif bad is not None and bad.method == KINK:
                kinked, on = kinked + 1, on or bad
                continue
            elif bad is not None and bad.verdict == Verdict.UNDECIDED:
                continue
            elif bad is not None:
                bad.evidence = Evidence(bad.method, sampled_sizes=sampled, points=points + good,
                                        seed=seed)
                return bad
            good += 1
            regular += n >= len(firsts)
            if regular >= wanted:
                break
        if good == 0 and on is not None:
            better = ", and no better feasible point was found" \
                if claim.maximum and not claim.local else ""
            return Outcome(Verdict.UNDECIDED, KINK,
                           f"{on.message} at every point tried at "
                           f"{sizes_text(system.sizes)}: f has no derivative there to test"
                           f"{better}",
                           evidence=Evidence(KINK, sampled_sizes=sampled, points=points,
                                             seed=seed))
        if good == 0:
            return Outcome(Verdict.UNDECIDED, "sampling",
                           f"no admissible point found at {sizes_text(system.sizes)}",
                           evidence=Evidence("sampling", sampled_sizes=sampled, points=points,
                                             seed=seed))
        points += good
    sizes = [s.sizes for s, _ in systems]
    if singular is not None:
        singular.evidence = Evidence(singular.method, sampled_sizes=sizes, points=points,
                                     seed=seed)
        return singular
    text = "; ".join(sizes_text(s) for s in sizes)
    method = f"Lagrange conditions at {points} points"
    skipped = f"; {kinked} point(s) skipped where the claimed point lies on a kink of f " \
        "(no derivative there)" if kinked else ""
    return Outcome(Verdict.VERIFIED, method,
                   f"a {_what(claim)} at {points} random parameter points ({text}), "
                   f"exact arithmetic{skipped}",
                   evidence=Evidence("Lagrange conditions", sampled_sizes=sizes, points=points,
                                     seed=seed), skipped=kinked)


def _symbolic_phase(claim, systems: list[System]) -> Outcome | None:
    """Prove, for symbolic parameters, that the point satisfies the constraints and the
    Lagrange conditions (multipliers solved for), and the second-order condition."""
    for system in systems:
        subs = dict(system.point)
        if not _point_admissible(claim, system):
            return None
        if not off_kinks(system.kinks, subs, nonvanishing):
            return None  # diff's value there may be no derivative (kinks.py)
        if not all(_condition_shown(kind, e) for kind, _, e in system.structure):
            return None
        for g in system.constraints:
            if not _identically_zero(g.xreplace(subs)):
                return None
        lam = _solve_multipliers(system, subs)
        # a multiplier with a denominator that may vanish (a parameter) exists only
        # where it does not: not a proof for all parameters
        if lam is None or not all(nonvanishing(sp.fraction(sp.together(v))[1])
                                  for v in lam.values()):
            return None
        full = {**subs, **lam}
        for g in system.gradient:
            if not _identically_zero(g.xreplace(full)):
                return None
        if claim.maximum and claim.local and not _second_order(system, full):
            return None
        if claim.maximum and not claim.local and not concave_everywhere(
                system.f, system.variables, system.constraints,
                [claim.domain.get(v) or assumption_of(claim.derivation, v)
                 for v in system.variables]):
            return None
    text = "; ".join(sizes_text(s.sizes) for s in systems)
    return Outcome(Verdict.PROVED, "symbolic (Lagrange conditions)",
                   f"{_proof_what(claim)} for all admissible parameters at {text}")


def _what(claim) -> str:
    if not claim.maximum:
        return "stationary point"
    return "local maximiser" if claim.local else "maximiser (local test; no better " \
        "feasible point found)"


def _proof_what(claim) -> str:
    if not claim.maximum:
        return "a stationary point"
    if claim.local:
        return "a local maximiser (second-order test: the Hessian of the Lagrangian is " \
            "negative definite on the tangent space)"
    return "the global maximiser (f is concave on the convex feasible set, and the point " \
        "satisfies the Lagrange conditions)"


def _second_order(system: System, full: dict) -> bool:
    """Negative definiteness of the Hessian of the Lagrangian on the tangent space, for
    all parameters: a strict local maximum (sufficient, not necessary)."""
    H = system.hessian.xreplace(full)
    if H.is_diagonal() and all(_negative(h) for h in H.diagonal()):
        return True  # negative definite everywhere, so on the tangent space too
    M = _tangent_hessian(system, full)
    if M.shape[0] > 4:
        return False  # leading minors of a large symbolic matrix: not affordable
    for k in range(1, M.shape[0] + 1):
        minor = sp.factor(sp.simplify(M[:k, :k].det() * (-1) ** k))
        if minor.is_positive is not True:
            return False
    return True


def _point_admissible(claim, system: System) -> bool:
    """The claimed point lies in the declared domains for all parameters."""
    for var, value in system.point.items():
        dom = claim.domain.get(var) or _domain_for(claim, var)
        if dom is None:
            if sp.sympify(value).is_real is not True:
                return False
            continue
        if isinstance(dom, Interval):
            lo = sp.Rational(dom.lo.numerator, dom.lo.denominator)
            hi = sp.Rational(dom.hi.numerator, dom.hi.denominator)
            ok = (_sign_ok(value - lo, dom.closed) and _sign_ok(hi - value, dom.closed))
        elif isinstance(dom, (Positive, Simplex)):
            ok = _sign_ok(value, False)
        else:
            try:
                ok = dom.contains(value)
            except TypeError:  # a symbolic comparison SymPy cannot decide
                ok = False
        if not ok:
            return False
    return True


def _sign_ok(e: sp.Expr, closed: bool) -> bool:
    test = (lambda x: x.is_nonnegative) if closed else (lambda x: x.is_positive)
    if test(e):  # as written (a ratio of sums of positive terms): no factoring needed
        return True
    t = sp.factor(sp.together(e))
    if test(t):
        return True
    num, den = sp.fraction(t)
    return bool(test(num) and den.is_positive)


def _local_proof(claim, system: System) -> bool:
    subs = dict(system.point)
    if not off_kinks(system.kinks, subs, nonvanishing):
        return False
    lam = _solve_multipliers(system, subs)
    if lam is None:
        return False
    full = {**subs, **lam}
    return all(_identically_zero(g.xreplace(full))
               for g in system.gradient) and _second_order(system, full)


def _negative(h: sp.Expr) -> bool:
    if h.has(sp.Integral):
        h = h.doit()
    if h.is_negative:
        return True
    return sp.factor(sp.together(h)).is_negative is True


_BETTER = re.compile(r"f = (\S+) at (.*), greater than f = (\S+) at the claimed point")


def _as_minimum(outcome: Outcome) -> Outcome:
    """The words of a maximiser check of -f, said of the minimiser of f it stands for (the
    values of a better point are those of f again)."""
    def said_of_f(text: str) -> str:
        for old, new in (("not a maximum", "not a minimum"), ("maximiser", "minimiser"),
                         ("larger inside", "smaller inside"),
                         ("eigenvalue", "eigenvalue (of the negated Hessian)"),
                         ("concave", "convex"), ("negative definite", "positive definite")):
            text = text.replace(old, new)
        return _BETTER.sub(lambda m: f"f = {_negated(m[1])} at {m[2]}, smaller than "
                                     f"f = {_negated(m[3])} at the claimed point", text)

    outcome.message = said_of_f(outcome.message or "") or None
    outcome.method = outcome.method.replace("global maximum", "global minimum")
    if outcome.evidence is not None:
        outcome.evidence.method = outcome.evidence.method.replace("global maximum",
                                                                  "global minimum")
    if outcome.counterexample and "message" in outcome.counterexample:
        outcome.counterexample["message"] = said_of_f(outcome.counterexample["message"])
    return outcome


def _negated(value: str) -> str:
    if value.lstrip("-").strip("0.") == "":  # a zero (0, 0.0): no "-0"
        return value.lstrip("-")
    return value[1:] if value.startswith("-") else f"-{value}"


def check_stationary(claim: StationaryClaim, emit: Emit, seed: int | None = None) -> Outcome:
    """Check a stationary, maximiser or minimiser claim.  The Lagrange conditions are
    solved exactly at each sampled point, so the sizes stay at the derivation's declared
    ones; a proof at those sizes is ``verified`` with its sizes (see
    :func:`.scope.at_sizes`, applied by the caller) unless the claim has no dimensions."""
    # a minimiser of f is a maximiser of -f: same point, same Hessian test, and global
    # vs local alike (global only by convexity of f on a convex feasible set, refuted by
    # a feasible point with a smaller f)
    if claim.minimum:
        negated = replace(claim, f=-claim.f, maximum=True, minimum=False)
        return _as_minimum(check_stationary(
            negated, lambda kind, outcome: emit(kind, _as_minimum(outcome)), seed))
    d = claim.derivation
    rng = claim_rng(seed)
    sym_cfgs, _ = d.size_configs(claim)
    wanted = POINTS_SCALAR if sym_cfgs == [{}] else POINTS_SYMBOLIC
    try:
        systems = [build_system(claim, s) for s in sym_cfgs]
        num_systems = [build_system(claim, s) for s in numeric_configs(d, claim, rng)]
    except OperandShapeError as exc:
        return operand_refutation(claim, exc)
    except ShapeMismatch as exc:
        return shape_refutation(exc)
    except (InstantiationError, TypeError, ValueError, KeyError) as exc:
        return Outcome(Verdict.ERROR, "build", f"{type(exc).__name__}: {exc}")
    outcome = _numeric_phase(claim, [(s, wanted) for s in systems]
                             + [(s, POINTS_NUMERIC) for s in num_systems], rng, seed)
    if outcome.verdict != Verdict.VERIFIED and outcome.method != SINGULAR:
        return outcome
    bad, large, count, note = larger_sizes(claim, sym_cfgs, rng)
    if bad is not None:
        bad.evidence = Evidence(bad.method, sampled_sizes=outcome.evidence.sampled_sizes
                                + large, points=outcome.evidence.points + count,
                                seed=claim_seed(seed))
        return bad
    if note:
        outcome.message += f"; {note}"
        outcome.evidence.sampled_sizes += large
        outcome.evidence.points += count
    emit("numeric", outcome)
    key = (content_key(claim), tuple(sizes_key(s.sizes) for s in systems))
    proof = copy.deepcopy(_PROOFS.get(key, lambda: _symbolic_phase(claim, systems)))
    if proof is None and claim.maximum and not claim.local \
            and outcome.verdict == Verdict.VERIFIED:
        bad = _far_refutation(claim, systems[0], seed)
        if bad is not None:
            ev = outcome.evidence
            bad.evidence = Evidence(bad.method, sampled_sizes=ev.sampled_sizes,
                                    points=ev.points, seed=ev.seed)
            return bad
    if proof is None:
        if claim.maximum and not claim.local and outcome.verdict == Verdict.VERIFIED and all(
                _LOCAL.get((content_key(claim), sizes_key(s.sizes)),
                           lambda s=s: _local_proof(claim, s)) for s in systems):
            outcome.message += ("; proved a local maximiser (second-order test), but no "
                                "global argument (concavity) was found")
        else:
            outcome.message += "; no symbolic proof found"
        return outcome
    proof.message = f"{proof.message}; also {outcome.message}"
    ev = outcome.evidence
    proof.evidence = Evidence(proof.method, proved_sizes=[s.sizes for s in systems],
                              sampled_sizes=ev.sampled_sizes, points=ev.points,
                              digits=ev.digits, seed=ev.seed)
    return proof
