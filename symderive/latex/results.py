"""The check results a report is built from: a fresh run, or ``symderive check --json``.

Reading a results file avoids checking everything again; claims that the file does not
cover are reported as undecided ("not checked"), never silently dropped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ..derivation import Claim
from ..runner import ClaimResult, run_claims

_PROOF_RE = re.compile(r"(?:identity holds exactly|for all admissible parameters) at "
                       r"(.+?)(?:; also |$)")
_POINTS_RE = re.compile(r"at (\d+) random (?:parameter )?points \(([^()]*)\), "
                        r"(?:(\d+)-digit|exact) arithmetic")


def _sizes(text: str) -> list[dict] | None:
    """``n=2, K=3; n=3, K=3`` -> [{"n": 2, "K": 3}, {"n": 3, "K": 3}]."""
    out = []
    for part in text.split(";"):
        part = part.strip()
        if part == "scalar":
            out.append({})
            continue
        sizes = {}
        for item in part.split(","):
            key, _, val = item.strip().partition("=")
            if not val.strip().isdigit():
                return None
            sizes[key.strip()] = int(val)
        out.append(sizes)
    return out


def evidence_from_message(message: str | None) -> dict | None:
    """The evidence (sizes, points, digits) that a checker message states in words.

    The JSON of ``check --json`` carries the message but not the evidence; reading it
    back keeps a report made from a results file as informative as a fresh run.
    """
    if not message:
        return None
    ev: dict = {}
    m = _PROOF_RE.search(message)
    if m and _sizes(m.group(1)) is not None:
        ev["proof_sizes"] = _sizes(m.group(1))
    m = _POINTS_RE.search(message)
    if m and _sizes(m.group(2)) is not None:
        ev.update(points=int(m.group(1)), sizes=_sizes(m.group(2)))
        if m.group(3):
            ev["digits"] = int(m.group(3))
    return ev or None


class ResultsError(Exception):
    """A results file that cannot be read or does not match the derivations."""


def check(claims: Sequence[Claim], timeout: float, jobs: int | None = None,
          progress: bool | None = None, repair=None) -> list[ClaimResult]:
    """Run the checker on ``claims``; progress on stderr when it is a terminal."""
    show = sys.stderr.isatty() if progress is None else progress
    done = [0]

    def report(result: ClaimResult) -> None:
        done[0] += 1
        if show:
            sys.stderr.write(f"\r  checked {done[0]}/{len(claims)} claims "
                             f"({result.derivation}:{result.id})\033[K")
            sys.stderr.flush()

    results = run_claims(claims, timeout=timeout, jobs=jobs, progress=report, repair=repair)
    if show:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    return results


def _from_json(name: str, data: dict, claim: Claim | None) -> ClaimResult:
    return ClaimResult(
        derivation=name, id=str(data["id"]), equation=data.get("equation"),
        verdict=str(data["verdict"]), expected=data.get("expected"),
        method=str(data.get("method") or ""), seconds=float(data.get("seconds") or 0.0),
        counterexample=data.get("counterexample"), message=data.get("message"),
        erratum=data.get("erratum", claim.erratum if claim else None),
        evidence=data.get("evidence") or evidence_from_message(data.get("message")),
        repair=_hints(data.get("repair")), repair_exhausted=bool(data.get("repair_exhausted")))


def _hints(data) -> list | None:
    """The ``repair`` field of a results file (null: no search ran)."""
    from ..repair.search import Hint

    if data is None:
        return None
    try:
        return [Hint(str(h["formula"]), str(h["latex"]), [str(e) for e in h["edits"]],
                     str(h["verdict"])) for h in data]
    except (TypeError, KeyError) as exc:
        raise ResultsError(f"a repair hint lacks a field: {exc}") from None


def not_checked(claim: Claim, source: str) -> ClaimResult:
    return ClaimResult(
        derivation=claim.derivation.name, id=claim.id, equation=claim.equation,
        verdict="undecided", expected=claim.expected, method="not checked", seconds=0.0,
        counterexample=None, message=f"not in the results file {source}",
        erratum=claim.erratum)


def load_results(path: str | Path, claims: Sequence[Claim]) -> list[ClaimResult]:
    """The results of ``claims`` read from the JSON of ``symderive check --json``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON ({exc.msg}, line {exc.lineno}); "
                           f"write it with `symderive check --json > {path}`") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("derivations"), list):
        raise ResultsError(f"{path} is not the output of `symderive check --json`")
    found: dict[tuple[str, str], dict] = {}
    for entry in doc["derivations"]:
        for data in entry.get("claims", []):
            if "id" in data and "verdict" in data:
                found[(str(entry.get("name")), str(data["id"]))] = data
    out = []
    for claim in claims:
        data = found.get((claim.derivation.name, claim.id))
        out.append(_from_json(claim.derivation.name, data, claim) if data
                   else not_checked(claim, str(path)))
    return out
