"""The public API for writing a derivation: symbols, definitions and claims.

A derivation is written once, in general notation (symbolic dimensions such as ``n`` or
``K``).  The checker instantiates it at concrete sizes; the LaTeX printer and the code
generators read the very same expressions.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from .assumptions import REAL, Assumption
from .deferred import BuildError, Unbuilt, deferred
from .matrix_domains import MatrixDomain
from .native import NativeBatchElement, NativeMatrixSymbol
from .nodes import BatchElement, DefRef, Hess, MatD, ScalarD, is_matrix

__all__ = ["Derivation", "Claim", "StationaryClaim", "Var", "Definition", "D", "H"]


def _sympy_assumptions(assume: Assumption) -> dict[str, bool]:
    """SymPy assumptions implied by a domain, so that simplification may use them."""
    from .assumptions import Binary, Counts, Interval, Positive, Simplex

    if isinstance(assume, (Positive, Simplex)):
        return {"positive": True}
    if isinstance(assume, Counts) and assume.low >= 1:
        return {"integer": True, "positive": True}
    if isinstance(assume, (Binary, Counts)):
        return {"integer": True, "nonnegative": True}
    if isinstance(assume, Interval):
        if assume.lo > 0 or (assume.lo == 0 and not assume.closed):
            return {"positive": True}
        if assume.lo >= 0:
            return {"nonnegative": True}
    return {"real": True}


@dataclass
class Var:
    """A declared leaf symbol: what it is, its shape and its domain."""

    name: str
    kind: str  # scalar | vector | matrix | batch | tensor
    shape: tuple[sp.Expr, ...]
    assume: Assumption
    latex: str
    obj: object

    def entry_base(self) -> sp.IndexedBase:
        return sp.IndexedBase(self.name, **_sympy_assumptions(self.assume))


@dataclass
class Definition:
    """A named intermediate quantity: ``name(params) := body``."""

    name: str
    token: sp.Symbol
    body: sp.Basic
    params: tuple[sp.Symbol, ...]
    latex: str
    ref: object

    @property
    def is_matrix(self) -> bool:
        return is_matrix(self.body)


class BatchVar:
    """A batch of vectors ``x_1 .. x_n``; ``x[i]`` is the i-th vector."""

    def __init__(self, symbol: sp.MatrixSymbol, index_dim: sp.Expr):
        self.symbol = symbol
        self.index_dim = index_dim

    def __getitem__(self, i) -> BatchElement:
        return NativeBatchElement(self.symbol, i)


class DefFamily:
    """An indexed matrix-valued definition; ``z1[i]`` refers to ``z_{1,i}``."""

    def __init__(self, token: sp.Symbol, shape: tuple[sp.Expr, sp.Expr], nparams: int):
        self.token, self.shape, self.nparams = token, shape, nparams

    def __getitem__(self, idx) -> DefRef:
        idx = idx if isinstance(idx, tuple) else (idx,)
        if len(idx) != self.nparams:
            raise TypeError(f"{self.token} takes {self.nparams} index(es), got {len(idx)}")
        return DefRef(self.token, *self.shape, *idx)

    def __iter__(self):
        # without it, Python iterates by __getitem__(0), (1), ... for ever: holding=[h]
        # for the family h (not h[i]) hung in sympify
        raise TypeError(f"{self.token} is an indexed definition: write {self.token}[i] "
                        "with its index")


def D(f: sp.Basic, wrt: sp.Basic, holding: Iterable[sp.Basic] = ()) -> sp.Basic:
    """The derivative dF/dwrt, computed by the checker by differentiation.

    ``holding`` names intermediate quantities that are treated as independent
    variables (held fixed) while differentiating, as in a partial derivative
    written with a chain rule.
    """
    holding = list(holding)
    for item in holding:
        if isinstance(item, DefFamily):
            list(item)  # a TypeError that says to write the index
    holding = sp.Tuple(*holding)
    f_scalar = not is_matrix(f) or f.shape == (1, 1)
    if f_scalar and not is_matrix(wrt):
        return ScalarD(f, wrt, holding)
    return MatD(f, wrt, holding)


def own_derivatives(e: sp.Basic) -> sp.Basic:
    """``e`` with SymPy's unevaluated ``Derivative(f, x, ...)`` written as :func:`D`, so
    that the checker computes it on explicit entries like any derivative (SymPy's
    ``Derivative`` of a scalar was an AttributeError in the walkers, of a matrix
    expression a shape error).  SymPy's meaning is kept: its derivative of a column
    vector by a column vector is laid out by the variable's entries first (sp.diff(A*x,
    x) is Aᵀ), the transpose of D's Jacobian; every other case is laid out as D's."""
    e = sp.sympify(e)
    if not isinstance(e, sp.Basic) or not e.has(sp.Derivative):
        return e
    return e.replace(lambda x: isinstance(x, sp.Derivative), _as_D)


def _as_D(node: sp.Derivative) -> sp.Basic:
    f = node.expr
    for v, count in node.variable_count:
        for _ in range(int(count)):
            columns = all(is_matrix(x) and x.shape[1] == 1 and x.shape[0] != 1 for x in (f, v))
            f = D(f, v).T if columns else D(f, v)
    return f


def H(f: sp.Basic, wrt: sp.Basic, holding: Iterable[sp.Basic] = ()) -> Hess:
    """The Hessian of scalar ``f`` with respect to the vector ``wrt``."""
    return Hess(f, wrt, sp.Tuple(*holding))


_EQ_RE = re.compile(r"^(\d+(?:\.\d+)?)")


@dataclass
class Claim:
    """One claimed equality ``lhs == rhs``, anchored at an equation of the source."""

    id: str
    lhs: sp.Basic
    rhs: sp.Basic
    equation: str | None = None
    erratum: str | None = None
    note: str | None = None
    given: tuple[sp.Expr, ...] = ()
    unknowns: tuple[sp.Basic, ...] = ()
    sizes: list[dict] | None = None
    derivation: Derivation | None = field(default=None, repr=False)
    line: int | None = None
    #: set when a lazily built side failed to build (see symderive.deferred)
    build_error: BuildError | None = None

    kind = "equal"

    @property
    def expected(self) -> str | None:
        return "refuted" if self.erratum else None


@dataclass
class StationaryClaim(Claim):
    """``point`` is a stationary point (or maximiser) of ``f`` subject to constraints."""

    f: sp.Expr | None = None
    variables: tuple[sp.Basic, ...] = ()
    constraints: tuple[sp.Expr, ...] = ()
    point: Mapping[sp.Basic, sp.Expr] = field(default_factory=dict)
    maximum: bool = True
    domain: Mapping[sp.Basic, Assumption] = field(default_factory=dict)
    #: a maximiser (minimiser) is global on the feasible set unless ``local``
    local: bool = False
    minimum: bool = False

    kind = "stationary"


class Derivation:
    """A derivation: its symbols, definitions and claims, in general notation."""

    def __init__(self, name: str, source: str = "", title: str = "", doc: str = "",
                 proof_sizes: int | None = None):
        """``proof_sizes`` limits the symbolic proof to the first that many size
        configurations (the rest are still sampled); None tries them all."""
        self.name = name
        self.proof_sizes = proof_sizes
        self.source = source
        self.title = title or name
        self.doc = doc
        self.vars: dict[str, Var] = {}
        self.defs: dict[sp.Symbol, Definition] = {}
        self.dims: dict[sp.Symbol, tuple[tuple[int, ...], int]] = {}
        self.indices: dict[sp.Symbol, sp.Expr] = {}
        self.claims: list[Claim] = []
        self.latex_names: dict[str, str] = {}
        self.file: str | None = None

    # -- symbols -----------------------------------------------------------------------
    def _check_new(self, name: str) -> None:
        taken = set(self.vars) | {str(t) for t in self.defs} | {str(s) for s in self.dims}
        if name in taken:
            raise ValueError(f"{self.name}: the name {name!r} is already used")

    def dim(self, name: str, sizes: Sequence[int] = (2, 3), numeric: int = 4,
            latex: str | None = None) -> sp.Symbol:
        """A symbolic dimension, checked symbolically at ``sizes`` and numerically at
        ``numeric`` (a larger size)."""
        self._check_new(name)
        if len(sizes) < 2:
            raise ValueError(f"{self.name}: dimension {name} needs at least two sizes")
        sym = sp.Symbol(name, integer=True, positive=True)
        self.dims[sym] = (tuple(sizes), numeric)
        if latex:
            self.latex_names[name] = latex
        return sym

    def index(self, name: str, dim: sp.Expr) -> sp.Symbol:
        """An index running over ``1..dim``; a claim's free indices are enumerated."""
        sym = sp.Symbol(name, integer=True)
        self.indices[sym] = dim
        return sym

    def _var(self, name, kind, shape, assume, latex, obj):
        self._check_new(name)
        self.vars[name] = Var(name, kind, tuple(shape), assume or REAL, latex or name, obj)
        if latex:
            self.latex_names[name] = latex
        return obj

    def scalar(self, name: str, assume: Assumption | None = None,
               latex: str | None = None) -> sp.Symbol:
        sym = sp.Symbol(name, **_sympy_assumptions(assume or REAL))
        return self._var(name, "scalar", (), assume, latex, sym)

    def vector(self, name: str, dim: sp.Expr, assume: Assumption | None = None,
               latex: str | None = None) -> sp.MatrixSymbol:
        return self._var(name, "vector", (dim,), assume, latex,
                         NativeMatrixSymbol(name, dim, 1))

    def matrix(self, name: str, rows: sp.Expr, cols: sp.Expr,
               assume: Assumption | None = None, latex: str | None = None) -> sp.MatrixSymbol:
        """A matrix; ``assume`` may be a matrix domain (SYMMETRIC, POSITIVE_DEFINITE,
        INVERTIBLE, ORTHOGONAL, DIAGONAL: :mod:`symderive.matrix_domains`), for a square one."""
        if isinstance(assume, MatrixDomain) and sp.sympify(rows) != sp.sympify(cols):
            raise ValueError(f"{self.name}: {name} is {assume.describe()}, so it must be "
                             f"square, not {rows} x {cols}")
        return self._var(name, "matrix", (rows, cols), assume, latex,
                         NativeMatrixSymbol(name, rows, cols))

    def batch(self, name: str, dim: sp.Expr, count: sp.Expr,
              assume: Assumption | None = None, latex: str | None = None) -> BatchVar:
        """``count`` vectors of size ``dim``; entry (i, a) is component a of vector i."""
        obj = BatchVar(NativeMatrixSymbol(name, dim, count), count)
        return self._var(name, "batch", (count, dim), assume, latex, obj)

    def tensor(self, name: str, shape: Sequence[sp.Expr], assume: Assumption | None = None,
               latex: str | None = None) -> sp.IndexedBase:
        """An indexed family ``T[d, w]`` for index notation (1-based, as the document)."""
        base = sp.IndexedBase(name, **_sympy_assumptions(assume or REAL))
        return self._var(name, "tensor", shape, assume, latex, base)

    # -- definitions -------------------------------------------------------------------
    def define(self, name: str, body: sp.Basic, params: Sequence[sp.Symbol] = (),
               latex: str | None = None):
        """Name an intermediate quantity.  Returns what the formulas refer to it by:
        a matrix expression, ``family[i]`` for indexed ones, a symbol or indexed base."""
        self._check_new(name)
        params = tuple(params)
        token = sp.Symbol(name)
        body = own_derivatives(body)
        if is_matrix(body):
            ref = DefFamily(token, body.shape, len(params)) if params else \
                DefRef(token, *body.shape)
        elif params:
            ref = sp.IndexedBase(name)
        else:
            ref = token
        self.defs[token] = Definition(name, token, body, params, latex or name, ref)
        if latex:
            self.latex_names[name] = latex
        return ref

    # -- claims ------------------------------------------------------------------------
    def _add(self, claim: Claim) -> Claim:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"{self.name}: duplicate claim id {claim.id!r}")
        if claim.equation is None:
            m = _EQ_RE.match(claim.id)
            claim.equation = m.group(1) if m else None
        claim.derivation = self
        claim.line = _caller_line()
        self.claims.append(claim)
        return claim

    def _add_broken(self, id: str, error: BuildError, kw: dict) -> Claim:
        """Declare a claim whose expressions could not be built (checked as such)."""
        unbuilt = Unbuilt(f"unbuilt({id})")  # no two unbuilt claims look the same
        claim = Claim(id, unbuilt, unbuilt, kw.get("equation"), kw.get("erratum"),
                      kw.get("note"), build_error=error)
        claim = self._add(claim)
        claim.line = error.line or claim.line
        return claim

    @deferred
    def equal(self, id: str, lhs: sp.Basic, rhs: sp.Basic, *, erratum: str | None = None,
              note: str | None = None, equation: str | None = None,
              given: Sequence[sp.Expr] = (), unknowns: Sequence[sp.Basic] = (),
              sizes: list[dict] | None = None) -> Claim:
        """Claim ``lhs == rhs``.  With ``given``, the claim is only asserted at the
        solutions of ``given == 0`` for ``unknowns`` (for example at a stationary point)."""
        return self._add(Claim(id, own_derivatives(lhs), own_derivatives(rhs), equation,
                               erratum, note,
                               tuple(given), tuple(unknowns), sizes))

    @deferred
    def derivative(self, id: str, f: sp.Basic, wrt: sp.Basic, claimed: sp.Basic, *,
                   holding: Iterable[sp.Basic] = (), **kw) -> Claim:
        """Claim that ``claimed`` is dF/dwrt; the truth comes from differentiating F."""
        return _kind(self.equal(id, D(f, wrt, holding), claimed, **kw), "derivative")

    @deferred
    def hessian(self, id: str, f: sp.Basic, wrt: sp.Basic, claimed: sp.Basic, *,
                sign: int = 1, **kw) -> Claim:
        """Claim that ``claimed`` is ``sign`` times the Hessian of F."""
        return _kind(self.equal(id, sign * H(f, wrt) if sign != 1 else H(f, wrt), claimed,
                                **kw), "hessian")

    def chain(self, id: str, head: sp.Basic, lines: Sequence[sp.Basic], *,
              errata: Mapping[int, str] | None = None, notes: Mapping[int, str] | None = None,
              first: int = 1, **kw) -> list[Claim]:
        """A multi-line display ``head = line_1 = line_2 = ...``.

        Every line is checked against ``head`` on its own, so a wrong line is
        pinpointed and does not hide the lines after it.  Ids are ``"{id}.{k}"``.
        """
        errata, notes = errata or {}, notes or {}
        out = []
        for k, line in enumerate(lines, start=first):
            out.append(_kind(self.equal(f"{id}.{k}", head, line, erratum=errata.get(k),
                                        note=notes.get(k), equation=f"{id}.{k}", **kw),
                             "chain"))
        return out

    @deferred
    def stationary(self, id: str, f: sp.Expr, variables: Sequence[sp.Basic],
                   point: Mapping[sp.Basic, sp.Expr], *, constraints: Sequence[sp.Expr] = (),
                   maximum: bool = True, minimum: bool = False,
                   domain: Mapping[sp.Basic, Assumption] | None = None,
                   erratum: str | None = None, note: str | None = None,
                   equation: str | None = None, sizes: list[dict] | None = None,
                   local: bool = False) -> StationaryClaim:
        """Claim that ``point`` is a stationary point of ``f`` subject to
        ``constraints == 0`` (a maximiser when ``maximum``, a minimiser when ``minimum``:
        the global one on the feasible set, or a local one with ``local=True``).  The point
        is checked by substitution into the Lagrange conditions; a local optimiser by the
        second-order test, a global one by concavity (convexity) or by a better feasible
        point (a refutation).  Variables may be vectors or matrices, their values matrix
        expressions (``{w: (X.T*X).I * X.T * y}``)."""
        claim = StationaryClaim(id, sp.S.Zero, sp.S.Zero, equation, erratum, note, (), (),
                                sizes, f=sp.sympify(f), variables=tuple(variables),
                                constraints=tuple(constraints), point=dict(point),
                                maximum=maximum and not minimum,
                                domain=dict(domain or {}), local=local, minimum=minimum)
        return self._add(claim)

    # -- sizes -------------------------------------------------------------------------
    def size_configs(self, claim: Claim) -> tuple[list[dict], list[dict]]:
        """(symbolic configs, numeric-only configs) for a claim."""
        if claim.sizes is not None:
            return [dict(s) for s in claim.sizes], []
        used = self.dims_of(claim)  # once, not once per dimension
        dims = {d: v for d, v in self.dims.items() if d in used}
        if not dims:
            return [{}], []
        n = max(len(s) for s, _ in dims.values())
        sym = [{d: s[min(k, len(s) - 1)] for d, (s, _) in dims.items()} for k in range(n)]
        num = [{d: big for d, (_, big) in dims.items()}]
        return sym, num

    def dims_of(self, claim: Claim) -> set:
        """The dimensions a claim depends on, through its variables and definitions."""
        exprs = [claim.lhs, claim.rhs, *claim.given, *claim.unknowns]
        if isinstance(claim, StationaryClaim):
            exprs += [claim.f, *claim.variables, *claim.constraints, *claim.point.values()]
        names = self.var_names(*exprs)
        found: set = set()
        bodies = list(exprs) + [self.defs[sp.Symbol(n)].body for n in names
                                if sp.Symbol(n) in self.defs]
        for e in bodies:
            found |= {s for s in sp.sympify(e).free_symbols if s in self.dims}
            for node in sp.preorder_traversal(e):
                if isinstance(node, sp.Symbol) and node in self.dims:
                    found.add(node)
                if isinstance(node, sp.Symbol) and node in self.indices:
                    found |= sp.sympify(self.indices[node]).free_symbols & set(self.dims)
        for n in names:
            if n in self.vars:
                for dim in self.vars[n].shape:
                    found |= sp.sympify(dim).free_symbols & set(self.dims)
        return found

    def var_names(self, *exprs: sp.Basic) -> frozenset[str]:
        """Names of the variables and definitions the expressions depend on (transitively)."""
        out: set[str] = set()
        for e in exprs:
            for node in sp.preorder_traversal(e):
                if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) and str(node) in self.vars:
                    out.add(str(node))
                elif isinstance(node, sp.IndexedBase) and str(node.label) in self.vars:
                    out.add(str(node.label))
                token = None
                if isinstance(node, DefRef):
                    token = node.token
                elif isinstance(node, sp.IndexedBase) and node.label in self.defs:
                    token = node.label
                elif isinstance(node, sp.Symbol) and node in self.defs:
                    token = node
                if token is not None:
                    out.add(str(token))
                    out |= self.depends(token)
        return frozenset(out)

    def depends(self, token: sp.Symbol) -> frozenset[str]:
        """The variables and definitions a definition depends on (cached)."""
        cache = self.__dict__.setdefault("_depends", {})
        if token not in cache:
            cache[token] = frozenset()  # guards against a definition referring to itself
            cache[token] = self.var_names(self.defs[token].body)
        return cache[token]

    # -- checking and display ------------------------------------------------------------
    def check(self, *ids: str, timeout: float | None = None, jobs: int | None = None,
              repair: bool = True):
        """Check the claims ``ids`` (all by default), with repair hints for refuted claims
        unless ``repair=False``; returns a :class:`~symderive.checked.Report`, which a
        notebook shows as a table."""
        return hook("check")(self, ids, timeout=timeout, jobs=jobs, repair=repair)

    def __repr__(self) -> str:
        n = len(self.claims)
        return f"<Derivation {self.name}: {n} claim{'' if n == 1 else 's'}>"

    def _repr_html_(self) -> str:
        return hook("html")(self)

    def _repr_latex_(self) -> str:
        return hook("latex")(self)

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)


def _kind(claim: Claim, kind: str) -> Claim:
    """Record how a claim was written (``symderive list`` shows it)."""
    claim.kind = kind
    return claim


def _caller_line() -> int | None:
    """The line of the derivation file that made the claim, for error messages."""
    # walking the frames is cheap; inspect.stack() reads the source of every frame
    here = {__file__, deferred.__code__.co_filename}
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename not in here:
            return frame.f_lineno
        frame = frame.f_back
    return None


#: How a derivation is checked, and how it and its results are shown in a notebook.
#: :mod:`symderive.checked` and :mod:`symderive.notebook` install these when ``symderive``
#: is imported: they build on this module (and notebook on checked), so it cannot import
#: them (``tests/test_layout.py`` forbids the cycle).
HOOKS: dict[str, Callable] = {}


def hook(name: str) -> Callable:
    """The function installed under ``name`` in :data:`HOOKS`."""
    try:
        return HOOKS[name]
    except KeyError:
        raise RuntimeError(f"{name} is not available while symderive is "
                           f"still being imported") from None
