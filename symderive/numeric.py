"""Evaluate explicit expressions at exact rational points, in 50-digit arithmetic.

Points are drawn from the declared domains and kept as exact rationals, so a
counterexample can be quoted exactly; the expressions themselves are evaluated with
mpmath, which is fast and precise enough to tell a real disagreement from rounding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .assumptions import REAL, SCALES, Assumption, Binary, Counts, Interval
from .derivation import Derivation
from .matrix_domains import MatrixDomain
from .quadrature import QuadratureUnreliable, reliable_quad, tolerance

DIGITS = 50
#: two values agree when they differ by less than this, relative to their size
TOLERANCE = mpmath.mpf(10) ** (-(DIGITS - 15))

_MODULE = {
    "Heaviside": lambda x, h0=None: mpmath.mpf(1) if x > 0 else (
        mpmath.mpf(0) if x < 0 else mpmath.nan),
    "Max": lambda *a: max(a),
    "Min": lambda *a: min(a),
}


def leaf_name(leaf: sp.Basic) -> str:
    """A readable name for an explicit entry: ``W1[2,1]``, ``gamma``."""
    if isinstance(leaf, sp.Indexed):
        return f"{leaf.base.label}[{','.join(str(i) for i in leaf.indices)}]"
    return str(leaf)


def leaf_base(leaf: sp.Basic) -> str:
    return str(leaf.base.label) if isinstance(leaf, sp.Indexed) else str(leaf)


def assumption_of(d: Derivation, leaf: sp.Basic, extra: dict | None = None) -> Assumption:
    if extra and leaf in extra:
        return extra[leaf]
    var = d.vars.get(leaf_base(leaf))
    return var.assume if var is not None else REAL


def quad_integrals(expr: sp.Basic) -> sp.Basic:
    """``expr`` with each definite integral of a numeric integrand replaced by its value.

    The integrand is lambdified and integrated by mpmath's tanh-sinh quadrature, 10-40
    times faster than ``sp.N`` (which evaluates the integrand through ``evalf`` at every
    node), split at its peak (:func:`symderive.quadrature.reliable_quad`).  An integral
    whose error estimate is not far below the agreement tolerance is NaN (the point is
    skipped); one which cannot be lambdified is left for ``sp.N``.
    """
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Integral):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Integral), _quad_one)


def _quad_one(integral: sp.Integral) -> sp.Basic:
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
        return integral
    var, lo, hi = integral.limits[0]
    f = integral.function
    if f.free_symbols - {var} or lo.free_symbols or hi.free_symbols:
        return integral
    if f.has(sp.zoo, sp.nan):
        return sp.nan  # an undefined integrand: the point is not admissible
    with mpmath.workdps(DIGITS + 10):
        try:
            fn = sp.lambdify(var, f, modules=[_MODULE, "mpmath"])
            ends = [mpmath.inf if e is sp.oo else -mpmath.inf if e is -sp.oo
                    else mpmath.mpf(sp.Float(sp.N(e, DIGITS + 10), DIGITS + 10)._mpf_)
                    for e in (lo, hi)]
            hints = [mpmath.mpf(sp.Float(x, DIGITS + 10)._mpf_) for x in f.atoms(sp.Number)
                     if x.is_real and x.is_finite]
            value = reliable_quad(fn, *ends, hints, point=integral)
        except QuadratureUnreliable:
            return sp.nan  # no reliable value: the point decides nothing
        except (ZeroDivisionError, ValueError, OverflowError, TypeError, NameError, KeyError):
            return integral
        if isinstance(value, mpmath.mpc):
            return sp.Float(value.real, DIGITS + 10) + sp.I * sp.Float(value.imag, DIGITS + 10)
        return sp.Float(value, DIGITS + 10)


def valid(value) -> bool:
    """A finite real value (complex results mean the point left the domain)."""
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > TOLERANCE * max(1, abs(value.real)):
            return False
        value = value.real
    return bool(mpmath.isfinite(value))


def agree(a, b) -> bool:
    a = a.real if isinstance(a, mpmath.mpc) else a
    b = b.real if isinstance(b, mpmath.mpc) else b
    return abs(a - b) <= tolerance(TOLERANCE) * max(1, abs(a), abs(b))


@dataclass
class Sampler:
    """Draws points for the leaves of one instance, respecting their domains.

    Stratified: the k-th point draws each leaf at scale ``SCALES[(k + offset) % 8]``,
    with a random offset per leaf, so every input visits 0, ±1, small, large, random
    rational and near-boundary values within eight points, in varied combinations.
    """

    d: Derivation
    leaves: list
    sizes: dict
    rng: random.Random
    extra: dict | None = None
    count: int = 0
    offsets: dict = field(default_factory=dict)
    #: per leaf, its domain (and per variable, its last extent): looked up once, not at
    #: every draw (valid while ``extra`` is the same object)
    _domains: dict = field(default_factory=dict, repr=False, compare=False)
    _extents: dict = field(default_factory=dict, repr=False, compare=False)
    _extra_seen: object = field(default=None, repr=False, compare=False)

    def _domain(self, leaf) -> Assumption:
        """``assumption_of(self.d, leaf, self.extra)``, remembered per leaf."""
        if self._extra_seen is not self.extra:
            self._domains.clear()
            self._extra_seen = self.extra
        a = self._domains.get(leaf)
        if a is None:
            a = self._domains[leaf] = assumption_of(self.d, leaf, self.extra)
        return a

    def _scale(self, key) -> str:
        """The scale of this point for one leaf (or one simplex group)."""
        if key not in self.offsets:
            self.offsets[key] = self.rng.randrange(len(SCALES))
        return SCALES[(self.count + self.offsets[key]) % len(SCALES)]

    def _group_extent(self, leaf) -> int | None:
        base = leaf_base(leaf)
        if base not in self._extents:
            var = self.d.vars.get(base)
            self._extents[base] = None if var is None or not var.shape else int(
                sp.sympify(var.shape[-1]).xreplace(
                    {k: sp.Integer(v) for k, v in self.sizes.items()}))
        return self._extents[base]

    def draw(self) -> dict:
        point: dict = {}
        for leaf in self.leaves:
            if leaf in point:
                continue
            a = self._domain(leaf)
            if isinstance(a, MatrixDomain) and isinstance(leaf, sp.Indexed):
                n = self._group_extent(leaf)  # a whole structured matrix at once
                scale = self._scale(leaf.base)
                for ab, v in a.draw_matrix(self.rng, n, scale).items():
                    point[leaf.base[ab]] = v
                continue
            if a.grouped and isinstance(leaf, sp.Indexed):
                extent = self._group_extent(leaf)
                head = leaf.indices[:-1]
                values = a.draw(self.rng, extent, self._scale((leaf.base, head)))
                for k, v in enumerate(values, start=1):
                    point[leaf.base[(*head, k)]] = v
            else:
                point[leaf] = a.draw(self.rng, 1, self._scale(leaf))[0]
        self.count += 1
        return point

    def draw_one(self, leaf) -> sp.Rational:
        """One value from ``leaf``'s domain (an ungrouped draw)."""
        a = assumption_of(self.d, leaf, self.extra)
        return sp.Rational(1, self.rng.randint(2, 5)) if a.grouped else a.draw(self.rng, 1)[0]

    def special_points(self) -> list[dict]:
        """Points regular draws seldom reach, tried before them, in this order: the
        simplest point, then the edge points (see both)."""
        return [self.simplest_point(), *self.edge_points()]

    def _movable(self) -> list:
        """The leaves a special point sets, with their domains.  A grouped domain (the
        simplex) is drawn as usual, and so are the entries of vectors, matrices and
        tensors on an unbounded domain: all of them at +-5 at once drive exp(w.x) beyond
        what the numeric derivatives resolve.  A structured matrix (symmetric, positive
        definite, ...) is never moved entry by entry: it stays a whole draw of its domain."""
        out = []
        for leaf in self.leaves:
            a = self._domain(leaf)
            if isinstance(a, MatrixDomain):
                continue
            var = self.d.vars.get(leaf_base(leaf))
            bounded = isinstance(a, (Interval, Binary, Counts))
            if not (a.grouped or (not bounded and var is not None and var.kind != "scalar")):
                out.append((leaf, a))
        return out

    def simplest_point(self) -> dict:
        """A regular draw with every movable leaf at its simplest value (0 on the real
        line: a parameter that vanishes, where a solution set may degenerate)."""
        point = self.draw()
        for leaf, a in self._movable():
            options = a.simpler(sp.nan)
            if options:
                point[leaf] = options[0]
        return point

    def edge_points(self) -> list[dict]:
        """Two regular draws with every movable leaf near the low, then the high end of
        its domain (:meth:`Assumption.edge`: within 1/1000 of the width of an interval),
        where behaviour confined to a neighbourhood of an end, such as a saddle for
        p > 0.999, is found."""
        out = []
        for side in (0, 1):
            point = self.draw()
            for leaf, a in self._movable():
                point[leaf] = a.edge(self.rng, side)
            out.append(point)
        return out

    def simple_matrices(self, leaf) -> list[dict]:
        """For an entry of a structured matrix, simple whole matrices of its domain
        (leaf -> value for every free entry), simplest first; else none."""
        a = self._domain(leaf)
        if not (isinstance(a, MatrixDomain) and isinstance(leaf, sp.Indexed)):
            return []
        base = leaf.base
        return [{base[ab]: v for ab, v in m.items()}
                for m in a.simple_matrices(self._group_extent(leaf))]

    def simpler(self, leaf, value) -> list:
        a = assumption_of(self.d, leaf, self.extra)
        return [] if a.grouped else a.simpler(value)


def fmt_pair(lhs, rhs) -> tuple[str, str]:
    """Both sides of a disagreement, printed with enough digits to show that they differ
    (12 significant digits, more when those agree; at most ``DIGITS``)."""
    a, b = fmt_value(lhs), fmt_value(rhs)
    digits = 12
    while _same_text(a, b) and digits < DIGITS:
        digits = min(DIGITS, digits + 6)
        a, b = fmt_value(lhs, digits, exact=False), fmt_value(rhs, digits, exact=False)
    return a, b


def _same_text(a: str, b: str) -> bool:
    try:
        return a == b or mpmath.mpf(a) == mpmath.mpf(b)
    except (ValueError, TypeError):
        return a == b


def fmt_value(v, digits: int = 12, exact: bool = True) -> str:
    """Exact rationals as written; floats to 12 significant digits."""
    if isinstance(v, sp.Rational):
        return str(v)
    if isinstance(v, mpmath.mpc):
        v = v.real if abs(v.imag) <= TOLERANCE else v
    if isinstance(v, (mpmath.mpf, mpmath.mpc)):
        with mpmath.workdps(DIGITS):
            if exact and isinstance(v, mpmath.mpf) and v == mpmath.nint(v) \
                    and abs(v) < 10**12:
                return str(int(v))
            return mpmath.nstr(v, digits)
    return str(v)


def to_mp(value: sp.Basic):
    """A SymPy number as an mpmath number (NaN when it is not a finite number)."""
    v = sp.N(quad_integrals(value), DIGITS)
    if v.free_symbols or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return mpmath.nan
    if v.is_Float or v.is_Rational:
        return mpmath.mpf(sp.Float(v, DIGITS)._mpf_)
    re, im = v.as_real_imag()
    try:
        return mpmath.mpc(mpmath.mpf(sp.Float(re, DIGITS)._mpf_),
                          mpmath.mpf(sp.Float(im, DIGITS)._mpf_))
    except (TypeError, ValueError, AttributeError):
        return mpmath.nan

