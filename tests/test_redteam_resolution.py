"""Red team for numeric derivatives that cannot be resolved (issue 10, num10).

A central difference with step h resolves a derivative only when the rounding error of
the function values, about 10^-digits |F| / h, is far below the comparison tolerance.
Beside a term like exp(6076) that error swamps the derivative, and the old checker
refuted these TRUE claims (the difference came out 0).  Such a point must be skipped and
counted, never refuted; the planted mistakes in the same claims must still be refuted.
"""

import pytest
import sympy as sp

from symderive import POSITIVE, Derivation
from symderive.check import check_claim

red = Derivation("redteam-resolution", source="tests")
n = red.dim("n")
i = red.index("i", n)
t = red.tensor("t", (n,))
w = red.scalar("w")
s = red.scalar("s", POSITIVE)
x = red.scalar("x")

_big = sp.Sum(t[i] * sp.exp(t[i]), (i, 1, n))   # exp(t_i) of t_i up to 7000 dwarfs the rest

TRUE = {
    "exp-entry": red.derivative("exp-entry", _big, t[i], sp.exp(t[i]) * (t[i] + 1)),
    "exp-scalar": red.derivative("exp-scalar", sp.exp(w) * w + sp.Sum(sp.exp(t[i]), (i, 1, n)),
                                 w, sp.exp(w) * (w + 1)),
    "exp-alone": red.derivative("exp-alone", sp.exp(w) * w, w, sp.exp(w) * (w + 1)),
    "log-near-0": red.derivative("log-near-0", sp.log(s) + _big, s, 1 / s),
    "inverse-near-0": red.derivative("inverse-near-0", 1 / x + _big, x, -1 / x ** 2),
}

FALSE = {
    "exp-entry-factor": red.derivative("exp-entry-factor", _big, t[i],
                                       sp.exp(t[i]) * (t[i] + 2)),
    "exp-entry-sign": red.derivative("exp-entry-sign", _big, t[i],
                                     -sp.exp(t[i]) * (t[i] + 1)),
    "exp-scalar-factor": red.derivative("exp-scalar-factor",
                                        sp.exp(w) * w + sp.Sum(sp.exp(t[i]), (i, 1, n)),
                                        w, sp.exp(w) * w),
    "log-near-0-factor": red.derivative("log-near-0-factor", sp.log(s) + _big, s, 2 / s),
    "inverse-near-0-sign": red.derivative("inverse-near-0-sign", 1 / x + _big, x, 1 / x ** 2),
    "swapped": red.derivative("swapped", sp.exp(w) * x + _big, w, sp.exp(x) * w),
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cid", sorted(TRUE))
def test_true_claims_beside_huge_terms_hold(cid, seed):
    out = check_claim(TRUE[cid], lambda *_: None, seed)
    assert out.verdict in ("proved", "verified"), (cid, seed, out.message, out.counterexample)


@pytest.mark.parametrize("cid", sorted(FALSE))
def test_planted_mistakes_beside_huge_terms_are_refuted(cid):
    out = check_claim(FALSE[cid], lambda *_: None, 0)
    assert out.verdict == "refuted", (cid, out.message)
    assert out.counterexample["lhs"] != out.counterexample["rhs"]


def test_unresolved_points_are_counted_and_said():
    # seed 0 draws t_4 = 6076 at n = 7: that point cannot be resolved, and is skipped
    out = check_claim(TRUE["exp-entry"], lambda *_: None, 0)
    assert out.skipped >= 1
    assert "numeric derivative cannot be resolved" in out.message, out.message
