"""SymPy node classes for the pieces of notation SymPy lacks.

Every node is a genuine SymPy object (``Basic`` subclass, rebuilt from its ``args``), so
the same expression is printed by the LaTeX printer, walked by the instantiator and
substituted into by SymPy itself.  None of them evaluates anything on construction:
meaning is given only when the expression is instantiated at concrete sizes.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.matexpr import MatrixElement

__all__ = [
    "BatchElement", "BatchSum", "Elementwise", "Broadcast", "Softmax", "DefRef", "MatD",
    "ScalarD", "Hess", "Component", "sigmoid", "relu", "indicator", "is_matrix",
    "AsScalar", "DensityExpectation", "as_scalar", "ScalarArithmetic",
]


def is_matrix(expr: sp.Basic) -> bool:
    return isinstance(expr, MatrixExpr)


class BatchElement(MatrixExpr):
    """Column ``i`` of a batch of vectors: ``x_i`` for the batch ``x`` (shape dim x n)."""

    def __new__(cls, batch: sp.MatrixSymbol, index: sp.Expr):
        return MatrixExpr.__new__(cls, batch, sp.sympify(index))

    batch = property(lambda self: self.args[0])
    index = property(lambda self: self.args[1])

    @property
    def shape(self):
        return (self.args[0].shape[0], sp.S.One)


class BatchSum(MatrixExpr):
    """``sum_{i=lo}^{hi} A_i`` for a matrix-valued summand (SymPy's ``Sum`` is scalar only)."""

    def __new__(cls, summand: MatrixExpr, limits: sp.Tuple):
        return MatrixExpr.__new__(cls, summand, sp.Tuple(*limits))

    summand = property(lambda self: self.args[0])
    limits = property(lambda self: self.args[1])

    @property
    def shape(self):
        return self.args[0].shape

    @property
    def free_symbols(self):
        var = self.args[1][0]
        inner = self.args[0].free_symbols - {var}
        return inner | self.args[1][1].free_symbols | self.args[1][2].free_symbols


class Elementwise(MatrixExpr):
    """A scalar function applied entry by entry: exp, log, sqrt, relu, indicator, sigmoid."""

    FUNCTIONS = ("exp", "log", "sqrt", "relu", "indicator", "sigmoid")

    def __new__(cls, name: sp.Symbol | str, arg: MatrixExpr):
        name = sp.Symbol(str(name))
        if str(name) not in cls.FUNCTIONS:
            raise ValueError(f"unknown elementwise function {name}")
        return MatrixExpr.__new__(cls, name, arg)

    fname = property(lambda self: str(self.args[0]))
    arg = property(lambda self: self.args[1])

    @property
    def shape(self):
        return self.args[1].shape

    @property
    def free_symbols(self):
        return self.args[1].free_symbols


class Broadcast(MatrixExpr):
    """A scalar used where a vector is expected, as in ``sigma^2 + epsilon``."""

    def __new__(cls, scalar: sp.Expr, rows: sp.Expr, cols: sp.Expr = sp.S.One):
        return MatrixExpr.__new__(cls, sp.sympify(scalar), sp.sympify(rows), sp.sympify(cols))

    scalar = property(lambda self: self.args[0])

    @property
    def shape(self):
        return (self.args[1], self.args[2])


class Softmax(MatrixExpr):
    """``softmax(z)_k = exp(z_k) / sum_j exp(z_j)`` of a column vector."""

    def __new__(cls, arg: MatrixExpr):
        return MatrixExpr.__new__(cls, arg)

    arg = property(lambda self: self.args[0])

    @property
    def shape(self):
        return self.args[0].shape


class DefRef(MatrixExpr):
    """A named matrix-valued definition, possibly indexed (``z_{1,i}``)."""

    def __new__(cls, token: sp.Symbol, rows: sp.Expr, cols: sp.Expr, *indices: sp.Expr):
        return MatrixExpr.__new__(cls, token, sp.sympify(rows), sp.sympify(cols),
                                  *map(sp.sympify, indices))

    token = property(lambda self: self.args[0])
    indices = property(lambda self: self.args[3:])

    @property
    def shape(self):
        return (self.args[1], self.args[2])

    @property
    def free_symbols(self):
        out = set()
        for a in self.args[3:]:
            out |= a.free_symbols
        return out


class _DerivativeNode(MatrixExpr):
    """dF/dV, computed by the checker by differentiation; ``holding`` lists intermediate
    quantities treated as independent variables (held fixed) while differentiating."""

    def __new__(cls, f: sp.Basic, wrt: sp.Basic, holding: sp.Tuple = sp.Tuple()):
        return MatrixExpr.__new__(cls, f, wrt, sp.Tuple(*holding))

    f = property(lambda self: self.args[0])
    wrt = property(lambda self: self.args[1])
    holding = property(lambda self: tuple(self.args[2]))

    @property
    def free_symbols(self):
        return self.args[0].free_symbols | self.args[1].free_symbols

    def _entry(self, i, j, **kwargs):
        """``D(f, X)[i, j]``: an entry of the derivative (SymPy counting from 0)."""
        return MatrixElement(self, i, j)


class MatD(_DerivativeNode):
    """``dF/dV`` with a matrix result.

    For scalar ``F`` the result has the shape of ``V`` (the gradient, laid out as the
    document does); for a vector ``F`` and vector ``V`` it is the Jacobian.
    """

    @property
    def shape(self):
        f, v = self.args[0], self.args[1]
        f_scalar = not is_matrix(f) or f.shape == (1, 1)
        v_scalar = not is_matrix(v) or v.shape == (1, 1)
        if f_scalar:
            return v.shape if is_matrix(v) else (sp.S.One, sp.S.One)
        if v_scalar:
            return f.shape
        return (f.shape[0], v.shape[0])


class Hess(_DerivativeNode):
    """The Hessian ``d^2 F / dV dV^T`` of a scalar ``F`` with respect to a vector ``V``."""

    @property
    def shape(self):
        return (self.args[1].shape[0], self.args[1].shape[0])


class ScalarD(sp.Expr):
    """``dF/dv`` for scalar ``F`` and a scalar (or single entry) ``v``."""

    is_commutative = True

    def __new__(cls, f: sp.Expr, wrt: sp.Expr, holding: sp.Tuple = sp.Tuple()):
        return sp.Expr.__new__(cls, sp.sympify(f), sp.sympify(wrt), sp.Tuple(*holding))

    f = property(lambda self: self.args[0])
    wrt = property(lambda self: self.args[1])
    holding = property(lambda self: tuple(self.args[2]))


def as_scalar(expr):
    """A 1x1 matrix expression as a scalar (anything else unchanged)."""
    if isinstance(expr, MatrixExpr) and tuple(expr.shape) == (1, 1):
        return AsScalar(expr)
    return expr


def _scalar_op(name: str, reflected: str):
    def op(self, other):
        if isinstance(other, MatrixExpr) and tuple(other.shape) != (1, 1):
            if getattr(other, "_op_priority", 0) >= self._op_priority:
                return getattr(other, reflected)(self)  # a derivation's matrix: its rule
            # SymPy's own matrix (I, exp(x), 1) would hand the operation back to this
            # higher-priority scalar, and so on until RecursionError: build it here
            return _scaled(name, self, other)
        return getattr(sp.Expr, name)(self, as_scalar(other))
    op.__name__ = name
    return op


def _scaled(name: str, scalar: sp.Expr, matrix: MatrixExpr) -> MatrixExpr:
    """``scalar * matrix``, ``matrix * scalar`` or ``matrix / scalar``, as SymPy builds a
    product of a number and a matrix; anything else mixes a matrix and a scalar."""
    if name in ("__mul__", "__rmul__"):
        return sp.MatMul(scalar, matrix).doit(deep=False)
    if name == "__rtruediv__":
        return sp.MatMul(sp.Pow(scalar, -1), matrix).doit(deep=False)
    raise TypeError(f"Mix of Matrix and Scalar: {scalar} and the {matrix.shape[0]} x "
                    f"{matrix.shape[1]} matrix {matrix}")


class ScalarArithmetic:
    """Mixin for scalar nodes: a 1x1 matrix met in arithmetic is taken as a scalar.

    SymPy's matrix expressions defer binary operations to an operand of higher
    ``_op_priority``, so ``(w.T*x) - comp(y, i)`` reaches this class's ``__rsub__``."""

    _op_priority = 12.0

    __add__ = _scalar_op("__add__", "__radd__")
    __radd__ = _scalar_op("__radd__", "__add__")
    __sub__ = _scalar_op("__sub__", "__rsub__")
    __rsub__ = _scalar_op("__rsub__", "__sub__")
    __mul__ = _scalar_op("__mul__", "__rmul__")
    __rmul__ = _scalar_op("__rmul__", "__mul__")
    __truediv__ = _scalar_op("__truediv__", "__rtruediv__")
    __rtruediv__ = _scalar_op("__rtruediv__", "__truediv__")


class Component(ScalarArithmetic, sp.Expr):
    """Entry ``k`` (1-based, as the document counts) of a column vector expression."""

    is_commutative = True

    def __new__(cls, vector: MatrixExpr, k: sp.Expr):
        return sp.Expr.__new__(cls, vector, sp.sympify(k))

    vector = property(lambda self: self.args[0])
    k = property(lambda self: self.args[1])

    @property
    def free_symbols(self):
        return self.args[0].free_symbols | self.args[1].free_symbols


class sigmoid(sp.Function):  # noqa: N801 - reads as the math does
    """The logistic function; stays unevaluated so that it prints as sigma(x)."""

    nargs = 1

    def fdiff(self, argindex=1):
        """sigma' = sigma (1 - sigma): derivatives stay in terms of sigma itself, which
        keeps explicit instances small; the rule is an identity, so proofs stay exact."""
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))


class relu(sp.Function):  # noqa: N801
    """max(0, x); its derivative is the indicator 1{x > 0}."""

    nargs = 1


class indicator(sp.Function):  # noqa: N801
    """1{x > 0}."""

    nargs = 1


class AsScalar(ScalarArithmetic, sp.Expr):
    """A 1x1 matrix expression used as the scalar it is (``w^T x``, ``x^T A x``).

    Built by the arithmetic of a derivation's own symbols (:mod:`symderive.native`), so
    that ``(w.T*x - y)**2`` or ``log(x.T*A*x)`` read as written instead of raising
    SymPy's "Mix of Matrix and Scalar".  Printed as its argument.
    """

    is_commutative = True
    precedence = 50  # a product, for the printers: (w^T x)^2 keeps its brackets

    def __new__(cls, arg: MatrixExpr):
        if not is_matrix(arg) or tuple(arg.shape) != (1, 1):
            raise ValueError(f"AsScalar needs a 1x1 matrix expression, got {arg}")
        return sp.Expr.__new__(cls, arg)

    arg = property(lambda self: self.args[0])

    def _eval_derivative(self, x):
        raise TypeError("differentiate a claim with D(f, x); the checker does it")


class DensityExpectation(sp.Expr):
    """``E_{x ~ p}[f] = ∫ f(x) p(x) dx`` over ``(lo, hi)`` (the real line by default)."""

    is_commutative = True

    def __new__(cls, expr: sp.Expr, var: sp.Symbol, density: sp.Expr, lo=-sp.oo, hi=sp.oo,
                name: sp.Basic = sp.S.Zero):
        return sp.Expr.__new__(cls, sp.sympify(expr), var, sp.sympify(density),
                               sp.sympify(lo), sp.sympify(hi), sp.sympify(name))

    expr = property(lambda self: self.args[0])
    var = property(lambda self: self.args[1])
    density = property(lambda self: self.args[2])
    name = property(lambda self: self.args[5])

    def as_integral(self) -> sp.Integral:
        """What the expectation means: the integral the checker evaluates."""
        return sp.Integral(self.args[0] * self.args[2], (self.args[1], self.args[3],
                                                          self.args[4]))

    @property
    def free_symbols(self):
        return self.as_integral().free_symbols
