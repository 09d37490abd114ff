"""One claim (or one multi-line display) in the report: the formula the checker checked,
tagged with the document's equation number, then its verdict and evidence; a refuted
claim shows its counterexample and, where the derivation has one, the corrected formula.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from ..check.verdict import HOLDS, Evidence, Verdict
from ..derivation import Claim, StationaryClaim
from ..markup import inline_latex
from ..report import entries_differ
from ..runner import ClaimResult
from .display import TEXT_EM, Row, align, aligned, fits
from .printer import DerivationPrinter
from .text import escape, value

SIDE_BY_SIDE_LINES = 3  # longer formulas are shown one above the other, at full width
_CHAIN_RE = re.compile(r"^(.+)\.(\d+)$")


@dataclass
class Entry:
    """A claim, its result and the label of its display."""

    claim: Claim
    result: ClaimResult
    label: str

    @property
    def tag(self) -> str:
        return self.claim.equation or self.claim.id

    @property
    def is_erratum(self) -> bool:
        return self.result.verdict == Verdict.REFUTED or bool(self.claim.erratum)


def _chain_key(claim: Claim) -> str | None:
    m = _CHAIN_RE.match(claim.id)
    return m.group(1) if m and claim.kind == "equal" and not claim.given else None


def groups(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive lines of one chain ``head = l1 = l2 ...`` form one display."""
    out: list[list[Entry]] = []
    for e in entries:
        prev = out[-1][-1] if out else None
        key = _chain_key(e.claim)
        if prev is not None and key is not None and key == _chain_key(prev.claim) \
                and prev.claim.lhs == e.claim.lhs:
            out[-1].append(e)
        else:
            out.append([e])
    return out


# -- formulas ---------------------------------------------------------------------------
def _constraint(g: sp.Expr, p: DerivationPrinter) -> str:
    """``g == 0`` as one writes it: ``sum_k pi_k = 1`` rather than ``sum_k pi_k - 1 = 0``."""
    const = sum((t for t in sp.Add.make_args(g) if t.is_number), sp.S.Zero)
    if const != 0 and g - const != 0:
        return f"{p.doprint(g - const)} = {p.doprint(-const)}"
    return f"{p.doprint(g)} = 0"


def stationary_rows(c: StationaryClaim, p: DerivationPrinter) -> list[Row]:
    over = r",\, ".join(p.doprint(v) for v in c.variables)
    op = r"\max" if c.maximum else r"\min" if c.minimum else r"\operatorname{stationary}"
    if c.local and (c.maximum or c.minimum):
        op = r"\operatorname{local\,%s}" % ("max" if c.maximum else "min")
    rows = [Row(r"%s_{%s}" % (op, over), p.doprint(c.f), rel=r"\;")]
    if c.constraints:
        text = r",\quad ".join(_constraint(g, p) for g in c.constraints)
        rows.append(Row(r"\text{subject to}", text, rel=r"\;"))
    items = list(c.point.items())
    for k, (var, formula) in enumerate(items):
        rows.append(Row((r"\text{at}\ " if k == 0 else "") + p.doprint(var), p.doprint(formula)))
    return rows


def claim_rows(e: Entry, p: DerivationPrinter, head: bool = True) -> list[Row]:
    """The display rows of one claim; the last one carries the equation tag."""
    c = e.claim
    if isinstance(c, StationaryClaim):
        rows = stationary_rows(c, p)
    else:
        rows = [Row(p.doprint(c.lhs) if head else "", p.doprint(c.rhs))]
        # one condition per line, so that a line never breaks inside a condition
        for k, g in enumerate(c.given):
            word = r"\text{where}" if k == 0 else r"\text{and}"
            rows.append(Row(word, _constraint(g, p), rel=r"\;"))
        if c.given and c.unknowns:
            solved = ", ".join(p.doprint(u) for u in c.unknowns)
            rows[-1].rhs += r"\quad \text{(solved for } %s\text{)}" % solved
    last = rows[-1]
    last.tag, last.label = escape(e.tag), e.label
    last.colour = "refuted" if e.result.verdict == Verdict.REFUTED else None
    return rows


# -- verdict and evidence ----------------------------------------------------------------
def sizes_tex(sizes: dict, p: DerivationPrinter) -> str:
    parts = [f"{p.doprint(sp.Symbol(str(k)))} = {int(v)}" for k, v in sizes.items()]
    return "$" + r",\ ".join(parts) + "$" if parts else "no dimensions"


def _size_list(sizes: list, p: DerivationPrinter) -> str:
    """Several size configurations; as tuples ``(n, K) = (2, 2), (3, 3)`` when they
    share their dimensions."""
    sizes = [s for s in sizes if isinstance(s, dict) and s]
    if not sizes:
        return ""
    keys = list(sizes[0])
    if len(keys) == 1 or any(list(s) != keys for s in sizes):
        return "; ".join(sizes_tex(s, p) for s in sizes)
    names = ", ".join(p.doprint(sp.Symbol(str(k))) for k in keys)
    values = ", ".join("(%s)" % ", ".join(str(int(s[k])) for k in keys) for s in sizes)
    return r"$(%s) = %s$" % (names, values)


def _at_sizes(sizes: list, p: DerivationPrinter) -> str:
    text = _size_list(sizes, p)
    return f" at sizes {text}" if text else ""


def evidence_text(r: ClaimResult, p: DerivationPrinter) -> str:
    """Method, sizes and number of points, as a sentence or two, read from the evidence
    object of the result (never from its message)."""
    ev = Evidence.from_json(r.evidence, r.method)
    out = [f"Method: {escape(ev.method)}."]
    if ev.scope == "all sizes":
        out.append("Exact identity at all sizes.")
    elif ev.proved_sizes:
        out.append("Exact identity" + _at_sizes(ev.proved_sizes, p) + ".")
    if ev.points and r.verdict != Verdict.REFUTED:
        out.append(f"Agrees at {ev.points} random exact points"
                   f"{_at_sizes(ev.sampled_sizes, p)} ({ev.digits}-digit arithmetic).")
    if r.verdict == Verdict.VERIFIED and ev.proved_sizes:
        out.append("Not proved for every size.")
    elif r.verdict == Verdict.VERIFIED:
        out.append("Not proved symbolically within the time budget.")
    elif r.verdict in (Verdict.UNDECIDED, Verdict.ERROR) and r.message and not r.same_as:
        out[-1] = out[-1].rstrip(".") + " (%s)." % escape(r.message.rstrip("."))
    out.append(_time_text(r))
    return " ".join(out)


def _time_text(r: ClaimResult) -> str:
    """The time taken; a restatement checked once with an earlier claim took none, and
    says where its time (and its budget) went rather than "0.00 s"."""
    if r.same_as:
        return r"The same statement as claim \texttt{%s}: checked once, with it." % escape(
            r.same_as)
    return f"Time {r.seconds:.2f}\\,s."


def status_line(e: Entry, p: DerivationPrinter) -> str:
    r, c = e.result, e.claim
    head = (r"\noindent\verdict{%s}\enspace\textbf{(%s)}" % (r.verdict, escape(e.tag)))
    if c.id != e.tag:
        head += r"\enspace claim \texttt{%s}." % escape(c.id)
    parts = [head + r"\enspace " + evidence_text(r, p)]
    if c.erratum:
        if r.verdict == Verdict.REFUTED:
            parts.append(r"\textbf{Known erratum:} " + inline_latex(c.erratum) + ".")
        else:
            parts.append(r"\textbf{Marked as an erratum} (%s), \textbf{but it is %s}."
                         % (inline_latex(c.erratum), r.verdict))
    elif r.verdict == Verdict.REFUTED:
        parts.append(r"\textbf{Not marked as an erratum:} the document's formula is wrong, "
                     r"or the derivation file states it wrongly.")
    if c.note:
        note = c.note.rstrip()
        parts.append(r"\emph{Note:} " + inline_latex(note) + ("" if note[-1:] in ".!?" else "."))
    return " ".join(parts) + "\n"


# -- counterexamples ----------------------------------------------------------------------
_LEAF_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\[([0-9, ]+)\]$")


def leaf_tex(name: str, p: DerivationPrinter) -> str:
    """``W1[1,2]`` -> the entry as math; anything unexpected as escaped text."""
    m = _LEAF_RE.match(name)
    if m:
        base, idx = m.group(1), tuple(x.strip() for x in m.group(2).split(","))
        var = p.derivation.vars.get(base) if p.derivation else None
        nm = p.names.get(base)
        if var is not None and var.kind == "matrix" and nm.subs:
            return "$(%s)_{%s}$" % (nm.render(), ",".join(idx))
        return "$%s$" % nm.plain().render(idx)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        return "$%s$" % p.doprint(sp.Symbol(name))
    return r"\texttt{%s}" % escape(name)


def _assignments(values: dict, p: DerivationPrinter) -> str:
    return ", ".join(f"{leaf_tex(str(k), p)}\\,=\\,{value(v)}" for k, v in values.items())


def counterexample(cx: dict, p: DerivationPrinter) -> str:
    """Sizes, values, both sides and the differing entries, in a small block."""
    lines = []
    if cx.get("message"):
        lines.append(escape(str(cx["message"])) + ".")
    where = []
    if cx.get("sizes"):
        where.append("sizes " + sizes_tex(cx["sizes"], p))
    if cx.get("indices"):
        where.append("index " + _assignments(cx["indices"], p))
    if where:
        lines.append("At " + ", ".join(where) + ".")
    if cx.get("values"):
        lines.append(r"\textbf{Values:} " + _assignments(cx["values"], p) + ".")
    if cx.get("point"):
        lines.append(r"\textbf{Claimed point:} " + _assignments(cx["point"], p) + ".")
    for sol in cx.get("solutions") or []:
        lines.append(r"\textbf{Solution of the conditions:} " + _assignments(sol, p) + ".")
    if cx.get("solution"):
        lines.append(r"\textbf{At the solution:} " + _assignments(cx["solution"], p) + ".")
    if cx.get("lhs") is not None and cx.get("rhs") is not None:
        lines.append(r"\textbf{Left side} %s, \textbf{right side} %s."
                     % (value(cx["lhs"]), value(cx["rhs"])))
    entries = cx.get("entries") or []
    if entries:
        total, diff = cx.get("total"), cx.get("differing", len(entries))
        head = entries_differ(diff, total).capitalize() if total else "Differing entries"
        shown = "" if len(entries) >= int(diff or 0) else f" (first {len(entries)} shown)"
        rows = "\n".join(r"%s & %s & %s \\" % (r"\texttt{%s}" % escape(str(x.get("entry"))),
                                                value(x.get("lhs")), value(x.get("rhs")))
                         for x in entries)
        lines.append(f"{head}{shown}:\\\\[2pt]\n"
                     "\\begin{tabular}{@{}lll@{}}\n\\toprule\nEntry & Left side & Right side "
                     f"\\\\\n\\midrule\n{rows}\n\\bottomrule\n\\end{{tabular}}")
    if not lines:
        return ""
    return ("\\begin{counterexample}\n" + "\n\n".join(lines) + "\n\\end{counterexample}\n")


# -- corrections --------------------------------------------------------------------------
def _same_question(a: Claim, b: Claim) -> bool:
    if isinstance(a, StationaryClaim) or isinstance(b, StationaryClaim):
        return (isinstance(a, StationaryClaim) and isinstance(b, StationaryClaim)
                and a.f == b.f and a.variables == b.variables
                and a.constraints == b.constraints and a.maximum == b.maximum)
    return a.lhs == b.lhs and a.given == b.given


def correction(e: Entry, siblings: list[Entry]) -> Entry | None:
    """A claim of the same derivation that answers the same question and is not wrong:
    one that holds first, one the checker could not decide otherwise; the same equation
    number first."""
    good = [s for s in siblings if s is not e and s.result.verdict in (*HOLDS, Verdict.UNDECIDED)
            and not s.claim.erratum and _same_question(e.claim, s.claim)]
    key = _chain_key(e.claim)
    good = [s for s in good if key is None or _chain_key(s.claim) != key]
    good.sort(key=lambda s: (s.result.verdict not in HOLDS,
                             not (s.claim.equation and s.claim.equation == e.claim.equation)))
    return good[0] if good else None


def correction_block(e: Entry, fix: Entry, p: DerivationPrinter) -> str:
    """The document's formula and the corrected one, side by side when both fit."""
    theirs = claim_rows(fix, p)
    right = r"\textbf{Corrected} (%s, %s):" % (escape(fix.tag), fix.result.verdict)
    return beside_document(e, p, right, theirs)


def beside_document(e: Entry, p: DerivationPrinter, right: str, theirs: list[Row]) -> str:
    """The document's formula (left) beside another one (right) when both fit, else one
    above the other."""
    mine = claim_rows(e, p)
    for row in mine + theirs:
        row.tag = row.label = row.colour = None
    left = r"\textbf{As in the document} (%s):" % escape(e.tag)
    half = 0.47 * TEXT_EM
    short = all(aligned(rows, half).count(r"\\") <= SIDE_BY_SIDE_LINES for rows in (mine, theirs))
    if short and fits(mine, half) and fits(theirs, half):
        return ("\\noindent\\begin{minipage}[t]{0.485\\linewidth}\n" + left + "\n"
                + aligned(mine, half) + "\n\\end{minipage}\\hfill"
                "\\begin{minipage}[t]{0.485\\linewidth}\n" + right + "\n"
                + aligned(theirs, half) + "\n\\end{minipage}\n\\medskip\n")
    return (f"\\noindent {left}\n" + aligned(mine, TEXT_EM - 2) + "\n"
            f"\\noindent {right}\n" + aligned(theirs, TEXT_EM - 2) + "\n")


# -- a whole group -------------------------------------------------------------------------
def group_tex(group: list[Entry], p: DerivationPrinter, siblings: list[Entry]) -> str:
    """The display of a claim (or a chain), then a status line per claim."""
    rows: list[Row] = []
    for k, e in enumerate(group):
        rows += claim_rows(e, p, head=k == 0)
    out = [align(rows)]
    for e in group:
        out.append(status_line(e, p))
        if e.result.verdict == Verdict.REFUTED:
            if e.result.counterexample:
                out.append(counterexample(e.result.counterexample, p))
            fix = correction(e, siblings)
            if fix is not None:
                out.append(correction_block(e, fix, p))
            out.append(repair_tex(e, p))  # "did you mean" hints (symderive.repair)
    return "\n".join(out) + "\n\\medskip\n"


# -- repair hints ("did you mean", symderive.repair) ----------------------------------------
def repair_tex(e: Entry, p: DerivationPrinter) -> str:
    """Each repair hint beside the document's formula, the edited parts highlighted; or
    a plain sentence when the search found no small edit that repairs the claim."""
    r = e.result
    if r.repair is None:
        return ""
    if not r.repair:
        why = ("the search stopped at its time cap" if r.repair_capped else
               "the candidate budget ran out" if r.repair_exhausted else
               "one and two edits of the formula were tried")
        return (r"\noindent\textit{No small edit repairs this claim} (%s).\par\medskip"
                % escape(why))
    out = []
    for h in r.repair:
        tex = h.highlighted or h.latex
        if isinstance(e.claim, StationaryClaim):
            rows = [Row("", tex, rel="")]
        else:
            rows = [Row(p.doprint(e.claim.lhs), tex)]
        edits = "; ".join(h.edits_latex) if h.edits_latex else escape("; ".join(h.edits))
        right = r"\textbf{Did you mean} (%s; %s):" % (edits, h.verdict)
        out.append(beside_document(e, p, right, rows))
    return "\n".join(out)
