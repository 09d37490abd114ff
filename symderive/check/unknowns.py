"""Vector and matrix unknowns of a stationary claim, entry by entry.

``d.stationary(id, f, [w], {w: (X.T*X + lam*I).I * X.T * y})`` has one unknown, the
vector ``w``: the Lagrange conditions are solved for its entries, and the claimed
solution, a matrix expression, is made explicit and matched entry by entry.  A claimed
solution whose shape is not the unknown's is refuted by shape.
"""

from __future__ import annotations

import sympy as sp

from ..derivation import Derivation
from ..instantiate import Instantiator
from ..nodes import is_matrix
from .instances import ShapeMismatch, expand_family


def unknown_entries(inst: Instantiator, d: Derivation, variables) -> list:
    """The scalar unknowns: a vector or matrix unknown stands for its entries."""
    out: list = []
    for v in variables:
        if is_matrix(v):
            out += list(inst.explicit(v))
        else:
            out += expand_family(inst, d, [v])
    return out


def matrix_point(inst: Instantiator, var, value, env: dict) -> dict:
    """``{entry of var: entry of value}`` for a matrix unknown and its claimed value."""
    L = inst.explicit(var, env)
    R = inst.explicit(sp.sympify(value), env)
    if L.shape != R.shape:
        raise ShapeMismatch(inst.sizes, env, L.shape, R.shape)
    return dict(zip(L, R))
