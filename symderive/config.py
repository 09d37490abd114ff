"""One home for the small facts every part of symderive shares.

The cache folder and the per-claim time budget used to be computed in several modules,
each with its own default and validator; they live here so that they cannot drift.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = [
    "DEFAULT_TIMEOUT",
    "CERTIFY_TIMEOUT",
    "TESTING_TIMEOUT",
    "cache_dir",
    "validate_timeout",
]

#: CPU seconds one claim may take in ``symderive check`` and ``symderive latex``: a safety
#: net, not the decider.  The slowest homework proof (bn_backprop 10.1, the all-size prover
#: plus sampling at 7) needs about 8 CPU s, so a budget of 5 decided its verdict (cut to
#: `verified`), and one near the cut could flip with the machine's state.
DEFAULT_TIMEOUT: float = 20.0

#: Seconds one claim may take when the EM engine certifies the formulas it compiles.
#: Certification runs once per checker version and is cached, so it can afford more.
CERTIFY_TIMEOUT: float = 60.0

#: Seconds one claim may take under :mod:`symderive.testing` (pytest helpers): a test
#: asserts a verdict, so it gives the proof more room than an interactive run.
TESTING_TIMEOUT: float = 20.0


def cache_dir() -> Path:
    """The symderive cache folder.

    ``$SYMDERIVE_CACHE`` if set, else ``$XDG_CACHE_HOME/symderive``, else
    ``~/.cache/symderive``. Tests point ``SYMDERIVE_CACHE`` at a temporary folder so that
    they never read or write the user's cache.
    """
    env = os.environ.get("SYMDERIVE_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "symderive"
    return Path.home() / ".cache" / "symderive"


def validate_timeout(value: object, name: str = "timeout") -> float:
    """A positive, finite number of seconds, or ``ValueError`` naming ``name``."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds
