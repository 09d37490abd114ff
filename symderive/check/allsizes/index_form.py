"""A claim in index notation with symbolic sizes: definitions expanded, derivatives taken.

Claims written entry by entry (``Indexed`` entries, ``Sum`` with symbolic bounds) and
claims in matrix notation (matrix products, transposes, Hadamard products and powers,
elementwise functions, softmax, batch sums, broadcasts, entries, derivative nodes, with
quantities held fixed) are translated into one scalar expression per entry ``(r, c)``,
with ``r`` and ``c`` symbols ranging over the symbolic shape.  The translation follows
the fixed-size instantiator (:class:`symderive.instantiate.Instantiator`) rule by rule,
with sums of symbolic length in place of explicit ones; anything that needs concrete
sizes (inverses, determinants, structured matrices, packed vectors, integrals) raises
:class:`Unsupported`, and the claim is left to the fixed-size checks.

Every bound variable is renamed to a fresh symbol before a definition is substituted, so
that substitution never captures a variable (``y[n, m]`` inside a sum over ``m``).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.matexpr import MatrixElement

from ...derivation import Derivation
from ...instantiate import ELEMENTWISE
from ...nodes import (
    AsScalar,
    BatchSum,
    Broadcast,
    Component,
    Elementwise,
    Hess,
    ScalarD,
    Softmax,
    _DerivativeNode,
    indicator,
    relu,
)
from ...walker import InstantiationError, held_by
from .calculus import diff
from .rename import rename
from .sigma import SUMS, Sigma


class Step(sp.Function):
    """Heaviside(x) (1/2 at 0, SymPy's convention, as at fixed sizes), kept unevaluated:
    SymPy's own asks for the sign of its argument, which is slow on large sums."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.DiracDelta(self.args[0])


class Relu(sp.Function):
    """Max(0, x), kept unevaluated, with Max(0, x)'s derivative in SymPy: Heaviside(x)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return Step(self.args[0])


#: the elementwise functions, as the instantiator's ELEMENTWISE (the same functions)
FUNCTIONS = {**ELEMENTWISE, "relu": Relu, "indicator": Step}


class Unsupported(Exception):
    """The claim is not in the index-notation fragment this prover handles."""


def _bound_var() -> sp.Dummy:
    return sp.Dummy("k", integer=True)


def fresh_bound(expr: sp.Basic) -> sp.Basic:
    """``expr`` with the variable of every Sum, Product and batch sum renamed to a fresh
    Dummy."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    if isinstance(expr, Sigma):
        (v, lo, hi), = expr.limits
        new = sp.Dummy(str(v), integer=True)
        return Sigma(_fresh(fresh_bound(expr.function), v, new),
                     (new, fresh_bound(lo), fresh_bound(hi)))
    if isinstance(expr, (sp.Sum, sp.Product)):
        body = fresh_bound(expr.function)
        limits = [tuple(lim) for lim in expr.limits]  # innermost first
        for k in reversed(range(len(limits))):  # outermost first
            v = limits[k][0]
            new = {v: sp.Dummy(str(v), integer=True)}
            # the variable is bound in the summand and in the bounds of the inner sums
            body = body.xreplace(new)
            limits[:k] = [(w, lo.xreplace(new), hi.xreplace(new))
                          for w, lo, hi in limits[:k]]
            limits[k] = (new[v], fresh_bound(limits[k][1]), fresh_bound(limits[k][2]))
        return expr.func(body, *limits)
    if isinstance(expr, BatchSum):
        v, lo, hi = expr.limits
        new = sp.Dummy(str(v), integer=True)
        return BatchSum(_fresh(fresh_bound(expr.summand), v, new),
                        sp.Tuple(new, fresh_bound(lo), fresh_bound(hi)))
    if isinstance(expr, sp.Indexed):
        return expr
    args = [fresh_bound(a) for a in expr.args]
    return expr.func(*args) if args else expr


def _fresh(e: sp.Basic, v: sp.Symbol, new: sp.Dummy) -> sp.Basic:
    """``e`` with v renamed to the fresh ``new`` (which occurs nowhere in e)."""
    out = rename(e, v, new)
    return e.xreplace({v: new}) if out is None else out


def shape_of(e: sp.Basic) -> tuple[sp.Expr, sp.Expr]:
    """The symbolic shape of ``e`` (a scalar is 1 x 1)."""
    if isinstance(e, MatrixExpr):
        return tuple(sp.sympify(s) for s in e.shape)
    return (sp.S.One, sp.S.One)


def _one(x) -> bool:
    return sp.sympify(x) == 1


class IndexForm:
    """Translates one derivation's expressions into plain SymPy index notation.

    ``cuts`` are the definitions held as independent variables (inside a derivative that
    holds them fixed), as in the instantiator: a held definition is a placeholder entry
    ``token[idx..., r(, c)]`` (or the token itself for a scalar), put back after
    differentiating.
    """

    def __init__(self, d: Derivation):
        self.d = d

    # -- scalars -----------------------------------------------------------------------
    def expand(self, e: sp.Basic, cuts: frozenset = frozenset()) -> sp.Basic:
        if isinstance(e, MatrixExpr):
            if shape_of(e) != (1, 1):
                raise Unsupported(f"a matrix where a scalar is expected: {e}")
            return self.entry(e, sp.S.One, sp.S.One, cuts)
        if isinstance(e, ScalarD):
            return self.derivative(e, sp.S.One, sp.S.One, cuts)
        if isinstance(e, AsScalar):
            return self.entry(e.arg, sp.S.One, sp.S.One, cuts)
        if isinstance(e, Component):
            return self.entry(e.vector, self.expand(e.k, cuts), sp.S.One, cuts)
        if isinstance(e, sp.Symbol):
            if e in self.d.defs:
                defn = self.d.defs[e]
                if defn.params or defn.is_matrix:
                    raise Unsupported(f"definition {e} used without its indices")
                if e in cuts:
                    return e
                return self.expand(fresh_bound(defn.body), cuts)
            var = self.d.vars.get(str(e))
            if var is not None and var.kind != "scalar":
                raise Unsupported(f"{e} is a {var.kind}")
            return e
        if isinstance(e, sp.Indexed):
            label = e.base.label
            idx = tuple(self.expand(k, cuts) for k in e.indices)
            if label in self.d.defs:
                defn = self.d.defs[label]
                if defn.is_matrix or len(defn.params) != len(idx):
                    raise Unsupported(f"definition {label}")
                if label in cuts:
                    return sp.IndexedBase(label)[idx]
                return self._definition(label, idx, cuts)
            var = self.d.vars.get(str(label))
            if var is None or var.kind != "tensor":
                raise Unsupported(f"entry of {label}")
            return e.base[idx]
        if e.is_Atom:
            return e
        if isinstance(e, sp.Product):
            e = fresh_bound(e)
            return e.func(self.expand(e.function, cuts),
                          *[(v, self.expand(lo, cuts), self.expand(hi, cuts))
                            for v, lo, hi in e.limits])
        if isinstance(e, SUMS):  # nested Sigmas, the innermost limit first
            e = fresh_bound(e)
            out = self.expand(e.function, cuts)
            for v, lo, hi in e.limits:
                out = Sigma(out, (v, self.expand(lo, cuts), self.expand(hi, cuts)))
            return out
        if isinstance(e, relu):
            return FUNCTIONS["relu"](self.expand(e.args[0], cuts))
        if isinstance(e, indicator):
            return FUNCTIONS["indicator"](self.expand(e.args[0], cuts))
        if isinstance(e, (sp.Integral, sp.Piecewise, sp.Derivative, sp.Determinant)):
            raise Unsupported(type(e).__name__)
        if isinstance(e, sp.Trace):
            return self._trace(e, cuts)
        if isinstance(e, MatrixElement):
            return self.entry(e.parent, self.expand(e.args[1], cuts) + 1,
                              self.expand(e.args[2], cuts) + 1, cuts)
        if type(e).__module__.split(".")[0] != "sympy" and not isinstance(e, sp.Function):
            raise Unsupported(type(e).__name__)  # a node of ours that is not a function
        args = [self.expand(a, cuts) for a in e.args]
        return e.func(*args)

    def _definition(self, token: sp.Symbol, idx: tuple, cuts: frozenset,
                    r=sp.S.One, c=sp.S.One) -> sp.Basic:
        """Entry (r, c) of definition ``token`` at indices ``idx`` (bound variables of its
        body renamed first, so the substituted indices are never captured)."""
        defn = self.d.defs[token]
        if len(defn.params) != len(idx):
            raise Unsupported(f"{token} takes {len(defn.params)} index(es)")
        body = fresh_bound(defn.body).xreplace(dict(zip(defn.params, idx)))
        if defn.is_matrix:
            return self.entry(body, r, c, cuts)
        return self.expand(body, cuts)

    def _trace(self, e: sp.Trace, cuts: frozenset) -> sp.Basic:
        rows, cols = shape_of(e.arg)
        if rows != cols:
            raise Unsupported("trace of a matrix that is not square")
        k = _bound_var()
        return Sigma(self.entry(e.arg, k, k, cuts), (k, sp.S.One, rows))

    # -- matrices: entry (r, c) ---------------------------------------------------------
    def entry(self, e: sp.Basic, r, c, cuts: frozenset = frozenset()) -> sp.Basic:
        """Entry (r, c) of ``e`` (1-based), as a scalar in index notation."""
        if not isinstance(e, MatrixExpr):
            if not (_one(r) and _one(c)):
                raise Unsupported(f"entry ({r}, {c}) of a scalar")
            return self.expand(e, cuts)
        method = getattr(self, f"_entry_{type(e).__name__}", None)
        if method is None:
            for klass in type(e).__mro__[1:]:
                method = getattr(self, f"_entry_{klass.__name__}", None)
                if method is not None:
                    break
            else:
                raise Unsupported(type(e).__name__)
        return method(e, r, c, cuts)

    def _entry_MatrixSymbol(self, e, r, c, cuts):
        var = self.d.vars.get(e.name)
        if var is None:
            raise Unsupported(f"matrix symbol {e.name}")
        from ...matrix_domains import structured
        if structured(var) is not None:
            raise Unsupported(f"{e.name} is a structured matrix")
        if var.kind == "vector":
            if not _one(c):
                raise Unsupported(f"column {c} of a vector")
            return var.entry_base()[r]
        if var.kind != "matrix":
            raise Unsupported(f"{e.name} is a {var.kind}")
        return var.entry_base()[r, c]

    def _entry_BatchElement(self, e, r, c, cuts):
        var = self.d.vars.get(e.batch.name)
        if var is None or not _one(c):
            raise Unsupported(f"batch {e.batch.name}")
        return var.entry_base()[self.expand(e.index, cuts), r]

    def _entry_DefRef(self, e, r, c, cuts):
        idx = tuple(self.expand(k, cuts) for k in e.indices)
        if e.token in cuts:
            return self._placeholder(e.token, idx, e.shape, r, c)
        return self._definition(e.token, idx, cuts, r, c)

    def _placeholder(self, token, idx, shape, r, c):
        """The entry standing for a held definition (as ``Instantiator._placeholder``)."""
        rows, cols = shape
        if _one(rows) and _one(cols) and not idx:
            return token
        base = sp.IndexedBase(token)
        if _one(cols):
            return base[(*idx, r)]
        return base[(*idx, r, c)]

    def _entry_MatAdd(self, e, r, c, cuts):
        return sp.Add(*[self.entry(a, r, c, cuts) for a in e.args])

    def _entry_MatMul(self, e, r, c, cuts):
        coeff = sp.S.One
        factors = []
        for a in e.args:
            if isinstance(a, MatrixExpr):
                factors.append(a)
            else:
                coeff = coeff * self.expand(a, cuts)
        if not factors:
            return coeff
        out, limits, left = coeff, [], r
        for a in factors[:-1]:
            inner = shape_of(a)[1]
            if _one(inner):
                k = sp.S.One
            else:
                k = _bound_var()
                limits.append((k, sp.S.One, inner))
            out = out * self.entry(a, left, k, cuts)
            left = k
        out = out * self.entry(factors[-1], left, c, cuts)
        for lim in limits:
            out = Sigma(out, lim)
        return out

    def _entry_Transpose(self, e, r, c, cuts):
        return self.entry(e.arg, c, r, cuts)

    def _entry_HadamardProduct(self, e, r, c, cuts):
        return sp.Mul(*[self.entry(a, r, c, cuts) for a in e.args])

    def _entry_HadamardPower(self, e, r, c, cuts):
        return self.entry(e.base, r, c, cuts) ** self.expand(e.exp, cuts)

    def _entry_Elementwise(self, e: Elementwise, r, c, cuts):
        return FUNCTIONS[e.fname](self.entry(e.arg, r, c, cuts))

    def _entry_Broadcast(self, e: Broadcast, r, c, cuts):
        return self.expand(e.scalar, cuts)

    def _entry_Softmax(self, e: Softmax, r, c, cuts):
        if not _one(c):
            raise Unsupported("softmax of a matrix")
        k = _bound_var()
        total = Sigma(sp.exp(self.entry(e.arg, k, sp.S.One, cuts)),
                      (k, sp.S.One, shape_of(e.arg)[0]))
        return sp.exp(self.entry(e.arg, r, sp.S.One, cuts)) / total

    def _entry_BatchSum(self, e: BatchSum, r, c, cuts):
        e = fresh_bound(e)
        var, lo, hi = e.limits
        return Sigma(self.entry(e.summand, r, c, cuts),
                     (var, self.expand(lo, cuts), self.expand(hi, cuts)))

    def _entry_OneMatrix(self, e, r, c, cuts):
        return sp.S.One

    def _entry_ZeroMatrix(self, e, r, c, cuts):
        return sp.S.Zero

    def _entry_Identity(self, e, r, c, cuts):
        return sp.KroneckerDelta(r, c)

    def _entry__DerivativeNode(self, e, r, c, cuts):
        if isinstance(e, Hess):
            raise Unsupported("a Hessian node")
        return self.derivative(e, r, c, cuts)

    # -- derivatives -------------------------------------------------------------------
    def derivative(self, e: _DerivativeNode | ScalarD, r, c, cuts: frozenset) -> sp.Basic:
        """Entry (r, c) of dF/dV, laid out as the instantiator does (gradient of a scalar
        in the shape of V; a derivative by a scalar in the shape of F; the Jacobian of a
        column by a column), the held definitions put back afterwards."""
        try:
            held = held_by(self.d, e)
        except InstantiationError as exc:
            raise Unsupported(str(exc)) from exc
        inner = frozenset(cuts | held)
        fshape, vshape = shape_of(e.f), shape_of(e.wrt)
        if fshape == (1, 1):
            F, V = self.entry(e.f, 1, 1, inner), self.entry(e.wrt, r, c, inner)
        elif vshape == (1, 1):
            F, V = self.entry(e.f, r, c, inner), self.entry(e.wrt, 1, 1, inner)
        elif _one(fshape[1]) and _one(vshape[1]):
            F, V = self.entry(e.f, r, 1, inner), self.entry(e.wrt, c, 1, inner)
        else:
            raise Unsupported("a derivative of a matrix by a matrix")
        if not isinstance(V, (sp.Symbol, sp.Indexed)):
            raise Unsupported(f"a derivative with respect to {e.wrt}")
        if isinstance(V, sp.Symbol) and V in self.d.indices:
            raise Unsupported(f"a derivative with respect to the index {V}")
        out = diff(F, V)
        if out.has(sp.Derivative, sp.Subs):
            raise Unsupported("a derivative SymPy leaves unevaluated")
        return self._release(out, frozenset(held - cuts), cuts)

    def _release(self, G: sp.Basic, tokens: frozenset, cuts: frozenset) -> sp.Basic:
        """Put the full definitions back in place of the entries that were held."""
        if not tokens:
            return G

        def held(x) -> bool:
            if isinstance(x, sp.Indexed):
                return x.base.label in tokens
            return isinstance(x, sp.Symbol) and x in tokens and not self.d.defs[x].params \
                and shape_of(self.d.defs[x].body) == (1, 1)  # not the label of an entry

        def value(x):
            if isinstance(x, sp.Symbol):
                return self._definition(x, (), cuts)
            token = x.base.label
            defn = self.d.defs[token]
            p = len(defn.params)
            idx, rest = tuple(x.indices[:p]), tuple(x.indices[p:])
            if not defn.is_matrix:
                return self._definition(token, idx, cuts)
            rest = rest + (sp.S.One,) * (2 - len(rest))
            return self._definition(token, idx, cuts, *rest)

        found = [x for x in G.atoms(sp.Indexed, sp.Symbol) if held(x)]
        return G.xreplace({x: value(x) for x in found})
