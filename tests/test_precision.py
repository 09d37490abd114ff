"""A disagreement is reported only when it survives higher precision, and which points
refute: one complex side does, two complex sides decide nothing."""

from __future__ import annotations

import mpmath
import pytest

from symderive import evaluate
from symderive.check.counterexample import complex_note, confirmed_failures, failures


def test_raised_precision_multiplies_and_restores():
    digits, fd = evaluate.WORK_DIGITS, evaluate.FD_DIGITS
    with evaluate.raised_precision(2):
        assert (evaluate.WORK_DIGITS, evaluate.FD_DIGITS) == (2 * digits, 2 * fd)
        with evaluate.raised_precision(2):
            assert evaluate.WORK_DIGITS == 4 * digits
    assert (evaluate.WORK_DIGITS, evaluate.FD_DIGITS) == (digits, fd)
    with pytest.raises(RuntimeError), evaluate.raised_precision(4):
        raise RuntimeError
    assert (evaluate.WORK_DIGITS, evaluate.FD_DIGITS) == (digits, fd)


def _rounding(point):
    """Two sides that differ by 10^-(WORK_DIGITS/4): an artefact that shrinks with the
    precision (1e-25 at 100 digits, beyond the tolerance; 1e-125 at 500, within it)."""
    with evaluate.working_precision():
        return [mpmath.mpf(1), 1 + mpmath.mpf(10) ** (-evaluate.WORK_DIGITS // 4)]


def test_a_rounding_artefact_is_not_confirmed():
    assert failures(_rounding({})) == [0]
    assert confirmed_failures(_rounding, {}) == []


def test_a_real_disagreement_is_confirmed():
    assert confirmed_failures(lambda p: [mpmath.mpf(1), mpmath.mpf(2)], {}) == [0]


def test_one_complex_side_refutes_and_is_named():
    vals = [mpmath.mpf(2), mpmath.mpc(2, 1)]
    assert failures(vals) == [0]
    assert "right side is complex" in complex_note(vals, [0])
    assert failures([mpmath.mpc(0, 1), mpmath.mpc(0, 1)]) == []  # both non-real: skipped
    assert failures([mpmath.nan, mpmath.mpf(1)]) == []           # undefined: skipped


def test_a_disagreement_is_confirmed_at_500_and_then_1000_digits():
    seen = []

    def sides(point):
        seen.append(evaluate.WORK_DIGITS)
        return [mpmath.mpf(1), mpmath.mpf(2)]

    assert confirmed_failures(sides, {}) == [0]
    assert seen == [100, 500, 1000]


def test_a_value_still_moving_with_the_precision_is_not_confirmed():
    """Both raised precisions disagree with the other side, but not on one value."""
    def sides(point):
        return [mpmath.mpf(1), 2 + mpmath.mpf(evaluate.WORK_DIGITS) / 10 ** 6]

    assert confirmed_failures(sides, {}) == []
