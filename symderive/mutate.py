"""Planted mistakes: variants of a claim that a working checker must refute.

A checker that accepts a true claim proves little unless it also rejects the same claim
with the typical slips of a hand derivation: a sign flip, a transpose, a missing factor,
a swapped symbol, a wrong exponent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .derivation import Claim, StationaryClaim

KINDS = ("sign", "transpose", "factor", "swap", "exponent")


def variant(claim: Claim, suffix: str, **changes) -> Claim:
    """A detached copy of ``claim`` (not added to its derivation) with some fields changed."""
    new = dataclasses.replace(claim, id=f"{claim.id}~{suffix}", erratum=None, **changes)
    new.derivation = claim.derivation
    return new


def _first(expr: sp.Basic, test) -> sp.Basic | None:
    for node in sp.preorder_traversal(expr):
        if test(node):
            return node
    return None


def _swap_pairs(claim: Claim, expr: sp.Basic) -> Iterator[tuple[sp.Basic, sp.Basic]]:
    """Pairs of distinct declared symbols of the same kind and shape used in ``expr``."""
    d = claim.derivation
    used = []
    for node in sp.preorder_traversal(expr):
        name = None
        if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) and str(node) in d.vars:
            name = str(node)
        elif isinstance(node, sp.IndexedBase) and str(node.label) in d.vars:
            name = str(node.label)
        if name and d.vars[name] not in used:
            used.append(d.vars[name])
    for var in d.vars.values():
        for u in used:
            if var is not u and var.kind == u.kind and var.shape == u.shape:
                a, b = u.obj, var.obj
                if hasattr(a, "symbol"):  # batch
                    a, b = a.symbol, b.symbol
                yield a, b


def mutate_expr(claim: Claim, expr: sp.Basic, kind: str) -> sp.Basic | None:
    """``expr`` with one planted mistake of ``kind``, or None when it does not apply."""
    if kind == "sign":
        return -expr
    if kind == "transpose":
        if isinstance(expr, MatrixExpr) and expr.shape[0] != 1 and expr.shape[1] != 1:
            return expr.T
        mat = _first(expr, lambda n: isinstance(n, sp.MatrixSymbol) and n.shape[0] == n.shape[1]
                     and n.shape[0] != 1)
        return expr.xreplace({mat: mat.T}) if mat is not None else None
    if kind == "factor":
        mul = _first(expr, lambda n: isinstance(n, (sp.Mul, sp.MatMul)) and len(n.args) > 1
                     and n.args[0].is_Number and n.args[0] not in (1, -1))
        if mul is not None:
            return expr.xreplace({mul: mul.func(*mul.args[1:])})
        return 2 * expr
    if kind == "exponent":
        pw = _first(expr, lambda n: isinstance(n, (sp.Pow, sp.HadamardPower))
                    and n.args[1].is_Number)
        if pw is not None:
            return expr.xreplace({pw: pw.func(pw.args[0], pw.args[1] + 1)})
        return None
    if kind == "swap":
        for a, b in _swap_pairs(claim, expr):
            swapped = expr.xreplace({a: b})
            if swapped != expr:
                return swapped
        return None
    raise ValueError(f"unknown mutation {kind!r}")


def mutants(claim: Claim, kinds=KINDS) -> list[Claim]:
    """Every applicable planted mistake of ``claim``, each as a detached claim."""
    out = []
    for kind in kinds:
        if isinstance(claim, StationaryClaim):
            new_point = {}
            for v, val in claim.point.items():
                m = mutate_expr(claim, sp.sympify(val), kind)
                new_point[v] = m if m is not None else val
            if new_point != dict(claim.point):
                out.append(variant(claim, kind, point=new_point))
            continue
        m = mutate_expr(claim, claim.rhs, kind)
        if m is not None and m != claim.rhs:
            out.append(variant(claim, kind, rhs=m))
    return out
