"""A repaired formula as LaTeX (with the edited part highlighted) and as terminal text.

There is one printer, the LaTeX one of :mod:`symderive.latex.printer`; the terminal text
is read off its output (``\\hat{\\mathbf{h}}_{1,i}`` becomes ``ĥ_{1,i}``), so the hint
reads the way the report typesets the formula.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import re
import unicodedata

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..derivation import Derivation
from ..latex.printer import DerivationPrinter
from ..markup import SYMBOLS
from .edits import Path, apply

HIGHLIGHT = r"\colorbox{yellow!40}{$\displaystyle %s$}"

# the plain-text symbols of the prose markup, with the big operators as letters (a hint is
# one line) and a few names that stay words
_GREEK = {**SYMBOLS, "iota": "ι", "sum": "Σ", "prod": "Π", "log": "log", "exp": "exp",
          "ell": "ℓ"}
_ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "dot": "\u0307"}
_CMD = re.compile(r"\\([A-Za-z]+)")
_SIMPLE = re.compile(r"[\w\u0300-\u036f{},_ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹⁻.]+")
_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _group(s: str, i: int) -> tuple[str, int]:
    """The braced group starting at ``s[i] == '{'``: (inside, index after it)."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
    return s[i + 1:], len(s)


def _arg(s: str, i: int) -> tuple[str, int]:
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        return _group(s, i)
    m = _CMD.match(s, i)
    if m:
        return m.group(0), m.end()
    return s[i:i + 1], i + 1


def unicode_text(tex: str) -> str:
    """Readable terminal text for the LaTeX of a formula."""
    out, i = [], 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = _CMD.match(tex, i)
            if not m:
                out.append(tex[i + 1:i + 2].replace(",", " ").replace(";", " "))
                i += 2
                continue
            name, i = m.group(1), m.end()
            if name in _ACCENTS:
                inner, i = _arg(tex, i)
                body = unicode_text(inner)
                out.append(body[:1] + _ACCENTS[name] + body[1:])
            elif name in ("mathbf", "boldsymbol", "bm", "mathrm", "operatorname", "text",
                          "mathit", "displaystyle"):
                if name == "displaystyle":
                    continue
                inner, i = _arg(tex, i)
                out.append(unicode_text(inner))
            elif name == "frac":
                num, i = _arg(tex, i)
                den, i = _arg(tex, i)
                out.append(f"{_paren(unicode_text(num))}/{_paren(unicode_text(den))}")
            elif name == "sqrt":
                inner, i = _arg(tex, i)
                out.append(f"√({unicode_text(inner)})")
            elif name in ("sum", "prod"):
                out.append(_GREEK[name])
                for mark in ("_", "^"):  # the limits: the terminal line omits them
                    while i < len(tex) and tex[i] == " ":
                        i += 1
                    if i < len(tex) and tex[i] == mark:
                        _, i = _arg(tex, i + 1)
                out.append(" ")
            elif name in ("left", "right", "big", "Big", "bigl", "bigr"):
                continue
            else:
                out.append(_GREEK.get(name, name))
        elif c == "^":
            sup, i = _arg(tex, i + 1)
            text = unicode_text(sup)
            if text in ("T", "⊤"):
                out.append("ᵀ")
            elif re.fullmatch(r"-?\d+", text):
                out.append(text.translate(_SUPER))
            elif len(text) == 1 or re.fullmatch(r"\d+", text):
                out.append(f"^{text}")
            else:
                out.append(f"^{_paren(text) if text.startswith('(') else f'({text})'}")
        elif c == "_":
            sub, i = _arg(tex, i + 1)
            text = unicode_text(sub)
            out.append(f"_{{{text}}}" if len(text) > 1 else f"_{text}")
        elif c in "{}":
            i += 1
        else:
            out.append(c)
            i += 1
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", "".join(out)).strip())


def _paren(text: str) -> str:
    """``text`` in parentheses unless it is one name or number (or bracketed already)."""
    if _SIMPLE.fullmatch(text) or (text.startswith("(") and text.endswith(")")
                                   and text.count("(") == 1):
        return text
    return f"({text})"


class Printer:
    """Both renderings of one derivation's expressions."""

    def __init__(self, d: Derivation):
        self.p = DerivationPrinter(d)
        self.broken = DerivationPrinter(d, breaks=True)  # with the report's break marks

    def latex(self, e: sp.Basic) -> str:
        return self.p.doprint(e)

    def text(self, e: sp.Basic) -> str:
        return unicode_text(self.latex(e))

    def highlighted(self, expr: sp.Basic, edits: dict[Path, sp.Basic]) -> str:
        """The LaTeX of ``expr`` with ``edits`` applied and each edited part highlighted."""
        marks, placeholders = {}, {}
        for k, (path, new) in enumerate(edits.items()):
            if isinstance(new, MatrixExpr):
                mark = sp.MatrixSymbol(f"REPAIRMARK{k}", *new.shape)
            else:
                mark = sp.Symbol(f"REPAIRMARK{k}")
            shown = new
            if not isinstance(new, MatrixExpr) and new.could_extract_minus_sign():
                shown, marks[path] = -new, -mark  # the sign stays outside the highlight
            else:
                marks[path] = mark
            tex = self.latex(shown)
            if isinstance(shown, (sp.Add, sp.MatAdd)) and path:
                tex = r"\left(%s\right)" % tex
            placeholders[self.latex(mark)] = "{%s}" % (HIGHLIGHT % tex)
        plain = self.broken.doprint(apply(expr, edits))
        try:
            tex = self.broken.doprint(apply(expr, marks))
        except (TypeError, ValueError, sp.ShapeError):
            return plain
        for mark, repl in placeholders.items():
            if mark not in tex:  # the placeholder did not survive printing as itself
                return plain
            tex = tex.replace(mark, repl)
        return tex
