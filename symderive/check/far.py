"""A wider search for a better feasible point, for a global maximiser claim that no
concavity argument proved.

The better-point search run at every sampled point (maxima.py) steps at most 10 from the
claimed point (times its size at the larger sizes); a second hill at x = 20, or the
heavier mode at 30 of a two-component log-likelihood, lies beyond it, and the false
claim "x = -1 is the global maximiser" was ``verified``.  Here, at a few parameter
points, f is followed along each search direction z (a column of the constraints'
tangent basis, and random combinations: the points stay feasible for affine
constraints) on a geometric grid of steps t = ±2^k · max(1, |x|), k = -6 .. 12; every
local maximum of t -> f(x + t z) on the grid is refined by golden-section search.  All
of this uses the compiled f at 70 digits as a guide only: a candidate counts only when
it lies in the domains and its value, computed exactly as every better point is
(:func:`symderive.check.maxima.number`), exceeds the claimed point's.  So this can only
refute, with a point anyone can check; finding nothing proves nothing (the verdict stays
``verified``, its message unchanged)."""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import sympy as sp

__all__ = ["far_better_point", "GRID", "REFINE", "DIRECTIONS", "SIMPLE"]

#: exponents k of the grid of steps ±2^k · max(1, |x|)
GRID = range(-6, 13)
#: golden-section iterations refining a local maximum on the grid
REFINE = 40
#: search directions at most: basis columns first, then random combinations of them
DIRECTIONS = 8
_GOLD = (mpmath.sqrt(5) - 1) / 2


def far_better_point(fn, x0: list, basis: list, inside, exact, rng: random.Random
                     ) -> tuple | None:
    """(trial, value, base) for a feasible trial point better than ``x0``, or None.

    ``fn(xs)``: f at a list of mpmath numbers (a guide; None where undefined);
    ``x0``: the claimed point as exact rationals or SymPy numbers; ``basis``: the
    search directions' generators (lists of rationals); ``inside(k, value)``: whether
    an mpmath value may be entry k; ``exact(trial)``: (value at trial, value at x0),
    exact, or None."""
    at = [mpmath.mpf(sp.Float(v, mpmath.mp.dps)) for v in x0]
    base = fn(at)
    if base is None:
        return None
    reach = max([mpmath.mpf(1), *(abs(v) for v in at)])
    for z in _directions(basis, rng):
        best = _along(fn, at, z, reach, inside, base)
        if best is None:
            continue
        t = Fraction(str(mpmath.nstr(best, 30)))
        # the simplest step that still gives a better point: a readable counterexample
        for step in dict.fromkeys(t.limit_denominator(10 ** k) for k in SIMPLE):
            trial = [sp.sympify(v) + sp.Rational(step.numerator, step.denominator) * zk
                     for v, zk in zip(x0, z)]
            got = exact(trial)
            if got is not None:
                return trial, *got
    return None


#: the steps tried at a candidate: its value rounded to denominators up to 10^k
SIMPLE = (0, 1, 2, 3, 6, 15)


def _directions(basis: list, rng: random.Random) -> list:
    out = [list(z) for z in basis[:DIRECTIONS]]
    while len(basis) > 1 and len(out) < DIRECTIONS:
        w = [rng.randint(-3, 3) for _ in basis]
        if any(w):
            out.append([sum(wj * z[k] for wj, z in zip(w, basis)) for k in range(len(basis[0]))])
    return out


def _along(fn, at: list, z: list, reach, inside, base):
    """The step t of the best point found along z, if its guide value beats ``base``."""
    def phi(t):
        xs = [a + t * zk for a, zk in zip(at, z)]
        if not all(inside(k, v) for k, v in enumerate(xs) if z[k]):
            return None
        return fn(xs)

    ts = sorted({s * mpmath.ldexp(1, k) * reach for k in GRID for s in (1, -1)})
    vals = [phi(t) for t in ts]
    margin = mpmath.mpf(10) ** (-20) * max(1, abs(base))
    best_t, best_v = None, base + margin
    for i, v in enumerate(vals):
        if v is None:
            continue
        left = vals[i - 1] if i > 0 else None
        right = vals[i + 1] if i + 1 < len(vals) else None
        if (left is not None and left > v) or (right is not None and right > v):
            continue  # not a local maximum on the grid
        lo = ts[i - 1] if i > 0 else ts[i]
        hi = ts[i + 1] if i + 1 < len(ts) else ts[i]
        t, got = _golden(phi, lo, hi, ts[i], v)
        if got > best_v:
            best_t, best_v = t, got
    return best_t


def _golden(phi, lo, hi, t, v):
    """Golden-section refinement of a grid maximum (t, v) on [lo, hi]; the best seen."""
    best = (t, v)
    a, b = lo, hi
    for _ in range(REFINE if hi > lo else 0):
        c, d = b - _GOLD * (b - a), a + _GOLD * (b - a)
        fc, fd = phi(c), phi(d)
        if fc is None or fd is None:
            break
        if fc >= fd:
            b = d
            if fc > best[1]:
                best = (c, fc)
        else:
            a = c
            if fd > best[1]:
                best = (d, fd)
    return best
