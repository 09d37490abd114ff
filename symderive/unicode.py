"""A one-line Unicode form of a claim, for the terminal (``symderive list --formulas``).

SymPy's ``StrPrinter`` taught symderive's nodes: derivatives as ∂f/∂x, ⊙ for the Hadamard
product, ᵀ for the transpose, Greek names as letters.  The LaTeX printer remains the one
for documents; this one only has to be readable in a terminal line.
"""

from __future__ import annotations

import unicodedata

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from .derivation import Claim, StationaryClaim

__all__ = ["formula", "unicode"]

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}


def _name(name: str) -> str:
    """``gammatilde`` → γ̃, ``hhat`` → ĥ, ``sigma2`` → σ2; anything else unchanged."""
    stem = name.rstrip("0123456789")
    if stem != name and stem:
        return _name(stem) + name[len(stem):]
    for word, mark in _ACCENTS.items():
        if name.endswith(word) and len(name) > len(word):
            return _name(name[: -len(word)]) + mark
    return _GREEK.get(name, name)


class UnicodePrinter(StrPrinter):
    """StrPrinter with symderive's nodes and mathematical symbols."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return _name(expr.name)

    _print_MatrixSymbol = _print_Symbol

    def _print_Dummy(self, expr: sp.Dummy) -> str:
        return _name(expr.name)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{self._print(expr.base.label)}[{idx}]"

    def _print_DefRef(self, expr) -> str:
        name = self._print(expr.token)
        if not expr.indices:
            return name
        return f"{name}[{','.join(self._print(i) for i in expr.indices)}]"

    def _print_BatchElement(self, expr) -> str:
        return f"{self._print(expr.batch)}[{self._print(expr.index)}]"

    def _print_Component(self, expr) -> str:
        return f"{self.parenthesize(expr.vector, 1000, strict=True)}[{self._print(expr.k)}]"

    def _print_Mul(self, expr: sp.Mul) -> str:
        return super()._print_Mul(expr).replace("*", "·")

    def _print_MatMul(self, expr) -> str:
        return super()._print_MatMul(expr).replace("*", "·")

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Transpose(self, expr) -> str:
        return f"{self.parenthesize(expr.arg, 1000, strict=True)}ᵀ"

    def _print_HadamardProduct(self, expr) -> str:
        return " ⊙ ".join(self.parenthesize(a, precedence(expr)) for a in expr.args)

    def _print_HadamardPower(self, expr) -> str:
        return f"{self.parenthesize(expr.base, 1000, strict=True)}^∘{self._print(expr.exp)}"

    def _print_Elementwise(self, expr) -> str:
        return f"{_name(expr.fname)}({self._print(expr.arg)})"

    def _print_Broadcast(self, expr) -> str:
        return f"{self.parenthesize(expr.scalar, 1000, strict=True)}·𝟏"

    def _print_Softmax(self, expr) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_Sum(self, expr: sp.Sum) -> str:
        limits = ", ".join(f"{self._print(v)}={self._print(a)}..{self._print(b)}"
                           for v, a, b in expr.limits)
        return f"∑[{limits}] {self.parenthesize(expr.function, precedence(sp.Mul(2, 3)))}"

    def _print_BatchSum(self, expr) -> str:
        v, a, b = expr.limits
        return (f"∑[{self._print(v)}={self._print(a)}..{self._print(b)}] "
                f"{self.parenthesize(expr.summand, 1000, strict=True)}")

    def _print_Product(self, expr: sp.Product) -> str:
        limits = ", ".join(f"{self._print(v)}={self._print(a)}..{self._print(b)}"
                           for v, a, b in expr.limits)
        return f"∏[{limits}] {self.parenthesize(expr.function, 1000, strict=True)}"

    def _print_Integral(self, expr: sp.Integral) -> str:
        parts = []
        for lim in expr.limits:
            v = self._print(lim[0])
            parts.append(f"∫[{v}={self._print(lim[1])}..{self._print(lim[2])}]"
                         if len(lim) == 3 else "∫")
        vars_ = " ".join(f"d{self._print(lim[0])}" for lim in expr.limits)
        return f"{''.join(parts)} {self.parenthesize(expr.function, 1000, strict=True)} {vars_}"

    def _derivative(self, top: str, f: sp.Basic, bottom: str, holding: tuple) -> str:
        held = f" ({', '.join(self._print(h) for h in holding)} held)" if holding else ""
        return f"{top}{self.parenthesize(f, 1000, strict=True)}/{bottom}{held}"

    def _print_ScalarD(self, expr) -> str:
        return self._derivative("∂", expr.f, f"∂{self.parenthesize(expr.wrt, 1000, strict=True)}",
                                expr.holding)

    _print_MatD = _print_ScalarD

    def _print_Hess(self, expr) -> str:
        v = self.parenthesize(expr.wrt, 1000, strict=True)
        return self._derivative("∂²", expr.f, f"∂{v}∂{v}ᵀ", expr.holding)


def unicode(expr: sp.Basic) -> str:
    """``expr`` on one line, in Unicode (composed: ĥ is one character, as typed)."""
    return unicodedata.normalize("NFC", UnicodePrinter().doprint(expr))


def formula(claim: Claim) -> str:
    """What a claim states, on one line."""
    if isinstance(claim, StationaryClaim):
        point = ", ".join(f"{unicode(k)} = {unicode(v)}" for k, v in claim.point.items())
        goal = "maximises" if claim.maximum else "is stationary for"
        subject = (" subject to " + ", ".join(f"{unicode(g)} = 0" for g in claim.constraints)
                   if claim.constraints else "")
        return f"{point} {goal} {unicode(claim.f)}{subject}"
    given = (" given " + ", ".join(f"{unicode(g)} = 0" for g in claim.given)
             if claim.given else "")
    return f"{unicode(claim.lhs)} = {unicode(claim.rhs)}{given}"
