"""Exact zero test of a rational function, by sparse polynomial arithmetic.

``prove`` reduces an identity to "this rational function of atoms cancels" and used to
decide that with ``together`` and ``expand``, which rebuild SymPy trees (and ask their
assumptions) at every step.  Here the expression is read once into a numerator
polynomial over QQ and a denominator kept as a product of factors, each a nonzero
polynomial:

* an entry or a symbol is a variable, a rational number a constant;
* a sum is taken over the common multiple of its terms' denominators (the highest power
  of each factor), a product multiplies numerators and adds factor exponents, an integer
  power raises both; a negative power moves the numerator into the denominator (split
  into its monomial content and the rest, so that ``x`` is one factor wherever it is).

The expression is then ``N / D`` with ``D`` a product of nonzero polynomials, so it is
the zero rational function exactly when the polynomial ``N`` is zero: the decision
``together``/``expand`` made, without a greatest common divisor and without SymPy
objects.  Anything else (a function application, a non-rational number such as ``pi``,
``E``, ``I``, a float or ``zoo``, a non-commutative symbol) raises :class:`NotRational`
and the caller uses SymPy; dividing by a polynomial that is zero answers "not shown".
"""

from __future__ import annotations

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.orderings import lex
from sympy.polys.rings import PolyRing

__all__ = ["NotRational", "numerator_vanishes"]

#: the ring's variables, by position (one ring per count: SymPy caches rings, so a fixed
#: set keeps that cache bounded)
_VARS = sp.symbols("_rv0:256")


class NotRational(Exception):
    """The expression is not a rational function of symbols and entries."""


def numerator_vanishes(expr: sp.Expr, replaced: dict | None = None) -> bool:
    """Whether ``expr``, a rational function of its symbols and entries, is identically
    zero, each node in ``replaced`` read as its value there.  Raises
    :class:`NotRational` for anything else."""
    replaced = replaced or {}
    variables = _variables(expr, replaced)
    if len(variables) > len(_VARS):
        raise NotRational("too many variables")
    try:
        num, _ = _Reader(variables, replaced).read(expr)
    except ZeroDivisionError:  # a denominator that is the zero polynomial: not shown
        return False
    return not num


def _variables(expr: sp.Basic, replaced: dict) -> list:
    """The symbols and entries of ``expr`` (a node in ``replaced`` by its value), each
    once (an entry's indices are not variables of their own: the entry is)."""
    seen: dict = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen[node] = None
        if node in replaced:
            stack.append(replaced[node])
        elif not isinstance(node, (sp.Symbol, sp.Indexed)):
            stack.extend(node.args)
    return [x for x in seen if isinstance(x, (sp.Symbol, sp.Indexed))]


class _Reader:
    def __init__(self, variables: list, replaced: dict):
        self.ring = PolyRing(_VARS[:max(len(variables), 1)], QQ, lex)
        self.vars = dict(zip(variables, self.ring.gens))
        self.replaced = replaced
        self.memo: dict = {}

    def read(self, e: sp.Basic) -> tuple:
        """(numerator, {factor: exponent}) of ``e``; shared subtrees read once."""
        out = self.memo.get(e)
        if out is None:
            out = self._read(e)
            self.memo[e] = out
        return out

    def _read(self, e: sp.Basic) -> tuple:
        R = self.ring
        if e in self.replaced:
            return self.read(self.replaced[e])
        var = self.vars.get(e)
        if var is not None:
            if not e.is_commutative:
                raise NotRational(str(e))
            return var, {}
        if e.is_Rational:
            return R(QQ(int(e.p), int(e.q))), {}
        if e.is_Add:
            parts = [self.read(a) for a in e.args]
            den: dict = {}
            for _, d in parts:
                for f, k in d.items():
                    if den.get(f, 0) < k:
                        den[f] = k
            num = R.zero
            for n, d in parts:
                for f, k in den.items():
                    if k > d.get(f, 0):
                        n = n * f ** (k - d.get(f, 0))
                num += n
            return num, den
        if e.is_Mul:
            num, den = R.one, {}
            for a in e.args:
                n, d = self.read(a)
                num = num * n
                for f, k in d.items():
                    den[f] = den.get(f, 0) + k
            return num, den
        if e.is_Pow and e.exp.is_Integer:
            n, d = self.read(e.base)
            k = int(e.exp)
            if k >= 0:
                return n ** k, {f: j * k for f, j in d.items()}
            if not n:
                raise ZeroDivisionError
            coeff, factors = self._factors(n)
            num = R(QQ(1) / coeff) ** -k
            for f, j in d.items():
                num = num * f ** (-j * k)
            return num, {f: -j * k for f, j in factors.items()}
        raise NotRational(type(e).__name__)

    def _factors(self, p) -> tuple:
        """(c, {factor: exponent}) with p = c * prod(factor**exponent): a variable per
        power in the monomial content, and the rest divided by its leading coefficient."""
        R = self.ring
        low = tuple(map(min, zip(*p.keys())))
        factors = {R.gens[i]: k for i, k in enumerate(low) if k}
        if factors:
            p = R({tuple(a - b for a, b in zip(m, low)): c for m, c in p.items()})
        coeff = p.LC
        p = p.quo_ground(coeff)
        if p != R.one:
            factors[p] = factors.get(p, 0) + 1
        return coeff, factors
