"""Red team for the larger sampled sizes: no two dimensions of the same size.

Until 30 Nov 2026 each dimension's larger size was drawn on its own from {6, 7}, so two
dimensions were equal half the time, and the small declared sizes (2, 2 then 3, 3) are
always equal.  A claim true only when n = m was then ``verified`` for some seeds (seed 0
among them), and a true least-squares minimiser, which needs m >= n, was ``refuted`` for
others (seed 5: n = 7 columns, m = 6 rows, X^T X singular).
"""

import random

import pytest
import sympy as sp

from symderive import Derivation
from symderive.check import check_claim
from symderive.check.plan import MIN_TOP_SIZE, top_sizes
from symderive.loader import import_file

SEEDS = range(10)

d = Derivation("redteam_sizes", source="tests")
n, m = d.dim("n"), d.dim("m")
i, j = d.index("i", n), d.index("j", m)
Z = d.tensor("Z", (n, m))
total = sp.Sum(Z[i, j], (j, 1, m), (i, 1, n))
# true only when n = m (or the entries sum to 0)
d.equal("n-for-m", n * total, m * total)
# true only when n = m: the row count where the column count was meant
d.equal("rows-for-cols", sp.Sum(sp.Sum(1, (j, 1, m)), (i, 1, n)), n**2)
# true for every size: the control
d.equal("count", sp.Sum(sp.Sum(1, (j, 1, m)), (i, 1, n)), n * m)


def _check(claim, seed):
    return check_claim(claim, lambda *_: None, seed)


@pytest.mark.parametrize("cid", ["n-for-m", "rows-for-cols"])
def test_claims_true_only_for_equal_sizes_are_refuted_for_every_seed(cid):
    for seed in SEEDS:
        out = _check(d.claim(cid), seed)
        assert out.verdict == "refuted", (cid, seed, out.verdict, out.message)
        sizes = out.counterexample["sizes"]
        assert sizes["n"] != sizes["m"], (cid, seed, sizes)


def test_the_control_holds_for_every_seed():
    for seed in SEEDS:
        assert _check(d.claim("count"), seed).verdict in ("proved", "verified")


def test_larger_sizes_are_distinct_and_keep_declared_orders():
    dims = [sp.Symbol(s) for s in "abcd"]
    a, b, c, e = dims
    configs = [{a: 1, b: 2, c: 2, e: 2}, {a: 2, b: 3, c: 3, e: 3}]  # a < b, c, e always
    seen = set()
    for seed in range(40):
        top = top_sizes(dims, random.Random(seed), configs)
        assert sorted(top.values()) == list(range(MIN_TOP_SIZE, MIN_TOP_SIZE + 4)), top
        assert top[a] == MIN_TOP_SIZE, top  # smaller than the rest in every config
        seen.add(tuple(top[k] for k in (b, c, e)))
    assert len(seen) == 6  # the others in every order
    one = {top_sizes([a], random.Random(seed))[a] for seed in range(40)}
    assert one == {MIN_TOP_SIZE, MIN_TOP_SIZE + 1}


@pytest.mark.parametrize("seed", [0, 5])
def test_least_squares_minimiser_holds_for_seeds_that_drew_more_columns_than_rows(seed):
    # normal-eq declares n < m (columns < rows): the larger size keeps it
    claim = import_file("derivations/matrix_calculus.py").derivation.claim("normal-eq")
    out = _check(claim, seed)
    assert out.verdict == "verified", (seed, out.verdict, out.message)


# an index over the wrong dimension: Z[j, l] for Z[l, j] (Z is n x m); at n = m it is
# well-formed and true, at distinct sizes it names entries Z does not have
_l = d.index("l", n)
_k = d.index("k", m)
_lse = sp.log(sp.Sum(sp.exp(Z[i, _k]), (_k, 1, m)))
_swapped = sp.log(sp.Sum(sp.exp(Z[j, _l]), (_l, 1, n)))
d.equal("index-swapped", sp.Sum(sp.Sum(Z[i, j] - _lse, (j, 1, m)), (i, 1, n)),
        sp.Sum(sp.Sum(Z[i, j] - _swapped, (j, 1, m)), (i, 1, n)))
d.equal("index-right", sp.Sum(sp.Sum(Z[i, j] - _lse, (j, 1, m)), (i, 1, n)),
        sp.Sum(sp.Sum(Z[i, j], (j, 1, m)) - m * _lse, (i, 1, n)))


def test_an_index_over_the_wrong_dimension_is_refuted_by_shape_for_every_seed():
    for seed in SEEDS:
        out = _check(d.claim("index-swapped"), seed)
        assert out.verdict == "refuted" and out.method == "shape", (seed, out.verdict,
                                                                   out.message)
        assert "is outside Z's declared shape n x m" in out.message, out.message
        assert "(line " in out.message, out.message  # where the claim is written
        sizes = out.counterexample["sizes"]
        assert sizes["n"] != sizes["m"], sizes
    assert _check(d.claim("index-right"), 0).verdict in ("proved", "verified")
