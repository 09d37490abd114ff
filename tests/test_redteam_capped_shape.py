"""Red team: an entry outside a declared shape at a size too costly to evaluate.

Until 30 Nov 2026 a claim naming Z[j, i] for Z[i, j] (Z declared n x m) was refuted with
method ``shape`` only when the walk reached that entry.  When the claim was costly, the
walk stopped at its work limit first at the larger sizes (the only ones where n != m),
and the fallback sizes (6 everywhere, then the declared 2, 2 and 3, 3) cannot show the
swap: the claim below was ``verified`` ("symbolic, proved at 1 size").  A capped size
is now read statically (``check/index_ranges.py``) before it is given up.
"""

import pytest
import sympy as sp

from symderive import Derivation
from symderive.check import check_claim
from symderive.check.index_ranges import outside_shape

d = Derivation("redteam_capped_shape", source="tests")
n, m = d.dim("n"), d.dim("m")
i, a = d.index("i", n), d.index("a", n)
j, b = d.index("j", m), d.index("b", m)
Z = d.tensor("Z", (n, m))
body = sum((Z[a, b] + k) ** 2 for k in range(16))  # costly: past the work limit at 6, 7
limits = ((i, 1, n), (j, 1, m), (a, 1, n), (b, 1, m))
d.equal("swapped", sp.Sum(Z[i, j] * body, *limits), sp.Sum(Z[j, i] * body, *limits))
d.equal("control", sp.Sum(Z[i, j] * body, *limits),
        sp.Sum(Z[i, j], (i, 1, n), (j, 1, m)) * sp.Sum(body, (a, 1, n), (b, 1, m)))


@pytest.mark.parametrize("seed", range(4))
def test_a_swapped_index_past_the_work_limit_is_refuted_by_shape(seed):
    out = check_claim(d.claim("swapped"), lambda *_: None, seed)
    assert out.verdict == "refuted", (seed, out.verdict, out.message)
    assert out.method == "shape"
    assert "is outside Z's declared shape n x m" in out.message
    sizes = out.counterexample["sizes"]
    assert sizes["n"] != sizes["m"]


def test_the_costly_control_is_not_refuted():
    out = check_claim(d.claim("control"), lambda *_: None, 0)
    assert out.verdict in ("proved", "verified"), out.message


def _outside(lhs, rhs, sizes):
    e = Derivation("ranges", source="tests")
    e.dims, e.indices, e.vars = d.dims, d.indices, d.vars
    e.equal("c", lhs, rhs)
    return outside_shape(e.claim("c"), sizes)


SIZES = {n: 6, m: 7}


def test_the_static_reading_names_the_entry_the_walk_would():
    found = _outside(sp.Sum(Z[j, i], (i, 1, n), (j, 1, m)), 0, SIZES)
    assert str(found) == "Z[7, 1] is outside Z's declared shape n x m"
    found = _outside(sp.exp(sp.Sum(Z[i + 1, j], (i, 1, n), (j, 1, m))), 0, SIZES)
    assert str(found) == "Z[7, 1] is outside Z's declared shape n x m"
    found = _outside(Z[i, j] * Z[j, j], 0, SIZES)  # free indices run over their ranges
    assert str(found) == "Z[7, 7] is outside Z's declared shape n x m"


def test_the_static_reading_names_nothing_the_walk_may_not_visit():
    guarded = sp.Piecewise((Z[j, i], sp.Le(j, n)), (0, True))
    assert _outside(sp.Sum(guarded, (i, 1, n), (j, 1, m)), 0, SIZES) is None
    triangular = sp.Sum(Z[j, i], (j, 1, i), (i, 1, n))  # j <= i <= n: inside the shape
    assert _outside(triangular, 0, SIZES) is None
    empty = sp.Sum(Z[j, i], (i, 1, n), (j, 8, m))  # never evaluated
    assert _outside(empty, 0, SIZES) is None
    assert _outside(sp.Sum(Z[i, j], (i, 1, n), (j, 1, m)), 0, SIZES) is None
    assert _outside(sp.Sum(Z[j, i], (i, 1, n), (j, 1, m)), 0, {n: 6, m: 6}) is None
