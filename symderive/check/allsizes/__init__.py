"""Proofs that cover every size of every dimension (see the README, "Proofs for every
size"): the claim is translated into index notation with symbolic sizes
(:mod:`.index_form`) and its two sides are shown equal by rewrites that are identities
for every size (:mod:`.zero`).  Claims outside that fragment are left to the checks at
fixed sizes, and are then at most ``verified``.
"""

from __future__ import annotations

import sympy as sp

from ...assumptions import Binary
from ..prove import distinct_nodes
from .index_form import IndexForm, Unsupported, shape_of
from .shapes import entries_in_shape
from .zero import ZeroTest

__all__ = ["prove_all_sizes", "ARGUMENT"]

ARGUMENT = "index calculus with symbolic sizes"


def prove_all_sizes(claim) -> str | None:
    """The name of a size-generic argument proving ``claim``, or None when none is found
    (which says nothing about whether the claim holds)."""
    d = claim.derivation
    if d is None or claim.given or claim.unknowns:
        return None
    form = IndexForm(d)
    ranges = {i: (sp.Integer(1), dim) for i, dim in d.indices.items()}
    shape = shape_of(claim.lhs)
    if shape != shape_of(claim.rhs):
        return None
    # one generic entry (r, c) of a matrix claim, r and c free over the symbolic shape
    at = []
    for name, size in zip("rc", shape):
        if size == 1:
            at.append(sp.S.One)
        else:
            at.append(sp.Symbol(f"_{name}_entry", integer=True))
            ranges[at[-1]] = (sp.Integer(1), size)
    try:
        # bound variables are renamed as they are met: a sum over i inside d/dv[i] is not
        # about the free i
        sides = (form.entry(claim.lhs, *at), form.entry(claim.rhs, *at))
        # each side on its own: an entry outside its shape may cancel in the difference
        if not all(entries_in_shape(side, ranges, d) for side in sides):
            return None
        diff = sides[0] - sides[1]
    except (Unsupported, TypeError, ValueError, AttributeError, NotImplementedError,
            IndexError):
        return None

    if not _sizes_never_vanish(diff, set(d.dims)):
        return None

    def binary(entry: sp.Indexed) -> bool:
        var = d.vars.get(str(entry.base.label))
        return var is not None and isinstance(var.assume, Binary)

    try:
        ok = ZeroTest(ranges, binary).zero(diff)
    except (TypeError, ValueError, AttributeError, NotImplementedError, RecursionError):
        return None
    return ARGUMENT if ok else None


def _sizes_never_vanish(e: sp.Basic, dims: set) -> bool:
    """Whether every denominator of ``e`` that depends on sizes alone (1/n, 1/(n - 1)) is
    positive for every size >= 1: a polynomial with nonnegative coefficients in (n - 1)
    for each size n and a positive value when every size is 1.  A claim with 1/(n - 1)
    holds at most for n >= 2, which the sizes do not declare, so the prover refuses it."""
    for node in distinct_nodes(e):
        if not (isinstance(node, sp.Pow) and node.exp.is_negative):
            continue
        base = node.base
        syms = base.free_symbols
        if not syms or not syms <= dims:
            continue
        ordered = sorted(syms, key=sp.default_sort_key)
        shifted = sp.expand(base.xreplace({s: s + 1 for s in ordered}))
        try:
            coeffs = sp.Poly(shifted, *ordered).coeffs()
        except sp.PolynomialError:
            return False
        if not all(k.is_number and k >= 0 for k in coeffs):
            return False
        if not shifted.xreplace({s: 0 for s in ordered}) > 0:  # the value at every size 1
            return False
    return True
