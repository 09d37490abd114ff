"""One LaTeX printer for symderive's expressions, in the document's notation.

It is SymPy's own ``LatexPrinter`` with a ``_print_<Node>`` method for each node of
:mod:`symderive.nodes` and a per-derivation name map, so that a formula in the report is
printed from the very expression the checker checked.

Sums of terms carry an invisible break mark (:data:`BREAK`) before each ``+``/``-``, and
products one (:data:`MUL_BREAK`) between their factors, when the printer is asked for it
(``breaks=True``); :mod:`symderive.latex.layout` uses the marks to split long displays
into lines and removes them.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..derivation import Derivation
from ..nodes import (
    AsScalar,
    BatchElement,
    BatchSum,
    Broadcast,
    Component,
    DefRef,
    DensityExpectation,
    Elementwise,
    Hess,
    MatD,
    ScalarD,
    Softmax,
)
from .names import Name, default_name, given_name

BREAK = "\x1f"  # a place where a long display may be broken (before a + or -)
MUL_BREAK = "\x1e"  # a last-resort break between the factors of a long product
LONG_NUMERATOR = 60  # characters of LaTeX beyond which a sum is not put over a fraction bar

_NAMED = (sp.MatrixSymbol, BatchElement, DefRef)
_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}"}


class NameMap:
    """The typeset name of every symbol a derivation declares or defines."""

    def __init__(self, derivation: Derivation | None = None):
        self.names: dict[str, Name] = {}
        if derivation is None:
            return
        given = derivation.latex_names
        for name, var in derivation.vars.items():
            self._add(name, var.kind in ("vector", "matrix", "batch"), given)
        for df in derivation.defs.values():
            body_shape = df.body.shape if df.is_matrix else (1, 1)
            self._add(df.name, df.is_matrix and tuple(body_shape) != (1, 1), given)
        for sym in derivation.dims:
            self._add(sym.name, False, given)

    def _add(self, name: str, bold: bool, given: dict[str, str]) -> None:
        self.names[name] = given_name(given[name]) if name in given else \
            default_name(name, bold)

    def get(self, name: str, bold: bool = False) -> Name:
        return self.names.get(name) or default_name(name, bold)


class DerivationPrinter(LatexPrinter):
    """SymPy's LaTeX printer taught symderive's nodes and one derivation's names."""

    def __init__(self, derivation: Derivation | None = None, breaks: bool = False,
                 settings: dict | None = None):
        super().__init__(settings or {})
        self.derivation = derivation
        self.names = NameMap(derivation)
        self.breaks = breaks

    # -- names -------------------------------------------------------------------------
    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr.name in self.names.names:
            return self.names.get(expr.name).render()
        return super()._print_Symbol(expr, style=style)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return self.names.get(expr.name, bold=True).render()

    def _name_of(self, expr: MatrixExpr) -> tuple[Name, tuple[str, ...]]:
        """(name, index subscripts) of a named vector: ``x``, ``x_i``, ``z_{1,i}``."""
        if isinstance(expr, BatchElement):
            return self.names.get(expr.batch.name, True), (self._print(expr.index),)
        if isinstance(expr, DefRef):
            return (self.names.get(expr.token.name, True),
                    tuple(self._print(k) for k in expr.indices))
        return self.names.get(expr.name, True), ()

    def _print_BatchElement(self, expr: BatchElement) -> str:
        name, idx = self._name_of(expr)
        return name.render(idx)

    def _print_DefRef(self, expr: DefRef) -> str:
        name, idx = self._name_of(expr)
        return name.render(idx)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        label = expr.base.label
        idx = tuple(self._print(k) for k in expr.indices)
        if isinstance(label, sp.Symbol):
            return self.names.get(label.name).plain().render(idx)
        return super()._print_Indexed(expr)

    def _print_Component(self, expr: Component) -> str:
        vec, k = expr.vector, self._print(expr.k)
        if isinstance(vec, _NAMED):
            name, idx = self._name_of(vec)
            return name.plain().render(idx + (k,))
        return r"\left(%s\right)_{%s}" % (self._print(vec), k)

    def _print_MatrixElement(self, expr) -> str:
        """``X[0, 1]`` (SymPy counting from 0) as the document counts, from 1: X₁₂, as
        the entries of the counterexamples and comp(x, 1) = x₁ are printed (SymPy's own
        printer wrote X_{0,1} beside a_1)."""
        parent = expr.parent
        r, c = (self._print(k + 1) for k in expr.args[1:])
        one_column = parent.shape[1] == 1 and expr.args[2] == 0
        idx = (r,) if one_column else (r, c)
        if isinstance(parent, _NAMED):
            name, outer = self._name_of(parent)
            return name.plain().render(outer + idx)
        return r"\left(%s\right)_{%s}" % (self._print(parent), ",".join(idx))

    # -- sums and products ---------------------------------------------------------------
    def _join_terms(self, terms: list, negative) -> str:
        """``a + b - c`` with break marks, positive terms first (as one writes them)."""
        order = [t for t in terms if not negative(t)] + [t for t in terms if negative(t)]
        mark = BREAK if self.breaks else ""
        tex = ""
        for k, term in enumerate(order):
            neg = negative(term)
            body = -term if neg else term
            body_tex = self._print(body)
            if self._needs_add_brackets(body) if not isinstance(body, MatrixExpr) else \
                    isinstance(body, sp.MatAdd):
                body_tex = r"\left(%s\right)" % body_tex
            elif isinstance(body, (sp.Sum, BatchSum)) and k < len(order) - 1:
                # ``\sum_k a_k - 1``: a bracket says where the sum ends, to every reader
                body_tex = r"\left(%s\right)" % body_tex
            if k == 0:
                tex = ("- " if neg else "") + body_tex
            else:
                tex += f"{mark} {'-' if neg else '+'} {body_tex}"
        return tex

    def _print_Add(self, expr: sp.Add, order=None) -> str:
        terms = list(self._as_ordered_terms(expr, order=order))
        return self._join_terms(terms, lambda t: t.could_extract_minus_sign())

    def _print_Mul(self, expr: sp.Mul) -> str:
        if expr.could_extract_minus_sign():
            inner = -expr
            tex = self._print(inner)
            return "- " + (r"\left(%s\right)" % tex if isinstance(inner, sp.Add) else tex)
        numer, denom = sp.fraction(expr, exact=True)
        if denom == 1:
            return self._factors(numer)
        snumer, sdenom = self._factors(numer), self._factors(denom)
        if isinstance(numer, sp.Add) and len(snumer) > LONG_NUMERATOR:
            # keep a long sum out of the fraction, so that the display can break it
            return r"\frac{1}{%s} \left(%s\right)" % (sdenom, snumer)
        return r"\frac{%s}{%s}" % (snumer, sdenom)

    def _factors(self, expr: sp.Basic) -> str:
        """A product as one writes it: numbers, symbols, functions, sums, brackets."""
        args = sorted(sp.Mul.make_args(expr), key=_factor_rank)
        out = ""
        for k, term in enumerate(args):
            tex = self._print(term)
            if len(args) > 1 and self._needs_mul_brackets(term, first=k == 0,
                                                         last=k == len(args) - 1):
                tex = r"\left(%s\right)" % tex
            if k > 0 and tex.startswith(r"\left(") and not args[k - 1].is_number:
                # ``a (x - 1)`` reads as the function a applied to x - 1 (SymPy's LaTeX
                # parser reads it so); braces make the bracket a factor
                tex = "{%s}" % tex
            if out:
                out += r" \cdot " if term.is_number and args[k - 1].is_number else \
                    (MUL_BREAK + " " if self.breaks else " ")
            out += tex
        return out

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        terms = list(expr.args)
        if all(_transposed(t) is not None for t in terms):
            inner = sp.MatAdd(*[_transposed(t) for t in terms])
            return r"\left(%s\right)^{T}" % self._print(inner)
        return self._join_terms(terms, _matrix_negative)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coeff, factors = expr.as_coeff_matrices()
        sign = ""
        if coeff.could_extract_minus_sign():
            sign, coeff = "- ", -coeff
        parts = [] if coeff == 1 else [self.parenthesize(coeff, PRECEDENCE["Mul"], strict=True)]
        for k, f in enumerate(factors):
            tex = self._print(f)
            last = k == len(factors) - 1
            transposed_sum = isinstance(f, sp.MatAdd) and all(
                _transposed(t) is not None for t in f.args)  # printed (a + b)^T already
            if isinstance(f, (sp.MatAdd, sp.MatMul)) and not transposed_sum \
                    or (isinstance(f, BatchSum) and not last):
                tex = r"\left(%s\right)" % tex
            parts.append(tex)
        return sign + (MUL_BREAK + " " if self.breaks else " ").join(parts)

    def _print_Sum(self, expr: sp.Sum) -> str:
        """Nested sums as the document writes them, outermost first."""
        tex = ""
        for var, lo, hi in reversed(expr.limits):
            tex += r"\sum_{%s=%s}^{%s} " % (self._print(var), self._print(lo), self._print(hi))
        body = expr.function
        inner = self._print(body)
        if isinstance(body, sp.Add) or body.could_extract_minus_sign():
            inner = r"\left(%s\right)" % inner
        return tex + inner

    def _print_BatchSum(self, expr: BatchSum) -> str:
        var, lo, hi = expr.limits
        body = expr.summand
        tex = self._print(body)
        if isinstance(body, (sp.MatAdd, BatchSum)) or _matrix_negative(body):
            tex = r"\left(%s\right)" % tex
        return r"\sum_{%s=%s}^{%s} %s" % (self._print(var), self._print(lo), self._print(hi),
                                         tex)

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        rows, cols = expr.shape
        if cols == 1:
            return r"\mathbf{1}"
        if rows == 1:
            return r"\mathbf{1}^{T}"
        return r"\mathbf{1}_{%s \times %s}" % (self._print(rows), self._print(cols))

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return r"\mathbf{I}"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        arg = expr.arg
        if isinstance(arg, _NAMED):
            return "%s^{T}" % _superscriptable(self._print(arg))
        return r"\left(%s\right)^{T}" % self._print(arg)

    # -- elementwise ---------------------------------------------------------------------
    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        factors = list(expr.args)
        if all(_transposed(f) is not None for f in factors):
            inner = sp.HadamardProduct(*[_transposed(f) for f in factors])
            return r"\left(%s\right)^{T}" % self._print(inner)
        # a broadcast scalar in an elementwise product is plain scalar multiplication
        scalars = [self.parenthesize(f.scalar, PRECEDENCE["Mul"], strict=True)
                   for f in factors if isinstance(f, Broadcast)]
        factors = [f for f in factors if not isinstance(f, Broadcast)]
        num = [f for f in factors if not _reciprocal(f)]
        den = [f.base for f in factors if _reciprocal(f)]
        if den:
            top = " ".join(scalars + ([self._hadamard_join(num)] if num else []))
            return r"\frac{%s}{%s}" % (top or "1", self._hadamard_join(den, strict=False))
        return " ".join(scalars + ([self._hadamard_join(num)] if num else []))

    def _hadamard_join(self, factors: list, strict: bool = True) -> str:
        if len(factors) == 1 and not strict:
            return self._print(factors[0])
        out = []
        for f in factors:
            tex = self._print(f)
            if len(factors) > 1 and isinstance(f, (sp.MatAdd, sp.MatMul)):
                tex = r"\left(%s\right)" % tex
            out.append(tex)
        return r" \odot ".join(out)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        base, exp = expr.base, expr.exp
        if exp == -1:
            return r"\frac{1}{%s}" % self._print(base)
        tex = self._print(base)
        tex = _superscriptable(tex) if isinstance(base, _NAMED) else r"\left(%s\right)" % tex
        return r"%s^{\odot %s}" % (tex, self._print(exp))

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return self._function(expr.fname, self._print(expr.arg))

    def _function(self, fname: str, arg: str) -> str:
        if fname == "sqrt":
            return r"\sqrt{%s}" % arg
        if fname == "indicator":
            return r"\mathbf{1}\left\{%s > 0\right\}" % arg
        if fname == "sigmoid":
            return r"%s\left(%s\right)" % (_FUNCTIONS[fname], arg)
        # \mathopen{} keeps TeX from putting a thin space between an operator and (
        return r"%s\mathopen{}\left(%s\right)" % (_FUNCTIONS[fname], arg)

    def _print_relu(self, expr: sp.Function) -> str:
        return self._function("relu", self._print(expr.args[0]))

    def _print_indicator(self, expr: sp.Function) -> str:
        return self._function("indicator", self._print(expr.args[0]))

    def _print_sigmoid(self, expr: sp.Function) -> str:
        return self._function("sigmoid", self._print(expr.args[0]))

    def _print_Broadcast(self, expr: Broadcast) -> str:
        return self._print(expr.scalar)

    def _print_Softmax(self, expr: Softmax) -> str:
        return r"\operatorname{softmax}\mathopen{}\left(%s\right)" % self._print(expr.arg)

    # -- matrix calculus -----------------------------------------------------------------
    def _print_Unbuilt(self, expr: sp.Symbol) -> str:
        return r"\text{(could not be built)}"

    def _print_AsScalar(self, expr: AsScalar) -> str:
        return self._print(expr.arg)

    def _print_Trace(self, expr: sp.Trace) -> str:
        x = _frobenius_of(sp.sqrt(expr, evaluate=False))
        if x is not None:  # tr(X^T X) = ||X||_F^2 (||x||^2 for a column vector)
            norm = "" if x.shape[1] == 1 else "_{F}"
            return r"\left\|%s\right\|%s^{2}" % (self._print(x), norm)
        return r"\operatorname{tr}\mathopen{}\left(%s\right)" % self._print(expr.arg)

    def _print_Determinant(self, expr: sp.Determinant) -> str:
        return r"\det\mathopen{}\left(%s\right)" % self._print(expr.arg)

    def _print_MatPow(self, expr: sp.MatPow) -> str:
        base, tex = expr.base, self._print(expr.base)
        if isinstance(base, _NAMED):
            tex = _superscriptable(tex)
        elif isinstance(base, sp.Transpose) and isinstance(base.arg, _NAMED):
            if expr.exp == -1:  # (X^T)^{-1} = (X^{-1})^T, written X^{-T}
                return "%s^{-T}" % _superscriptable(self._print(base.arg))
            tex = "{%s}" % tex  # (X^T)^{2} as X^{T}^{2} would not compile
        else:
            tex = r"\left(%s\right)" % tex
        return "%s^{%s}" % (tex, self._print(expr.exp))

    def _print_DiagMatrix(self, expr) -> str:
        return r"\operatorname{diag}\mathopen{}\left(%s\right)" % self._print(expr.args[0])

    def _print_DiagonalMatrix(self, expr) -> str:
        return r"\operatorname{Diag}\mathopen{}\left(%s\right)" % self._print(expr.arg)

    def _print_DiagonalOf(self, expr) -> str:
        return r"\operatorname{diag}\mathopen{}\left(%s\right)" % self._print(expr.arg)

    def _print_Pow(self, expr: sp.Pow) -> str:
        x = _frobenius_of(expr)
        if x is not None:
            norm = "" if x.shape[1] == 1 else "_{F}"
            return r"\left\|%s\right\|%s" % (self._print(x), norm)
        return super()._print_Pow(expr)

    def _print_DensityExpectation(self, expr: DensityExpectation) -> str:
        density = expr.name if expr.name != 0 else expr.density
        sub = r"%s \sim %s" % (self._print(expr.var), self._print(density))
        return r"\mathbb{E}_{%s}\left[%s\right]" % (sub, self._print(expr.expr))

    # -- derivatives ---------------------------------------------------------------------
    def _held(self, tex: str, holding: tuple) -> str:
        if not holding:
            return tex
        held = ", ".join(self._print(h) for h in holding)
        return r"\left.%s\right|_{%s\ \text{held}}" % (tex, held)

    def _fraction_d(self, order: str, f: sp.Basic, den: str) -> str:
        if _simple(f):
            return r"\frac{\partial%s %s}{%s}" % (order, self._print(f), den)
        return r"\frac{\partial%s}{%s} \left(%s\right)" % (order, den, self._print(f))

    def _print_ScalarD(self, expr: ScalarD) -> str:
        den = r"\partial %s" % self._print(expr.wrt)
        return self._held(self._fraction_d("", expr.f, den), expr.holding)

    def _print_MatD(self, expr: MatD) -> str:
        den = r"\partial %s" % self._print(expr.wrt)
        return self._held(self._fraction_d("", expr.f, den), expr.holding)

    def _print_Hess(self, expr: Hess) -> str:
        v = self._print(expr.wrt)
        den = r"\partial %s\, \partial %s^{T}" % (v, v)
        return self._held(self._fraction_d("^{2}", expr.f, den), expr.holding)


def _factor_rank(term: sp.Basic) -> tuple:
    """Order of the factors of a product: numbers, letters, functions, sums, brackets."""
    base = term.base if isinstance(term, sp.Pow) else term
    if term.is_number:
        rank = 0
    elif isinstance(base, (sp.Symbol, sp.Indexed, Component)):
        rank = 1
    elif isinstance(term, (sp.Sum, sp.Product)):
        rank = 4
    elif isinstance(base, sp.Add):
        rank = 5
    elif isinstance(term, (ScalarD,)):
        rank = 3
    else:
        rank = 2
    return (rank, sp.default_sort_key(term))


def _frobenius_of(expr: sp.Pow) -> sp.Basic | None:
    """``X`` when ``expr`` is sqrt(tr(XᵀX)), the Frobenius norm; None otherwise."""
    if expr.exp != sp.S.Half or not isinstance(expr.base, sp.Trace):
        return None
    inner = expr.base.arg
    if isinstance(inner, sp.MatMul) and len(inner.args) == 2:
        a, b = inner.args
        if isinstance(a, sp.Transpose) and a.arg == b:
            return b
    return None


def _superscriptable(tex: str) -> str:
    """``tex`` ready for a superscript: braced when it already has one (``W^{(2)}``)."""
    return "{%s}" % tex if "^" in tex else tex


def _simple(expr: sp.Basic) -> bool:
    """Whether ``expr`` can stand as the numerator of a derivative, as in dL/dx."""
    return isinstance(expr, (sp.Symbol, sp.Indexed, Component) + _NAMED)


def _reciprocal(f: sp.Basic) -> bool:
    return isinstance(f, sp.HadamardPower) and f.exp == -1


def _matrix_negative(term: sp.Basic) -> bool:
    if isinstance(term, sp.MatMul):
        return term.as_coeff_matrices()[0].could_extract_minus_sign()
    return False


def _transposed(term: sp.Basic) -> sp.Basic | None:
    """``A`` when ``term`` is ``A^T`` (or ``c A^T``, ``(A^T)^{-1}``): None otherwise."""
    if isinstance(term, sp.Transpose):
        return term.arg
    if isinstance(term, sp.MatMul):
        coeff, factors = term.as_coeff_matrices()
        if len(factors) == 1 and isinstance(factors[0], sp.Transpose):
            return sp.MatMul(coeff, factors[0].arg)
    if isinstance(term, sp.HadamardPower) and isinstance(term.base, sp.Transpose):
        return sp.HadamardPower(term.base.arg, term.exp)
    if isinstance(term, sp.MatAdd):
        inner = [_transposed(t) for t in term.args]
        if all(t is not None for t in inner):
            return sp.MatAdd(*inner)
    return None


def latex(expr: sp.Basic, derivation: Derivation | None = None, breaks: bool = False) -> str:
    """The LaTeX of ``expr`` in the notation of ``derivation``."""
    return DerivationPrinter(derivation, breaks=breaks).doprint(expr)
