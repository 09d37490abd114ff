"""The lower bound of a point's work (check/plan.py least_work): a size whose bound exceeds
the work limit is too costly without evaluating a point there.  The bound must never
exceed the work the evaluator counts (or a size within the limit would be skipped), and
skipping changes nothing else: the same sizes, points and verdicts as evaluating."""

import functools
import random

import pytest
import sympy as sp

from symderive import Derivation
from symderive.check import check_claim
from symderive.check.instances import Evaluator
from symderive.evaluate import work_done, work_limit, working_precision
from symderive.loader import import_file
from symderive.numeric import Sampler

d = Derivation("least_work", source="tests")
n = d.dim("n", sizes=(2, 3), numeric=4)
i = d.index("i", n)
c = d.index("c", n)
x = d.tensor("x", (n,))
square = sp.Sum(x[i] ** 2, (i, 1, n))
# n^6 repetitions of a sum over n: past the work limit at n >= 6, cheap at n <= 4
d.equal("repeated", sp.Sum(square, (c, 1, n**6)), n**6 * square)
d.equal("repeated-off-by-one", sp.Sum(square, (c, 1, n**6)), (n**6 - 1) * square)


def _counted(claim, sizes: dict) -> tuple[int, int]:
    """(the bound, the visits counted) for one drawn point at ``sizes``."""
    evaluate = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, evaluate.leaves, sizes, random.Random(0)).draw()
    work_limit(10**9)
    try:
        evaluate(point)
        visits = work_done()[0]
    finally:
        work_limit(None)
    return evaluate.least_work, visits


@functools.cache
def _em():
    return import_file("derivations/em_multinomial.py").derivation


@pytest.mark.parametrize("cid", ["41.1", "42.1", "42.2", "42.3-corrected"])
def test_the_bound_never_exceeds_the_work_counted(cid):
    claim = _em().claim(cid)
    sym, _ = claim.derivation.size_configs(claim)
    for sizes in sym:
        bound, visits = _counted(claim, sizes)
        assert 1 < bound <= visits, (cid, sizes, bound, visits)


def test_the_bound_counts_every_term_of_a_sum():
    with working_precision():
        bound, visits = _counted(d.claim("repeated"), {n: 2})
    # the left side is one Sum over (i, c): 1 + 2 * 2^6 terms; the right side
    # n^6 * Sum: 1 + 1 + (1 + 2 terms); every one visited
    assert bound == (1 + 2 * 64) + (1 + 1 + 3)
    assert bound <= visits


def _without_bound(monkeypatch):
    monkeypatch.setattr(Evaluator, "least_work", property(lambda self: 0))


@pytest.mark.parametrize("cid", ["repeated", "repeated-off-by-one"])
def test_skipping_costly_sizes_changes_nothing(monkeypatch, cid):
    d.__dict__.pop("_sampled", None)  # each run samples (see equality._sampled)
    fast = check_claim(d.claim(cid), lambda *_: None)
    _without_bound(monkeypatch)
    d.__dict__.pop("_sampled", None)
    slow = check_claim(d.claim(cid), lambda *_: None)
    assert (fast.verdict, fast.method, fast.message) == (slow.verdict, slow.method,
                                                         slow.message)
    assert fast.evidence == slow.evidence
    assert fast.counterexample == slow.counterexample


def test_a_planted_mistake_in_a_costly_claim_is_refuted():
    got = check_claim(d.claim("repeated-off-by-one"), lambda *_: None)
    assert got.verdict == "refuted", got.message
    holds = check_claim(d.claim("repeated"), lambda *_: None)
    assert holds.verdict in ("proved", "verified"), holds.message
    assert "too costly to evaluate at n=" in holds.message or holds.verdict == "proved"
