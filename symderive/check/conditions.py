"""Claims under conditions (``given``): proved from the conditions, sampled at solutions.

A claim ``lhs == rhs`` under ``given == 0`` (solved for ``unknowns``) asserts the equality
at *every* point satisfying the conditions.  ``sympy.solve`` cannot be trusted to list every
solution (a parameter that may vanish, a periodic function), so it never proves anything
here:

* **Proof** is by ideal membership.  Function applications are replaced by fresh symbols
  (:func:`symderive.check.prove.atomize`), denominators are cleared, and the numerator of the
  claim's difference is reduced modulo a Groebner basis of the conditions' numerators in
  the polynomial ring over Q in *every* symbol (parameters included, so nothing is divided
  by a parameter that may vanish).  Remainder zero means ``num = sum c_i g_i`` with
  polynomial ``c_i``: wherever the conditions hold, the claim holds.  Factors that the
  declared domains make nonzero (a positive parameter) may be inverted, through the usual
  extra equation ``1 - z f = 0`` (sound: ``z = 1/f`` exists at every admissible point).
* **Sampling** uses the solutions ``solve`` does find, and also looks where it is blind:
  unknowns left free by a degenerate condition are drawn from their domain, parameter
  values that make a leading coefficient vanish are tried, and a system that is not
  polynomial in the unknowns is searched for further real roots numerically.
"""

from __future__ import annotations

import random

import mpmath
import sympy as sp
from sympy.polys.polyerrors import BasePolynomialError

from .memo import Memo
from .prove import _Atoms

__all__ = ["follows_from", "solutions_at", "degenerate_points"]

GROEBNER_VARS = 40  # beyond this many symbols, the basis is not attempted


def _numerator(e: sp.Expr) -> sp.Expr:
    num, _ = sp.fraction(sp.together(e))
    return sp.expand(num)


MAX_INVERSES = 6


def _atomized_numerators(exprs: list) -> tuple[list, list]:
    """Numerators after atomisation, with one shared table of atoms, so that equal
    applications in the claim and the conditions get the same symbol; and the distinct
    factors of the denominators (nonzero wherever the expressions are defined)."""
    table = _Atoms(sp.Tuple(*exprs))
    fracs = [sp.fraction(sp.together(table.walk(sp.sympify(e)))) for e in exprs]
    nums = [sp.expand(n) for n, _ in fracs]
    dens: list = []
    for _, den in fracs:
        for f in sp.Mul.make_args(sp.factor(den)):
            base = f.base if f.is_Pow and f.exp.is_Integer else f
            if base.free_symbols and base not in dens:
                dens.append(base)
    # constants such as pi become indeterminates too: an identity in an indeterminate
    # holds for its value (and the basis is then computed over Q)
    consts = set().union(*(n.atoms(sp.NumberSymbol) | ({sp.I} if n.has(sp.I) else set())
                           for n in nums + dens))
    names = {c: sp.Dummy(f"c{k}") for k, c in enumerate(sorted(consts, key=str))}
    return [n.xreplace(names) for n in nums], [f.xreplace(names) for f in dens]


def _nonzero_factors(polys: list, gens: list) -> list:
    """Factors of the conditions' coefficients that the symbols' assumptions (the
    declared domains) make nonzero: a positive parameter, a sum of positive ones."""
    out = []
    for p in polys:
        for coeff in sp.Poly(p, *gens).coeffs():
            for f in sp.Mul.make_args(sp.factor(coeff)):
                base = f.base if f.is_Pow and f.exp.is_Integer else f
                if base.free_symbols and (base.is_positive or base.is_negative) \
                        and base not in out:
                    out.append(base)
    return out


def follows_from(diffs: list, given: list, unknowns: list) -> bool:
    """Whether every ``diff == 0`` follows from ``given == 0`` (see the module doc)."""
    # definite integrals are evaluated (the truth by integration, as in prove.py)
    exprs = [e.doit() if e.has(sp.Integral) else e for e in map(sp.sympify, [*diffs, *given])]
    try:
        nums, dens = _atomized_numerators(exprs)
    except (BasePolynomialError, RecursionError):
        return False
    claims, conds = nums[:len(diffs)], [g for g in nums[len(diffs):] if g != 0]
    if all(c == 0 for c in claims):
        return True
    if not conds:
        return False
    symbols = set().union(*(e.free_symbols for e in claims + conds))
    gens = sorted(symbols, key=str)
    if len(gens) > GROEBNER_VARS:
        return False
    unknown_set = set(unknowns)
    # factors that may be inverted: denominators (the claim and the conditions only speak
    # of points where they are defined) and factors the domains make nonzero
    invertible = list(dens)
    for f in _nonzero_factors(conds, [s for s in gens if s in unknown_set] or gens):
        if f not in invertible:
            invertible.append(f)
    # cheapest first: each inverse is one more variable for the basis
    for count in sorted({0, min(2, len(invertible)), min(MAX_INVERSES, len(invertible))}):
        zs = [sp.Dummy(f"inv{k}") for k in range(count)]
        extra = [sp.expand(1 - z * _numerator(f)) for z, f in zip(zs, invertible)]
        try:
            basis = sp.groebner(conds + extra, *gens, *zs, order="grevlex", domain="QQ")
            if all(basis.reduce(c)[1] == 0 for c in claims):
                return True
        except (BasePolynomialError, NotImplementedError, ValueError, TypeError):
            return False
    return False


# -- sampling -------------------------------------------------------------------------------
def _polynomial_in(eqs: list, unknowns: list) -> bool:
    try:
        return all(sp.Poly(e, *unknowns) is not None for e in eqs)
    except (sp.PolynomialError, sp.GeneratorsNeeded, BasePolynomialError):
        return False


def _root_hunt(eqs: list, unknowns: list, rng: random.Random, digits: int) -> list[dict]:
    """Real roots found by Newton's method from spread-out starts (a square system)."""
    if len(eqs) != len(unknowns) or not unknowns:
        return []
    found: list[dict] = []
    starts = [[sp.Integer(s)] * len(unknowns) for s in (-7, -4, -1, 2, 5, 9)]
    starts += [[sp.Rational(rng.randint(-100, 100), 7) for _ in unknowns] for _ in range(4)]
    try:
        newton = _Newton(eqs, unknowns)
    except (ValueError, TypeError, NotImplementedError, NameError, SyntaxError):
        return []
    for start in starts:
        try:
            root = newton(start, digits + 10)
        except (ValueError, ZeroDivisionError, TypeError, NotImplementedError,
                ArithmeticError):
            continue
        values = [sp.Float(r, digits + 10) if r.is_real is not False else None for r in root]
        if any(v is None for v in values) or any(abs(v) > ROOT_BOUND for v in values):
            continue
        sol = dict(zip(unknowns, values))
        if not any(all(abs(sol[k] - s[k]) < sp.Float(10) ** (-digits // 2) for k in unknowns)
                   for s in found):
            found.append(sol)
    return found


#: roots beyond this size are not used, and Newton's iterates beyond it are abandoned
ROOT_BOUND = 10 ** 6


class _Newton:
    """``sympy.nsolve(eqs, unknowns, start, prec, verify=True)``, with the iterates kept
    within :data:`ROOT_BOUND`: from a start where x e^x - a has no root nearby, Newton's
    method runs off to x = 10^30, and mpmath then spent 22 s computing e^x (ln 2 to
    10^30 bits' worth of precision), past the claim's budget.  An iterate that leaves
    the bound ends the run from that start; a root beyond it was discarded anyway."""

    def __init__(self, eqs: list, unknowns: list):
        self.n = len(unknowns)
        self.f = sp.lambdify(unknowns, eqs if self.n > 1 else eqs[0], "mpmath")
        jac = sp.Matrix(eqs).jacobian(unknowns)
        self.J = sp.lambdify(unknowns, jac if self.n > 1 else jac[0, 0], "mpmath")

    def _guard(self, xs) -> None:
        if any(not mpmath.isfinite(x) or abs(x) > ROOT_BOUND for x in xs):
            raise ValueError("Newton's iterates left the bound")

    def __call__(self, start: list, prec: int) -> list:
        def f(*xs):
            self._guard(xs)
            return self.f(*xs)

        def J(*xs):
            self._guard(xs)
            return self.J(*xs)
        with mpmath.workdps(prec):
            x0 = [mpmath.mpf(sp.Float(v, prec)) for v in start]
            if self.n == 1:
                root = [mpmath.findroot(f, x0[0], df=J, verify=True)]
            else:
                got = mpmath.findroot(f, x0, J=J, verify=True)
                root = [got[k] for k in range(self.n)]
        return [sp.Float(r, prec) if not isinstance(r, mpmath.mpc) or not r.imag
                else sp.sympify(complex(r)) for r in root]


def _exact_numerator(e: sp.Expr) -> sp.Expr:
    """The numerator with any float made rational (``nsimplify`` changes nothing else in
    an expression with symbols, so it is skipped where there is no float)."""
    num = _numerator(e)
    return sp.nsimplify(num) if num.has(sp.Float) or not num.free_symbols else num


_SOLVED = Memo(256)


def _solved(eqs: tuple, unknowns: tuple) -> tuple[list, list | None]:
    """(the nonzero numerators of ``eqs``, ``solve``'s solutions or None when it fails),
    memoised: claims under the same conditions, sampled at the same points (the points
    depend on the seed only), solve the same systems.  Pure: no random draws here."""
    def make():
        exact = [e.doit() if e.has(sp.Integral) else e for e in eqs]
        exact = [e for e in map(_exact_numerator, exact) if e != 0]
        if not exact:
            return exact, None
        try:
            return exact, sp.solve(exact, list(unknowns), dict=True)
        except (NotImplementedError, ValueError, TypeError, BasePolynomialError):
            return exact, None
    return _SOLVED.get((eqs, unknowns), make)


def solutions_at(eqs: list, unknowns: list, draw_free, rng: random.Random,
                 digits: int = 50) -> list[dict] | None:
    """Real solutions of ``eqs == 0`` for ``unknowns`` (parameters already numbers).

    Exact solutions from ``solve``; unknowns the conditions leave free get values from
    ``draw_free(unknown)``; when the system is not polynomial in the unknowns (so ``solve``
    may miss solutions), numerically found real roots are added.  None when ``solve``
    fails and nothing else is found.
    """
    eqs, sols = _solved(tuple(eqs), tuple(unknowns))
    if not eqs:
        return [{u: draw_free(u) for u in unknowns}]
    out = []
    for sol in sols or []:
        free = {u: draw_free(u) for u in unknowns if u not in sol}
        full = {k: sp.sympify(v).xreplace(free) for k, v in sol.items()} | free
        if all(v.is_real is not False for v in full.values()) and \
                not any(v.free_symbols & set(unknowns) for v in full.values()):
            out.append(full)
    if not _polynomial_in(eqs, unknowns):
        with mpmath.workdps(digits + 10):
            more = _root_hunt(eqs, unknowns, rng, digits)
        for sol in more:
            if not any(all(abs(sp.N(sol[k] - s[k], digits)) < sp.Float(10) ** (-digits // 2)
                           for k in unknowns) for s in out):
                out.append(sol)
    if sols is None and not out:
        return None
    return out


def degenerate_points(eqs: list, unknowns: list, point: dict) -> list[dict]:
    """Variants of ``point`` where one factor of a coefficient of the conditions (as
    polynomials in the unknowns) vanishes: the parameter values where the solution set
    changes shape, which random draws almost never hit."""
    out: list[dict] = []
    for e in eqs:
        try:
            poly = sp.Poly(_numerator(e), *unknowns)
        except (sp.PolynomialError, sp.GeneratorsNeeded, BasePolynomialError):
            continue
        for coeff in poly.coeffs():
            for f in sp.Mul.make_args(sp.factor(coeff)):
                params = sorted(f.free_symbols & set(point), key=str)
                for s in params[:2]:
                    rest = f.xreplace({p: v for p, v in point.items() if p != s})
                    try:
                        roots = sp.solve(rest, s)
                    except (NotImplementedError, ValueError, TypeError,
                            BasePolynomialError):
                        continue
                    for r in roots[:2]:
                        if r.is_Rational and {**point, s: r} not in out:
                            out.append({**point, s: r})
        if len(out) >= 3:
            break
    return out[:3]
