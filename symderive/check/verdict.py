"""The result of checking one claim: a verdict, how it was reached, and the evidence.

One :class:`Verdict` enum serves the checker, the reports, the LaTeX document and the
EM certificate.  It is a ``StrEnum``, so a verdict compares equal to its word
(``Verdict.PROVED == "proved"``) and is written to JSON as that word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from ..numeric import DIGITS

__all__ = ["Verdict", "VERDICTS", "HOLDS", "Evidence", "Outcome", "Emit", "sizes_text",
           "jsonable_sizes"]


class Verdict(StrEnum):
    PROVED = "proved"
    VERIFIED = "verified"
    REFUTED = "refuted"
    UNDECIDED = "undecided"
    ERROR = "error"


#: Every verdict, in report order.
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)

#: The verdicts under which a claim is accepted as holding.
HOLDS: tuple[Verdict, ...] = (Verdict.PROVED, Verdict.VERIFIED)


@dataclass
class Evidence:
    """What a verdict rests on, as data (``check --json`` writes it as ``evidence``).

    ``proved_sizes`` are the size configurations at which the identity was proved
    exactly; ``all_sizes`` is set by a proof that covers every size at once.  The sampled
    sizes and ``points`` (random points at which both sides agreed) are the numeric
    evidence; ``seed`` makes it reproducible.
    """

    method: str = ""
    proved_sizes: list[dict] = field(default_factory=list)
    sampled_sizes: list[dict] = field(default_factory=list)
    points: int = 0
    digits: int = DIGITS
    seed: int | None = None
    all_sizes: bool = False

    @property
    def scope(self) -> str | None:
        """``"all sizes"``, ``"sizes"`` (proved at the listed sizes) or None (no proof)."""
        if self.all_sizes:
            return "all sizes"
        return "sizes" if self.proved_sizes else None

    def to_json(self) -> dict:
        """Exactly the fields of the published ``evidence`` object."""
        return {"method": self.method, "scope": self.scope,
                "proved_sizes": [jsonable_sizes(s) for s in self.proved_sizes],
                "sampled": {"sizes": [jsonable_sizes(s) for s in self.sampled_sizes],
                            "points": int(self.points)},
                "digits": int(self.digits), "seed": self.seed}

    @classmethod
    def from_json(cls, data: dict | None, method: str = "") -> Evidence:
        """The inverse of :meth:`to_json` (missing fields take their defaults)."""
        data = data or {}
        sampled = data.get("sampled") or {}
        return cls(method=str(data.get("method") or method),
                   proved_sizes=list(data.get("proved_sizes") or []),
                   sampled_sizes=list(sampled.get("sizes") or []),
                   points=int(sampled.get("points") or 0),
                   digits=int(data.get("digits") or DIGITS), seed=data.get("seed"),
                   all_sizes=data.get("scope") == "all sizes")


@dataclass
class Outcome:
    verdict: Verdict
    method: str
    message: str | None = None
    counterexample: dict | None = None
    evidence: Evidence = field(default_factory=Evidence)
    #: sampled points that decided nothing (both sides non-real, or one undefined); the
    #: message states it, and it is kept here as data, outside the evidence contract
    skipped: int = 0

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)
        if not self.evidence.method:
            self.evidence.method = self.method


Emit = Callable[[str, Outcome], None]


def sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) or "scalar"


def jsonable_sizes(sizes: dict) -> dict:
    return {str(k): int(v) for k, v in sizes.items()}
