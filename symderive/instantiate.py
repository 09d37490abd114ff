"""Turn a general-notation expression into explicit SymPy matrices at concrete sizes.

This is where meaning is given to the notation: sums are expanded, definitions are
substituted, and every derivative node is computed by ``sympy.diff`` on explicit
entries.  Working on explicit entries is deliberate: SymPy's ``MatrixSymbol`` calculus
can silently return 0, while differentiating scalars cannot.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .derivation import Derivation
from .nodes import (
    BatchElement,
    BatchSum,
    Broadcast,
    Component,
    DefRef,
    Elementwise,
    Hess,
    MatD,
    ScalarD,
    Softmax,
    indicator,
    relu,
    sigmoid,
)

__all__ = ["Instantiator", "InstantiationError", "ELEMENTWISE"]


class InstantiationError(ValueError):
    """The expression cannot be made explicit (unknown symbol, bad shape, ...)."""


ELEMENTWISE = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "relu": lambda x: sp.Max(0, x),
    "indicator": sp.Heaviside,
    "sigmoid": sigmoid,
}

Env = Mapping[sp.Symbol, int]



@functools.lru_cache(maxsize=65536)
def _entry(base: sp.IndexedBase, idx: tuple) -> sp.Indexed:
    """``base[idx]``, made once: building an Indexed runs SymPy's assumption machinery."""
    return base[idx] if len(idx) != 1 else base[idx[0]]


def held_tokens(d: Derivation, e: sp.Basic) -> set[sp.Symbol]:
    """Definitions named by ``e`` (the quantity differentiated by, or held fixed)."""
    if isinstance(e, DefRef):
        return {e.token}
    if isinstance(e, Component):
        return held_tokens(d, e.vector)
    if isinstance(e, sp.Indexed) and e.base.label in d.defs:
        return {e.base.label}
    if isinstance(e, sp.IndexedBase) and e.label in d.defs:
        return {e.label}
    if isinstance(e, sp.Symbol) and e in d.defs:
        return {e}
    return set()


def _name(x: sp.Basic) -> str:
    """The variable or definition a cut stands for (an entry stands for its base)."""
    return str(x.base.label) if isinstance(x, sp.Indexed) else str(x)


class Instantiator:
    """Explicit instances of one derivation's expressions at one set of sizes."""

    def __init__(self, derivation: Derivation, sizes: Mapping[sp.Symbol, int]):
        self.d = derivation
        self.sizes = {k: sp.Integer(v) for k, v in sizes.items()}
        self._defcache: dict = {}
        self._bases: dict[str, sp.IndexedBase] = {}

    # -- entry points ------------------------------------------------------------------
    def explicit(self, expr: sp.Basic, env: Env | None = None,
                 cuts: frozenset = frozenset()) -> sp.ImmutableMatrix:
        """The explicit matrix of ``expr`` (a scalar becomes 1x1)."""
        return sp.ImmutableMatrix(self.matrix(sp.sympify(expr), dict(env or {}), cuts))

    def integer(self, expr: sp.Basic, env: Env) -> int:
        value = self.scalar(sp.sympify(expr), env, frozenset())
        if not value.is_Integer:
            raise InstantiationError(f"{expr} is not an integer at these sizes ({value})")
        return int(value)

    # -- leaves ------------------------------------------------------------------------
    def _base(self, name: str) -> sp.IndexedBase:
        if name not in self._bases:
            var = self.d.vars.get(name)
            if var is None:  # a definition held as a variable: label is its token
                self._bases[name] = sp.IndexedBase(sp.Symbol(name))
            else:
                self._bases[name] = var.obj if var.kind == "tensor" else var.entry_base()
        return self._bases[name]

    def _leaf_matrix(self, sym: sp.MatrixSymbol, env: Env) -> sp.Matrix:
        var = self.d.vars.get(sym.name)
        if var is None:
            raise InstantiationError(f"unknown matrix symbol {sym.name!r}; declare it with "
                                     "Derivation.vector/matrix/batch")
        rows, cols = (self.integer(s, env) for s in sym.shape)
        base = self._base(sym.name)
        if var.kind == "vector":
            return sp.Matrix(rows, 1, lambda a, b: _entry(base, (a + 1,)))
        return sp.Matrix(rows, cols, lambda a, b: _entry(base, (a + 1, b + 1)))

    def _placeholder(self, token: sp.Symbol, idx: tuple[int, ...], rows: int,
                     cols: int) -> sp.Matrix:
        """Entries standing for a definition that is held as an independent variable."""
        base = self._base(str(token))
        if not self.d.defs[token].is_matrix:  # a scalar definition: its own symbol
            return sp.Matrix([[_entry(base, idx) if idx else token]])
        if rows == 1 and cols == 1 and not idx:
            return sp.Matrix([[token]])
        if cols == 1:
            return sp.Matrix(rows, 1, lambda a, b: _entry(base, (*idx, a + 1)))
        return sp.Matrix(rows, cols, lambda a, b: _entry(base, (*idx, a + 1, b + 1)))

    # -- definitions -------------------------------------------------------------------
    def definition(self, token: sp.Symbol, idx: tuple[int, ...],
                   cuts: frozenset) -> sp.ImmutableMatrix:
        deps = self.d.depends(token)
        cuts = frozenset(c for c in cuts if _name(c) in deps)  # only cuts that matter here
        key = (token, idx, cuts)
        if key not in self._defcache:
            defn = self.d.defs[token]
            if len(idx) != len(defn.params):
                raise InstantiationError(f"{token} takes {len(defn.params)} index(es)")
            env = dict(zip(defn.params, idx))
            self._defcache[key] = sp.ImmutableMatrix(self.matrix(defn.body, env, cuts))
        return self._defcache[key]

    # -- scalars -----------------------------------------------------------------------
    def scalar(self, e: sp.Basic, env: Env, cuts: frozenset) -> sp.Expr:
        if isinstance(e, MatrixExpr):
            m = self.matrix(e, env, cuts)
            if m.shape != (1, 1):
                raise InstantiationError(f"expected a scalar, got a {m.shape} matrix: {e}")
            return m[0, 0]
        if e.is_Number or not e.args and not isinstance(e, sp.Symbol):
            return e
        if isinstance(e, sp.Symbol):
            if e in env:
                return sp.Integer(env[e])
            if e in self.sizes:
                return self.sizes[e]
            if e in self.d.defs:
                if e in cuts:
                    return self._placeholder(e, (), 1, 1)[0, 0]
                return self.definition(e, (), cuts)[0, 0]
            return e
        if isinstance(e, sp.Indexed):
            idx = tuple(self.integer_in(i, env, cuts) for i in e.indices)
            label = e.base.label
            if label in self.d.defs:
                if label in cuts:
                    return self._placeholder(label, idx, 1, 1)[0, 0]
                return self.definition(label, idx, cuts)[0, 0]
            if str(label) not in self.d.vars:
                raise InstantiationError(f"unknown indexed symbol {label}")
            return _entry(self._base(str(label)), idx)
        if isinstance(e, (sp.Sum, sp.Product)):
            return self._expand_limits(e, env, cuts)
        if isinstance(e, sp.Integral):
            e = self._unclash(e)
            inner = {k: v for k, v in env.items() if k not in e.variables}
            limits = [(lim[0], *(self.scalar(x, env, cuts) for x in lim[1:])) for lim in e.limits]
            return sp.Integral(self.scalar(e.function, inner, cuts), *limits)
        if isinstance(e, (ScalarD, MatD, Hess)):
            return self.derivative(e, env, cuts)[0, 0]
        if isinstance(e, Component):
            k = self.integer_in(e.k, env, cuts)
            vec = self.matrix(e.vector, env, cuts)
            return vec[k - 1, 0]
        if isinstance(e, sigmoid):
            return ELEMENTWISE["sigmoid"](self.scalar(e.args[0], env, cuts))
        if isinstance(e, (relu, indicator)):
            arg = self.scalar(e.args[0], env, cuts)
            return ELEMENTWISE["relu" if isinstance(e, relu) else "indicator"](arg)
        return e.func(*(self.scalar(a, env, cuts) for a in e.args))

    def _unclash(self, e: sp.Integral) -> sp.Integral:
        """Substitution without capture: an integration variable that a definition in
        the integrand also depends on (as a declared variable) is renamed, so that the
        definition keeps meaning its own variable, as in the numeric evaluator."""
        used = self.d.var_names(e.function) - {str(v) for v in e.variables}
        deps = set().union(*(self.d.depends(sp.Symbol(n)) for n in used
                             if sp.Symbol(n) in self.d.defs), set())
        clash = [v for v in e.variables if str(v) in deps]
        if not clash:
            return e
        fresh = {v: sp.Dummy(f"{v}_", dummy_index=hash((str(v), "bound")) & 0xFFFFFF,
                             **v.assumptions0) for v in clash}
        return e.xreplace(fresh)

    def integer_in(self, e: sp.Basic, env: Env, cuts: frozenset) -> int:
        value = self.scalar(sp.sympify(e), env, cuts)
        if not value.is_Integer:
            raise InstantiationError(f"index {e} is not bound to an integer ({value})")
        return int(value)

    def _expand_limits(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        combine = sp.Add if isinstance(e, sp.Sum) else sp.Mul
        limits = list(e.limits)

        def rec(k: int, env: Env) -> sp.Expr:
            if k < 0:
                return self.scalar(e.function, env, cuts)
            var, lo, hi = limits[k]
            lo, hi = self.integer_in(lo, env, cuts), self.integer_in(hi, env, cuts)
            return combine(*(rec(k - 1, {**env, var: v}) for v in range(lo, hi + 1)))

        return rec(len(limits) - 1, env)

    # -- matrices ----------------------------------------------------------------------
    def matrix(self, e: sp.Basic, env: Env, cuts: frozenset) -> sp.Matrix:
        if not isinstance(e, MatrixExpr):
            return sp.Matrix([[self.scalar(e, env, cuts)]])
        if isinstance(e, sp.MatrixSymbol):
            return self._leaf_matrix(e, env)
        if isinstance(e, BatchElement):
            i = self.integer_in(e.index, env, cuts)
            var = self.d.vars.get(e.batch.name)
            if var is None:
                raise InstantiationError(f"unknown batch {e.batch.name!r}")
            count = self.integer(var.shape[0], env)
            if not 1 <= i <= count:
                raise InstantiationError(f"batch index {i} outside 1..{count}")
            dim = self.integer(var.shape[1], env)
            base = self._base(e.batch.name)
            return sp.Matrix(dim, 1, lambda a, b: _entry(base, (i, a + 1)))
        if isinstance(e, DefRef):
            idx = tuple(self.integer_in(i, env, cuts) for i in e.indices)
            if e.token in cuts:
                rows, cols = (self.integer(s, env) for s in e.shape)
                return self._placeholder(e.token, idx, rows, cols)
            return self.definition(e.token, idx, cuts)
        if isinstance(e, sp.MatAdd):
            terms = [self.matrix(a, env, cuts) for a in e.args]
            out = terms[0]
            for t in terms[1:]:
                out = out + t
            return out
        if isinstance(e, sp.MatMul):
            coeff = sp.S.One
            out = None
            for a in e.args:
                if isinstance(a, MatrixExpr):
                    m = self.matrix(a, env, cuts)
                    out = m if out is None else out * m
                else:
                    coeff = coeff * self.scalar(a, env, cuts)
            return coeff * out
        if isinstance(e, sp.Transpose):
            return self.matrix(e.arg, env, cuts).T
        if isinstance(e, sp.HadamardProduct):
            out = self.matrix(e.args[0], env, cuts)
            for a in e.args[1:]:
                out = out.multiply_elementwise(self.matrix(a, env, cuts))
            return out
        if isinstance(e, sp.HadamardPower):
            p = self.scalar(e.exp, env, cuts)
            return self.matrix(e.base, env, cuts).applyfunc(lambda x: x ** p)
        if isinstance(e, Elementwise):
            return self.matrix(e.arg, env, cuts).applyfunc(ELEMENTWISE[e.fname])
        if isinstance(e, Broadcast):
            rows, cols = (self.integer(s, env) for s in e.shape)
            return self.scalar(e.scalar, env, cuts) * sp.ones(rows, cols)
        if isinstance(e, Softmax):
            z = self.matrix(e.arg, env, cuts).applyfunc(sp.exp)
            total = sp.Add(*z)
            return z.applyfunc(lambda t: t / total)
        if isinstance(e, BatchSum):
            var, lo, hi = e.limits
            lo, hi = self.integer_in(lo, env, cuts), self.integer_in(hi, env, cuts)
            terms = [self.matrix(e.summand, {**env, var: v}, cuts) for v in range(lo, hi + 1)]
            if not terms:  # an empty range (hi = lo - 1) sums to zero, as in SymPy
                return sp.zeros(*(self.integer(x, env) for x in e.shape))
            out = terms[0]
            for t in terms[1:]:
                out = out + t
            return out
        if isinstance(e, sp.OneMatrix):
            return sp.ones(*(self.integer(s, env) for s in e.shape))
        if isinstance(e, sp.ZeroMatrix):
            return sp.zeros(*(self.integer(s, env) for s in e.shape))
        if isinstance(e, sp.Identity):
            return sp.eye(self.integer(e.shape[0], env))
        if isinstance(e, (MatD, Hess)):
            return self.derivative(e, env, cuts)
        raise InstantiationError(f"cannot make {type(e).__name__} explicit: {e}")

    # -- derivatives -------------------------------------------------------------------
    def derivative(self, e: MatD | ScalarD | Hess, env: Env, cuts: frozenset) -> sp.Matrix:
        held = set(held_tokens(self.d, e.wrt))
        for h in e.holding:
            tokens = held_tokens(self.d, h)
            if not tokens:
                raise InstantiationError(f"can only hold a defined quantity fixed, not {h}")
            held |= tokens
        inner = frozenset(cuts | held)
        V = self.matrix(e.wrt, env, inner)
        for v in V:
            if not isinstance(v, (sp.Symbol, sp.Indexed)):
                raise InstantiationError(f"cannot differentiate with respect to {e.wrt}: "
                                         f"its entry {v} is not a variable")
        F = self.matrix(e.f, env, inner)
        if isinstance(e, Hess):
            if F.shape != (1, 1) or V.shape[1] != 1:
                raise InstantiationError("the Hessian needs a scalar and a column vector")
            grad = [sp.diff(F[0, 0], v) for v in V]
            G = sp.Matrix(len(V), len(V), lambda a, b: sp.diff(grad[a], V[b]))
        else:
            G = self._arrange(e, F, V, lambda fi, v: sp.diff(F[fi], v))
        return self._release(G, frozenset(held - cuts), env, cuts)

    @staticmethod
    def _arrange(e, F: sp.Matrix, V: sp.Matrix, partial) -> sp.Matrix:
        """Lay out the partial derivatives: gradient, Jacobian or elementwise."""
        if F.shape == (1, 1):
            return sp.Matrix(V.rows, V.cols, lambda a, b: partial(0, V[a, b]))
        if V.shape == (1, 1):
            return sp.Matrix(F.rows, F.cols, lambda a, b: partial(a * F.cols + b, V[0, 0]))
        if F.shape[1] == 1 and V.shape[1] == 1:
            return sp.Matrix(F.rows, V.rows, lambda a, b: partial(a, V[b]))
        raise InstantiationError("derivatives of a matrix by a matrix are not supported")

    def _release(self, G: sp.Matrix, tokens: frozenset, env: Env, cuts: frozenset) -> sp.Matrix:
        """Put the full definitions back in place of the entries that were held."""
        if not tokens:
            return G
        mapping = {}
        for atom in G.atoms(sp.Symbol, sp.Indexed):
            if isinstance(atom, sp.Indexed) and atom.base.label in tokens:
                defn = self.d.defs[atom.base.label]
                idx = tuple(int(i) for i in atom.indices)
                p = len(defn.params)
                value = self.definition(defn.token, idx[:p], cuts)
                rest = idx[p:]
                if len(rest) == 0:
                    mapping[atom] = value[0, 0]
                elif len(rest) == 1:
                    mapping[atom] = value[rest[0] - 1, 0]
                else:
                    mapping[atom] = value[rest[0] - 1, rest[1] - 1]
            elif isinstance(atom, sp.Symbol) and atom in tokens \
                    and not self.d.defs[atom].params:
                value = self.definition(atom, (), cuts)
                if value.shape == (1, 1):
                    mapping[atom] = value[0, 0]
        return G.xreplace(mapping)
