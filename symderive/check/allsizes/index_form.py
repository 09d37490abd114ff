"""A claim in index notation with symbolic sizes: definitions expanded, derivatives taken.

Only claims written entry by entry are translated (``Indexed`` entries, ``Sum`` with
symbolic bounds, scalar definitions, derivatives with respect to one entry or scalar);
anything that needs concrete sizes (matrix expressions, packed vectors, held quantities)
raises :class:`Unsupported`, and the claim is left to the fixed-size checks.

Every bound variable is renamed to a fresh symbol before a definition is substituted, so
that substitution never captures a variable (``y[n, m]`` inside a sum over ``m``).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ...derivation import Derivation
from ...nodes import Component, DefRef, Hess, MatD, ScalarD


class Unsupported(Exception):
    """The claim is not in the index-notation fragment this prover handles."""


def fresh_bound(expr: sp.Basic) -> sp.Basic:
    """``expr`` with the variable of every Sum and Product renamed to a fresh Dummy."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    if isinstance(expr, (sp.Sum, sp.Product)):
        body = fresh_bound(expr.function)
        limits = []
        for v, lo, hi in reversed(expr.limits):  # outermost first
            new = sp.Dummy(str(v), integer=True)
            body = body.xreplace({v: new})
            limits.append((new, fresh_bound(lo), fresh_bound(hi)))
        return expr.func(body, *reversed(limits))
    if isinstance(expr, sp.Indexed):
        return expr
    args = [fresh_bound(a) for a in expr.args]
    return expr.func(*args) if args else expr


class IndexForm:
    """Translates one derivation's expressions into plain SymPy index notation."""

    def __init__(self, d: Derivation):
        self.d = d

    def expand(self, e: sp.Basic) -> sp.Basic:
        if isinstance(e, (MatrixExpr, DefRef, MatD, Hess, Component)):
            raise Unsupported(type(e).__name__)
        if isinstance(e, ScalarD):
            return self.derivative(e)
        if isinstance(e, sp.Symbol):
            if e in self.d.defs:
                defn = self.d.defs[e]
                if defn.params or defn.is_matrix:
                    raise Unsupported(f"definition {e} used without its indices")
                return self.expand(fresh_bound(defn.body))
            var = self.d.vars.get(str(e))
            if var is not None and var.kind != "scalar":
                raise Unsupported(f"{e} is a {var.kind}")
            return e
        if isinstance(e, sp.Indexed):
            label = e.base.label
            if label in self.d.defs:
                defn = self.d.defs[label]
                if defn.is_matrix or len(defn.params) != len(e.indices):
                    raise Unsupported(f"definition {label}")
                body = fresh_bound(defn.body)
                return self.expand(body.xreplace(dict(zip(defn.params, e.indices))))
            var = self.d.vars.get(str(label))
            if var is None or var.kind != "tensor":
                raise Unsupported(f"entry of {label}")
            return e
        if e.is_Atom:
            return e
        if isinstance(e, (sp.Sum, sp.Product)):
            return e.func(self.expand(e.function),
                          *[(v, self.expand(lo), self.expand(hi)) for v, lo, hi in e.limits])
        if isinstance(e, (sp.Integral, sp.Piecewise, sp.Derivative)):
            raise Unsupported(type(e).__name__)
        if isinstance(e, sp.Function) and type(e).__module__.split(".")[0] != "sympy" \
                and not hasattr(type(e), "fdiff"):
            raise Unsupported(type(e).__name__)
        args = [self.expand(a) for a in e.args]
        return e.func(*args)

    def derivative(self, e: ScalarD) -> sp.Basic:
        if e.holding:
            raise Unsupported("a derivative holding quantities fixed")
        wrt = e.wrt
        if isinstance(wrt, sp.Indexed):
            var = self.d.vars.get(str(wrt.base.label))
            if var is None or var.kind != "tensor":
                raise Unsupported(f"a derivative with respect to {wrt}")
        elif isinstance(wrt, sp.Symbol):
            var = self.d.vars.get(str(wrt))
            if var is None or var.kind != "scalar":
                raise Unsupported(f"a derivative with respect to {wrt}")
        else:
            raise Unsupported(f"a derivative with respect to {wrt}")
        out = sp.diff(self.expand(e.f), wrt)
        if out.has(sp.Derivative, sp.Subs):
            raise Unsupported("a derivative SymPy leaves unevaluated")
        return out
