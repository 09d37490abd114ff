"""How much evidence to gather for a claim: which sizes, how many points at each, and from
which seed.

A referee does not stop at n = 2 or 3.  Every dimension is sampled at sizes up to at
least :data:`MIN_TOP_SIZE`, no two dimensions of the same size (so that n = n_1 never
hides a transposed product), with :data:`POINTS_PER_SIZE` points per size, and a claim
without dimensions gets :data:`POINTS_SCALAR` points.  Points come from ``--seed`` alone,
never from the claim's name: the same seed gives the same points, and two claims with the
same content get the same points.

Some claims are too costly to evaluate at large sizes (an expectation enumerating K^D
assignments, a multidimensional integral).  Those stop at the largest size whose one
evaluation stays within :data:`WORK_PER_POINT` node visits (counted, not timed, so that
the decision is the same on every run), and their evidence says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..derivation import Claim, Derivation
from ..evaluate import NumericInstantiator

DEFAULT_SEED = 0
MIN_TOP_SIZE = 6
POINTS_SCALAR = 20
POINTS_PER_SIZE = 5
POINTS_SYMBOLIC = POINTS_PER_SIZE  # random points per size also tried by the exact proof
POINTS_NUMERIC = POINTS_PER_SIZE   # random points per larger size checked numerically only
MAX_TRIES = 40       # draws allowed (at least; 3 per wanted point) to find defined points
#: node visits one point's evaluation may take at a sampled size (see evaluate.work_limit)
#: (with derivatives screened along one direction: bn_backprop 10.1 at 7 takes 118 000,
#: em_multinomial 41.1 at 6 116 000, about 0.4 CPU s a point; the K^D enumeration of
#: 42.x more than 2 000 000 at 6, so it stays at the declared sizes)
WORK_PER_POINT = 150_000
#: node visits inside numeric derivatives, entry by entry at the smallest size, above
#: which a claim with dimensions that the all-size prover does not cover skips the exact
#: check at fixed sizes (it could only add evidence, never make the claim proved; it is
#: sampled at sizes >= MIN_TOP_SIZE instead).  bn_backprop's gradients by z2, b2, gamma,
#: beta (434-617 visits) stay; its chain lines and the gradients by W1, b1, z1, sigma^2
#: (733-4866, up to 2 CPU s each in SymPy) go.  Claims that pin their sizes keep it.
EXACT_WORK = 700


def least_work(e: sp.Basic, sizes: dict) -> int:
    """A lower bound, the same at every point, of the node visits (the work
    :data:`WORK_PER_POINT` limits) of evaluating the scalar ``e`` at ``sizes``.  Counted
    are only nodes the walk cannot skip: a sum or product of terms visits each term, a
    ``Sum``/``Product`` whose limits the sizes fix visits its body once per index value
    (an expectation over K^D assignments: K^D bodies); any other node counts one.  So a
    size where this bound already exceeds the limit is too costly without evaluating a
    point there (an evaluation that completes would exceed the limit anyway)."""
    method = _scalar_method(type(e))
    if method is _TERMS:
        return 1 + sum(least_work(a, sizes) for a in e.args)
    if method is _LIMITS:
        terms = 1
        for _, lo, hi in e.limits:
            lo, hi = (sp.sympify(sp.sympify(b).xreplace(sizes)) for b in (lo, hi))
            if not (lo.is_Integer and hi.is_Integer):
                return 1  # limits set by an enclosing index: not counted
            terms *= max(0, int(hi) - int(lo) + 1)
        return 1 + terms * least_work(e.function, sizes)
    return 1


#: the evaluator's methods whose visits :func:`least_work` counts
_TERMS = {NumericInstantiator.scalar_Add, NumericInstantiator.scalar_Mul}
_LIMITS = {NumericInstantiator.scalar_Sum}


def _scalar_method(kind: type):
    """The evaluator's method for a scalar node of class ``kind``, found as its walk finds
    it (the first class of the MRO with one: a subclass of Sum such as an expectation
    over assignments is walked as a sum); a set holding it, or None."""
    if issubclass(kind, MatrixExpr):
        return None
    for klass in kind.__mro__:
        method = getattr(NumericInstantiator, f"scalar_{klass.__name__}", None)
        if method is not None:
            return next((s for s in (_TERMS, _LIMITS) if method in s), None)
    return None


def claim_seed(seed: int | None) -> int:
    """The seed a check uses: ``--seed`` (:data:`DEFAULT_SEED` when not given), never the
    claim's name, so that the same content gets the same points whatever its id."""
    return DEFAULT_SEED if seed is None else int(seed)


def claim_rng(seed: int | None) -> random.Random:
    """The sampler's generator: a function of the seed only."""
    return random.Random(claim_seed(seed))


def tries(wanted: int) -> int:
    """Draws allowed to find ``wanted`` points where both sides are defined."""
    return max(MAX_TRIES, 3 * wanted)


@dataclass
class SizePlan:
    """The size configurations of one claim, with points per configuration."""

    exact: list[dict]                # the small sizes (also tried by the exact proof)
    larger: list[list[dict]]         # per extra slot, candidate sizes, largest first
    points: int
    pinned: bool = False
    notes: list[str] = field(default_factory=list)


def plan_sizes(sym: list[dict], num: list[dict], pinned: bool,
               rng: random.Random) -> SizePlan:
    """Sizes to sample: the derivation's small sizes, then a larger configuration with
    no two dimensions of the same size (:func:`top_sizes`).  It comes
    with fallbacks, ``MIN_TOP_SIZE`` in every dimension and then the derivation's
    declared numeric size, for claims too costly to evaluate there."""
    dims = sorted({k for cfg in sym + num for k in cfg}, key=str)
    if not dims:
        return SizePlan(sym or [{}], [], POINTS_SCALAR)
    if pinned:
        return SizePlan(sym, [], POINTS_PER_SIZE, pinned=True,
                        notes=["sizes pinned by the claim"])
    top = top_sizes(dims, rng, sym + num)
    declared = num[0] if num else {k: max(c[k] for c in sym) for k in dims}
    six = {k: MIN_TOP_SIZE for k in dims}
    ladder = [top] + [c for c in (six, declared) if c != top]
    return SizePlan(sym, [ladder], POINTS_PER_SIZE)


def top_sizes(dims: list, rng: random.Random, configs: list[dict] = ()) -> dict:
    """The larger configuration: ``MIN_TOP_SIZE`` or more in every dimension, and no two
    dimensions of the same size (MIN_TOP_SIZE, MIN_TOP_SIZE + 1, ... in a random order).
    Equal sizes would hide a claim that only holds when they are equal: a transposed
    product of an n x m matrix, an index ranging over the wrong dimension (Z[j, l] for
    Z[l, j]), a sum over i where the sum over j was meant.  The small sizes a derivation
    declares usually move all dimensions together (2, 2 then 3, 3), so this
    configuration is the one that tells them apart.

    The order is random, except that a dimension smaller than another in every one of
    ``configs`` (the sizes the derivation or the claim declares) stays smaller: a least-
    squares solution (X^T X)^-1 X^T y needs at least as many rows as columns, and its
    author says so by the sizes declared.  A single dimension gets MIN_TOP_SIZE or one
    more."""
    dims = list(dims)
    below = {a: {b for b in dims if b != a and _always_smaller(b, a, configs)}
             for a in dims}
    value = MIN_TOP_SIZE + (rng.randint(0, 1) if len(dims) == 1 else 0)
    out: dict = {}
    remaining = list(dims)
    while remaining:
        ready = [a for a in remaining if not below[a] & set(remaining)]
        pick = ready[rng.randrange(len(ready))]
        out[pick] = value
        value += 1
        remaining.remove(pick)
    return {k: out[k] for k in dims}


def _always_smaller(a, b, configs) -> bool:
    """Whether dimension ``a`` is smaller than ``b`` in every configuration naming both
    (and there is one)."""
    both = [c for c in configs if a in c and b in c]
    return bool(both) and all(c[a] < c[b] for c in both)


def numeric_configs(d: Derivation, claim: Claim, rng: random.Random,
                    sizes: tuple | None = None) -> list[dict]:
    """The declared larger sizes, each dimension drawn on its own between the proof sizes
    and the declared numeric sizes (claims under conditions and stationary claims, whose
    conditions are solved exactly at each point, stay at these sizes).  ``sizes``: the
    claim's ``size_configs`` when the caller has them already."""
    sym, num = sizes if sizes is not None else d.size_configs(claim)
    out = []
    for cfg in num:
        lo = {k: max(c[k] for c in sym) for k in cfg}
        out.append({k: rng.randint(min(lo[k], v), max(lo[k], v)) for k, v in cfg.items()})
    return out
