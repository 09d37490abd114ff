"""symderive: check mathematical derivations the way a test suite checks code.

This module is the API a derivation is written with (``Derivation``, ``D``, ``H``, the
assumptions and the elementwise operations).  The checker lives in
:mod:`symderive.check`, the command line in :mod:`symderive.cli`, the LaTeX report in
:mod:`symderive.latex` and the EM engine in :mod:`symderive.em`; the README's "Layout"
section maps the rest.
"""

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
from .matrix_domains import DIAGONAL, INVERTIBLE, ORTHOGONAL, POSITIVE_DEFINITE, SYMMETRIC
from .ops import (
    E,
    as_scalar,
    batch_mean,
    batch_var,
    bcast,
    bsum,
    comp,
    ediv,
    epow,
    exp,
    frobenius,
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

# Derivation.check() and the notebook displays (installed into symderive.derivation.HOOKS)
from . import checked, notebook  # noqa: E402, F401

__all__ = [
    "Assumption", "Real", "Positive", "Interval", "Binary", "Counts", "Simplex", "interval",
    "REAL", "POSITIVE", "BINARY", "COUNTS", "SIMPLEX", "UNIT_INTERVAL",
    "SYMMETRIC", "POSITIVE_DEFINITE", "INVERTIBLE", "ORTHOGONAL", "DIAGONAL",
    "Derivation", "Claim", "StationaryClaim", "D", "H",
    "exp", "log", "sqrt", "relu", "indicator", "sigmoid", "softmax", "hadamard", "ediv", "epow",
    "bcast", "ones", "bsum", "batch_mean", "batch_var", "comp", "frobenius", "E", "as_scalar",
]
