"""How derivations and check results look in Jupyter: HTML tables and LaTeX displays.

Formulas come from the one LaTeX printer (:mod:`symderive.latex.printer`) and are typeset
by the notebook's MathJax; verdicts carry the report's colours; evidence, counterexample
and repair are shown as the terminal shows them.  The classes only hold tiny
``_repr_html_`` / ``_repr_latex_`` hooks that call into this module.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .check.verdict import Verdict
from .checked import repair_hint
from .derivation import HOOKS, Claim, Derivation, StationaryClaim
from .markup import block_html, inline_html, mathjax

if TYPE_CHECKING:
    from .checked import CheckedClaim, Report

__all__ = ["claim_tex", "derivation_html", "derivation_latex", "report_html", "results_html",
           "results_latex"]

#: the report's verdict colours (the LaTeX preamble defines the same ones)
COLOURS = {"proved": "#1B7F3B", "verified": "#13709A", "refuted": "#B3261E",
           "undecided": "#A66A00", "error": "#8E24AA"}

_STYLE = ("<style>.symderive td, .symderive th {text-align: left; vertical-align: top;"
          " padding: 2px 8px} .symderive pre {margin: 0; font-size: 85%}</style>")


def claim_tex(claim: Claim) -> str:
    """What a claim states, as one LaTeX formula (in its derivation's notation)."""
    from .latex.claims import stationary_rows
    from .latex.layout import strip_marks
    from .latex.printer import DerivationPrinter

    p = DerivationPrinter(claim.derivation)
    if isinstance(claim, StationaryClaim):
        rows = stationary_rows(claim, p)
        tex = r",\quad ".join(f"{r.lhs} {r.rel} {r.rhs}" for r in rows)
    else:
        tex = f"{p.doprint(claim.lhs)} = {p.doprint(claim.rhs)}"
        if claim.given:
            tex += r"\quad \text{where } " + r",\ ".join(f"{p.doprint(g)} = 0"
                                                        for g in claim.given)
    return strip_marks(tex)


def _tag(claim: Claim) -> str:
    return f"({claim.equation})" if claim.equation and claim.equation != claim.id else ""


def _verdict_html(verdict: str, erratum: bool) -> str:
    colour = COLOURS.get(verdict, "inherit")
    note = " <small>(known erratum)</small>" if erratum and verdict == Verdict.REFUTED else ""
    return f'<b style="color: {colour}">{html.escape(verdict)}</b>{note}'


def _counterexample_html(r: CheckedClaim) -> str:
    from .report import format_counterexample

    if not r.counterexample:
        return ""
    return "<pre>" + html.escape("\n".join(format_counterexample(r.counterexample, ""))) + \
        "</pre>"


def _evidence_html(r: CheckedClaim) -> str:
    from .report import evidence_summary

    parts = [html.escape(evidence_summary(r.evidence, r.method))]  # the evidence object, as data
    if r.message and r.verdict in (Verdict.UNDECIDED, Verdict.ERROR):
        parts.append(html.escape(r.message))
    if r.claim is not None and r.claim.erratum:
        parts.append("<i>erratum:</i> " + inline_html(r.claim.erratum))
    parts.append(f"{r.seconds:.2f} s")
    return "<br>".join(parts)


def results_html(results: Sequence[CheckedClaim]) -> str:
    """A table: id, formula, verdict, evidence, counterexample, repair."""
    head = "".join(f"<th>{h}</th>" for h in ("id", "formula", "verdict", "evidence",
                                             "counterexample", "repair"))
    rows = []
    for r in results:
        formula = f"${html.escape(mathjax(claim_tex(r.claim)))}$" if r.claim else ""
        tag = html.escape(_tag(r.claim)) if r.claim else ""
        repair = repair_hint(r)
        cells = [f"<code>{html.escape(r.id)}</code> {tag}", formula,
                 _verdict_html(r.verdict, bool(r.erratum)), _evidence_html(r),
                 _counterexample_html(r), html.escape(repair) if repair else ""]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'{_STYLE}<table class="symderive"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _summary_html(report: Report) -> str:
    s = report.summary
    parts = [f'<span style="color: {COLOURS[v]}">{s[v]} {v}</span>' if s[v] else f"0 {v}"
             for v in COLOURS]
    return ", ".join(parts) + f" in {s['seconds']:.2f} s"


def report_html(report: Report) -> str:
    names = ", ".join(f"<code>{html.escape(d.name)}</code>" for d in report.derivations)
    return (f"<div><p><b>symderive</b> checked {names}: {_summary_html(report)}</p>"
            f"{results_html(report.results)}</div>")


def results_latex(results: Sequence[CheckedClaim]) -> str:
    """The claims as one display: formula, then the verdict as text."""
    rows = []
    for r in results:
        if r.claim is None:
            continue
        rows.append(r"%s &\quad \text{(%s) %s}" % (mathjax(claim_tex(r.claim)),
                                                   _text(r.claim.equation or r.id), r.verdict))
    return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"


def _text(s: str) -> str:
    """Plain text inside ``\\text{}`` (no specials)."""
    return "".join(c for c in str(s) if c not in "\\{}$&#^_%~")


def derivation_html(d: Derivation) -> str:
    """Title, source, prose and the claims (not checked: call ``d.check()`` for verdicts)."""
    head = f"<h4>{html.escape(d.title)}</h4>"
    meta = f"<p><code>{html.escape(d.name)}</code>" + \
        (f", source: {html.escape(d.source)}" if d.source else "") + \
        f", {len(d.claims)} claim{'s' if len(d.claims) != 1 else ''}</p>"
    doc = block_html(d.doc) if d.doc and d.doc.strip() else ""
    rows = []
    for c in d.claims:
        erratum = f"<i>erratum:</i> {inline_html(c.erratum)}" if c.erratum else ""
        note = inline_html(c.note) if c.note else ""
        cells = [f"<code>{html.escape(c.id)}</code> {html.escape(_tag(c))}",
                 f"${html.escape(mathjax(claim_tex(c)))}$", html.escape(c.kind),
                 "<br>".join(x for x in (erratum, note) if x)]
        rows.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    table = ('<table class="symderive"><thead><tr><th>id</th><th>formula</th><th>kind</th>'
             "<th>notes</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return f"{_STYLE}<div>{head}{meta}{doc}{table}</div>"


def derivation_latex(d: Derivation) -> str:
    rows = [r"%s &\quad \text{(%s)}" % (mathjax(claim_tex(c)), _text(c.equation or c.id))
            for c in d.claims]
    return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"


HOOKS.update(html=derivation_html, latex=derivation_latex, results_html=results_html,
             results_latex=results_latex, report_html=report_html)
