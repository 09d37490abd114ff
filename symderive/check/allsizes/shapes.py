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

from functools import lru_cache

import sympy as sp

from .sigma import Sigma
from .zero import _bounds_ok, _entries, _free

_CHAIN = 8  # at most this many bounds followed from an index to a size


def entries_in_shape(e: sp.Basic, ranges: dict, d) -> bool:
    """Whether every entry of a declared variable in ``e`` is shown inside its shape;
    ``ranges`` maps each free index to its (lo, hi).  False means "not shown"."""
    return _walk(e, dict(ranges), (), d, set())


def _walk(e: sp.Basic, ranges: dict, scope: tuple, d, seen: set) -> bool:
    """``scope`` lists the limits ``ranges`` adds to the caller's: with the node it keys
    the subtrees already shown (each distinct subtree is walked once per scope)."""
    if not isinstance(e, sp.Basic) or not _entries(e):
        return True
    key = (e, scope)
    if key in seen:
        return True
    if isinstance(e, sp.Indexed):
        ok = _entry_ok(e, ranges, d)
    elif isinstance(e, (Sigma, sp.Sum, sp.Product)):
        inner, ok = dict(ranges), True
        for v, lo, hi in reversed(e.limits):  # outermost first
            ok = ok and _walk(lo, inner, scope, d, seen) and _walk(hi, inner, scope, d, seen)
            inner[v] = (lo, hi)
            scope = (*scope, (v, lo, hi))
        ok = ok and _walk(e.function, inner, scope, d, seen)
    else:
        ok = all(_walk(a, ranges, scope, d, seen) for a in e.args)
    if ok:
        seen.add(key)
    return ok


def _entry_ok(x: sp.Indexed, ranges: dict, d) -> bool:
    var = d.vars.get(str(x.base.label))
    if var is None or var.kind == "scalar":
        return True  # a held definition's placeholder: not a declared variable's entry
    if len(x.indices) > len(var.shape):
        return False
    return all(_over(k, size, ranges) or (_at_least(k, sp.S.One, ranges, up=False)
                                          and _at_least(sp.sympify(size), k, ranges, up=True))
               for k, size in zip(x.indices, var.shape))


def _over(k, size, ranges: dict) -> bool:
    """The common case, decided without arithmetic: k runs over exactly 1..size."""
    r = ranges.get(k)
    return r is not None and r[0] == 1 and r[1] == size


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
    syms = _free(a) | _free(b)
    starts = frozenset((s, ranges[s][0] == 1) for s in syms if s in ranges)
    return _ge_starts(a, b, starts)


@lru_cache(maxsize=4096)
def _ge_starts(a: sp.Expr, b: sp.Expr, starts: frozenset) -> bool:
    """``_ge`` given which symbols start at 1 (pure: remembered)."""
    return _bounds_ok(b + 1, a, starts)
