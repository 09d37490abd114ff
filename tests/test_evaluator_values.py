"""Evaluator._values: a point's rationals as mpmath numbers, remembered per precision."""

import random

import mpmath
import sympy as sp

from symderive import Derivation
from symderive.check.instances import Evaluator
from symderive.evaluate import raised_precision, working_precision
from symderive.numeric import Sampler

d = Derivation("values", source="tests")
n = d.dim("n", sizes=(2, 3), numeric=6)
x = d.vector("x", n)
claim = d.equal("twice", x + x, 2 * x)
SIZES = {n: 6}


def _point(seed: int) -> dict:
    evaluate = Evaluator(claim, SIZES)
    return Sampler(d, evaluate.leaves, SIZES, random.Random(seed)).draw()


def test_values_are_the_exact_quotients_at_each_precision():
    evaluate = Evaluator(claim, SIZES)
    point = _point(0)
    first = next(iter(point))
    point[first] = sp.Rational(1, 3)
    for _ in range(2):  # the second time from the memo
        with working_precision():
            low = evaluate._values(point)
            assert list(low.values()) == [mpmath.mpf(int(v.p)) / int(v.q)
                                          for v in point.values()]
            third = low[("x", (1,))]
        with raised_precision(10), working_precision():
            high = evaluate._values(point)
            # 1/3 to 10x the digits, not the working-precision number remembered above
            assert high[("x", (1,))] != third
            assert abs(high[("x", (1,))] - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -900


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr("symderive.check.instances.NUMBERS_MAX", 5)
    evaluate = Evaluator(claim, SIZES)
    with working_precision():
        for seed in range(20):
            evaluate._values(_point(seed))
            assert len(evaluate._numbers) <= 5
