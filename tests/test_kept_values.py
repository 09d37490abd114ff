"""evaluate._KEPT: values of exp, log, sqrt and powers kept across evaluations are the very
numbers mpmath computes, at the precision in force, and the work counted is the same."""

import random

import mpmath
import pytest
import sympy as sp
from mpmath.libmp import mpf_exp
from symderive.derivations import bn_backprop as bn

import symderive.evaluate as evaluate
from symderive.check.instances import Evaluator
from symderive.numeric import Sampler


def _numbers(rng: random.Random) -> list:
    out = [mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(-2), mpmath.mpc(1, 2), 3, 7, 12]
    for _ in range(20):
        x = mpmath.mpf(rng.randint(-10**6, 10**6)) / rng.randint(1, 10**6)
        out.append(x * mpmath.exp(rng.randint(-40, 40)))
    return out


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b and getattr(a, "_mpf_", None) == getattr(
        b, "_mpf_", None)


@pytest.mark.parametrize("digits", [30, 100, 200])
def test_kept_values_are_mpmaths_own_at_each_precision(digits):
    rng = random.Random(digits)
    numbers = _numbers(rng)
    powers = [2, -1, 0, mpmath.mpf(3) / 2, mpmath.mpf("0.5")]
    for _ in range(2):  # the second time from _KEPT
        with mpmath.workdps(digits):
            for x in numbers:
                for mine, theirs in ((evaluate._exp, mpmath.exp), (evaluate._log, mpmath.log),
                                     (evaluate._sqrt, mpmath.sqrt)):
                    if x == 0 and theirs is mpmath.log:
                        continue
                    assert _same(mine(x), theirs(x)), (x, theirs)
                for p in powers:
                    if x == 0 and (p == -1 or isinstance(p, mpmath.mpf)):
                        continue
                    expected = x ** p if isinstance(p, int) else mpmath.power(x, p)
                    assert _same(evaluate._power(x, p), expected), (x, p)
                assert _same(evaluate._sigmoid(x), 1 / (1 + mpmath.exp(-x))), x
                if type(x) is int or (type(x) is mpmath.mpf and x > 0):
                    for node in (sp.factorial, sp.gamma, sp.loggamma):
                        fn = getattr(mpmath, node.__name__)
                        assert _same(evaluate.FUNCTIONS[node](x), fn(x)), (node, x)
                if type(x) is mpmath.mpf:
                    prec, rnd = mpmath.mp._prec_rounding
                    assert evaluate._exp_raw(x._mpf_, prec, rnd) == mpf_exp(x._mpf_, prec, rnd)


def test_a_value_kept_at_one_precision_is_not_reused_at_another():
    third = mpmath.mpf(1) / 3
    with mpmath.workdps(30):
        low = evaluate._log(third)
    with mpmath.workdps(300):
        high = evaluate._log(+third)
        assert high != low and abs(high - mpmath.log(third)) < mpmath.mpf(10) ** -290
        assert _same(high, mpmath.log(third))


class _NoStore(dict):
    """A cache that keeps nothing: every value made anew."""

    def __setitem__(self, key, value):
        pass


@pytest.mark.parametrize("cid", ["1.1", "9.1", "10.1"])
def test_a_claim_evaluates_to_the_same_numbers_and_work_with_or_without_kept_values(
        cid, monkeypatch):
    claim = bn.derivation.claim(cid)
    sizes = bn.derivation.size_configs(claim)[0][1]
    ev = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, ev.leaves, sizes, random.Random(cid)).draw()

    def run():
        evaluate.work_limit(None)
        values = ev(point)
        return [v._mpf_ if type(v) is mpmath.mpf else v for v in values], evaluate.work_done()

    evaluate._KEPT.clear()
    cold = run()
    warm = run()
    assert cold[0] and len(evaluate._KEPT) > 0
    monkeypatch.setattr(evaluate, "_KEPT", _NoStore())
    fresh = run()
    assert cold == warm == fresh


def test_kept_values_are_bounded(monkeypatch):
    monkeypatch.setattr(evaluate, "KEPT_MAX", 7)
    evaluate._KEPT.clear()
    with mpmath.workdps(50):
        for k in range(1, 40):
            evaluate._log(mpmath.mpf(k))
            assert len(evaluate._KEPT) <= 7
