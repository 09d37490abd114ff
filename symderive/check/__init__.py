"""The checker: decide whether a claim holds, and say on what evidence.

One job per module:

- ``verdict``: the :class:`Verdict` enum, :class:`Outcome` and :class:`Evidence`;
- ``plan``: sizes (up to 6-7 per dimension, under a counted work limit), points per size
  and the seed (``--seed`` only, never the claim's name);
- ``instances``: a claim made explicit at fixed sizes (exact entries, or numbers);
- ``equality``: equalities and derivatives (sample, then prove size by size);
- ``conditions``: claims under ``given`` conditions (reduction modulo a Groebner basis;
  solutions sampled beyond what ``solve`` lists);
- ``stationary``: constrained stationary points and maximisers (Lagrange conditions);
- ``maxima``: multipliers by a linear solve, and the global against local maximiser
  arguments (concavity, a better feasible point);
- ``counterexample`` and ``shrink``: which entries fail (a complex side included, confirmed
  at higher precision), what a refutation shows, made simple;
- ``prove``: the symbolic zero test;
- ``allsizes``: the size-generic (index-calculus) prover behind ``proved``;
- ``scope``: what a verdict covers (``proved`` = every size; exact at fixed sizes is
  ``verified``);
- ``dispatch``: :func:`check_claim`, which sends each claim to its check.
"""

from .dispatch import check_claim
from .verdict import HOLDS, VERDICTS, Emit, Evidence, Outcome, Verdict

__all__ = ["check_claim", "Verdict", "VERDICTS", "HOLDS", "Outcome", "Evidence", "Emit"]
