"""A perturbed instance takes the terms of a sum that its perturbation does not move from
its parent (evaluate.NumericInstantiator.term): the same numbers and the same work
counted as walking them, and a term that sees the moved quantity at another index is
never taken (a planted claim that needs it is still refuted)."""

import random

import mpmath
import pytest
import sympy as sp
from symderive.derivations import bn_backprop as bn

import symderive.evaluate as evaluate
from symderive import D, Derivation, bsum, hadamard, ones
from symderive.check import check_claim
from symderive.check.instances import Evaluator
from symderive.nodes import BatchSum
from symderive.numeric import Sampler


def _raw(values) -> list:
    return [v._mpf_ if type(v) is mpmath.mpf else v for v in values]


@pytest.mark.parametrize("cid", ["1.1", "5", "9.1", "10.1"])
def test_same_numbers_and_work_with_or_without_shared_terms(cid, monkeypatch):
    claim = bn.derivation.claim(cid)
    sizes = bn.derivation.size_configs(claim)[1][0]  # n = n_1 = n_y = 4
    ev = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, ev.leaves, sizes, random.Random(cid)).draw()
    shared = []
    kept = evaluate.NumericInstantiator._kept

    def counting(self, key, *args):
        if key[0] == "term":
            shared.append(key)
        return kept(self, key, *args)

    monkeypatch.setattr(evaluate.NumericInstantiator, "_kept", counting)

    def run(share: bool) -> list:
        monkeypatch.setattr(evaluate, "_SHARE_TERMS", [share])
        out = []
        for evaluation in (ev, ev.screen):  # entry by entry, then along directions
            evaluate.work_limit(None)
            out.append((_raw(evaluation(point)), evaluate.work_done()))
        return out

    on = run(True)
    assert shared, "no term was taken from a parent"
    off = run(False)
    assert on == off


d = Derivation("shared_terms", source="tests")
n = d.dim("n", sizes=(2, 3), numeric=4)
m = d.dim("m", sizes=(2, 3), numeric=3)
i = d.index("i", n)
x = d.batch("x", m, n)
W = d.matrix("W", m, m)
h = d.define("h", W * x[i], params=(i,))
own = d.define("own", bsum(ones(m).T * hadamard(h[i], h[i]), i, 1, n))
# each term also sees h at index 1: moving h[1] moves every term, not only the first
cross = d.define("cross", bsum(ones(m).T * hadamard(h[i], h[1]), i, 1, n))
# held with h: s keeps its value while h[i] moves, so each term sees it fixed
s = d.define("s", bsum(h[i], i, 1, n))
through = d.define("through", bsum(ones(m).T * hadamard(h[i], s), i, 1, n))
d.derivative("own", own, h[i], 2 * h[i])
d.equal("held", D(through, h[i], holding=[s]), s)
d.equal("not-held", D(through, h[i]), 2 * s)
d.equal("held-as-not", D(through, h[i], holding=[s]), 2 * s)
d.equal("not-held-as-held", D(through, h[i]), s)
d.derivative("own-missing-factor", own, h[i], h[i])
d.derivative("cross-own-term-only", cross, h[i], h[1])
d.derivative("cross-sign", cross, h[i], -h[1] - sp.KroneckerDelta(i, 1) * bsum(h[i], i, 1, n))


@pytest.mark.parametrize("cid", ["own", "held", "not-held"])
def test_the_correct_gradients_are_not_refuted(cid):
    out = check_claim(d.claim(cid), lambda *_: None, 0)
    assert out.verdict in ("proved", "verified"), (cid, out.message)


@pytest.mark.parametrize("cid", ["own-missing-factor", "cross-own-term-only", "cross-sign",
                                 "held-as-not", "not-held-as-held"])
def test_planted_gradients_are_refuted(cid):
    out = check_claim(d.claim(cid), lambda *_: None, 0)
    assert out.verdict == "refuted", (cid, out.verdict, out.message)


def _sum_in(token: str):
    return next(e for e in sp.preorder_traversal(d.defs[sp.Symbol(token)].body)
                if isinstance(e, (sp.Sum, BatchSum)))


def test_a_term_seeing_the_moved_quantity_at_another_index_is_not_shared():
    assert evaluate.local_term(d, _sum_in("own"), frozenset({"h"}))
    assert not evaluate.local_term(d, _sum_in("cross"), frozenset({"h"}))
    # s depends on h: a term naming it moves, unless s is held (fixed) with h
    assert not evaluate.local_term(d, _sum_in("through"), frozenset({"h"}))
    assert evaluate.local_term(d, _sum_in("through"), frozenset({"h"}), frozenset({"s"}))


def test_the_cross_gradient_is_the_full_one_at_a_point():
    """At i = 1 the gradient has every term's share (taking the terms i' != 1 from the
    unperturbed instance would leave h[1] alone)."""
    claim = d.claim("cross-own-term-only")
    sizes = {n: 3, m: 2}
    ev = Evaluator(claim, sizes)
    point = Sampler(d, ev.leaves, sizes, random.Random(1)).draw()
    with evaluate.working_precision():
        inst = evaluate.NumericInstantiator(d, sizes, ev._values(point))
        grad = inst.matrix(D(cross, h[i]), {i: 1}, frozenset())
        hs = [inst.definition(sp.Symbol("h"), (k,), frozenset()) for k in (1, 2, 3)]
        for a in range(2):
            full = hs[0].data[a] + sum(hk.data[a] for hk in hs)
            assert abs(grad.data[a] - full) < mpmath.mpf(10) ** -40 * max(1, abs(full))
            assert abs(grad.data[a] - hs[0].data[a]) > mpmath.mpf(10) ** -10


@pytest.mark.parametrize("holding, factor", [((), 2), ((s,), 1)])
def test_the_gradient_through_a_held_or_moving_sum_at_a_point(holding, factor):
    """d/dh[i] of sum_i' 1^T (h[i'] o s) is 2 s when s = sum h moves with h, s when it is
    held: a term naming s is shared only while s is held."""
    claim = d.claim("held")
    sizes = {n: 3, m: 2}
    ev = Evaluator(claim, sizes)
    point = Sampler(d, ev.leaves, sizes, random.Random(2)).draw()
    with evaluate.working_precision():
        inst = evaluate.NumericInstantiator(d, sizes, ev._values(point))
        grad = inst.matrix(D(through, h[i], holding=list(holding)), {i: 2}, frozenset())
        total = inst.definition(sp.Symbol("s"), (), frozenset())
        for a in range(2):
            want = factor * total.data[a]
            assert abs(grad.data[a] - want) < mpmath.mpf(10) ** -40 * max(1, abs(want))
