"""Entries within their declared shapes at every size (README, "Proofs for every size",
step 9).

The fixed-size checks refute a claim that names an entry outside its variable's declared
shape (``Z[7]`` of a ``Z`` with n = 6 entries).  Which sizes they sample decides whether
they see it: ``Sum(Z[k], (k, 1, m))`` with ``Z`` of length n is out of shape only when
m > n.  The prover must not call such a claim true for every size, so every entry of a
declared variable in the claim's index form must have each index in 1..(declared size)
for every size and every value of the free indices and summation variables.
"""

from __future__ import annotations

import sympy as sp

from .sigma import Sigma
from .zero import _bounds_ok, _entries

_CHAIN = 8  # at most this many bounds followed from an index to a size


def entries_in_shape(e: sp.Basic, ranges: dict, d) -> bool:
    """Whether every entry of a declared variable in ``e`` is shown inside its shape;
    ``ranges`` maps each free index to its (lo, hi).  False means "not shown"."""
    seen: set = set()
    return _walk(e, dict(ranges), d, seen)


def _walk(e: sp.Basic, ranges: dict, d, seen: set) -> bool:
    if not isinstance(e, sp.Basic) or not _entries(e):
        return True
    if isinstance(e, sp.Indexed):
        return _entry_ok(e, ranges, d)
    if isinstance(e, (Sigma, sp.Sum, sp.Product)):
        inner = dict(ranges)
        for v, lo, hi in reversed(e.limits):  # outermost first
            if not (_walk(lo, inner, d, seen) and _walk(hi, inner, d, seen)):
                return False
            inner[v] = (lo, hi)
        return _walk(e.function, inner, d, seen)
    key = (e, tuple(sorted(ranges.items(), key=sp.default_sort_key)))
    if key in seen:
        return True
    ok = all(_walk(a, ranges, d, seen) for a in e.args)
    if ok:
        seen.add(key)
    return ok


def _entry_ok(x: sp.Indexed, ranges: dict, d) -> bool:
    var = d.vars.get(str(x.base.label))
    if var is None or var.kind == "scalar":
        return True  # a held definition's placeholder: not a declared variable's entry
    if len(x.indices) > len(var.shape):
        return False
    return all(_at_least(k, sp.S.One, ranges, up=False)
               and _at_least(sp.sympify(size), k, ranges, up=True)
               for k, size in zip(x.indices, var.shape))


def _at_least(a: sp.Expr, b: sp.Expr, ranges: dict, up: bool) -> bool:
    """Whether a >= b for every size and every value in ``ranges``.  The side in
    question (b when ``up``, else a) is ``k + s`` or ``k - s`` for an index or summation
    variable s (k free of s); s is replaced by the end of its range that bounds the side
    (above: hi in k + s, lo in k - s), which is valid wherever s takes a value."""
    for _ in range(_CHAIN):
        if _ge(a, b, ranges):
            return True
        side = b if up else a
        ranged = sorted((s for s in side.free_symbols if s in ranges),
                        key=sp.default_sort_key)
        if not ranged:
            return False
        s = ranged[0]
        c = side.coeff(s)
        if c not in (1, -1) or (side - c * s).has(s):
            return False
        lo, hi = ranges[s]
        bound = hi if (c == 1) == up else lo  # the end of s's range that bounds side
        side = side.xreplace({s: bound})
        if up:
            b = side
        else:
            a = side
    return False


def _ge(a: sp.Expr, b: sp.Expr, ranges: dict) -> bool:
    """a >= b shown as ``_bounds_ok``'s polynomial test on a - b (each size >= 1, each
    index whose range starts at 1 >= 1)."""
    syms = sp.sympify(a).free_symbols | sp.sympify(b).free_symbols
    starts = frozenset((s, sp.sympify(ranges[s][0]) == 1) for s in syms if s in ranges)
    return _bounds_ok(sp.sympify(b) + 1, sp.sympify(a), starts)
