"""Nested integrals (2 and 3 levels, infinite ranges, an inner bound depending on the
outer variable) and an expectation over a vector are decided within the default budget:
SymPy's closed form of the inner levels, spot-checked against quadrature at every point
(symderive/closed_form.py, symderive/quadrature.py); planted mistakes are refuted."""

from __future__ import annotations

import weakref

import mpmath
import pytest
import sympy as sp
from nested_integrals import d as NESTED

from symderive import closed_form, quadrature
from symderive.check.dispatch import check_claim
from symderive.check.equality import _sampling_configs, numeric_phase
from symderive.check.plan import claim_rng
from symderive.config import DEFAULT_TIMEOUT
from symderive.latex.printer import latex
from symderive.quadrature import QuadratureUnreliable, recording, reliable_quad, state_precision
from symderive.testing import results

TRUE = ["box", "triangle", "cube", "gauss", "outer-peak"]
WRONG = ["box-factor", "box-swapped-bounds", "box-sign", "box-symbol", "triangle-swapped",
         "cube-factor", "gauss-sign", "outer-peak-factor", "separable-factor"]


def _check(name: str):
    return check_claim(NESTED.claim(name), lambda *_: None, 0)


@pytest.mark.parametrize("name", TRUE)
def test_a_true_nested_integral_is_proved_and_its_evidence_states_the_method(name):
    out = _check(name)
    assert out.verdict == "proved", out.message
    assert "agrees at 23 random points" in out.message
    assert "tanh-sinh quadrature at 45 digits" in out.message
    assert "integrated in closed form by SymPy" in out.message
    assert "each level checked at every point (23) against quadrature of the level " \
        "below" in out.message


@pytest.mark.parametrize("name", WRONG)
def test_a_planted_mistake_in_a_nested_integral_is_refuted(name):
    out = _check(name)
    assert out.verdict == "refuted", out.message
    assert "1 of 1 entries differ" in out.message
    assert out.evidence.digits == 45


def test_three_levels_are_named_innermost_first():
    out = _check("cube")
    assert "up to 3 level(s) integrated in closed form by SymPy (over x, y, z, innermost " \
        "first)" in out.message


def test_a_separable_integrand_sympy_cannot_integrate_is_a_product_of_quadratures():
    """∫∫ a e^{sin x} N(y; m, s) dx dy: no closed form for the inner level; the integrand
    is a product of factors in x and in y, so the value is a product of one-dimensional
    reliable quadratures (the narrow density in the outer variable found by its own
    peak search), not a quadrature at every node of another."""
    out = _check("separable")
    assert out.verdict == "verified", out.message
    assert "separable nested integrals (over x, y) as products of one-dimensional " \
        "quadratures, each with the error bound above" in out.message
    assert "closed form" not in out.message


def test_a_narrow_outer_peak_integrated_numerically_is_found():
    """The inner level in closed form, the outer one (a density of width s at m, s down to
    1e-3 and m up to 1e3 across the sampler's scales) by quadrature with its own peak
    search: the true claim agrees at every point, the planted one is refuted.  Sampling
    only: SymPy's attempt at a proof of these runs until the budget ends."""
    for name, verdict in (("outer-peak-numeric", "verified"),
                          ("outer-peak-numeric-width", "refuted")):
        claim = NESTED.claim(name)
        rng = claim_rng(0)
        configs, notes = _sampling_configs(claim, rng)
        with recording() as log:
            out = numeric_phase(claim, configs, rng, 0, notes)
        out = state_precision(out, log, claim.lhs, claim.rhs)
        assert out.verdict == verdict, (name, out.message)
        assert "up to 1 level(s) integrated in closed form by SymPy (over x" in out.message


def test_decided_within_the_default_budget_in_a_worker():
    """As `symderive check` runs them: one worker per claim, the default CPU budget (the
    claims ended `undecided`, budget exhausted, before the closed forms)."""
    names = ["box", "cube", "separable", "triangle-swapped"]
    got = results([NESTED.claim(n) for n in names], timeout=DEFAULT_TIMEOUT)
    assert {n: got[n].verdict for n in names} == {
        "box": "proved", "cube": "proved", "separable": "verified",
        "triangle-swapped": "refuted"}


def test_a_wrong_closed_form_is_caught_by_the_check_and_dropped(monkeypatch):
    """SymPy's closed form is never trusted blindly: a wrong outer level (2a instead of
    a) disagrees with quadrature of the level below at the first point, is dropped, and
    the outer level is integrated numerically: the true claim stays proved/verified,
    and the evidence says what happened."""
    real = closed_form.inner_closed_forms

    def wrong(f, limits, seconds=closed_form.SECONDS, quad=None):
        got = real(f, limits, seconds, quad)
        return got[:1] + [2 * got[1]] if len(got) == 2 else got

    monkeypatch.setattr(closed_form, "inner_closed_forms", wrong)
    monkeypatch.setattr(quadrature, "_COMPILED", weakref.WeakKeyDictionary())  # compile anew
    out = _check("box")
    assert out.verdict in ("proved", "verified"), out.message
    assert "SymPy's closed form over y disagreed with quadrature: integrated numerically " \
        "instead" in out.message
    bad = _check("box-factor")
    assert bad.verdict == "refuted", bad.message


def test_the_cpu_bound_interrupts_sympy_and_restores_the_timer():
    """An integral SymPy cannot do quickly gives no closed form within the bound (no
    hang), and the SIGPROF handler is left as it was."""
    import signal

    before = signal.getsignal(signal.SIGPROF)
    x, y = sp.symbols("x y", real=True)
    f = sp.exp(sp.sin(x * y) ** 3) * sp.log(1 + x ** 4 * y)
    assert closed_form.inner_closed_forms(f, [(x, 0, 1), (y, 0, 1)], seconds=0.2) == []
    assert signal.getsignal(signal.SIGPROF) == before
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_an_integrand_that_does_not_decay_over_the_line_is_unreliable():
    """A divergent integral (a constant over the real line) once came out 'reliable' and
    huge, refuting the true E[xᵀAx] = tr A: it now has no estimate, and is skipped."""
    with mpmath.workdps(45):
        with pytest.raises(QuadratureUnreliable, match="does not decay"):
            reliable_quad(lambda t: mpmath.mpf(3), -mpmath.inf, mpmath.inf)


def test_an_expectation_over_a_vector_is_checked_at_small_sizes():
    """E[vᵀAv] = tr A for v ~ N(0, I) in R^n: an n-fold integral at n = 1, 2 (pinned),
    exact at the smallest size, never proved for every size; its mistakes are refuted."""
    got = results([NESTED.claim(n) for n in ("quadratic-form", "quadratic-form-factor",
                                             "quadratic-form-sign")], timeout=DEFAULT_TIMEOUT)
    ok = got["quadratic-form"]
    assert ok.verdict == "verified", ok.message
    assert [s["n"] for s in ok.evidence["sampled"]["sizes"]] == [1, 2]
    assert ok.evidence["scope"] != "all sizes"
    assert "integrated in closed form by SymPy (over v_1, v_2, innermost first)" in ok.message
    assert "an expectation over a vector in R^n is an n-fold integral, checked at the sizes " \
        "above only" in ok.message
    assert got["quadratic-form-factor"].verdict == "refuted"
    assert got["quadratic-form-sign"].verdict == "refuted"


def test_nested_integrals_and_the_vector_expectation_print_as_textbook_latex():
    claim = NESTED.claim("triangle")
    assert latex(claim.lhs) == r"\int\limits_{0}^{1}\int\limits_{0}^{x} a y\, dy\, dx"
    e = latex(NESTED.claim("quadratic-form").lhs)
    assert e.startswith(r"\mathbb{E}_{\mathbf{v} \sim p}"), e


# -- non-separable nested integrals without a closed form: nested quadrature at 20 digits
NUMERIC_TRUE = ["fubini", "fubini-renamed", "sinc", "swap"]
NUMERIC_WRONG = ["sinc-si", "swap-factor", "swap-sign", "swap-symbol", "swap-bounds"]


def _sampled(name: str):
    """The sampling verdict of a claim of tests/nested_numeric.py (the exact proof, which
    SymPy cannot give for these integrals, is not tried: it only costs seconds)."""
    from nested_numeric import d as NUMERIC

    claim = NUMERIC.claim(name)
    rng = claim_rng(0)
    configs, notes = _sampling_configs(claim, rng)
    with recording() as log:
        out = numeric_phase(claim, configs, rng, 0, notes)
    return state_precision(out, log, claim.lhs, claim.rhs)


@pytest.mark.parametrize("name", NUMERIC_TRUE)
def test_a_true_non_separable_nested_integral_is_verified_at_a_stated_precision(name):
    out = _sampled(name)
    assert out.verdict == "verified", out.message
    assert "by numeric quadrature at 20 digits" in out.message
    assert "compared to 1.0e-12 relative" in out.message
    assert out.evidence.digits == 20


@pytest.mark.parametrize("name", NUMERIC_WRONG)
def test_a_planted_mistake_in_a_non_separable_nested_integral_is_refuted(name):
    out = _sampled(name)
    assert out.verdict == "refuted", out.message
    assert "1 of 1 entries differ" in out.message
    assert "by numeric quadrature at 20 digits" in out.message


def test_nested_quadrature_widens_the_tolerance_only_for_its_claim():
    from symderive.numeric import DIGITS, agree

    with mpmath.workdps(DIGITS), recording():
        assert not agree(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -20)
        _sampled("fubini")  # a claim of its own (a fresh log): no effect here
        assert not agree(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -20)
    with mpmath.workdps(DIGITS), recording() as log:
        log.nested.add("x, y")
        assert agree(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -13)
        assert not agree(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -11)


def test_a_nested_quadrature_without_convergence_skips_the_point():
    """e^(4000 x y) has not converged at the highest Gauss-Legendre degree: the point is
    skipped (QuadratureUnreliable), never compared."""
    from nested_numeric import d as NUMERIC

    from symderive.check.instances import Evaluator

    claim = NUMERIC.claim("fubini")
    evaluate = Evaluator(claim, {})
    with recording() as log:
        vals = evaluate({evaluate.leaves[0]: sp.Integer(4000)})
    assert log.skipped == 1
    assert vals is None or not all(mpmath.isfinite(v) for v in vals)


def test_an_integrand_undefined_everywhere_is_not_zero():
    """Si(a y)/(a y) at a = 0 is 0/0 at every node: the integral is undefined there (the
    point is skipped), not 0 (which refuted a true claim at a = 0)."""
    with recording() as log, pytest.raises(QuadratureUnreliable):
        reliable_quad(lambda t: mpmath.mpf(0) / mpmath.mpf(0), 0, 1, point="a=0")
    assert log.skipped == 1


def test_outside_a_claims_log_nested_integrals_keep_the_reliable_quadrature(monkeypatch):
    """The widened tolerance belongs to one claim's log: outside :func:`recording`, a
    nested integral is not done at 20 digits (the reliable quadrature, here replaced by a
    cheap stand-in, does it), and no comparison is widened; inside, it is."""
    from nested_numeric import d as NUMERIC

    from symderive.check.instances import Evaluator
    from symderive.numeric import DIGITS, agree

    calls = []
    monkeypatch.setattr(quadrature, "_nested", lambda *a: calls.append(a) or mpmath.mpf(1))
    monkeypatch.setattr(quadrature, "reliable_quad",
                        lambda f, lo, hi, *a, **k: f((lo + hi) / 2) * (hi - lo))
    evaluate = Evaluator(NUMERIC.claim("swap"), {})
    point = {leaf: sp.Integer(1) for leaf in evaluate.leaves}
    evaluate(point)
    assert not calls and not quadrature._LOG[0].nested
    with mpmath.workdps(DIGITS):
        assert not agree(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -20)
    with recording():
        evaluate(point)
    assert calls
