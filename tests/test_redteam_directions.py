"""Red team for the directional screen of claimed derivatives (symderive/check/directions.py).

A claimed gradient, Jacobian or Hessian is compared along random directions instead of
entry by entry.  Each false claim here is wrong in a way a projection could hide if it
were done carelessly (one entry of 36, a transposed factor on a non-square variable, one
off-diagonal pair of a Hessian); each must be refuted, and the counterexample must name
the wrong entry with digits that show the difference.  The true twins must hold.
"""

import random

import mpmath
import pytest
import sympy as sp

from symderive import Derivation, as_scalar, bsum, hadamard, ones
from symderive.check import check_claim
from symderive.check.counterexample import failures
from symderive.check.directions import DIRECTIONS, Unsettled, derivative_side, draw
from symderive.check.instances import Evaluator
from symderive.numeric import Sampler

red = Derivation("redteam-directions", source="tests")
m = red.dim("m", sizes=(2, 3), numeric=6)
n = red.dim("n", sizes=(2, 3), numeric=7)
X = red.matrix("X", m, n)
S = red.matrix("S", m, m)
A = red.matrix("A", m, m)
x = red.vector("x", m)
i = red.index("i", n)
j = red.index("j", m)
b = red.batch("b", m, n)
w = red.tensor("w", (m, n))
_sum_w = sp.Sum(sp.Sum(w[j, i] ** 3 / 3 + w[j, i], (i, 1, n)), (j, 1, m))

SIX = [{m: 6, n: 6}]
SIX_BY_SEVEN = [{m: 6, n: 7}]
_sum_sq = as_scalar(ones(m).T * hadamard(X, X) * ones(n))  # sum of the squared entries
_sum_b = as_scalar(bsum(b[i].T * b[i], i, 1, n))             # sum of squares of a batch
_sum_AX = as_scalar(ones(m).T * S * X * ones(n))            # sum of the entries of S X

FALSE = {
    # X_55^3 added: the true gradient is 2X except 2X + 3 X_55^2 at entry (5, 5)
    "one-entry": (red.derivative("one-entry", _sum_sq + X[4, 4] ** 3, X,
                                 2 * X, sizes=SIX), {"[5,5]"}),
    # the gradient of 1^T S X 1 is S^T 1 1^T; S in place of S^T keeps the shape 6x7
    "transposed-factor": (red.derivative("transposed-factor", _sum_AX, X,
                                         S * ones(m) * ones(n).T, sizes=SIX_BY_SEVEN), None),
    # x_1 x_4 added: the true Hessian is A + A^T except at the pair (1, 4), (4, 1)
    "hessian-off-diagonal": (red.hessian("hessian-off-diagonal",
                                         as_scalar(x.T * A * x)
                                         + x[0, 0] * x[3, 0],
                                         x, A + A.T, sizes=[{m: 6}]), {"[1,4]", "[4,1]"}),
    # a family over i screened as one sum: only its member i = 5 is wrong
    "one-member": (red.derivative("one-member", _sum_b, b[i],
                                  2 * b[i] + sp.KroneckerDelta(i, 5) * ones(m), sizes=SIX),
                   {f"i=5 [{a}]" for a in range(1, 7)}),
    # entries in index notation, screened as one family: wrong only at (j, i) = (2, 6)
    "one-index-entry": (red.derivative("one-index-entry", _sum_w, w[j, i],
                                       w[j, i] ** 2 + 1
                                       + sp.KroneckerDelta(j, 2) * sp.KroneckerDelta(i, 6),
                                       sizes=SIX_BY_SEVEN),
                        {"i=6, j=2"}),
}

TRUE = {
    "sum-sq": red.derivative("sum-sq", _sum_sq, X, 2 * X),
    "sum-SX": red.derivative("sum-SX", _sum_AX, X, S.T * ones(m) * ones(n).T),
    "hessian": red.hessian("hessian", as_scalar(x.T * A * x), x, A + A.T),
    "jacobian": red.derivative("jacobian", A * x, x, A),
    "family": red.derivative("family", _sum_b, b[i], 2 * b[i]),
    "index-family": red.derivative("index-family", _sum_w, w[j, i], w[j, i] ** 2 + 1),
}


def _check(claim, seed=0):
    return check_claim(claim, lambda *_: None, seed)


@pytest.mark.parametrize("cid", sorted(FALSE))
def test_false_derivatives_are_refuted_at_the_entry(cid):
    claim, wrong = FALSE[cid]
    out = _check(claim)
    assert out.verdict == "refuted", out.message
    cx = out.counterexample
    assert cx["sizes"] == {str(k): v for k, v in claim.sizes[0].items()}
    named = {e["entry"] for e in cx["entries"]}
    if wrong is not None:
        assert named == wrong and cx["differing"] == len(wrong), cx["entries"]
    else:  # S 1 1^T against S^T 1 1^T: every row whose row and column sums of S differ
        assert cx["differing"] >= 1 and all(e.startswith("[") for e in named)
    for e in cx["entries"]:
        assert e["lhs"] != e["rhs"]  # the printed digits show the difference


@pytest.mark.parametrize("cid", sorted(TRUE))
def test_true_derivatives_hold_at_sizes_six_and_more(cid):
    out = _check(TRUE[cid])
    assert out.verdict in ("proved", "verified"), out.message
    sizes = out.evidence.sampled_sizes
    assert max(s[k] for s in sizes for k in s) >= 6


def _screen_at(claim, sizes, seed=1):
    evaluate = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, evaluate.leaves, sizes, random.Random(seed)).draw()
    return evaluate, point


@pytest.mark.parametrize("cid", sorted(FALSE))
def test_the_screen_itself_rejects_each_false_claim(cid):
    """Not only the entrywise confirmation: the projection flags the point."""
    claim, _ = FALSE[cid]
    evaluate, point = _screen_at(claim, claim.sizes[0])
    with pytest.raises(Unsettled) as info:
        evaluate.screen(point)
    assert info.value.suspect


#: values a screen compares per side: one per direction, a row per direction for a Jacobian
SCREENED = {"sum-sq": DIRECTIONS, "sum-SX": DIRECTIONS, "hessian": DIRECTIONS,
            "jacobian": DIRECTIONS * 6, "family": DIRECTIONS,  # a family: one sum
            "index-family": DIRECTIONS}


@pytest.mark.parametrize("cid", sorted(SCREENED))
def test_the_screen_accepts_true_claims_along_directions(cid):
    claim = TRUE[cid]
    evaluate, point = _screen_at(claim, {m: 6, n: 7})
    assert derivative_side(claim, evaluate.envs) == 0
    vals = evaluate.screen(point)
    assert len(vals) == 2 * SCREENED[cid]
    half = len(vals) // 2
    assert all(abs(a - b) <= 1e-40 * max(1, abs(a)) for a, b in zip(vals[:half], vals[half:]))


def test_directions_are_never_small_and_cover_the_grid():
    rng = random.Random(0)
    v = draw(rng, 1000)
    assert all(1 <= abs(t) < 2 for t in v)
    assert len(set(v)) == 1000 and {mpmath.sign(t) for t in v} == {-1, 1}


# -- one direction per point (DIRECTIONS = 1): the screen alone must catch every fault ----
#: an error far below the entrywise scale of the values yet far above the screen's
#: threshold (about 1e-33 relative): X_55 / 10^25 added, so the gradient is 2X except
#: 2X + 10^-25 at entry (5, 5)
TINY = red.derivative("tiny-entry", _sum_sq + X[4, 4] / sp.Integer(10) ** 25, X, 2 * X,
                      sizes=SIX)
SEEDS = range(20)


def test_one_direction_per_point():
    """The soundness argument in symderive/check/directions.py is stated for one
    direction per point; more would square the bound and double the cost."""
    assert DIRECTIONS == 1


@pytest.mark.parametrize("cid", ["one-entry", "hessian-off-diagonal", "one-member",
                                 "one-index-entry", "tiny-entry"])
def test_one_direction_flags_every_point_where_an_entry_is_wrong(cid):
    """A single wrong entry (or pair, or family member) among 36+ is flagged by the one
    projected direction at every point, drawn from each of 20 seeds, where the entrywise
    comparison finds it wrong (a screen that accepted would let the claim through at
    that point), and accepted where the planted error happens to vanish (X_55 = 0)."""
    claim = TINY if cid == "tiny-entry" else FALSE[cid][0]
    wrong = 0
    for seed in SEEDS:
        evaluate, point = _screen_at(claim, claim.sizes[0], seed)
        if failures(evaluate(point)):
            wrong += 1
            with pytest.raises(Unsettled) as info:
                evaluate.screen(point)
            assert info.value.suspect, (seed, str(info.value))
        else:
            vals = evaluate.screen(point)
            assert vals is not None and not failures(vals), seed
    assert wrong >= 15  # the planted error is seen at most points: the test has teeth


def test_a_tiny_single_entry_error_is_refuted_entrywise_across_seeds():
    """The screen flags the point, and the entrywise comparison (35 digits) refutes it
    at entry (5, 5), whatever the seed."""
    for seed in (0, 7, 19):
        out = _check(TINY, seed)
        assert out.verdict == "refuted", (seed, out.message)
        entries = {e["entry"] for e in out.counterexample["entries"]}
        assert entries == {"[5,5]"}, (seed, out.counterexample["entries"])


@pytest.mark.parametrize("cid", ["one-entry", "one-member"])
def test_false_gradients_are_refuted_whatever_the_seed(cid):
    """Seeds 9 and 13 draw X_55 = 0 first (the planted error vanishes there)."""
    claim, wrong = FALSE[cid]
    for seed in (0, 9, 13, 19):
        out = _check(claim, seed)
        assert out.verdict == "refuted", (seed, out.message)
        assert {e["entry"] for e in out.counterexample["entries"]} == wrong, seed
