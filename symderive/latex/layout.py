"""Split a long formula into display lines at its ``+``/``-`` signs.

The printer marks every place where a sum may be broken (:data:`~.printer.BREAK`).  A mark
is usable when it is not inside a braced argument (a fraction, a root, a script): at the
top level of the formula or inside ``\\left( ... \\right)``.  Lines are filled greedily;
a term too wide for a line is opened up at the marks inside its widest bracket, closing
the bracket with ``\\right.`` at the end of a line and reopening it with ``\\left.`` (with
a ``\\vphantom`` of the whole bracket, so both halves get the same size).
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

from dataclasses import dataclass, field

from .printer import BREAK, MUL_BREAK
from .width import width


@dataclass
class Group:
    """``\\left<open> ... \\right<close>``: its items may be broken across lines.

    ``braced`` marks ``{\\left( ... \\right)}``; the braces go when it is broken.
    """

    open: str
    items: list = field(default_factory=list)
    close: str = r"\right."
    braced: bool = False

    def unbraced(self) -> tuple[str, str]:
        if self.braced:
            return self.open[1:], self.close[:-1]
        return self.open, self.close


def _braced_bracket(tex: str, i: int) -> bool:
    """Whether the brace at ``i`` holds exactly one ``\\left ... \\right`` bracket."""
    k, level, depth = i + 1, 0, 0
    while k < len(tex):
        if depth == 0 and tex.startswith(r"\left", k) and not tex[k + 5: k + 6].isalpha():
            level += 1
            k = _delimiter(tex, k + 5)
            continue
        if depth == 0 and tex.startswith(r"\right", k) and not tex[k + 6: k + 7].isalpha():
            level -= 1
            k = _delimiter(tex, k + 6)
            if level == 0:
                return k < len(tex) and tex[k] == "}"
            continue
        c = tex[k]
        if c == "\\":
            k += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return False
            depth -= 1
        k += 1
    return False


class Mark:
    """A break opportunity: before a sign, or between two factors."""

    def __init__(self, kind: str):
        self.kind = kind


MARK = Mark("sum")
MUL = Mark("product")
_MARKS = {BREAK: MARK, MUL_BREAK: MUL}


def strip_marks(tex: str) -> str:
    return tex.replace(BREAK, "").replace(MUL_BREAK, "")


def _delimiter(s: str, i: int) -> int:
    """End of the delimiter that starts at ``s[i]`` (after ``\\left``/``\\right``)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "\\":
        j = i + 1
        if j < len(s) and s[j].isalpha():
            while j < len(s) and s[j].isalpha():
                j += 1
            return j
        return j + 1
    return i + 1


def parse(tex: str) -> list:
    """Items of ``tex``: strings, :data:`MARK` and :class:`Group` (nested)."""
    root: list = []
    stack: list = [root]
    groups: list[Group] = []
    buf, depth, i = [], 0, 0

    def flush() -> None:
        if buf:
            stack[-1].append("".join(buf))
            buf.clear()

    while i < len(tex):
        c = tex[i]
        if c == "{" and depth == 0 and tex.startswith(r"{\left", i) and \
                _braced_bracket(tex, i):
            # ``{\left( ... \right)}``: a bracket braced as a factor, still breakable
            flush()
            end = _delimiter(tex, i + 6)
            group = Group(tex[i:end], braced=True)
            stack[-1].append(group)
            stack.append(group.items)
            groups.append(group)
            i = end
            continue
        if c == "\\" and depth == 0 and tex.startswith(r"\left", i) and \
                not tex[i + 5: i + 6].isalpha():
            flush()
            end = _delimiter(tex, i + 5)
            group = Group(tex[i:end])
            stack[-1].append(group)
            stack.append(group.items)
            groups.append(group)
            i = end
            continue
        if c == "\\" and depth == 0 and tex.startswith(r"\right", i) and \
                not tex[i + 6: i + 7].isalpha() and groups:
            flush()
            end = _delimiter(tex, i + 6)
            group = groups.pop()
            if group.braced:
                end += 1  # the closing brace
            group.close = tex[i:end]
            stack.pop()
            i = end
            continue
        if c == "\\":
            buf.append(tex[i: i + 2])
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c in _MARKS:
            if depth == 0:
                flush()
                stack[-1].append(_MARKS[c])
            i += 1
            continue
        buf.append(c)
        i += 1
    flush()
    return root


def render(items: list) -> str:
    out = []
    for item in items:
        if isinstance(item, Group):
            out.append(item.open + render(item.items) + item.close)
        elif isinstance(item, str):
            out.append(item)
    return "".join(out)


def _width(items: list) -> float:
    return width(render(items))


def _pieces(items: list) -> list[list]:
    out: list[list] = [[]]
    for item in items:
        if item is MARK:
            out.append([])
        else:
            out[-1].append(item)
    return [p for p in out if p]


def _has(item, mark: Mark) -> bool:
    """Whether a bracket holds ``mark`` usable for a break (at any depth of brackets)."""
    return isinstance(item, Group) and any(x is mark or _has(x, mark) for x in item.items)


def break_lines(tex: str, first: float, rest: float | None = None) -> list[str]:
    """``tex`` as display lines: the first at most ``first`` em wide, the others ``rest``.

    Every line after the first starts with its sign.  A part that cannot be broken
    further is left whole, even when it is wider than the line.
    """
    rest = first if rest is None else rest
    return [r for r in _fill(parse(tex), first, rest) if r.strip()]


def _fill(items: list, first: float, rest: float) -> list[str]:
    rows: list[str] = []
    current: list = []
    for piece in _pieces(items):
        avail = first if not rows else rest
        if not current:
            if _width(piece) <= avail:
                current = list(piece)
                continue
            split = _open_up(piece, avail, rest)
            rows += split[:-1]
            current = [split[-1]]
            continue
        if _width(current + piece) <= avail:
            current += piece
            continue
        rows.append(render(current))
        current = []
        avail = rest
        if _width(piece) <= avail:
            current = list(piece)
        else:
            split = _open_up(piece, avail, rest)
            rows += split[:-1]
            current = [split[-1]]
    if current:
        rows.append(render(current))
    return rows


def _open_up(piece: list, first: float, rest: float) -> list[str]:
    """Break one term that is too wide: at the signs inside its widest bracket, else
    between its factors, else inside a bracket of factors."""
    sums = [k for k, x in enumerate(piece) if _has(x, MARK)]
    widest = max(sums, key=lambda j: _width([piece[j]])) if sums else None
    product = any(x is MUL for x in piece)
    if widest is not None and (not product or
                               _width(piece[:widest] + piece[widest + 1:]) + 4.0 <= first):
        return _open_group(piece, widest, first, rest)
    if product:
        return _split_product(piece, first, rest)
    inner = [k for k, x in enumerate(piece) if _has(x, MUL)]
    if inner:
        return _open_group(piece, max(inner, key=lambda j: _width([piece[j]])), first, rest)
    return [render(piece)]


def _open_group(piece: list, k: int, first: float, rest: float) -> list[str]:
    group = piece[k]
    before, after = render(piece[:k]), render(piece[k + 1:])
    opening, closing = group.unbraced()
    phantom = r"\vphantom{%s}" % render(group.items)
    lead = width(before + opening)
    inner = _fill(group.items, max(first - lead, 4.0), rest - 1.0)
    if len(inner) == 1:
        return [render(piece)]
    rows = [before + opening + phantom + inner[0] + r"\right."]
    rows += [r"\left." + phantom + row + r"\right." for row in inner[1:-1]]
    rows.append(r"\left." + phantom + inner[-1] + closing + after)
    return rows


def _split_product(piece: list, first: float, rest: float) -> list[str]:
    """Lines of a long product, each continuation starting with a times sign."""
    factors: list[list] = [[]]
    for item in piece:
        if item is MUL:
            factors.append([])
        else:
            factors[-1].append(item)
    rows: list[str] = []
    current: list = []
    for factor in (f for f in factors if f):
        avail = first if not rows else rest
        prefix = [] if not rows and not current else [r"\times "]
        if current and _width(current + factor) <= avail:
            current += factor
            continue
        if current:
            rows.append(render(current))
            avail, prefix = rest, [r"\times "]
        if _width(prefix + factor) <= avail:
            current = prefix + factor
        else:
            split = _open_up(prefix + factor, avail, rest)
            rows += split[:-1]
            current = [split[-1]]
    if current:
        rows.append(render(current))
    return rows
