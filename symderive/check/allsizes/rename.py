"""Renaming a bound variable, the prover's most frequent rebuild (``zero``'s canonical
variables, ``index_form``'s fresh ones), without SymPy's re-evaluation of every node."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.core.basic import _args_sortkey

__all__ = ["rename"]


@lru_cache(maxsize=65536)
def _symbols(e: sp.Basic) -> frozenset:
    """Every symbol in ``e``, bound ones included."""
    if isinstance(e, sp.Symbol):
        return frozenset((e,))
    return frozenset().union(*map(_symbols, e.args)) if e.args else frozenset()


@lru_cache(maxsize=16384)
def rename(e: sp.Basic, v: sp.Symbol, c: sp.Symbol) -> sp.Basic | None:
    """``e.xreplace({v: c})``, or None unless ``c`` occurs nowhere in ``e``: a free c
    would be merged with v, and a sum over c inside e would capture the renamed v
    (``xreplace`` does not know bound variables).  Renaming one integer symbol
    to another with the same assumptions is then injective and changes no assumption, so
    SymPy would evaluate every rebuilt node exactly as it evaluated the original: only
    the canonical order of the terms of sums and products can change.  Nodes are
    therefore rebuilt without evaluation (re-sorted where the order is canonical), which
    spares the assumption queries of SymPy's constructors."""
    if c in _symbols(e):
        return None
    if v.assumptions0 != c.assumptions0:
        return e.xreplace({v: c})
    return _renamed(e, v, c)


def _renamed(e: sp.Basic, v, c) -> sp.Basic:
    if isinstance(e, sp.Symbol):
        return c if e == v else e
    if not e.args or v not in _symbols(e):
        return e
    args = [_renamed(a, v, c) for a in e.args]
    if isinstance(e, (sp.Add, sp.Mul)) and e.is_commutative:
        numbers = [a for a in args if a.is_Number]
        rest = [a for a in args if not a.is_Number]
        rest.sort(key=_args_sortkey)
        return e.func._from_args(numbers + rest)
    if isinstance(e, sp.Pow):
        return sp.Pow(*args, evaluate=False)
    if isinstance(e, sp.Function) and len(args) == 1 \
            and not isinstance(e, sp.KroneckerDelta):
        return e.func(*args, evaluate=False)
    return e.func(*args)
