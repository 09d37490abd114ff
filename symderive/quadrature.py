"""Definite integrals at a numeric point, fast: the integrand compiled once, then mpmath.

Evaluating an integrand through the walker at every quadrature node costs a tree walk
per node, at 100 digits: a Gaussian integral over the real line then takes seconds per
point.  Here the integrand is made explicit once per claim and size (exact backend),
lambdified with mpmath, and integrated by tanh-sinh quadrature at ``QUAD_DIGITS``
digits (the values of the point are passed in as arguments).  An inner limit may depend
on an outer variable (``Integral(f, (y, 0, x), (x, 0, 1))``); integrals with a limit
depending on an inner variable, or under a held quantity, are left to the walker (None).
The inner levels of a nested integral are taken in closed form where SymPy finds one
cheaply (:mod:`symderive.closed_form`), checked at every point against the quadrature
of the level below (:func:`_spot_check`): a quadrature at every node of another costs
seconds per point.

A quadrature value may refute a claim only with an error estimate it can stand by
(:func:`reliable_quad`): the interval is split at the integrand's peak, found by a scan
(tanh-sinh over the real line misses a density of width 1e-2 at -1), the error estimate
must be far below the comparison's tolerance relative to the value, and a disagreement
is confirmed by a second estimate split elsewhere.  Otherwise the point is skipped and
counted (:class:`QuadratureLog`), never a counterexample.  Each integrand evaluation
counts as work (:func:`symderive.evaluate.work_limit`): an integral over an
n-dimensional domain (a product of n integrals) is sampled at the sizes whose points
stay within the work limit, the small ones, and the evidence says so.
"""

from __future__ import annotations

import math
import random
import weakref
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import NamedTuple

import mpmath
import sympy as sp

from .piecewise_level import params_of
from .slots import fresh

#: precision of the quadrature (digits), stated in the evidence of claims with integrals
QUAD_DIGITS = 45

_MODULE = {
    "Heaviside": lambda x, h0=None: mpmath.mpf(1) if x > 0 else (
        mpmath.mpf(0) if x < 0 else mpmath.nan),
    "Max": lambda *a: max(a),
    "Min": lambda *a: min(a),
}
#: per derivation (weakly: an id could be reused by another one), compiled integrands
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _leaves(exprs, bound) -> list:
    bound = set(bound)
    return [p for p in params_of(*exprs) if p not in bound]


def _key(leaf: sp.Basic) -> tuple:
    """The numeric backend's key of a leaf entry (``W1[2, 1]`` -> ``("W1", (2, 1))``)."""
    if isinstance(leaf, sp.Indexed):
        return (str(leaf.base.label), tuple(int(i) for i in leaf.indices))
    return (str(leaf), ())


@dataclass
class _Compiled:
    """One integral, compiled for a claim and size.  ``variables`` innermost first (SymPy's
    order); ``levels[0]`` is the integrand, ``levels[k]`` (k >= 1) SymPy's closed form of
    it integrated over the first k variables (:mod:`symderive.closed_form`), each taking
    ``(variables[k:], *leaves)``; ``ends[k]`` the limits of ``variables[k]``, taking
    ``(variables[k+1:], *leaves)`` (an inner limit may depend on an outer variable).  The
    quadrature starts from ``levels[reduced]``; ``costs[k]`` is the work of one
    evaluation of ``levels[k]``."""

    variables: list
    levels: list
    ends: list
    keys: list
    costs: list
    reduced: int
    #: the levels left to quadrature when their integrand is a product of factors in one
    #: variable each, over constant limits: (coefficient, [(factor, lo, hi, cost), ...]),
    #: all taking ``*leaves`` (the factor also its variable first); else None
    separate: tuple | None = None
    #: a level left to quadrature has an infinite range: no nested Gauss-Legendre
    infinite: bool = False
    #: for a single integral, the places where its integrand has a kink (:func:`_kinks`),
    #: each taking ``*leaves``: split there too (tanh-sinh across |t| at 0 gets 5 digits)
    kinks: list = field(default_factory=list)


def _flatten(e: sp.Integral) -> sp.Integral:
    """``Integral(c * Integral(g, x), y)`` as ``Integral(c * g, x, y)`` when ``c`` does not
    involve x (SymPy merges directly nested integrals only)."""
    coeff, inner = e.function.as_independent(sp.Integral, as_Add=False)
    if isinstance(inner, sp.Integral) and not coeff.free_symbols & set(inner.variables):
        return _flatten(sp.Integral(coeff * inner.function, *inner.limits, *e.limits))
    return e


def _compile(walker, e: sp.Integral, env: dict):
    from .closed_form import inner_closed_forms
    from .instantiate import Instantiator

    inst = Instantiator(walker.d, walker.sizes)
    e = _flatten(e)
    variables = [lim[0] for lim in e.limits]
    inner = {k: v for k, v in env.items() if k not in variables}
    # log(exp(u) / c) -> u - log c where the symbols' assumptions allow (SymPy checks):
    # a Gaussian's log-density becomes a polynomial, far cheaper at every node
    f = sp.expand_log(inst.scalar(e.function, inner, frozenset()))
    ends = [tuple(inst.scalar(x, inner, frozenset()) for x in lim[1:]) for lim in e.limits]
    for k, pair in enumerate(ends):
        if any(x.free_symbols & set(variables[:k + 1]) for x in pair):
            return None  # a limit depending on itself or an inner variable: the walker
    # a nested integral: its inner levels in closed form where SymPy finds one cheaply
    closed = inner_closed_forms(f, [(v, *pair) for v, pair in zip(variables, ends)],
                                quad=reliable_quad) if len(variables) > 1 else []
    levels = [f, *closed]
    if levels[-1].has(sp.Integral):
        return None  # an integral left inside the integrand: the walker integrates it
    leaves = _leaves([f, *(x for pair in ends for x in pair)], variables)

    def fn(expr, args):
        return sp.lambdify([*args, *leaves], expr, modules=[_MODULE, "mpmath"])

    rest = variables[len(closed):]
    parts = _separate(levels[-1], rest, ends[len(closed):])
    kinks = [fn(r, []) for r in _kinks(f, variables[0])] if len(variables) == 1 else []
    return _Compiled(
        variables=variables,
        levels=[fn(g, variables[k:]) for k, g in enumerate(levels)],
        ends=[tuple(fn(x, variables[k + 1:]) for x in pair) for k, pair in enumerate(ends)],
        keys=[_key(x) for x in leaves],
        costs=[_cost(g) for g in levels],
        reduced=len(levels) - 1,
        separate=None if parts is None else (
            fn(parts[0], []), [(fn(g, [v]), fn(lo, []), fn(hi, []), _cost(g))
                               for v, (g, lo, hi) in zip(rest, parts[1])]),
        kinks=kinks)


def _kinks(f: sp.Expr, v: sp.Symbol) -> list:
    """Where the integrand ``f`` has a kink in ``v`` (an argument of Abs, sign, Max ...
    or a side of a Piecewise condition crossing 0; see check/kinks.py), as expressions
    in the parameters: the roots of each such distance that is a polynomial of degree at
    most 2 in ``v``.  Only split points: a wrong or complex one costs a node, no more."""
    from .check.kinks import kinks

    out: list = []
    for _, d, integer, _ in kinks([f], [v]):
        if integer:
            continue
        try:
            poly = sp.Poly(d, v)
        except sp.PolificationFailed:
            continue
        if 1 <= poly.degree() <= 2:
            out.extend(r for r in sp.roots(poly, v) if not r.has(v))
    return list(dict.fromkeys(out))


def _cost(g: sp.Expr) -> int:
    """Work of one evaluation: as many steps as it has operations, as a walk over it
    would count (see evaluate.work_limit)."""
    return max(1, int(sp.count_ops(g)))


def _separate(g: sp.Expr, variables: list, ends: list):
    """(c, [(g_k, lo_k, hi_k), ...]) when ``g`` is ``c`` times a product of factors in one
    variable each, over limits free of the variables: the nested integral is then the
    product of one-dimensional ones (linearity, level by level: no interchange of the
    order), each with its own peak search and error bound.  None otherwise (or for a
    single level)."""
    if len(variables) < 2 or any(x.free_symbols & set(variables) for pair in ends
                                 for x in pair):
        return None
    groups: dict = {v: [] for v in variables}
    coeff = []
    for factor in sp.Mul.make_args(g):
        inside = factor.free_symbols & set(variables)
        if len(inside) > 1:
            return None
        (groups[inside.pop()] if inside else coeff).append(factor)
    return sp.Mul(*coeff), [(sp.Mul(*groups[v]), *pair) for v, pair in zip(variables, ends)]


def integral(walker, e: sp.Integral, env: dict, cuts: frozenset, scale: float = 1,
             tick=lambda steps: None):
    """The value of a definite integral at the walker's point, or None (use the walker);
    ``scale`` is the factor by which the working precision is raised (see
    :func:`quad_digits`; above 1, a disagreement is being confirmed, and each integral
    is computed twice, see :func:`reliable_quad`).  Raises :class:`QuadratureUnreliable`
    when the value comes without a reliable error estimate."""
    if cuts or any(len(lim) != 3 for lim in e.limits) \
            or any(not isinstance(v, int) for v in env.values()):
        return None
    key = (tuple(sorted(walker.sizes.items(), key=str)), e,
           tuple(sorted(env.items(), key=str)))
    cache = _COMPILED.setdefault(walker.d, {})
    if key not in cache:
        try:
            cache[key] = _compile(walker, e, env)
        except (ValueError, TypeError, NameError, KeyError, SyntaxError):
            cache[key] = None
    c = cache[key]
    if c is None:
        return None
    try:
        values = [walker.values[k] for k in c.keys]
    except KeyError:
        return None
    point = tuple(values)
    log = _LOG[0]
    memo = None if log is _OUTSIDE else (key, point, quad_digits(scale), scale > 1)
    if memo in log.memo and log.memo[memo][0] is c:
        return _replay(log, log.memo[memo], point, scale > 1, tick)
    steps, checks = [0], log.checks

    def counted(n: int) -> None:
        steps[0] += n
        tick(n)
    try:
        value = _integral(c, values, point, scale, counted)
    except QuadratureUnreliable as exc:
        _remember(log, memo, (c, None, str(exc), steps[0], log.checks - checks))
        raise
    _remember(log, memo, (c, value, None, steps[0], log.checks - checks))
    return value


def _remember(log: QuadratureLog, memo, entry: tuple) -> None:
    if memo is not None and len(log.memo) < MEMO_SIZE:
        log.memo[memo] = entry


def _replay(log: QuadratureLog, entry: tuple, point, confirm: bool, tick):
    """An integral already computed in this claim at this point and precision: its value
    (or its unreliability, counted again as the computation would), with the same work
    counted and the same closed-form checks, so that neither verdicts nor sampled sizes
    depend on the memo."""
    _, value, why, steps, checks = entry
    tick(steps)
    log.checks += checks
    if why is not None:
        raise _unreliable(point, confirm, why)
    return value


def _integral(c: _Compiled, values: list, point: tuple, scale: float, tick):
    """The compiled integral ``c`` at the point's ``values`` (see :func:`integral`)."""
    with mpmath.workdps(quad_digits(scale)):
        hints = [v for v in values if isinstance(v, (mpmath.mpf, int))]
        if c.reduced:
            _spot_check(c, values, hints, scale > 1, point)

        def rec(k: int, outer: tuple):
            # SymPy's order: the first limit is the innermost integral
            if k < c.reduced:
                tick(c.costs[c.reduced])  # counted work (load-independent), as the walker
                return c.levels[c.reduced](*outer, *values)
            lo, hi = (_end(x(*outer, *values)) for x in c.ends[k])
            return reliable_quad(lambda t: rec(k - 1, (t, *outer)), lo, hi, hints,
                                 confirm=scale > 1, point=point, cuts=_cuts(c, values))

        if c.separate:
            value = _product(c, values, hints, scale > 1, point, tick)
        elif len(c.variables) - c.reduced >= 2 and not c.infinite \
                and _LOG[0] is not _OUTSIDE:  # its widened tolerance needs a claim's log
            try:
                value = _nested(c, values, scale, point, tick)
            except _InfiniteRange:
                c.infinite = True  # the compiled transforms of reliable_quad instead
                value = rec(len(c.variables) - 1, ())
        else:
            value = rec(len(c.variables) - 1, ())
    return value if mpmath.isfinite(value) else None


class _PlainGaussLegendre(mpmath.calculus.quadrature.GaussLegendre):
    """Gauss-Legendre with the error estimated as the difference of the last two degrees.
    mpmath extrapolates it and caps it at 1 in absolute terms: a value of e^1733, wrong in
    its 4th digit, came with an estimate of 1.  Each degree doubles the nodes, so the
    difference is far above the error of the last degree once it converges."""

    def estimate_error(self, results, prec, epsilon):
        return abs(results[-1] - results[-2])


_RULE = _PlainGaussLegendre(mpmath.mp)  # one instance: its nodes are cached


def _gauss_legendre(ctx):
    return _RULE


class _InfiniteRange(Exception):
    """A level of a nested quadrature over an infinite range (left to reliable_quad)."""


def _nested(c: _Compiled, values: list, scale: float, point, tick):
    """A nested integral with 2+ levels left to quadrature and an integrand that does not
    separate, by Gauss-Legendre quadrature at every level at :data:`NESTED_DIGITS`
    digits (5 more per doubling of ``scale``, as :func:`quad_digits`): a reliable
    quadrature with a peak search at every node of another costs seconds per point.
    The error bound is carried up: a level's bound is its own estimate plus its length
    times the largest bound of the level below at its nodes.  A bound above
    :data:`NESTED_BOUND` (relative to max(1, |value|)) skips the point; otherwise the
    claim is compared to :data:`NESTED_TOLERANCE` (:func:`tolerance`), 1000 times the
    bound, and its evidence says so."""
    confirm = scale > 1

    def rec(k: int, outer: tuple):
        if k < c.reduced:
            tick(c.costs[c.reduced])
            return c.levels[c.reduced](*outer, *values), 0
        lo, hi = (_end(x(*outer, *values)) for x in c.ends[k])
        if not (mpmath.isfinite(lo) and mpmath.isfinite(hi)):
            raise _InfiniteRange
        if isinstance(lo, mpmath.mpc) or isinstance(hi, mpmath.mpc):
            raise _unreliable(point, confirm, "complex limits of integration")
        worst = [mpmath.mpf(0)]

        def inner(t):
            v, e = rec(k - 1, (t, *outer))
            worst[0] = max(worst[0], e)
            return v
        try:
            v, e = mpmath.quad(inner, [lo, hi], method=_gauss_legendre, error=True,
                               maxdegree=NESTED_DEGREE)
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            raise _unreliable(point, confirm, f"quadrature failed: {exc}") from exc
        return v, e + abs(hi - lo) * worst[0]

    digits = NESTED_DIGITS + 5 * max(0, round(math.log2(scale)))
    with mpmath.workdps(digits):
        value, err = rec(len(c.variables) - 1, ())
    size = max(1, abs(value)) if mpmath.isfinite(value) else mpmath.inf
    if not mpmath.isfinite(value) or not err <= NESTED_BOUND * size:
        raise _unreliable(point, confirm, f"nested error bound {mpmath.nstr(err, 3)}")
    log = _LOG[0]
    log.nested.add(", ".join(str(v).lstrip("_") for v in c.variables[c.reduced:]))
    log.nested_error = max(log.nested_error, err / size)
    return value


def _product(c: _Compiled, values: list, hints: list, confirm: bool, point, tick):
    """A separable nested integral (:func:`_separate`): the product of its
    one-dimensional integrals, each reliable on its own."""
    coeff, factors = c.separate
    value = coeff(*values)
    for g, lo, hi, cost in factors:
        def one(t, g=g, cost=cost):
            tick(cost)
            return g(t, *values)
        value *= reliable_quad(one, _end(lo(*values)), _end(hi(*values)), hints,
                               confirm=confirm, point=point)
    _LOG[0].separated.add(", ".join(str(v).lstrip("_") for v in c.variables[c.reduced:]))
    return value


def _spot_check(c: _Compiled, values: list, hints: list, confirm: bool, point) -> None:
    """Check each closed form against quadrature of the level below it, at values of the
    outer variables drawn afresh at every point (from the point's values): a closed form
    SymPy got wrong is caught here and dropped (the quadrature then does those levels);
    a check without a reliable estimate skips the point, as any quadrature would."""
    rng = random.Random(str(point))
    outer: tuple = ()
    draws = {}
    for k in range(len(c.variables) - 1, 0, -1):  # outermost first: limits depend on them
        lo, hi = (_end(x(*outer, *values)) for x in c.ends[k])
        outer = (_inside(lo, hi, rng.random()), *outer)
        draws[k] = outer
    log = _LOG[0]
    for k in range(1, c.reduced + 1):
        o = draws.get(k, ())
        lo, hi = (_end(x(*o, *values)) for x in c.ends[k - 1])
        want = reliable_quad(lambda t, k=k, o=o: c.levels[k - 1](t, *o, *values), lo, hi,
                             hints, confirm=confirm, point=point)
        got = c.levels[k](*o, *values)
        if not abs(got - want) <= CHECK_TOLERANCE * max(1, abs(got), abs(want)):
            log.closed_rejected.add(str(c.variables[k - 1]))
            c.reduced = k - 1  # SymPy's closed form is wrong here: quadrature instead
            c.separate = None  # (it was worked out for the levels above the closed form)
            break
    if c.reduced:
        log.closed.add(tuple(str(v).lstrip("_") for v in c.variables[:c.reduced]))
        log.checks += 1


def _inside(lo, hi, u: float):
    """A value strictly inside ``(lo, hi)`` at fraction ``u`` (a finite interval), or at a
    moderate distance from the finite end (a half line), or within (-3, 3) (the line)."""
    u = mpmath.mpf(0.05 + 0.9 * u)
    if mpmath.isfinite(lo) and mpmath.isfinite(hi):
        return lo + (hi - lo) * u
    if mpmath.isfinite(lo):
        return lo + 3 * u
    if mpmath.isfinite(hi):
        return hi - 3 * u
    return 6 * u - 3


# -- quadrature with an error estimate it can stand by ----------------------------------
class QuadratureUnreliable(ArithmeticError):
    """A quadrature without a reliable error estimate (not far below the comparison's
    tolerance, or two independent estimates disagree): its value may neither refute nor
    support a claim, and the point is skipped (and counted in the evidence)."""


#: an integral's error estimate must be below this, relative to |value| (or to the
#: integrand's mass, when that is larger: see :func:`reliable_quad`): 1000
#: times below the tolerance of a comparison (:data:`symderive.numeric.TOLERANCE`, 1e-35)
ERROR_BOUND = mpmath.mpf(10) ** -38
#: a closed form agrees with quadrature within the comparison's tolerance (as
#: symderive.numeric.agree, which imports this module: 1000 times ERROR_BOUND)
CHECK_TOLERANCE = 1000 * ERROR_BOUND
#: precision (digits) of the nested quadrature of a non-separable integral (:func:`_nested`),
#: the error bound its value must carry (relative to max(1, |value|)), and the tolerance
#: (relative) of the comparisons of a claim where one was used: 1000 times the bound
NESTED_DIGITS = 20
NESTED_BOUND = mpmath.mpf(10) ** -15
NESTED_TOLERANCE = 1000 * NESTED_BOUND
#: the highest Gauss-Legendre degree tried per level (3 * 2^5 = 96 nodes): an integrand
#: that has not converged by then (e^(4000 x y)) skips the point instead of costing a second
NESTED_DEGREE = 6
#: split points at the integrand's peak p and p + j*w (w: the peak's width), for the
#: first estimate and for the independent second one (different nodes everywhere)
SPLITS = ((-8, 0, 8), (-5, 0.375, 6))
#: integrals remembered per claim (:attr:`QuadratureLog.memo`), at most
MEMO_SIZE = 4096
#: the hinted values (parameters of the point) tried as peak locations, at most
MAX_HINTS = 12
#: the peak's width: the distance at which |f| has fallen below this fraction of its peak
WIDTH_DROP = mpmath.exp(-2)


@dataclass
class QuadratureLog:
    """What the quadrature of one claim did, for its evidence: the largest error estimate
    accepted, an example of the split points, and the points where no estimate was
    reliable (counted once each)."""

    largest_error: object = 0
    example: tuple = ()
    unreliable: set = field(default_factory=set)
    #: set when an integral was unreliable while a disagreement was being confirmed
    unsettled: bool = False
    #: points whose disagreement could not be confirmed for that reason (skipped)
    unconfirmed: int = 0
    #: the variables of nested integrals integrated in closed form (SymPy), innermost first
    closed: set = field(default_factory=set)
    #: points at which every closed form was checked against quadrature
    checks: int = 0
    #: nested integrals integrated as products of one-dimensional ones, as "x, y"
    separated: set = field(default_factory=set)
    #: variables whose closed form disagreed with quadrature (dropped: integrated numerically)
    closed_rejected: set = field(default_factory=set)
    #: nested integrals done by nested quadrature at NESTED_DIGITS (:func:`_nested`), as
    #: "x, y", and the largest error bound accepted there (relative)
    nested: set = field(default_factory=set)
    nested_error: object = 0
    #: the integrals computed in this claim, by (integral, sizes, point, digits, confirm):
    #: the sampler meets a point again (screening, then comparing) and the same integral
    #: on both sides; the entry replays the work and checks counted (see :func:`integral`)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def skipped(self) -> int:
        return len(self.unreliable) + self.unconfirmed

    def text(self) -> str:
        parts = [f"integrals by tanh-sinh quadrature at {QUAD_DIGITS} digits, split at the "
                 f"integrand's peak and at 8 peak widths either side"]
        if self.example:
            parts[0] += " (e.g. at " + ", ".join(mpmath.nstr(x, 6) for x in self.example) + ")"
        parts.append(f"relative error estimate <= {mpmath.nstr(self.largest_error, 3)}"
                     if self.largest_error else "error estimate 0")
        parts[-1] += ("; a disagreement refutes only if a second estimate, split "
                      "elsewhere, agrees with it")
        if self.closed:
            deepest = max(self.closed, key=len)
            parts.append(
                f"nested integrals: up to {len(deepest)} level(s) integrated in closed form "
                f"by SymPy (over {', '.join(deepest)}, innermost first), each level checked "
                f"at every point ({self.checks}) against quadrature of the level below, at "
                "values of the outer variables drawn at that point")
        if self.separated:
            parts.append("separable nested integrals (over " + "; over ".join(
                sorted(self.separated)) + ") as products of one-dimensional quadratures, "
                "each with the error bound above")
        if self.nested:
            parts.append(
                f"nested integrals (over {'; over '.join(sorted(self.nested))}) by numeric "
                f"quadrature at {NESTED_DIGITS} digits (Gauss-Legendre at every level, the "
                f"error bound of each level carried up: <= "
                f"{mpmath.nstr(self.nested_error, 3)}), compared to "
                f"{mpmath.nstr(NESTED_TOLERANCE, 3)} relative")
        if self.closed_rejected:
            parts.append("SymPy's closed form over "
                         + ", ".join(sorted(self.closed_rejected))
                         + " disagreed with quadrature: integrated numerically instead")
        if self.skipped:
            parts.append(f"quadrature not reliable at {self.skipped} point(s), skipped")
        return "; ".join(parts)


_LOG: list[QuadratureLog] = [QuadratureLog()]
#: the log outside :func:`recording` (no claim): nested quadrature at 20 digits is not
#: used there, so that its widened tolerance (:func:`tolerance`) cannot outlive a claim
_OUTSIDE = _LOG[0]


def recording() -> AbstractContextManager[QuadratureLog]:
    """Collect a fresh :class:`QuadratureLog` for the quadratures inside the block."""
    return fresh(_LOG, QuadratureLog)


def tolerance(base):
    """The tolerance of a comparison: ``base``, or :data:`NESTED_TOLERANCE` when a nested
    integral of the claim being checked was done at the lower precision of
    :func:`_nested` (never tighter than that quadrature supports)."""
    return max(base, NESTED_TOLERANCE) if _LOG[0].nested else base


def unsettled() -> bool:
    """Whether a quadrature was unreliable while a disagreement was being confirmed since
    the last call (then the point decides nothing: it neither refutes nor agrees)."""
    log = _LOG[0]
    flag, log.unsettled = log.unsettled, False
    log.unconfirmed += flag
    return flag


def _unreliable(point, confirm: bool, why: str) -> QuadratureUnreliable:
    log = _LOG[0]
    if confirm:
        log.unsettled = True
    else:
        log.unreliable.add(point)
    return QuadratureUnreliable(why)


def _cuts(c: _Compiled, values: list) -> set:
    """The integrand's kinks at the point's values (the real ones)."""
    out = set()
    for k in c.kinks:
        try:
            x = k(*values)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            continue
        if isinstance(x, mpmath.mpc):
            x = x.real if abs(x.imag) <= mpmath.eps * max(1, abs(x.real)) else None
        if x is not None and mpmath.isfinite(x):
            out.add(mpmath.mpf(x))
    return out


def reliable_quad(f, lo, hi, hints=(), confirm: bool = False, point=None,
                  bound=ERROR_BOUND, cuts: set = frozenset()):
    """The integral of ``f`` over ``[lo, hi]`` (ends may be infinite), by tanh-sinh
    quadrature split at the integrand's peak region, with its error estimate below
    ``bound`` (relative to |value|, or to the integrand's mass, height times width, when
    the value cancels to near 0); with ``confirm``, also a second estimate
    split at other points, which must agree with the first.  Raises
    :class:`QuadratureUnreliable` otherwise.

    Why split: tanh-sinh over the real line places its nodes for unit scale around 0; a
    density of width 1e-2 centred at -1 falls between them, and mpmath returns a value
    wrong in the 5th digit (with an error estimate of 1, which must not be ignored).
    Its nodes cluster doubly exponentially at the ends of an interval, so a peak at an
    end is resolved at any scale: the peak is found (:func:`_peak`) and made an end.
    ``hints`` are values of the point (parameters), tried as peak locations and scales;
    ``cuts`` are the integrand's kinks, where tanh-sinh converges slowly unless they are
    ends too (|t| over (-1, 1) gets 5 digits): the integral is split there as well.

    The peak search first stops at a peak at an end of the interval as soon as its
    neighbour inside is within the peak (:func:`_search`, ``quick``); the full search
    (:func:`_peak`, halving its step down to the precision's epsilon) is run whenever
    that estimate fails or one of its nodes rises above twice the peak found, so a
    narrow peak hugging an end is found as before.
    """
    if isinstance(lo, mpmath.mpc) or isinstance(hi, mpmath.mpc):
        raise _unreliable(point, confirm, "complex limits of integration")
    if lo == hi:
        return mpmath.mpf(0)
    if hi < lo:
        return -reliable_quad(f, hi, lo, hints, confirm, point, bound, cuts)
    found = _search(f, lo, hi, hints, quick=True)
    found = found._replace(others=found.others | cuts)
    log = _LOG[0]
    saved = log.largest_error, log.example
    try:
        try:
            return _estimate(f, lo, hi, found, confirm, bound)
        except (_NoEstimate, _Missed):
            if not found.quick:
                raise
        log.largest_error, log.example = saved  # as if only the full search had run
        found = _search(f, lo, hi, hints)
        return _estimate(f, lo, hi, found._replace(others=found.others | cuts), confirm,
                         bound)
    except _NoEstimate as exc:
        raise _unreliable(point, confirm, str(exc)) from exc.__cause__


class _NoEstimate(Exception):
    """No reliable estimate, and why (made a :class:`QuadratureUnreliable`, and counted,
    by :func:`reliable_quad` once no other peak search is left to try)."""


class _Missed(Exception):
    """A node of the quadrature rose above twice the peak a quick search found."""


def _estimate(f, lo, hi, found: _Peak, confirm: bool, bound):
    """The estimate(s) of :func:`reliable_quad` split around the peak ``found``."""
    peak, width, others, height = found[:4]
    if mpmath.isnan(height):
        raise _NoEstimate("the integrand is undefined at every point tried")
    if height == 0:
        return mpmath.mpf(0)  # the integrand cancels: see _peak
    if not mpmath.isfinite(width):
        raise _NoEstimate("the integrand does not decay: the integral may diverge")
    # mpmath stops refining once its error estimate is below eps in absolute terms: an
    # integrand of height 1e-42 would get 3 correct digits.  Scaled to height 1 it gets all.
    unit = height
    top = [mpmath.mpf(0)]

    def scaled(t):
        v = f(t) / unit
        top[0] = max(top[0], abs(v))
        return v
    estimates = []
    for offsets in SPLITS[:2 if confirm else 1]:
        pts = sorted(x for x in {peak + j * width for j in offsets} | others if lo < x < hi)
        try:
            value, err = mpmath.quad(scaled, [lo, *pts, hi], error=True)
            value, err = value * unit, err * unit
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            raise _NoEstimate(f"quadrature failed: {exc}") from exc
        if found.quick and top[0] > 2:
            raise _Missed
        # relative to the value itself (a product of integrals, or a factor e^1000, turns
        # an absolute error of 1e-55 on a value of 1e-42 into a visible one), or to the
        # integrand's mass (height times width) when the value cancels to near 0
        size = max(abs(value), height * width)
        if not mpmath.isfinite(value) or not err <= bound * size:
            raise _NoEstimate(f"error estimate {mpmath.nstr(err, 3)}")
        estimates.append(value)
        log = _LOG[0]
        log.largest_error = max(log.largest_error, err / size if size else err)
        log.example = log.example or tuple(pts)
    if len(estimates) == 2 and abs(estimates[0] - estimates[1]) > bound * size:
        raise _NoEstimate("two estimates split differently disagree")
    _tails(f, lo, hi, pts, estimates[0], height * width)
    return estimates[0]


#: an infinite end's tail is checked at X 2^(TAIL_STEP j), j = 1, 2, 3, beyond the last
#: split point X; t |f(t)| must have fallen by TAIL_FALL from the first to the last
TAIL_STEP = 10
TAIL_FALL = mpmath.mpf(1) / 2


def _tails(f, lo, hi, pts: list, value, mass) -> None:
    """Raise :class:`_NoEstimate` when an infinite end's tail decays too slowly for the
    integral to converge: a Pareto mean with shape 1/10 (integrand ~ t^(-0.1)) came out
    8.6e47 "with relative error 3.7e-45", since tanh-sinh's nodes stop short of where
    such a tail matters.  A convergent integral has t |f(t)| -> 0 (a tail t^(-1-e)
    falls by 2^(-10e) per step); a tail that falls by less than half over 2^20, and is
    not negligible, leaves the integral undecided (the point is skipped), never a
    value."""
    for end, sign in ((hi, 1), (lo, -1)):
        if mpmath.isfinite(end):
            continue
        finite = [abs(x) for x in (*pts, lo, hi) if mpmath.isfinite(x)]
        start = max([mpmath.mpf(1), *finite])
        g = []
        for j in (1, 3):
            t = sign * start * mpmath.ldexp(1, TAIL_STEP * j)
            try:
                g.append(abs(t * f(t)))
            except (ZeroDivisionError, OverflowError, ValueError, TypeError):
                g.append(mpmath.mpf(0))
        big = ERROR_BOUND * max(abs(value), mass)
        if mpmath.isfinite(g[0]) and g[0] > big and not g[1] < TAIL_FALL * g[0]:
            raise _NoEstimate("the integrand decays too slowly: the integral may diverge")


class _Peak(NamedTuple):
    """What :func:`_search` found (see :func:`_peak`); ``quick``: its compass search stopped
    at an end of the interval, where the full search would have gone on halving."""

    p: object
    width: object
    others: set
    height: object
    quick: bool = False


def _peak(f, lo, hi, hints):
    """(p, w, others, |f(p)|): a point p where |f| is (locally) largest, the width w of the peak
    there (|f| falls below :data:`WIDTH_DROP` of its value within p +- w), and the other
    hinted points where |f| is not negligible (other modes: split there too).  The height
    is NaN when |f| is 0 or undefined at every point tried and undefined at one at least
    (Si(a y)/(a y) at a = 0): the integral is undefined there, not 0.  Found by a
    scan on a geometric grid around 0 and the hinted values (scales 2^-12 .. 2^12), then
    a compass search with halving steps.  The height is 0 when |f| is exactly 0 at every
    point tried (mpmath never underflows to 0: such an integrand cancels exactly, as
    p log(p/q) with p = q), or when its largest values are rounding noise (each shrinks
    by more than half the digits when the precision doubles: the terms cancel, as in
    x(1-x)(2x+1) - x(1-x)/(1 - 2x/(2x+1))); such an integrand is 0."""
    return tuple(_search(f, lo, hi, hints)[:4])


def _search(f, lo, hi, hints, quick: bool = False) -> _Peak:
    """:func:`_peak`; with ``quick``, the compass search also stops when its neighbours
    inside ``[lo, hi]`` (one at least) are within the peak: at an end of the interval
    the other one never is, and the full search halves its step down to the precision's
    epsilon there (hundreds of evaluations per integral).  Each point is evaluated once
    (the scan, the compass search and the width share their values)."""
    undefined = [0]
    seen: dict = {}

    def mag(x):
        if x in seen:
            return seen[x]
        if not lo <= x <= hi or not mpmath.isfinite(x):
            return mpmath.mpf(0)
        try:
            v = abs(f(x))
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            undefined[0] += 1
            v = mpmath.mpf(0)
        else:
            undefined[0] += not mpmath.isfinite(v)
            v = v if mpmath.isfinite(v) else mpmath.mpf(0)
        seen[x] = v
        return v

    # at most MAX_HINTS distinct hinted values (a large instance has hundreds of entries)
    centres = {mpmath.mpf(0), *sorted({mpmath.mpf(h) for h in hints}, key=abs)[:MAX_HINTS]}
    centres |= {x for x in (lo, hi) if mpmath.isfinite(x)}
    centres = {c for c in centres if lo <= c <= hi}
    values = {c: mag(c) for c in centres}
    for c in list(centres):
        for k in range(-12, 13, 2):
            for x in (c - mpmath.ldexp(1, k), c + mpmath.ldexp(1, k)):
                values.setdefault(x, mag(x))
    p = max(values, key=values.get)
    fp = values[p]
    if fp == 0 and undefined[0]:  # undefined wherever defined at all (0/0 for a = 0)
        return _Peak(p, mpmath.mpf(1), set(), mpmath.nan)
    if fp == 0:
        return _Peak(p, mpmath.mpf(1), set(), fp)
    # compass search: move to a larger neighbour at distance d, else halve d, until the
    # neighbours at d are within the peak (|f| above half its value there)
    d = mpmath.ldexp(1, 12)
    early = False
    for _ in range(400):
        left, right = mag(p - d), mag(p + d)
        if max(left, right) > fp:
            p, fp = (p - d, left) if left > right else (p + d, right)
            continue
        if min(left, right) >= fp / 2 or d < mpmath.eps * max(1, abs(p)) * 16:
            break
        inside = [v for x, v in ((p - d, left), (p + d, right)) if lo <= x <= hi]
        if quick and inside and min(inside) >= fp / 2:
            early = True
            break
        d /= 2
    w = d
    drop = fp * WIDTH_DROP
    for _ in range(400):
        if mag(p - w) < drop and mag(p + w) < drop:
            break
        w *= 2
    else:  # |f| never falls off over an infinite range: the integral may diverge
        return _Peak(p, mpmath.inf, set(), fp, early)
    noise = fp * mpmath.mpf(10) ** (-mpmath.mp.dps // 2)
    # the largest values found, not only the peak's: a peak at a jump (the end of a
    # uniform density's support, 1/10 rounded up at this precision) is outside the
    # support at twice the precision, and the whole integral would be taken for noise
    tops = [p, *sorted(values, key=values.get, reverse=True)[:4]]
    with mpmath.workdps(2 * mpmath.mp.dps):
        seen.clear()  # at twice the precision: evaluated afresh
        if all(mag(x) < noise for x in tops):
            return _Peak(p, w, set(), mpmath.mpf(0), early)
    tiny = fp * mpmath.mpf(10) ** -mpmath.mp.dps
    others = {c for c in centres if c not in (lo, hi) and values[c] > tiny
              and abs(c - p) > w}
    return _Peak(p, w, others, fp, early)


def quad_digits(scale: float) -> int:
    """``QUAD_DIGITS``, and 5 more each time the working precision doubles (a disagreement
    is confirmed at a raised precision): a quadrature artefact then shrinks, where doubling
    the quadrature's digits too would cost seconds per point over the real line."""
    return QUAD_DIGITS + 5 * max(0, round(math.log2(scale)))


def _end(x):
    if x == sp.oo or x == mpmath.inf:
        return mpmath.inf
    if x == -sp.oo or x == -mpmath.inf:
        return -mpmath.inf
    return mpmath.mpf(x) if not isinstance(x, (mpmath.mpf, mpmath.mpc)) else x


def has_integrals(*exprs) -> bool:
    """Whether the expressions contain an integral (an expectation is one)."""
    from .nodes import DensityExpectation

    return any(sp.sympify(e).has(sp.Integral, DensityExpectation) for e in exprs)


def _over_vector(*exprs) -> bool:
    """Whether an expectation in the expressions is over a vector (an n-fold integral)."""
    from sympy.matrices.expressions import MatrixExpr

    from .nodes import DensityExpectation

    return any(isinstance(node.var, MatrixExpr) for e in exprs
               for node in sp.sympify(e).atoms(DensityExpectation))


def state_precision(outcome, log: QuadratureLog, *exprs):
    """Say in the evidence that integrals were sampled by quadrature: at what precision,
    split where, with what error estimate, and at how many points it was not reliable."""
    def skipped_text(n: int) -> str:  # as check.counterexample words it (no import cycle)
        return f"; {n} point(s) skipped where a side is complex or undefined" if n else ""

    if has_integrals(*exprs):
        note = log.text()
        if "too costly to evaluate" in (outcome.message or ""):
            note += ("; an integral over an n-dimensional domain (n quadratures per point, "
                     "each counted as work) is sampled at small sizes only")
        elif _over_vector(*exprs):
            note += ("; an expectation over a vector in R^n is an n-fold integral, checked "
                     "at the sizes above only")
        if log.skipped and outcome.skipped >= log.skipped:
            # those points were skipped for this reason, said in the note, not another
            outcome.message = outcome.message.replace(
                skipped_text(outcome.skipped), skipped_text(outcome.skipped - log.skipped))
        outcome.method = f"{outcome.method}; {note}"
        outcome.evidence.method = f"{outcome.evidence.method}; {note}"
        outcome.message = f"{outcome.message}; {note}" if outcome.message else note
        outcome.evidence.digits = min(outcome.evidence.digits,
                                      NESTED_DIGITS if log.nested else QUAD_DIGITS)
    return outcome
