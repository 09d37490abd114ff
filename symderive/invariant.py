"""Subterms of a sum's summand that do not move with one of its indices.

In ``sum_i sum_j y_ij (z_ij - log sum_k exp z_ik)`` the log-sum-exp depends on ``i``
only, yet a walk of the summand computes it for every ``j``.  :func:`mark_invariants`
finds such subterms once per sum node; the numeric evaluator then computes each once
per value of the symbols it names (``NumericInstantiator._reused``) and charges the work
the walk would have counted, so reuse changes neither values nor counted work.

Pure: what is marked depends on the expression only.  Marks are kept by node identity
(the node is kept alive with its mark, so its id is not reused), bounded.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .nodes import BatchElement, BatchSum, DefRef, DensityExpectation, ScalarD, _DerivativeNode

#: node kinds whose value may come from a cache that a second walk of the same node
#: would hit and this module cannot account for (numeric derivatives, quadrature), or
#: that bind variables to real numbers: never inside a reused subterm
UNSAFE = (_DerivativeNode, ScalarD, sp.Integral, DensityExpectation)

#: nodes too cheap to be worth a look-up (a leaf, one entry of a quantity)
LEAVES = (sp.Atom, sp.Indexed, sp.IndexedBase, sp.MatrixSymbol, DefRef, BatchElement,
          sp.Idx)

#: nodes whose evaluation is dear enough to be worth a look-up (a sum, a function
#: such as log at working precision, a matrix operation); plain arithmetic of a few
#: entries costs about what the look-up does
COSTLY = (sp.Sum, sp.Product, BatchSum, sp.Function, MatrixExpr)

#: id(node) -> (node, the symbols its value may depend on through ``env``)
MARKED: dict = {}
#: id(sum node) -> the node, for the sums already analysed
_ANALYSED: dict = {}
MARKS_MAX = 1 << 15


def forget() -> None:
    """Drop every mark and analysis (bounded tables; tests start from nothing)."""
    _ANALYSED.clear()
    MARKED.clear()


def mark_invariants(e: sp.Basic) -> None:
    """Mark the largest subterms of the summand of ``e`` (a Sum, Product or BatchSum)
    that miss at least one of the indices bound around them (by ``e`` or by sums
    nested in it).  Once per node."""
    hit = _ANALYSED.get(id(e))
    if hit is not None and hit is e:
        return
    if len(_ANALYSED) >= MARKS_MAX or len(MARKED) >= MARKS_MAX:
        forget()
    body, bound = _binder(e)
    _visit(body, bound, {})
    _ANALYSED[id(e)] = e


def _binder(e: sp.Basic) -> tuple[sp.Basic, frozenset]:
    """The body of a sum node and the variables it binds."""
    if isinstance(e, BatchSum):
        return e.summand, frozenset({e.limits[0]})
    return e.function, frozenset(lim[0] for lim in e.limits)


def _visit(node: sp.Basic, bound: frozenset, info: dict) -> None:
    if isinstance(node, LEAVES) or not isinstance(node, sp.Basic):
        return
    symbols, safe, costly = _facts(node, info)
    if isinstance(node, UNSAFE):
        return
    if safe and costly and not bound <= symbols:
        if id(node) not in MARKED:
            MARKED[id(node)] = (node, tuple(sorted(symbols, key=str)))
        return
    if isinstance(node, (sp.Sum, sp.Product, BatchSum)):
        body, inner = _binder(node)
        _visit(body, bound | inner, info)
        return
    for a in node.args:
        _visit(a, bound, info)


def _facts(node: sp.Basic, info: dict) -> tuple[frozenset, bool, bool]:
    """The symbols in ``node`` (free or bound: a superset of what ``env`` can bind for
    it), whether it is free of :data:`UNSAFE` nodes and whether it holds a
    :data:`COSTLY` one."""
    out = info.get(id(node))
    if out is not None:
        return out
    symbols: set = set()
    safe = not isinstance(node, UNSAFE)
    costly = isinstance(node, COSTLY) and not isinstance(node, LEAVES)
    if isinstance(node, (sp.Symbol, sp.Idx)):
        symbols.add(node)
    for a in node.args:
        if isinstance(a, sp.Basic):
            s, ok, dear = _facts(a, info)
            symbols |= s
            safe, costly = safe and ok, costly or dear
    out = info[id(node)] = (frozenset(symbols), safe, costly)
    return out
