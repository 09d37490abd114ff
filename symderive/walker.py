"""One tree walker over the general notation, with a method per node class per backend.

Two backends give meaning to the same expressions: :class:`symderive.instantiate.
Instantiator` builds exact SymPy entries (the truth the prover works on), and
:class:`symderive.evaluate.NumericInstantiator` computes mpmath numbers at a point (fast
refutation).  Both subclass :class:`Walker`, which dispatches on the node's class the way
SymPy's printers do: ``scalar(e)`` calls the backend's ``scalar_<ClassName>`` for the
first class in ``type(e).__mro__`` that has one, ``matrix(e)`` calls ``matrix_<Name>``.

Adding a node is therefore one method in each backend.  For example, a node
``class Cube(sp.Function)`` (a scalar function) needs::

    # symderive/instantiate.py, in Instantiator
    def scalar_Cube(self, e, env, cuts):
        return self.scalar(e.args[0], env, cuts) ** 3

    # symderive/evaluate.py, in NumericInstantiator
    def scalar_Cube(self, e, env, cuts):
        return self.scalar(e.args[0], env, cuts) ** 3

and ``tests/test_walker.py`` then checks that the two agree at random points (add an
example of the node to its table).  A matrix node (a ``MatrixExpr``) gets ``matrix_<Name>``
methods instead.  The LaTeX printer keeps its own dispatch, as in SymPy.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.matrices.exceptions import ShapeError
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.matexpr import MatrixElement

from .derivation import Derivation
from .matrix_domains import MatrixDomain
from .nodes import BatchElement, Component, DefRef

__all__ = ["Walker", "InstantiationError", "MatrixShapeError", "OperandShapeError",
           "held_tokens", "held_by", "cut_name", "wrt_name"]


class InstantiationError(ValueError):
    """The expression cannot be made explicit (unknown symbol, bad shape, ...)."""


def finite_limits(e: sp.Basic) -> None:
    """Sums and products are expanded term by term: one over an infinite range (a
    Poisson mean, a geometric series) cannot be, and says so instead of failing on the
    conversion of infinity to an integer."""
    for var, *ends in e.limits:
        if any(sp.sympify(x).has(sp.oo, -sp.oo, sp.zoo) for x in ends):
            what = "sum" if isinstance(e, sp.Sum) else "product"
            raise InstantiationError(
                f"a {what} over an infinite range ({str(var).lstrip('_')} from {ends[0]} to "
                f"{ends[1]}) is "
                f"not supported: sums and products are expanded term by term; write the "
                f"series' closed form, or a finite {what}")


class IndexRangeError(InstantiationError):
    """An entry of a declared tensor named outside its declared shape at the sizes in use
    (Z[j, l] with j running over m, for Z declared n x m): the claim is ill-formed there,
    as a product of matrices that do not fit is."""

    def __init__(self, name: str, index: tuple, shape: tuple, sizes: dict):
        dims = " x ".join(str(s) for s in shape)
        super().__init__(f"{name}[{', '.join(map(str, index))}] is outside {name}'s "
                         f"declared shape {dims}")
        self.sizes = sizes


class EntryRangeError(IndexRangeError):
    """An entry ``X[a, b]`` (SymPy's notation, counting from 0) outside the explicit
    matrix at the sizes in use.  Python would wrap a negative index around, so that
    ``x[k - 1, 0]`` at k = 0 read the last entry and an off-by-one sum over all entries
    came out right; no entry of a matrix has a negative index."""

    def __init__(self, e: sp.Basic, index: tuple, shape: tuple, sizes: dict):
        InstantiationError.__init__(
            self, f"{e.parent}[{', '.join(map(str, index))}] is outside the "
                  f"{shape[0]} x {shape[1]} matrix {e.parent} (SymPy counts entries "
                  f"from 0: 0..{shape[0] - 1}, 0..{shape[1] - 1})")
        self.sizes = sizes


class MatrixShapeError(InstantiationError):
    """Two explicit matrices of a backend do not fit (added, multiplied)."""


class OperandShapeError(InstantiationError):
    """A matrix operation of the claim has operands whose shapes do not fit at the sizes
    checked: the claim is wrong in shape (``(3x2) * (3x2)``), not merely unbuildable."""

    def __init__(self, expr: sp.Basic, operands: list[tuple[str, tuple]], sizes: dict,
                 verb: str | None = None):
        self.expr, self.operands, self.sizes = expr, operands, sizes
        what = " and ".join(f"{t} ({r}×{c})" for t, (r, c) in operands)
        verb = verb or ("cannot be multiplied" if isinstance(expr, sp.MatMul) else
                        "do not match")
        at = ", ".join(f"{k}={v}" for k, v in sizes.items())
        hint = ""
        if len(operands) > 1 and any(tuple(s) == (1, 1) for _, s in operands):
            # 1ᵀexp(x) built from SymPy's OneMatrix and exp: a 1x1 matrix, not a scalar
            hint = (" (a 1x1 product is a scalar only when built from the derivation's "
                    "declared vectors and matrices: wrap it with as_scalar(...))")
        super().__init__(f"shape mismatch: {what} {verb}" + (f" at {at}" if at else "")
                         + hint)


def wrt_name(e: sp.Basic) -> str | None:
    """The name of the variable or definition ``e`` stands for (an entry, a component or
    a batch element stands for its base); None for anything else."""
    if isinstance(e, DefRef):
        return str(e.token)
    if isinstance(e, Component):
        return wrt_name(e.vector)
    if isinstance(e, BatchElement):
        return e.batch.name
    if isinstance(e, sp.Indexed):
        return str(e.base.label)
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
        return str(e.name)
    return None


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


def held_by(d: Derivation, e) -> set[sp.Symbol]:
    """The definitions a derivative node holds fixed: what it differentiates by, and what
    it names in ``holding`` (one rule for the fixed-size backends and the all-size
    prover)."""
    held = set(held_tokens(d, e.wrt))
    for h in e.holding:
        tokens = held_tokens(d, h)
        if not tokens:
            raise InstantiationError(f"can only hold a defined quantity fixed, not {h}")
        held |= tokens
    return held


def cut_name(x: sp.Basic) -> str:
    """The variable or definition a cut stands for (an entry stands for its base)."""
    if type(x) is sp.Symbol:  # the common case, without the printer
        return x.name
    return str(x.base.label) if isinstance(x, sp.Indexed) else str(x)


_DISPATCH: dict = {}  # (backend class, "scalar" | "matrix", node class) -> method


class Walker:
    """Dispatch on node class; backends supply ``scalar_<Name>`` / ``matrix_<Name>``.

    ``env`` binds index symbols to integers; ``cuts`` are the definitions held as
    independent variables (inside a derivative that holds them fixed, or generalised).
    """

    d: Derivation

    def __init__(self, derivation: Derivation):
        self.d = derivation

    def _method(self, kind: str, e: sp.Basic):
        """The backend's method for ``e``: the first class of its MRO that has one (looked
        up once per backend, kind and node class)."""
        key = (type(self), kind, type(e))
        method = _DISPATCH.get(key)
        if method is None:
            for klass in type(e).__mro__:
                method = getattr(type(self), f"{kind}_{klass.__name__}", None)
                if method is not None:
                    break
            else:
                method = getattr(type(self), f"{kind}_default")
            _DISPATCH[key] = method
        return method

    # -- entry points ------------------------------------------------------------------
    def scalar(self, e: sp.Basic, env: Mapping, cuts: frozenset):
        """The value of a scalar expression (a 1x1 matrix expression is unwrapped)."""
        if isinstance(e, MatrixExpr):
            m = self.matrix(e, env, cuts)
            if m.shape != (1, 1):
                raise InstantiationError(
                    f"expected a scalar, got a {m.shape[0]}x{m.shape[1]} matrix: {e} (if it "
                    f"is the argument of sp.exp, sp.log or another scalar function: SymPy's "
                    f"function of a matrix symbol is neither elementwise nor a matrix "
                    f"function; symderive's exp, log, sqrt are elementwise)")
            return m[0, 0]
        return self._method("scalar", e)(self, e, env, cuts)

    def matrix(self, e: sp.Basic, env: Mapping, cuts: frozenset):
        """The value of a matrix expression (a scalar becomes 1x1)."""
        if not isinstance(e, MatrixExpr):
            return self.one_by_one(self.scalar(e, env, cuts))
        try:
            return self._method("matrix", e)(self, e, env, cuts)
        except (ShapeError, MatrixShapeError) as exc:
            raise OperandShapeError(e, self._operand_shapes(e, env, cuts),
                                    dict(getattr(self, "sizes", {}))) from exc

    def _operand_shapes(self, e: MatrixExpr, env: Mapping, cuts: frozenset) -> list:
        """The operands of ``e`` and their explicit shapes (for a shape mismatch)."""
        ops = [(str(a), tuple(self.matrix(a, env, cuts).shape)) for a in e.args
               if isinstance(a, MatrixExpr)]
        if isinstance(e, sp.MatMul):
            for a, b in zip(ops, ops[1:]):
                if a[1][1] != b[1][0]:
                    return [a, b]
        return ops

    def square(self, e: sp.Basic, M, what: str):
        """``M`` (the value of ``e``) when it is square; else the claim is wrong in shape."""
        if M.shape[0] != M.shape[1]:
            raise OperandShapeError(e, [(str(e), tuple(M.shape))],
                                    dict(getattr(self, "sizes", {})),
                                    f"is not square: it has no {what}")
        return M

    def matrix_default(self, e, env, cuts):
        raise InstantiationError(f"cannot make {type(e).__name__} explicit: {e}")

    def scalar_MatrixElement(self, e, env: Mapping, cuts: frozenset):
        """``X[a, b]``, SymPy counting from 0; an index outside the matrix names no entry
        (:class:`EntryRangeError`), never one wrapped around from the other end."""
        a, b = (self.index(k, env, cuts) for k in e.args[1:])
        M = self.matrix(e.parent, env, cuts)
        if not (0 <= a < M.rows and 0 <= b < M.cols):
            raise EntryRangeError(e, (a, b), (M.rows, M.cols),
                                  dict(getattr(self, "sizes", {})))
        return M[a, b]

    def entry_variable(self, e: sp.Basic) -> bool:
        """Whether ``e`` is an entry ``X[a, b]`` of a declared matrix or vector, a variable
        to differentiate by.  An entry, or the transpose, of a structured matrix is
        refused: its free entries stand for several (a symmetric S has S[1, 0] = S[0, 1]),
        and a derivative by S is taken in S's n² entries held general, which one entry
        cannot say (and Sᵀ, made explicit, shares S's free entries)."""
        if isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatrixSymbol):
            var = self.d.vars.get(e.arg.name)
            if var is not None and isinstance(var.assume, MatrixDomain):
                raise InstantiationError(
                    f"cannot differentiate with respect to {e}, the transpose of the "
                    f"{var.assume.describe()} matrix {e.arg}: differentiate by {e.arg} "
                    f"(its n² entries held general) and transpose, D(f, {e.arg}).T")
            return False
        if not (isinstance(e, MatrixElement) and isinstance(e.parent, sp.MatrixSymbol)):
            return False
        var = self.d.vars.get(e.parent.name)
        if var is None:
            return False
        if isinstance(var.assume, MatrixDomain):
            raise InstantiationError(
                f"cannot differentiate with respect to {e}, an entry of the "
                f"{var.assume.describe()} matrix {e.parent}: differentiate by {e.parent} "
                f"(its n² entries held general) and take the entry, D(f, {e.parent})"
                f"[{e.args[1]}, {e.args[2]}]")
        return True

    def scalar_KroneckerDelta(self, e, env: Mapping, cuts: frozenset):
        """δ(a, b): 1 when the indices are equal, else 0.  SymPy's optional third
        argument, a range (``Identity(n)[i, k]`` is δ(i, k, (0, n - 1))), makes it 0
        for indices outside the range too."""
        a, b = (self.index(k, env, cuts) for k in e.args[:2])
        inside = True
        if len(e.args) > 2:
            lo, hi = (self.index(k, env, cuts) for k in e.args[2])
            inside = lo <= a <= hi
        return self.scalar(sp.S.One if inside and a == b else sp.S.Zero, env, cuts)

    # -- binders: one rule for both backends ---------------------------------------------
    def scalar_Integral(self, e: sp.Integral, env: Mapping, cuts: frozenset):
        """A definite integral, its bound variables renamed away from the definitions
        in the integrand first (:meth:`unclash`), then integrated by the backend."""
        return self.integral(self.unclash(e), env, cuts)

    def unclash(self, e: sp.Integral) -> sp.Integral:
        """Substitution without capture: an integration variable that a definition in
        the integrand depends on (as a declared variable) is renamed, so that the
        definition keeps meaning its own variable, not the bound one.  ``g := x**2``
        under ``Integral(g, (x, 0, 1))`` is the constant ``x**2``, as written."""
        cache = self.d.__dict__.setdefault("_unclashed", {})  # the same for every point
        out = cache.get(e)
        if out is not None:
            return out
        bound = {str(v) for v in e.variables}
        used = self.d.var_names(e.function) - bound
        deps = set().union(*(self.d.depends(sp.Symbol(n)) for n in used
                             if sp.Symbol(n) in self.d.defs))
        clash = [v for v in e.variables if str(v) in deps]
        out = e
        if clash:
            fresh = {v: sp.Dummy(f"{v}_", dummy_index=hash((str(v), "bound")) & 0xFFFFFF,
                                 **v.assumptions0) for v in clash}
            out = e.xreplace(fresh)
        if len(cache) >= 4096:
            cache.clear()
        cache[e] = out
        return out

    def matrix_BatchSum(self, e, env: Mapping, cuts: frozenset):
        """A sum of matrices over an index range; an empty range (upper bound one below
        the lower) is the zero matrix of the summand's shape, as in SymPy."""
        self.summing(e)
        var, lo, hi = e.limits
        lo, hi = self.index(lo, env, cuts), self.index(hi, env, cuts)
        terms = [self.term(e, {**env, var: v}, cuts) for v in range(lo, hi + 1)]
        if not terms:
            return self.matrix(sp.ZeroMatrix(*e.shape), env, cuts)
        return self.matrix_sum(terms)

    # -- what the backends share ---------------------------------------------------------
    def one_by_one(self, value):
        raise NotImplementedError

    def term(self, e, env: Mapping, cuts: frozenset):
        """The summand of the BatchSum ``e`` at one value of its index (bound in ``env``)."""
        return self.matrix(e.summand, env, cuts)

    def summing(self, e: sp.Basic) -> None:
        """Called before the body of a sum ``e`` is walked once per index value (the
        numeric backend reuses the subterms that do not move with the index)."""

    def index(self, e: sp.Basic, env: Mapping, cuts: frozenset) -> int:
        """The integer value of an index expression (a bound of a sum)."""
        raise NotImplementedError

    def integral(self, e: sp.Integral, env: Mapping, cuts: frozenset):
        """A definite integral whose bound variables do not clash (see :meth:`unclash`)."""
        raise NotImplementedError

    def relevant_cuts(self, token: sp.Symbol, cuts: frozenset) -> frozenset:
        """Only the cuts a definition depends on (the rest cannot change its value)."""
        if not cuts:
            return cuts
        deps = self.d.depends(token)
        return frozenset(c for c in cuts if cut_name(c) in deps)

    def held_by(self, e) -> set:
        """The definitions a derivative node holds fixed (see :func:`held_by`)."""
        return held_by(self.d, e)

    def matrix_sum(self, terms: list):
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out
