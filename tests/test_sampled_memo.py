"""The memo of one size's sampling (check/equality.py _memo, read by _sample_ladder): a
formula restated in a derivation (bn_backprop (14)-(23) repeat (2)-(13)) is sampled
once. Served only to the same content from the same generator state: a restatement gets
the verdict, message and evidence the first check got, and a planted mistake in it,
checked after the true claim, is still refuted."""

import pytest
import sympy as sp

import symderive.check.equality as equality
from symderive import Derivation, as_scalar, hadamard, ones
from symderive.check import check_claim
from symderive.mutate import mutants, variant

d = Derivation("sampled-memo", source="tests")
m = d.dim("m", sizes=(2, 3), numeric=4)
n = d.dim("n", sizes=(2, 3), numeric=4)
X = d.matrix("X", m, n)
_sum_sq = as_scalar(ones(m).T * hadamard(X, X) * ones(n))
d.derivative("grad", _sum_sq, X, 2 * X)
d.derivative("grad-restated", _sum_sq, X, 2 * X)
i = d.index("i", n)
w = d.tensor("w", (n,))
d.equal("sum", sp.Sum(2 * w[i], (i, 1, n)), 2 * sp.Sum(w[i], (i, 1, n)))


@pytest.fixture
def calls(monkeypatch):
    """The sizes actually sampled (not served by the memo)."""
    made = []
    real = equality._numeric_one

    def counted(claim, sizes, *args, **kwargs):
        made.append(dict(sizes))
        return real(claim, sizes, *args, **kwargs)

    monkeypatch.setattr(equality, "_numeric_one", counted)
    d.__dict__.pop("_sampled", None)
    return made


def _seen(out):
    return out.verdict, out.method, out.message, out.evidence, out.counterexample


def test_a_restated_claim_is_served_the_same_outcome(calls):
    first = check_claim(d.claim("grad"), lambda *_: None)
    sampled = len(calls)
    again = check_claim(d.claim("grad-restated"), lambda *_: None)
    assert first.verdict in ("proved", "verified"), first.message
    assert _seen(again) == _seen(first)
    assert sampled and len(calls) == sampled  # nothing sampled the second time


def test_another_seed_is_sampled_afresh(calls):
    check_claim(d.claim("grad"), lambda *_: None)
    sampled = len(calls)
    other = check_claim(d.claim("grad-restated"), lambda *_: None, 3)
    assert len(calls) == 2 * sampled
    assert other.evidence.seed == 3


@pytest.mark.parametrize("cid", ["grad", "sum"])
def test_planted_mistakes_after_the_true_claim_are_refuted(calls, cid):
    claim = d.claim(cid)
    assert check_claim(claim, lambda *_: None).verdict in ("proved", "verified")
    planted = mutants(claim)
    assert planted
    for bad in planted:
        got = check_claim(bad, lambda *_: None)
        assert got.verdict == "refuted", (bad.id, got.verdict, got.message)
    # and the true claim again, after them: the memo still holds the true outcome
    again = check_claim(variant(claim, "again"), lambda *_: None)
    assert again.verdict in ("proved", "verified")


def test_a_refutation_is_found_again_not_remembered(calls):
    bad = variant(d.claim("sum"), "off", rhs=3 * sp.Sum(w[i], (i, 1, n)))
    first = check_claim(bad, lambda *_: None)
    sampled = len(calls)
    again = check_claim(bad, lambda *_: None)
    assert first.verdict == again.verdict == "refuted"
    assert _seen(again) == _seen(first)
    assert len(calls) > sampled  # the refuting size was sampled again
