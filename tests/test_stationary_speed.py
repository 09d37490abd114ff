"""The cheaper paths of the stationary check compute what the plain ones compute: the
Hessian from the cached gradient is ``sp.hessian``'s, and the better-point search
stepped in Fractions tries the same trials and reports the same point as the SymPy one
(a planted global claim on the lower of two hills is still refuted)."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from symderive import Derivation
from symderive.check import maxima
from symderive.check.dispatch import check_claim
from symderive.check.maxima import better_point
from symderive.check.stationary import build_system
from symderive.loader import import_file
from symderive.numeric import TOLERANCE


@pytest.mark.parametrize("cid", ["45.1", "45.2", "MAP.2", "DA.1"])
def test_hessian_from_the_gradient_is_sympys(cid):
    d = import_file("derivations/em_multinomial.py").derivation
    claim = d.claim(cid)
    for sizes in d.size_configs(claim)[0]:
        system = build_system(claim, sizes)
        assert system.hessian == sp.hessian(system.lagrangian, system.variables)


a, b = sp.symbols("a b")
# two hills in a - b along the constraint a + b = 0: f = Q(a) + Q(-b), Q the quartic
_Q = lambda t: -t ** 4 / 4 + t ** 3 / 3 + t ** 2  # noqa: E731
F = _Q(a) + _Q(-b)


def _search(monkeypatch, exact_steps: bool, screen: bool):
    if not exact_steps:
        monkeypatch.setattr(maxima, "_fractions", lambda Z: None)
    fn = sp.lambdify([a, b], F, "mpmath")
    with mpmath.workdps(70):
        return better_point(F, [a, b], [a + b], {a: sp.Integer(-1), b: sp.Integer(1)},
                            lambda v, t: True, lambda ex: sp.N(ex, 50), random.Random(2),
                            TOLERANCE, screen=(lambda tr: fn(tr[a], tr[b])) if screen
                            else None)


@pytest.mark.parametrize("screen", [False, True])
def test_fraction_steps_find_what_sympy_steps_find(monkeypatch, screen):
    fast = _search(monkeypatch, True, screen)
    monkeypatch.undo()
    plain = _search(monkeypatch, False, screen)
    assert fast is not None and plain is not None  # the lower hill is refuted
    assert fast[0] == plain[0] and fast[1] == plain[1] and fast[2] == plain[2]
    assert all(isinstance(v, sp.Rational) for v in fast[0].values())
    assert fast[1] > fast[2]


def test_planted_lower_hill_claim_is_refuted_end_to_end():
    d = Derivation("speed_hills")
    y = d.scalar("y")
    low = d.stationary("low", _Q(y), [y], {y: -1})
    out = check_claim(low, lambda *args: None)
    assert out.verdict == "refuted" and out.method == "global maximum", out.message
    high = d.stationary("high", _Q(y), [y], {y: 2}, local=True)
    assert check_claim(high, lambda *args: None).verdict in ("proved", "verified")
