"""The cheaper quadrature keeps its guarantees (issue 10): the quick peak search falls back
to the full one where it could miss a narrow peak, and an integral remembered within a
claim counts the same work, checks and skipped points as computing it again."""

from __future__ import annotations

import mpmath
import pytest
from gaussians import kl_derivation
from nested_integrals import d as NESTED
from test_quadrature import _mgf_derivation

from symderive import quadrature
from symderive.check.dispatch import check_claim
from symderive.quadrature import ERROR_BOUND, _peak, _search, recording, reliable_quad
from symderive.testing import results

ZERO, ONE = mpmath.mpf(0), mpmath.mpf(1)


def _spike(at, width):
    """1 + a peak of height 100 at distance ``at`` from the end 1 of [0, 1], and its
    integral over [0, 1] (at 90 digits)."""
    def f(x):
        return 1 + 100 * mpmath.exp(-((1 - x - at) / width) ** 2)
    with mpmath.workdps(90):
        exact = 1 + 50 * width * mpmath.sqrt(mpmath.pi) * (
            mpmath.erf(at / width) + mpmath.erf((1 - at) / width))
    return f, exact


# -- the peak search ---------------------------------------------------------------------
@pytest.mark.parametrize("at, width", [("3e-5", "1e-5"), ("5e-8", "1e-8"), ("1e-3", "2e-4")])
def test_a_narrow_peak_hugging_an_end_is_split_at_as_by_the_full_search(at, width):
    """The full search (halving its step down to epsilon at an end) finds these peaks; the
    quick one stops at the end, so reliable_quad must fall back to the full search and
    split at the peak, not merely get a value (3e-5 integrates unsplit within the bound)."""
    with mpmath.workdps(45):
        at, width = mpmath.mpf(at), mpmath.mpf(width)
        f, exact = _spike(at, width)
        old = _peak(f, ZERO, ONE, [])
        assert abs(old[0] - (1 - at)) < 2 * width  # the full search finds it
        with recording() as log:
            got = reliable_quad(f, ZERO, ONE)
        assert abs(got - exact) <= ERROR_BOUND * exact, (got, exact)
        assert any(abs(x - (1 - at)) < 8 * width for x in log.example), log.example
        assert 0 < log.largest_error <= ERROR_BOUND


def test_the_quick_search_alone_stops_at_the_end():
    """Why the fallback is needed (so the test above can fail without it)."""
    with mpmath.workdps(45):
        f, _ = _spike(mpmath.mpf("3e-5"), mpmath.mpf("1e-5"))
        quick = _search(f, ZERO, ONE, [], quick=True)
        assert quick.quick and quick.p == 1


def test_a_peak_at_an_end_costs_far_fewer_evaluations():
    """The GAN integrand 2x log(x / (x + c)) on [0, 1] peaks at the end 1: the quick search
    finds the same peak and width with a fifth of the evaluations."""
    with mpmath.workdps(45):
        c = mpmath.mpf("0.37")
        calls = [0]

        def f(x):
            calls[0] += 1
            return 2 * x * mpmath.log(x / (x + c))
        old = _peak(f, ZERO, ONE, [c])
        full = calls[0]
        calls[0] = 0
        quick = _search(f, ZERO, ONE, [c], quick=True)
        assert (quick.p, quick.width, quick.height) == (1, old[1], old[3])
        assert calls[0] * 5 < full, (calls[0], full)


def test_no_reliable_estimate_still_raises_after_the_fallback():
    """An integrand of no reliable estimate is unreliable after both searches, counted
    once: a refutation never rests on it."""
    with recording() as log, mpmath.workdps(45):
        with pytest.raises(quadrature.QuadratureUnreliable):
            reliable_quad(lambda t: 1 / (1 - t), ZERO, ONE, point="p")
    assert log.skipped == 1 and log.largest_error == 0


# -- an integral remembered within a claim -----------------------------------------------
def _outcomes(claims, monkeypatch, count_calls, memo: bool):
    replays = count_calls(quadrature, "_replay")
    monkeypatch.setattr(quadrature, "MEMO_SIZE", 4096 if memo else 0)
    out = [(o.verdict, o.message, o.evidence.points, o.evidence.sampled_sizes)
           for o in (check_claim(c, lambda *_: None, 0) for c in claims)]
    return out, replays[0]


def test_the_memo_changes_no_verdict_message_or_count(monkeypatch, count_calls):
    """A closed form's checks per point (nested), a refutation confirmed at raised
    precision (KL without 1/2) and a verified claim: identical with and without the memo,
    which is used."""
    kl = kl_derivation()
    claims = [NESTED.claim("box"), kl.claim("kl-no-half"), kl.claim("kl")]
    with_memo, hits = _outcomes(claims, monkeypatch, count_calls, memo=True)
    without, none = _outcomes(claims, monkeypatch, count_calls, memo=False)
    assert with_memo == without
    assert hits > 0 and none == 0


def test_the_memo_keeps_the_sizes_sampled_under_the_work_limit(monkeypatch):
    """Work is counted on a memo hit as if computed: the n-dimensional integral is sampled
    at the same (small) sizes either way."""
    def run(size):
        monkeypatch.setattr(quadrature, "MEMO_SIZE", size)
        got = results(_mgf_derivation(), timeout=120)["mgf"]  # sizes: by work
        return got.verdict, got.message, got.evidence["sampled"]
    with_memo, without = run(4096), run(0)
    assert with_memo == without
    assert "too costly to evaluate at n=" in with_memo[1]
