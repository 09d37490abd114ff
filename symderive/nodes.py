"""SymPy node classes for the pieces of notation SymPy lacks.

Every node is a genuine SymPy object (``Basic`` subclass, rebuilt from its ``args``), so
the same expression is printed by the LaTeX printer, walked by the instantiator and
substituted into by SymPy itself.  None of them evaluates anything on construction:
meaning is given only when the expression is instantiated at concrete sizes.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

__all__ = [
    "BatchElement", "BatchSum", "Elementwise", "Broadcast", "Softmax", "DefRef", "MatD",
    "ScalarD", "Hess", "Component", "sigmoid", "relu", "indicator", "is_matrix",
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


class Component(sp.Expr):
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
