"""The prover for every size: what it proves, and that it proves nothing false."""

import pytest
import sympy as sp
from symderive.derivations import logistic_mixture as lm

from symderive import D, Derivation, sigmoid
from symderive.check.allsizes import prove_all_sizes
from symderive.mutate import mutants

d = Derivation("allsizes", source="tests")
n = d.dim("n")
m = d.dim("m")
i = d.index("i", n)
j = d.index("j", n)
a = d.index("a", n)
b = d.index("b", m)
v = d.tensor("v", (n,))
u = d.tensor("u", (m,))
W = d.tensor("W", (m, n))
s = d.define("s", sp.Sum(W[b, i] * v[i], (i, 1, n)), params=(b,))

TRUE = {
    "delta-same-range": (sp.Sum(sp.KroneckerDelta(i, a) * v[i], (i, 1, n)), v[a]),
    "linear-grad": (D(sp.Sum(u[b] * s[b], (b, 1, m)), v[a]),
                    sp.Sum(u[b] * W[b, a], (b, 1, m))),
    "logsumexp-grad": (D(sp.log(sp.Sum(sp.exp(v[i]), (i, 1, n))), v[a]),
                       sp.exp(v[a]) / sp.Sum(sp.exp(v[j]), (j, 1, n))),
    "sigmoid-grad": (D(sigmoid(s[b]), W[b, a]), sigmoid(s[b]) * (1 - sigmoid(s[b])) * v[a]),
    "count": (sp.Sum(1, (i, 1, n)), n),
}
FALSE = {
    # a ranges over m, the sum over n: the delta collapses only when a <= n
    "delta-other-range": (sp.Sum(sp.KroneckerDelta(i, b) * v[i], (i, 1, n)), v[b]),
    "wrong-count": (sp.Sum(1, (i, 1, n - 1)), n),
    "grad-missing-factor": (D(sigmoid(s[b]), W[b, a]), sigmoid(s[b]) * (1 - sigmoid(s[b]))),
    "grad-wrong-index": (D(sp.Sum(u[b] * s[b], (b, 1, m)), v[a]),
                         sp.Sum(u[b] * W[b, 1], (b, 1, m))),
    "capped-sum": (sp.Sum(v[i], (i, 1, n)), sp.Sum(v[i], (i, 1, sp.Min(n, 3)))),
}
CLAIMS = {cid: d.equal(cid, lhs, rhs) for cid, (lhs, rhs) in {**TRUE, **FALSE}.items()}


@pytest.mark.parametrize("cid", sorted(TRUE))
def test_true_claims_are_proved_for_every_size(cid):
    assert prove_all_sizes(CLAIMS[cid]) is not None


@pytest.mark.parametrize("cid", sorted(FALSE))
def test_false_claims_are_not_proved(cid):
    assert prove_all_sizes(CLAIMS[cid]) is None


def test_no_planted_mistake_is_proved():
    proved = [c for c in lm.derivation.claims if c.kind in ("equal", "chain")
              and prove_all_sizes(c)]
    assert len(proved) >= 20
    planted = [mt for c in proved[::6] for mt in mutants(c)]
    assert planted
    assert [mt.id for mt in planted if prove_all_sizes(mt)] == []
