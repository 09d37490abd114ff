"""Send each kind of claim to the check that knows it, and make its scope honest."""

from __future__ import annotations

from ..derivation import Claim, StationaryClaim
from ..framestack import anchored
from .counterexample import unbuilt
from .equality import check_equality
from .scope import at_sizes, has_sizes
from .stationary import check_stationary
from .verdict import Emit, Outcome


def check_claim(claim: Claim, emit: Emit, seed: int | None = None) -> Outcome:
    """Check one claim; ``emit`` receives the numeric outcome before the proof starts.
    ``seed`` (``--seed``; None for the default) alone decides the sampled points.  Run
    on a frame-stack chunk of its own (:mod:`symderive.framestack`), so that its cost does
    not depend on the depth it is called from."""
    return anchored(_check_claim, claim, emit, seed)


def _check_claim(claim: Claim, emit: Emit, seed: int | None) -> Outcome:
    if claim.build_error is not None:
        return unbuilt(claim.build_error)
    if isinstance(claim, StationaryClaim):
        sym_cfgs, _ = claim.derivation.size_configs(claim)
        one_size = not has_sizes(sym_cfgs)

        def scoped(kind: str, outcome: Outcome) -> None:
            emit(kind, at_sizes(outcome, sym_cfgs, covers_all=one_size))

        return at_sizes(check_stationary(claim, scoped, seed), sym_cfgs, covers_all=one_size)
    return check_equality(claim, emit, seed)
