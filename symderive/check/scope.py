"""What a verdict covers: every size, or the sizes that were checked.

``proved`` means proved for every size of every dimension.  An exact identity at fixed
sizes (n = 2, n = 3) says nothing about n = 4 on its own, so it is reported as
``verified``, with the sizes it holds at in the message and in the evidence
(``"scope": "sizes"``).  A claim without dimensions has only one size, so an exact proof
of it is a proof for every size (``"scope": "all sizes"``).
"""

from __future__ import annotations

from .verdict import Outcome, Verdict, sizes_text


def has_sizes(sizes: list[dict]) -> bool:
    """Whether a claim has dimensions (a configuration that is not the empty one)."""
    return any(bool(s) for s in sizes)


def at_sizes(outcome: Outcome, sizes: list[dict], covers_all: bool) -> Outcome:
    """``outcome`` with its scope made honest.

    A ``proved`` outcome whose argument only covers the ``sizes`` listed (and the claim
    has dimensions) becomes ``verified``, scope "sizes"; otherwise it stays ``proved``,
    scope "all sizes".  Other verdicts pass through.
    """
    if outcome.verdict != Verdict.PROVED:
        return outcome
    ev = outcome.evidence
    if covers_all or not has_sizes(sizes):
        ev.all_sizes, ev.proved_sizes = True, []
        return outcome
    ev.all_sizes, ev.proved_sizes = False, [dict(s) for s in sizes]
    text = "; ".join(sizes_text(s) for s in sizes)
    outcome.verdict = Verdict.VERIFIED
    outcome.message = ((outcome.message or "") +
                       f"; exact at {text} only, not proved for every size").lstrip("; ")
    return outcome
