"""The terminal report and the JSON document of a check run.

Modelled on pytest: one line per claim, details only where something is wrong, and a
summary line; colour only when writing to a terminal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from .check.verdict import HOLDS, VERDICTS, Verdict
from .derivation import Derivation
from .loader import LoadError
from .runner import ClaimResult

#: Version of the ``check --json`` document; 2 added the ``evidence`` of each claim.
SCHEMA_VERSION = 2

_COLOURS = {"proved": "32", "verified": "36", "refuted": "31", "undecided": "33",
            "error": "35", "erratum": "33", "bold": "1", "dim": "2"}


class Style:
    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, what: str) -> str:
        if not self.colour or what not in _COLOURS:
            return text
        return f"\033[{_COLOURS[what]}m{text}\033[0m"


def summary(results: Sequence[ClaimResult], seconds: float) -> dict:
    counts = Counter(r.verdict for r in results)
    out = {v: counts.get(v, 0) for v in VERDICTS}
    out["seconds"] = round(seconds, 3)
    return out


def to_json(derivations: Sequence[Derivation], results: Sequence[ClaimResult],
            seconds: float) -> dict:
    by_name: dict[str, list] = {}
    for r in results:
        by_name.setdefault(r.derivation, []).append(r.to_json())
    return {
        "schema_version": SCHEMA_VERSION,
        "derivations": [{"name": d.name, "source": d.source, "claims": by_name.get(d.name, [])}
                        for d in derivations if d.name in by_name],
        "summary": summary(results, seconds),
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2)


def evidence_summary(evidence: dict) -> str:
    """The evidence object in a few words: ``symbolic, proved at 2 sizes, 5 points``."""
    parts = [evidence["method"]]
    proved = evidence["proved_sizes"]
    if evidence["scope"] == "all sizes":
        parts.append("proved at all sizes")
    elif proved:
        parts.append(f"proved at {len(proved)} size{'s' if len(proved) > 1 else ''}")
    points = evidence["sampled"]["points"]
    if points:
        parts.append(f"{points} point{'s' if points > 1 else ''}")
    return ", ".join(parts)


def format_counterexample(cx: dict, indent: str = "      ") -> list[str]:
    lines = []
    if cx.get("message"):
        lines.append(f"{indent}{cx['message']}")
    if cx.get("sizes"):
        lines.append(f"{indent}sizes:  " + ", ".join(f"{k}={v}" for k, v in cx["sizes"].items()))
    if cx.get("indices"):
        lines.append(f"{indent}where:  " + ", ".join(f"{k}={v}"
                                                     for k, v in cx["indices"].items()))
    values = cx.get("values") or {}
    if values:
        items = [f"{k}={v}" for k, v in values.items()]
        text, row = [], ""
        for item in items:
            if len(row) + len(item) > 88:
                text.append(row)
                row = ""
            row += ("" if not row else ", ") + item
        text.append(row)
        lines.append(f"{indent}values: {text[0]}")
        lines += [f"{indent}        {t}" for t in text[1:]]
    if cx.get("point"):
        lines.append(f"{indent}claimed point: " + ", ".join(f"{k}={v}"
                                                            for k, v in cx["point"].items()))
    for sol in cx.get("solutions", []) or []:
        lines.append(f"{indent}solution of the conditions: "
                     + ", ".join(f"{k}={v}" for k, v in sol.items()))
    if cx.get("solution"):
        lines.append(f"{indent}at the solution: " + ", ".join(f"{k}={v}"
                                                             for k, v in cx["solution"].items()))
    entries = cx.get("entries") or []
    if entries:
        total = cx.get("total")
        head = f"{cx.get('differing', len(entries))} of {total} entries differ" if total else ""
        if head:
            lines.append(f"{indent}{head}:")
        for e in entries:
            lines.append(f"{indent}  {e['entry']:<16} lhs = {e['lhs']:<22} rhs = {e['rhs']}")
    return lines


def format_repair(r: ClaimResult, indent: str = "      ") -> list[str]:
    """The "did you mean" lines of a refuted claim (nothing when no search ran)."""
    if r.repair is None:
        return []
    lines = [f"{indent}did you mean: {h.formula}   ({'; '.join(h.edits)}; {h.verdict})"
             for h in r.repair]
    if not r.repair:
        if r.repair_capped:
            lines.append(f"{indent}no repair found: the search stopped at its time cap "
                         f"after {r.repair_candidates} candidates")
        elif r.repair_exhausted:
            lines.append(f"{indent}no repair found within the budget of "
                         f"{r.repair_candidates} candidates")
        else:
            lines.append(f"{indent}no small edit repairs this claim "
                         f"({r.repair_candidates} candidates, one and two edits)")
    elif r.repair_capped:
        lines.append(f"{indent}(the repair search stopped at its time cap)")
    return lines


def render(derivations: Sequence[Derivation], results: Sequence[ClaimResult],
           errors: Sequence[LoadError], seconds: float, colour: bool = False,
           header: str = "") -> str:
    st = Style(colour)
    out = []
    if header:
        out.append(st(header, "bold"))
    for err in errors:
        out.append(st("ERROR loading ", "error") + str(err))
    by_name: dict[str, list[ClaimResult]] = {}
    for r in results:
        by_name.setdefault(r.derivation, []).append(r)
    for d in derivations:
        rows = by_name.get(d.name)
        if not rows:
            continue
        out.append("")
        out.append(st(d.name, "bold") + (f"  ({d.source})" if d.source else ""))
        width = max(len(r.id) for r in rows)
        for r in rows:
            tag = ""
            if r.expected == Verdict.REFUTED:
                tag = "  [known erratum]" if r.verdict == Verdict.REFUTED else \
                    "  [marked erratum, but it holds]" if r.verdict in HOLDS \
                    else "  [marked erratum]"
            colour = r.verdict if r.ok or r.verdict != Verdict.REFUTED else "refuted"
            if r.expected == Verdict.REFUTED and r.verdict == Verdict.REFUTED:
                colour = "erratum"
            line = (f"  {r.id:<{width}}  {st(f'{r.verdict:<9}', colour)}  "
                    f"{evidence_summary(r.evidence):<44}  {r.seconds:6.2f}s"
                    f"{st(tag, 'erratum')}")
            out.append(line)
            if r.verdict == Verdict.REFUTED and r.counterexample:
                if r.erratum:
                    out.append(f"      erratum: {r.erratum}")
                out += format_counterexample(r.counterexample)
            elif r.verdict in (Verdict.ERROR, Verdict.UNDECIDED) and r.message:
                out.append(f"      {r.message}")
            elif r.expected == Verdict.REFUTED and r.verdict in HOLDS:
                out.append(f"      marked as an erratum ({r.erratum}), but it {r.verdict}")
            if r.verdict == Verdict.REFUTED:
                out += format_repair(r)  # "did you mean" (symderive.repair)
    s = summary(results, seconds)
    errata = sum(1 for r in results
                 if r.expected == Verdict.REFUTED and r.verdict == Verdict.REFUTED)
    parts = []
    for v in VERDICTS:
        text = f"{s[v]} {v}"
        if v == Verdict.REFUTED and errata:
            text += f" ({errata} known errata)"
        parts.append(st(text, v) if s[v] else text)
    if errors:
        parts.append(st(f"{len(errors)} file(s) not loaded", "error"))
    line = ", ".join(parts) + f" in {seconds:.2f}s"
    out.append("")
    out.append(f"{'=' * 8} {line} {'=' * 8}")
    return "\n".join(out)


def exit_status(results: Sequence[ClaimResult], errors: Sequence[LoadError]) -> int:
    """0 all as expected, 1 an unexpected refutation / erratum that holds / error,
    2 a derivation file could not be loaded."""
    if errors:
        return 2
    return 0 if all(r.ok for r in results) else 1
