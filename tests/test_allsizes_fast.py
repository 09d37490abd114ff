"""The all-size prover's fast paths (Sigma sums, remembered normal forms and helpers) prove
nothing false: for each one, the false claim a buggy cache or rewrite would prove."""

import sympy as sp

from symderive import Derivation
from symderive.check.allsizes import prove_all_sizes
from symderive.check.allsizes.sigma import Sigma
from symderive.check.allsizes.zero import ZeroTest

d = Derivation("allsizes-fast", source="tests")
n = d.dim("n")
m = d.dim("m")
i = d.index("i", n)
j = d.index("j", n)
v = d.tensor("v", (n,))


def proved(lhs, rhs, der=d) -> bool:
    return prove_all_sizes(der.equal(f"c{len(der.claims)}", lhs, rhs)) is not None


def never_binary(entry) -> bool:
    return False


def test_sigma_free_symbols_and_derivative_match_sum():
    k = sp.Dummy("k", integer=True)
    s = Sigma(v[k] * v[i], (k, 1, n))
    assert s.free_symbols == sp.Sum(v[k] * v[i], (k, 1, n)).free_symbols
    assert k not in s.free_symbols and i in s.free_symbols and n in s.free_symbols
    assert sp.diff(s, v[j]) == Sigma(sp.diff(v[k] * v[i], v[j]), (k, 1, n))
    # not differentiable in its length: left unevaluated, and the prover then gives up
    assert isinstance(sp.diff(Sigma(v[k], (k, 1, n)), n), sp.Derivative)


def test_a_sum_of_squares_is_not_the_square_of_the_sum():
    # a factor that depends on the variable must stay inside the sum
    assert proved(sp.Sum(v[i] * sp.Sum(v[j], (j, 1, n)), (i, 1, n)),
                  sp.Sum(v[i], (i, 1, n)) ** 2)
    assert not proved(sp.Sum(v[i] ** 2, (i, 1, n)), sp.Sum(v[i], (i, 1, n)) ** 2)


def test_shadowed_variables_keep_their_binding():
    inner = sp.Sum(v[i], (i, 1, n))
    # the inner i is bound by the inner sum: the outer sum counts n copies
    assert proved(sp.Sum(inner, (i, 1, n)), n * inner)
    assert not proved(sp.Sum(inner, (i, 1, n)), inner)
    assert proved(sp.Sum(v[i] * inner, (i, 1, n)), inner ** 2)


def test_a_bound_depending_on_an_outer_variable_is_renamed_with_it():
    # Sum(f, (j, 1, i), (i, 1, n)): the inner bound i is the outer variable, not the free
    # index i; read as the free i, the sum would be n * i and this would be "proved"
    assert not proved(sp.Sum(1, (j, 1, i), (i, 1, n)), n * i)
    # dependent sums do not commute: sum_{i<=n} sum_{j<=i} v[j] != sum_j sum_i v[j]
    assert not proved(sp.Sum(v[j], (j, 1, i), (i, 1, n)),
                      sp.Sum(v[j], (i, 1, n), (j, 1, n)))


def test_the_same_expression_under_another_range_is_not_remembered_as_proved():
    # two derivations, the same symbols a and n, a declared over n in one and over m in
    # the other: a normal form remembered without the ranges would collapse the delta
    e1, e2 = Derivation("r1", source="tests"), Derivation("r2", source="tests")
    n1 = e1.dim("n")
    e1.dim("m")
    n2, m2 = e2.dim("n"), e2.dim("m")
    a1, a2 = e1.index("a", n1), e2.index("a", m2)
    i1, i2 = e1.index("i", n1), e2.index("i", n2)
    w1, w2 = e1.tensor("w", (n1,)), e2.tensor("w", (n2,))
    lhs1 = sp.Sum(sp.KroneckerDelta(i1, a1) * w1[i1], (i1, 1, n1))
    lhs2 = sp.Sum(sp.KroneckerDelta(i2, a2) * w2[i2], (i2, 1, n2))
    assert lhs1 == lhs2  # the same SymPy expression ...
    assert proved(lhs1, w1[a1], e1)
    assert not proved(lhs2, w2[a2], e2)  # ... but a may exceed n here


def test_dummies_that_print_alike_are_different_indices():
    k1, k2 = sp.Dummy("k", integer=True), sp.Dummy("k", integer=True)
    assert str(k1) == str(k2)
    test = ZeroTest({k1: (sp.S.One, n), k2: (sp.S.One, n)}, never_binary)
    assert test.zero(v[k1] - v[k1])
    assert not test.zero(v[k1] - v[k2])
    b = sp.Dummy("b", integer=True)
    delta = Sigma(sp.KroneckerDelta(b, k1) * v[b], (b, 1, n))
    assert test.zero(delta - v[k1])
    # k2 over m: the same-looking delta must not collapse from a remembered result
    other = ZeroTest({k1: (sp.S.One, n), k2: (sp.S.One, m)}, never_binary)
    assert not other.zero(delta.xreplace({k1: k2}) - v[k2])
    # the very same expression, k1 now over m: its remembered normal form does not apply
    assert not ZeroTest({k1: (sp.S.One, m)}, never_binary).zero(delta - v[k1])


def test_a_range_that_may_run_backwards_is_not_rewritten_from_memory():
    a = sp.Symbol("a", integer=True)
    b = sp.Dummy("b", integer=True)
    count = Sigma(sp.S.One, (b, 1, a))
    # a >= 1: the count is a
    assert ZeroTest({a: (sp.S.One, n)}, never_binary).zero(count - a)
    # a may be -5: the walkers' empty range gives 0, not a
    assert not ZeroTest({a: (sp.Integer(-5), n)}, never_binary).zero(count - a)
    assert not ZeroTest({}, never_binary).zero(count - a)


def test_symbols_with_other_assumptions_are_other_keys():
    x = sp.Symbol("x", real=True)
    xp = sp.Symbol("x", positive=True)
    assert str(x) == str(xp) and x != xp
    test = ZeroTest({}, never_binary)
    assert test.zero(sp.sqrt(xp ** 2) - xp)
    assert not test.zero(sp.sqrt(x ** 2) - x)
