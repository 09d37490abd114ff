"""Derivatives of the prover's index notation, by SymPy's own rules without its wrapper.

``sympy.diff`` builds a ``Derivative`` for every node, and ``Derivative.__new__`` walks the
whole result again (its free symbols, whether it is zero, a ``replace`` pass for nested
derivatives) at every level, so a derivative through k nested sums costs k walks of the
summand.  :func:`diff` applies the very rules SymPy's nodes define
(``Add._eval_derivative``, ``Mul._eval_derivative``, ``Pow._eval_derivative``,
``Function._eval_derivative`` with ``fdiff``, ``Indexed._eval_derivative``, and a sum's
linearity) in the same order, so it
builds the same expression; any other node is handed to ``sympy.diff`` itself.
"""

from __future__ import annotations

from functools import reduce

import sympy as sp
from sympy.core.function import ArgumentIndexError

from .sigma import Sigma
from .zero import _free

__all__ = ["diff"]


def diff(e: sp.Basic, x: sp.Basic) -> sp.Basic:
    """d e / d x for a symbol or an entry x (what ``sympy.diff(e, x)`` gives)."""
    if not (_free(e) & x.free_symbols):  # Derivative's quick exit: x does not occur
        return sp.S.Zero
    if e == x:
        return sp.S.One
    if isinstance(e, sp.Add):
        return sp.Add(*[diff(a, x) for a in e.args])
    if isinstance(e, sp.Mul):
        args = list(e.args)
        terms = []
        for i in range(len(args)):
            d = diff(args[i], x)
            if not d:
                continue
            factors = args[:i] + [d] + args[i + 1:]
            if isinstance(x, sp.Symbol):  # Mul._eval_derivative_n_times (Leibniz)
                terms.append(sp.Mul(*factors))
            else:  # Mul._eval_derivative
                terms.append(reduce(lambda p, q: p * q, factors, sp.S.One))
        return sp.Add.fromiter(terms)
    if isinstance(e, sp.Pow):  # Pow._eval_derivative
        base, exp = e.args
        return e * (diff(exp, x) * sp.log(base) + diff(base, x) * exp / base)
    if isinstance(e, sp.Indexed):
        return e._eval_derivative(x)
    if isinstance(e, Sigma):  # Sigma._eval_derivative, with this function inside
        v, lo, hi = e.limits[0]
        if x in lo.free_symbols or x in hi.free_symbols:
            return sp.diff(e, x)  # unevaluated (a sum is not differentiable in its length)
        return Sigma(diff(e.function, x), e.limits[0])
    if isinstance(e, sp.Function) and not isinstance(e, sp.KroneckerDelta):
        out = []
        for i, a in enumerate(e.args, start=1):
            da = diff(a, x)
            if da.is_zero:
                continue
            try:
                df = e.fdiff(i)
            except ArgumentIndexError:
                df = sp.Function.fdiff(e, i)
            out.append(df * da)
        return sp.Add(*out)
    return sp.diff(e, x)
