"""Helpers for testing derivations with pytest: verdicts by claim id, planted mistakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .config import TESTING_TIMEOUT, validate_timeout
from .derivation import Claim, Derivation
from .mutate import mutants, variant
from .runner import ClaimResult, run_claims

__all__ = ["verdicts", "results", "mutants", "variant", "repairs", "exact"]


def results(claims: Derivation | Iterable[Claim], timeout: float = TESTING_TIMEOUT,
            jobs: int | None = None) -> dict[str, ClaimResult]:
    """Check claims (all of a derivation's, or the given ones) and index by id."""
    if isinstance(claims, Derivation):
        claims = claims.claims
    claims: Sequence[Claim] = list(claims)
    return {r.id: r for r in run_claims(claims, timeout=validate_timeout(timeout), jobs=jobs)}


def exact(result: ClaimResult) -> bool:
    """Shown exactly: ``proved`` for every size, or ``verified`` with an exact identity at
    the sizes its evidence lists (``scope`` "sizes")."""
    ev = result.evidence or {}
    if result.verdict == "proved":
        return ev.get("scope") == "all sizes"
    return result.verdict == "verified" and ev.get("scope") == "sizes" \
        and bool(ev.get("proved_sizes"))


def verdicts(claims: Derivation | Iterable[Claim], timeout: float = TESTING_TIMEOUT,
             jobs: int | None = None) -> dict[str, str]:
    """``{claim id: verdict}``; the usual thing a test asserts on."""
    return {k: r.verdict for k, r in results(claims, timeout, jobs).items()}


def repairs(claim: Claim, budget: int | None = None, seconds: float | None = None,
            timeout: float = TESTING_TIMEOUT) -> list | None:
    """The repair hints of ``claim``, as ``symderive check`` reports them: None when the
    claim is not refuted (no search runs), else a list of hints (each with ``formula``,
    ``latex``, ``edits``, ``verdict``), best first, empty when no small edit repairs it."""
    from .repair.run import Options

    options = Options()
    if budget is not None:
        options.budget = budget
    if seconds is not None:
        options.seconds = seconds
    (result,) = run_claims([claim], timeout=validate_timeout(timeout), jobs=1,
                           repair=options)
    return result.repair
