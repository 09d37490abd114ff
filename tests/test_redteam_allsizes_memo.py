"""Red team for the prover's remembered translations (issue 10, speed).

``IndexForm`` remembers each translation for the derivation's other claims, keyed on
the expression, the entry (r, c), the held definitions and the derivation's names.  A
careless key (one that ignored the entry or the held definitions) would hand a claim the
translation of another expression, and prove false claims: each is checked here after
the memory has been filled by a true claim (and shown false at a witness first).
"""

from __future__ import annotations

import sympy as sp

from symderive import D, Derivation
from symderive.check.allsizes import prove_all_sizes
from symderive.check.allsizes.index_form import IndexForm

d = Derivation("redteam_allsizes_memo")
n = d.dim("n")
i = d.index("i", n)
a = d.index("a", n)
v = d.tensor("v", (n,))
# n + 1 rows and columns: the entries A[0, 1] and A[1, 0] named below exist at every size
# (the prover proves nothing about an entry that is missing at some size, README step 9)
A = d.matrix("A", n + 1, n + 1)
q = d.define("q", sp.Sum(v[i] ** 2, (i, 1, n)))
L = d.define("L", q ** 2)


def test_another_entry_is_not_remembered_as_this_one():
    # entry (c, r) of A is not entry (r, c): A = A^T is false (A = [[0, 1], [0, 0]])
    assert sp.Matrix([[0, 1], [0, 0]]) != sp.Matrix([[0, 1], [0, 0]]).T
    warm = d.equal("sym-sum", A + A.T, A.T + A)
    assert prove_all_sizes(warm) is not None  # fills the memory with A's entries
    assert prove_all_sizes(d.equal("transpose", A, A.T)) is None
    # the same row, another column: A[1, 2] = A[1, 1] is false (A = I)
    assert prove_all_sizes(d.equal("row", A[0, 1] + A[0, 0], A[0, 0] + A[0, 1])) is not None
    assert prove_all_sizes(d.equal("column", A[0, 1], A[0, 0])) is None
    assert prove_all_sizes(d.equal("row-1", A[1, 0], A[0, 0])) is None


def test_a_held_definition_is_part_of_the_key():
    # with q held fixed L = q^2 does not depend on v; without, dL/dv[a] = 4 q v[a]
    assert (4 * sp.Symbol("q") * sp.Symbol("v1")).subs({"q": 1, "v1": 1}) != 0
    held = d.equal("held", D(L, v[a], holding=[q]), sp.S.Zero)
    assert prove_all_sizes(held) is not None  # L translated with q as a placeholder
    assert prove_all_sizes(d.equal("not-held", D(L, v[a]), sp.S.Zero)) is None
    full = d.equal("chain", D(L, v[a]), 4 * q * v[a])
    assert prove_all_sizes(full) is not None


def test_the_memory_is_emptied_when_the_derivation_gains_a_name():
    e = Derivation("memo_state")
    m = e.dim("m")
    form = IndexForm(e)
    z = sp.Symbol("z")
    assert form.expand(2 * z) == 2 * z  # an undeclared symbol stands for itself
    assert form._memo
    e.define("z", m + 1)
    fresh = IndexForm(e)
    assert not fresh._memo
    assert fresh.expand(2 * z) == 2 * m + 2
