"""Zero test for index-notation expressions whose sums have symbolic bounds.

Every rewrite here is an identity valid for every value of every size (each size >= 1)
and every value of every entry; see the README ("Proofs for every size"):

* **alpha-renaming**: a sum's variable is renamed to a canonical one for its depth;
* **linearity**: a sum of a sum of terms is the sum of the sums; a factor free of the
  summation variable moves out; a sum of 1 over lo..hi is hi - lo + 1;
* **Kronecker deltas**: sum over b in lo..hi of delta(b, a) f(b) is f(a) when a is known to
  lie in lo..hi (a free index declared over the same range, or the variable of an
  enclosing sum over the same range);
* **congruence**: sums with the same range are combined, and they are equal when their
  summands are equal for every value of the variable (tested recursively, the variable
  now a free index); f(A) = f(B) when A = B;
* **cancellation**: what remains is a rational function of opaque atoms (entries, sums,
  function applications); if it cancels to zero the identity holds for any value of
  the atoms (``prove.atomize``);
* **binary entries**: an entry declared in {0, 1} whose indices are all free is split
  into its two cases.

``False`` means "not shown", never "the identity fails".
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import sympy as sp

from ..prove import _rational_zero
from .rename import rename
from .sigma import Sigma

#: canonical bound variables, one per nesting depth (Dummies compare by identity)
CANON = [sp.Dummy(f"b{k}", integer=True) for k in range(32)]
MAX_STEPS = 400  # recursive zero tests per claim: work, not seconds, bounds the proof


class _Budget:
    def __init__(self, steps: int):
        self.left = steps

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _range_key(lo, hi) -> tuple:
    return (sp.sympify(lo), sp.sympify(hi))


class ZeroTest:
    """``ranges`` maps each free index to its (lo, hi); ``binary`` says whether an entry
    is declared binary."""

    def __init__(self, ranges: dict, binary, steps: int = MAX_STEPS):
        self.ranges = dict(ranges)
        self.binary = binary
        self.budget = _Budget(steps)

    # -- normal form -------------------------------------------------------------------
    def normal(self, e: sp.Basic, depth: int, ranges: dict) -> sp.Basic:
        """The normal form of ``e`` at ``depth`` (bound variables CANON[depth:]) under
        ``ranges``; pure in its arguments, so it is remembered (``_NORMAL``)."""
        if not isinstance(e, sp.Basic) or e.is_Atom or isinstance(e, sp.Indexed):
            return e
        key = (e, depth, frozenset(ranges.items()))
        out = _NORMAL.get(key)
        if out is None:
            try:
                out = self._normal(e, depth, ranges)
            except _NotShown:
                out = _NOT_SHOWN
            _remember(_NORMAL, key, out)
        if out is _NOT_SHOWN:
            raise _NotShown
        return out

    def _normal(self, e: sp.Basic, depth: int, ranges: dict) -> sp.Basic:
        if isinstance(e, sp.Sum):  # a SymPy Sum: the same as nested Sigmas
            body = e.function
            for lim in e.limits:  # innermost first
                body = Sigma(body, lim)
            e = body
        if isinstance(e, Sigma):
            (v, lo, hi), = e.limits
            lo, hi = self.normal(lo, depth, ranges), self.normal(hi, depth, ranges)
            _check_bounds(lo, hi, ranges)
            c = CANON[depth]
            inner = {**ranges, c: (lo, hi)}
            body = e.function if v == c else rename(e.function, v, c)
            if body is None:  # c occurs in the summand: a rename could capture
                raise _NotShown
            body = self.normal(body, depth + 1, inner)
            return self._sum(body, c, lo, hi, depth, ranges)
        if isinstance(e, sp.Product):
            raise _NotShown
        args = [self.normal(a, depth, ranges) for a in e.args]
        return e.func(*args)

    def _normal_fixpoint(self, e: sp.Basic, depth: int, ranges: dict) -> sp.Basic:
        """``normal`` repeated until nothing changes (at most 4 rounds): a sum that a delta
        or linearity moved out of an enclosing sum is renamed for its new depth."""
        for _ in range(4):
            new = self.normal(e, depth, ranges)
            if new == e:
                break
            e = new
        return e

    def _sum(self, body, c, lo, hi, depth, ranges) -> sp.Basic:
        """sum_{c=lo}^{hi} body, by linearity and delta elimination."""
        out = []
        for term in sp.Add.make_args(_expand_mul(body)):
            free, dep = _split(term, c)
            if dep == 1:
                out.append(free * (hi - lo + 1))
                continue
            target = self._delta_target(dep, c, lo, hi, ranges)
            if target is not None:
                delta, a = target
                out.append(free * (dep / delta).xreplace({c: a}))
                continue
            out.append(free * Sigma(dep, (c, lo, hi)))
        return sp.Add(*out)

    @staticmethod
    def _delta_target(dep, c, lo, hi, ranges):
        for f in sp.Mul.make_args(dep):
            if isinstance(f, sp.KroneckerDelta) and c in f.args:
                a = f.args[1] if f.args[0] == c else f.args[0]
                if c in _free(a):
                    continue
                if a in ranges and _range_key(*ranges[a]) == _range_key(lo, hi):
                    return f, a
        return None

    # -- the test ----------------------------------------------------------------------
    def zero(self, e: sp.Basic, depth: int = 0, ranges: dict | None = None) -> bool:
        ranges = self.ranges if ranges is None else ranges
        if not self.budget.spend():
            return False
        try:
            e = self._normal_fixpoint(sp.sympify(e), depth, ranges)
        except _NotShown:
            return False
        return self._zero(e, depth, ranges)

    def _zero(self, e, depth, ranges) -> bool:
        if e == 0 or _cancels(e):
            return True
        combined = self._by_sums(e, depth, ranges)
        if combined is not None:
            return combined
        unified = self._congruence(e, depth, ranges)
        if unified is not None and (unified == 0 or _cancels(unified)):
            return True
        return self._split_binary(unified if unified is not None else e, depth, ranges)

    def _by_sums(self, e, depth, ranges) -> bool | None:
        """e = R + sum_L Sum_L(G_L): zero when R and every summand G_L are zero."""
        c = CANON[depth]
        rest, groups = [], {}
        for term in sp.Add.make_args(e):
            coeff, part = _sum_factor(term)
            if part is not None and part.limits[0][0] == c and c not in _free(coeff):
                groups.setdefault(part.limits[0][1:], []).append(coeff * part.function)
            else:
                rest.append(term)
        if not groups:
            return None
        if rest and not self.zero(sp.Add(*rest), depth, ranges):
            return False
        for (lo, hi), parts in groups.items():
            if not self.zero(sp.Add(*parts), depth + 1, {**ranges, c: (lo, hi)}):
                return False
        return True

    def _congruence(self, e, depth, ranges) -> sp.Basic | None:
        """Identify applications f(A), f(B) with A = B shown; None when none found."""
        bound = set(CANON[depth:])
        apps = [a for a in _applications(e) if not (_free(a) & bound)]
        classes: list[list] = []
        for a in sorted(apps, key=sp.default_sort_key):
            for cls in classes:
                if self._same(cls[0], a, depth, ranges):
                    cls.append(a)
                    break
            else:
                classes.append([a])
        table = {a: cls[0] for cls in classes for a in cls[1:]}
        return e.xreplace(table) if table else None

    def _same(self, a, b, depth, ranges) -> bool:
        if a.func != b.func or len(a.args) != len(b.args):
            return False
        if isinstance(a, Sigma):
            if a.limits != b.limits:
                return False
            (c, lo, hi), = a.limits
            return self.zero(a.function - b.function, depth + 1, {**ranges, c: (lo, hi)})
        if isinstance(a, sp.KroneckerDelta):
            return False
        return all(x == y or (isinstance(x, sp.Expr) and self.zero(x - y, depth, ranges))
                   for x, y in zip(a.args, b.args))

    def _split_binary(self, e, depth, ranges) -> bool:
        bound = set(CANON[depth:])
        entries = sorted((x for x in _entries(e)
                          if not (_free(x) & bound) and self.binary(x)),
                         key=sp.default_sort_key)[:3]
        if not entries:
            return False
        for case in itertools.product((0, 1), repeat=len(entries)):
            sub = e.xreplace(dict(zip(entries, map(sp.Integer, case))))
            if not self.zero(sub, depth, ranges):
                return False
        return True


class _NotShown(Exception):
    pass


def _check_bounds(lo, hi, ranges) -> None:
    """Refuse a sum whose range may run backwards for some size: hi - lo + 1 must be a
    polynomial with nonnegative coefficients in (s - 1) for each size or index s (each
    >= 1).  Then hi >= lo - 1 always, and the rewrites here (the count hi - lo + 1,
    linearity) mean the same as the walkers' "an empty range is 0"."""
    syms = _free(lo) | _free(hi)
    starts = frozenset((s, sp.sympify(ranges[s][0]) == 1) for s in syms if s in ranges)
    if not _bounds_ok(lo, hi, starts):
        raise _NotShown


@lru_cache(maxsize=4096)
def _bounds_ok(lo, hi, starts: frozenset) -> bool:
    """``_check_bounds`` given, for each symbol of the bounds that is a free index,
    whether its range starts at 1 (pure: remembered)."""
    from_one = {s for s, one in starts if one}
    count = sp.expand(hi - lo + 1)
    syms = sorted(count.free_symbols, key=sp.default_sort_key)
    for s in syms:
        if not ((s.is_integer and s.is_positive) or s in from_one):
            return False
    shifted = sp.expand(count.xreplace({s: s + 1 for s in syms}))
    try:
        coeffs = sp.Poly(shifted, *syms).coeffs() if syms else [shifted]
    except sp.PolynomialError:
        return False
    return all(k.is_number and k >= 0 for k in coeffs)


@lru_cache(maxsize=4096)
def _cancels(e) -> bool:
    """Whether ``e`` cancels as a rational function of its atoms (pure: remembered)."""
    try:
        return _rational_zero(e)
    except (sp.PolynomialError, RecursionError, TypeError):
        return False


def _applications(e) -> list:
    """Function applications and sums in ``e`` (outermost first)."""
    out = []
    for node in sp.preorder_traversal(e):
        if isinstance(node, (Sigma, sp.Function)) and not isinstance(node, sp.KroneckerDelta):
            out.append(node)
    return list(dict.fromkeys(out))


# -- remembered pure functions -------------------------------------------------------
# Keys are SymPy objects, compared structurally (a Dummy only equals itself, symbols
# with different assumptions differ), so a hit is the same computation; the tables are
# bounded, and nothing in them depends on the claim or on the budget.

_NORMAL: dict = {}
_NORMAL_MAX = 50_000
_NOT_SHOWN = object()


def _remember(table: dict, key, value) -> None:
    if len(table) >= _NORMAL_MAX:
        table.clear()
    table[key] = value


@lru_cache(maxsize=65536)
def _free(e: sp.Basic) -> frozenset:
    """The free symbols of ``e`` (SymPy recomputes them on every call)."""
    if isinstance(e, Sigma) or not e.args or isinstance(e, sp.Indexed):
        return frozenset(e.free_symbols)
    return frozenset().union(*map(_free, e.args))


@lru_cache(maxsize=65536)
def _entries(e: sp.Basic) -> frozenset:
    """``e.atoms(sp.Indexed)``, remembered for every subtree."""
    own = frozenset((e,)) if isinstance(e, sp.Indexed) else frozenset()
    return own.union(*map(_entries, e.args))


#: the hints ``sympy.expand_mul`` hands to each node
_MUL_HINTS = dict(power_base=False, power_exp=False, mul=True, log=False,
                  multinomial=False, basic=False)


@lru_cache(maxsize=65536)
def _expand_mul(e: sp.Basic) -> sp.Basic:
    """``sympy.expand_mul(e)``, bottom up with every subtree remembered: SymPy's walks
    the whole tree at least twice per call (a pass, then passes until nothing changes),
    and the prover expands every sum's summand, each containing the inner sums.  The
    same steps at each node: the arguments expanded, then the node's own rule, repeated
    until it changes nothing."""
    if not isinstance(e, sp.Basic) or e.is_Atom or not e.args:
        return e
    while True:
        args = tuple(_expand_mul(a) for a in e.args)
        if args != e.args:
            e = e.func(*args)
        rule = getattr(e, "_eval_expand_mul", None)
        if rule is None:
            return e
        new = rule(**_MUL_HINTS)
        if new == e:
            return e
        e = new


def _split(term: sp.Basic, c) -> tuple[sp.Basic, sp.Basic]:
    """(the factors of ``term`` free of c, the others): ``term.as_independent(c)``
    by free symbols (a factor in which c is bound does not depend on c)."""
    free, dep = [], []
    for f in sp.Mul.make_args(term):
        (dep if c in _free(f) else free).append(f)
    return sp.Mul(*free), sp.Mul(*dep)


def _sum_factor(term: sp.Basic) -> tuple[sp.Basic, Sigma | None]:
    """(coefficient, sum) when ``term`` is a coefficient free of sums times one sum."""
    factors = sp.Mul.make_args(term)
    at = [k for k, f in enumerate(factors) if _has_sum(f)]
    if len(at) != 1 or not isinstance(factors[at[0]], Sigma):
        return term, None
    return sp.Mul(*factors[:at[0]], *factors[at[0] + 1:]), factors[at[0]]


@lru_cache(maxsize=65536)
def _has_sum(e: sp.Basic) -> bool:
    return isinstance(e, Sigma) or any(_has_sum(a) for a in e.args)
