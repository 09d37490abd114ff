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
from .matrix_domains import structured
from .nodes import Hess, MatD, ScalarD, sigmoid
from .walker import InstantiationError, Walker, finite_limits, held_tokens

__all__ = ["Instantiator", "InstantiationError", "ELEMENTWISE", "held_tokens"]


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


def _inverse(M: sp.Matrix, what) -> sp.Matrix:
    """The exact inverse: adjugate / determinant up to 3x3 (one fraction per entry, what
    the prover cancels best); LU elimination without expanding beyond (fast to build)."""
    if M.rows <= 3 or all(x.is_number for x in M):
        det = M.det(method="berkowitz")
        if det == 0:
            raise ZeroDivisionError(f"{what} is singular here")
        return M.adjugate(method="berkowitz") / det
    return M.LUsolve(sp.eye(M.rows), iszerofunc=lambda x: x == 0)


class Instantiator(Walker):
    """Explicit instances of one derivation's expressions at one set of sizes: the exact
    backend of the walker (one ``scalar_<Node>`` / ``matrix_<Node>`` method per node)."""

    def __init__(self, derivation: Derivation, sizes: Mapping[sp.Symbol, int]):
        super().__init__(derivation)
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
        cuts = self.relevant_cuts(token, cuts)
        key = (token, idx, cuts)
        if key not in self._defcache:
            defn = self.d.defs[token]
            if len(idx) != len(defn.params):
                raise InstantiationError(f"{token} takes {len(defn.params)} index(es)")
            env = dict(zip(defn.params, idx))
            self._defcache[key] = sp.ImmutableMatrix(self.matrix(defn.body, env, cuts))
        return self._defcache[key]

    # -- scalars -----------------------------------------------------------------------
    def one_by_one(self, value) -> sp.Matrix:
        return sp.Matrix([[value]])

    def scalar_Atom(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return e  # numbers and constants

    def scalar_Symbol(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        if e in env:
            return sp.Integer(env[e])
        if e in self.sizes:
            return self.sizes[e]
        if e in self.d.defs:
            if e in cuts:
                return self._placeholder(e, (), 1, 1)[0, 0]
            return self.definition(e, (), cuts)[0, 0]
        return e

    def scalar_Indexed(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        idx = tuple(self.integer_in(i, env, cuts) for i in e.indices)
        label = e.base.label
        if label in self.d.defs:
            if label in cuts:
                return self._placeholder(label, idx, 1, 1)[0, 0]
            return self.definition(label, idx, cuts)[0, 0]
        if str(label) not in self.d.vars:
            raise InstantiationError(f"unknown indexed symbol {label}")
        return _entry(self._base(str(label)), idx)

    def scalar_Sum(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return self._expand_limits(e, env, cuts)

    scalar_Product = scalar_Sum

    def integral(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        inner = {k: v for k, v in env.items() if k not in e.variables}
        limits = [(lim[0], *(self.scalar(x, env, cuts) for x in lim[1:])) for lim in e.limits]
        return sp.Integral(self.scalar(e.function, inner, cuts), *limits)

    def scalar_ScalarD(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return self.derivative(e, env, cuts)[0, 0]

    def scalar_Component(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        k = self.integer_in(e.k, env, cuts)
        vec = self.matrix(e.vector, env, cuts)
        return vec[k - 1, 0]

    def scalar_sigmoid(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return ELEMENTWISE["sigmoid"](self.scalar(e.args[0], env, cuts))

    def scalar_relu(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return ELEMENTWISE["relu"](self.scalar(e.args[0], env, cuts))

    def scalar_indicator(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return ELEMENTWISE["indicator"](self.scalar(e.args[0], env, cuts))

    def scalar_default(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        if not e.args:
            return e
        return e.func(*(self.scalar(a, env, cuts) for a in e.args))

    def index(self, e: sp.Basic, env: Env, cuts: frozenset) -> int:
        return self.integer_in(e, env, cuts)

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
            try:
                lo, hi = self.integer_in(lo, env, cuts), self.integer_in(hi, env, cuts)
            except InstantiationError:
                finite_limits(e)  # the clearer message, for an infinite range
                raise
            return combine(*(rec(k - 1, {**env, var: v}) for v in range(lo, hi + 1)))

        return rec(len(limits) - 1, env)

    # -- matrices ----------------------------------------------------------------------
    def matrix_MatrixSymbol(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        var = self.d.vars.get(e.name)
        domain = structured(var) if var is not None and e not in cuts else None
        if domain is not None:  # built from its free entries (a symmetric A: A[2,1] = A[1,2])
            base = self._base(e.name)
            return domain.explicit(lambda a, b: _entry(base, (a, b)), self.integer(e.shape[0], env))
        return self._leaf_matrix(e, env)

    def matrix_BatchElement(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
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

    def matrix_DefRef(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        idx = tuple(self.integer_in(i, env, cuts) for i in e.indices)
        if e.token in cuts:
            rows, cols = (self.integer(s, env) for s in e.shape)
            return self._placeholder(e.token, idx, rows, cols)
        return self.definition(e.token, idx, cuts)

    def matrix_MatAdd(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return self.matrix_sum([self.matrix(a, env, cuts) for a in e.args])

    def matrix_MatMul(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        coeff = sp.S.One
        out = None
        for a in e.args:
            if isinstance(a, MatrixExpr):
                m = self.matrix(a, env, cuts)
                out = m if out is None else out * m
            else:
                coeff = coeff * self.scalar(a, env, cuts)
        return coeff * out

    def matrix_Transpose(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return self.matrix(e.arg, env, cuts).T

    def matrix_HadamardProduct(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        out = self.matrix(e.args[0], env, cuts)
        for a in e.args[1:]:
            out = out.multiply_elementwise(self.matrix(a, env, cuts))
        return out

    def matrix_HadamardPower(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        p = self.scalar(e.exp, env, cuts)
        return self.matrix(e.base, env, cuts).applyfunc(lambda x: x ** p)

    def matrix_Elementwise(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return self.matrix(e.arg, env, cuts).applyfunc(ELEMENTWISE[e.fname])

    def matrix_Broadcast(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        rows, cols = (self.integer(s, env) for s in e.shape)
        return self.scalar(e.scalar, env, cuts) * sp.ones(rows, cols)

    def matrix_Softmax(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        z = self.matrix(e.arg, env, cuts).applyfunc(sp.exp)
        total = sp.Add(*z)
        return z.applyfunc(lambda t: t / total)

    def matrix_OneMatrix(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return sp.ones(*(self.integer(s, env) for s in e.shape))

    def matrix_ZeroMatrix(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return sp.zeros(*(self.integer(s, env) for s in e.shape))

    def matrix_Identity(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return sp.eye(self.integer(e.shape[0], env))

    def matrix__DerivativeNode(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        return self.derivative(e, env, cuts)  # MatD and Hess

    # -- derivatives -------------------------------------------------------------------
    def derivative(self, e: MatD | ScalarD | Hess, env: Env, cuts: frozenset) -> sp.Matrix:
        held = self.held_by(e)
        inner = frozenset(cuts | held)
        self.entry_variable(e.wrt)  # refuses an entry of a structured matrix
        at = self._structured_wrt(e.wrt, env)
        if at:  # differentiate by all n^2 entries, then evaluate at the structured matrix
            inner = inner | {e.wrt}
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
        G = self._release(G, frozenset(held - cuts), env, cuts)
        return G.xreplace(at) if at else G

    def _structured_wrt(self, wrt, env: Env) -> dict:
        """For a derivative by a structured matrix: its general entries -> its entries."""
        var = self.d.vars.get(wrt.name) if isinstance(wrt, sp.MatrixSymbol) else None
        domain = structured(var) if var is not None else None
        if domain is None:
            return {}
        general = self._leaf_matrix(wrt, env)
        return dict(zip(general, self.matrix_MatrixSymbol(wrt, env, frozenset())))

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

    # -- matrix calculus: SymPy's own classes ------------------------------------------
    def scalar_AsScalar(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return self.scalar(e.arg, env, cuts)

    def scalar_DensityExpectation(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        if isinstance(e.var, MatrixExpr):
            return self.scalar(self.over_entries(e, env, cuts), env, cuts)
        return self.scalar(e.as_integral(), env, cuts)

    def over_entries(self, e, env: Env, cuts: frozenset) -> sp.Integral:
        """An expectation over a vector x in R^n, at this size: the n-fold integral over
        its entries (each a fresh real variable, the same one on every call), innermost
        first.  Both backends integrate this explicit integral."""
        entries = list(self.matrix(e.var, env, cuts))
        name = str(e.var)
        bound = [sp.Dummy(f"{name}_{k}", dummy_index=hash((name, k, "entry")) & 0xFFFFFF,
                          real=True) for k in range(1, len(entries) + 1)]
        f = self.scalar(e.expr * e.density, env, cuts).xreplace(dict(zip(entries, bound)))
        return sp.Integral(f, *[(t, e.args[3], e.args[4]) for t in bound])

    def scalar_Trace(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        return self.square(e.arg, self.matrix(e.arg, env, cuts), "trace").trace()

    def scalar_Determinant(self, e, env: Env, cuts: frozenset) -> sp.Expr:
        M = self.square(e.arg, self.matrix(e.arg, env, cuts), "determinant")
        return M.det(method="berkowitz")

    def matrix_MatPow(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        """Integer powers; a negative one (Inverse, X.I, X**-1) as adjugate / determinant,
        which keeps every entry one fraction over the determinant for the prover."""
        p = self.scalar(e.exp, env, cuts)
        M = self.square(e.base, self.matrix(e.base, env, cuts), "powers or inverse")
        if not p.is_Integer:
            raise InstantiationError(f"cannot make {e} explicit (power {p})")
        if p < 0:
            M = _inverse(M, e.base)
        return M ** abs(int(p))

    def matrix_DiagMatrix(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        v = list(self.matrix(e.args[0], env, cuts))
        return sp.Matrix(len(v), len(v), lambda a, b: v[a] if a == b else 0)

    def matrix_DiagonalMatrix(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        M = self.matrix(e.arg, env, cuts)
        return sp.Matrix(M.rows, M.cols, lambda a, b: M[a, b] if a == b else 0)

    def matrix_DiagonalOf(self, e, env: Env, cuts: frozenset) -> sp.Matrix:
        M = self.matrix(e.arg, env, cuts)
        return sp.Matrix(min(M.shape), 1, lambda a, b: M[a, a])
