"""Red team for backpropagation derivations other than the homework's.

Sigmoid with binary cross-entropy: log(1 - sigmoid(z)) is 0 - undefined - at 100 digits
once z > 230, and at the larger sampled size (m = 7, n = 6) every point has such an
entry (inputs up to 1e3).  Until 30 Nov 2026 the claim was then ``undecided`` ("no point
found where both sides are defined") without trying the proof for every size, which
does not rest on sampling: the textbook gradient s - y was never proved.  Planted
mistakes (sign flip, transpose) must still be refuted.
"""

from symderive import Derivation, bsum, log, ones, sigmoid
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
