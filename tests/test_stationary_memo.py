"""The shortcuts of the stationary and conditional checks change no verdict.

The product-rule derivative is SymPy's derivative; a claimed point compiled at a larger
size is refuted there as the numeric instantiator's was; the screen of the better-point
search never reports a point the exact test did not; the memos are keyed on what a
claim says, so a warm worker gives what a cold one gives, and a planted mistake checked
after the true claim is still refuted.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp
from gibbs import gibbs, scalar_objectives

from symderive import Derivation
from symderive.check import conditions, memo
from symderive.check.dispatch import check_claim
from symderive.check.maxima import STEPS, better_point
from symderive.check.memo import Memo
from symderive.check.stationary_large import Deriver, Large
from symderive.numeric import TOLERANCE

d = Derivation("stationary_memo")
p, q, x, y, LOGS, QUARTIC = scalar_objectives(d)
TRUE_LOGS = d.stationary("logs", LOGS, [x], {x: p / (p + q)})
SAME_LOGS = d.stationary("logs-again", LOGS, [x], {x: p / (p + q)})
SWAPPED = d.stationary("logs-swapped", LOGS, [x], {x: q / (p + q)})
MISSING = d.stationary("logs-unnormalised", LOGS, [x], {x: p})  # the normaliser dropped
TWO_HILLS = d.stationary("two-hills", QUARTIC, [y], {y: -1})

m, k, e, s, GIBBS, SOFTMAX = gibbs(d)
# off by a factor 1 + (m-2)(m-3)(m-4)/10^6: exact at m = 2, 3, 4, wrong from m = 5 on,
# and plain arithmetic, so the claimed point is compiled at the larger size
LATE = d.stationary("late-polynomial", GIBBS, [s[k]],
                    {s[k]: SOFTMAX * (1 + (m - 2) * (m - 3) * (m - 4) / sp.Integer(10**6))},
                    constraints=[sp.Sum(s[k], (k, 1, m)) - 1])
GIBBS_TRUE = d.stationary("gibbs", GIBBS, [s[k]], {s[k]: SOFTMAX},
                          constraints=[sp.Sum(s[k], (k, 1, m)) - 1])


def _check(claim, seed=None):
    return check_claim(claim, lambda *args: None, seed)


def _said(out) -> tuple:
    ev = out.evidence
    return (out.verdict, out.method, out.message, ev.points, ev.sampled_sizes,
            ev.proved_sizes, ev.all_sizes, ev.seed)


# -- the product-rule derivative ------------------------------------------------------
def test_deriver_is_sympys_derivative():
    a, b, c = sp.symbols("a b c", positive=True)
    mu = sp.IndexedBase("mu")
    unknowns = [a, b, mu[1, 2]]
    exprs = [c * a * b * sp.log(a * mu[1, 2]) + a ** b,
             sp.exp(a * b) * mu[1, 2] ** 3 + (a + b) ** c / (1 + mu[1, 2]),
             sp.log(sp.factorial(c)) * a + sp.log(mu[1, 2]) * mu[2, 1],
             (a * b * mu[1, 2]) ** c / (a + b) - sp.sqrt(a * mu[1, 2]) * b]
    deriv = Deriver(unknowns)
    for expr in exprs:
        for v in unknowns:
            assert sp.simplify(deriv(expr, v) - sp.diff(expr, v)) == 0, (expr, v)
    assert deriv(mu[2, 1] * c, mu[1, 2]) == 0


# -- the compiled claimed point at a larger size --------------------------------------
def test_compiled_point_at_a_larger_size_refutes_a_late_mistake():
    memo.clear_all()
    large = Large.build(LATE, {m: 6})
    assert large.point_fn is not None  # the compiled path, not the numeric instantiator
    out = _check(LATE)
    assert out.verdict == "refuted", out.message
    assert out.counterexample["sizes"]["m"] >= 6
    assert "constraint" in out.message


def test_true_gibbs_holds_with_the_compiled_point():
    memo.clear_all()
    out = _check(GIBBS_TRUE)
    assert out.verdict in ("proved", "verified"), out.message
    assert any(cfg[m] >= 6 for cfg in out.evidence.sampled_sizes)


# -- the memos: warm equals cold, mistakes after a true claim still refuted ------------
@pytest.mark.parametrize("claim", [TRUE_LOGS, GIBBS_TRUE], ids=lambda c: c.id)
def test_a_warm_check_says_what_a_cold_one_says(claim):
    memo.clear_all()
    cold = _said(_check(claim))
    warm = _said(_check(claim))
    memo.clear_all()
    assert _said(_check(claim)) == cold == warm


def test_same_content_other_id_shares_the_outcome():
    memo.clear_all()
    first = _check(TRUE_LOGS)
    second = _check(SAME_LOGS)
    assert _said(first) == _said(second)
    assert first.verdict == "proved"


@pytest.mark.parametrize("planted", [SWAPPED, MISSING], ids=lambda c: c.id)
def test_planted_mistake_after_the_true_claim_is_refuted(planted):
    memo.clear_all()
    assert _check(TRUE_LOGS).verdict == "proved"
    warm = _check(planted)
    memo.clear_all()
    cold = _check(planted)
    assert warm.verdict == cold.verdict == "refuted", warm.message
    assert _said(warm) == _said(cold)


def test_late_mistake_after_the_true_gibbs_is_refuted():
    memo.clear_all()
    assert _check(GIBBS_TRUE).verdict in ("proved", "verified")
    assert _check(LATE).verdict == "refuted"


def test_memo_is_bounded_and_keeps_only_what_it_may():
    box = Memo(2)
    for key in range(5):
        assert box.get(key, lambda key=key: key * 10) == key * 10
    assert len(box) == 2
    calls = []

    def failing():
        calls.append(1)
        raise ValueError("no")

    for _ in range(2):
        with pytest.raises(ValueError):
            box.get("remembered", failing, remember=(ValueError,))
    assert len(calls) == 1  # remembered: raised again without a second call
    for _ in range(2):
        with pytest.raises(ValueError):
            box.get("not remembered", failing)
    assert len(calls) == 3  # a failure it was not told to remember is made again
    assert box.get("odd", lambda: 3, keep=lambda v: v % 2 == 0) == 3
    assert box.get("odd", lambda: 5, keep=lambda v: v % 2 == 0) == 5  # not stored


# -- the screen of the better-point search ------------------------------------------------
def _search(screen):
    return better_point(QUARTIC, [y], [], {y: sp.Integer(-1)}, lambda v, t: True,
                        lambda ex: sp.N(ex, 50), random.Random(1), TOLERANCE,
                        screen=screen)


def test_screen_finds_what_the_exact_search_finds():
    exact = _search(None)
    fn = sp.lambdify([y], QUARTIC, "mpmath")
    screened = _search(lambda trial: fn(trial[y]))
    assert exact is not None and screened is not None
    assert screened[0] == exact[0] and screened[1] == exact[1]
    assert screened[1] > sp.Rational(5, 12)


def test_a_wrong_screen_cannot_make_a_better_point():
    # a screen that overrates every trial sends each to the exact test, which decides
    def liar(trial):
        return 10 ** 6

    fn = sp.lambdify([y], QUARTIC, "mpmath")
    at_top = better_point(QUARTIC, [y], [], {y: sp.Integer(2)}, lambda v, t: True,
                          lambda ex: sp.N(ex, 50), random.Random(1), TOLERANCE,
                          screen=liar)
    assert at_top is None  # 2 is the global maximiser: nothing is better
    assert fn(2) > fn(-1)
    assert len(STEPS) == 16


def test_a_screen_that_misses_the_claimed_value_is_not_used():
    # underrating every trial would skip them all; it does not reproduce f at the
    # claimed point, so it is not trusted, and the exact search finds the other hill
    found = _search(lambda trial: -10 ** 6)
    assert found is not None and found[1] > sp.Rational(5, 12)


def test_two_hills_claimed_global_is_refuted():
    memo.clear_all()
    out = _check(TWO_HILLS)
    assert out.verdict == "refuted" and "not a global maximiser" in out.message


# -- conditions: solve's solutions memoised ------------------------------------------------
def test_solved_conditions_are_the_same_warm_and_cold():
    a, b = sp.symbols("a b")
    eqs = [a * b - 6, a + b - 5]
    memo.clear_all()
    cold = conditions.solutions_at(eqs, [a, b], lambda u: sp.Integer(2), random.Random(0))
    warm = conditions.solutions_at(eqs, [a, b], lambda u: sp.Integer(2), random.Random(0))
    assert cold == warm
    assert sorted((s[a], s[b]) for s in cold) == [(2, 3), (3, 2)]
    # a float coefficient is still made rational
    got = conditions.solutions_at([sp.Float("0.5") * a - 1], [a], lambda u: sp.Integer(2),
                                  random.Random(0))
    assert got == [{a: 2}]


# -- the second-order test at a larger size, one diagonal block at a time ----------------
nb, rb = d.dim("nb"), d.dim("rb")
ib, jb = d.index("ib", rb), d.index("jb", nb)
xb = d.tensor("xb", (rb, nb))
_ROWS = -sp.Sum(sp.Sum(xb[ib, jb] ** 2, (jb, 1, nb)), (ib, 1, rb))
_ROW_SUMS = [sp.Sum(xb[ib, jb], (jb, 1, nb))]
# the first row's first entry convex: a direction of increase in the first row's block
# of the tangent Hessian only (each row sums to 0: one block per row)
SADDLE_ROW = d.stationary("saddle-in-one-row", _ROWS + 2 * xb[1, 1] ** 2, [xb[ib, jb]],
                          {xb[ib, jb]: 0}, constraints=_ROW_SUMS)
ROWS_TRUE = d.stationary("rows", _ROWS, [xb[ib, jb]], {xb[ib, jb]: 0},
                         constraints=_ROW_SUMS)


def test_tangent_blocks_are_the_connected_components():
    import mpmath

    from symderive.check.stationary_large import _blocks, _sub
    rng = random.Random(3)
    order = list(range(9))
    rng.shuffle(order)
    groups = [order[:2], order[2:3], order[3:7], order[7:]]
    M = mpmath.zeros(9, 9)
    for g in groups:
        for a in g:
            for b in g:
                M[a, b] = M[b, a] = mpmath.mpf(rng.randint(1, 9)) if a <= b else M[a, b]
    assert sorted(_blocks(M)) == sorted(sorted(g) for g in groups)
    every = sorted(e for b in _blocks(M) for e in mpmath.eigsy(_sub(M, b))[0])
    whole = sorted(mpmath.eigsy(M)[0])
    assert all(abs(a - b) < mpmath.mpf(10) ** -10 for a, b in zip(every, whole))


def test_a_direction_of_increase_in_one_block_is_refuted_at_a_larger_size():
    large = Large.build(SADDLE_ROW, {nb: 6, rb: 7})
    out = large.check({})
    assert out is not None and out.method == "second-order condition", out
    assert "eigenvalue" in out.message and "> 0" in out.message
    assert out.counterexample["sizes"] == {"nb": 6, "rb": 7}, out.counterexample
    assert Large.build(ROWS_TRUE, {nb: 6, rb: 7}).check({}) is None
    assert _check(SADDLE_ROW).verdict == "refuted"
    assert _check(ROWS_TRUE).verdict in ("proved", "verified")


# -- multipliers from known coefficients, constraints known affine ----------------------
def test_known_coefficients_give_the_multipliers_elimination_gives():
    from symderive.check.maxima import linear_multipliers
    l1, l2 = sp.symbols("l1 l2")
    A = sp.Matrix([[1, 2], [3, 4], [5, 6]])
    # consistent: grads = b - A lambda vanish at lambda = (1/3, log(2))
    b = A * sp.Matrix([sp.Rational(1, 3), sp.log(2)])
    grads = [b[i] - A[i, 0] * l1 - A[i, 1] * l2 for i in range(3)]
    got = linear_multipliers(grads, [l1, l2], -A)  # the coefficients of l1, l2
    assert got == linear_multipliers(grads, [l1, l2])
    assert sp.simplify(got[l1] - sp.Rational(1, 3)) == 0 and sp.simplify(got[l2] - sp.log(2)) == 0
    # inconsistent (the third equation off by 1): the multipliers solve the independent
    # rows only, and the caller's check of every equation fails at them
    bad = grads[:2] + [grads[2] + 1]
    lam = linear_multipliers(bad, [l1, l2], -A)
    assert any(sp.simplify(g.xreplace(lam)) != 0 for g in bad)


def test_a_curved_constraint_still_stops_the_better_point_search():
    """A system whose constraints are not affine as built is not told ``affine``: on
    the unit circle the search would step off the feasible set."""
    from symderive.check.stationary import build_system
    u, v = d.scalar("u"), d.scalar("v")
    circle = d.stationary("circle", u + v, [u, v], {u: -sp.sqrt(2) / 2, v: -sp.sqrt(2) / 2},
                          constraints=[u ** 2 + v ** 2 - 1])
    system = build_system(circle, {})
    assert system.affine is False
    line = d.stationary("line", -u ** 2 - v ** 2, [u, v], {u: p, v: 1 - p},
                        constraints=[u + v - 1])
    assert build_system(line, {}).affine is True
    # the minimum of u + v on the circle claimed as its maximum: refuted (second order)
    out = _check(circle)
    assert out.verdict == "refuted", out.message
