"""A claim made explicit at fixed sizes: exact SymPy entries, or numbers at a point."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..derivation import Claim, Derivation
from ..evaluate import KinkError, NumericInstantiator, Unresolved, key_of, working_precision
from ..instantiate import Instantiator
from ..matrix_domains import structured
from ..quadrature import QuadratureUnreliable
from .directions import derivative_side, nested, screen
from .plan import least_work


def free_indices(d: Derivation, *exprs: sp.Basic) -> list[sp.Symbol]:
    out: set = set()
    for e in exprs:
        out |= {s for s in getattr(e, "free_symbols", set()) if s in d.indices}
    return sorted(out, key=str)


def expand_family(inst: Instantiator, d: Derivation, exprs, fn=None) -> list:
    """Every instance of ``exprs`` over all values of their free indices."""
    out = []
    for e in exprs:
        idx = free_indices(d, e)
        ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
        for values in itertools.product(*ranges):
            env = dict(zip(idx, values))
            out.append(fn(e, env) if fn else inst.scalar(sp.sympify(e), env, frozenset()))
    return out


@dataclass
class Instance:
    """A claim made explicit at one set of sizes: matching lists of entries."""

    sizes: dict
    labels: list
    lhs: list
    rhs: list
    given: list
    unknowns: list

    @functools.cached_property
    def leaves(self) -> list:
        """The instance's variables (found once: the entries above do not change)."""
        return leaves_of(itertools.chain(self.lhs, self.rhs, self.given), self.unknowns)


def leaves_of(exprs, exclude=()) -> list:
    """The variables of explicit expressions: entries and plain scalar symbols."""
    entries: set = set()
    scalars: set = set()
    for e in exprs:
        e = sp.sympify(e)
        entries |= e.atoms(sp.Indexed)
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    labels = {x.base.label for x in entries}
    out = (entries | (scalars - labels)) - set(exclude)
    return sorted(out, key=str)


class ShapeMismatch(Exception):
    def __init__(self, sizes, env, lshape, rshape):
        super().__init__(f"left side is {lshape[0]}x{lshape[1]} but right side is "
                         f"{rshape[0]}x{rshape[1]}")
        self.sizes, self.env = sizes, env


def instantiate(claim: Claim, sizes: dict, generalise: frozenset = frozenset()) -> Instance:
    """The claim made explicit at ``sizes``.  Definitions in ``generalise`` are left as
    free symbols (see :func:`symderive.check.equality.generalisable`)."""
    d = claim.derivation
    inst = Instantiator(d, sizes)
    idx = free_indices(d, claim.lhs, claim.rhs)
    ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
    labels, lhs, rhs = [], [], []
    for values in itertools.product(*ranges):
        env = dict(zip(idx, values))
        L = inst.explicit(claim.lhs, env, generalise)
        R = inst.explicit(claim.rhs, env, generalise)
        if L.shape != R.shape:
            raise ShapeMismatch(sizes, env, L.shape, R.shape)
        for a in range(L.rows):
            for b in range(L.cols):
                labels.append((env, (a + 1, b + 1), L.shape))
                lhs.append(L[a, b])
                rhs.append(R[a, b])
    given = expand_family(inst, d, claim.given) if claim.given else []
    unknowns = expand_family(inst, d, claim.unknowns) if claim.unknowns else []
    return Instance(dict(sizes), labels, lhs, rhs, given, unknowns)


def referenced_vars(d: Derivation, *exprs: sp.Basic) -> list:
    """The declared variables an expression depends on, through its definitions."""
    return [d.vars[n] for n in sorted(d.var_names(*exprs)) if n in d.vars]


#: entries kept in a derivation's memo of :func:`_claim_facts` before it is emptied
FACTS_MAX = 1024
#: point values kept as mpmath numbers by one :class:`Evaluator` before it forgets them
NUMBERS_MAX = 4096


def _claim_facts(d: Derivation, lhs: sp.Basic, rhs: sp.Basic) -> tuple[list, list]:
    """(referenced variables, free indices) of a claim's two sides: the same at every
    size, so found once per pair of sides and derivation (kept on the derivation, like
    its other caches, keyed on the expressions themselves; bounded)."""
    key = (lhs, rhs, len(d.vars), len(d.defs))  # a variable declared since: found again
    return _memo(d, "_claim_facts", key,
                 lambda: (referenced_vars(d, lhs, rhs), free_indices(d, lhs, rhs)))


def _memo(d: Derivation, name: str, key, make):
    """``make()``, remembered in the derivation's memo ``name`` under ``key`` (a pure
    function of the key and the derivation; at most :data:`FACTS_MAX` entries)."""
    cache = d.__dict__.setdefault(name, {})
    if key not in cache:
        if len(cache) >= FACTS_MAX:
            cache.clear()
        cache[key] = make()
    return cache[key]


def _sizes_key(sizes: dict) -> tuple:
    return tuple(sorted(((str(k), v) for k, v in sizes.items())))


def all_entries(inst: Instantiator, variables) -> list:
    """Every entry of the given variables at the instance's sizes."""
    out = []
    for var in variables:
        shape = [inst.integer(s, {}) for s in var.shape]
        if var.kind == "scalar":
            out.append(var.obj)
            continue
        base = inst._base(var.name)
        domain = structured(var)
        if domain is not None:  # only its free entries are variables
            out += [base[ab] for ab in domain.free(shape[0])]
            continue
        for idx in itertools.product(*(range(1, s + 1) for s in shape)):
            out.append(base[idx] if len(idx) > 1 else base[idx[0]])
    return out


class Evaluator:
    """Both sides of a claim at one size, evaluated at points (numbers fold as they come)."""

    def __init__(self, claim: Claim, sizes: dict):
        self.claim, self.sizes = claim, sizes
        d = claim.derivation
        probe = Instantiator(d, sizes)
        variables, idx = _claim_facts(d, claim.lhs, claim.rhs)
        # the same entries for every claim on these variables at these sizes
        key = (tuple((v.name, id(v)) for v in variables), _sizes_key(sizes))
        self.leaves = list(_memo(d, "_all_entries", key,
                                 lambda: tuple(all_entries(probe, variables))))
        ranges = [range(1, probe.integer(d.indices[k], {}) + 1) for k in idx]
        self.envs = [dict(zip(idx, v)) for v in itertools.product(*ranges)]
        self.labels: list = []
        self.side = derivative_side(claim, self.envs)
        #: points where a numeric derivative could not be resolved (skipped, counted)
        self.unresolved = 0
        #: per leaf entry, its evaluation key and its printed name (computed once, not at
        #: every point); whether the screened derivative is nested (found on first use)
        self._keys: dict = {}
        self._names: dict = {}
        #: the point values met so far as mpmath numbers, per precision (sampled points
        #: repeat their values: 1, -1, 1/1000, ...); bounded
        self._numbers: dict = {}
        self._nested: bool | None = None

    @functools.cached_property
    def least_work(self) -> int:
        """A lower bound of the node visits of evaluating both sides at one point, entry
        by entry (:func:`.plan.least_work` of each side at every index value): the same
        at every point, so found once per size."""
        sides = self.claim.lhs, self.claim.rhs
        return len(self.envs) * sum(least_work(e, self.sizes) for e in sides)

    def _values(self, point: dict) -> dict:
        """The point as the numeric instantiator takes it (call at working precision)."""
        keys, numbers, out = self._keys, self._numbers, {}
        prec = mpmath.mp.prec
        for k, v in point.items():
            key = keys.get(k)
            if key is None:
                key = keys[k] = key_of(k)
            p, q = int(v.p), int(v.q)
            x = numbers.get((p, q, prec))
            if x is None:
                if len(numbers) >= NUMBERS_MAX:
                    numbers.clear()
                x = numbers[p, q, prec] = mpmath.mpf(p) / q
            out[key] = x
        return out

    def screen(self, point: dict) -> list | None:
        """The values at ``point`` as :meth:`__call__` gives them, or, for a claimed
        derivative, its projections on random directions
        (:mod:`symderive.check.directions`).  Raises :class:`Unsettled` when a
        derivative's point must be evaluated entry by entry (the caller does that
        outside the work limit: it is the start of a refutation)."""
        if self.side is None:
            return self(point)
        if self._nested is None:
            self._nested = nested(self.claim.derivation,
                                  (self.claim.lhs, self.claim.rhs)[self.side])
        with working_precision():
            inst = NumericInstantiator(self.claim.derivation, self.sizes, self._values(point))
            return screen(self.claim, inst, self.envs, point, self.side,
                          is_nested=self._nested, names=self._names)

    def __call__(self, point: dict) -> list | None:
        with working_precision():
            inst = NumericInstantiator(self.claim.derivation, self.sizes, self._values(point))
            labels, lhs, rhs = [], [], []
            try:
                for env in self.envs:
                    L = inst.matrix(self.claim.lhs, env, frozenset())
                    R = inst.matrix(self.claim.rhs, env, frozenset())
                    if L.shape != R.shape:
                        raise ShapeMismatch(self.sizes, env, L.shape, R.shape)
                    for a in range(L.rows):
                        for b in range(L.cols):
                            labels.append((env, (a + 1, b + 1), L.shape))
                            lhs.append(L[a, b])
                            rhs.append(R[a, b])
            except Unresolved:
                self.unresolved += 1
                return None
            except (ZeroDivisionError, OverflowError, KinkError, QuadratureUnreliable):
                return None
            self.labels = labels
            return [v if isinstance(v, (mpmath.mpf, mpmath.mpc)) else mpmath.mpf(v)
                    for v in lhs + rhs]
