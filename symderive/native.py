"""A derivation's own vector and matrix symbols: SymPy's, with a 1x1 product a scalar.

``w.T*x`` is a 1x1 matrix to SymPy, and ``w.T*x - y`` raises "Mix of Matrix and Scalar".
In the notation of a derivation it is a scalar.  The symbols declared by
``Derivation.vector/matrix/batch`` (and their transposes) therefore carry a higher
``_op_priority`` than SymPy's matrix expressions, so that SymPy hands them every binary
operation they take part in, and they return a 1x1 result as :class:`AsScalar`.  A 1x1
product of SymPy's own classes alone (``(A*x).T*(B*y)``) is SymPy's: wrap it with
:func:`as_scalar`.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .nodes import AsScalar, BatchElement, as_scalar

__all__ = ["as_scalar", "NativeMatrixSymbol", "NativeBatchElement", "NativeTranspose"]


def _matrix_op(name: str):
    base = getattr(MatrixExpr, name)

    def op(self, other):
        additive = "add" in name or "sub" in name
        if additive and not isinstance(other, MatrixExpr) and _is_one_by_one(self):
            return getattr(AsScalar(self), name)(other)  # a 1x1 symbol with a scalar
        return as_scalar(base(self, other))
    op.__name__ = name
    return op


def _is_one_by_one(e) -> bool:
    return tuple(e.shape) == (1, 1)


class _Native:
    """Mixin: binary operations of a derivation's matrix symbols."""

    _op_priority = 12.0

    __mul__ = _matrix_op("__mul__")
    __rmul__ = _matrix_op("__rmul__")
    __matmul__ = _matrix_op("__matmul__")
    __rmatmul__ = _matrix_op("__rmatmul__")
    __add__ = _matrix_op("__add__")
    __radd__ = _matrix_op("__radd__")
    __sub__ = _matrix_op("__sub__")
    __rsub__ = _matrix_op("__rsub__")

    @property
    def T(self):
        return NativeTranspose(self)

    def transpose(self):
        return NativeTranspose(self)


class NativeMatrixSymbol(_Native, sp.MatrixSymbol):
    """A vector or matrix declared by a derivation."""


class NativeBatchElement(_Native, BatchElement):
    """``x[i]``, vector ``i`` of a batch declared by a derivation."""


class NativeTranspose(_Native, sp.Transpose):
    """The transpose of a derivation's symbol (``w.T``)."""

    @property
    def T(self):
        return self.arg

    def transpose(self):
        return self.arg
