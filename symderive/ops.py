"""Operations used to write formulas: elementwise functions, batch sums and statistics.

Each returns an unevaluated SymPy expression, so a formula prints as it is written.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .nodes import (
    BatchSum,
    Broadcast,
    Component,
    DensityExpectation,
    Elementwise,
    Softmax,
    as_scalar,
    is_matrix,
)
from .nodes import indicator as _indicator
from .nodes import relu as _relu
from .nodes import sigmoid as _sigmoid

__all__ = ["exp", "log", "sqrt", "relu", "indicator", "sigmoid", "softmax", "hadamard",
           "ediv", "epow", "bsum", "batch_mean", "batch_var", "bcast", "ones", "comp",
           "frobenius", "E", "as_scalar"]


def _elementwise(name: str, scalar_fn):
    def fn(x):
        return Elementwise(name, x) if is_matrix(x) else scalar_fn(x)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} of a vector or matrix; plain {name} of a scalar."
    return fn


exp = _elementwise("exp", sp.exp)
log = _elementwise("log", sp.log)
sqrt = _elementwise("sqrt", sp.sqrt)
relu = _elementwise("relu", _relu)
indicator = _elementwise("indicator", _indicator)
sigmoid = _elementwise("sigmoid", _sigmoid)


def softmax(z: MatrixExpr) -> Softmax:
    """softmax of a column vector."""
    return Softmax(z)


def hadamard(*factors: MatrixExpr) -> MatrixExpr:
    """The elementwise product A ⊙ B ⊙ ..."""
    return sp.HadamardProduct(*factors)


def epow(a: MatrixExpr, p) -> MatrixExpr:
    """Elementwise power A^{∘p}."""
    return sp.HadamardPower(a, sp.sympify(p))


def ediv(a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
    """Elementwise division A / B (printed as a fraction)."""
    return sp.HadamardProduct(a, sp.HadamardPower(b, -1))


def bcast(scalar, rows, cols=1) -> Broadcast:
    """A scalar broadcast to a vector, printed as the scalar (``sigma^2 + epsilon``)."""
    return Broadcast(scalar, rows, cols)


def ones(rows) -> sp.OneMatrix:
    """The all-ones column vector 1."""
    return sp.OneMatrix(rows, 1)


def bsum(summand, index: sp.Symbol, lo=1, hi=None):
    """``sum_{index=lo}^{hi} summand``; ``hi`` defaults to the index's dimension
    when the index was declared with :meth:`Derivation.index` (pass it explicitly)."""
    if hi is None:
        raise TypeError("bsum needs the upper limit, e.g. bsum(expr, i, 1, n)")
    limits = (index, sp.sympify(lo), sp.sympify(hi))
    if is_matrix(summand):
        return BatchSum(summand, sp.Tuple(*limits))
    return sp.Sum(summand, limits)


def batch_mean(summand, index, n):
    """(1/n) sum_i summand."""
    return bsum(summand, index, 1, n) / n


def batch_var(summand, mean, index, n):
    """Biased batch variance (1/n) sum_i (x_i - mu) ⊙ (x_i - mu)."""
    centred = summand - mean
    return bsum(hadamard(centred, centred), index, 1, n) / n


def comp(vector: MatrixExpr, k) -> Component:
    """Entry ``k`` (1-based) of a column vector, as in ``z_{2,i,k}``."""
    return Component(vector, k)


def frobenius(x: MatrixExpr) -> sp.Expr:
    """The Frobenius norm ‖X‖_F = sqrt(tr(XᵀX)), printed as ‖X‖_F."""
    return sp.sqrt(sp.Trace(sp.MatMul(sp.Transpose(x), x)))  # SymPy's: x^T x stays a matrix


def E(expr, var: sp.Symbol, density, over=(-sp.oo, sp.oo), name: str | None = None
      ) -> DensityExpectation:
    """The expectation 𝔼_{var ~ density}[expr] = ∫ expr · density d var over ``over`` (the
    real line by default); ``name`` is how the density is printed (``"p"``), else its
    formula.  Checked as the integral it is (quadrature, or SymPy when it can)."""
    lo, hi = over
    return DensityExpectation(as_scalar(expr), var, density, lo, hi,
                       sp.Symbol(name) if name else sp.S.Zero)
