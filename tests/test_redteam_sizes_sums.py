"""Red team for claims whose truth depends on the sizes and on sums over indices.

Hole found (30 Nov 2026): the size-generic prover never asked whether the entries a claim
names exist.  ``Sum(Z[k], (k, 1, m))`` with ``Z`` of length n names Z[n + 1] .. Z[m]
when m > n.  The fixed-size checks refute that by shape, but only when the larger sampled
sizes draw m > n (seed 0); for the seeds that draw n > m every sampled entry existed and
the prover then said "identity holds for every size".  The prover now shows each index in
1..(declared size) for every size first (``allsizes/shapes.py``, README step 9).

The rest are the strongest adversarial cases that held: identities true for small n only,
triangular and reversed sums, deltas over a shorter range, paired with true claims that
stay proved.
"""

from __future__ import annotations

import sympy as sp

from symderive import Derivation
from symderive.check import check_claim
from symderive.check.allsizes import prove_all_sizes
from symderive.check.allsizes.shapes import entries_in_shape

SEEDS = range(6)

d = Derivation("redteam_sizes_sums", source="tests")
n, m = d.dim("n"), d.dim("m")
i = d.index("i", n)
j = d.index("j", m)
Z = d.tensor("Z", (n,))
Y = d.tensor("Y", (m,))
v = d.vector("v", n)
x = d.scalar("x")
t = sp.Symbol("t", integer=True)
u = sp.Symbol("u", integer=True)

# -- entries outside the declared shape at some sizes --------------------------------
d.equal("sum-to-wrong-dim", sp.Sum(x * Z[t], (t, 1, m)), x * sp.Sum(Z[t], (t, 1, m)))
d.equal("sum-to-right-dim", sp.Sum(x * Y[t], (t, 1, m)), x * sp.Sum(Y[t], (t, 1, m)))
d.equal("free-index-wrong-dim", sp.Sum(sp.KroneckerDelta(t, j) * Z[t], (t, 1, m)), Z[j])
# matrix notation: v has n entries, SymPy's v[k, 0] counts from 0
d.equal("vector-to-wrong-dim", v.T * v + sp.Sum(v[t, 0], (t, 0, m - 1)),
        sp.Sum(v[t, 0], (t, 0, m - 1)) + v.T * v)
d.equal("free-index-right-dim", sp.Sum(sp.KroneckerDelta(t, j) * Y[t], (t, 1, m)), Y[j])

# -- true only for small n, and planted index mistakes --------------------------------
d.equal("squares-fit-to-3", sp.Sum(t**2, (t, 1, n)),
        n * (n + 1) * (2 * n + 1) / 6 + (n - 1) * (n - 2) * (n - 3))
d.equal("piecewise-below-4", sp.Sum(sp.Piecewise((Z[t], t < 4), (0, True)), (t, 1, n)),
        sp.Sum(Z[t], (t, 1, n)))
d.equal("triangular", sp.Sum(Z[u], (u, 1, t), (t, 1, n)),
        sp.Sum((n - u + 1) * Z[u], (u, 1, n)))
d.equal("triangular-strict", sp.Sum(Z[u], (u, 1, t - 1), (t, 1, n)),
        sp.Sum((n - u + 1) * Z[u], (u, 1, n)))
d.equal("delta", sp.Sum(sp.KroneckerDelta(t, i) * Z[t], (t, 1, n)), Z[i])
d.equal("delta-short-range", sp.Sum(sp.KroneckerDelta(t, i) * Z[t], (t, 1, n - 1)), Z[i])
d.equal("reversed-pairs", sp.Sum(Z[t] * Z[n + 1 - t], (t, 1, n)),
        sp.Sum(Z[n + 1 - t] * Z[t], (t, 1, n)))
d.equal("square-of-sum", sp.Sum(Z[t], (t, 1, n)) ** 2,
        sp.Sum(Z[t] * Z[u], (t, 1, n), (u, 1, n)))
d.equal("square-of-sum-diagonal", sp.Sum(Z[t], (t, 1, n)) ** 2,
        sp.Sum(Z[t] ** 2, (t, 1, n)))
d.equal("renamed-index", sp.Sum(Z[t], (t, 1, n)), sp.Sum(Z[u], (u, 1, n)))
d.equal("count-from-2", sp.Sum(x, (t, 2, n)), (n - 1) * x)
# false at n = 1 only (an empty range is 0, n - 2 is -1): never proved
d.equal("count-from-3", sp.Sum(1, (t, 3, n)), n - 2)


def _check(cid, seed=0):
    return check_claim(d.claim(cid), lambda *_: None, seed)


def test_a_sum_past_the_declared_shape_is_never_proved():
    for cid in ("sum-to-wrong-dim", "free-index-wrong-dim", "vector-to-wrong-dim"):
        assert prove_all_sizes(d.claim(cid)) is None, cid
        verdicts = set()
        for seed in SEEDS:
            out = _check(cid, seed)
            verdicts.add(out.verdict)
            assert out.verdict in ("refuted", "verified"), (cid, seed, out.verdict)
            if out.verdict == "refuted":
                assert out.method == "shape", (cid, seed, out.message)
                assert "is outside" in out.message, out.message
                sizes = out.counterexample["sizes"]
                assert sizes["m"] > sizes["n"], sizes
            else:
                assert "not proved for every size" in out.message, out.message
        assert "refuted" in verdicts, (cid, verdicts)  # seed 0 draws m > n


def test_the_same_sums_over_the_right_dimension_are_proved():
    for cid in ("sum-to-right-dim", "free-index-right-dim"):
        for seed in (0, 1):
            out = _check(cid, seed)
            assert out.verdict == "proved", (cid, seed, out.verdict, out.message)
            assert "identity holds for every size" in out.message, out.message


def test_the_shape_guard_follows_bounds_to_the_sizes():
    t1, t2 = sp.Dummy("t1", integer=True), sp.Dummy("t2", integer=True)
    ranges = {i: (sp.S.One, n), j: (sp.S.One, m)}
    inside = [
        sp.Sum(Z[t1], (t1, 1, n - 1)) + Z[n],
        sp.Sum(Z[t1 + 1], (t1, 1, n - 1)),
        sp.Sum(Z[t2], (t2, 1, t1), (t1, 1, n)),  # triangular: t2 <= t1 <= n
        sp.Sum(Z[n + 1 - t1], (t1, 1, n)) * Z[i] + Z[1],
    ]
    outside = [
        sp.Sum(Z[t1 + 1], (t1, 1, n)),  # Z[n + 1]
        sp.Sum(Z[t1 - 1], (t1, 1, n)),  # Z[0]
        Z[j],  # j runs to m
        Z[2],  # no Z[2] at n = 1
        sp.Sum(Z[t2], (t2, 1, t1), (t1, 1, m)),
    ]
    for e in inside:
        assert entries_in_shape(e, ranges, d), e
    for e in outside:
        assert not entries_in_shape(e, ranges, d), e


def test_identities_true_only_for_small_sizes_are_refuted():
    out = _check("squares-fit-to-3")
    assert out.verdict == "refuted" and out.counterexample["sizes"]["n"] >= 4, out.message
    assert (out.counterexample["lhs"], out.counterexample["rhs"]) == ("140", "260")
    out = _check("piecewise-below-4")
    assert out.verdict == "refuted" and out.counterexample["sizes"]["n"] >= 4, out.message


def test_triangular_and_delta_sums_with_planted_mistakes():
    assert _check("triangular").verdict == "verified"
    out = _check("triangular-strict")
    assert out.verdict == "refuted", out.message
    assert _check("delta").verdict == "proved"
    out = _check("delta-short-range")  # wrong exactly at i = n
    assert out.verdict == "refuted", out.message
    assert out.counterexample["indices"]["i"] == out.counterexample["sizes"]["n"]
    assert _check("reversed-pairs").verdict == "proved"
    assert _check("square-of-sum").verdict == "proved"
    out = _check("square-of-sum-diagonal")
    assert out.verdict == "refuted", out.message
    assert _check("renamed-index").verdict == "proved"


def test_ranges_that_may_run_backwards_are_not_proved():
    assert _check("count-from-2").verdict == "proved"
    out = _check("count-from-3")
    assert out.verdict == "verified", out.message  # sizes 2, 3, 7 agree; n = 1 does not
    assert prove_all_sizes(d.claim("count-from-3")) is None
