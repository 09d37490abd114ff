"""The numeric phase's memo caches are pure: a claim's outcome, and the work counted for
it, never depend on which claims were checked before it in the same process."""

import sympy as sp
from em_point import evaluated_at_a_point

import symderive.check.equality as equality
import symderive.evaluate as evaluate
from symderive import POSITIVE, Derivation
from symderive.check import check_claim

cond = Derivation("cached-conditions", source="tests")
a = cond.scalar("a", POSITIVE)
u = cond.scalar("u")
_given = dict(given=[u * a - 1], unknowns=[u])
TRUE = cond.equal("true", u, 1 / a, **_given)
FALSE = cond.equal("false", u, 2 / a, **_given)
OTHER = cond.equal("other", u * a, 1, **_given)


def _summary(claim):
    out = check_claim(claim, lambda *_: None, 0)
    return out.verdict, out.message, out.counterexample, out.evidence.to_json()


def test_conditions_solved_once_for_claims_sharing_them(monkeypatch):
    equality._SOLVED.clear()
    calls = []
    fresh = equality._solve_fresh

    def counting(*args):
        calls.append(args[0])
        return fresh(*args)

    monkeypatch.setattr(equality, "_solve_fresh", counting)
    cold = _summary(TRUE)
    first = len(calls)
    assert first > 0 and cold[0] == "proved"
    assert _summary(OTHER)[0] == "proved"
    assert len(calls) == first  # the same conditions at the same points: all reused
    assert _summary(FALSE)[0] == "refuted"


def test_outcomes_do_not_depend_on_what_ran_before():
    equality._SOLVED.clear()
    evaluate._INSTANTIATED.clear()
    cold = [_summary(c) for c in (FALSE, TRUE, OTHER)]
    warm = [_summary(c) for c in (OTHER, TRUE, FALSE)][::-1]
    assert cold == warm
    assert cold[0][0] == "refuted" and cold[1][0] == cold[2][0] == "proved"


def test_symbolic_nodes_same_values_and_work_with_or_without_the_cache():
    run = evaluated_at_a_point("41.1", 5)

    evaluate._INSTANTIATED.clear()
    cold, cold_work = run()
    warm, warm_work = run()
    assert cold is not None and cold == warm and cold_work == warm_work
    # the walked instantiation agrees with SymPy's evalf of it, to far below the tolerance
    saved = evaluate._instantiated
    try:
        evaluate._instantiated = lambda *k: (saved(*k)[0], None)
        slow, slow_work = run()
    finally:
        evaluate._instantiated = saved
    assert slow_work == cold_work
    assert all(abs(x - y) <= sp.Float(10) ** -90 * max(1, abs(y)) for x, y in zip(cold, slow))


v = cond.scalar("v")
w = cond.scalar("w")
_drawn = dict(given=[v - a], unknowns=[v, w])   # w is left free: drawn while solving
HUNT = cond.equal("hunt", v + 0 * w, a, **_drawn)
HUNT_TWIN = cond.equal("hunt-twin", v * a, a ** 2, **_drawn)


def test_points_after_a_cache_hit_are_the_points_of_a_cold_run(drawn_points):
    seen = drawn_points  # one list per run, appended before it
    equality._SOLVED.clear()
    seen.append([])
    assert _summary(HUNT_TWIN)[0] in ("proved", "verified")
    equality._SOLVED.clear()
    seen.append([])
    _summary(HUNT)
    seen.append([])
    assert _summary(HUNT_TWIN)[0] in ("proved", "verified")  # every solve a cache hit
    assert seen[0] == seen[2] and len(seen[0]) >= 5


def test_symbolic_nodes_made_from_arguments_kept_per_their_own_indices():
    """A node's arguments are kept per the indices each names (evaluate._ARGS): the node
    made from them is the one the exact backend makes at all the node's indices."""
    from symderive.instantiate import Instantiator

    run = evaluated_at_a_point("42.1", 3)
    evaluate._INSTANTIATED.clear()
    evaluate._ARGS.clear()
    run()
    made = list(evaluate._INSTANTIATED.items())
    assert len(evaluate._ARGS) < 2 * len(made)  # arguments shared between nodes
    for (d, sizes, e, ints), (expr, _) in made[:40]:
        assert expr == Instantiator(d, dict(sizes)).scalar(e, dict(ints), frozenset())
