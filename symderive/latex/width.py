"""An estimate of how wide a piece of display math is, in em, read from its LaTeX.

The estimate decides where a long formula is broken; it errs on the wide side (bold
letters, big operators, scripts), and the tests check the compiled document for
overfull boxes, which is the real measure.
"""

from __future__ import annotations

SCRIPT = 0.72  # size of a sub/superscript relative to its base
_ONE_ARG = {"mathbf": 1.2, "boldsymbol": 1.15, "bm": 1.15, "mathrm": 1.0, "mathit": 1.0,
            "hat": 1.0, "bar": 1.0, "tilde": 1.0, "vec": 1.0, "dot": 1.0, "ddot": 1.0,
            "check": 1.0, "breve": 1.0, "mathbb": 1.1, "mathcal": 1.1, "mathsf": 1.0,
            "mathtt": 1.1, "overline": 1.0, "underline": 1.0, "mathopen": 1.0,
            "mathclose": 1.0, "mathrel": 1.0, "mathbin": 1.0, "mathord": 1.0}
_ZERO_ARG = {"vphantom", "label", "notag", "nonumber"}
_BIG_OPS = {"sum": 1.45, "prod": 1.45, "int": 0.9, "bigcup": 1.2, "bigcap": 1.2}
_BINARY = {"odot": 1.25, "cdot": 0.75, "times": 1.25, "circ": 1.0, "pm": 1.25, "mp": 1.25,
           "otimes": 1.25, "oplus": 1.25, "ast": 1.0, "setminus": 1.25}
_RELATION = {"leq": 1.35, "geq": 1.35, "le": 1.35, "ge": 1.35, "neq": 1.35, "approx": 1.35,
             "in": 1.2, "to": 1.35, "mapsto": 1.35, "sim": 1.35, "equiv": 1.35, "mid": 0.8}
_SPACES = {",": 0.17, ":": 0.22, ";": 0.28, " ": 0.33, "!": -0.17, "quad": 1.0,
           "qquad": 2.0, "enspace": 0.5}
_CHAR = {"+": 1.22, "-": 1.22, "=": 1.33, "<": 1.33, ">": 1.33, "(": 0.39, ")": 0.39,
         "[": 0.28, "]": 0.28, ",": 0.45, ";": 0.45, ".": 0.28, "/": 0.5, "|": 0.28,
         "'": 0.3, "!": 0.3, ":": 0.6, "&": 0.0, "~": 0.33}


class _Reader:
    def __init__(self, tex: str):
        self.s, self.i = tex, 0

    def done(self) -> bool:
        return self.i >= len(self.s)

    def skip_space(self) -> None:
        while not self.done() and self.s[self.i] in " \n\t":
            self.i += 1

    def group(self) -> str:
        """The next argument: a braced group's contents, a command or one character."""
        self.skip_space()
        if self.done():
            return ""
        c = self.s[self.i]
        if c == "{":
            depth, start = 0, self.i
            while not self.done():
                ch = self.s[self.i]
                if ch == "\\":
                    self.i += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        self.i += 1
                        return self.s[start + 1: self.i - 1]
                self.i += 1
            return self.s[start + 1:]
        if c == "\\":
            return self.command_text()
        self.i += 1
        return c

    def command_text(self) -> str:
        start = self.i
        self.i += 1
        if not self.done() and self.s[self.i].isalpha():
            while not self.done() and self.s[self.i].isalpha():
                self.i += 1
        else:
            self.i += 1
        return self.s[start: self.i]

    def optional(self) -> str | None:
        self.skip_space()
        if not self.done() and self.s[self.i] == "[":
            end = self.s.find("]", self.i)
            end = len(self.s) if end < 0 else end
            text = self.s[self.i + 1: end]
            self.i = end + 1
            return text
        return None


def width(tex: str, scale: float = 1.0, display: bool = True) -> float:
    """Estimated width of the math ``tex`` in em at the given size; ``display`` is
    display style (big operators with their limits above and below)."""
    r = _Reader(tex)
    total = 0.0
    last_script = 0.0   # width of the script just added, to overlap ^ and _ on one base
    big = 0.0           # width of a big operator whose limits go under it
    while not r.done():
        c = r.s[r.i]
        if c in " \n\t\x1f":
            r.i += 1
            continue
        if c in "_^":
            r.i += 1
            w = width(r.group(), scale * SCRIPT, False)
            if big:
                extra = max(0.0, w - big)
                total += extra
                big += extra
                continue
            if last_script:
                total += max(0.0, w - last_script)
                last_script = max(w, last_script)
            else:
                total += w
                last_script = w
            continue
        if r.s.startswith(("\\limits", "\\nolimits"), r.i):
            r.command_text()  # keeps the limits of the operator before it in place
            continue
        last_script, big = 0.0, 0.0
        if c == "{":
            total += width(r.group(), scale, display)
            continue
        if c == "}":
            r.i += 1
            continue
        if c == "\\":
            w, big = _command(r, scale, display)
            total += w
            continue
        r.i += 1
        if c in _CHAR:
            total += _CHAR[c] * scale
        elif c.isupper():
            total += 0.72 * scale
        elif c.isdigit():
            total += 0.5 * scale
        else:
            total += 0.55 * scale
    return total


def _command(r: _Reader, scale: float, display: bool) -> tuple[float, float]:
    """(width, big-operator width) of the command at the reader."""
    cmd = r.command_text()[1:]
    if cmd in ("frac", "dfrac", "tfrac", "binom"):
        inner = scale if display else scale * SCRIPT
        a, b = width(r.group(), inner, False), width(r.group(), inner, False)
        return max(a, b) + 0.3 * scale, 0.0
    if cmd == "sqrt":
        index = r.optional()
        return (width(r.group(), scale, display) + 1.0 * scale
                + (0.4 * scale if index else 0)), 0.0
    if cmd in _ONE_ARG:
        return width(r.group(), scale, display) * _ONE_ARG[cmd], 0.0
    if cmd in ("operatorname", "text", "textrm", "textit", "mathrm"):
        arg = r.group()
        letters = width(arg, scale, display) if cmd == "operatorname" else \
            0.5 * scale * len(arg)
        return letters + 0.3 * scale, 0.0
    if cmd in _ZERO_ARG:
        r.group()
        return 0.0, 0.0
    if cmd in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl",
               "Biggr", "big", "Big", "bigg", "Bigg", "middle"):
        delim = r.group()
        return (0.0 if delim == "." else 0.6 * scale), 0.0
    if cmd == "substack":
        rows = r.group().split(r"\\")
        return max(width(row, scale, False) for row in rows), 0.0
    if cmd in ("limits", "nolimits", "displaystyle", "textstyle"):
        return 0.0, 0.0
    if cmd in _BIG_OPS:
        if not display:
            return 1.05 * scale + 0.17 * scale, 0.0  # limits beside the operator
        w = _BIG_OPS[cmd] * scale
        return w + 0.17 * scale, w
    if cmd in _BINARY:
        return _BINARY[cmd] * scale, 0.0
    if cmd in _RELATION:
        return _RELATION[cmd] * scale, 0.0
    if cmd in _SPACES:
        return _SPACES[cmd] * scale, 0.0
    if cmd in ("{", "}", "|", "lbrace", "rbrace"):
        return 0.5 * scale, 0.0
    if cmd in ("log", "exp", "sin", "cos", "tan", "max", "min", "det", "lim", "arg"):
        return (0.5 * len(cmd) + 0.2) * scale, 0.0
    if cmd and cmd[0].isupper():
        return 0.75 * scale, 0.0
    return 0.6 * scale, 0.0
