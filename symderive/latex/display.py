"""Numbered displays (``align``) whose long right-hand sides are broken to fit the page."""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

from dataclasses import dataclass

from .layout import break_lines, strip_marks
from .width import width

TEXT_EM = 39.0   # line width in em as estimated: A4, 2 cm margins, 11 pt is 44 em; the
                 # estimate may be 10 % short, so this keeps a margin
MAX_TAG_EM = 8.0
WIDE_LHS = 0.4   # a left side wider than this share of the line gets lines of its own
INDENT = r"\quad "
INDENT_EM = 1.0


@dataclass
class Row:
    """One relation of a display: ``lhs rel rhs``; ``lhs`` empty continues the one above."""

    lhs: str
    rhs: str
    rel: str = "="
    tag: str | None = None
    label: str | None = None
    colour: str | None = None


def tag_text(row: Row) -> str:
    if row.tag is None:
        return r"\notag"
    tag = row.tag if not row.colour else r"\textcolor{%s}{%s}" % (row.colour, row.tag)
    out = r"\tag{%s}" % tag
    return out + (r"\label{%s}" % row.label if row.label else "")


def _tag_em(row: Row) -> float:
    """Room for the tag; a longer tag is set by amsmath on a line of its own."""
    return 0.0 if row.tag is None else min(0.55 * (len(row.tag) + 2) + 1.5, MAX_TAG_EM)


def _wide(rows: list[Row], text_em: float) -> bool:
    """Whether the left sides are too wide to share their lines with the right sides."""
    return any(width(strip_marks(r.lhs)) > WIDE_LHS * text_em for r in rows)


def lines_of(row: Row, lhs_em: float, text_em: float = TEXT_EM, wide: bool = False
             ) -> list[str]:
    """The aligned lines of one row: ``lhs &= part`` then ``&\\quad + part`` ...

    With ``wide`` left sides, everything goes right of the alignment point: the left
    side (itself broken when long), then ``= part`` on the next line.
    """
    tag_em = _tag_em(row)
    rel_em = width(row.rel) + 0.6
    if wide:
        out = []
        if row.lhs:
            out = ["&" + p for p in _indented(break_lines(row.lhs, text_em - tag_em,
                                                          text_em - INDENT_EM - tag_em))]
        avail = text_em - INDENT_EM - rel_em - tag_em
        parts = break_lines(row.rhs, avail, avail - INDENT_EM) if row.rhs else [""]
        out.append(f"&{INDENT}{row.rel} {parts[0]}")
        out += [f"&{INDENT}{INDENT}{p}" for p in parts[1:]]
        return out
    avail = text_em - lhs_em - rel_em - tag_em
    parts = break_lines(row.rhs, avail, avail - INDENT_EM) if row.rhs else [""]
    lead = f"{strip_marks(row.lhs)} &{row.rel} "
    return [lead + parts[0]] + [f"&{INDENT}{p}" for p in parts[1:]]


def _indented(parts: list[str]) -> list[str]:
    return parts[:1] + [INDENT + p for p in parts[1:]]


def _lines(rows: list[Row], text_em: float, tags: bool) -> list[str]:
    wide = _wide(rows, text_em)
    lhs_em = max((width(strip_marks(r.lhs)) for r in rows), default=0.0)
    out: list[str] = []
    for row in rows:
        row = row if tags else Row(row.lhs, row.rhs, row.rel)
        parts = lines_of(row, lhs_em, text_em, wide)
        if tags:
            parts = [p + r" \notag" for p in parts[:-1]] + [parts[-1] + " " + tag_text(row)]
        out += parts
    return out


def align(rows: list[Row], text_em: float = TEXT_EM) -> str:
    """An ``align`` environment: rows aligned at their relation, tags on their last line."""
    return "\\begin{align}\n" + " \\\\\n".join(_lines(rows, text_em, True)) + "\n\\end{align}"


def aligned(rows: list[Row], text_em: float) -> str:
    """Unnumbered lines for a narrow column: ``\\[ \\begin{aligned} ... \\end{aligned} \\]``."""
    return ("\\[\n\\begin{aligned}\n" + " \\\\\n".join(_lines(rows, text_em, False))
            + "\n\\end{aligned}\n\\]")


def fits(rows: list[Row], text_em: float) -> bool:
    """Whether every line of ``rows`` fits in ``text_em`` once broken."""
    return all(width(line.replace("&", "")) <= text_em for line in _lines(rows, text_em, False))
