"""Domains of the symbols a derivation uses, and how to draw points from them as a referee.

A referee tries the places where formulas break: 0 and ±1, very small values (|x| near
1e-3), large ones (up to 1e3), arbitrary rationals, and the edges of the declared domain
(within 1% of each end of an interval).  Each domain draws from all these scales in turn
(see :data:`SCALES`), so that twenty points visit every scale several times whatever the
seed.  Values stay exact rationals, and the shrinker still replaces them by the simplest
values that keep a counterexample failing, so counterexamples remain readable.  Only
admissible values are ever drawn: an identity that fails outside its domain is not refuted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import sympy as sp

#: the scales a real input is drawn from, in the order a point sequence visits them
SCALES = ("zero", "one", "small", "large", "rational", "simple", "minus_one", "edge")

_SIMPLE_FRACTIONS = [Fraction(1, 2), Fraction(1, 3), Fraction(2, 3), Fraction(3, 2), Fraction(5, 2),
                     Fraction(1, 4), Fraction(3, 4), Fraction(4, 3)]


def _as_rational(value: Fraction | int) -> sp.Rational:
    value = Fraction(value)
    return sp.Rational(value.numerator, value.denominator)


def _round_numbers(value: sp.Rational) -> list[sp.Rational]:
    """Round numbers between the small integers and ``value``: 1/10, 1/100, 1/1000 below
    1 in size, 10, 100, 1000 and the value's integer part above (same sign)."""
    if not getattr(value, "is_Rational", False) or value == 0:
        return []
    sign = 1 if value > 0 else -1
    size = abs(value)
    out = []
    if size < 1:
        out += [sign * sp.Rational(1, 10 ** e) for e in (1, 2, 3)
                if sp.Rational(1, 10 ** e) >= size]
    else:
        out += [sign * sp.Integer(10 ** e) for e in (1, 2, 3) if 10 ** e <= size]
        if not value.is_Integer:
            out.append(sp.Integer(int(value)))
    return out


@dataclass(frozen=True)
class Assumption:
    """Base class: the real line."""

    def draw(self, rng: random.Random, count: int, scale: str | None = None
             ) -> list[sp.Rational]:
        """Draw ``count`` values (for a group such as a simplex, the whole group), each
        at ``scale`` (one of :data:`SCALES`; a random one when None)."""
        return [self._draw_one(rng, scale or rng.choice(SCALES)) for _ in range(count)]

    def _draw_one(self, rng: random.Random, scale: str) -> sp.Rational:
        sign = rng.choice((-1, 1))
        if scale == "zero":
            return sp.Integer(0)
        if scale in ("one", "minus_one"):
            return sp.Integer(1 if scale == "one" else -1)
        if scale in ("small", "edge"):
            return sign * sp.Rational(rng.randint(1, 9), 1000 * rng.choice((1, 1, 10)))
        if scale == "large":
            return sign * sp.Rational(rng.randint(10, 1000) * rng.choice((1, 1, 7)),
                                      rng.choice((1, 1, 7)))
        if scale == "rational":
            q = rng.randint(2, 12)
            return sign * sp.Rational(rng.randint(1, 5 * q), q)
        if rng.random() < 0.6:
            return sp.Integer(rng.choice([-3, -2, -1, 1, 2, 3]))
        return sign * _as_rational(rng.choice(_SIMPLE_FRACTIONS))

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        """Candidate replacements for shrinking, simplest first: small integers, then
        round numbers of the value's sign and magnitude (so a failure that needs a large
        value still shrinks to 1000 rather than 937/7)."""
        out = [sp.Integer(v) for v in (0, 1, -1, 2, -2)]
        out += _round_numbers(value)
        return [v for v in out if self.contains(v) and v != value]

    def edge(self, rng: random.Random, side: int) -> sp.Rational:
        """A value near the low (``side`` 0) or high (1) end of the domain, where the
        regular draws seldom go: the real line's ends are taken as -9/2 and 9/2 (beyond the
        regular draws' -3..3, and not integers, so that powers with such exponents leave
        the principal branch's real axis; moderate enough for the numeric derivatives)."""
        return sp.Rational(9 if side else -9, 2)

    def contains(self, value: sp.Expr) -> bool:
        return bool(value.is_real)

    #: True when the values of one symbol form a single joint draw (a simplex).
    grouped: ClassVar[bool] = False

    def describe(self) -> str:
        return "real"


@dataclass(frozen=True)
class Real(Assumption):
    """Any real number (the default)."""


@dataclass(frozen=True)
class Positive(Assumption):
    """Strictly positive reals."""

    def _draw_one(self, rng: random.Random, scale: str) -> sp.Rational:
        if scale in ("zero", "edge"):  # the boundary 0 is excluded: come close to it
            scale = "small"
        if scale in ("one", "minus_one"):
            return sp.Integer(1)
        return abs(super()._draw_one(rng, scale))

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        out = [sp.Integer(1), sp.Integer(2), sp.Rational(1, 2), *_round_numbers(value)]
        return [v for v in out if v != value]

    def edge(self, rng: random.Random, side: int) -> sp.Rational:
        return sp.Integer(5) if side else sp.Rational(1, 10)

    def contains(self, value: sp.Expr) -> bool:
        return bool(value.is_positive)

    def describe(self) -> str:
        return "positive"


@dataclass(frozen=True)
class Interval(Assumption):
    """A real interval; open unless ``closed`` is set."""

    lo: Fraction = Fraction(0)
    hi: Fraction = Fraction(1)
    closed: bool = False

    def _draw_one(self, rng: random.Random, scale: str) -> sp.Rational:
        lo, hi = Fraction(self.lo), Fraction(self.hi)
        width = hi - lo
        if scale in ("zero", "one", "minus_one", "edge", "small"):
            # within 1% of an end: the end itself when closed, else just inside
            near_lo = scale in ("zero", "minus_one") or (scale != "one" and rng.random() < 0.5)
            if self.closed and scale in ("zero", "one", "minus_one"):
                return _as_rational(lo if near_lo else hi)
            offset = width * Fraction(rng.randint(1, 10), 1000)
            return _as_rational(lo + offset if near_lo else hi - offset)
        if scale == "rational":
            q = rng.randint(2, 12)
            return _as_rational(lo + width * Fraction(rng.randint(1, q - 1), q))
        q = rng.choice([2, 3, 4, 5])
        p = rng.randint(0 if self.closed else 1, q if self.closed else q - 1)
        return _as_rational(lo + width * Fraction(p, q))

    def edge(self, rng: random.Random, side: int) -> sp.Rational:
        """Within 1/1000 of the width of an end (strictly inside), so that behaviour confined to a
        neighbourhood of an end, such as a saddle for p > 0.995, is sampled."""
        lo, hi = Fraction(self.lo), Fraction(self.hi)
        gap = (hi - lo) / 1000
        return _as_rational(hi - gap if side else lo + gap)

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        lo, hi = Fraction(self.lo), Fraction(self.hi)
        mid = _as_rational((lo + hi) / 2)
        out = [mid]
        if self.closed:
            out += [_as_rational(lo), _as_rational(hi)]
        # round points near the ends (1% and 0.1% inside), for failures only found there
        out += [_as_rational(lo + (hi - lo) * Fraction(k, q))
                for q in (100, 1000) for k in (1, q - 1)]
        return [v for v in out if v != value]

    def contains(self, value: sp.Expr) -> bool:
        lo, hi = _as_rational(self.lo), _as_rational(self.hi)
        if self.closed:
            return bool(lo <= value <= hi)
        return bool(lo < value < hi)

    def describe(self) -> str:
        left, right = ("[", "]") if self.closed else ("(", ")")
        return f"{left}{self.lo}, {self.hi}{right}"


@dataclass(frozen=True)
class Binary(Assumption):
    """Values in {0, 1}; the prover may split on the two cases."""

    def _draw_one(self, rng: random.Random, scale: str) -> sp.Rational:
        if scale in ("zero", "one"):
            return sp.Integer(0 if scale == "zero" else 1)
        return sp.Integer(rng.randint(0, 1))

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        return []

    def edge(self, rng: random.Random, side: int) -> sp.Rational:
        return sp.Integer(side)

    def contains(self, value: sp.Expr) -> bool:
        return value in (0, 1)

    def describe(self) -> str:
        return "binary {0, 1}"


@dataclass(frozen=True)
class Counts(Assumption):
    """Nonnegative integer counts."""

    high: int = 4
    low: int = 0

    def _draw_one(self, rng: random.Random, scale: str) -> sp.Rational:
        if scale in ("zero", "edge", "small"):
            return sp.Integer(self.low)
        if scale == "one":
            return sp.Integer(self.low + 1)
        if scale == "large":
            return sp.Integer(rng.randint(self.high, 4 * self.high + 8))
        return sp.Integer(rng.randint(self.low, self.high))

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        return [sp.Integer(v) for v in (self.low, self.low + 1) if v != value]

    def edge(self, rng: random.Random, side: int) -> sp.Rational:
        return sp.Integer(self.high if side else self.low)

    def contains(self, value: sp.Expr) -> bool:
        return bool(value.is_integer and value >= self.low)

    def describe(self) -> str:
        return "nonnegative integer counts" if self.low == 0 else f"integer counts >= {self.low}"


@dataclass(frozen=True)
class Simplex(Assumption):
    """Entries along the last axis are positive and sum to one."""

    grouped: ClassVar[bool] = True

    def draw(self, rng: random.Random, count: int, scale: str | None = None
             ) -> list[sp.Rational]:
        weights = [rng.randint(1, 4) for _ in range(count)]
        if scale in ("small", "edge") and count > 1:  # near the boundary: one tiny entry
            weights = [w * 1000 for w in weights]
            weights[rng.randrange(count)] = rng.randint(1, 9)
        elif scale == "large" and count > 1:  # one entry close to 1
            weights[rng.randrange(count)] = 1000
        total = sum(weights)
        return [sp.Rational(w, total) for w in weights]

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        return []

    def contains(self, value: sp.Expr) -> bool:
        return bool(value.is_positive and value < 1) or value == 1

    def describe(self) -> str:
        return "probability simplex"


REAL = Real()
POSITIVE = Positive()
BINARY = Binary()
COUNTS = Counts()
SIMPLEX = Simplex()
UNIT_INTERVAL = Interval()


def interval(lo: float | Fraction, hi: float | Fraction, closed: bool = False) -> Interval:
    """A real interval ``(lo, hi)``, or ``[lo, hi]`` with ``closed=True``."""
    return Interval(Fraction(lo), Fraction(hi), closed)
