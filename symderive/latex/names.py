"""How the names of a derivation are typeset: bold vectors, hats and Greek letters.

A name is kept as a core (``\\hat{\\mathbf{h}}``) plus its subscripts, so that an index can be
merged into an existing subscript: ``h1hat`` indexed by ``i`` prints as
``\\hat{\\mathbf{h}}_{1,i}``, not as a double subscript.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from sympy.printing.conventions import split_super_sub

# ``sympy.printing.latex`` the module (the package re-exports a function of that name).
_sympy_latex = importlib.import_module("sympy.printing.latex")

ACCENTS = ("hat", "bar", "tilde", "check", "breve", "dot", "ddot", "vec")
_ACCENT_RE = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<digits>\d*)(?P<acc>%s)(?P<tail>\d*)$"
                        % "|".join(sorted(ACCENTS, key=len, reverse=True)))
_TRAILING_SUB_RE = re.compile(r"_\{([^{}]*)\}$")
_TRAILING_CHAR_SUB_RE = re.compile(r"_([A-Za-z0-9])$")
_BOLD_RE = re.compile(r"\\(?:mathbf|boldsymbol|bm)\{((?:[^{}]|\{[^{}]*\})*)\}")


@dataclass(frozen=True)
class Name:
    """A typeset name: ``core`` with ``subs`` (joined by commas) and ``sup``."""

    core: str
    subs: tuple[str, ...] = ()
    sup: str = ""

    def render(self, extra: tuple[str, ...] = ()) -> str:
        """The name with further subscripts (indices) appended to its own."""
        subs = self.subs + tuple(extra)
        out = self.core
        if subs:
            out += "_{%s}" % ",".join(subs)
        if self.sup:
            out += "^{%s}" % self.sup
        return out

    def plain(self) -> Name:
        """The same name without bold, as an entry of the vector is written."""
        return Name(unbold(self.core), self.subs, self.sup)


def unbold(tex: str) -> str:
    """``\\hat{\\mathbf{y}}`` -> ``\\hat{y}``: an entry of a bold vector is not bold."""
    previous = None
    while previous != tex:
        previous, tex = tex, _BOLD_RE.sub(r"\1", tex)
    return tex


def greek(base: str) -> str:
    """``mu`` -> ``\\mu``, ``Sigma`` -> ``\\Sigma``; anything else as given (no SymPy
    name modifiers: ``gammaG`` must not print as ``|gam|``)."""
    tex = _sympy_latex.tex_greek_dictionary.get(base)
    if tex:
        return tex
    if base.lower() in _sympy_latex.greek_letters_set:
        return "\\" + base
    return base


def _bold(core: str) -> str:
    return r"\boldsymbol{%s}" % core if core.startswith("\\") else r"\mathbf{%s}" % core


def _accentable(base: str) -> bool:
    """Only a single letter or a Greek letter takes an accent: ``yhat``, ``muhat``,
    but not ``pivot`` (which would otherwise read as a dotted ``piv``)."""
    return len(base) == 1 or greek(base) != base


def _split(name: str) -> tuple[str, str | None, list[str], list[str]]:
    """(base, accent, subscripts, superscripts) of an identifier such as ``h1hat``."""
    m = _ACCENT_RE.match(name)
    if m and _accentable(m.group("base")):
        digits = m.group("digits") + m.group("tail")
        return m.group("base"), m.group("acc"), [digits] if digits else [], []
    base, sups, subs = split_super_sub(name)
    if subs and subs[0] in ACCENTS and _accentable(base):
        return base, subs[0], list(subs[1:]), list(sups)
    return base, None, list(subs), list(sups)


def default_name(name: str, bold: bool) -> Name:
    """The conventional typesetting of an identifier.

    ``W1`` -> bold W with subscript 1, ``yhat`` -> hatted bold y, ``delta1`` ->
    bold delta with subscript 1, ``n_x`` -> n with subscript x.  ``sigma2`` is the
    variance, so it prints as sigma squared.
    """
    base, accent, subs, sups = _split(name)
    core = greek(base)
    if bold:
        core = _bold(core)
    if accent:
        core = r"\%s{%s}" % (accent, core)
    if base in ("sigma", "Sigma") and subs == ["2"] and not sups:
        subs, sups = [], ["2"]
    return Name(core, tuple(greek(s) for s in subs), " ".join(sups))


def given_name(tex: str) -> Name:
    """A name the derivation typeset itself (``latex=...``), split at a final subscript."""
    m = _TRAILING_SUB_RE.search(tex) or _TRAILING_CHAR_SUB_RE.search(tex)
    if m and "^" not in tex[m.start():]:
        return Name(tex[: m.start()], (m.group(1),))
    return Name(tex)
