"""The prose of a derivation: ``$…$`` math and a small Markdown subset, for three targets.

Docstrings, notes and errata are written once, as a mathematician writes them in a
Markdown cell: ``$z_{2,i} = W_2 \\hat h_{1,i} + b_2$``, ``*emphasis*``, ``**strong**``,
```code``` and ``* item`` / ``- item`` lists.  The LaTeX report sets the math as math, a
notebook hands it to MathJax, and the terminal shows plain text (simple LaTeX turned into
Unicode: ``\\hat h_{1,i}`` → ``ĥ_{1,i}``).
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["blocks", "inline_latex", "inline_html", "plain", "block_latex", "block_html"]

_INLINE_RE = re.compile(
    r"(?<!\\)\$(?P<math>[^$]+?)(?<!\\)\$"
    r"|``(?P<code2>.+?)``|`(?P<code>[^`\n]+)`"
    r"|\*\*(?P<strong>[^*\n]+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])")
_ITEM_RE = re.compile(r"[ \t]*[*-][ \t]+")


def _spans(text: str):
    """``(kind, content)`` pieces: text, math, code, strong, em."""
    pos = 0
    for m in _INLINE_RE.finditer(text):
        if m.start() > pos:
            yield "text", text[pos:m.start()]
        kind = next(k for k, v in m.groupdict().items() if v is not None)
        yield ("code" if kind == "code2" else kind), m.group(kind)
        pos = m.end()
    if pos < len(text):
        yield "text", text[pos:]


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """Paragraphs of ``text``: ``("p", [text])`` or ``("ul", [item, ...])``, each with
    its lines joined (a list may follow the sentence that introduces it).  A line that
    starts with ``* `` or ``- `` inside open ``$…$`` math continues the formula."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        pieces: list[list[str]] = [[]]  # the lead text, then one list per item
        for line in para.splitlines():
            m = _ITEM_RE.match(line)
            if m and _balanced(" ".join(pieces[-1])):
                pieces.append([line[m.end():]])
            else:
                pieces[-1].append(line)
        head, *items = (" ".join(" ".join(p).split()) for p in pieces)
        if head:
            out.append(("p", [head]))
        if items:
            out.append(("ul", [i for i in items if i]))
    return out


def _balanced(text: str) -> bool:
    """Whether ``text`` leaves no ``$…$`` open."""
    return len(re.findall(r"(?<!\\)\$", text)) % 2 == 0


# -- LaTeX ------------------------------------------------------------------------------
def inline_latex(text: str) -> str:
    """One paragraph of prose as LaTeX (math as math, everything else escaped)."""
    from .latex.text import escape

    out = []
    for kind, s in _spans(str(text)):
        if kind == "math":
            out.append(f"${s}$")
        elif kind == "code":
            out.append(r"\texttt{%s}" % escape(s))
        elif kind == "strong":
            out.append(r"\textbf{%s}" % inline_latex(s))
        elif kind == "em":
            out.append(r"\emph{%s}" % inline_latex(s))
        else:
            out.append(escape(s.replace(r"\$", "$")))
    return "".join(out)


def block_latex(text: str) -> str:
    """Paragraphs and lists of prose as LaTeX."""
    out = []
    for kind, parts in blocks(text):
        if kind == "p":
            out.append(inline_latex(parts[0]))
        else:
            items = "\n".join(r"\item " + inline_latex(i) for i in parts)
            out.append("\\begin{itemize}\n%s\n\\end{itemize}" % items)
    return "\n\n".join(out)


# -- HTML (math left to MathJax) ------------------------------------------------------------
def inline_html(text: str) -> str:
    out = []
    for kind, s in _spans(str(text)):
        if kind == "math":
            out.append(f"${html.escape(mathjax(s))}$")
        elif kind == "code":
            out.append(f"<code>{html.escape(s)}</code>")
        elif kind in ("strong", "em"):
            out.append(f"<{kind}>{inline_html(s)}</{kind}>")
        else:
            out.append(html.escape(s.replace(r"\$", "$")))
    return "".join(out)


def block_html(text: str) -> str:
    out = []
    for kind, parts in blocks(text):
        if kind == "p":
            out.append(f"<p>{inline_html(parts[0])}</p>")
        else:
            out.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in parts) + "</ul>")
    return "\n".join(out)


def mathjax(tex: str) -> str:
    """LaTeX that MathJax knows: ``\\bm`` is a package macro, ``\\boldsymbol`` is built in."""
    return tex.replace(r"\bm{", r"\boldsymbol{")


# -- plain text -------------------------------------------------------------------------
#: LaTeX macro names and the Unicode characters that stand for them in plain text
SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Omega": "Ω",
    "sum": "∑", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇", "infty": "∞",
    "cdot": "·", "times": "×", "odot": "⊙", "circ": "∘", "top": "ᵀ", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "propto": "∝", "in": "∈",
    "to": "→", "mapsto": "↦", "pm": "±", "ldots": "…", "dots": "…", "cdots": "⋯",
    "log": "log", "exp": "exp", "max": "max", "min": "min", "arg": "arg", "sqrt": "√",
    "mid": "|", "quad": " ", "qquad": " ", "mathbb{R}": "ℝ",
}
_ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "dot": "\u0307"}
_STYLES = ("mathbf", "bm", "boldsymbol", "mathrm", "mathit", "text", "operatorname",
           "mathcal", "textrm")


def _accent(m: re.Match) -> str:
    body = m.group(2) or m.group(3)
    return body + _ACCENTS[m.group(1)] if len(body) == 1 else f"{body}{_ACCENTS[m.group(1)]}"


_PREFIX = set("αβγδεζηθκλμνξπρστφχψωΓΔΘΛΠΣΦΨΩ∑∏∫∂∇√")


def _symbol(m: re.Match) -> str:
    """A command as its symbol; the space after it is LaTeX's separator, kept only after
    a word (``\\log x``) or an operator (``a \\cdot b``), not after a letter (``\\partial L``)."""
    sym = SYMBOLS.get(m.group(1))
    if sym is None:
        return m.group(0)
    return sym + ("" if sym in _PREFIX else m.group(2))


def _group(s: str) -> str:
    """``s`` as an operand: bare when it is one token, else in parentheses."""
    return s if re.fullmatch(r"\\?\w+", s.strip()) else f"({s})"


def math_plain(tex: str) -> str:
    """Simple LaTeX as Unicode text: Greek letters, accents, operators; ``\\frac{a}{b}``
    as ``(a)/(b)``; anything it does not know is left as it is."""
    s = tex
    s = re.sub(r"\\(?:%s)\{([^{}]*)\}" % "|".join(_STYLES), r"\1", s)
    s = re.sub(r"\\(hat|tilde|bar|dot)\s*(?:\{([^{}]*)\}|([A-Za-z]))", _accent, s)
    s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}",
               lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", s)
    s = re.sub(r"\\sqrt\{([^{}]*)\}", lambda m: f"√{_group(m.group(1))}", s)
    s = re.sub(r"\\(mathbb\{R\}|[A-Za-z]+)( ?)", _symbol, s)
    s = re.sub(r"\\[,;:!]|~", " ", s)
    s = s.replace(r"\{", "{").replace(r"\}", "}").replace(r"\|", "‖")
    s = re.sub(r"\^\{?T\}?(?![A-Za-z])", "ᵀ", s)
    s = s.replace("\\left", "").replace("\\right", "")
    return unicodedata.normalize("NFC", s)  # h + combining hat is ĥ


def plain(text: str) -> str:
    """Prose as terminal text: math in Unicode, Markdown marks dropped."""
    out = []
    for kind, s in _spans(str(text)):
        if kind == "math":
            out.append(math_plain(s))
        elif kind in ("strong", "em"):
            out.append(plain(s))
        else:
            out.append(s.replace(r"\$", "$"))
    return "".join(out)
