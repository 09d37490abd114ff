"""What a verdict covers: every size, or the sizes that were checked.

``proved`` means proved for every size of every dimension.  An exact identity at fixed
sizes (n = 2, n = 3) says nothing about n = 4 on its own, so it is reported as
``verified``, with the sizes it holds at in the message and in the evidence
(``"scope": "sizes"``).  A claim without dimensions has only one size, so an exact proof
of it is a proof for every size.  The evidence object has the fields of the JSON contract:
``method``, ``scope``, ``proved_sizes``, ``sampled`` (``sizes``, ``points``), ``digits``,
``seed``.
"""

from __future__ import annotations

from typing import Any

ALL_SIZES = "all sizes"
SIZES = "sizes"


def jsonable_sizes(sizes: dict) -> dict:
    return {str(k): int(v) for k, v in sizes.items()}


def sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) or "scalar"


def evidence(method: str, sampled: list[dict], points: int, digits: int,
             seed: int | None, scope: str | None = None,
             proved_sizes: list[dict] | None = None) -> dict[str, Any]:
    """The evidence object of one verdict (exactly the contract's fields)."""
    return {"method": method, "scope": scope,
            "proved_sizes": [jsonable_sizes(s) for s in proved_sizes or []],
            "sampled": {"sizes": [jsonable_sizes(s) for s in sampled], "points": points},
            "digits": digits, "seed": seed}


def has_sizes(sizes: list[dict]) -> bool:
    """Whether a claim has dimensions (a configuration that is not the empty one)."""
    return any(bool(s) for s in sizes)


def at_sizes(outcome, sizes: list[dict], covers_all: bool):
    """``outcome`` with its scope made honest.

    A ``proved`` outcome whose argument only covers the ``sizes`` listed (and the claim
    has dimensions) becomes ``verified``, scope "sizes"; otherwise it stays ``proved``,
    scope "all sizes".  Other verdicts pass through.
    """
    if outcome.verdict != "proved":
        return outcome
    ev = dict(outcome.evidence or {})
    if covers_all or not has_sizes(sizes):
        ev["scope"] = ALL_SIZES
        ev["proved_sizes"] = []
        outcome.evidence = ev
        return outcome
    ev["scope"] = SIZES
    ev["proved_sizes"] = [jsonable_sizes(s) for s in sizes]
    text = "; ".join(sizes_text(s) for s in sizes)
    outcome.verdict = "verified"
    outcome.message = ((outcome.message or "") +
                       f"; exact at {text} only, not proved for every size").lstrip("; ")
    outcome.evidence = ev
    return outcome
