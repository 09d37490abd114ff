"""Red team for backpropagation derivations other than the homework's.

Sigmoid with binary cross-entropy: log(1 - sigmoid(z)) is 0 - undefined - at 100 digits
once z > 230, and at the larger sampled size (m = 7, n = 6) every point has such an
entry (inputs up to 1e3).  Until 30 Nov 2026 the claim was then ``undecided`` ("no point
found where both sides are defined") without trying the proof for every size, which
does not rest on sampling: the textbook gradient s - y was never proved.  Planted
mistakes (sign flip, transpose) must still be refuted.
"""

import sympy as sp

from symderive import D, Derivation, bsum, log, ones, sigmoid
from symderive.check import check_claim
from symderive.check.verdict import Verdict

d = Derivation("redteam_backprop", source="tests")
n = d.dim("n", sizes=(2, 3))
m = d.dim("m", sizes=(2, 3))
i = d.index("i", n)
x = d.batch("x", m, n)
y = d.batch("y", m, n)
W = d.matrix("W", m, m)
b = d.vector("b", m)
z = d.define("z", W * x[i] + b, params=(i,))
s = d.define("s", sigmoid(z[i]), params=(i,))
L = d.define("L", -bsum(y[i].T * log(s[i]) + (ones(m) - y[i]).T * log(ones(m) - s[i]),
                        i, 1, n))
d.derivative("bce-z", L, z[i], s[i] - y[i])
d.derivative("bce-W", L, W, bsum((s[i] - y[i]) * x[i].T, i, 1, n))
d.derivative("bce-z-sign", L, z[i], y[i] - s[i])
d.derivative("bce-W-transpose", L, W, bsum(x[i] * (s[i] - y[i]).T, i, 1, n))
d.derivative("bce-W-half", L, W, bsum((s[i] - y[i]) * x[i].T, i, 1, n) / 2)


def _check(cid):
    claim = next(c for c in d.claims if c.id == cid)
    return check_claim(claim, lambda *_: None, 0)


def test_bce_gradients_are_proved_although_no_large_point_is_defined():
    for cid in ("bce-z", "bce-W"):
        out = _check(cid)
        assert out.verdict == Verdict.PROVED, (cid, out.verdict, out.message)
        assert out.evidence.all_sizes
        # the message still says the larger size had no defined point
        assert "no point found where both sides are defined at m=7, n=6" in out.message
        assert out.evidence.points > 0


def test_bce_planted_mistakes_are_refuted():
    for cid in ("bce-z-sign", "bce-W-transpose", "bce-W-half"):
        out = _check(cid)
        assert out.verdict == Verdict.REFUTED, (cid, out.verdict, out.message)
        assert out.counterexample is not None


# -- what held: attention scores and the softmax Jacobian, entry by entry ------------------
a_d = Derivation("redteam_attention", source="tests")
N = a_d.dim("N", sizes=(2, 3))
K_ = a_d.dim("dk", sizes=(2, 3))
p_, q_, r_ = a_d.index("p", N), a_d.index("q", N), a_d.index("r", N)
u_, w_ = a_d.index("u", K_), a_d.index("w", K_)
Qt, Kt, Vt, Gt = (a_d.tensor(name, (N, K_)) for name in ("Q", "K", "V", "G"))
S = a_d.define("S", sp.Sum(Qt[p_, w_] * Kt[q_, w_], (w_, 1, K_)) / sp.sqrt(K_),
               params=(p_, q_))
A = a_d.define("A", sp.exp(S[p_, q_]) / sp.Sum(sp.exp(S[p_, r_]), (r_, 1, N)),
               params=(p_, q_))
Out = a_d.define("O", sp.Sum(A[p_, q_] * Vt[q_, u_], (q_, 1, N)), params=(p_, u_))
LA = a_d.define("LA", sp.Sum(sp.Sum(Gt[p_, u_] * Out[p_, u_], (u_, 1, K_)), (p_, 1, N)))
a_d.equal("att-V", D(LA, Vt[q_, u_]), sp.Sum(A[p_, q_] * Gt[p_, u_], (p_, 1, N)))
a_d.equal("att-V-transpose", D(LA, Vt[q_, u_]), sp.Sum(A[q_, p_] * Gt[p_, u_], (p_, 1, N)))
dA = sp.Sum(Gt[p_, w_] * Vt[q_, w_], (w_, 1, K_))
mean_dA = sp.Sum(A[p_, r_] * sp.Sum(Gt[p_, w_] * Vt[r_, w_], (w_, 1, K_)), (r_, 1, N))
a_d.equal("att-S", D(LA, S[p_, q_]), A[p_, q_] * (dA - mean_dA))
a_d.equal("att-S-diag-only", D(LA, S[p_, q_]), A[p_, q_] * dA)
a_d.equal("att-Q-sqrt-n", D(LA, Qt[p_, u_]),
          sp.Sum(A[p_, q_] * (dA - mean_dA) * Kt[q_, u_], (q_, 1, N)) / sp.sqrt(N))
a_d.equal("att-Q", D(LA, Qt[p_, u_]),
          sp.Sum(A[p_, q_] * (dA - mean_dA) * Kt[q_, u_], (q_, 1, N)) / sp.sqrt(K_))


def test_attention_gradients_hold_and_planted_mistakes_are_refuted():
    want = {"att-V": Verdict.PROVED, "att-S": Verdict.VERIFIED, "att-Q": Verdict.VERIFIED,
            "att-V-transpose": Verdict.REFUTED, "att-S-diag-only": Verdict.REFUTED,
            "att-Q-sqrt-n": Verdict.REFUTED}
    for claim in a_d.claims:
        out = check_claim(claim, lambda *_: None, 0)
        assert out.verdict == want[claim.id], (claim.id, out.verdict, out.message)
        if out.verdict == Verdict.REFUTED:
            assert out.counterexample is not None


def test_holding_an_indexed_family_without_its_index_is_a_clear_error_not_a_hang():
    import pytest

    from symderive import relu
    h = d.define("h_hold", relu(z[i]), params=(i,))
    with pytest.raises(TypeError, match=r"h_hold is an indexed definition: write h_hold\[i\]"):
        D(L, x[i], holding=[h])
