"""The exact prover's shortcuts (issue 10, speed): each gives what it replaces."""

from __future__ import annotations

import sympy as sp

from symderive.check.allsizes.sigma import Sigma
from symderive.check.prove import _exp_denominator, atomize, distinct_nodes, is_zero

x, y = sp.symbols("x y", real=True)
V = sp.IndexedBase("V", real=True)
k = sp.Dummy("k", integer=True)
n = sp.Symbol("n", integer=True, positive=True)


def test_distinct_nodes_are_preorder_without_repeats():
    shared = sp.exp(x / 3 + V[1]) * (1 + y) ** 2
    exprs = [
        shared + shared ** 2 * sp.log(shared) - sp.sqrt(shared + x),
        Sigma(V[k] * sp.exp(V[k] / 2), (k, 1, n)) * shared + sp.exp(y / 5),
        sp.Integer(3),
    ]
    for e in exprs:
        assert distinct_nodes(e) == list(dict.fromkeys(sp.preorder_traversal(e)))


def test_exponent_denominators_inside_repeated_subtrees_are_seen():
    # exp(x/3) occurs only inside a subtree that also occurs elsewhere
    shared = sp.log(1 + sp.exp(x / 3))
    assert _exp_denominator(shared * y + shared ** 2 + sp.exp(y / 2)) == 6


def test_an_atomized_polynomial_is_the_polynomial_itself():
    p = (x + 2 * y) ** 3 - x * y
    assert atomize(p) is p
    mixed = p * sp.exp(x) + p
    assert atomize(mixed).has(p) and not atomize(mixed).has(sp.exp)


def test_false_identities_with_shared_subtrees_stay_unproved():
    # sqrt(s)**2 = s and exp(s/2)**2 = exp(s/3)**3 are true; s**2 = s and
    # exp(s/2)**3 = exp(s/3)**3 are false (s = 2)
    s = 1 + sp.exp(x / 3) ** 2
    assert is_zero(sp.sqrt(s) ** 2 - s, use_simplify=False) is True
    assert is_zero(s ** 2 - s + (s - s ** 2), use_simplify=False) is True
    assert is_zero(s ** 2 - s, use_simplify=False) is None
    assert is_zero(sp.exp(s / 2) ** 2 - sp.exp(s / 3) ** 3, use_simplify=False) is True
    assert is_zero(sp.exp(s / 2) ** 3 - sp.exp(s / 3) ** 3, use_simplify=False) is None


# -- the rational zero test by polynomial arithmetic (symderive.check.rational) --------
def _by_sympy(e) -> bool:
    num, _ = sp.fraction(sp.together(e))
    return sp.expand(num) == 0


def test_the_numerator_test_decides_as_together_and_expand():
    from symderive.check.rational import numerator_vanishes
    z = sp.Symbol("z", positive=True)
    exprs = [
        x / (x + 1) - x / (x + 2),
        1 / (x + y) - 1 / (y + x),
        (x + y) ** 2 / (x * y) - x / y - y / x - 2,
        (x + y) ** 2 / (x * y) - x / y - y / x - 1,
        (1 / (x + 1)) ** -2 - (x + 1) ** 2,
        (1 / (x + 1)) ** -2 - (x + 1),
        V[1] / (V[1] * V[2] - V[2]) - V[1] / (V[2] * (V[1] - 1)),
        (z / (2 * x + 2) - z / (2 * (x + 1))) * (x + y) ** 3,
        sp.Rational(3, 7) * V[k] ** -3 * (V[k] + 1) - sp.Rational(3, 7) / V[k] ** 2
        - sp.Rational(3, 7) / V[k] ** 3,
    ]
    for e in exprs:
        assert numerator_vanishes(e) == _by_sympy(e), e


def test_false_identities_the_numerator_test_must_not_prove():
    # each false at a witness; a test that added numerators over different denominators,
    # dropped a denominator's power, or read I, zoo or pi as a free variable would prove it
    from symderive.check.prove import _rational_zero
    false = [
        (1 / x - 1 / y, {x: 1, y: 2}),
        (1 / x ** 2 - 1 / x, {x: 2}),
        (x / (x + 1) ** 2 - x / (x + 1), {x: 1}),
        ((x + 1) / (x * y) - 1 / y - 1 / (x * y) - 1, {x: 1, y: 1}),
        (sp.I * x * sp.I * y - x * y, {x: 1, y: 1}),
    ]
    for e, at in false:
        assert e.subs(at) != 0
        assert _rational_zero(e) is False, e
    assert _rational_zero(sp.zoo * x - sp.zoo * x) is False  # nan, not 0
    assert _rational_zero(sp.I * x * sp.I * y + x * y) is True  # I**2 = -1 (SymPy's path)
    assert _rational_zero(sp.pi * x / (sp.pi * y) - x / y) is True


# -- integrals remembered, constant factors taken out (prove._integrated) -------------
def test_remembered_integrals_keep_their_sign_limits_and_factor():
    from symderive.check.prove import _integral
    t, u = sp.Dummy("t", positive=True), sp.Dummy("u", positive=True)
    f = t * sp.log(1 + t)
    g = f.xreplace({t: u})  # the same integral in another variable: not combined
    _integral.cache_clear()
    assert is_zero(sp.Integral(-f, (t, 0, 1)) + sp.Integral(g, (u, 0, 1))) is True
    assert _integral.cache_info().currsize == 2  # two integrals, each once
    assert is_zero(sp.Integral(3 * f, (t, 0, 1)) - 3 * sp.Integral(g, (u, 0, 1))) is True
    assert _integral.cache_info().hits == 2
    # false, each: a sign, a factor or the limits lost on the way to the memo
    false = [
        sp.Integral(-f, (t, 0, 1)) - sp.Integral(g, (u, 0, 1)),
        sp.Integral(3 * f, (t, 0, 1)) - 2 * sp.Integral(g, (u, 0, 1)),
        sp.Integral(-f, (t, 0, 2)) + sp.Integral(g, (u, 0, 1)),
        x * sp.Integral(-f, (t, 0, 1)) + sp.Integral(g, (u, 0, 1)),
    ]
    for e in false:
        assert e.doit().subs(x, 2) != 0
        assert is_zero(e) is None, e


def test_numbers_that_are_not_rational_are_left_to_sympy():
    from symderive.check.prove import _rational_zero
    for e, zero in [(sp.exp(2) * x - x * sp.exp(2), True), (sp.exp(2) * x - x, False),
                    (sp.nan * x, False), (sp.pi * x - x, False),
                    (sp.exp(x) * sp.exp(2) - sp.exp(x + 2), True)]:
        assert _rational_zero(e) is zero, e
