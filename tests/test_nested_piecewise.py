"""Nested integrals over the plane whose inner level SymPy closes only as a Piecewise on
convergence conditions (moments of a correlated bivariate normal): the level is
evaluated branch by branch at each node (symderive/piecewise_level.py), spot-checked
against quadrature at every point; the true claims are verified, planted mistakes
refuted.  On main these claims ended `undecided` (a quadrature at every node)."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from nested_piecewise import d as PIECEWISE

from symderive.check.equality import _sampling_configs, numeric_phase
from symderive.check.plan import claim_rng
from symderive.config import DEFAULT_TIMEOUT
from symderive.piecewise_level import _partial, _truth, recording, state_branches
from symderive.quadrature import recording as quad_recording
from symderive.quadrature import state_precision
from symderive.testing import results

TRUE = ["exy", "ex2y", "mass"]
WRONG = ["exy-factor", "exy-square", "exy-sign", "exy-no-2pi", "exy-no-sqrt",
         "exy-half-line", "ex2y-swapped", "ex2y-factor"]


def _sampled(name: str, seed: int = 0):
    """The sampling verdict, as `symderive check` states it (the exact proof is not
    tried: SymPy's attempt at the double integral only costs seconds)."""
    claim = PIECEWISE.claim(name)
    rng = claim_rng(seed)
    configs, notes = _sampling_configs(claim, rng)
    with quad_recording() as log, recording() as branches:
        out = numeric_phase(claim, configs, rng, seed, notes)
    return state_branches(state_precision(out, log, claim.lhs, claim.rhs), branches)


@pytest.mark.parametrize("name", TRUE)
def test_a_true_bivariate_normal_moment_is_verified_with_its_route_stated(name):
    out = _sampled(name)
    assert out.verdict == "verified", out.message
    assert "tanh-sinh quadrature at 45 digits" in out.message
    assert "SymPy's closed form over x is a Piecewise: at each node the first branch " \
        "whose condition is exactly True there" in out.message
    assert "each level checked at every point" in out.message
    assert out.evidence.digits == 45


@pytest.mark.parametrize("name", WRONG)
def test_a_planted_mistake_in_a_bivariate_normal_moment_is_refuted(name):
    out = _sampled(name)
    assert out.verdict == "refuted", out.message
    assert "1 of 1 entries differ" in out.message
    assert "is a Piecewise" in out.message


def test_decided_within_the_default_budget_in_a_worker():
    """As `symderive check` runs them (one worker per claim, the default CPU budget);
    on main both ended `undecided`, budget exhausted."""
    names = ["exy", "exy-factor"]
    got = results([PIECEWISE.claim(n) for n in names], timeout=DEFAULT_TIMEOUT)
    assert {n: got[n].verdict for n in names} == {"exy": "verified",
                                                  "exy-factor": "refuted"}, \
        {n: got[n].message for n in names}


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
    from symderive.piecewise_level import guarded_level

    x, y = sp.symbols("x y", real=True)
    below = sp.exp(-(x - y) ** 2)
    value = sp.Piecewise((2 * sp.sqrt(sp.pi), y > 0),
                         (sp.Integral(below, (x, -sp.oo, sp.oo)), True), evaluate=False)
    level = guarded_level(value, below, (x, -sp.oo, sp.oo), [y], {y})
    impl = level.func._imp_
    with mpmath.workdps(45), recording() as log:
        root = mpmath.sqrt(mpmath.pi)
        assert abs(impl(mpmath.mpf(1) / 2) - 2 * root) < mpmath.mpf(10) ** -40
        assert abs(impl(-mpmath.mpf(1) / 2) - root) < mpmath.mpf(10) ** -40
        assert abs(impl(mpmath.mpf(0)) - root) < mpmath.mpf(10) ** -40
    assert (log.by_branch, log.by_quadrature) == (1, 2)
    assert log.levels == {"x"}


def test_a_node_is_converted_exactly_with_its_sign():
    from symderive.piecewise_level import _exact

    with mpmath.workdps(45):
        assert _exact(-mpmath.mpf(1) / 2) == sp.Rational(-1, 2)
        assert _exact(mpmath.mpf(3) / 4) == sp.Rational(3, 4)
        assert _exact(mpmath.mpf(0)) == 0
        assert _exact(mpmath.inf) is None
