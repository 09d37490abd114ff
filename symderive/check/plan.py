"""How much evidence to gather for a claim: sizes, points per size, the random seed."""

from __future__ import annotations

import random
import zlib

from ..derivation import Claim, Derivation

POINTS_SYMBOLIC = 2  # random points per size used for the proof
POINTS_NUMERIC = 1   # random points per larger size checked numerically only
MAX_TRIES = 40       # draws allowed to find points where both sides are defined


def claim_seed(claim: Claim) -> int:
    """Deterministic per claim, so reports are reproducible (and the seed is stated)."""
    key = f"{claim.derivation.name}:{claim.id}" if claim.derivation else claim.id
    return zlib.crc32(key.encode())


def claim_rng(claim: Claim) -> random.Random:
    return random.Random(claim_seed(claim))


def numeric_configs(d: Derivation, claim: Claim, rng: random.Random) -> list[dict]:
    """The larger sizes sampled numerically only, drawn between the proof sizes and the
    declared numeric sizes."""
    sym, num = d.size_configs(claim)
    out = []
    for cfg in num:
        lo = {k: max(c[k] for c in sym) for k in cfg}
        out.append({k: rng.randint(min(lo[k], v), max(lo[k], v)) for k, v in cfg.items()})
    return out
