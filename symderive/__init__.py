"""symderive: check mathematical derivations the way a test suite checks code."""

from .assumptions import (
    BINARY,
    COUNTS,
    POSITIVE,
    REAL,
    SIMPLEX,
    UNIT_INTERVAL,
    Assumption,
    Binary,
    Counts,
    Interval,
    Positive,
    Real,
    Simplex,
    interval,
)
from .derivation import Claim, D, Derivation, H, StationaryClaim
from .ops import (
    batch_mean,
    batch_var,
    bcast,
    bsum,
    comp,
    ediv,
    epow,
    exp,
    hadamard,
    indicator,
    log,
    ones,
    relu,
    sigmoid,
    softmax,
    sqrt,
)

__version__ = "0.2.0"

__all__ = [
    "Assumption", "Real", "Positive", "Interval", "Binary", "Counts", "Simplex", "interval",
    "REAL", "POSITIVE", "BINARY", "COUNTS", "SIMPLEX", "UNIT_INTERVAL",
    "Derivation", "Claim", "StationaryClaim", "D", "H",
    "exp", "log", "sqrt", "relu", "indicator", "sigmoid", "softmax", "hadamard", "ediv", "epow",
    "bcast", "ones", "bsum", "batch_mean", "batch_var", "comp",
]
