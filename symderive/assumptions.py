"""Domains of the symbols a derivation uses, and how to draw readable points from them.

The sampler prefers small integers and simple fractions so that a counterexample can be
read by a person, and it only ever draws values the derivation declared admissible:
an identity that fails outside its stated domain is not a refutation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import sympy as sp

_SIMPLE_FRACTIONS = [Fraction(1, 2), Fraction(1, 3), Fraction(2, 3), Fraction(3, 2), Fraction(5, 2),
                     Fraction(1, 4), Fraction(3, 4), Fraction(4, 3)]


def _as_rational(value: Fraction | int) -> sp.Rational:
    value = Fraction(value)
    return sp.Rational(value.numerator, value.denominator)


@dataclass(frozen=True)
class Assumption:
    """Base class: the real line."""

    def draw(self, rng: random.Random, count: int) -> list[sp.Rational]:
        """Draw ``count`` values (for a group such as a simplex, the whole group)."""
        return [self._draw_one(rng) for _ in range(count)]

    def _draw_one(self, rng: random.Random) -> sp.Rational:
        if rng.random() < 0.6:
            return sp.Integer(rng.choice([-3, -2, -1, 1, 2, 3]))
        frac = rng.choice(_SIMPLE_FRACTIONS)
        return _as_rational(frac if rng.random() < 0.5 else -frac)

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        """Candidate replacements for shrinking, simplest first."""
        return [sp.Integer(v) for v in (0, 1, -1, 2, -2) if sp.Integer(v) != value]

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

    def _draw_one(self, rng: random.Random) -> sp.Rational:
        if rng.random() < 0.6:
            return sp.Integer(rng.choice([1, 2, 3]))
        return _as_rational(rng.choice(_SIMPLE_FRACTIONS))

    def simpler(self, value: sp.Rational) -> list[sp.Rational]:
        return [v for v in (sp.Integer(1), sp.Integer(2), sp.Rational(1, 2)) if v != value]

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

    def _draw_one(self, rng: random.Random) -> sp.Rational:
        lo, hi = Fraction(self.lo), Fraction(self.hi)
        q = rng.choice([2, 3, 4, 5])
        p = rng.randint(0 if self.closed else 1, q if self.closed else q - 1)
        return _as_rational(lo + (hi - lo) * Fraction(p, q))

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

    def _draw_one(self, rng: random.Random) -> sp.Rational:
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

    def _draw_one(self, rng: random.Random) -> sp.Rational:
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

    def draw(self, rng: random.Random, count: int) -> list[sp.Rational]:
        weights = [rng.randint(1, 4) for _ in range(count)]
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
