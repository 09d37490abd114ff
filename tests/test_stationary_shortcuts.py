"""The per-point shortcuts of the stationary check change nothing it reports.

The tangent basis of a rational constraint Jacobian is reduced once and handed out fresh;
the counterexample of a failing point is built only when a point fails, with the fields
(and their order) it always had; the gradient at a point is substituted once and the
multipliers put into it; a claimed point that is positive as written is admissible
without factoring, and one that is not is still not.
"""

from __future__ import annotations

import sympy as sp
from gibbs import gibbs, scalar_objectives

from symderive import Derivation
from symderive.check import memo
from symderive.check.dispatch import check_claim
from symderive.check.maxima import tangent_basis
from symderive.check.stationary import _numeric_check, _sign_ok, build_system

d = Derivation("stationary_shortcuts")
p, q, x, y, LOGS, QUARTIC = scalar_objectives(d)
SWAPPED = d.stationary("logs-swapped", LOGS, [x], {x: q / (p + q)})
TWO_HILLS = d.stationary("two-hills", QUARTIC, [y], {y: -1})
BOWL = d.stationary("bowl-as-maximum", y ** 2 - 2 * y, [y], {y: 1}, maximum=True)
m, k, e, s, GIBBS, SOFTMAX = gibbs(d)
SIMPLEX_SUM = [sp.Sum(s[k], (k, 1, m)) - 1]
GIBBS_TRUE = d.stationary("gibbs", GIBBS, [s[k]], {s[k]: SOFTMAX}, constraints=SIMPLEX_SUM)
# the softmax of 2e: feasible (it sums to 1), but no multiplier makes it stationary
GIBBS_DOUBLED = d.stationary("gibbs-doubled", GIBBS, [s[k]],
                             {s[k]: SOFTMAX.xreplace({e[k]: 2 * e[k]})},
                             constraints=SIMPLEX_SUM)
# off by a factor from m = 5 on: refuted only at the larger size (the constraint fails)
LATE = d.stationary("late", GIBBS, [s[k]],
                    {s[k]: SOFTMAX * (1 + (m - 2) * (m - 3) * (m - 4) / sp.Integer(10**6))},
                    constraints=SIMPLEX_SUM)


def _check(claim):
    memo.clear_all()
    return check_claim(claim, lambda *args: None)


# -- the tangent basis ----------------------------------------------------------------------
def test_tangent_basis_is_the_nullspace_and_handed_out_fresh():
    J = sp.Matrix([[1, 1, 1, 0], [0, 1, -1, 2]])
    first = tangent_basis(J)
    assert first == J.nullspace() and len(first) == 2
    first[0][0, 0] = 99  # a caller that changes its copy changes nobody else's
    again = tangent_basis(J)
    assert again == J.nullspace() and again[0][0, 0] != 99
    a = sp.Symbol("a")
    curved = sp.Matrix([[1, a, 1]])  # not rational: reduced as it is
    assert tangent_basis(curved) == curved.nullspace()


# -- counterexamples: built only for a failing point, the fields they always had -------
def test_lagrange_counterexample_names_sizes_values_and_point():
    out = _check(SWAPPED)
    assert out.verdict == "refuted" and out.method == "Lagrange conditions", out.message
    cx = out.counterexample
    assert list(cx) == ["sizes", "values", "point", "message"]
    assert cx["message"] == out.message
    pv, qv = (sp.Rational(cx["values"][n]) for n in ("p", "q"))
    assert sp.Rational(cx["point"]["x"]) == qv / (pv + qv) and pv != qv


def test_global_maximum_counterexample_names_the_better_point():
    out = _check(TWO_HILLS)
    assert out.verdict == "refuted" and out.method == "global maximum", out.message
    cx = out.counterexample
    assert list(cx) == ["sizes", "values", "point", "message", "better"]
    better = sp.Rational(cx["better"]["y"])
    f = TWO_HILLS.f
    assert f.subs(y, better) > f.subs(y, -1)


def test_second_order_counterexample_names_the_eigenvalue():
    out = _check(BOWL)
    assert out.verdict == "refuted" and out.method == "second-order condition", out.message
    cx = out.counterexample
    assert list(cx) == ["sizes", "values", "point", "message", "eigenvalue"]
    assert float(cx["eigenvalue"]) == 2.0


def test_larger_size_counterexample_names_sizes_values_and_point():
    out = _check(LATE)
    assert out.verdict == "refuted" and out.method == "constraints", out.message
    cx = out.counterexample
    assert list(cx) == ["sizes", "values", "point", "message"]
    assert cx["sizes"]["m"] >= 6 and len(cx["point"]) == cx["sizes"]["m"]


# -- the gradient substituted once ----------------------------------------------------------
def test_multipliers_put_into_the_substituted_gradient_decide_stationarity():
    sizes = {m: 3}
    point = {e[1]: sp.Rational(1, 2), e[2]: sp.Rational(-1, 3), e[3]: sp.Integer(2)}
    assert _numeric_check(GIBBS_TRUE, build_system(GIBBS_TRUE, sizes), point) is None
    bad = _numeric_check(GIBBS_DOUBLED, build_system(GIBBS_DOUBLED, sizes), point)
    assert bad is not None and bad.method == "Lagrange conditions", bad
    assert bad.message.startswith("not a stationary point: no multipliers")


# -- the sign of a claimed point ------------------------------------------------------------
def test_sign_of_a_claimed_point():
    assert _sign_ok(p / (p + q), False)               # positive as written
    assert _sign_ok(1 - p / (p + q), False)           # positive only once over (p + q)
    assert not _sign_ok(p - q, False)                 # either sign
    assert not _sign_ok(p / (p - q), False)
    assert _sign_ok(sp.Integer(0), True) and not _sign_ok(sp.Integer(0), False)
    assert not _sign_ok(-p / (p + q), True)
