"""Red team: stationary-point and maximiser claims under issue 10's honest rules.

Each false claim is first shown false at a witness (exact arithmetic), so a test cannot
pass by refuting a true statement; each must be refuted for every seed tried.  Next to
them, true controls that must hold, and the homework's stationary claims with planted
mistakes (all refuted) and as written (verified, with a size >= 6 in the evidence).
"""

from __future__ import annotations

import pytest
import sympy as sp
from gibbs import gibbs

from symderive import POSITIVE, Derivation, interval
from symderive.check.dispatch import check_claim
from symderive.check.stationary_large import distinct_draw
from symderive.loader import import_file
from symderive.mutate import mutants
from symderive.numeric import Sampler

SEEDS = range(20)
HOLDS = ("proved", "verified")

d = Derivation("redteam_stationary10")
p, q = d.scalar("p", POSITIVE), d.scalar("q", POSITIVE)
a = d.scalar("a", POSITIVE)
x = d.scalar("x", interval(0, 1))
y = d.scalar("y")
LOGS = p * sp.log(x) + q * sp.log(1 - x)
# the maximiser p/(p + q) with p and q swapped: right exactly where p = q
SWAPPED = d.stationary("swapped", LOGS, [x], {x: q / (p + q)})
SWAPPED_STATIONARY = d.stationary("swapped-stationary", LOGS, [x], {x: q / (p + q)},
                                  maximum=False)
TRUE_LOGS = d.stationary("c-logs", LOGS, [x], {x: p / (p + q)})
# f' = -x (x - 2)(x + 1): local maxima at -1 (f = 5/12) and 2 (f = 8/3)
QUARTIC = -y ** 4 / 4 + y ** 3 / 3 + y ** 2
TWO_HILLS = d.stationary("two-hills", QUARTIC, [y], {y: -1})
TWO_HILLS_LOCAL = d.stationary("c-two-hills-local", QUARTIC, [y], {y: -1}, local=True)
# local maxima at -1 (f = (1 + 2a)/12) and a (f = a^3 (a + 2)/12): -1 is global only
# for a <= 1, so the claim is false (a = 2: 32/12 > 5/12)
TILTED = -y ** 4 / 4 + (a - 1) * y ** 3 / 3 + a * y ** 2 / 2
TILTED_HILLS = d.stationary("tilted-hills", TILTED, [y], {y: -1})

m, k, e, s, GIBBS, SOFTMAX = gibbs(d)
# the softmax, off by one part in a million from m = 5 on: only larger sizes see it
LATE = d.stationary("late", GIBBS, [s[k]],
                    {s[k]: SOFTMAX * sp.Piecewise((1, m < 5), (1 + sp.Rational(1, 10**6),
                                                                True))},
                    constraints=[sp.Sum(s[k], (k, 1, m)) - 1])
GIBBS_TRUE = d.stationary("c-gibbs", GIBBS, [s[k]], {s[k]: SOFTMAX},
                          constraints=[sp.Sum(s[k], (k, 1, m)) - 1])


def _check(claim, seed=None):
    return check_claim(claim, lambda *args: None, seed)


def test_witnesses():
    """The false claims are false: exact values at a witness."""
    grad = sp.diff(LOGS, x).subs({p: 1, q: 2, x: sp.Rational(2, 3)})
    assert grad != 0
    assert QUARTIC.subs(y, 2) > QUARTIC.subs(y, -1)
    assert sp.diff(QUARTIC, y).subs(y, -1) == 0 and sp.diff(QUARTIC, y, 2).subs(y, -1) < 0
    assert TILTED.subs({a: 2, y: 2}) > TILTED.subs({a: 2, y: -1})
    assert sp.diff(TILTED, y).subs(y, -1) == 0


@pytest.mark.parametrize("claim", [SWAPPED, SWAPPED_STATIONARY], ids=lambda c: c.id)
def test_swapped_parameters_refuted_for_every_seed(claim):
    for seed in SEEDS:
        out = _check(claim, seed)
        assert out.verdict == "refuted", (seed, out.verdict, out.message)
        values = out.counterexample["values"]
        assert values["p"] != values["q"], (seed, values)


def test_regular_draws_never_give_two_parameters_the_same_value():
    """p = q only at the special points (all at 1, all near an end), never in the
    regular draws that are counted as evidence."""
    import random

    for seed in SEEDS:
        sampler = Sampler(d, [p, q, a], {}, random.Random(seed))
        for _ in range(40):
            point = distinct_draw(sampler)
            assert len({point[p], point[q], point[a]}) == 3, (seed, point)


@pytest.mark.parametrize("claim", [TWO_HILLS, TILTED_HILLS], ids=lambda c: c.id)
def test_local_maximum_claimed_global_is_refuted_for_every_seed(claim):
    for seed in SEEDS:
        out = _check(claim, seed)
        assert out.verdict == "refuted", (seed, out.verdict, out.message)
        assert "not a global maximiser" in out.message, out.message


def test_larger_size_catches_a_claim_false_from_size_five():
    out = _check(LATE)
    assert out.verdict == "refuted", out.message
    assert out.counterexample["sizes"]["m"] >= 6
    assert any(cfg[m] >= 6 for cfg in out.evidence.sampled_sizes)


@pytest.mark.parametrize("claim", [TRUE_LOGS, TWO_HILLS_LOCAL, GIBBS_TRUE],
                         ids=lambda c: c.id)
def test_true_controls_hold(claim):
    out = _check(claim)
    assert out.verdict in HOLDS, (out.verdict, out.message)


def test_gibbs_evidence_names_the_larger_size():
    out = _check(GIBBS_TRUE)
    assert out.verdict in HOLDS, out.message
    large = [cfg for cfg in out.evidence.sampled_sizes if cfg[m] >= 6]
    assert large, out.evidence.sampled_sizes
    assert f"at m={large[0][m]}: 5 random points at 50 digits" in out.message


# -- the homework's stationary claims --------------------------------------------------
EM = import_file("derivations/em_multinomial.py").derivation
HOMEWORK = ("45.1", "47.2", "MAP.1", "MAP.2", "DA.1")


@pytest.mark.parametrize("cid", HOMEWORK)
def test_planted_mistakes_in_homework_maximisers_are_refuted(cid):
    planted = mutants(EM.claim(cid))
    assert planted, cid
    for claim in planted:
        out = _check(claim)
        assert out.verdict == "refuted", (claim.id, out.verdict, out.message)


@pytest.mark.parametrize("cid", ("47.2", "DA.1"))
def test_homework_maximisers_hold_with_a_larger_size(cid):
    out = _check(EM.claim(cid))
    assert out.verdict == "verified", out.message
    sizes = out.evidence.sampled_sizes
    assert any(all(v >= 6 for v in cfg.values()) for cfg in sizes), sizes
    assert "random points at 50 digits" in out.message


def test_minimiser_with_a_matrix_inverse_is_sampled_at_a_larger_size():
    """The normal equations at n, m >= 6: the claimed (X^T X)^-1 X^T y is evaluated
    numerically there (a symbolic 7x7 inverse would not finish)."""
    mc = import_file("derivations/matrix_calculus.py").derivation
    out = _check(mc.claim("normal-eq"))
    assert out.verdict == "verified", out.message
    assert any(min(cfg.values()) >= 6 for cfg in out.evidence.sampled_sizes), \
        out.evidence.sampled_sizes
    assert "minimiser" in out.message and "50 digits" in out.message


# g'(0) = g'(1) = 0 and g(1) - g(0) = 1: f = c - x^2 (x - 1)^2 + eps g has local maxima at 0
# and 1, the one at 1 higher by eps = 1e-20 -- an advantage that rounding to double
# precision (15 digits) hides when c = 1/3, and that 50 digits show
_EPS = sp.Rational(1, 10 ** 20)
_HAIR = sp.Rational(1, 3) - y ** 2 * (y - 1) ** 2 + _EPS * (3 * y ** 2 - 2 * y ** 3)
HAIR = d.stationary("hair", _HAIR, [y], {y: 0})
HAIR_LOCAL = d.stationary("c-hair-local", _HAIR, [y], {y: 0}, local=True)


def test_a_better_point_better_by_less_than_double_precision_is_found():
    assert _HAIR.subs(y, 1) - _HAIR.subs(y, 0) == _EPS  # the witness, exactly
    out = check_claim(HAIR, lambda *a, **k: None)
    assert out.verdict == "refuted", out.message
    assert "not a global maximiser" in out.message and "y = 1" in out.message
    assert check_claim(HAIR_LOCAL, lambda *a, **k: None).verdict in HOLDS
