"""The LaTeX report of checked derivations: a summary, the list of errata, and a section
per derivation (setup, then every claim with its verdict and evidence)."""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence

from .. import __version__
from ..check.verdict import VERDICTS, Verdict
from ..derivation import Derivation
from ..markup import block_latex, inline_latex
from ..runner import ClaimResult
from .claims import Entry, correction, group_tex, groups
from .layout import strip_marks
from .printer import DerivationPrinter
from .symbols import setup_section
from .text import escape, ident

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb,bm}
\usepackage{array,booktabs,longtable}
\usepackage{xcolor}
\usepackage[hidelinks]{hyperref}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt plus 2pt}
\definecolor{proved}{HTML}{1B7F3B}
\definecolor{verified}{HTML}{13709A}
\definecolor{refuted}{HTML}{B3261E}
\definecolor{undecided}{HTML}{A66A00}
\definecolor{error}{HTML}{8E24AA}
\newcommand{\verdict}[1]{\textcolor{#1}{\textsf{\textbf{#1}}}}
\newenvironment{counterexample}%
  {\par\small\begin{list}{}{\leftmargin=1.5em\rightmargin=0pt\itemsep=2pt}\item[]%
   \textbf{Counterexample.}\enspace}%
  {\end{list}\par}
"""


def entries_for(derivations: Sequence[Derivation],
                results: Sequence[ClaimResult]) -> dict[str, list[Entry]]:
    """The claims of each derivation that have a result, in the derivation's order."""
    by_key = {(r.derivation, r.id): r for r in results}
    out: dict[str, list[Entry]] = {}
    for k, d in enumerate(derivations):
        rows = []
        for j, c in enumerate(d.claims):
            r = by_key.get((d.name, c.id))
            if r is not None:
                rows.append(Entry(c, r, f"claim:{k}:{j}"))
        if rows:
            out[d.name] = rows
    return out


def summary_table(derivations: Sequence[Derivation],
                  entries: dict[str, list[Entry]]) -> str:
    """Claims per verdict: one column per derivation and a total (one row per derivation
    when there are more than fit across the page)."""
    names = [d.name for d in derivations if d.name in entries]
    counts = {n: Counter(e.result.verdict for e in entries[n]) for n in names}
    if len(names) > 4:
        return _summary_by_rows(names, counts, entries)
    total = Counter()
    for c in counts.values():
        total.update(c)
    cols = "l" + "r" * (len(names) + 1)
    head = " & ".join(["Verdict"] + [r"\texttt{%s}" % escape(n) for n in names] + ["Total"])
    rows = []
    for v in VERDICTS:
        cells = [str(counts[n].get(v, 0)) for n in names] + [r"\textbf{%d}" % total.get(v, 0)]
        rows.append(r"\verdict{%s} & " % v + " & ".join(cells) + r" \\")
    all_cells = [str(len(entries[n])) for n in names] + [r"\textbf{%d}" % sum(total.values())]
    rows.append(r"\midrule" + "\nAll claims & " + " & ".join(all_cells) + r" \\")
    size = r"\small" if len(names) > 4 else ""
    return (f"{{{size}\\begin{{longtable}}{{@{{}}{cols}@{{}}}}\n\\toprule\n{head} \\\\\n"
            "\\midrule\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}}\n")


def _summary_by_rows(names: list[str], counts: dict, entries: dict[str, list[Entry]]) -> str:
    """The summary with one row per derivation and one column per verdict."""
    head = " & ".join(["Derivation"] + [r"\verdict{%s}" % v for v in VERDICTS] + ["All"])
    rows = [r"\texttt{%s} & " % escape(n) + " & ".join(
        [str(counts[n].get(v, 0)) for v in VERDICTS] + [str(len(entries[n]))]) + r" \\"
        for n in names]
    total = [sum(counts[n].get(v, 0) for n in names) for v in VERDICTS]
    rows.append(r"\midrule" + "\nTotal & " + " & ".join(
        [r"\textbf{%d}" % t for t in total] + [r"\textbf{%d}" % sum(total)]) + r" \\")
    cols = "l" + "r" * (len(VERDICTS) + 1)
    return (f"{{\\begin{{longtable}}{{@{{}}{cols}@{{}}}}\n\\toprule\n{head} \\\\\n"
            "\\midrule\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}}\n")


def errata_list(derivations: Sequence[Derivation], entries: dict[str, list[Entry]]) -> str:
    """Every claim that is refuted or marked as an erratum, with a link to it; grouped
    under a row per derivation, so that no name has to be broken across lines."""
    rows = []
    for d in derivations:
        es = entries.get(d.name, [])
        group = []
        for e in es:
            if not e.is_erratum:
                continue
            r = e.result
            if e.claim.erratum and r.verdict == Verdict.REFUTED:
                why = inline_latex(e.claim.erratum)
            elif e.claim.erratum:
                why = inline_latex(e.claim.erratum) + r" \textit{(marked, but %s)}" % r.verdict
            else:
                why = r"\textit{refuted, not marked as an erratum}"
            fix = correction(e, es) if r.verdict == Verdict.REFUTED else None
            if fix is not None:
                why += r"; corrected in \hyperref[%s]{(%s)}" % (fix.label, ident(fix.tag))
            eq = r"\hyperref[%s]{(%s)}" % (e.label, ident(e.tag))
            group.append(r"%s & \texttt{%s} & \verdict{%s} & %s \\"
                         % (eq, ident(e.claim.id), r.verdict, why))
        if group:
            source = f" ({escape(d.source)})" if d.source else ""
            space = r"\addlinespace" if rows else ""
            rows.append(r"%s\multicolumn{4}{@{}l}{\texttt{%s}%s} \\*"
                        % (space, escape(d.name), source))
            rows += group
    if not rows:
        return "No claim was refuted and none is marked as an erratum.\n"
    left = r">{\raggedright\arraybackslash}"
    return ("\\begin{longtable}{@{}%sp{0.1\\linewidth}%sp{0.15\\linewidth}"
            "%sp{0.11\\linewidth}%sp{0.55\\linewidth}@{}}\n\\toprule\nEq. & Claim & "
            "Verdict & Erratum \\\\\n\\midrule\n\\endhead\n" % (left, left, left, left)
            + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}\n")


def doc_text(doc: str) -> str:
    """A derivation's docstring: ``$…$`` math and a small Markdown subset (paragraphs,
    ``* item`` lists, emphasis, code), set as the prose of a paper."""
    return "{\\small\n" + block_latex(doc) + "\\par}\n"


def derivation_section(d: Derivation, es: list[Entry]) -> str:
    p = DerivationPrinter(d, breaks=True)
    title = escape(d.title if d.title != d.name else d.name)
    out = [r"\section{%s}" % title]
    meta = [r"Derivation \texttt{%s}" % escape(d.name)]
    if d.source:
        meta.append("source: " + escape(d.source))
    out.append(", ".join(meta) + ".\n")
    if d.doc and d.doc.strip():
        out.append(doc_text(d.doc))
    out.append(setup_section(d))
    out.append(r"\subsection*{Claims}")
    for group in groups(es):
        out.append(group_tex(group, p, es))
    return "\n".join(out)


def build(derivations: Sequence[Derivation], results: Sequence[ClaimResult],
          title: str = "Checked derivations", note: str = "") -> str:
    """The complete ``.tex`` source of the report."""
    entries = entries_for(derivations, results)
    chosen = [d for d in derivations if d.name in entries]
    date = datetime.date.today().isoformat()
    parts = [PREAMBLE, r"\title{%s}" % escape(title),
             r"\author{symderive %s}" % escape(__version__), r"\date{%s}" % date,
             r"\begin{document}", r"\maketitle"]
    intro = ("Every claimed equation below was checked against the truth that symderive "
             "computes itself. Each formula is printed from the very expression that was "
             "checked. Verdicts: \\verdict{proved} (exact symbolic identity at the sizes "
             "stated), \\verdict{verified} (agrees at random exact points), "
             "\\verdict{refuted} (with a counterexample), \\verdict{undecided} (the time "
             "budget ran out), \\verdict{error} (the claim could not be built).")
    parts.append(intro + ("\n\n" + escape(note) if note else "") + "\n")
    parts.append(r"\section*{Summary}")
    parts.append(summary_table(chosen, entries))
    parts.append(r"\subsection*{Errata}")
    parts.append(errata_list(chosen, entries))
    for d in chosen:
        parts.append(derivation_section(d, entries[d.name]))
    parts.append(r"\end{document}")
    # a break mark that no display used must not reach TeX (it is a control character)
    return strip_marks("\n".join(parts)) + "\n"
