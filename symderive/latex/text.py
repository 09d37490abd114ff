"""Free text in the report: escaped for LaTeX, with break points in long unbroken runs.

Messages, erratum reasons, titles and values come from derivation files and from the
checker; none of them may break the document, whatever characters they contain.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import re
import unicodedata

_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "`": r"\textasciigrave{}", '"': r"\textquotedbl{}",
}
# Characters outside Latin-1 that messages are likely to contain.
_UNICODE = {
    "≥": r"\ensuremath{\geq}", "≤": r"\ensuremath{\leq}", "≠": r"\ensuremath{\neq}",
    "⊙": r"\ensuremath{\odot}", "∘": r"\ensuremath{\circ}", "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}", "−": "-", "–": "--", "—": "---", "→": r"\ensuremath{\to}",
    "∞": r"\ensuremath{\infty}", "≈": r"\ensuremath{\approx}", "∈": r"\ensuremath{\in}",
    "∑": r"\ensuremath{\sum}", "∂": r"\ensuremath{\partial}", "√": r"\ensuremath{\surd}",
    "±": r"\ensuremath{\pm}", "…": r"\dots{}", "‘": "`", "’": "'", "“": "``", "”": "''",
    "§": r"\S{}", "°": r"\ensuremath{^\circ}", "²": r"\ensuremath{^2}",
    "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}", "γ": r"\ensuremath{\gamma}",
    "δ": r"\ensuremath{\delta}", "ε": r"\ensuremath{\epsilon}", "η": r"\ensuremath{\eta}",
    "θ": r"\ensuremath{\theta}", "λ": r"\ensuremath{\lambda}", "μ": r"\ensuremath{\mu}",
    "π": r"\ensuremath{\pi}", "σ": r"\ensuremath{\sigma}", "φ": r"\ensuremath{\phi}",
    "ω": r"\ensuremath{\omega}", "Σ": r"\ensuremath{\Sigma}", "Δ": r"\ensuremath{\Delta}",
    "ρ": r"\ensuremath{\rho}", "τ": r"\ensuremath{\tau}", "ψ": r"\ensuremath{\psi}",
    "χ": r"\ensuremath{\chi}", "ξ": r"\ensuremath{\xi}", "ζ": r"\ensuremath{\zeta}",
    "κ": r"\ensuremath{\kappa}", "ν": r"\ensuremath{\nu}", "Π": r"\ensuremath{\Pi}",
    "Λ": r"\ensuremath{\Lambda}", "Φ": r"\ensuremath{\Phi}", "Ω": r"\ensuremath{\Omega}",
    "Γ": r"\ensuremath{\Gamma}", "Θ": r"\ensuremath{\Theta}",
    "∪": r"\ensuremath{\cup}", "∩": r"\ensuremath{\cap}", "⊂": r"\ensuremath{\subset}",
    "⊆": r"\ensuremath{\subseteq}", "∖": r"\ensuremath{\setminus}", "∉": r"\ensuremath{\notin}",
    "∀": r"\ensuremath{\forall}", "∃": r"\ensuremath{\exists}", "≡": r"\ensuremath{\equiv}",
    "∝": r"\ensuremath{\propto}", "∫": r"\ensuremath{\int}", "∇": r"\ensuremath{\nabla}",
    "⊗": r"\ensuremath{\otimes}", "⋅": r"\ensuremath{\cdot}", "∗": "*", "′": "'",
    "≪": r"\ensuremath{\ll}", "≫": r"\ensuremath{\gg}", "⇒": r"\ensuremath{\Rightarrow}",
    "⇔": r"\ensuremath{\Leftrightarrow}", "←": r"\ensuremath{\leftarrow}",
    "↦": r"\ensuremath{\mapsto}", "∅": r"\ensuremath{\emptyset}", "ℝ": r"\ensuremath{\mathbb{R}}",
    "ℕ": r"\ensuremath{\mathbb{N}}", "‖": r"\ensuremath{\|}", "∼": r"\ensuremath{\sim}",
    "⊤": r"\ensuremath{^{T}}", "ᵀ": r"\ensuremath{^{T}}",
    "¹": r"\ensuremath{^1}", "³": r"\ensuremath{^3}", "₀": r"\ensuremath{_0}",
    "₁": r"\ensuremath{_1}", "₂": r"\ensuremath{_2}", "ŷ": r"\ensuremath{\hat{y}}",
}
# Accented letters outside the table (the repair hints' ĥ, x̂): a text-mode accent.
_ACCENTS = {"\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0307": ".", "\u0308": '"'}
_LONG_RUN = 24  # characters without a space after which a break point is offered

_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_RATIONAL_RE = re.compile(r"^(-?)(\d+)/(\d+)$")


def _char(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if ord(c) < 128:
        return c if c.isprintable() or c in "\n\t" else " "
    if c in _UNICODE:
        return _UNICODE[c]
    if ord(c) < 256 and c.isprintable():
        return c  # Latin-1 letters work with inputenc utf8 and T1 fonts
    base, *marks = unicodedata.normalize("NFD", c)
    if len(marks) == 1 and marks[0] in _ACCENTS and base.isascii() and base.isalpha():
        return r"\%s{%s}" % (_ACCENTS[marks[0]], base)
    return f"[U+{ord(c):04X}]"


def escape(text: str) -> str:
    """``text`` as LaTeX that prints it literally, breakable in long runs."""
    out, run = [], 0
    chars = unicodedata.normalize("NFC", str(text))
    for k, c in enumerate(chars):
        if c.isspace():
            out.append(" ")
            run = 0
            continue
        prev = chars[k - 1] if k else ""
        if c in _ACCENTS and out and out[-1] == prev and prev.isascii() and prev.isalpha():
            out[-1] = r"\%s{%s}" % (_ACCENTS[c], prev)  # x̂: x, then the mark
            continue
        out.append(_char(c))
        run += 1
        if run >= _LONG_RUN or (c in ",;/=)]" and run > 8):
            out.append(r"\allowbreak{}")
            run = 0
    return "".join(out)


def ident(text: str) -> str:
    """An identifier (claim id, derivation name): escaped, breakable after - _ . :"""
    out = []
    for c in str(text):
        out.append(_char(c))
        if c in "-_.:/":
            out.append(r"\allowbreak{}")
    return "".join(out)


def value(text: str) -> str:
    """A value from the checker: a number in math mode, anything else as escaped text."""
    text = str(text).strip()
    m = _RATIONAL_RE.match(text)
    if m:
        return "$%s\\frac{%s}{%s}$" % ("-" if m.group(1) else "", m.group(2), m.group(3))
    if _NUMBER_RE.match(text):
        mant, _, exp = text.lower().partition("e")
        tex = mant if not exp else r"%s \times 10^{%d}" % (mant, int(exp))
        return f"${_digits(tex)}$"
    return r"\texttt{%s}" % escape(text)


def _digits(tex: str) -> str:
    """Long digit strings get break points (a 50-digit value must not overflow)."""
    return re.sub(r"(\d{12})(?=\d)", r"\1\\allowbreak{}", tex)
