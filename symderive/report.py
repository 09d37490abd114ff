"""The terminal report and the JSON document of a check run.

Modelled on pytest: one line per claim, details only where something is wrong, and a
summary line; colour only when writing to a terminal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from .check.verdict import HOLDS, VERDICTS, Evidence, Verdict
from .derivation import Derivation
from .loader import LoadError
from .markup import plain
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
            seconds: float, interrupted: bool = False) -> dict:
    """The ``check --json`` document; an interrupted run lists the claims that finished
    and says ``"interrupted": true`` in its summary."""
    by_name: dict[str, list] = {}
    for r in results:
        by_name.setdefault(r.derivation, []).append(r.to_json())
    return {
        "schema_version": SCHEMA_VERSION,
        "derivations": [{"name": d.name, "source": d.source, "claims": by_name.get(d.name, [])}
                        for d in derivations if d.name in by_name],
        "summary": {**summary(results, seconds), **({"interrupted": True} if interrupted
                                                       else {})},
    }


def plural(count: int, word: str) -> str:
    """``1 claim``, ``2 claims``: no more ``derivation(s)``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2)


def evidence_summary(evidence: dict, method: str = "") -> str:
    """The evidence object in a few words: ``symbolic, proved at 2 sizes, 5 points``
    (``method`` stands in for an evidence object that names none)."""
    ev = Evidence.from_json(evidence, method)
    parts = [ev.method]
    if ev.scope == "all sizes":
        parts.append("proved at all sizes")
    elif ev.proved_sizes:
        parts.append(f"proved at {plural(len(ev.proved_sizes), 'size')}")
    if ev.points:
        parts.append(plural(ev.points, "point"))
    return ", ".join(parts)


def entries_differ(differing: int, total: int) -> str:
    """``2 of 4 entries differ``; one entry of one is ``the value differs``."""
    if total == 1:
        return "the value differs"
    return f"{differing} of {total} entries differ" if differing != 1 else \
        f"1 of {total} entries differs"


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
        head = entries_differ(cx.get("differing", len(entries)), total) if total else ""
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


def heading(d: Derivation, st: Style) -> list[str]:
    """The lines that open a derivation's part of the report."""
    return ["", st(d.name, "bold") + (f"  ({d.source})" if d.source else "")]


def claim_lines(r: ClaimResult, width: int, st: Style) -> list[str]:
    """A claim's line, and the details of a claim that went wrong (evidence from the
    evidence object, never from the message)."""
    tag = ""
    if r.expected == Verdict.REFUTED:
        tag = "  [known erratum]" if r.verdict == Verdict.REFUTED else \
            "  [marked erratum, but it holds]" if r.verdict in HOLDS else "  [marked erratum]"
    colour = r.verdict if passes(r) or r.verdict != Verdict.REFUTED else "refuted"
    if r.expected == Verdict.REFUTED and r.verdict == Verdict.REFUTED:
        colour = "erratum"
    cached = st("  (cached)", "dim") if r.cached else ""
    out = [f"  {r.id:<{width}}  {st(f'{r.verdict:<9}', colour)}  "
           f"{evidence_summary(r.evidence, r.method):<44}  {r.seconds:6.2f}s"
           f"{cached}{st(tag, 'erratum')}"]
    if r.verdict == Verdict.REFUTED and r.counterexample:
        if r.erratum:
            out.append(f"      erratum: {plain(r.erratum)}")
        out += format_counterexample(r.counterexample)
    elif r.verdict in (Verdict.ERROR, Verdict.UNDECIDED) and r.message:
        out.append(f"      {r.message}")
    elif r.expected == Verdict.REFUTED and r.verdict in HOLDS:
        out.append(f"      marked as an erratum ({plain(r.erratum)}), but it {r.verdict}")
    if r.verdict == Verdict.REFUTED:
        out += format_repair(r)  # "did you mean" (symderive.repair)
    return out


def summary_line(results: Sequence[ClaimResult], errors: Sequence[LoadError], seconds: float,
                 st: Style, interrupted: bool = False) -> list[str]:
    """The closing line: the count of each verdict, load errors, time; an interrupted run
    says so (its counts are of the claims that finished)."""
    s = summary(results, seconds)
    errata = sum(1 for r in results
                 if r.expected == Verdict.REFUTED and r.verdict == Verdict.REFUTED)
    parts = []
    for v in VERDICTS:
        text = f"{s[v]} {v}"
        if v == Verdict.REFUTED and errata:
            text += f" ({errata} known {'erratum' if errata == 1 else 'errata'})"
        parts.append(st(text, v) if s[v] else text)
    cached = sum(1 for r in results if r.cached)
    if cached:
        parts.append(f"{cached} cached")
    if errors:
        parts.append(st(f"{plural(len(errors), 'file')} not loaded", "error"))
    line = ", ".join(parts) + f" in {seconds:.2f}s"
    if interrupted:
        line = st("interrupted", "error") + f" after {plural(len(results), 'claim')}: {line}"
    return ["", f"{'=' * 8} {line} {'=' * 8}"]


def widths(claims_or_results) -> dict[str, int]:
    """The width of the id column of each derivation."""
    out: dict[str, int] = {}
    for c in claims_or_results:
        name = c.derivation if isinstance(c.derivation, str) else c.derivation.name
        out[name] = max(out.get(name, 0), len(c.id))
    return out


def render(derivations: Sequence[Derivation], results: Sequence[ClaimResult],
           errors: Sequence[LoadError], seconds: float, colour: bool = False,
           header: str = "", interrupted: bool = False) -> str:
    """The whole terminal report at once (``check`` prints the same lines as it goes)."""
    st = Style(colour)
    out = []
    if header:
        out.append(st(header, "bold"))
    for err in errors:
        out.append(load_error_line(err, st))
    width = widths(results)
    by_name: dict[str, list[ClaimResult]] = {}
    for r in results:
        by_name.setdefault(r.derivation, []).append(r)
    for d in derivations:
        rows = by_name.get(d.name)
        if not rows:
            continue
        out += heading(d, st)
        for r in rows:
            out += claim_lines(r, width[d.name], st)
    out += summary_line(results, errors, seconds, st, interrupted)
    return "\n".join(out)


def load_error_line(err: LoadError, st: Style) -> str:
    return st("ERROR loading ", "error") + str(err)


class StreamingReport:
    """The terminal report printed as it goes: a claim is printed as soon as it and every
    claim before it (in document order) are done.  ``write`` prints lines (above the
    progress line, see :meth:`symderive.progress.Progress.above`)."""

    def __init__(self, claims: Sequence, derivations: Sequence[Derivation], st: Style,
                 write):
        self.order = {(c.derivation.name, c.id): k for k, c in enumerate(claims)}
        self.by_name = {d.name: d for d in derivations}
        self.width = widths(claims)
        self.st, self.write = st, write
        self.results: dict[int, ClaimResult] = {}
        self.printed = 0
        self.last: str | None = None  # the derivation whose heading was printed last

    def add(self, result: ClaimResult) -> None:
        self.results[self.order[(result.derivation, result.id)]] = result
        lines = []
        while self.printed in self.results:
            lines += self._lines(self.results[self.printed])
            self.printed += 1
        if lines:
            self.write("\n".join(lines))

    def _lines(self, r: ClaimResult) -> list[str]:
        out = []
        if r.derivation != self.last:
            self.last = r.derivation
            out += heading(self.by_name[r.derivation], self.st)
        return out + claim_lines(r, self.width[r.derivation], self.st)

    def finish(self, errors: Sequence[LoadError], seconds: float,
               interrupted: bool = False) -> list[ClaimResult]:
        """Print the finished claims not printed yet (after an interruption, those that
        finished out of order) and the summary; the finished results, in order."""
        rest = [self.results[k] for k in sorted(self.results) if k >= self.printed]
        lines = [line for r in rest for line in self._lines(r)]
        done = [self.results[k] for k in sorted(self.results)]
        self.write("\n".join(lines + summary_line(done, errors, seconds, self.st,
                                                   interrupted)))
        return done


#: ``--strict`` levels: the verdicts that still pass (a claim that is not a marked erratum).
STRICT_PASSING: dict[str | None, tuple[Verdict, ...]] = {
    None: (Verdict.PROVED, Verdict.VERIFIED, Verdict.UNDECIDED),
    "verified": (Verdict.PROVED, Verdict.VERIFIED),
    "proved": (Verdict.PROVED,),
}

#: The verdicts under which a marked erratum passes: it is refuted, or could not be decided.
ERRATUM_PASSING: tuple[Verdict, ...] = (Verdict.REFUTED, Verdict.UNDECIDED)


def passes(result: ClaimResult, strict: str | None = None) -> bool:
    """Whether ``result`` leaves the run green; the one rule behind the exit status of
    ``check`` and the outcomes of the pytest plugin.  ``strict`` ("verified" or "proved")
    also fails a claim that was only decided less firmly.  A marked erratum passes when it
    is refuted or undecided, whatever ``strict`` says."""
    if result.expected == Verdict.REFUTED:
        return result.verdict in ERRATUM_PASSING
    return result.verdict in STRICT_PASSING[strict]


def exit_status(results: Sequence[ClaimResult], errors: Sequence[LoadError],
                strict: str | None = None) -> int:
    """0 all as expected, 1 an unexpected refutation / erratum that holds / error (and,
    with ``strict``, a claim decided less firmly than asked), 2 a derivation file could not
    be loaded."""
    if errors:
        return 2
    return 0 if all(passes(r, strict) for r in results) else 1
