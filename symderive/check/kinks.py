"""Where a stationary-point check may differentiate f: off its kinks.

The first- and second-order tests and the concavity argument differentiate f with
``sympy.diff``.  That is f's derivative only where f is smooth: at a kink SymPy still
returns a number (sign(0) = 0, Heaviside(0) = 1/2, the branch of a Piecewise its
condition picks), which is no derivative at all (-|x| + x/2 has its maximum at 0, where
"the gradient" 1/2 does not vanish; a Piecewise that jumps up at the claimed point has a
zero "gradient" and a negative "Hessian" there).  And some functions are differentiated
as if they had no jumps anywhere (a Piecewise's derivative is its pieces' derivatives;
arg and KroneckerDelta have derivative 0), so no Hessian of theirs can show concavity.

A *kink* of f is a place where one of its non-smooth functions of the unknowns changes
branch: the argument of Abs, sign, Heaviside, DiracDelta, arg is 0; two arguments of Max
or Min are equal; a side of a Piecewise condition equals the other; the argument of
floor, ceiling, frac (a quotient of Mod) is an integer.  Off every kink each such
function agrees with one analytic branch near the point, so ``diff`` is the derivative.
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy.core.relational import Relational

__all__ = ["kinks", "on_kink", "off_kinks", "has_jumps", "crossing_trials", "kink_points",
           "has_kinked", "JUMPS", "KINK", "KINKED"]

#: the method and the words of a point skipped because the claimed point is on a kink
KINK = "kink"

#: functions whose SymPy derivative drops their jumps (a Piecewise's pieces are
#: differentiated apart; arg and KroneckerDelta differentiate to 0): no Hessian of a
#: function containing them shows concavity
JUMPS = (sp.Piecewise, sp.arg, sp.KroneckerDelta, sp.floor, sp.ceiling, sp.frac, sp.Mod)

_ZERO_AT = (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta, sp.arg)
_INTEGER_AT = (sp.floor, sp.ceiling, sp.frac)


def kinks(exprs: list, variables: list) -> list[tuple]:
    """The kinks of ``exprs`` that move with the unknowns: (node, d, integer, guard), the
    node at a kink where d = 0 (``integer`` False) or where d is an integer (True), which
    matters only where ``guard`` holds (inside a Piecewise branch, that the branch is
    taken).  A Piecewise's conditions contribute their crossings (a side equal to the
    other), not the kinks of the functions in them: Abs(x) <= 1 changes only at |x| = 1."""
    wanted = set(variables)
    out: list = []
    seen: set = set()

    def walk(e: sp.Basic, guard: sp.Basic) -> None:
        if e.is_Atom or (e, guard) in seen or not (e.free_symbols & wanted):
            return
        seen.add((e, guard))
        if isinstance(e, sp.Piecewise):
            before = sp.true
            for piece, cond in e.args:
                reach = sp.And(guard, before)
                out.extend((e, r.lhs - r.rhs, False, reach)
                           for r in sp.sympify(cond).atoms(Relational)
                           if r.free_symbols & wanted)
                walk(piece, sp.And(reach, cond))
                before = sp.And(before, sp.Not(cond))
            return
        out.extend((e, d, integer, guard) for d, integer in _distances(e))
        for arg in e.args:
            walk(arg, guard)

    for e in exprs:
        walk(sp.sympify(e), sp.true)
    return out


def _distances(node: sp.Basic) -> list[tuple[sp.Expr, bool]]:
    if isinstance(node, _ZERO_AT):
        return [(node.args[0], False)]
    if isinstance(node, (sp.Max, sp.Min)):
        return [(a - b, False) for a, b in itertools.combinations(node.args, 2)]
    if isinstance(node, sp.KroneckerDelta):
        return [(node.args[0] - node.args[1], False)]
    if isinstance(node, _INTEGER_AT):
        return [(node.args[0], True)]
    if isinstance(node, sp.Mod):
        return [(node.args[0] / node.args[1], True)]
    return []


def _skipped(guard: sp.Basic, values: dict) -> bool:
    """Whether ``guard`` is false at ``values``: the kink is in a branch not taken."""
    try:
        return guard.xreplace(values) is sp.false
    except TypeError:  # a comparison SymPy cannot decide: the kink may matter
        return False


def on_kink(found: list, values: dict, digits: int = 60) -> sp.Basic | None:
    """The first node of ``found`` (see :func:`kinks`) at a kink at the numbers
    ``values`` (every symbol given), or None.  A distance within a relative 10^-(digits
    - 15) of 0 (of an integer) counts as on the kink, and so does one that does not
    evaluate to a real number: such a point is only ever skipped, never accepted."""
    tiny = sp.Float(10, digits) ** (15 - digits)
    for node, d, integer, guard in found:
        if _skipped(guard, values):
            continue
        e = d.xreplace(values)
        if e.is_Rational:  # decided exactly
            if e == 0 or (integer and e.is_integer):
                return node
            continue
        v = sp.N(e, digits)
        if not v.is_Float:
            return node
        if integer:
            v = v - round(v)
        if abs(v) <= tiny * max(1, abs(sp.N(e, 15))):
            return node
    return None


def off_kinks(found: list, point: dict, nonzero) -> bool:
    """Whether the claimed ``point`` is off every kink for all admissible parameters:
    each distance shown nonzero by ``nonzero`` (the domains' signs; a kink of integer
    type cannot be shown absent, so it fails)."""
    return all(_skipped(guard, point) or (not integer and nonzero(d.xreplace(point)))
               for _, d, integer, guard in found)


def has_jumps(f: sp.Expr, variables: list) -> bool:
    """Whether f contains a function of the unknowns whose SymPy derivative drops its
    jumps (:data:`JUMPS`)."""
    wanted = set(variables)
    return any(isinstance(n, JUMPS) and n.free_symbols & wanted
               for n in sp.preorder_traversal(f))


#: at most this many trial points placed around kinks (see :func:`crossing_trials`)
MAX_CROSSING_TRIALS = 48


def crossing_trials(found: list, point: dict, directions: list) -> list[dict]:
    """Trial points for the better-point search of a global claim whose f has kinks: a
    fixed set of steps misses a narrow piece where f jumps up (a Piecewise bump on
    (3/10, 4/10) next to the claimed 0), but along a direction z the branches change
    only where a distance of ``found`` crosses 0.  For each direction (a column of the
    constraints' tangent basis, so a trial stays feasible for affine constraints) and
    each distance that is a polynomial of degree at most 2 in the step t, the real
    crossings are found; the trials sit just either side of each crossing and midway
    between consecutive ones, each a rational point.  Only trials: every one is
    evaluated exactly by the caller, and a better value found there is a real one."""
    out: list[dict] = []
    t = sp.Dummy("t")
    for z in directions:
        if all(zv == 0 for zv in z):
            continue
        line = {v: point[v] + t * zv for v, zv in zip(point, z)}  # the unmoved at the point
        cuts: set = set()
        for _, d, integer, _ in found:
            g = d.xreplace(line)
            if integer or not g.has(t):
                continue
            try:
                poly = sp.Poly(sp.expand(g), t)
            except sp.PolificationFailed:
                continue
            if poly.degree() > 2 or not all(c.is_number for c in poly.all_coeffs()):
                continue
            for r in poly.nroots(n=30):
                if r.is_real and r != 0:
                    cuts.add(sp.Rational(str(r)).limit_denominator(10 ** 12))
        ts = sorted(cuts | {sp.S.Zero})
        near = sp.Rational(1, 10 ** 6)  # just past a crossing, relative to its size
        steps = [c + s * near * max(1, abs(c)) for c in ts if c != 0 for s in (1, -1)]
        steps += [(lo + hi) / 2 for lo, hi in zip(ts, ts[1:])]
        for s in steps:
            if s != 0:
                out.append({v: point[v] + s * zv for v, zv in zip(point, z)})
            if len(out) >= MAX_CROSSING_TRIALS:
                return out
    return out


#: sampled points placed on kinks, at most (see :func:`kink_points`)
MAX_KINK_POINTS = 8
#: the function types whose kinks :func:`kink_points` looks for
KINKED = (*_ZERO_AT, sp.Max, sp.Min, sp.Piecewise, sp.KroneckerDelta, *_INTEGER_AT, sp.Mod)


def has_kinked(*exprs) -> bool:
    """Whether any expression contains a function with a kink (a cheap first test)."""
    return any(sp.sympify(e).has(*KINKED) for e in exprs)


def kink_points(found: list, base: dict, admissible) -> list[dict]:
    """Points of the sampler placed exactly on kinks: the random draws never meet
    x = 1/3, where Heaviside(x - 1/3) is 1/2 and a Piecewise on x > 1/3 takes its other
    branch, so a claim false only there was ``verified``.  For each kink distance d of
    ``found`` and each leaf v in it, the other leaves at their values in ``base`` (a
    regular draw), the rational roots v of d = 0 (of d = the nearest integer, for floor
    and ceiling) when d is then a polynomial of degree 1 or 2 in v, and
    ``admissible(v, value)``.  Each point is ``base`` with v moved to the kink."""
    out: list = []
    for _, d, integer, _ in found:
        for v in sorted(d.free_symbols & set(base), key=str):
            g = d.xreplace({k: x for k, x in base.items() if k != v})
            if integer:
                at = g.xreplace({v: base[v]})
                if not at.is_number:
                    continue
                g = g - sp.floor(at)
            try:
                poly = sp.Poly(g, v)
            except (sp.PolynomialError, sp.GeneratorsNeeded):
                continue
            if not 1 <= poly.degree() <= 2 or not all(c.is_Rational for c in poly.all_coeffs()):
                continue
            for r in sorted(sp.roots(poly, v, filter="Q"), key=abs):
                if admissible(v, r):
                    point = {**base, v: r}
                    if point not in out:
                        out.append(point)
                if len(out) >= MAX_KINK_POINTS:
                    return out
    return out
