"""One em_multinomial claim evaluated at one sampled point, with the work counted: the
set-up shared by the tests that compare cached, compiled and walked evaluation."""

from __future__ import annotations

import random
from collections.abc import Callable

from symderive.derivations import em_multinomial as em

import symderive.evaluate as evaluate
from symderive.check.instances import Evaluator
from symderive.numeric import Sampler


def evaluated_at_a_point(claim_id: str, seed: int) -> Callable[[], tuple]:
    """A function giving (values of both sides, work counted) of the claim at one point,
    drawn from ``seed`` at the claim's first size configuration; each call evaluates
    anew, so a test can change caches between calls."""
    claim = em.dv.claim(claim_id)
    sizes = em.dv.size_configs(claim)[0][1]
    ev = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, ev.leaves, sizes, random.Random(seed)).draw()

    def run() -> tuple:
        evaluate.work_limit(None)
        vals = ev(point)
        return vals, evaluate.work_done()
    return run
