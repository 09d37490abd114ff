"""What ``Derivation.check()`` returns: the results of a check as one object.

A ``Report`` is what a notebook or a script holds after checking: the results in the
derivations' order, indexed by claim id, with the terminal text as ``str()`` and an HTML
table / LaTeX display in Jupyter (:mod:`symderive.notebook` renders them).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields

from .derivation import HOOKS, Claim, Derivation, hook
from .runner import ClaimResult

__all__ = ["Report", "CheckedClaim", "check", "repair_hint"]


def repair_hint(result: ClaimResult) -> str | None:
    """A suggested fix for a refuted claim, once the checker offers one (as an attribute
    of the result or an entry of its evidence); None until then."""
    hint = getattr(result, "repair", None) or (result.evidence or {}).get("repair")
    return str(hint) if hint else None


@dataclass
class CheckedClaim(ClaimResult):
    """A claim's result together with the claim itself (for printing its formula)."""

    claim: Claim | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, result: ClaimResult, claim: Claim) -> CheckedClaim:
        return cls(**{f.name: getattr(result, f.name) for f in fields(ClaimResult)},
                   claim=claim)

    def _repr_html_(self) -> str:
        return hook("results_html")([self])

    def _repr_latex_(self) -> str:
        return hook("results_latex")([self])


@dataclass
class Report:
    """The results of checking some derivations, in their order."""

    derivations: list[Derivation]
    results: list[CheckedClaim]
    seconds: float = 0.0

    def __iter__(self) -> Iterator[CheckedClaim]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, key: str | int) -> CheckedClaim:
        """By position, by claim id (``"15"``) or by ``"derivation:id"``."""
        if isinstance(key, int):
            return self.results[key]
        for r in self.results:
            if key in (r.id, f"{r.derivation}:{r.id}"):
                return r
        raise KeyError(key)

    def passes(self, strict: str | None = None) -> bool:
        """Whether the run is green, as ``symderive check [--strict[=LEVEL]]``'s exit
        status 0 (:func:`symderive.report.passes` is the rule)."""
        from .report import passes

        return all(passes(r, strict) for r in self.results)

    @property
    def ok(self) -> bool:
        """Whether the run is green without ``--strict``."""
        return self.passes()

    @property
    def summary(self) -> dict:
        from .report import summary

        return summary(self.results, self.seconds)

    def __str__(self) -> str:
        from .report import render

        return render(self.derivations, self.results, [], self.seconds)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in self.summary.items() if v != "seconds" and n)
        names = ", ".join(d.name for d in self.derivations)
        return f"<Report of {names}: {counts or 'no claims'}>"

    def _repr_html_(self) -> str:
        return hook("report_html")(self)

    def _repr_latex_(self) -> str:
        return hook("results_latex")(self.results)


def check(derivation: Derivation, ids: Sequence[str] = (), timeout: float | None = None,
          jobs: int | None = None, repair: bool = True) -> Report:
    """Check the claims ``ids`` of ``derivation`` (all of them by default); a refuted
    claim also gets its repair hints unless ``repair=False``."""
    from .config import DEFAULT_TIMEOUT, validate_timeout
    from .options import CheckOptions
    from .runner import run_claims

    timeout = DEFAULT_TIMEOUT if timeout is None else validate_timeout(timeout)
    claims = [derivation.claim(i) for i in ids] if ids else list(derivation.claims)
    start = time.perf_counter()
    options = CheckOptions(timeout=timeout, cache=False, repair=repair)
    results = run_claims(claims, jobs=jobs, options=options)
    seconds = time.perf_counter() - start
    return Report([derivation], [CheckedClaim.of(r, c) for r, c in zip(results, claims)],
                  seconds)


HOOKS["check"] = check
