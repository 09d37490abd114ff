"""An inner level of a nested integral that SymPy closes only as a ``Piecewise``.

Over an infinite range SymPy's closed form of an inner level is usually a ``Piecewise``
on convergence conditions: ∫ x y N₂(x, y; ρ) dx is ``(closed, |arg(1 - ρ²)| < π/2 ∨ …),
(Integral(…), True)``.  Rejecting it leaves a quadrature at every node of another (tens
of CPU seconds per point).  Here such a level becomes a function of the outer variables
and the parameters (:func:`guarded_level`, an ``implemented_function`` that
:func:`sympy.lambdify` calls) which, at each node:

- takes the first branch whose condition is ``True`` *at that node*, evaluated exactly
  (SymPy, the node's binary value as a rational: ``arg``, ``Abs`` and comparisons with π
  decide exactly, or stay undecided);
- evaluates that branch numerically at two raised precisions and uses it only if they
  agree (a removable singularity, ρ y in a denominator, or cancellation fails this);
- otherwise (an undecided or false condition, a branch that is no closed form, or a
  value that fails the check) integrates the level below numerically at that node
  with the quadrature it is given (:mod:`symderive.quadrature` passes its
  ``reliable_quad``, with its error bound: this module does not import it, which would
  close a cycle quadrature -> closed_form -> piecewise_level -> quadrature).

The closed branch is still spot-checked at every sampled point against quadrature of
the level below, as every closed level is (:mod:`symderive.quadrature`).  A point where
the branch fails at more than :data:`MAX_FALLBACKS` nodes (ρ = 0 exactly: every node
divides by ρ) is skipped as a quadrature without a reliable estimate, never compared.
What happened is counted per claim (:class:`BranchLog`) and stated in the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import count

import mpmath
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from .slots import fresh

#: nodes per point at which the branch may be replaced by a quadrature of the level
#: below; beyond it the point is skipped (each such node costs a whole inner quadrature)
MAX_FALLBACKS = 8
#: guard digits of the two evaluations of a branch (above the working precision); they
#: must agree to the working precision (relative), so the second has digits to spare.
#: Raised once for a node far in a tail (e^(-y^2/2) at y = 10^8 loses 16 digits)
GUARD_DIGITS = ((10, 30), (40, 80))
#: functions a usable branch may not contain (it is no closed form, or mpmath cannot
#: evaluate it reliably)
_NOT_CLOSED = (sp.Integral, sp.Limit, sp.periodic_argument, sp.principal_branch,
               sp.Piecewise)
_NAMES = count()
#: the origin of a level done by symderive.gaussian_level (stated in the evidence)
COMPLETED_SQUARE = "the closed form by completing the square (a Gaussian moment)"


class _NotPrincipal(ArithmeticError):
    """A polar number off the principal sheet (no plain complex value)."""


def _polar_lift(z):
    if mpmath.im(z) == 0 and mpmath.re(z) > 0:
        return mpmath.re(z)
    raise _NotPrincipal


def _exp_polar(z):
    if mpmath.im(z) == 0:
        return mpmath.exp(z)
    raise _NotPrincipal


_POLAR = {"polar_lift": _polar_lift, "exp_polar": _exp_polar}
_FAILURES = (ZeroDivisionError, OverflowError, ValueError, TypeError, NameError,
             ArithmeticError)


@dataclass
class BranchLog:
    """What the piecewise levels of one claim did, for its evidence."""

    #: the piecewise levels, as "SymPy's closed form over x" (see guarded_level's origin)
    levels: set = field(default_factory=set)
    #: nodes evaluated by a branch whose condition held there
    by_branch: int = 0
    #: nodes integrated numerically instead (condition false or undecided, no closed
    #: branch, or a branch value that failed the two-precision check)
    by_quadrature: int = 0
    #: points skipped: the branch failed at more than MAX_FALLBACKS nodes there
    skipped: set = field(default_factory=set)

    def text(self) -> str:
        if not self.levels:
            return ""
        out = (f"{'; '.join(sorted(self.levels))} is a Piecewise: "
               f"at each node the first branch whose condition is exactly True there, its "
               f"value used where two evaluations, at {GUARD_DIGITS[0][0]} and "
               f"{GUARD_DIGITS[0][1]} guard digits (or {GUARD_DIGITS[1][0]} and "
               f"{GUARD_DIGITS[1][1]}), agree to the working precision relative to the "
               f"largest value at the point ({self.by_branch} node(s)); the level below "
               f"by quadrature elsewhere ({self.by_quadrature} node(s))")
        if self.skipped:
            out += (f"; {len(self.skipped)} point(s) skipped where the branch failed at "
                    f"more than {MAX_FALLBACKS} nodes")
        return out


_LOG: list[BranchLog] = [BranchLog()]


def recording() -> AbstractContextManager[BranchLog]:
    """Collect a fresh :class:`BranchLog` for the piecewise levels used inside the block."""
    return fresh(_LOG, BranchLog)


def state_branches(outcome, log: BranchLog):
    """Add the piecewise levels' note to an outcome's method and message."""
    note = log.text()
    if any(COMPLETED_SQUARE in level for level in log.levels):
        # symderive.quadrature counts every closed level as SymPy's
        for holder, attr in ((outcome, "method"), (outcome.evidence, "method"),
                             (outcome, "message")):
            setattr(holder, attr, (getattr(holder, attr) or "").replace(
                "integrated in closed form by SymPy", "integrated in closed form by SymPy "
                "or by completing the square"))
    if note:
        outcome.method = f"{outcome.method}; {note}"
        outcome.evidence.method = f"{outcome.evidence.method}; {note}"
        outcome.message = f"{outcome.message}; {note}" if outcome.message else note
    return outcome


def _exact(v) -> sp.Expr | None:
    """The exact rational value of a node or parameter (None if complex or not finite)."""
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, mpmath.mpf) and mpmath.isfinite(v):
        sign, man, exp, _ = v._mpf_  # (man_exp drops the sign)
        return (-1) ** sign * sp.Integer(man) * sp.Integer(2) ** exp
    return None


def _partial(cond, values: dict):
    """``cond`` at ``values``, exactly: ``True``/``False`` where it decides, None where a
    part is undefined or undecided there (``arg(0)``), else a tree ``(op, parts)`` over
    what is left (``("rel", expr)`` for a relation still holding a free symbol).  And,
    Or and Not follow three-valued logic: one true disjunct decides an Or."""
    if cond in (sp.true, sp.false):
        return bool(cond)
    if isinstance(cond, (sp.And, sp.Or, sp.Not)):
        parts = [_partial(a, values) for a in cond.args]
        return _combine(type(cond), parts)
    try:
        got = cond.xreplace(values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if got in (sp.true, sp.false):
        return bool(got)
    return ("rel", got) if got.free_symbols else None


def _combine(op, parts: list):
    if op is sp.Not:
        p = parts[0]
        return (not p) if isinstance(p, bool) else (None if p is None else (op, parts))
    decisive = op is sp.Or  # True decides an Or, False an And
    if decisive in parts:
        return decisive
    left = [p for p in parts if p is not (not decisive)]
    if not left:
        return not decisive
    if any(p is None for p in left):
        return None if all(p is None or isinstance(p, bool) for p in left) else (op, left)
    return (op, left)


def _truth(tree, values: dict):
    """A tree of :func:`_partial` decided at ``values`` (True, False or None)."""
    if tree is None or isinstance(tree, bool):
        return tree
    op, parts = tree
    if op == "rel":
        got = _partial(parts, values)
        return got if got is None or isinstance(got, bool) else None
    return _combine(op, [_truth(p, values) for p in parts])


def params_of(*exprs) -> list:
    """The free scalars and entries of the expressions (not the labels of the entries),
    in a fixed order: the parameters a level is evaluated at."""
    entries: set = set()
    scalars: set = set()
    for e in exprs:
        entries |= e.atoms(sp.Indexed)
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    labels = {x.base.label for x in entries}
    return sorted(entries | (scalars - labels), key=str)


class _Guarded:
    """The numeric function behind :func:`guarded_level` (see the module docstring)."""

    def __init__(self, pw: sp.Piecewise, below: sp.Expr, limit: tuple, outer: list,
                 params: list, quad: Callable, origin: str):
        var, lo, hi = limit
        self.var, self.quad, self.origin = var, quad, origin
        self.outer, self.params = outer, params
        self.args = [*outer, *params]
        self.conds = [c for _, c in pw.args]
        self.fns = []
        for e, _ in pw.args:
            fn = None
            if not e.has(*_NOT_CLOSED) and not e.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                try:
                    fn = sp.lambdify(self.args, e, modules=[_POLAR, "mpmath"], cse=True)
                except (TypeError, ValueError, NameError, KeyError, SyntaxError):
                    fn = None
            self.fns.append(fn)
        self.below = sp.lambdify([var, *self.args], below, modules=[_POLAR, "mpmath"])
        self.ends = [sp.lambdify(self.args, x, modules="mpmath") for x in (lo, hi)]
        self._point: dict = {}  # parameter values -> (conditions there, fallbacks)

    def _at_point(self, pvals: tuple) -> list:
        got = self._point.get(pvals)
        if got is None:
            exact = [_exact(v) for v in pvals]
            sub = dict(zip(self.params, exact))
            conds = [None if None in exact else _partial(c, sub) for c in self.conds]
            if len(self._point) > 64:
                self._point.clear()
            got = self._point[pvals] = [conds, 0, mpmath.mpf(0)]
        return got

    def __call__(self, *args):
        outer, pvals = args[:len(self.outer)], args[len(self.outer):]
        _LOG[0].levels.add(f"{self.origin} over {str(self.var).lstrip('_')}")
        state = self._at_point(tuple(pvals))
        conds = state[0]
        node = None
        for k, cond in enumerate(conds):
            if not (cond is None or isinstance(cond, bool)) and node is None:
                exact = [_exact(v) for v in outer]
                node = {} if None in exact else dict(zip(self.outer, exact))
            truth = cond if cond is None or isinstance(cond, bool) else \
                (_truth(cond, node) if node else None)
            if truth is None:
                break  # undecided: the branches after it may not be used either
            if truth:
                value = self._branch(k, args, state)
                if value is not None:
                    _LOG[0].by_branch += 1
                    return value
                break
        return self._fallback(state, outer, pvals)

    def _branch(self, k: int, args, state: list):
        """The branch's value at two precisions, used if they agree to the working
        precision relative to the larger of it and the largest value used at this
        point so far (far in a tail, e^(-y^2) at y = 10^40, the value is negligible
        beside the peak's, and its digits do not matter; there a quadrature of the level
        below would be no better)."""
        fn = self.fns[k]
        if fn is None:
            return None
        dps = mpmath.mp.dps
        for low, high in GUARD_DIGITS:
            try:
                with mpmath.workdps(dps + low):
                    a = fn(*args)
                with mpmath.workdps(dps + high):
                    b = fn(*args)
            except _FAILURES:
                return None
            if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
                return None
            if abs(a - b) <= mpmath.mpf(10) ** -dps * max(abs(b), state[2]):
                state[2] = max(state[2], abs(b))
                return +b
        return None

    def _fallback(self, state: list, outer: tuple, pvals: tuple):
        log = _LOG[0]
        log.by_quadrature += 1
        state[1] += 1
        # one estimate: the outer level's confirmation (split elsewhere) asks for values
        # at other nodes, each a fresh quadrature here
        confirm = False
        hints = [v for v in pvals if isinstance(v, (mpmath.mpf, int))]
        point = ("piecewise", self.var, tuple(pvals))
        if state[1] > MAX_FALLBACKS:
            log.skipped.add(point)
            # an integrand undefined everywhere: the quadrature counts the point as
            # skipped (no reliable estimate) and raises, as for any such quadrature
            self.quad(lambda t: mpmath.nan, 0, 1, confirm=confirm, point=point)
        lo, hi = (_end(x(*outer, *pvals)) for x in self.ends)
        return self.quad(lambda t: self.below(t, *outer, *pvals), lo, hi, hints,
                         confirm=confirm, point=point)


def _end(x):
    if x in (sp.oo, mpmath.inf):
        return mpmath.inf
    if x in (-sp.oo, -mpmath.inf):
        return -mpmath.inf
    return x if isinstance(x, (mpmath.mpf, mpmath.mpc)) else mpmath.mpf(x)


def guarded_level(value: sp.Expr, below: sp.Expr, limit: tuple, outer: list,
                  allowed: set, quad: Callable, simpler: dict | None = None,
                  origin: str = "SymPy's closed form") -> sp.Expr | None:
    """``value`` (the integral of ``below`` over ``limit``, holding a Piecewise) as an
    expression ``G(*outer, *params)`` that lambdify evaluates branch by branch at each
    node (see the module docstring); None when no branch is a closed form.  ``quad``:
    the quadrature of the level below where no branch is used, called as
    ``quad(f, lo, hi, hints, confirm=, point=)`` (the caller's working precision).
    ``simpler``: equal forms of some branches, by index; the one with fewer operations
    is used.  ``origin``: where the Piecewise comes from, for the evidence."""
    pw = sp.piecewise_fold(value)
    if not isinstance(pw, sp.Piecewise):
        return None
    pw = sp.Piecewise(*(
        (min((e, (simpler or {}).get(k, e)), key=sp.count_ops), c)
        for k, (e, c) in enumerate(pw.args)), evaluate=False)
    if pw.args[-1].cond != sp.true:
        pw = sp.Piecewise(*pw.args, (sp.nan, True))  # no branch: the quadrature decides
    if not any(not e.has(*_NOT_CLOSED) for e, _ in pw.args):
        return None
    params = [p for p in params_of(below, *limit[1:]) if p not in outer
              and p != limit[0]]
    if not set(params) <= allowed:
        return None
    impl = _Guarded(pw, below, limit, outer, params, quad, origin)
    return implemented_function(f"piecewise_{next(_NAMES)}", impl)(*outer, *params)
