"""Local against global maxima: the arguments a stationary-point check may use.

* **Multipliers** come from a *linear* solve: at a fixed point the Lagrange conditions
  ``grad f = J^T lambda`` are linear in lambda, so existence of multipliers is decided
  exactly (Gaussian elimination), with no appeal to a nonlinear ``solve`` finding every
  solution.
* **Global** maximum: concavity on a convex feasible set.  The constraints must be affine
  (the feasible set is then an affine subspace cut by the declared domains, which are
  intervals, half-lines or the line: convex), ``f`` must be finite on the open feasible set
  and its Hessian negative semidefinite there (checked as: diagonal, each entry provably
  <= 0; f must contain no function whose SymPy derivative drops a jump, a Piecewise
  say, see kinks.py).  Then for any feasible y, ``f(y) <= f(x) + grad f(x).(y - x) = f(x) +
  lambda^T J (y - x) = f(x)``.
* **Refutation** of a global claim: a feasible point with a larger value of ``f``, found by
  stepping from the claimed point along the constraints' tangent space.
"""

from __future__ import annotations

import functools
import random
from fractions import Fraction

import mpmath
import sympy as sp

from ..assumptions import Interval, Positive, Real, Simplex
from ..numeric import quad_integrals, to_mp, valid
from .kinks import crossing_trials, has_jumps

__all__ = ["linear_multipliers", "concave_everywhere", "better_point", "nonvanishing",
           "in_domain", "bracketed", "tangent_basis", "STEPS", "CONVEX"]

#: domains that are intervals of the line (possibly a point added, as the simplex's 1):
#: membership of a number is decided by two rationals bracketing it
CONVEX = (Interval, Positive, Real, Simplex)


#: steps tried from a claimed maximiser along the tangent space (times its size, at the
#: larger sizes): near ones for a neighbouring better point, far ones for another hill
STEPS = tuple(sp.Rational(a) * sign for a in ("1/1000", "1/100", "1/10", "1/2", "1", "2",
                                              "3", "10") for sign in (1, -1))


def bracketed(domain, mid: sp.Rational, digits: int) -> bool | None:
    """Whether a number within a relative 10^-digits of ``mid`` lies in the interval-like
    ``domain``: True or False when both ends of that bracket agree, None when it straddles
    a boundary."""
    eps = sp.Rational(1, 10 ** digits) * max(1, abs(mid))
    lo, hi = bool(domain.contains(mid - eps)), bool(domain.contains(mid + eps))
    return lo if lo == hi else None


def in_domain(domain, value: sp.Expr, digits: int = 50) -> bool:
    """Whether the number ``value`` lies in ``domain``, without asking SymPy to compare an
    algebraic number exactly (``(937/7)**(3/5) < 1`` computes a minimal polynomial and
    can run for minutes).  A rational goes to the domain itself.  Otherwise the value is
    evaluated (``evalf`` tracks its error) and bracketed by two rationals a relative
    10^-(p - 10) apart, at p = ``digits`` digits and then more (a responsibility at a
    large inverse temperature is 1 - 10^-300): when the domain is an interval and both
    ends are inside, so is the value, and when both are outside, so is the value (the
    bracket is far narrower than any declared interval).  Only a value within the
    bracket of a boundary at every precision is compared exactly."""
    value = sp.sympify(value)
    if value.is_Rational or not isinstance(domain, CONVEX) or not value.is_number:
        return bool(domain.contains(value))
    for p in (digits, 4 * digits, 20 * digits):
        v = sp.N(value, p)
        if not v.is_Float:  # complex, infinite or not evaluable: the exact test decides
            break
        got = bracketed(domain, sp.Rational(v), p - 10)
        if got is not None:
            return got
    return bool(domain.contains(value))


def linear_multipliers(grads: list, multipliers: list,
                       coefficients: sp.Matrix | None = None) -> dict | None:
    """Multipliers solving the linear equations ``grads == 0``, or None if inconsistent.
    Free multipliers (dependent constraints) are set to 0.

    When the coefficients of the multipliers are numbers (affine constraints), only they
    are eliminated: the multipliers come from a square, invertible set of the equations,
    and the other equations are left for the caller, who checks every equation at the
    multipliers anyway.  Elimination on the augmented system would ask whether
    expressions in logs of algebraic numbers are zero (a minimal polynomial each, minutes
    at a large parameter).

    ``coefficients``, when the caller knows them (the constraints' Jacobian, negated and
    transposed, at the point), spare extracting them from every equation: if they are
    rational, the right-hand sides are the equations at multipliers 0."""
    if not multipliers:
        return {} if all(sp.simplify(g) == 0 for g in grads) else None
    if coefficients is not None and all(x.is_Rational for x in coefficients):
        zero = {lam: 0 for lam in multipliers}
        return _square_solve(coefficients, sp.Matrix([-g.xreplace(zero) for g in grads]),
                             multipliers)
    A, b = sp.linear_eq_to_matrix([sp.together(g) for g in grads], multipliers)
    if not A.free_symbols and all(x.is_Rational for x in A):
        return _square_solve(A, b, multipliers)
    try:
        sol, params = A.gauss_jordan_solve(b)
    except ValueError:  # inconsistent: no multipliers exist
        return None
    sol = sol.xreplace({p: 0 for p in params})
    return {lam: sp.together(v) for lam, v in zip(multipliers, sol)}


def _square_solve(A: sp.Matrix, b: sp.Matrix, multipliers: list) -> dict:
    """The solution of ``A x = b`` (A rational) with the free unknowns at 0, from rows of
    A that are independent on its pivot columns; it solves the whole system exactly when
    the system is consistent (the caller checks that)."""
    cols, rows = _independent(sp.ImmutableMatrix(A))
    x = A[rows, cols].LUsolve(b[rows, :]) if cols else sp.zeros(0, 1)
    out = {lam: sp.S.Zero for lam in multipliers}
    for k, c in enumerate(cols):
        out[multipliers[c]] = sp.together(x[k])
    return out


@functools.lru_cache(maxsize=16)
def _independent(A: sp.ImmutableMatrix) -> tuple[list, list]:
    """A's pivot columns and rows independent on them (the same constraints at every
    sampled point: computed once)."""
    cols = list(A.rref()[1])
    return cols, list(A[:, cols].T.rref()[1])


def tangent_basis(J: sp.Matrix) -> list:
    """``J.nullspace()``: a basis of the constraints' tangent space.  A rational J (affine
    constraints with constant coefficients: the same at every sampled point) is reduced
    once; the basis is handed out as fresh matrices."""
    if not all(x.is_Rational for x in J):
        return J.nullspace()
    return [sp.Matrix(z) for z in _rational_nullspace(sp.ImmutableMatrix(J))]


@functools.lru_cache(maxsize=16)
def _rational_nullspace(J: sp.ImmutableMatrix) -> tuple:
    return tuple(sp.ImmutableMatrix(z) for z in J.nullspace())


def nonvanishing(e: sp.Expr) -> bool:
    """Whether the domains' assumptions show ``e`` nonzero (each factor of a sign)."""
    e = sp.factor(sp.together(e))
    num, den = sp.fraction(e)
    for f in sp.Mul.make_args(num) + sp.Mul.make_args(den):
        base = f.base if f.is_Pow and f.exp.is_Integer else f
        if base.is_number:
            if base == 0:
                return False
            continue
        if not (base.is_positive or base.is_negative):
            return False
    return True


def _interior(domain, var) -> tuple[sp.Expr, sp.Symbol | None]:
    """``var`` written through a positive symbol s so that it sweeps the open domain:
    lo + (hi - lo) s/(1 + s) for an interval; itself otherwise (a real or positive
    symbol already carries its assumption)."""
    if isinstance(domain, Interval):
        s = sp.Dummy("s", positive=True)
        lo, hi = (sp.Rational(Fraction(v).numerator, Fraction(v).denominator)
                  for v in (domain.lo, domain.hi))
        return lo + (hi - lo) * s / (1 + s), s
    return var, None


def _convex_domain(domain) -> bool:
    return isinstance(domain, (Interval, Positive, Real, Simplex))


def _nonpositive(h: sp.Expr) -> bool:
    if h.is_nonpositive:
        return True
    if isinstance(h, sp.Integral):
        return _integral_nonpositive(h)
    t = sp.factor(sp.together(h))
    if t.is_nonpositive:
        return True
    num, den = sp.fraction(t)
    return bool((num.is_nonpositive and den.is_positive)
                or (num.is_nonnegative and den.is_negative))


def _integral_nonpositive(h: sp.Integral) -> bool:
    """An integral over an increasing range of an integrand <= 0 is <= 0."""
    if len(h.limits) != 1 or len(h.limits[0]) != 3:
        return False
    x, lo, hi = h.limits[0]
    if not (lo.is_number and hi.is_number and (hi - lo).is_nonnegative):
        return False
    if lo.is_finite and hi.is_finite:
        s = sp.Dummy("s", positive=True)
        inner = h.function.xreplace({x: lo + (hi - lo) * s / (1 + s)})
    elif lo == 0 and hi is sp.oo:
        s = sp.Dummy("s", positive=True)
        inner = h.function.xreplace({x: s})
    elif lo is -sp.oo and hi is sp.oo:
        inner = h.function.xreplace({x: sp.Dummy("s", real=True)})
    else:
        return False
    return _nonpositive(inner)


def concave_everywhere(f: sp.Expr, variables: list, constraints: list, domains: list) -> bool:
    """The global argument (see the module doc): affine constraints, convex domains, f
    finite on the open feasible set and its Hessian diagonal with entries <= 0 there."""
    if not all(_convex_domain(dm) for dm in domains):
        return False
    if has_jumps(f, variables):  # its Hessian would miss the jumps (see kinks.py)
        return False
    for g in constraints:
        for a in variables:
            for b in variables:
                if not _zero(sp.diff(g, a, b)):
                    return False  # a curved constraint: the feasible set may not be convex
    sub = {}
    for v, dm in zip(variables, domains):
        expr, _ = _interior(dm, v)
        if expr is not v:
            sub[v] = expr
    H = sp.hessian(f, variables)
    for a in range(len(variables)):
        for b in range(len(variables)):
            if a != b and not _zero(H[a, b]):
                return False
    if not _finite(f.xreplace(sub)):
        return False
    return all(_nonpositive_entry(H[a, a].xreplace(sub)) for a in range(len(variables)))


def _zero(e: sp.Expr) -> bool:
    """``simplify(e) == 0``, without simplify for an entry that is 0 as built."""
    return e == 0 or sp.simplify(e) == 0


def _nonpositive_entry(h: sp.Expr) -> bool:
    """h <= 0 shown from h as it is (a sum of negative fractions, typically), or else
    from its simplified form: each a sufficient test of the same value."""
    return _nonpositive(h) or _nonpositive(sp.simplify(h))


def _finite(f: sp.Expr) -> bool:
    if f.is_finite:
        return True
    if isinstance(f, sp.Integral) or f.has(sp.Integral):
        return False
    return all(_finite(a) for a in sp.Add.make_args(sp.expand(f))) if f.is_Add else \
        bool(f.is_Mul and all(a.is_finite for a in f.args))


def better_point(f: sp.Expr, variables: list, constraints: list, point: dict,
                 admissible, value, rng: random.Random, tolerance,
                 screen=None, affine: bool = False,
                 jacobian: sp.Matrix | None = None, kinks: list | None = None
                 ) -> tuple | None:
    """A feasible point where ``f`` is larger than at ``point`` (all numbers), found by
    steps along the tangent space of affine constraints; None when none is found or the
    constraints are curved (a step would leave the feasible set).

    ``screen(trial)``, when given, is a cheap estimate of f at a trial point (a compiled
    function at many more digits than the tolerance, or None): a trial it puts clearly
    below the claimed point's value (by :data:`SCREEN_MARGIN` relative, far beyond its
    rounding) cannot be better and is not evaluated exactly; every other trial is, so a
    better point is only ever reported from ``value``.

    A caller that has shown the constraints affine for every parameter value says so
    (``affine``) and may pass their Jacobian (``jacobian``): both are then not
    recomputed at every sampled point.

    ``kinks`` (kinks.py, the parameters put in) adds trials either side of each place
    where f changes branch along a direction, and between them
    (:func:`~symderive.check.kinks.crossing_trials`)."""
    if f.has(sp.Integral):
        return None  # a functional: each value is a quadrature, beyond the time budget
    for g in [] if affine else constraints:
        if any(sp.diff(g, a, b) != 0 for a in variables for b in variables):
            return None
    if constraints:
        J = jacobian if jacobian is not None else \
            sp.Matrix([[sp.diff(g, v) for v in variables] for g in constraints])
        Z = tangent_basis(J.xreplace(point))
    else:
        Z = [sp.eye(len(variables))[:, k] for k in range(len(variables))]
    if not Z:
        return None
    base = value(f.xreplace(point))
    if base is None:
        return None
    if screen is not None:  # trusted only where it reproduces the exact value
        at = screen(point)
        with mpmath.workdps(SCREEN_DIGITS):
            if at is None or abs(at - base) > SCREEN_CHECK * max(1, abs(base)):
                screen = None
    exact = _fractions(Z)
    for step in STEPS:
        weights = [sp.Rational(rng.randint(-3, 3)) for _ in Z] if len(Z) > 1 else [1]
        if all(w == 0 for w in weights):
            weights[0] = sp.Integer(1)
        if exact is not None:  # the same trial, its SymPy entries made only if needed
            trial = Moved(point, variables, _moves(exact, weights, step))
        else:
            direction = sum((w * z for w, z in zip(weights, Z)),
                            sp.zeros(len(variables), 1))
            trial = {v: point[v] + step * direction[k] for k, v in enumerate(variables)}
        if screen is not None:  # first: a trial it skips is skipped, admissible or not
            guess = screen(trial)
            with mpmath.workdps(SCREEN_DIGITS):
                if guess is not None and guess < base - SCREEN_MARGIN * max(1, abs(base)):
                    continue
        trial = {v: trial[v] for v in variables}
        if not all(admissible(v, trial[v]) for v in variables):
            continue
        got = value(f.xreplace(trial))
        with mpmath.workdps(SCREEN_DIGITS):  # at 15 digits the tolerance would round away
            if got is not None and got > base + tolerance * max(1, abs(base)):
                return trial, got, base
    for trial in crossing_trials(kinks, point, [list(z) for z in Z]) if kinks else []:
        if not all(admissible(v, trial[v]) for v in variables):
            continue
        got = value(f.xreplace(trial))
        with mpmath.workdps(SCREEN_DIGITS):
            if got is not None and got > base + tolerance * max(1, abs(base)):
                return trial, got, base
    return None


class Moved:
    """A trial point ``point + moves`` whose SymPy entries are made only when asked for:
    a screen (see :func:`better_point`) reads ``moves``, the exact offsets from the
    claimed point (Fractions), and skips most trials without any SymPy arithmetic."""

    def __init__(self, point: dict, variables: list, moves: list):
        self.point = point
        self.moves = dict(zip(variables, moves))

    def __getitem__(self, v) -> sp.Expr:
        m = self.moves[v]
        return self.point[v] + sp.Rational(m.numerator, m.denominator)


def _fractions(Z: list) -> list | None:
    """The tangent basis as Fractions, or None unless every entry is rational."""
    if not all(x.is_Rational for z in Z for x in z):
        return None
    return [[Fraction(int(x.p), int(x.q)) for x in z] for z in Z]


def _moves(Z: list, weights: list, step: sp.Rational) -> list:
    """step * sum_j weights_j Z_j, exactly, entry by entry."""
    s = Fraction(int(step.p), int(step.q))
    ws = [int(w) for w in weights]
    return [s * sum(w * z[k] for w, z in zip(ws, Z)) for k in range(len(Z[0]))]


#: how far (relative) below the claimed value a screened trial must fall to be skipped.
#: The screen computes at 70 digits (error some 10^-60) and the values it is compared
#: with are exact to 50 digits (``number``); the margin stays far above both roundings,
#: so a skipped trial's value cannot exceed the claimed one
SCREEN_MARGIN = mpmath.mpf(10) ** -12
#: how close the screen must come to the value at the claimed point itself to be used
#: at all (a compiled f that cancels catastrophically there is not)
SCREEN_CHECK = mpmath.mpf(10) ** -13
#: the digits these two comparisons are made at (mpmath's default, 15, would round the
#: margins away)
SCREEN_DIGITS = 80


def number(e: sp.Expr, digits: int):
    """A real mpmath number for ``e`` at ``digits`` digits (not rounded to mpmath's
    default 15: a better point may be better by far less), or None when it is not a
    finite real."""
    e = quad_integrals(e)
    if e.has(sp.Integral):  # quadrature failed (say, a complex integrand): no value
        return None
    with mpmath.workdps(digits):
        v = to_mp(e)
    if not valid(v):
        return None
    return v.real if isinstance(v, mpmath.mpc) else v
