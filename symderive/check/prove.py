"""Symbolic proof that an explicit expression is identically zero.

Strategy, cheapest first:

1. split on binary symbols (t in {0, 1}), which turns ``y**t`` into plain algebra;
2. replace every transcendental or algebraic function application by a fresh symbol
   and cancel the resulting rational function.  If that cancels to zero the identity
   holds for *any* values of those applications, so the proof is sound (decided by
   polynomial arithmetic, :mod:`.rational`; SymPy's ``together`` where that does not
   apply);
3. fall back to ``sympy.simplify``, which can be slow; the caller runs this in a
   worker process with a deadline so a runaway simplify cannot hang the run.

``None`` means "not shown", never "false": refutation is the numeric phase's job.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import sympy as sp

from .rational import NotRational, numerator_vanishes

__all__ = ["is_zero", "atomize", "combine_integrals", "distinct_nodes"]

_MAX_CASES = 64


class _Atoms:
    def __init__(self, expr: sp.Expr):
        self.table: dict[sp.Basic, sp.Symbol] = {}
        self.memo: dict[sp.Basic, sp.Expr] = {}
        self.denominator = _exp_denominator(expr)

    def atom(self, node: sp.Basic) -> sp.Symbol:
        if node not in self.table:
            self.table[node] = sp.Dummy(f"a{len(self.table)}")
        return self.table[node]

    def exp(self, arg: sp.Expr) -> sp.Expr:
        out = sp.S.One
        for term in sp.Add.make_args(_expanded(arg)):
            coeff, rest = term.as_coeff_Mul()
            if not coeff.is_Rational:
                coeff, rest = sp.S.One, term
            if rest == 1:
                out *= sp.exp(coeff)
                continue
            # one atom per exponent shape, exp(rest / Q) with a common Q, so that
            # exp(rest/2)**2 and exp(rest) are recognised as the same quantity
            power = coeff * self.denominator
            if not power.is_Integer:  # not foreseen: an atom of its own (still sound)
                out *= self.atom(sp.exp(term))
                continue
            out *= self.atom(sp.exp(rest / self.denominator)) ** int(power)
        return out

    def walk(self, e: sp.Basic) -> sp.Expr:
        if e.is_Atom or isinstance(e, sp.Indexed):
            return e
        if e not in self.memo:  # explicit instances share subtrees: visit each once
            self.memo[e] = self._walk(e)
        return self.memo[e]

    def _walk(self, e: sp.Basic) -> sp.Expr:
        args = [self.walk(a) for a in e.args]
        if isinstance(e, (sp.Add, sp.Mul)):
            if all(a is b for a, b in zip(args, e.args)):
                return e  # nothing atomized below: the same rational function
            return e.func(*args)
        if isinstance(e, sp.Pow):
            base, p = args
            if p.is_Integer:
                return base ** p
            if p.is_Rational:
                root = sp.Pow(sp.expand(base), sp.Rational(1, p.q), evaluate=False)
                return self.atom(root) ** p.p
            return self.atom(sp.Pow(base, p))
        if isinstance(e, sp.exp):
            return self.exp(args[0])
        if isinstance(e, sp.Function) or isinstance(e, sp.Expr):
            return self.atom(e.func(*args))
        return e


def distinct_nodes(expr: sp.Basic) -> list:
    """The nodes of ``expr`` in preorder, each distinct one once (the order of
    ``dict.fromkeys(preorder_traversal(expr))``), visiting a repeated subtree once:
    ``preorder_traversal`` and ``atoms`` walk every copy, and the instances and sums
    here repeat large subtrees many times."""
    seen: dict = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen[node] = None
        if isinstance(node, sp.Basic):
            stack.extend(reversed(node.args))
    return list(seen)


@lru_cache(maxsize=4096)
def _expanded(arg: sp.Expr) -> sp.Expr:
    """``sympy.expand(arg)`` of an exponent (pure: remembered; each exponent is expanded
    by ``_exp_denominator`` and again by ``_Atoms.exp``)."""
    return sp.expand(arg)


def _exp_denominator(expr: sp.Expr) -> int:
    """The least common denominator of the rational coefficients in all exponents."""
    q = 1
    for node in distinct_nodes(expr):
        if not isinstance(node, sp.exp):
            continue
        for term in sp.Add.make_args(_expanded(node.args[0])):
            coeff, _ = term.as_coeff_Mul()
            if coeff.is_Rational:
                q = sp.ilcm(q, coeff.q)
    return int(q)


def atomize(expr: sp.Expr) -> sp.Expr:
    """The expression with each function application replaced by a fresh symbol."""
    return _Atoms(expr).walk(expr)


def _applications(expr: sp.Expr, atoms: _Atoms) -> dict:
    """{node: its atomized form} for the outermost nodes of ``expr`` that are not sums,
    products, integer powers, symbols, entries or rational numbers: what ``atomize``
    puts in their place, the rest of ``expr`` being the same rational function."""
    out: dict = {}
    stack = [expr]
    while stack:
        e = stack.pop()
        if e in out or isinstance(e, (sp.Symbol, sp.Indexed)) or e.is_Rational:
            continue
        if e.is_Add or e.is_Mul or e.is_Pow and e.exp.is_Integer:
            stack.extend(e.args)
            continue
        flat = atoms.walk(e)
        if flat != e:  # else not rational (pi, nan, ...): left for SymPy's test
            out[e] = flat
    return out


def _rational_zero(expr: sp.Expr) -> bool:
    if expr == 0:
        return True
    atoms = _Atoms(expr)
    try:  # the same decision, without rebuilding the sums and products as SymPy does
        return numerator_vanishes(expr, _applications(expr, atoms))
    except NotRational:
        pass
    num, _ = sp.fraction(sp.together(atoms.walk(expr)))
    return sp.expand(num) == 0


def combine_integrals(expr: sp.Expr) -> sp.Expr:
    """Integrals over the same variable and limits summed into one (linearity), so that
    terms cancelling in the integrand are never integrated: ``∫f - ∫(f + g)`` is ``-∫g``."""
    groups: dict = {}
    rest = []
    for term in sp.Add.make_args(expr):
        coeff, part = term.as_independent(sp.Integral, as_Add=False)
        if isinstance(part, sp.Integral) and len(part.limits) == 1 \
                and not coeff.free_symbols & set(part.variables):
            groups.setdefault(part.limits, []).append(coeff * part.function)
            continue
        rest.append(term)
    if all(len(fs) < 2 for fs in groups.values()):
        return expr
    return sp.Add(*rest, *(sp.Integral(sp.Add(*fs), *lim) for lim, fs in groups.items()))


def _integrated(expr: sp.Expr) -> sp.Expr:
    """``expr.doit()``, each integral in a sum of terms ``c * Integral(k * f)`` (rational
    k) integrated as ``c * k * Integral(f).doit()`` (linearity) and remembered
    (``_integral``): the claims of one display share integrals (the head of (37) is in
    every line's claim), often with the sign inside in one and outside in another."""
    if not isinstance(expr, sp.Add):
        return expr.doit()
    out = []
    for term in expr.args:
        factors = sp.Mul.make_args(term)
        at = [k for k, f in enumerate(factors) if isinstance(f, sp.Integral)]
        if len(at) != 1:
            out.append(term.doit())
            continue
        part = factors[at[0]]
        k, f = part.function.as_coeff_Mul()
        if not k.is_Rational:
            k, f = sp.S.One, part.function
        rest = [g.doit() for g in factors[:at[0]] + factors[at[0] + 1:]]
        out.append(sp.Mul(*rest, k, _integral(sp.Integral(f, *part.limits))))
    return sp.Add(*out)


@lru_cache(maxsize=64)
def _integral(integral: sp.Integral) -> sp.Expr:
    """``integral.doit()`` (pure: remembered)."""
    return integral.doit()


#: what SymPy's integrate and simplify raise on inputs they cannot handle (integrate
#: of floor(3 t) raises AttributeError, simplify of an integral of Heaviside ValueError
#: "exp_polar(0) is not comparable"): nothing shown, never an error for the claim,
#: whose sampled evidence stands
SYMPY_FAILURES = (ValueError, TypeError, AttributeError, NotImplementedError,
                  RecursionError, ZeroDivisionError, sp.PolynomialError)


def _zero(expr: sp.Expr, use_simplify: bool) -> bool:
    try:
        return _zero_or_raise(expr, use_simplify)
    except SYMPY_FAILURES:
        return False


def _zero_or_raise(expr: sp.Expr, use_simplify: bool) -> bool:
    if expr == 0:
        return True
    if expr.has(sp.Integral):
        expr = _integrated(combine_integrals(expr))  # the truth by integration
    try:
        if _rational_zero(expr):
            return True
    except (sp.PolynomialError, RecursionError):
        pass
    if not use_simplify:
        return False
    simple = sp.simplify(expr)
    if simple == 0:
        return True
    # no force=True: powsimp and expand_log then combine powers and split logarithms only
    # where the symbols' assumptions (taken from the declared domains) license it, so
    # (x**2)**y, log(x*y) and sqrt(x)*sqrt(y) stay as they are for real x and y
    return _rational_zero(sp.expand_log(sp.powsimp(sp.expand(simple))))


def is_zero(expr: sp.Expr, binaries: set | frozenset = frozenset(),
            use_simplify: bool = True) -> bool | None:
    """True when ``expr`` is shown identically zero; None when not shown."""
    expr = sp.sympify(expr)
    present = sorted((b for b in binaries if b in expr.free_symbols), key=str)
    if len(present) > 6:
        present = []
    cases = itertools.product((0, 1), repeat=len(present)) if present else [()]
    for case in itertools.islice(cases, _MAX_CASES):
        e = expr.xreplace(dict(zip(present, map(sp.Integer, case))))
        if not _zero(e, use_simplify):
            return None
    return True
