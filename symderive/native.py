"""A derivation's own vector and matrix symbols: SymPy's, with a 1x1 product a scalar.

``w.T*x`` is a 1x1 matrix to SymPy, and ``w.T*x - y`` raises "Mix of Matrix and Scalar".
In the notation of a derivation it is a scalar.  The symbols declared by
``Derivation.vector/matrix/batch`` (and their transposes) therefore carry a higher
``_op_priority`` than SymPy's matrix expressions, so that SymPy hands them every binary
operation they take part in, and they return a 1x1 result as :class:`AsScalar` and any
other result as a native twin of SymPy's class (``NativeMatMul`` ...), which keeps the
rule for the next operation.  An expression built by SymPy's own functions alone
(``sp.MatMul(...)``, plain ``MatrixSymbol`` objects) is SymPy's: wrap it with :func:`as_scalar`.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .nodes import AsScalar, BatchElement, as_scalar

__all__ = ["as_scalar", "native", "NativeMatrixSymbol", "NativeBatchElement",
           "NativeTranspose", "NativeMatAdd", "NativeMatMul", "NativeInverse"]


def _build(name: str, a, b):
    """SymPy's operation, canonical at the top only: a transpose or inverse written by the
    author stays as written (``(x - mu)^T``) instead of being distributed."""
    a, b = _plain(a), _plain(b)  # SymPy flattens only its own classes
    if name == "__mul__":
        return sp.MatMul(a, b).doit(deep=False)
    if name == "__add__":
        return sp.MatAdd(a, b).doit(deep=False)
    if name == "__sub__":
        return sp.MatAdd(a, _negate(b)).doit(deep=False)
    return getattr(MatrixExpr, name)(a, b)  # /, ** and anything else: SymPy's own


def _plain(e):
    """A native twin as SymPy's own class (same arguments)."""
    plain = _PLAIN.get(type(e))
    return plain(*e.args) if plain is not None else e


def _negate(e):
    if isinstance(e, MatrixExpr):
        return sp.MatMul(sp.S.NegativeOne, _plain(e)).doit(deep=False)
    return -e


_FORWARD = {"__mul__": "__mul__", "__rmul__": "__mul__", "__matmul__": "__mul__",
            "__rmatmul__": "__mul__", "__add__": "__add__", "__radd__": "__add__",
            "__sub__": "__sub__", "__rsub__": "__sub__"}


def _matrix_op(name: str):
    forward = _FORWARD.get(name)

    def op(self, other):
        additive = forward in ("__add__", "__sub__")
        if additive and not isinstance(other, MatrixExpr) and _is_one_by_one(self):
            return getattr(AsScalar(self), name)(other)  # a 1x1 symbol with a scalar
        if forward is None:
            return native(as_scalar(getattr(MatrixExpr, name)(self, other)))
        other = sp.sympify(other)
        a, b = (other, self) if name.startswith("__r") else (self, other)
        result = as_scalar(_build(forward, a, b))
        # times a scalar: SymPy's own class, as SymPy's canonical forms (c * X inside a
        # sum) are built with this very operator and must stay flat
        return native(result) if isinstance(other, MatrixExpr) else result
    op.__name__ = name
    return op


def native(expr):
    """SymPy's MatAdd, MatMul, Transpose or Inverse as its native twin, so that the next
    operation on it still knows the 1x1 rule (``(x - mu).T * S.I * (x - mu)``)."""
    twin = _TWINS.get(type(expr))
    return twin(*expr.args) if twin is not None else expr


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

    __truediv__ = _matrix_op("__truediv__")
    __pow__ = _matrix_op("__pow__")

    def __neg__(self):
        return native(_negate(self))

    @property
    def T(self):
        return self.transpose()

    def transpose(self):
        # as SymPy does: (A B)^T = B^T A^T, (A + B)^T = A^T + B^T, so planted transposes
        # of symmetric forms compare equal; a symbol's transpose stays Transpose(x)
        return native(sp.Transpose(_plain(self)).doit(deep=False))

    @property
    def I(self):  # noqa: E743 - SymPy's name
        return NativeInverse(self)

    def inverse(self):
        return NativeInverse(self)


class NativeMatrixSymbol(_Native, sp.MatrixSymbol):
    """A vector or matrix declared by a derivation."""


class NativeBatchElement(_Native, BatchElement):
    """``x[i]``, vector ``i`` of a batch declared by a derivation."""


class _Twin:
    """Equal to (and hashed as) SymPy's own class with the same arguments, so that a
    native product and the one SymPy builds while transposing or substituting compare
    equal (``(x xᵀ)ᵀ == x xᵀ``)."""

    def _plain_name(self) -> str:
        return _PLAIN_ALL[type(self)].__name__

    def __hash__(self):
        return hash((self._plain_name(),) + self._hashable_content())

    def __eq__(self, other):
        plain = _PLAIN_ALL[type(self)]
        if type(other) in (plain, _TWINS.get(plain)):
            return self._hashable_content() == other._hashable_content()
        return sp.Basic.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)


class NativeTranspose(_Twin, _Native, sp.Transpose):
    """The transpose of a derivation's symbol (``w.T``)."""

    @property
    def T(self):
        return self.arg

    def transpose(self):
        return self.arg


class NativeMatAdd(_Twin, _Native, sp.MatAdd):
    """A sum of matrices built from a derivation's symbols."""


class NativeMatMul(_Twin, _Native, sp.MatMul):
    """A product of matrices built from a derivation's symbols."""


class NativeInverse(_Twin, _Native, sp.Inverse):
    """The inverse of a derivation's matrix (``X.I``)."""


_TWINS = {sp.MatAdd: NativeMatAdd, sp.MatMul: NativeMatMul, sp.Transpose: NativeTranspose,
          sp.Inverse: NativeInverse}
_PLAIN = {NativeMatAdd: sp.MatAdd, NativeMatMul: sp.MatMul}  # the classes SymPy flattens
_PLAIN_ALL = {twin: plain for plain, twin in _TWINS.items()}
