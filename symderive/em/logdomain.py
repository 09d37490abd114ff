"""Rewrite a non-negative formula as its logarithm, so that it can be evaluated safely.

The E-step (46) multiplies thousands of probabilities (prod_w mu_kw^T_dw): evaluated as
written it underflows to 0/0.  Its logarithm is a sum, which is what the compiler turns
into sparse products.  ``logify(e)`` returns a SymPy expression equal to ``log(e)``,
using only exact rules that hold for ``e >= 0`` (with log 0 = -inf):

    log(a * b) = log a + log b          log(b ** x) = x * log b
    log(prod_w f) = sum_w log f         log(sum_j f) = LogSumExp_j(log f)
    log(n!) = LogGamma(n + 1)           log(exp(x)) = x

Every rule needs its operands to be non-negative; :func:`nonnegative` decides that from
the declared domains (counts, simplex entries, ...) and refuses anything else.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["LogSumExp", "LogGamma", "logify", "nonnegative", "needs_log", "LogDomainError"]


class LogDomainError(ValueError):
    """The expression cannot be rewritten in the log domain (a factor may be negative)."""


class LogGamma(sp.Function):
    """log Gamma(x), kept unevaluated (SymPy rewrites ``loggamma`` of integers)."""

    nargs = 1


class LogSumExp(sp.Expr):
    """``log(sum_{i=lo}^{hi} exp(body))``; the index ``i`` is bound, like in ``Sum``."""

    def __new__(cls, body: sp.Expr, limit: tuple) -> LogSumExp:
        return sp.Expr.__new__(cls, sp.sympify(body), sp.Tuple(*limit))

    @property
    def body(self) -> sp.Expr:
        return self.args[0]

    @property
    def limit(self) -> sp.Tuple:
        return self.args[1]

    @property
    def index(self) -> sp.Symbol:
        return self.args[1][0]

    @property
    def free_symbols(self) -> set:
        lo_hi = set().union(*(a.free_symbols for a in self.limit[1:]))
        return (self.body.free_symbols - {self.index}) | lo_hi

    def _sympystr(self, printer) -> str:
        i, lo, hi = self.limit
        return f"LogSumExp({printer._print(self.body)}, ({i}, {lo}, {hi}))"


def nonnegative(e: sp.Basic) -> bool:
    """Whether ``e >= 0`` follows from the structure and the declared domains."""
    if e.is_Number:
        return bool(e >= 0)
    if isinstance(e, (sp.Indexed, sp.Symbol)):
        return bool(e.is_nonnegative)
    if isinstance(e, (sp.Mul, sp.Add)):
        return all(nonnegative(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return nonnegative(e.base) and bool(e.exp.is_real)
    if isinstance(e, (sp.Sum, sp.Product)):
        return nonnegative(e.function)
    if isinstance(e, (sp.exp, sp.factorial, sp.gamma)):
        return isinstance(e, sp.exp) or nonnegative(e.args[0])
    return False


def needs_log(e: sp.Basic) -> bool:
    """Whether evaluating ``e`` as written could overflow or underflow: outside any
    logarithm it contains a product over an index, a power with a non-constant exponent,
    or a factorial."""
    if isinstance(e, (sp.log, LogSumExp, LogGamma)):
        return False
    if isinstance(e, (sp.Product, sp.factorial, sp.gamma)):
        return True
    if isinstance(e, sp.Pow) and not e.exp.is_Number:
        return True
    return any(needs_log(a) for a in e.args)


def _limits(e: sp.Sum | sp.Product) -> list[tuple]:
    return [tuple(lim) for lim in e.limits]


def logify(e: sp.Basic) -> sp.Expr:
    """``log(e)`` rewritten by the exact rules of the module docstring."""
    if not nonnegative(e):
        raise LogDomainError(f"cannot take the logarithm of {e}: it is not known to be >= 0 "
                             "(declare the domains of its symbols)")
    return _logify(e)


def _logify(e: sp.Basic) -> sp.Expr:
    if e.is_Number:
        return sp.log(e) if e > 0 else sp.S.NegativeInfinity
    if isinstance(e, sp.Mul):
        return sp.Add(*(_logify(a) for a in e.args))
    if isinstance(e, sp.Pow):
        return e.exp * _logify(e.base)
    if isinstance(e, sp.Product):
        out = _logify(e.function)
        for lim in _limits(e):
            out = sp.Sum(out, lim)
        return out
    if isinstance(e, sp.Sum):
        out = _logify(e.function)
        for lim in _limits(e):
            out = LogSumExp(out, lim)
        return out
    if isinstance(e, sp.exp):
        return e.args[0]
    if isinstance(e, sp.factorial):
        return LogGamma(e.args[0] + 1)
    if isinstance(e, sp.gamma):
        return LogGamma(e.args[0])
    return sp.log(e)
