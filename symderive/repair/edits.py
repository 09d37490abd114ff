"""The edit vocabulary of the repair search: the small slips a hand derivation makes.

Every edit replaces one sub-expression of the claimed side (found by its path of argument
positions) with another.  Edits are only *proposed* here; whether one repairs the claim
is decided by the pre-filter and then by the checker itself.  Each carries a rank, the
closeness of the names involved (0 = h <-> hhat, K <-> k; larger = less likely), so that
the likeliest slips are tried, and reported, first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.printing.latex import LatexPrinter

from ..derivation import Claim, Derivation, StationaryClaim
from ..nodes import BatchElement, BatchSum, Broadcast, Component, DefRef, Elementwise
from ..walker import wrt_name

Path = tuple[int, ...]

KINDS = ("replace", "transpose", "swap", "sign", "drop", "factor", "exponent", "indices")

#: pairs of names people confuse although they do not look alike
CONFUSABLE = {frozenset(p) for p in (("mu", "sigma2"), ("mu", "sigma"), ("i", "j"),
                                     ("j", "k"), ("m", "n"), ("x", "y"), ("p", "q"),
                                     ("a", "b"), ("s", "t"))}
_DECORATION = re.compile(r"(hat|tilde|bar|_|\d)")
#: the elementary functions an edit may look inside (anything else is kept whole)
_TRANSPARENT = (sp.log, sp.exp, sp.Abs, Elementwise)


@dataclass(frozen=True)
class Edit:
    """Replace the node at ``path`` of the claimed side by ``new``."""

    path: Path
    old: sp.Basic
    new: sp.Basic
    kind: str
    rank: int  # name closeness: 0 closest
    detail: tuple = ()  # what the description names: the factor, the term, the powers

    @property
    def key(self) -> tuple:
        return (self.rank, KINDS.index(self.kind), self.path)


def stem(name: str) -> str:
    """A name without decorations and case: h1, hhat -> h; K, k -> k; x_hat -> x."""
    return _DECORATION.sub("", name).lower() or name.lower()


def closeness(a: str, b: str) -> int:
    """0 for names that differ by a decoration or case, 1 for a known confusable pair,
    2 for the same initial letter, 3 otherwise."""
    sa, sb = stem(a), stem(b)
    if sa == sb:
        return 0
    if frozenset((sa, sb)) in CONFUSABLE or frozenset((a, b)) in CONFUSABLE:
        return 1
    return 2 if sa[:1] == sb[:1] else 3


# -- walking the claimed side ------------------------------------------------------------
def _children(node: sp.Basic) -> list[int]:
    """Argument positions an edit may enter (never limits, shapes or derivative bodies)."""
    if isinstance(node, (sp.Sum, sp.Product, BatchSum)):
        return [0]
    if isinstance(node, (sp.Add, sp.Mul, sp.MatAdd, sp.MatMul, sp.HadamardProduct,
                         sp.Transpose, sp.Pow, sp.HadamardPower)):
        return list(range(len(node.args)))
    if isinstance(node, _TRANSPARENT):
        return [len(node.args) - 1]
    if isinstance(node, (Component, Broadcast)):
        return [0]
    return []


def positions(expr: sp.Basic, path: Path = ()) -> Iterator[tuple[Path, sp.Basic]]:
    """Every editable node with its path, root first."""
    yield path, expr
    for k in _children(expr):
        yield from positions(expr.args[k], path + (k,))


def at(expr: sp.Basic, path: Path) -> sp.Basic:
    for k in path:
        expr = expr.args[k]
    return expr


def apply(expr: sp.Basic, edits: dict[Path, sp.Basic]) -> sp.Basic:
    """``expr`` with the node at each path replaced (paths must not be nested)."""
    if () in edits:
        return edits[()]
    heads = {p[0] for p in edits}
    args = list(expr.args)
    for k in heads:
        sub = {p[1:]: v for p, v in edits.items() if p[0] == k}
        args[k] = apply(args[k], sub)
    if isinstance(expr, sp.Function):  # log(...) would try to simplify itself: slow
        return expr.func(*args, evaluate=False)
    return expr.func(*args)


def nested(a: Path, b: Path) -> bool:
    return a[:len(b)] == b or b[:len(a)] == a


# -- what may replace what ---------------------------------------------------------------
class Vocabulary:
    """The replacements a derivation offers: same-shape symbols, definitions, indices, and
    the small factors of a claim."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.d: Derivation = claim.derivation
        d = self.d
        self.free = set(_free_indices(d, claim.lhs, claim.rhs))
        self.dims_used = sorted(d.dims_of(claim), key=str) if d else []
        exprs = [claim.lhs, claim.rhs]
        if isinstance(claim, StationaryClaim):
            exprs += [claim.f, *claim.variables, *claim.constraints, *claim.point.values()]
        self.used = _direct_names(exprs)
        self.behind = d.var_names(*exprs)  # also the names inside its definitions

    def _likely(self, name: str, rank: int) -> int | None:
        """The rank of a replacement worth trying (a name close to the old one, or one
        the claim mentions; one only its definitions mention comes later), else None."""
        if rank <= 1 or name in self.used:
            return rank
        return rank + 1 if name in self.behind else None

    # symbols and definitions of the same shape
    def same_shape(self, node: sp.Basic) -> list[tuple[sp.Basic, int]]:
        d = self.d
        out = []
        if isinstance(node, DefRef):
            for other in d.defs.values():
                if other.token == node.token or not other.is_matrix \
                        or len(other.params) != len(node.indices):
                    continue
                shape = tuple(other.body.shape)
                same = shape == tuple(node.shape)
                # a vector of another length: the likely slip when the claim fails for
                # its shape (delta_2 written for delta_1)
                if same or (shape[1] == 1 and node.shape[1] == 1):
                    out.append((DefRef(other.token, *shape, *node.indices),
                                closeness(str(node.token), other.name) + (not same)))
        elif isinstance(node, sp.Indexed) and node.base.label in d.defs:
            for other in d.defs.values():
                if other.token != node.base.label and not other.is_matrix \
                        and len(other.params) == len(node.indices):
                    out.append((sp.IndexedBase(other.name)[node.indices],
                                closeness(str(node.base.label), other.name)))
        elif isinstance(node, BatchElement):
            for var in d.vars.values():
                if var.kind == "batch" and var.name != node.batch.name \
                        and tuple(var.shape) == tuple(d.vars[node.batch.name].shape):
                    out.append((BatchElement(var.obj.symbol, node.index),
                                closeness(node.batch.name, var.name)))
        elif isinstance(node, sp.MatrixSymbol) and node.name in d.vars:
            for var in d.vars.values():
                if var.name != node.name and isinstance(var.obj, sp.MatrixSymbol) \
                        and var.obj.shape == node.shape:
                    out.append((var.obj, closeness(node.name, var.name)))
        elif isinstance(node, sp.Indexed) and str(node.base.label) in d.vars:
            mine = d.vars[str(node.base.label)]
            for var in d.vars.values():
                if var.name != mine.name and var.kind == mine.kind and var.shape == mine.shape:
                    out.append((var.entry_base()[node.indices],
                                closeness(mine.name, var.name)))
        elif isinstance(node, sp.Symbol) and str(node) in d.vars \
                and d.vars[str(node)].kind == "scalar":
            for var in d.vars.values():
                if var.kind == "scalar" and var.name != str(node):
                    out.append((var.obj, closeness(str(node), var.name)))
        elif isinstance(node, sp.Symbol) and node in d.dims:  # a wrong normaliser: K for D
            return [(other, closeness(str(node), str(other))) for other in self.dims_used
                    if other != node]
        ranked = [(new, self._likely(wrt_name(new) or str(new), rank)) for new, rank in out]
        return [(new, rank) for new, rank in ranked if rank is not None]

    def index_options(self, s: sp.Basic, bound: set) -> list[tuple[sp.Symbol, int]]:
        """What may stand in an index position instead of ``s``: an index over the same
        range, or the range's own name (K <-> k)."""
        d = self.d
        if not isinstance(s, sp.Symbol):
            return []
        out = []
        scope = self.free | bound
        if s in d.indices:
            rng = d.indices[s]
            out += [(t, closeness(str(s), str(t))) for t in d.indices
                    if t != s and d.indices[t] == rng and t in scope]
            if isinstance(rng, sp.Symbol):
                out.append((rng, closeness(str(s), str(rng))))
        elif s in d.dims:
            out += [(t, closeness(str(s), str(t))) for t in d.indices
                    if d.indices[t] == s and t in scope]
        return out

    def factors(self, expr: sp.Basic, bound: set) -> list[tuple[sp.Expr, int]]:
        """Small factors to multiply a term by: 2, 1/2, the claim's dimensions and their
        inverses, and scalar symbols of the claim that are in scope at the term."""
        out: list[tuple[sp.Expr, int]] = [(sp.Integer(2), 0), (sp.Rational(1, 2), 0)]
        for dim in self.dims_used:
            out += [(dim, 1), (1 / dim, 1)]
        scope = self.free | bound
        seen = set()
        for name in sorted(self.behind):  # the claim's families at indices in scope: phi_nm
            var = self.d.vars.get(name)
            if var is None or var.kind != "tensor":
                continue
            fills = [[s for s in sorted(scope, key=str) if self.d.indices.get(s) == dim]
                     for dim in var.shape]
            for idx in itertools.product(*fills):
                entry = var.entry_base()[idx]
                if entry not in seen:
                    seen.add(entry)
                    out.append((entry, 2))
        for side in (self.claim.rhs, self.claim.lhs):
            for node in sp.preorder_traversal(side):
                if isinstance(node, sp.Indexed) and str(node.base.label) in self.d.vars \
                        and set().union(*(sp.sympify(i).free_symbols
                                          for i in node.indices)) <= scope \
                        and node not in seen:
                    seen.add(node)
                    out.append((node, 2))
                elif isinstance(node, sp.Symbol) and str(node) in self.d.vars \
                        and self.d.vars[str(node)].kind == "scalar" and node not in seen:
                    seen.add(node)
                    out.append((node, 2))
        return out


def _direct_names(exprs) -> set[str]:
    """The names a claim mentions itself (not through its definitions' bodies)."""
    out = set()
    for e in exprs:
        for node in sp.preorder_traversal(sp.sympify(e)):
            key = _key(node)
            if key is not None:
                out.add(str(key.label) if isinstance(key, sp.IndexedBase) else
                        str(getattr(key, "name", key)))
    return out


def _free_indices(d: Derivation, *exprs) -> list:
    out: set = set()
    for e in exprs:
        out |= {s for s in getattr(e, "free_symbols", set()) if s in d.indices}
    return sorted(out, key=str)


def _bound_at(expr: sp.Basic, path: Path) -> set:
    """Index variables bound by the sums enclosing the node at ``path``."""
    out = set()
    node = expr
    for k in path:
        if isinstance(node, (sp.Sum, sp.Product)):
            out |= {lim[0] for lim in node.limits}
        elif isinstance(node, BatchSum):
            out.add(node.limits[0])
        node = node.args[k]
    return out


def _is_scalar_atom(e: sp.Basic) -> bool:
    return isinstance(e, (sp.Indexed, sp.Symbol)) or (
        isinstance(e, sp.Pow) and isinstance(e.base, (sp.Indexed, sp.Symbol)))


def _exponents(expr: sp.Basic) -> list[sp.Expr]:
    out = []
    for _, node in positions(expr):
        if isinstance(node, (sp.Pow, sp.HadamardPower)) and node.args[1] not in out:
            out.append(node.args[1])
    return out


def _terms(node: sp.Basic) -> bool:
    return isinstance(node, (sp.Add, sp.MatAdd))


def _negate(e: sp.Basic) -> sp.Basic:
    return -e


def _times(c: sp.Expr, e: sp.Basic) -> sp.Basic:
    return sp.MatMul(c, e).doit() if isinstance(e, MatrixExpr) else c * e


# -- the edits ---------------------------------------------------------------------------
def single_edits(claim: Claim, expr: sp.Basic, vocab: Vocabulary | None = None) -> list[Edit]:
    """Every single edit of ``expr`` (the claimed side), likeliest first, without repeats
    of the same resulting formula."""
    vocab = vocab or Vocabulary(claim)
    out: list[Edit] = []
    exps = _exponents(expr)

    def add(path, old, new, kind, rank, detail=()):
        if new != old:
            out.append(Edit(path, old, new, kind, rank, detail))

    renames: dict = {}  # (old key, new key) -> (rank, old node, new node, occurrences)
    for path, node in positions(expr):
        bound = _bound_at(expr, path)
        parent = at(expr, path[:-1]) if path else None
        # replace a symbol or definition by one of the same shape: here, or everywhere
        for new, rank in vocab.same_shape(node):
            add(path, node, new, "replace", rank)
            keys = (_key(node), _key(new))
            if None not in keys:
                renames.setdefault(keys, [rank, node, new, 0])[3] += 1
        # indices: another index of the same range (i <-> j, k <-> K), or swapped
        idx_args = _index_args(node)
        for pos in idx_args:
            for t, rank in vocab.index_options(node.args[pos], bound):
                args = list(node.args)
                args[pos] = t
                add(path, node, node.func(*args), "replace", rank)
        for a, b in zip(idx_args, idx_args[1:]):
            args = list(node.args)
            args[a], args[b] = args[b], args[a]
            add(path, node, node.func(*args), "indices", 1)
        # transposes
        if isinstance(node, sp.Transpose):
            add(path, node, node.arg, "transpose", 0)
        elif isinstance(node, (sp.MatrixSymbol, DefRef, BatchElement, sp.MatMul)) \
                and not isinstance(parent, sp.Transpose) and node.shape != (1, 1):
            add(path, node, node.T, "transpose", 1)
        # swap the two factors of a matrix product
        if isinstance(node, sp.MatMul):
            mats = [k for k, a in enumerate(node.args) if isinstance(a, MatrixExpr)]
            for a, b in zip(mats, mats[1:]):
                args = list(node.args)
                args[a], args[b] = args[b], args[a]
                try:  # with literal sizes SymPy checks the shapes at once: x.T*A is not A*x.T
                    add(path, node, sp.MatMul(*args), "swap", 1)
                except sp.ShapeError:
                    continue  # a swap that does not even build
        # a term: sign, drop, multiply by a small factor
        is_term = not path or _terms(parent) or isinstance(parent, (sp.Sum, BatchSum))
        if is_term:
            if path and _terms(parent) and not _terms(node):
                add(path, node, _negate(node), "sign", 0, _term(expr, path))
            for c, rank in vocab.factors(expr, bound):
                add(path, node, _times(c, node), "factor", rank, (c, *_term(expr, path)))
        if _terms(node) and len(node.args) > 1:
            for k in range(len(node.args)):
                rest = node.args[:k] + node.args[k + 1:]
                add(path, node, node.func(*rest), "drop", 1, ("term", node.args[k]))
        if not path:
            add(path, node, _negate(node), "sign", 0)
        # drop a small factor of a product
        if isinstance(node, (sp.Mul, sp.MatMul)):
            for k, f in enumerate(node.args):
                if f in (-1, 1) or isinstance(f, MatrixExpr):
                    continue
                if f.is_Number or _is_scalar_atom(f) or f in vocab.dims_used or \
                        (isinstance(f, sp.Pow) and f.base in vocab.dims_used):
                    rest = node.args[:k] + node.args[k + 1:]
                    add(path, node, node.func(*rest), "drop", 1, ("factor", f))
        # exponents: +-1, or another exponent of the expression
        if isinstance(node, (sp.Pow, sp.HadamardPower)):
            base, e = node.args
            for new_e in [e + 1, e - 1] + [x for x in exps if x != e]:
                add(path, node, node.func(base, new_e), "exponent", 0 if new_e in exps else 1,
                    (base, e, new_e))
        elif isinstance(parent, sp.Mul) and isinstance(node, (sp.Indexed, sp.Symbol)) \
                and not node.is_Number:
            for new_e in [sp.Integer(0), sp.Integer(2)] + [x for x in exps if x != 1]:
                add(path, node, sp.Pow(node, new_e), "exponent", 0 if new_e in exps else 1,
                    (node, sp.S.One, new_e))
    for (old, new), (rank, a, b, count) in renames.items():
        if count > 1:  # the same wrong symbol throughout
            add((), expr, expr.xreplace({old: new}), "replace", max(0, rank - 1),
                ("everywhere", a, b))
    seen, unique = set(), []
    for e in sorted(out, key=lambda e: e.key):
        try:
            result = apply(expr, {e.path: e.new})
        except (TypeError, ValueError, AttributeError, sp.ShapeError):
            continue  # an edit that does not even build
        if result in seen or result == expr:
            continue
        seen.add(result)
        unique.append(e)
    return unique


def _key(node: sp.Basic) -> sp.Basic | None:
    """What names a replaceable node: a definition's token, a symbol, a family."""
    if isinstance(node, DefRef):
        return node.token
    if isinstance(node, BatchElement):
        return node.batch
    if isinstance(node, sp.Indexed):
        return node.base
    if isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
        return node
    return None


def _index_args(node: sp.Basic) -> list[int]:
    """Argument positions that hold indices."""
    if isinstance(node, sp.Indexed):
        return list(range(1, len(node.args)))
    if isinstance(node, DefRef):
        return list(range(3, len(node.args)))
    if isinstance(node, BatchElement):
        return [1]
    if isinstance(node, Component):
        return [1]
    return []


_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _term(expr: sp.Basic, path: Path) -> tuple:
    """("the second term",) when the node at ``path`` is a term of the top-level sum."""
    if len(path) != 1 or not _terms(expr) or len(expr.args) < 2:
        return ()
    terms = (LatexPrinter()._as_ordered_terms(expr) if isinstance(expr, sp.Add)
             else list(expr.args))
    negative = [bool(getattr(t, "could_extract_minus_sign", lambda: False)()) for t in terms]
    # the order the report prints them in: positive terms first
    printed = [t for t, n in zip(terms, negative) if not n] + \
        [t for t, n in zip(terms, negative) if n]
    term = expr.args[path[0]]
    k = printed.index(term) if term in printed else path[0]
    return (f"the {_ORDINAL[k]} term",) if k < len(_ORDINAL) else ()


def describe(edits: list[Edit], text, arrow: str = "→") -> list[str]:
    """Each edit as a referee would say it: ``h_{1,i} → ĥ_{1,i}``, ``π_k inserted in the
    second term``; ``text`` prints a sub-expression."""
    out = []
    for e in edits:
        where = e.detail[-1] if e.detail and isinstance(e.detail[-1], str) else None
        if not e.path:
            where = "the whole formula"
        if e.kind == "factor":
            out.append(f"{text(e.detail[0])} inserted as a factor of the whole formula"
                       if not e.path else
                       f"{text(e.detail[0])} inserted in {where or text(e.old)}")
        elif e.kind == "sign":
            out.append(f"sign of {where or text(e.old)} flipped")
        elif e.kind == "drop":
            out.append(f"{e.detail[0]} {text(e.detail[1])} dropped")
        elif e.detail and e.detail[0] == "everywhere":
            out.append(f"{text(e.detail[1])} {arrow} {text(e.detail[2])} everywhere")
        elif e.kind == "exponent":
            base, old, new = e.detail
            out.append(f"power of {text(base)}: {text(old)} {arrow} {text(new)}")
        else:
            out.append(f"{text(e.old)} {arrow} {text(e.new)}")
    return out
