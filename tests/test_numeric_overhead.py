"""The numeric phase's per-claim shortcuts (names, keys, domains and entries looked up
once) change nothing that is checked: the same directions, leaves, points and domains as
computing everything afresh at every point."""

import random

import sympy as sp
from symderive.derivations import bn_backprop as bn

from symderive import POSITIVE, Derivation, interval
from symderive.check.directions import seed_text
from symderive.check.instances import Evaluator, all_entries, referenced_vars
from symderive.instantiate import Instantiator
from symderive.numeric import Sampler, assumption_of


def _old_seed(point: dict) -> str:
    """The seed text as the screen built it before: every name and value printed."""
    return "directions:" + repr(sorted((str(k), str(v)) for k, v in point.items()))


def test_seed_text_is_the_printed_point():
    x = sp.IndexedBase("x")
    rng = random.Random(3)
    for _ in range(50):
        point = {x[i]: sp.Rational(rng.randint(-10**30, 10**30), rng.choice([1, 2, 7, 10**12]))
                 for i in range(1, 6)}
        point[sp.Symbol("gamma")] = sp.Integer(rng.randint(-5, 5))
        names: dict = {}
        assert seed_text(point, names) == _old_seed(point)
        assert seed_text(point, names) == _old_seed(point)  # with the names memo warm
    # a value that is not a rational is printed as before
    assert seed_text({x[1]: sp.Float(0.5)}) == _old_seed({x[1]: sp.Float(0.5)})
    # and two points that differ in one value get different seeds
    assert seed_text({x[1]: sp.Rational(1, 3)}) != seed_text({x[1]: sp.Rational(-1, 3)})


def test_evaluator_leaves_are_the_entries_at_its_sizes():
    claim = bn.derivation.claim("10.1")
    sym = bn.derivation.size_configs(claim)[0]
    d = claim.derivation
    for sizes in [sym[0], {k: 7 for k in sym[0]}, sym[0]]:  # the memo, cold and warm
        fresh = all_entries(Instantiator(d, sizes), referenced_vars(d, claim.lhs, claim.rhs))
        assert Evaluator(claim, sizes).leaves == fresh
    small, large = (Evaluator(claim, s).leaves for s in (sym[0], {k: 7 for k in sym[0]}))
    assert len(large) > len(small)


def test_sampler_domains_follow_extra():
    d = Derivation("overhead-domains", source="tests")
    a = d.scalar("a", POSITIVE)
    s = Sampler(d, [a], {}, random.Random(0))
    assert all(s.draw()[a] > 0 for _ in range(16))
    unit = interval(0, 1)
    s.extra = {a: unit}  # a domain given later replaces the remembered one
    assert assumption_of(d, a, s.extra) is unit
    assert all(0 <= s.draw()[a] <= 1 for _ in range(16))
