"""Vector and matrix unknowns of a stationary claim, entry by entry.

``d.stationary(id, f, [w], {w: (X.T*X + lam*I).I * X.T * y})`` has one unknown, the
vector ``w``: the Lagrange conditions are solved for its entries, and the claimed
solution, a matrix expression, is made explicit and matched entry by entry.  A claimed
solution whose shape is not the unknown's is refuted by shape.

A structured unknown (``d.matrix("S", n, n, assume=SYMMETRIC)``) is made explicit from
its free entries, so its unknowns are those, each once: S[1, 2] stands for both S[1, 2]
and S[2, 1], and a diagonal one has no unknowns off the diagonal.  Listing S[1, 2] twice
made the Hessian of the Lagrangian singular, or at a larger size wrong, so that the
nearest symmetric matrix (C + Cᵀ)/2 was refuted as "not a maximum".  The claimed value
must then lie in the domain: its entries where the unknown repeats one, or has a 0,
are conditions on the point (:func:`matrix_point`), checked like its other domains.  An
orthogonal unknown, whose entries are rational functions of Cayley parameters, is not
supported.
"""

from __future__ import annotations

import sympy as sp

from ..derivation import Derivation
from ..instantiate import Instantiator
from ..matrix_domains import Invertible, PositiveDefinite, structured
from ..nodes import is_matrix
from ..walker import InstantiationError
from .instances import ShapeMismatch, expand_family


def unknown_entries(inst: Instantiator, d: Derivation, variables) -> list:
    """The scalar unknowns: a vector or matrix unknown stands for its free entries, each
    once (a symmetric S[1, 2] is also S[2, 1]; a diagonal one's zeros are no unknowns)."""
    out: list = []
    seen: set = set()
    for v in variables:
        if not is_matrix(v):
            out += expand_family(inst, d, [v])
            continue
        for x in inst.explicit(v):
            if x.is_Number:
                continue
            if not isinstance(x, (sp.Symbol, sp.Indexed)):
                raise InstantiationError(
                    f"the unknown {v} is not made of free entries ({x}): an orthogonal "
                    f"unknown is not supported")
            if x not in seen:
                seen.add(x)
                out.append(x)
    return out


def matrix_point(inst: Instantiator, var, value, env: dict) -> tuple[dict, list]:
    """``({entry of var: entry of value}, conditions)`` for a matrix unknown and its
    claimed value.  ``conditions``, (kind, text, expression) triples, are what puts the
    value in the unknown's domain: an expression of kind ``"zero"`` must vanish (the two
    entries a symmetric unknown shares agree, an entry where a diagonal one has 0 is 0),
    one of kind ``"positive"`` be > 0 (the leading minors of a positive-definite one),
    one of kind ``"nonzero"`` be != 0 (the determinant of an invertible one): G = 0 is
    no maximiser over the invertible matrices, nor K = C over the positive-definite
    ones when C is not positive definite."""
    L = inst.explicit(var, env)
    R = inst.explicit(sp.sympify(value), env)
    if L.shape != R.shape:
        raise ShapeMismatch(inst.sizes, env, L.shape, R.shape)
    point: dict = {}
    where: dict = {}
    conditions: list = []
    for k, (x, r) in enumerate(zip(L, R)):
        at = f"{var}[{k // L.cols + 1},{k % L.cols + 1}]"
        if x.is_Number:
            conditions.append(("zero", f"the claimed {var} has a nonzero entry {at} where "
                               f"the unknown has {x}", r - x))
        elif x in point:
            conditions.append(("zero", f"the claimed {var} has {where[x]} != {at}, entries "
                               f"that the unknown shares", r - point[x]))
        else:
            point[x], where[x] = r, at
    var_decl = inst.d.vars.get(var.name) if isinstance(var, sp.MatrixSymbol) else None
    domain = structured(var_decl) if var_decl is not None else None
    if isinstance(domain, PositiveDefinite):
        conditions += [("positive", f"the claimed {var} is not positive definite: its "
                        f"leading minor of order {k}", R[:k, :k].det(method="berkowitz"))
                       for k in range(1, R.rows + 1)]
    elif isinstance(domain, Invertible):
        conditions.append(("nonzero", f"the claimed {var} is singular: its determinant",
                           R.det(method="berkowitz")))
    return point, conditions
