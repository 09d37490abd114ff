"""Proofs that cover every size of every dimension (see the README, "Proofs for every
size"): the claim is translated into index notation with symbolic sizes
(:mod:`.index_form`) and its two sides are shown equal by rewrites that are identities
for every size (:mod:`.zero`).  Claims outside that fragment are left to the checks at
fixed sizes, and are then at most ``verified``.
"""

from __future__ import annotations

import sympy as sp

from ...assumptions import Binary
from .index_form import IndexForm, Unsupported, fresh_bound
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
    try:
        # bound variables renamed first: a sum over i inside d/dv[i] is not about the free i
        diff = form.expand(fresh_bound(claim.lhs)) - form.expand(fresh_bound(claim.rhs))
    except (Unsupported, TypeError, ValueError, AttributeError, NotImplementedError):
        return None
    ranges = {i: (sp.Integer(1), dim) for i, dim in d.indices.items()}

    def binary(entry: sp.Indexed) -> bool:
        var = d.vars.get(str(entry.base.label))
        return var is not None and isinstance(var.assume, Binary)

    try:
        ok = ZeroTest(ranges, binary).zero(diff)
    except (TypeError, ValueError, AttributeError, NotImplementedError, RecursionError):
        return None
    return ARGUMENT if ok else None
