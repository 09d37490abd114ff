"""Send each kind of claim to the check that knows it."""

from __future__ import annotations

from ..derivation import Claim, StationaryClaim
from .counterexample import unbuilt
from .equality import check_equality
from .stationary import check_stationary
from .verdict import Emit, Outcome


def check_claim(claim: Claim, emit: Emit) -> Outcome:
    """Check one claim; ``emit`` receives the numeric outcome before the proof starts."""
    if claim.build_error is not None:
        return unbuilt(claim.build_error)
    if isinstance(claim, StationaryClaim):
        return check_stationary(claim, emit)
    return check_equality(claim, emit)
