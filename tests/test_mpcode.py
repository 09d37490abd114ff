"""The straight-line mpmath compiler of the larger-size stationary check (mpcode.py):
its values are lambdify's at the working precision, the parameter-only part it keeps
between calls never leaks into a call with other parameters or another precision, and
anything it does not know goes to lambdify."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from symderive.check.mpcode import Unsupported, compile_mp
from symderive.check.stationary_large import _compiler

x, y, a, b = sp.symbols("x y a b")
mu = sp.IndexedBase("mu")
T = sp.IndexedBase("T")

# every node kind it compiles: sums with subtracted terms, products with denominators,
# rational, negative and symbolic powers, log, exp, factorial, Indexed arguments
CASES = [
    sp.Rational(3, 7) * x * y / (a * (x + 1)) - 2 * sp.log(x) / y,
    sp.sqrt(x) + y ** -2 + x ** a + 1 / x - x + sp.exp(-x) / 3,
    x ** sp.Rational(-1, 2) - x ** sp.Rational(2, 3) / y ** sp.Rational(5, 3),
    T[1, 1] * sp.log(mu[1, 1]) + T[1, 2] * sp.log(mu[1, 2])
    + sp.log(sp.factorial(T[1, 1] + T[1, 2])) - sp.log(sp.factorial(T[1, 1])),
    -x * y, sp.Integer(5), -1 / (x * y ** 2), (x * y) ** b,
]
ARGS = [x, y, mu[1, 1], mu[1, 2], a, b, T[1, 1], T[1, 2]]
VALUES = [mpmath.mpf(3) / 7, mpmath.mpf(11) / 5, mpmath.mpf(1) / 3, mpmath.mpf(2) / 3,
          mpmath.mpf(2) / 3, mpmath.mpf(5) / 4, mpmath.mpf(4), mpmath.mpf(2)]


def _close(u, v, digits=60) -> bool:
    return abs(u - v) <= mpmath.mpf(10) ** -digits * max(1, abs(v))


def test_values_are_lambdifys_at_the_working_precision():
    mine = compile_mp(ARGS, CASES)
    ref = sp.lambdify(ARGS, CASES, modules="mpmath")
    with mpmath.workdps(70):
        got, want = mine(*VALUES), ref(*VALUES)
    assert len(got) == len(CASES)
    for g, w in zip(got, want):
        assert _close(g, w), (g, w)
    assert got[5] == 5


def test_a_single_expression_gives_a_value_not_a_list():
    with mpmath.workdps(70):
        got = compile_mp(ARGS, CASES[0])(*VALUES)
    assert isinstance(got, mpmath.mpf)


def test_held_parameters_are_recomputed_when_they_change():
    # x, y vary; the rest are parameters, their part kept between calls
    f = sum(CASES[:4], sp.S.Zero)
    held = compile_mp(ARGS, f, vary=2)
    plain = compile_mp(ARGS, f)
    with mpmath.workdps(70):
        for k in range(4):
            vals = list(VALUES)
            vals[0] += k  # a trial move
            vals[4 + k % 2] += k  # a new parameter point every other call
            vals[6] += k  # an integer count moves too: log n! changes
            assert _close(held(*vals), plain(*vals), 65)
    # the same parameters at another precision are not taken from the 70-digit call
    with mpmath.workdps(15):
        low = held(*VALUES)
    with mpmath.workdps(70):
        high = held(*VALUES)
    with mpmath.workdps(70):
        assert high == plain(*VALUES)
        assert low != high  # the 15-digit value was not reused


def test_a_planted_wrong_parameter_value_is_seen():
    # the held part must follow the parameters: a stale cache would return the old value
    f = T[1, 1] * sp.log(mu[1, 1]) + sp.log(sp.factorial(T[1, 1]))
    held = compile_mp([mu[1, 1], T[1, 1]], f, vary=1)
    with mpmath.workdps(70):
        first = held(mpmath.mpf(1) / 2, mpmath.mpf(3))
        second = held(mpmath.mpf(1) / 2, mpmath.mpf(4))
        assert first != second
        assert _close(second, 4 * mpmath.log(mpmath.mpf(1) / 2) + mpmath.log(24))


def test_unknown_nodes_raise_and_the_compiler_falls_back():
    for e in (sp.Abs(x), sp.Piecewise((x, x > 0), (y, True)), sp.pi * x, sp.Float(1.5) * x):
        with pytest.raises(Unsupported):
            compile_mp([x, y], e)
    fn = _compiler([x, y])(sp.Abs(x) + sp.pi * y)  # lambdify's, same values
    with mpmath.workdps(30):
        assert _close(fn(mpmath.mpf(-2), mpmath.mpf(1)), 2 + mpmath.pi, 25)


def test_a_free_symbol_that_is_no_argument_is_not_compiled():
    with pytest.raises(Unsupported):
        compile_mp([x], x + y)
    with pytest.raises(Unsupported):
        compile_mp([x, x], x)


# -- end to end: the larger-size better-point search on a compiled, held objective --------
def test_larger_size_search_finds_the_other_hill_with_a_held_factor():
    from symderive import POSITIVE, Derivation
    from symderive.check.stationary_large import Large

    d = Derivation("mpcode_hills")
    n = d.dim("n")
    i = d.index("i", n)
    z = d.tensor("z", (n,))
    c = d.scalar("c", POSITIVE)
    # log(c) depends on the parameter alone: held between trials, never between points
    f = sp.Sum(sp.log(c) * (-z[i] ** 4 / 4 + z[i] ** 3 / 3 + z[i] ** 2), (i, 1, n))
    low = Large.build(d.stationary("low-hill", f, [z[i]], {z[i]: -1}), {n: 6})
    high = Large.build(d.stationary("high-hill", f, [z[i]], {z[i]: 2}), {n: 6})
    for value in (3, 5, 3):
        out = low.check({c: sp.Integer(value)})
        assert out is not None and out.method == "global maximum", out
        assert high.check({c: sp.Integer(value)}) is None
    # log(1/2) < 0 turns the high hill into a valley: the held factor must follow c
    flipped = high.check({c: sp.Rational(1, 2)})
    assert flipped is not None and flipped.method == "second-order condition", flipped
