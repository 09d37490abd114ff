"""Entries named outside a declared tensor's shape, found without evaluating.

The numeric walk refutes a claim that names ``Z[j, l]`` for ``Z[l, j]`` when it visits
the entry (:class:`~symderive.walker.IndexRangeError`).  At a size too costly to
evaluate to the end, the walk stops at its work limit, perhaps before that entry, and
the smaller fallback sizes give every dimension the same size, where the swap cannot
be seen: the claim would be verified.  So a capped size is read statically first.

The reading is sound in the direction that matters (it never names an entry the walk
would not): it descends only through nodes whose every operand the walk evaluates
(sums, products, powers, elementary functions and sums over integer ranges, evaluated
for every index value), never into a conditional (``Piecewise``) or any other node,
and it reports an entry only when each of its indices is a declared or summed index
(plus an integer) whose whole range is known at these sizes.
"""

from __future__ import annotations

import sympy as sp

from ..derivation import Claim
from ..walker import IndexRangeError

#: functions whose every argument the numeric walk evaluates
_THROUGH = (sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log, sp.Abs, sp.sin, sp.cos, sp.tan,
            sp.sinh, sp.cosh, sp.tanh, sp.sign)


def outside_shape(claim: Claim, sizes: dict) -> IndexRangeError | None:
    """The first entry of a declared tensor that ``claim`` names outside its declared
    shape at ``sizes``, as the error the walk would raise, or None."""
    d = claim.derivation
    ranges = {}
    for sym, dim in d.indices.items():
        span = _int(dim, sizes)
        if span is not None and span >= 1:
            ranges[sym] = (1, span)
    for side in (claim.lhs, claim.rhs):
        if isinstance(side, sp.Basic):
            found = _visit(side, ranges, d, sizes)
            if found is not None:
                return found
    return None


def _int(expr, sizes: dict) -> int | None:
    value = sp.sympify(sp.sympify(expr).xreplace(sizes))
    return int(value) if value.is_Integer else None


def _visit(e: sp.Basic, ranges: dict, d, sizes: dict) -> IndexRangeError | None:
    if isinstance(e, sp.Indexed):
        return _entry(e, ranges, d, sizes)
    if isinstance(e, sp.Sum):
        inner = dict(ranges)
        for var, lo, hi in e.limits:
            lo_, hi_ = _int(lo, sizes), _int(hi, sizes)
            if lo_ is None or hi_ is None:  # a range that depends on an outer index
                inner.pop(var, None)
                continue
            if hi_ < lo_:  # the body is never evaluated
                return None
            inner[var] = (lo_, hi_)
        return _visit(e.function, inner, d, sizes)
    if not isinstance(e, _THROUGH):
        return None
    for arg in e.args:
        found = _visit(arg, ranges, d, sizes)
        if found is not None:
            return found
    return None


def _entry(e: sp.Indexed, ranges: dict, d, sizes: dict) -> IndexRangeError | None:
    name = str(e.base.label)
    var = d.vars.get(name)
    if var is None or var.kind != "tensor" or len(e.indices) != len(var.shape):
        return None
    bounds = [_int(b, sizes) for b in var.shape]
    parts = [_affine(i, ranges) for i in e.indices]
    if None in bounds or None in parts:
        return None
    for (sym, offset), bound in zip(parts, bounds):
        lo, hi = ranges.get(sym, (0, 0))  # a constant index: the offset alone
        if lo + offset < 1:
            pick = lo
        elif hi + offset > bound:
            pick = max(lo, bound - offset + 1)  # the first value past the bound
        else:
            continue
        values = {s: ranges[s][0] for s, _ in parts if s is not None}  # the others lowest
        values[sym] = pick
        index = tuple(values.get(s, 0) + c for s, c in parts)
        return IndexRangeError(name, index, var.shape, dict(sizes))
    return None


def _affine(i, ranges: dict) -> tuple | None:
    """``(symbol, offset)`` for an index ``s + c`` with ``s`` of known range, or
    ``(None, c)`` for a constant ``c``; None for anything else."""
    i = sp.sympify(i)
    if i.is_Integer:
        return None, int(i)
    if i in ranges:
        return i, 0
    if isinstance(i, sp.Add) and len(i.args) == 2:
        c, s = sorted(i.args, key=lambda a: not a.is_Integer)
        if c.is_Integer and s in ranges:
            return s, int(c)
    return None
