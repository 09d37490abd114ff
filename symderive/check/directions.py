"""Screen a claimed derivative along random directions instead of entry by entry.

A claim ``D(F, X) == C`` whose one side is a whole derivative node is checked at a point
by comparing the derivative of F along random directions v with C applied to v:

* a gradient (F scalar): ``D_v F`` against ``<C, v> = sum_k C_k v_k``;
* a Jacobian (F a vector, X a vector): the vector ``D_v F`` against ``C v``;
* a Hessian: the mixed second derivative ``u^T H v`` against ``u^T C v``.

``D_v F = (F(X + tv) - F(X - tv)) / 2t`` costs two evaluations of F per direction, where
the entrywise route costs two per entry of X (and four per entry pair of a Hessian).
The numbers: at 100 working digits and t = 10^-30, the truncation error of the central
difference is of order t^2 |F'''| (about 10^-54 relative for the magnitudes sampled) and
the rounding error 10^-70; a first-derivative screen therefore compares at
:data:`SCREEN_TOLERANCE` = 10^-45 relative to the size of the sum of the terms
``|C_k v_k|``, a nested (second) difference at the usual 10^-35.

Why a false derivative is found (with probability at least 1 - 2^-32 per point):
the error E = C - D F is a fixed array at the point.  Each entry of v is drawn
independently and uniformly from the 2^33 binary fractions s (1 + r 2^-32), s = ±1,
0 <= r < 2^32.  If E_k != 0 for some k, fix every entry of v but v_k: the projected
error ``<E, v> = E_k v_k + c`` is within tolerance tau of zero only for v_k in an interval
of length 2 tau / |E_k|, which holds at most 1 + 2 tau 2^32 / |E_k| of the grid values, so
at most one (probability 2^-33) as long as |E_k| exceeds tau 2^33.  The same holds for
each row of a Jacobian, and for ``u^T E v`` (fix u first, then argue about v, and
the other way round: probability at most 2^-32).

Every point screens :data:`DIRECTIONS` = 1 direction (a second one would square the
bound below at the price of two more evaluations of F per point).  Per point: a
derivative wrong there (some |E_k| above the threshold) is accepted with probability at
most 2^-33 (gradient, Jacobian; 2^-32 for a Hessian), about 2e-10.  Per claim: the
directions of different points come from generators seeded by different points, so a
claim whose derivative is wrong at j of its sampled points passes all of them with
probability at most 2^-32j.  A formula of analytic functions that is wrong is wrong at
almost every point, so j counts every point sampled at every size (at least 5 per size,
20 for a claim without dimensions): at most 2^-160.  Even a claim wrong at a single
sampled point passes with probability at most 2^-32.  (The probabilities are over the
directions; the generator, Python's Mersenne Twister seeded by the point, is taken to be
uniform.)  A miss can only accept a point, never refute a true claim.

Each v_k is also multiplied by 1 / max(1, |C_k|) (:func:`_scales`; a factor fixed at
the point, so the argument above is unchanged): every projected term is at most 2 in
size, so an error at a small entry is not drowned by a huge entry elsewhere, and the
screen flags any entry whose error exceeds about 10^-43 relative to max(1, |C_k|).  A
Hessian keeps unscaled directions (its nested difference cannot afford smaller steps).

The screen only ever *accepts* a point.  A point where the projections disagree (or any
value is undefined) is evaluated entry by entry as before, and a refutation is always
the entrywise one, confirmed at raised precision: the counterexample names the entry,
with digits that show the difference.  Directions come from a generator seeded by the
point, so the same seed gives the same directions on every run.
"""

from __future__ import annotations

import random

import mpmath
import sympy as sp

from ..evaluate import KinkError, Matrix, NumericInstantiator
from ..nodes import Hess, MatD, ScalarD

#: random directions screened per point (the bound per point and per claim is in
#: the module's docstring)
DIRECTIONS = 1
#: agreement of a first-derivative screen, relative to the size of the projected terms
SCREEN_TOLERANCE = mpmath.mpf(10) ** -45
#: a nested difference (a Hessian, or F itself containing derivatives) keeps the usual
#: tolerance of entrywise comparison (see symderive.numeric.TOLERANCE)
NESTED_TOLERANCE = mpmath.mpf(10) ** -35
_GRID = 2 ** 32
#: a screened variable whose entries scale their steps (held quantities below 1 in size)
#: by less than this is compared entry by entry: the projection would drown them
MIN_SCALE = mpmath.mpf(10) ** -10


class Unsettled(Exception):
    """The screen cannot accept this point: evaluate it entry by entry.  ``suspect``: the
    projections disagree or a value is undefined (a refutation may start here), rather
    than the node being outside the directional route."""

    def __init__(self, why: str, suspect: bool = False):
        super().__init__(why)
        self.suspect = suspect


def derivative_side(claim, envs: list | None = None) -> int | None:
    """0 or 1: the side of ``claim`` that is a whole derivative node worth screening: a
    gradient, Jacobian or Hessian, or a family of derivatives by single entries that
    :func:`_joint` screens as one (``envs``: the values of the claim's free indices)."""
    for side, e in enumerate((claim.lhs, claim.rhs)):
        if isinstance(e, (MatD, Hess)):
            return side
        if isinstance(e, ScalarD) and envs is not None and _joint(e, envs):
            return side
    return None


def draw(rng: random.Random, count: int) -> list:
    """``count`` direction entries, each ±(1 + r 2^-32) for uniform r (see the module's
    argument: a grid of 2^33 values, none of them small)."""
    out = []
    for _ in range(count):
        r = rng.randrange(_GRID)
        sign = 1 if rng.random() < 0.5 else -1
        out.append(mpmath.mpf(sign * (_GRID + r)) / _GRID)
    return out


def nested(d, e: sp.Basic) -> bool:
    """Whether evaluating ``e`` takes derivatives itself (directly or in a definition)."""
    if isinstance(e, Hess):
        return True
    seen, todo = set(), [e.f]
    while todo:
        x = todo.pop()
        if x.has(MatD, Hess, ScalarD):
            return True
        for t in d.var_names(x):
            tok = sp.Symbol(t)
            if t not in seen and tok in d.defs:
                seen.add(t)
                todo.append(sp.sympify(d.defs[tok].body))
    return False


def _shape(node, inst: NumericInstantiator, env: dict) -> tuple[int, int]:
    """The shape of the derivative ``node`` at these sizes (a gradient has its
    variable's, a Jacobian is rows of F by entries of V, a Hessian square)."""
    if isinstance(node, ScalarD):
        return (1, 1)
    rows, cols = (inst.int_of(s, env) for s in node.shape)
    return (rows, cols)


def _project(node, C: Matrix, F: Matrix, applied, keys: int) -> list | None:
    """C applied to the direction(s), laid out like the screened value F, each with the
    size of its terms (what the tolerance is relative to); None when C does not have the
    derivative's layout (the entrywise route reports the mismatch)."""
    if isinstance(node, Hess):
        v, u = applied
        if C.shape != (keys, keys):
            return None
        rows = [[u[a] * C[a, b] * v[b] for a in range(keys) for b in range(keys)]]
    elif F.shape == (1, 1) and C.rows * C.cols == keys:      # a gradient
        rows = [[c * x for c, x in zip(C.data, applied)]]
    elif F.cols == 1 and C.shape == (F.rows, keys):          # a Jacobian
        rows = [[C[a, b] * applied[b] for b in range(keys)] for a in range(F.rows)]
    else:
        return None
    return [(mpmath.fsum(r), mpmath.fsum(abs(t) for t in r)) for r in rows]


def _scales(Cs: list, counts: list) -> tuple[list, list]:
    """Per variable, 1 / max(1, |C|) over the claimed entries it multiplies (its column;
    for a Hessian also per row, for the inner direction), so that every projected term
    C_k v_k is at most 2 in size and an error at a small entry is not drowned by a huge
    one: the screen is then as sensitive, entry for entry, as an entrywise comparison
    relative to max(1, |C_k|)."""
    cols, rows = [], []
    for C, count in zip(Cs, counts):
        if C.rows * C.cols == count:    # laid out like the variable: one entry each
            cols += [1 / max(1, abs(x)) for x in C.data]
            continue
        if C.cols != count:
            raise Unsettled("the claimed side does not have the derivative's layout")
        cols += [1 / max([1] + [abs(C[a, b]) for a in range(C.rows)]) for b in range(count)]
        rows += [1 / max([1] + [abs(C[a, b]) for b in range(C.cols)]) for a in range(C.rows)]
    return cols, rows


def _joint(node, envs: list) -> bool:
    """Whether the family over the claim's free indices is one function's partial
    derivatives (F and the held quantities do not depend on the index): then one
    direction over every member's variables screens the whole family, since
    sum_i <C_i, v_i> = D_v F is again linear in v."""
    if len(envs) < 2 or isinstance(node, Hess):
        return False
    names = node.f.free_symbols.union(*(sp.sympify(h).free_symbols for h in node.holding))
    return not names & set(envs[0])


def _stack(Cs: list, F: Matrix) -> Matrix:
    """The claimed sides of a family side by side: gradients as one row of entries,
    Jacobians column blocks, in the order of the family's variables."""
    if F.shape == (1, 1):
        return Matrix(1, sum(len(C.data) for C in Cs), [x for C in Cs for x in C.data])
    rows = Cs[0].rows
    if any(C.rows != rows for C in Cs):
        raise Unsettled("the claimed sides have different heights")
    return Matrix(rows, sum(C.cols for C in Cs),
                  [C[a, b] for a in range(rows) for C in Cs for b in range(C.cols)])


def _text(x: sp.Basic) -> str:
    """``str(x)``, without the printer for the rationals a point is made of."""
    if isinstance(x, sp.Rational):
        return str(x.p) if x.q == 1 else f"{x.p}/{x.q}"
    return str(x)


def seed_text(point: dict, names: dict | None = None) -> str:
    """The seed of a point's directions: its entries and values as text, sorted (so the
    same point gives the same directions on every run).  ``names``: a memo of the
    entries' names, kept by the caller across the points of one claim."""
    names = {} if names is None else names
    pairs = []
    for k, v in point.items():
        name = names.get(k)
        if name is None:
            name = names[k] = str(k)
        pairs.append((name, _text(v)))
    return "directions:" + repr(sorted(pairs))


def screen(claim, inst: NumericInstantiator, envs: list, point: dict, side: int,
           is_nested: bool | None = None, names: dict | None = None) -> list:
    """Both sides' projections at every index value, as a flat list (left sides, then
    right sides, like an entrywise evaluation).  Raises :class:`Unsettled` when the point
    must be evaluated entry by entry: the projections disagree, a value is undefined, or
    the node is outside the directional route.  ``is_nested`` (:func:`nested` of the node,
    computed here when not given) and ``names`` (see :func:`seed_text`) let a caller
    screening many points work them out once."""
    node = (claim.lhs, claim.rhs)[side]
    claimed = (claim.rhs, claim.lhs)[side]
    if is_nested is None:
        is_nested = nested(claim.derivation, node)
    tol = NESTED_TOLERANCE if is_nested else SCREEN_TOLERANCE
    rng = random.Random(seed_text(point, names))
    groups = [envs] if _joint(node, envs) else [[env] for env in envs]
    derived, projected = [], []
    try:
        for group in groups:
            keys = [k for env in group for k in inst.entries(node.wrt, env)[0]]
            if len(keys) < 2 or len(set(keys)) < len(keys):
                raise Unsettled("one variable, or a family sharing variables")
            Cs = [inst.matrix(claimed, env, frozenset()) for env in group]
            if any(C.shape != _shape(node, inst, env) for C, env in zip(Cs, group)):
                # aᵀ claimed for a gradient that is a column: the same numbers, another
                # claim; the entrywise route refutes it by shape
                raise Unsettled("the claimed side does not have the derivative's shape")
            cols, rows = _scales(Cs, [len(inst.entries(node.wrt, env)[0]) for env in group])
            if isinstance(node, Hess):
                # a nested difference cannot afford smaller steps: unscaled directions
                cols, rows = [1] * len(keys), [1] * len(keys)
            for _ in range(DIRECTIONS):
                v = [x * c for x, c in zip(draw(rng, len(keys)), cols)]
                inner = ([x * r for x, r in zip(draw(rng, len(keys)), rows)]
                         if isinstance(node, Hess) else None)
                got = inst.directional(node, group[0], frozenset(), v, inner, keys)
                if got is None:
                    raise Unsettled("outside the directional route")
                F, applied = got
                if not isinstance(node, Hess) and min(abs(a / x) for a, x in zip(applied, v)
                                                      if x) < MIN_SCALE:
                    raise Unsettled("a held entry too small to screen in a sum")
                C = Cs[0] if len(Cs) == 1 else _stack(Cs, F)
                proj = _project(node, C, F, applied, len(keys))
                if proj is None:
                    raise Unsettled("the claimed side does not have the derivative's layout")
                for a, (b, scale) in zip(F.data, proj):
                    if not (mpmath.isfinite(a) and mpmath.isfinite(b)) or isinstance(
                            a, mpmath.mpc) or isinstance(b, mpmath.mpc):
                        raise Unsettled("a value is undefined or complex", suspect=True)
                    if abs(a - b) > tol * max(1, abs(a), abs(b), scale):
                        raise Unsettled("the projections disagree", suspect=True)
                    derived.append(a)
                    projected.append(b)
    except (ZeroDivisionError, OverflowError, KinkError) as exc:
        raise Unsettled(str(exc), suspect=True) from exc
    lhs, rhs = (derived, projected) if side == 0 else (projected, derived)
    return lhs + rhs
