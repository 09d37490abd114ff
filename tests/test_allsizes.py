"""The prover for every size: what it proves, and that it proves nothing false."""

import pytest
import sympy as sp
from symderive.derivations import bn_backprop as bn
from symderive.derivations import logistic_mixture as lm

from symderive import D, Derivation, batch_mean, batch_var, bsum, comp, hadamard, sigmoid, softmax
from symderive.check.allsizes import prove_all_sizes
from symderive.check.dispatch import check_claim
from symderive.check.equality import _prove_at
from symderive.check.verdict import Verdict
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

# matrix notation: products, transposes, softmax, batches and their statistics
A = d.matrix("A", n, n)
M = d.matrix("M", m, n)
w = d.vector("w", n)
z = d.vector("z", m)
x = d.batch("x", n, m)
k = d.index("k", m)
mean = batch_mean(x[k], k, m)
centred = bsum(hadamard(x[k] - mean, x[k] - mean), k, 1, m)
TRUE.update({
    "quad-form": (D(w.T * A * w, w), (A + A.T) * w),
    "bilinear": (D(z.T * M * w, M), z * w.T),
    "logsumexp-softmax": (D(sp.log(sp.Sum(sp.exp(comp(z, k)), (k, 1, m))), z), softmax(z)),
    "centred-sum": (bsum(x[k] - mean, k, 1, m), sp.ZeroMatrix(n, 1)),
})
FALSE.update({
    "quad-form-sign": (D(w.T * A * w, w), -(A + A.T) * w),
    "quad-form-transpose": (D(w.T * A * w, w), (A + A) * w),
    "bilinear-missing-factor": (D(z.T * M * w, M), 2 * z * w.T),
    "off-by-one-bound": (sp.Sum(v[i], (i, 1, n - 1)), sp.Sum(v[i], (i, 1, n))),
    "unbiased-variance": (batch_var(x[k], mean, k, m), centred / (m - 1)),
    # true for n >= 2 only (0/0 at n = 1): the sizes do not declare n >= 2
    "needs-n-ge-2": (sp.Sum(1, (i, 2, n)) / (n - 1), sp.Integer(1)),
    # a range that runs backwards at n = 1 (SymPy's Karr convention gives -1 there, the
    # walkers 0): true for n >= 2 only
    "backwards-range": (sp.Sum(1, (i, 3, n)), n - 2),
})
CLAIMS = {cid: d.equal(cid, lhs, rhs) for cid, (lhs, rhs) in {**TRUE, **FALSE}.items()}
# planted mistakes that the checker as a whole refutes (the others hold at n >= 2, the
# sizes sampled, and are only kept from being proved)
REFUTED = ["wrong-count", "grad-missing-factor", "grad-wrong-index", "capped-sum",
           "quad-form-sign", "quad-form-transpose", "bilinear-missing-factor",
           "off-by-one-bound", "unbiased-variance"]


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


@pytest.mark.parametrize("cid", REFUTED)
def test_planted_mistakes_are_refuted_by_the_checker(cid):
    assert check_claim(CLAIMS[cid], lambda *a: None).verdict == Verdict.REFUTED


@pytest.mark.parametrize("cid", ["quad-form", "bilinear", "logsumexp-softmax",
                                 "centred-sum"])
def test_matrix_claims_also_hold_exactly_at_fixed_sizes(cid):
    """Cross-check of the prover for every size: the same claim is an exact identity at
    the smallest sizes (explicit entries, sympy.diff), so the translation did not lose a
    term (SymPy's MatrixSymbol calculus can silently return 0)."""
    claim = CLAIMS[cid]
    assert _prove_at(claim, d.size_configs(claim)[0][0])


# bn_backprop: matrix notation, softmax, batch normalisation (a sample: each takes seconds)
BN = ["2", "4"]


@pytest.mark.parametrize("cid", BN)
def test_bn_backprop_claims_are_proved_for_every_size(cid):
    claim = bn.derivation.claim(cid)
    assert prove_all_sizes(claim) is not None
    assert _prove_at(claim, bn.derivation.size_configs(claim)[0][0])


def test_bn_backprop_erratum_and_mutants_are_not_proved():
    assert prove_all_sizes(bn.derivation.claim("3")) is None  # h1 where hhat is meant
    planted = list(mutants(bn.derivation.claim("4")))
    assert planted
    assert [mt.id for mt in planted if prove_all_sizes(mt)] == []
