"""What the EM loop shares with its backends: where a fit starts (random initial
responsibilities, per document) and what an E-step hands back.

Kept apart from :mod:`symderive.em.model` so that a backend (the Dask one,
:mod:`symderive.em.distributed`) and the estimator that chooses it do not import each
other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .kernels import parallel_map

__all__ = ["EStep", "Run", "Estimator", "seed_entropy", "initial_responsibilities",
           "INIT_CHUNK"]

#: documents per draw of random initial responsibilities (see initial_responsibilities)
INIT_CHUNK = 4096
#: a :class:`~symderive.em.model.MultinomialMixture` (a backend is handed the estimator;
#: it does not import the module that imports it)
Estimator = Any


def seed_entropy(random_state: int | np.random.Generator | None) -> int:
    """The one integer that seeds every initialisation of a fit."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) \
            or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, a numpy Generator or "
                         f"None, got {random_state!r}")
    return int(random_state)


def initial_responsibilities(entropy: int, init: int, start: int, stop: int, K: int,
                             threads: int = 1) -> np.ndarray:
    """Random initial responsibilities of documents ``start .. stop-1`` (rows normalised).

    Document d's row depends only on (entropy, init, d): rows are drawn in fixed chunks of
    ``INIT_CHUNK`` documents, chunk c from the stream seeded by (entropy, init, c).  So a
    fit that sees the documents in blocks of any size (the Dask backend) starts from the
    same responsibilities as the in-process fit.  ``threads``: the chunks are drawn and
    normalised on that many threads (the draws release the GIL; at K = 50 on 20
    Newsgroups they are 3 ms of a fit's set-up, on one core), the same values.
    """
    out = np.empty((stop - start, K))
    chunks = range(start // INIT_CHUNK, (stop - 1) // INIT_CHUNK + 1 if stop > start else 0)

    def fill(c: int) -> None:
        lo, hi = max(start, c * INIT_CHUNK), min(stop, (c + 1) * INIT_CHUNK)
        # a stream fills rows in order: the first rows of a chunk do not depend on its end
        draw = np.random.default_rng([entropy, init, c]).random((hi - c * INIT_CHUNK, K))
        rows = out[lo - start:hi - start]
        np.subtract(1.0, draw[lo - c * INIT_CHUNK:], out=rows)  # in (0, 1]
        rows /= rows.sum(axis=1, keepdims=True)  # row by row: the same in any chunk

    parallel_map(fill, list(chunks), threads)
    return out


@dataclass
class EStep:
    """What one E-step gives the loop, whichever backend computed it."""

    stats: object        # what the M-step reads: the responsibilities (in process) or
                         # their block sums (Dask)
    log_likelihood: float  # sum_d log P(d)
    free_energy: float   # sum_d of the free energy at beta (= log_likelihood at beta 1)
    abs_ll: float        # sum_d |log P(d)|, the scale of the rounding allowance


@dataclass
class Run:
    """One initialisation's run of the loop."""

    pi: np.ndarray | None
    mu_t: np.ndarray | None   # mu transposed (W x K), the layout of the sparse products
    stats: object             # the last E-step's statistics (EStep.stats)
    history: list[float] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    seconds: float = 0.0
