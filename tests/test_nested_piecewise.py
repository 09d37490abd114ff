"""Nested integrals over the plane whose inner level is closed only on a condition
(moments of a correlated bivariate normal, tests/nested_piecewise.py): a Gaussian moment
by completing the square on a > 0 (symderive/gaussian_level.py), over a half line
SymPy's Piecewise on arg conditions; either is evaluated branch by branch at each node
(symderive/piecewise_level.py) and checked against quadrature at every point.  The true
claims are verified within the default budget, planted mistakes refuted.  On main these
claims ended `undecided` (a quadrature at every node).

Each claim's sampling is run once, in this process, and the tests share the outcomes
(:func:`checked`); E[x²y] alone is also checked as `symderive check` runs it (a worker,
the exact attempt first, the default CPU budget)."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from nested_piecewise import d as PIECEWISE

from symderive.check.equality import _sampling_configs, numeric_phase
from symderive.check.plan import claim_rng
from symderive.config import DEFAULT_TIMEOUT
from symderive.gaussian_level import gaussian_line
from symderive.piecewise_level import (
    _exact,
    _partial,
    _truth,
    guarded_level,
    recording,
    state_branches,
)
from symderive.quadrature import recording as quad_recording
from symderive.quadrature import reliable_quad, state_precision
from symderive.testing import results

TRUE = ["exy", "ex2y"]
#: sign flip, swapped symbol, missing factor, wrong mean (Gaussian route), and an inner
#: range (0, oo) instead of the line (SymPy's Piecewise route)
WRONG = ["ex2y-sign", "ex2y-swapped", "ex2y-factor", "ex2y-mean", "exy-half-line"]
GAUSSIAN = "the closed form by completing the square (a Gaussian moment) over x"


def _sampled(name: str, seed: int = 0):
    """The sampling verdict, as `symderive check` states it (the exact attempt, which
    only costs seconds here, is left to the worker test below)."""
    claim = PIECEWISE.claim(name)
    rng = claim_rng(seed)
    configs, notes = _sampling_configs(claim, rng)
    with quad_recording() as log, recording() as branches:
        out = numeric_phase(claim, configs, rng, seed, notes)
    return state_branches(state_precision(out, log, claim.lhs, claim.rhs), branches)


@pytest.fixture(scope="module")
def checked():
    return {name: _sampled(name) for name in TRUE + WRONG}


def test_the_shifted_moment_is_verified_within_the_default_budget_in_a_worker():
    """As `symderive check` runs it; on main it ended `undecided`, budget exhausted."""
    got = results([PIECEWISE.claim("ex2y")], timeout=DEFAULT_TIMEOUT)["ex2y"]
    assert got.verdict == "verified", got.message
    assert "completing the square" in got.message


@pytest.mark.parametrize("name", TRUE)
def test_a_true_bivariate_normal_moment_is_verified_with_its_route_stated(checked, name):
    out = checked[name]
    assert out.verdict == "verified", out.message
    assert "tanh-sinh quadrature at 45 digits" in out.message
    assert f"{GAUSSIAN} is a Piecewise: at each node the first branch whose condition " \
        "is exactly True there" in out.message
    assert "integrated in closed form by SymPy or by completing the square (over x" \
        in out.message
    assert "each level checked at every point" in out.message
    assert "the level below by quadrature elsewhere (0 node(s))" in out.message
    assert out.evidence.digits == 45


@pytest.mark.parametrize("name", WRONG)
def test_a_planted_mistake_in_a_bivariate_normal_moment_is_refuted(checked, name):
    out = checked[name]
    assert out.verdict == "refuted", out.message
    assert "1 of 1 entries differ" in out.message
    route = "SymPy's closed form over x" if name == "exy-half-line" else GAUSSIAN
    assert f"{route} is a Piecewise" in out.message


def test_completing_the_square_gives_the_exact_moment_on_its_condition():
    """∫ x² e^(-a x² + b x) dx over the line is √π (2a + b²) e^(b²/4a) / (4 a^(5/2)) where
    a > 0 (undecided for a symbol a: a Piecewise, the integral itself otherwise); not a
    Gaussian moment (x³ in the exponent, a half line, a > 0 certain) gives None."""
    x = sp.Symbol("x", real=True)
    a, b = sp.symbols("a b", real=True)
    got = gaussian_line(x**2 * sp.exp(-a * x**2 + b * x), (x, -sp.oo, sp.oo))
    (value, cond), (rest, other) = got.args
    want = sp.sqrt(sp.pi) * (2 * a + b**2) * sp.exp(b**2 / (4 * a)) / (4 * a**sp.Rational(5, 2))
    at = {a: sp.Rational(3, 2), b: sp.Rational(-1, 3)}
    assert abs(sp.N((value - want).subs(at), 50)) < 1e-45
    assert cond == (a > 0) and other == sp.true and isinstance(rest, sp.Integral)
    assert gaussian_line(sp.exp(-x**3), (x, -sp.oo, sp.oo)) is None
    assert gaussian_line(sp.exp(-a * x**2), (x, 0, sp.oo)) is None
    assert gaussian_line(sp.exp(-x**2), (x, -sp.oo, sp.oo)) is None  # SymPy's own


def test_a_condition_is_decided_exactly_with_three_valued_logic():
    """arg(0) is undefined: a disjunct holding it is undecided, but another true
    disjunct still decides the Or; a condition left on the node's variable is decided
    at the node, exactly (y = 0 undecided, y < 0 false)."""
    rho, y = sp.symbols("rho y", real=True)
    cond = sp.Or(sp.Abs(sp.arg(1 - rho**2)) < sp.pi / 2,
                 sp.Abs(2 * sp.arg(rho) + 2 * sp.arg(y)) < sp.pi)
    assert _partial(cond, {rho: sp.Integer(0)}) is True
    assert _partial(cond, {rho: sp.Integer(2)}) is not True  # arg(-3) = pi: left on y
    tree = _partial(sp.Abs(sp.arg(y)) < sp.pi / 2, {rho: sp.Integer(0)})
    assert _truth(tree, {y: sp.Rational(1, 2)}) is True
    assert _truth(tree, {y: sp.Rational(-1, 2)}) is False
    assert _truth(tree, {y: sp.Integer(0)}) is None
    assert _partial(sp.And(sp.arg(rho) < 1, rho > 5), {rho: sp.Integer(0)}) is False


def test_a_branch_is_used_only_where_its_condition_holds_at_the_node():
    """A level Piecewise((2 sqrt(pi), y > 0), (Integral, True)) of ∫ e^(-(x-y)²) dx
    (sqrt(pi) for every y; the branch is planted wrong, to see where it is used): at
    y = 1/2 the branch is taken, at y = -1/2 and y = 0 (condition False) the level
    below is integrated numerically there."""
    x, y = sp.symbols("x y", real=True)
    below = sp.exp(-(x - y) ** 2)
    value = sp.Piecewise((2 * sp.sqrt(sp.pi), y > 0),
                         (sp.Integral(below, (x, -sp.oo, sp.oo)), True), evaluate=False)
    level = guarded_level(value, below, (x, -sp.oo, sp.oo), [y], {y}, quad=reliable_quad)
    impl = level.func._imp_
    with mpmath.workdps(45), recording() as log:
        root = mpmath.sqrt(mpmath.pi)
        assert abs(impl(mpmath.mpf(1) / 2) - 2 * root) < mpmath.mpf(10) ** -40
        assert abs(impl(-mpmath.mpf(1) / 2) - root) < mpmath.mpf(10) ** -40
        assert abs(impl(mpmath.mpf(0)) - root) < mpmath.mpf(10) ** -40
    assert (log.by_branch, log.by_quadrature) == (1, 2)
    assert log.levels == {"SymPy's closed form over x"}


def test_a_node_is_converted_exactly_with_its_sign():
    with mpmath.workdps(45):
        assert _exact(-mpmath.mpf(1) / 2) == sp.Rational(-1, 2)
        assert _exact(mpmath.mpf(3) / 4) == sp.Rational(3, 4)
        assert _exact(mpmath.mpf(0)) == 0
        assert _exact(mpmath.inf) is None
