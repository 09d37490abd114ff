"""The check results a report is built from: a fresh run, or ``symderive check --json``.

Reading a results file avoids checking everything again; claims that the file does not
cover are reported as undecided ("not checked"), never silently dropped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..check.verdict import Evidence, Verdict
from ..derivation import Claim
from ..options import CheckOptions
from ..progress import Progress
from ..runner import ClaimResult, restatements, run_claims


class ResultsError(Exception):
    """A results file that cannot be read or does not match the derivations."""


def check(claims: Sequence[Claim], options: CheckOptions, jobs: int | None = None,
          progress: bool | None = None) -> list[ClaimResult]:
    """Run the checker on ``claims``; progress on stderr when it is a terminal."""
    show = Progress(len(claims), sys.stderr.isatty() if progress is None else progress)
    try:
        return run_claims(claims, jobs=jobs, progress=show, options=options)
    finally:  # also on Ctrl-C, so that "interrupted" starts on a clean line
        show.close()


def _from_json(name: str, data: dict, claim: Claim | None) -> ClaimResult:
    try:
        verdict = Verdict(data["verdict"])
    except ValueError:
        raise ResultsError(f"claim {name}:{data['id']} has no verdict known to symderive: "
                           f"{data['verdict']!r}") from None
    return ClaimResult(
        derivation=name, id=str(data["id"]), equation=data.get("equation"),
        verdict=verdict, expected=data.get("expected"),
        method=str(data.get("method") or ""), seconds=float(data.get("seconds") or 0.0),
        counterexample=data.get("counterexample"), message=data.get("message"),
        erratum=data.get("erratum", claim.erratum if claim else None),
        evidence=Evidence.from_json(data.get("evidence"), str(data.get("method") or ""))
        .to_json(),
        repair=_hints(data.get("repair")), repair_exhausted=bool(data.get("repair_exhausted")))


def _hints(data) -> list | None:
    """The ``repair`` field of a results file (null: no search ran)."""
    from ..repair.search import Hint

    if data is None:
        return None
    try:
        return [Hint(str(h["formula"]), str(h["latex"]), [str(e) for e in h["edits"]],
                     Verdict(h["verdict"])) for h in data]
    except (TypeError, KeyError) as exc:
        raise ResultsError(f"a repair hint lacks a field: {exc}") from None
    except ValueError as exc:
        raise ResultsError(f"a repair hint has no verdict known to symderive: {exc}") from None


def not_checked(claim: Claim, source: str) -> ClaimResult:
    return ClaimResult(
        derivation=claim.derivation.name, id=claim.id, equation=claim.equation,
        verdict=Verdict.UNDECIDED, expected=claim.expected, method="not checked", seconds=0.0,
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
    for k, j in restatements(claims).items():
        out[k].same_as = claims[j].id
    return out
