"""Evaluate general-notation expressions at a numeric point, in mpmath, quickly.

This is the numeric twin of :mod:`symderive.instantiate`: the same walk over the same
expressions, but every value is an mpmath number at ``WORK_DIGITS`` of precision, so a
large instance costs what its arithmetic costs instead of growing a SymPy tree.
Derivatives are central differences of the function itself (with held quantities
perturbed or kept at their values), at a precision that leaves far more correct digits
than the comparison needs, even for a second derivative.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import mpmath
import sympy as sp
from mpmath.libmp import fone, mpf_add, mpf_div, mpf_exp, mpf_mul, mpf_mul_int, mpf_sub, mpf_sum
from sympy.matrices.exceptions import ShapeError
from sympy.matrices.expressions import MatrixExpr

from .derivation import Derivation
from .invariant import MARKED, UNSAFE, mark_invariants
from .matrix_domains import structured
from .nodes import BatchElement, BatchSum, Component, DefRef, Hess, MatD, ScalarD, sigmoid
from .quadrature import ERROR_BOUND, reliable_quad
from .quadrature import integral as compiled_integral
from .walker import (
    EntryRangeError,
    IndexRangeError,
    InstantiationError,
    MatrixShapeError,
    OperandShapeError,
    Walker,
    finite_limits,
)

#: precision of numeric evaluation, and the finite-difference step 10^-FD_DIGITS
WORK_DIGITS = 100
FD_DIGITS = 30
BASE_DIGITS = WORK_DIGITS  # the precision of sampling, before any confirmation
KINK = mpmath.mpf("1e-20")
QUAD_DIGITS = 60      # precision of quadrature while sampling (see _integral)
SYMBOLIC_STEPS = 200  # work charged for evaluating one node through SymPy


def working_precision():
    """The precision numeric evaluation runs at (``WORK_DIGITS``, read at call time, so
    that :func:`raised_precision` takes effect)."""
    return mpmath.workdps(WORK_DIGITS)


@contextmanager
def raised_precision(factor: int = 2) -> Iterator[None]:
    """``factor`` times the working digits and a finite-difference step ``factor`` times
    as fine (in digits), restored on exit.  A disagreement found at the usual precision is
    confirmed under this before it is reported: a real one stays, a rounding artefact
    shrinks with the step (at a softmax entry of 1e-13, the 10^-30 step leaves errors of
    1e-34).  Nested uses multiply."""
    global WORK_DIGITS, FD_DIGITS
    saved = WORK_DIGITS, FD_DIGITS
    WORK_DIGITS, FD_DIGITS = int(factor * saved[0]), int(factor * saved[1])
    try:
        yield
    finally:
        WORK_DIGITS, FD_DIGITS = saved

@contextmanager
def resolution_checked() -> Iterator[None]:
    """Check every numeric derivative's error bound (:func:`_resolved`) while confirming
    a disagreement: a refutation must not rest on a difference quotient whose rounding
    error may be as large as the gap.  Only then: while sampling, a point is merely
    accepted or sent to confirmation, and the bound is pessimistic (a derivative that is
    exactly 0 because its variable is multiplied by 0 looks like a lost step)."""
    saved = _STATE[5]
    _STATE[5] = True
    try:
        yield
    finally:
        _STATE[5] = saved

Key = tuple  # (name, (indices...)): a leaf entry or an entry of a held quantity


class KinkError(ArithmeticError):
    """A numeric derivative would straddle a kink (ReLU at 0, a Piecewise boundary, ...),
    where a difference quotient is not the derivative: skip the point."""


class Unresolved(KinkError):
    """A numeric derivative whose rounding error bound is not well below the comparison
    tolerance (beside exp(6076), a step of 10^-30 in another variable is lost in the
    last digit of F): the point decides nothing, it is skipped and counted, never a
    refutation."""


class WorkLimit(ArithmeticError):
    """One evaluation took more node visits than allowed (see :func:`work_limit`)."""


#: [depth of numeric differentiation in progress, node visits so far, visit limit,
#:  node visits made inside a numeric derivative, the largest relative error bound of a
#:  numeric derivative computed since the enclosing difference started, whether error
#:  bounds are checked (see resolution_checked)]
_STATE = [0, 0, None, 0, 0, False]
#: the comparison tolerance (symderive.numeric.TOLERANCE, relative to max(1, |value|));
#: a numeric derivative is used only when its error bound is RESOLVE times below it
COMPARE_TOLERANCE = mpmath.mpf(10) ** -35
RESOLVE = 10
#: rounding of one function value, in units of 10^-WORK_DIGITS relative to its size
#: (mpmath rounds each operation to 2^-prec, prec ~ 3.32 WORK_DIGITS + 3 bits; this
#: allows ~100 operations' worth of accumulated rounding)
ROUNDING_ULPS = 100


#: node visits made inside definition bodies computed afresh (cached, so a second walk
#: of the same expression does not make them): what a reused subterm does not charge
#: again (see NumericInstantiator._reused).  Only differences are read
_ABSORBED = [0]
#: reused subterm values kept per instance (see NumericInstantiator._reused)
REUSED_MAX = 1 << 16
#: whether a perturbed instance takes the terms of a sum that do not move from its
#: parent (NumericInstantiator.term); off only to compare, in tests
_SHARE_TERMS = [True]
#: summand -> its free symbols, sorted (the key of a shared term)
_TERM_SYMBOLS: dict = {}


def work_limit(limit: int | None) -> None:
    """Count node visits from now on, and raise :class:`WorkLimit` past ``limit``.

    Work, unlike seconds, does not depend on the machine's load, so a size that is
    "too costly to sample" is the same size on every run."""
    _STATE[1], _STATE[2], _STATE[3] = 0, limit, 0


def work_done() -> tuple[int, int]:
    """(node visits, of which inside numeric derivatives) since :func:`work_limit`."""
    return _STATE[1], _STATE[3]


def _tick(steps: int = 1) -> None:
    _STATE[1] += steps
    if _STATE[0]:
        _STATE[3] += steps
    if _STATE[2] is not None and _STATE[1] > _STATE[2]:
        raise WorkLimit(f"more than {_STATE[2]} evaluation steps")


def near_kink(distance) -> bool:
    """Whether a derivative is being taken and a kink lies within ``KINK`` (far more than
    the difference step 10^-FD_DIGITS times any slope met here)."""
    if _STATE[0] == 0 or isinstance(distance, mpmath.mpc):
        return False
    return abs(distance) < KINK


def _relu(x):
    if near_kink(x):
        raise KinkError("a ReLU argument is 0 at this point")
    return x if x > 0 else mpmath.mpf(0)


def _indicator(x):
    if near_kink(x):
        raise KinkError("an indicator argument is 0 at this point")
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0)


def _guard(name: str, *distances) -> None:
    if any(near_kink(t) for t in distances):
        raise KinkError(f"{name} has a kink within the difference step at this point")


def _abs(x):
    _guard("Abs", x)
    return abs(x)


def _sign(x):
    _guard("sign", x)
    if isinstance(x, mpmath.mpc):
        return x / abs(x) if x != 0 else mpmath.mpf(0)
    return mpmath.mpf((x > 0) - (x < 0))


def _max(*a):
    _guard("Max", *(x - y for k, x in enumerate(a) for y in a[k + 1:]))
    return max(a)


def _min(*a):
    _guard("Min", *(x - y for k, x in enumerate(a) for y in a[k + 1:]))
    return min(a)


def _floor(x):
    _guard("floor", x - mpmath.nint(x))
    return mpmath.floor(x)


def _ceiling(x):
    _guard("ceiling", x - mpmath.nint(x))
    return mpmath.ceil(x)


def _heaviside(x, h0=None):
    _guard("Heaviside", x)
    if x == 0:  # SymPy's convention: H(0) = 1/2 unless stated
        return mpmath.mpf(1) / 2 if h0 is None else h0
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0)


def _logistic(x):
    return 1 / (1 + mpmath.exp(-x))


#: values of exp, log, sqrt and powers at real mpmath numbers: (function, raw argument(s),
#: precision, rounding) -> the result.  A finite difference re-evaluates the whole
#: function with one entry moved, so most arguments recur (log yhat_i' for every i' != i:
#: 9 calls in 10 in the backprop claims).  Pure (the value depends on the key only: the
#: same mpmath operation on the same numbers) and bounded
_KEPT: dict = {}
KEPT_MAX = 1 << 14  # about 8 MB at 100 digits


def _keep(key: tuple, value):
    if len(_KEPT) >= KEPT_MAX:
        _KEPT.clear()
    _KEPT[key] = value
    return value


def _memoised(fn):
    """``fn`` (an mpmath function of one number), its values at real mpmath numbers and
    Python ints kept in :data:`_KEPT`: the same mpmath number as ``fn(x)``, computed
    once."""
    def memo(x):
        kind = type(x)
        if kind is _MPF:
            x_ = x._mpf_
        elif kind is int:  # an int and a raw value (a tuple) never compare equal
            x_ = x
        else:
            return fn(x)
        prec, rnd = _PREC_ROUNDING
        key = (fn, x_, prec, rnd)
        out = _KEPT.get(key)
        return _keep(key, fn(x)) if out is None else out
    memo.__wrapped__ = fn
    return memo


def _power(x, p):
    """``x ** p`` for an integer ``p``, ``mpmath.power(x, p)`` otherwise (what
    HadamardPower computes), kept in :data:`_KEPT` for real mpmath ``x`` and ``p``."""
    kind = type(p)
    if type(x) is not _MPF or (kind is not int and kind is not _MPF):
        return x ** p if isinstance(p, int) else mpmath.power(x, p)
    prec, rnd = _PREC_ROUNDING
    key = (_power, x._mpf_, p if kind is int else p._mpf_, prec, rnd)
    out = _KEPT.get(key)
    if out is None:
        out = _keep(key, x ** p if kind is int else mpmath.power(x, p))
    return out


def _exp_raw(x: tuple, prec: int, rnd: str) -> tuple:
    """``mpf_exp(x, prec, rnd)``, kept in :data:`_KEPT`."""
    key = (mpf_exp, x, prec, rnd)
    out = _KEPT.get(key)
    return _keep(key, mpf_exp(x, prec, rnd)) if out is None else out


_MPF = mpmath.mpf
_PREC_ROUNDING = mpmath.mp._prec_rounding  # mpmath's own list, updated in place
_exp, _log, _sqrt = _memoised(mpmath.exp), _memoised(mpmath.log), _memoised(mpmath.sqrt)
_sigmoid = _memoised(_logistic)

ELEMENTWISE = {"exp": _exp, "log": _log, "sqrt": _sqrt, "relu": _relu,
               "indicator": _indicator, "sigmoid": _sigmoid}

FUNCTIONS = {
    sp.exp: _exp, sp.log: _log, sp.sin: mpmath.sin,
    sp.cos: mpmath.cos, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh,
    sp.tan: mpmath.tan, sp.atan: mpmath.atan, sp.erf: mpmath.erf,
    sp.factorial: _memoised(mpmath.factorial), sp.gamma: _memoised(mpmath.gamma),
    sp.loggamma: _memoised(mpmath.loggamma),
    sp.KroneckerDelta: lambda a, b: mpmath.mpf(1) if a == b else mpmath.mpf(0),
    sigmoid: _sigmoid,
}


#: id of an Indexed node -> (the node, its label, the label's name, its indices):
#: SymPy's properties rebuild these at each access, and hashing an Indexed is dear (a
#: hot path).  Keyed by identity (the node is kept, so its id is not reused); bounded
_INDEXED: dict = {}


def _indexed_parts(e: sp.Indexed) -> tuple:
    if len(_INDEXED) >= 65536:
        _INDEXED.clear()
    label = e.base.label
    out = _INDEXED[id(e)] = (e, label, _name(label), tuple(e.indices))
    return out


def _name(x: sp.Basic) -> str:
    """``str(x)`` for a symbol, without the printer (a hot path)."""
    return x.name if type(x) is sp.Symbol else str(x)


def key_of(leaf: sp.Basic) -> Key:
    """The key of a SymPy leaf entry (``W1[2, 1]`` -> ``("W1", (2, 1))``)."""
    if isinstance(leaf, sp.Indexed):
        return (str(leaf.base.label), tuple(int(i) for i in leaf.indices))
    return (str(leaf), ())


def local(d: Derivation, token: sp.Symbol, changed: frozenset) -> bool:
    """Whether definition ``token`` sees the quantities named in ``changed`` only at its
    own indices: every reference to them (or to a definition depending on them) is
    indexed exactly by its parameters, and such a definition is local too.  Then
    ``token[i']`` does not move when they move at other indices only.  Cached."""
    cache = d.__dict__.setdefault("_local", {})
    key = (token, changed)
    if key not in cache:
        cache[key] = False  # a definition referring to itself is not local
        cache[key] = _local(d, token, changed)
    return cache[key]


def _local(d: Derivation, token: sp.Symbol, changed: frozenset) -> bool:
    defn = d.defs[token]
    return _local_body(d, sp.sympify(defn.body), tuple(defn.params), changed)


def _summand(e: sp.Basic) -> tuple[sp.Basic, sp.Symbol]:
    """The summand of a BatchSum, or of a Sum or Product over one index, and its index."""
    if isinstance(e, BatchSum):
        return e.summand, e.limits[0]
    return e.function, e.limits[0][0]


def local_term(d: Derivation, e: sp.Basic, changed: frozenset,
               fixed: frozenset = frozenset()) -> bool:
    """Whether the summand of ``e`` (see :func:`_summand`) sees the quantities in
    ``changed`` only at the sum's index (as :func:`local`, the index as the parameter):
    then its term for an index value the perturbation does not move is the unperturbed
    one.  ``fixed`` names held quantities that keep their unperturbed values (a direct
    reference to one does not move; a definition depending on one is judged by
    ``changed`` alone, so it counts as moving when the moved quantity is behind it).
    Never for a summand holding a numeric derivative, an integral or an expectation
    (their values may come from caches or routes of the instance that computes them).
    Cached."""
    cache = d.__dict__.setdefault("_local_terms", {})
    key = (e, changed, fixed)
    out = cache.get(key)
    if out is None:
        if len(cache) >= 4096:
            cache.clear()
        body, var = _summand(e)
        out = cache[key] = (not body.has(*UNSAFE)
                            and _local_body(d, body, (var,), changed, fixed))
    return out


def _local_body(d: Derivation, body: sp.Basic, params: tuple, changed: frozenset,
                fixed: frozenset = frozenset()) -> bool:
    if not params or body.has(MatD, Hess, ScalarD):
        return False

    def ok(node) -> bool:
        ref = idx = None
        if isinstance(node, DefRef):
            ref, idx = node.token, tuple(node.indices)
        elif isinstance(node, sp.Indexed):
            ref, idx = node.base.label, tuple(node.indices)
        elif isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            ref, idx = node, ()
        elif isinstance(node, BatchElement):
            ref, idx = node.batch, (node.index,)
        if ref is None:
            return all(ok(a) for a in node.args)
        name = str(ref)
        if name in fixed:
            return True
        moves = name in changed or (ref in d.defs and bool(d.depends(ref) & changed))
        if not moves:
            return True
        return idx == params and (name in changed or local(d, ref, changed))

    return ok(body)


_make = mpmath.mp.make_mpf
_ONE = mpmath.mpf(1)  # exact: the same number at every precision


def _raw(data: list) -> list | None:
    """mpmath's raw values of a list of real mpmath numbers; None if any entry is
    something else (an int, a complex number): then mpmath's own operators are used."""
    for x in data:
        if type(x) is not _MPF:
            return None
    return [x._mpf_ for x in data]


def _fsum(terms: list):
    """``mpmath.fsum(terms)``, straight on mpmath's raw values when every term is a real
    mpmath number (what fsum does then, without its per-term type tests)."""
    raw = _raw(terms)
    if raw is None:
        return mpmath.fsum(terms)
    prec, rnd = mpmath.mp._prec_rounding
    return _make(mpf_sum(raw, prec, rnd))


def _product(factors: list):
    """``mpf(1) * f1 * f2 * ...`` in this order, on raw values for real mpmath numbers
    and Python ints (what mpf.__mul__ does for them), by the operators otherwise."""
    prec, rnd = mpmath.mp._prec_rounding
    acc = fone
    for k, x in enumerate(factors):
        kind = type(x)
        if kind is _MPF:
            acc = mpf_mul(acc, x._mpf_, prec, rnd)
        elif kind is int:
            acc = mpf_mul_int(acc, x, prec, rnd)
        else:
            out = _make(acc)
            for y in factors[k:]:
                out = out * y
            return out
    return _make(acc)


class Matrix:
    """A small dense matrix of mpmath numbers (row-major lists)."""

    __slots__ = ("rows", "cols", "data")

    def __init__(self, rows: int, cols: int, data: list):
        self.rows, self.cols, self.data = rows, cols, data

    @classmethod
    def build(cls, rows: int, cols: int, fn) -> Matrix:
        return cls(rows, cols, [fn(a, b) for a in range(rows) for b in range(cols)])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    def __getitem__(self, ab):
        a, b = ab
        return self.data[a * self.cols + b]

    def map(self, fn) -> Matrix:
        _tick(len(self.data))
        return Matrix(self.rows, self.cols, [fn(x) for x in self.data])

    def zip(self, other: Matrix, fn) -> Matrix:
        self._fits(other)
        return Matrix(self.rows, self.cols, [fn(x, y) for x, y in zip(self.data, other.data)])

    def _fits(self, other: Matrix) -> None:
        """Entrywise operations need equal shapes; they cost one step per entry."""
        if self.rows != other.rows or self.cols != other.cols:
            raise MatrixShapeError(f"shapes {self.shape} and {other.shape} do not match")
        _tick(len(self.data))

    # the common entrywise operations: on real entries straight on mpmath's raw values,
    # as mpf.__add__ etc. compute them (no mpf method call per entry)
    def __add__(self, other: Matrix) -> Matrix:
        return self._entrywise(other, mpf_add, operator.add)

    def __sub__(self, other: Matrix) -> Matrix:
        return self._entrywise(other, mpf_sub, operator.sub)

    def hadamard(self, other: Matrix) -> Matrix:
        return self._entrywise(other, mpf_mul, operator.mul)

    def _entrywise(self, other: Matrix, raw_op, op) -> Matrix:
        self._fits(other)
        a, b = _raw(self.data), _raw(other.data)
        if a is not None and b is not None:
            prec, rnd = mpmath.mp._prec_rounding
            return Matrix(self.rows, self.cols,
                          [_make(raw_op(x, y, prec, rnd)) for x, y in zip(a, b)])
        return Matrix(self.rows, self.cols, [op(x, y) for x, y in zip(self.data, other.data)])

    def scale(self, c) -> Matrix:
        _tick(len(self.data))
        if type(c) is _MPF:  # c * x for real entries is mpf_mul of the raw values
            raw = _raw(self.data)
            if raw is not None:
                prec, rnd = _PREC_ROUNDING
                c = c._mpf_
                return Matrix(self.rows, self.cols, [_make(mpf_mul(c, x, prec, rnd))
                                                     for x in raw])
        return Matrix(self.rows, self.cols, [c * x for x in self.data])

    def unit_scaled(self) -> Matrix:
        """``self.scale(mpf(1))`` (a product without a scalar factor), counted the same:
        itself when every entry is a real mpmath number of at most the working
        precision's bits, which multiplying by 1 leaves as it is."""
        prec = mpmath.mp._prec_rounding[0]
        for x in self.data:
            if type(x) is not _MPF or x._mpf_[3] > prec:
                return self.scale(_ONE)
        _tick(len(self.data))
        return self

    def __matmul__(self, other: Matrix) -> Matrix:
        if self.cols != other.rows:
            raise MatrixShapeError(f"cannot multiply {self.shape} by {other.shape}")
        n, m = self.cols, other.cols
        _tick(self.rows * m * n)
        # fdot sums the exact products and rounds once: one call per entry, no
        # intermediate numbers (as accurate as fsum of rounded products, or more)
        A, B = _raw(self.data), _raw(other.data)
        if A is not None and B is not None:  # what fdot does on real entries
            prec, rnd = mpmath.mp._prec_rounding
            rows = [A[a * n:(a + 1) * n] for a in range(self.rows)]
            cols = [B[b::m] for b in range(m)]
            return Matrix(self.rows, m, [_make(mpf_sum([mpf_mul(x, y) for x, y in zip(r, c)],
                                                       prec, rnd))
                                         for r in rows for c in cols])
        rows = [self.data[a * n:(a + 1) * n] for a in range(self.rows)]
        cols = [other.data[b::m] for b in range(m)]
        return Matrix(self.rows, m, [mpmath.fdot(r, c) for r in rows for c in cols])

    @property
    def T(self) -> Matrix:
        data, rows, cols = self.data, self.rows, self.cols
        return Matrix(cols, rows, [data[b * cols + a] for a in range(cols) for b in range(rows)])


def _mp(value: sp.Basic):
    """A SymPy number as an mpmath one, at working precision (NaN if not a number)."""
    value = sp.N(value, WORK_DIGITS)
    if value.free_symbols or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return mpmath.nan
    re, im = value.as_real_imag()
    if im == 0:
        return mpmath.mpf(sp.Float(re, WORK_DIGITS))
    return mpmath.mpc(mpmath.mpf(sp.Float(re, WORK_DIGITS)), mpmath.mpf(sp.Float(im, WORK_DIGITS)))


def _scalar_matrix(x) -> Matrix:
    return Matrix(1, 1, [x])


#: (backend class, "scalar" | "matrix") -> {node class -> its method}; the scalar table
#: holds scalar nodes only, the matrix table matrix nodes only
_SCALAR_METHODS: dict = {}


class NumericInstantiator(Walker):
    """Values of one derivation's expressions at one point and one set of sizes: the
    mpmath backend of the walker (one ``scalar_<Node>`` / ``matrix_<Node>`` method per
    node)."""

    def __init__(self, derivation: Derivation, sizes: Mapping[sp.Symbol, int],
                 values: Mapping[Key, object], parent: NumericInstantiator | None = None,
                 changed: frozenset = frozenset(), held: tuple | None = None):
        super().__init__(derivation)
        self.sizes = {k: int(v) for k, v in sizes.items()}
        self.values = values
        self.parent, self.changed, self.held = parent, changed, held
        self._defcache: dict = {}
        self._dcache: dict = {}  # derivative values, per node and the indices it uses
        self.step_used: dict = {}  # key -> the step actually applied to a held quantity
        self._scalar_methods = _SCALAR_METHODS.setdefault((type(self), "scalar"), {})
        self._matrix_methods = _SCALAR_METHODS.setdefault((type(self), "matrix"), {})
        self._sizes_key: tuple | None = None  # the sizes, sorted (see _symbolic)
        self._reuse: dict = {}  # loop-invariant subterms' values (see _reused)
        self._compiled_values: dict = {}  # see _symbolic
        self._held_values: dict = {}  # see _held
        self._moved: frozenset | bool | None = None  # see _untouched
        self._moving_names: tuple | None = None  # see _moving

    # -- helpers -----------------------------------------------------------------------
    def int_of(self, e: sp.Basic, env: Mapping) -> int:
        kind = type(e)
        if kind is sp.Symbol:
            value = env.get(e)
            if type(value) is int:  # an index: one visit, as self.scalar would count it
                _tick()
                return value
            if value is None and e in self.sizes:  # a size: likewise
                _tick()
                return self.sizes[e]
        elif kind is int:
            _tick()
            return e
        elif isinstance(e, sp.Integer):  # what scalar_Integer gives, in one visit
            _tick()
            return int(e)
        value = self.scalar(sp.sympify(e), env, frozenset())
        if isinstance(value, int):
            return value
        if isinstance(value, mpmath.mpf) and value == int(value):
            return int(value)
        raise InstantiationError(f"{e} is not an integer here ({value})")

    def index(self, e: sp.Basic, env: Mapping, cuts: frozenset) -> int:
        return self.int_of(e, env)

    def _leaf(self, key: Key):
        try:
            return self.values[key]
        except KeyError:
            self._check_range(key)
            raise InstantiationError(f"no value for {key[0]}{list(key[1]) or ''}") from None

    def _check_range(self, key: Key) -> None:
        """Raise :class:`IndexRangeError` when ``key`` names an entry of a declared tensor
        outside its declared shape at these sizes."""
        var = self.d.vars.get(key[0])
        if var is None or var.kind != "tensor" or len(key[1]) != len(var.shape):
            return
        try:
            bounds = [int(sp.sympify(b).xreplace(self.sizes)) for b in var.shape]
        except TypeError:  # a bound that is not a number at these sizes: no verdict here
            return
        if any(not 1 <= i <= b for i, b in zip(key[1], bounds)):
            raise IndexRangeError(key[0], key[1], var.shape, dict(self.sizes)) from None

    # -- definitions and held quantities ------------------------------------------------
    def definition(self, token: sp.Symbol, idx: tuple, cuts: frozenset) -> Matrix:
        asked = (token, idx, cuts)  # the value depends on these and the instance only
        hit = self._defcache.get(asked)
        if hit is not None:
            return hit
        deps = self.d.depends(token)
        cuts = self.relevant_cuts(token, cuts)
        if self.parent is not None and not (deps & self.changed):
            out = self._defcache[asked] = self.parent.definition(token, idx, cuts)
            return out
        if self.parent is not None and self._untouched(token, idx):
            out = self._defcache[asked] = self.parent.definition(token, idx,
                                                                 cuts - self.held[2])
            return out
        key = (token, idx, cuts)
        if key not in self._defcache:
            defn = self.d.defs[token]
            if len(idx) != len(defn.params):
                raise InstantiationError(f"{token} takes {len(defn.params)} index(es)")
            absorbed, before = _ABSORBED[0], _STATE[1]
            self._defcache[key] = self.matrix(defn.body, dict(zip(defn.params, idx)), cuts)
            _ABSORBED[0] = absorbed + _STATE[1] - before  # a second walk finds it cached
        out = self._defcache[asked] = self._defcache[key]
        return out

    def _untouched(self, token: sp.Symbol, idx: tuple) -> bool:
        """Whether ``token[idx]`` keeps its value in this perturbed instance although it
        depends on what changed: the perturbation moves entries of one held quantity at
        other indices only, and the definition sees the changed quantities only at its
        own indices (z2[i'] = W2 hhat[i'] + b2 while hhat[i] moves, i' != i).  Only for a
        child of the unperturbed instance (nested cuts take the general route)."""
        moved = self._moved
        if moved is None:  # the same for every call on this instance: made once
            moved = self._moved = self._moved_indices()
        if moved is False or idx in moved:
            return False
        return local(self.d, token, self.changed)

    def _moved_indices(self) -> frozenset | bool:
        """The indices of the held quantity whose entries this instance moves (see
        :meth:`_untouched`), or False when no definition keeps its value here."""
        if self.held is None or not self.held[3] or self.parent.held is not None:
            return False
        steps = self.held[3]
        moved = sp.Symbol(next(iter(steps))[0])
        if moved not in self.d.defs:
            return False
        width = len(self.d.defs[moved].params)
        if not width:
            return False
        return frozenset(k[1][:width] for k in steps)

    def _moving(self) -> tuple[frozenset, frozenset]:
        """For an instance moving entries of one held quantity (see
        :meth:`_moved_indices`): its name, and the names of the other quantities held
        with it, which keep their unperturbed values here (see :meth:`_held`)."""
        out = self._moving_names
        if out is None:
            name = next(iter(self.held[3]))[0]
            out = self._moving_names = (frozenset({name}), self.changed - {name})
        return out

    def _held(self, token: sp.Symbol, idx: tuple) -> Matrix:
        """The value of a quantity held as a variable (perturbed at the entries of the
        steps in progress while a derivative with respect to it is taken)."""
        known = self._held_values.get((token, idx))
        if known is not None:  # the same value (and steps used) as the first time
            return known
        node = self
        while node is not None and node.held is not None:
            source, source_cuts, tokens, steps = node.held
            if token in tokens:
                value = source.definition(token, idx, source_cuts)
                if steps and next(iter(steps))[0] == _name(token):
                    keys = self._held_keys(token, idx, value.rows, value.cols)
                    data = list(value.data)
                    for pos, k in enumerate(keys):
                        if k in steps:
                            # relative to a tiny value (a probability near e^-1000), so
                            # that the step never crosses zero or swamps the value
                            size = abs(data[pos])
                            step = steps[k] * size if 0 < size < 1 else steps[k]
                            node.step_used[k] = step
                            data[pos] = data[pos] + step
                    value = Matrix(value.rows, value.cols, data)
                self._held_values[(token, idx)] = value
                return value
            node = source
        raise InstantiationError(f"no value for the held quantity {token}")

    def _held_keys(self, token: sp.Symbol, idx: tuple, rows: int, cols: int) -> tuple:
        """:meth:`_placeholder_keys`, made once per derivation and arguments (read only)."""
        cache = self.d.__dict__.setdefault("_held_keys", {})
        key = (token, idx, rows, cols)
        out = cache.get(key)
        if out is None:
            if len(cache) >= 65536:
                cache.clear()
            out = cache[key] = tuple(self._placeholder_keys(token, idx, rows, cols))
        return out

    def _placeholder_keys(self, token: sp.Symbol, idx: tuple, rows: int, cols: int) -> list:
        name = _name(token)
        if not self.d.defs[token].is_matrix:
            return [(name, idx)]
        if rows == 1 and cols == 1 and not idx:
            return [(name, ())]
        if cols == 1:
            return [(name, (*idx, a + 1)) for a in range(rows)]
        return [(name, (*idx, a + 1, b + 1)) for a in range(rows) for b in range(cols)]

    # -- work counted per node visit (see work_limit) -----------------------------------
    # Walker.scalar and Walker.matrix with the visit counted, inlined (the hot path):
    # the method per node class comes from one dict per backend class and kind
    def scalar(self, e: sp.Basic, env: Mapping, cuts: frozenset):
        state = _STATE
        state[1] += 1
        if state[0]:
            state[3] += 1
        if state[2] is not None and state[1] > state[2]:
            raise WorkLimit(f"more than {state[2]} evaluation steps")
        method = self._scalar_methods.get(type(e))
        if method is None:
            if isinstance(e, MatrixExpr):
                return Walker.scalar(self, e, env, cuts)
            method = self._scalar_methods[type(e)] = self._method("scalar", e)
        mark = MARKED.get(id(e))
        if mark is not None and mark[0] is e:
            return self._reused(method, e, mark[1], env, cuts)
        return method(self, e, env, cuts)

    def matrix(self, e: sp.Basic, env: Mapping, cuts: frozenset) -> Matrix:
        state = _STATE
        state[1] += 1
        if state[0]:
            state[3] += 1
        if state[2] is not None and state[1] > state[2]:
            raise WorkLimit(f"more than {state[2]} evaluation steps")
        method = self._matrix_methods.get(type(e))
        if method is None:
            if not isinstance(e, MatrixExpr):
                return self.one_by_one(self.scalar(e, env, cuts))
            method = self._matrix_methods[type(e)] = self._method("matrix", e)
        mark = MARKED.get(id(e))
        try:
            if mark is not None and mark[0] is e:
                return self._reused(method, e, mark[1], env, cuts)
            return method(self, e, env, cuts)
        except (ShapeError, MatrixShapeError) as exc:
            raise OperandShapeError(e, self._operand_shapes(e, env, cuts),
                                    dict(self.sizes)) from exc

    def _reused(self, method, e: sp.Basic, symbols: tuple, env: Mapping, cuts: frozenset):
        """``method``'s value of a loop-invariant subterm ``e`` (see
        :mod:`symderive.invariant`; its own visit already counted), computed once per
        value of the symbols it names, the cuts and the precision; whether kinks are
        guarded is part of the key too (a value computed outside a difference never
        stands in for one inside).

        Reuse charges the visits a second walk would count: those of the first walk
        less the ones made inside definitions computed afresh, which the second walk
        would find cached.  So the work counted, which decides the sizes sampled, is
        the plain walk's exactly, whatever was reused (and a reuse past the work limit
        raises WorkLimit as the walk would).  Subterms holding a numeric derivative or
        an integral are never marked: their caches are not accounted here."""
        key = (e, tuple([env.get(s) for s in symbols]), cuts, _STATE[0] > 0,
               mpmath.mp._prec_rounding[0], WORK_DIGITS)
        return self._kept(key, method, e, env, cuts)

    def _kept(self, key: tuple, method, e: sp.Basic, env: Mapping, cuts: frozenset):
        """``method(self, e, env, cuts)``, kept under ``key`` with the visits a second
        walk would count (see :meth:`_reused`), which a hit charges."""
        hit = self._reuse.get(key)
        if hit is not None:
            if hit[1]:
                _tick(hit[1])
            return hit[0]
        absorbed, before = _ABSORBED[0], _STATE[1]
        value = method(self, e, env, cuts)
        if len(self._reuse) >= REUSED_MAX:
            self._reuse.clear()
        self._reuse[key] = (value, _STATE[1] - before - (_ABSORBED[0] - absorbed))
        return value

    def term(self, e, env: Mapping, cuts: frozenset):
        """A term of the BatchSum ``e`` (or of a Sum or Product over one index).

        In an instance moving one held quantity at some of its indices only (hhat[i]
        while L sums over i'), a term that sees the changed quantities only at the sum's
        index (:func:`local_term`) keeps its unperturbed value at the other index
        values: it is the parent's, computed there once for all the perturbed siblings
        (2 n n_1 of them for D(L, hhat[i])) and charged the visits this instance's own
        walk would count (see :meth:`_kept`)."""
        if self.parent is not None and _SHARE_TERMS[0]:
            moved = self._moved
            if moved is None:  # the same for every call on this instance: made once
                moved = self._moved = self._moved_indices()
            body, var = _summand(e) if moved is not False else (None, None)
            if (moved is not False and len(next(iter(moved))) == 1
                    and (env[var],) not in moved
                    and local_term(self.d, e, *self._moving())):
                cuts = cuts - self.held[2]
                symbols = _TERM_SYMBOLS.get(body)
                if symbols is None:
                    if len(_TERM_SYMBOLS) >= INSTANTIATED_MAX:
                        _TERM_SYMBOLS.clear()
                    symbols = _TERM_SYMBOLS[body] = tuple(sorted(body.free_symbols, key=str))
                matrix = isinstance(e, BatchSum)
                key = ("term", matrix, body, tuple([env.get(s) for s in symbols]), cuts,
                       _STATE[0] > 0, mpmath.mp._prec_rounding[0], WORK_DIGITS)
                method = NumericInstantiator.matrix if matrix else NumericInstantiator.scalar
                return self.parent._kept(key, method, body, env, cuts)
        if isinstance(e, BatchSum):
            return self.matrix(e.summand, env, cuts)
        return self.scalar(e.function, env, cuts)

    # -- scalars -----------------------------------------------------------------------
    def one_by_one(self, value) -> Matrix:
        return _scalar_matrix(value)

    def scalar_Integer(self, e, env: Mapping, cuts: frozenset):
        return int(e)

    def scalar_Rational(self, e, env: Mapping, cuts: frozenset):
        return mpmath.mpf(int(e.p)) / int(e.q)

    def scalar_Float(self, e, env: Mapping, cuts: frozenset):
        return mpmath.mpf(e)

    def scalar_NumberSymbol(self, e, env: Mapping, cuts: frozenset):
        return mpmath.mpf(sp.N(e, 110))

    def scalar_ImaginaryUnit(self, e, env: Mapping, cuts: frozenset):
        return mpmath.mpmathify(complex(e))

    def scalar_Symbol(self, e, env: Mapping, cuts: frozenset):
        if e in env:
            return env[e]
        if e in self.sizes:
            return self.sizes[e]
        if e in self.d.defs:
            if e in cuts:
                return self._held(e, ()).data[0]
            return self.definition(e, (), cuts).data[0]
        return self._leaf((_name(e), ()))

    def scalar_Indexed(self, e, env: Mapping, cuts: frozenset):
        parts = _INDEXED.get(id(e))
        if parts is None or parts[0] is not e:
            parts = _indexed_parts(e)
        _, label, name, indices = parts
        idx = self._indices(indices, env)
        if label in self.d.defs:
            if label in cuts:
                return self._held(label, idx).data[0]
            return self.definition(label, idx, cuts).data[0]
        return self._leaf((name, idx))

    def _indices(self, indices: tuple, env: Mapping) -> tuple:
        """``int_of`` of each index, with the common case (an index bound in env) inlined;
        its visits are counted together, before anything else can happen."""
        idx, pending = [], 0
        for i in indices:
            value = env.get(i) if type(i) is sp.Symbol else None
            if type(value) is int:
                pending += 1
                idx.append(value)
                continue
            if pending:
                _tick(pending)
                pending = 0
            idx.append(self.int_of(i, env))
        if pending:
            _tick(pending)
        return tuple(idx)

    def scalar_Sum(self, e, env: Mapping, cuts: frozenset):
        return self._expand_limits(e, env, cuts)

    scalar_Product = scalar_Sum

    def scalar_ScalarD(self, e, env: Mapping, cuts: frozenset):
        return self.derivative(e, env, cuts).data[0]

    def scalar_Component(self, e, env: Mapping, cuts: frozenset):
        k = self.int_of(e.k, env)
        return self.matrix(e.vector, env, cuts)[k - 1, 0]

    def scalar_Add(self, e, env: Mapping, cuts: frozenset):
        return _fsum([self.scalar(a, env, cuts) for a in e.args])

    def scalar_Mul(self, e, env: Mapping, cuts: frozenset):
        return _product([self.scalar(a, env, cuts) for a in e.args])

    def scalar_Pow(self, e, env: Mapping, cuts: frozenset):
        base, p = e.args
        b = self.scalar(base, env, cuts)
        if isinstance(b, int):
            b = mpmath.mpf(b)  # 3 ** -1 would be a 53-bit float
        if p.is_Integer:
            return b ** int(p)
        if p == sp.S.Half:
            return mpmath.sqrt(b)
        return mpmath.power(b, self.scalar(p, env, cuts))

    # -- kinks: one method per kinked function, each guarded (see near_kink) ------------
    def _args(self, e, env: Mapping, cuts: frozenset) -> list:
        return [self.scalar(a, env, cuts) for a in e.args]

    def scalar_Abs(self, e, env: Mapping, cuts: frozenset):
        return _abs(*self._args(e, env, cuts))

    def scalar_sign(self, e, env: Mapping, cuts: frozenset):
        return _sign(*self._args(e, env, cuts))

    def scalar_Max(self, e, env: Mapping, cuts: frozenset):
        return _max(*self._args(e, env, cuts))

    def scalar_Min(self, e, env: Mapping, cuts: frozenset):
        return _min(*self._args(e, env, cuts))

    def scalar_floor(self, e, env: Mapping, cuts: frozenset):
        return _floor(*self._args(e, env, cuts))

    def scalar_ceiling(self, e, env: Mapping, cuts: frozenset):
        return _ceiling(*self._args(e, env, cuts))

    def scalar_Heaviside(self, e, env: Mapping, cuts: frozenset):
        return _heaviside(*self._args(e, env, cuts))

    def scalar_relu(self, e, env: Mapping, cuts: frozenset):
        return _relu(*self._args(e, env, cuts))

    def scalar_indicator(self, e, env: Mapping, cuts: frozenset):
        return _indicator(*self._args(e, env, cuts))

    def scalar_Piecewise(self, e, env: Mapping, cuts: frozenset):
        for expr, cond in e.args:
            if self._truth(cond, env, cuts):
                return self.scalar(expr, env, cuts)
        return mpmath.nan

    def scalar_default(self, e, env: Mapping, cuts: frozenset):
        fn = FUNCTIONS.get(e.func)
        if fn is not None:
            return fn(*(self.scalar(a, env, cuts) for a in e.args))
        try:
            return self._fallback(e, env, cuts)
        except InstantiationError:
            return self._symbolic(e, env, cuts)

    def _symbolic(self, e: sp.Basic, env, cuts):
        """Last resort for a node whose arguments are not numbers on their own (say, a
        function of packed symbolic arguments): instantiate it with SymPy, then put the
        values in.  The instantiation does not depend on the point: it is made once per
        node, sizes and indices (:func:`_instantiated`), and its explicit entries are
        then evaluated by this walker at each point, not through ``evalf``."""
        if cuts:
            raise InstantiationError(f"cannot evaluate {e} with held quantities")
        _tick(SYMBOLIC_STEPS)  # SymPy work: far dearer than one node visit (counted the
        # same whether compiled or not, so the sizes sampled never depend on the cache)
        # only the indices the node names can change its instantiation (an index of an
        # enclosing sum that it does not use would only multiply the cache's entries)
        free = _free_symbols(e)
        ints = tuple(sorted(((k, v) for k, v in env.items()
                             if isinstance(v, int) and k in free),
                            key=lambda kv: _name(kv[0])))
        if self._sizes_key is None:
            self._sizes_key = tuple(sorted(self.sizes.items(), key=str))
        expr, keys = _instantiated(self.d, self._sizes_key, e, ints)
        # the compiled value depends on the expression, this instance's values and the
        # precision only (no kinks, no work counted): many nodes instantiate to the same
        # expression (a document's pmf under every assignment giving it that topic)
        known = (expr, *_PREC_ROUNDING, WORK_DIGITS)
        value = self._compiled_values.get(known)
        if value is not None:
            return value
        if keys is not None and all(k in self.values for k in keys):
            saved = _STATE[1], _STATE[2], _STATE[3], _ABSORBED[0]
            _STATE[2] = None  # charged SYMBOLIC_STEPS above, whatever this costs
            try:
                fast = _compiled(self, expr)
                if fast is not None:
                    value = fast(self.values)
                    if isinstance(value, int):
                        value = mpmath.mpf(value)
                    self._compiled_values[known] = value
                else:
                    value = self.scalar(expr, {}, frozenset())
            except InstantiationError:
                value = None
            finally:
                _STATE[1], _STATE[2], _STATE[3], _ABSORBED[0] = saved
            if isinstance(value, int):
                return mpmath.mpf(value)
            if value is not None:
                return value
        table = {}
        for leaf in expr.free_symbols | expr.atoms(sp.Indexed):
            key = key_of(leaf)
            if key in self.values:
                v = self.values[key]
                table[leaf] = sp.Float(v, WORK_DIGITS) if not isinstance(v, int) else v
        return _mp(expr.xreplace(table))

    def _truth(self, cond, env, cuts) -> bool:
        if cond is sp.true or cond is True:
            return True
        if cond is sp.false or cond is False:
            return False
        if isinstance(cond, sp.And):
            return all(self._truth(c, env, cuts) for c in cond.args)
        if isinstance(cond, sp.Or):
            return any(self._truth(c, env, cuts) for c in cond.args)
        if isinstance(cond, sp.Not):
            return not self._truth(cond.args[0], env, cuts)
        if isinstance(cond, sp.core.relational.Relational):
            lhs, rhs = (self.scalar(a, env, cuts) for a in cond.args)
            _guard("a Piecewise condition", lhs - rhs)
            return bool({"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs,
                         "==": lhs == rhs, "!=": lhs != rhs}[cond.rel_op])
        raise InstantiationError(f"cannot decide the condition {cond}")

    def _fallback(self, e: sp.Basic, env, cuts):
        """A function this module does not know: evaluate its arguments here, the
        function itself with SymPy at high precision."""
        _tick(SYMBOLIC_STEPS // 10)
        args = []
        for a in e.args:
            v = self.scalar(a, env, cuts)
            if isinstance(v, mpmath.mpc):
                args.append(sp.Float(v.real, WORK_DIGITS) + sp.I * sp.Float(v.imag, WORK_DIGITS))
            elif isinstance(v, int):
                args.append(sp.Integer(v))
            else:
                args.append(sp.Float(v, WORK_DIGITS))
        if not all(isinstance(a, sp.Integer) for a in args):
            return _mp(e.func(*args))
        # integer arguments (an index function such as a topic-of-document): the value
        # depends on them and the precision only, so it is made once
        key = (e.func, tuple(args), WORK_DIGITS, mpmath.mp.prec)
        try:
            return _FALLBACK[key]
        except KeyError:
            pass
        if len(_FALLBACK) >= FALLBACK_MAX:
            del _FALLBACK[next(iter(_FALLBACK))]
        out = _FALLBACK[key] = _mp(e.func(*args))
        return out

    def _expand_limits(self, e, env, cuts):
        self.summing(e)
        limits = list(e.limits)
        is_sum = isinstance(e, sp.Sum)

        def rec(k: int, env):
            if k < 0:
                if len(limits) == 1:  # a term that may come from the parent
                    return self.term(e, env, cuts)
                return self.scalar(e.function, env, cuts)
            var, lo, hi = limits[k]
            try:
                lo, hi = self.int_of(lo, env), self.int_of(hi, env)
            except (ValueError, OverflowError):
                finite_limits(e)  # the clearer message, for an infinite range
                raise
            terms = [rec(k - 1, {**env, var: v}) for v in range(lo, hi + 1)]
            return _fsum(terms) if is_sum else _product(terms)

        return rec(len(limits) - 1, env)

    def summing(self, e: sp.Basic) -> None:
        mark_invariants(e)  # computed once per value of the indices they use

    def integral(self, e: sp.Integral, env, cuts):
        """Definite integrals by tanh-sinh quadrature: compiled once (fast, see
        :mod:`symderive.quadrature`), else one variable after another through the walker.
        Inside a finite difference (a perturbed child) always the latter, at the working
        precision: a step of 10^-FD_DIGITS needs that many digits beyond the comparison's."""
        if self.parent is None:
            fast = compiled_integral(self, e, env, cuts, WORK_DIGITS / BASE_DIGITS, _tick)
            if fast is not None:
                return fast
        limits = list(e.limits)

        def rec(k: int, env):
            if k < 0:
                if len(limits) == 1:  # a term that may come from the parent
                    return self.term(e, env, cuts)
                return self.scalar(e.function, env, cuts)
            var, lo, hi = limits[k]
            ends = [mpmath.inf if x is sp.oo else -mpmath.inf if x is -sp.oo
                    else self.scalar(x, env, cuts) for x in (lo, hi)]
            # under a difference quotient, the error is divided by the step 10^-FD_DIGITS
            return reliable_quad(lambda t: rec(k - 1, {**env, var: t}), *ends, hints,
                                 confirm=WORK_DIGITS > BASE_DIGITS, point=point,
                                 bound=ERROR_BOUND * mpmath.mpf(10) ** (-FD_DIGITS * _STATE[0]))

        # 60 digits leave 25 to spare over the 35 compared, at half the cost; a
        # disagreement is confirmed at full (higher) precision before it refutes.  Not
        # under a difference quotient, which divides the error by the step 1e-30.
        reduced = WORK_DIGITS == BASE_DIGITS and _STATE[0] == 0
        digits = QUAD_DIGITS if reduced else WORK_DIGITS
        hints = [v for v in self.values.values() if isinstance(v, mpmath.mpf)]
        point = tuple(sorted(self.values.items(), key=str))
        with mpmath.workdps(digits):
            value = rec(len(limits) - 1, env)
        return +value

    # -- matrices ----------------------------------------------------------------------
    def matrix_MatrixSymbol(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        rows, cols = (self.int_of(s, env) for s in e.shape)
        var = self.d.vars.get(e.name)
        if var is None:
            raise InstantiationError(f"unknown matrix symbol {e.name!r}")
        domain = structured(var) if e not in cuts else None
        if domain is not None:  # built from its free entries, as in the exact backend
            rows_ = domain.numeric(lambda a, b: self._leaf((e.name, (a, b))), rows)
            return Matrix(rows, rows, [x for row in rows_ for x in row])
        leaf, name = self._leaf, e.name
        if var.kind == "vector":
            return Matrix(rows, 1, [leaf((name, (a + 1,))) for a in range(rows)])
        return Matrix(rows, cols, [leaf((name, (a + 1, b + 1))) for a in range(rows)
                                   for b in range(cols)])

    def matrix_BatchElement(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        i = self.int_of(e.index, env)
        name = e.batch.name
        var = self.d.vars[name]
        dim = self.int_of(var.shape[1], env)
        leaf = self._leaf
        return Matrix(dim, 1, [leaf((name, (i, a + 1))) for a in range(dim)])

    def matrix_DefRef(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        idx = self._indices(e.args[3:], env)  # e.indices
        if e.token in cuts:
            return self._held(e.token, idx)
        return self.definition(e.token, idx, cuts)

    def matrix_MatAdd(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        return self.matrix_sum([self.matrix(a, env, cuts) for a in e.args])

    def matrix_MatMul(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        coeff, out = None, None
        for a in e.args:
            if isinstance(a, MatrixExpr):
                m = self.matrix(a, env, cuts)
                out = m if out is None else out @ m
            else:
                coeff = (_ONE if coeff is None else coeff) * self.scalar(a, env, cuts)
        return out.unit_scaled() if coeff is None else out.scale(coeff)

    def matrix_Transpose(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        return self.matrix(e.arg, env, cuts).T

    def matrix_HadamardProduct(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        out = self.matrix(e.args[0], env, cuts)
        for a in e.args[1:]:
            out = out.hadamard(self.matrix(a, env, cuts))
        return out

    def matrix_HadamardPower(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        p = self.scalar(e.exp, env, cuts)
        base = self.matrix(e.base, env, cuts)
        return base.map(lambda x: _power(x, p))

    def matrix_Elementwise(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        return self.matrix(e.arg, env, cuts).map(ELEMENTWISE[e.args[0].name])  # fname,
        # without the printer

    def matrix_Broadcast(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        rows, cols = (self.int_of(s, env) for s in e.shape)
        s = self.scalar(e.scalar, env, cuts)
        return Matrix(rows, cols, [s] * (rows * cols))

    def matrix_Softmax(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        M = self.matrix(e.arg, env, cuts)
        raw = _raw(M.data)
        if raw is None:
            z = M.map(mpmath.exp)
            total = mpmath.fsum(z.data)
            return z.map(lambda t: t / total)
        # what the three lines above do on real entries, on raw values (the same
        # visits counted: one per entry for the exponentials, one per quotient)
        prec, rnd = mpmath.mp._prec_rounding
        _tick(len(raw))
        z = [_exp_raw(x, prec, rnd) for x in raw]
        total = mpf_sum(z, prec, rnd)
        _tick(len(raw))
        return Matrix(M.rows, M.cols, [_make(mpf_div(t, total, prec, rnd)) for t in z])

    def matrix_OneMatrix(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        rows, cols = (self.int_of(s, env) for s in e.shape)
        return Matrix(rows, cols, [mpmath.mpf(1)] * (rows * cols))

    def matrix_ZeroMatrix(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        rows, cols = (self.int_of(s, env) for s in e.shape)
        return Matrix(rows, cols, [mpmath.mpf(0)] * (rows * cols))

    def matrix_Identity(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        n = self.int_of(e.shape[0], env)
        return Matrix.build(n, n, lambda a, b: mpmath.mpf(1 if a == b else 0))

    def matrix__DerivativeNode(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        return self.derivative(e, env, cuts)  # MatD and Hess

    # -- derivatives -------------------------------------------------------------------
    def entries(self, e: sp.Basic, env: Mapping) -> tuple[list[Key], tuple[int, int]]:
        """The keys of the variables a quantity consists of, in layout order."""
        if isinstance(e, sp.MatrixSymbol):
            rows, cols = (self.int_of(s, env) for s in e.shape)
            if self.d.vars[e.name].kind == "vector":
                return [(e.name, (a + 1,)) for a in range(rows)], (rows, 1)
            return ([(e.name, (a + 1, b + 1)) for a in range(rows) for b in range(cols)],
                    (rows, cols))
        if isinstance(e, BatchElement):
            i = self.int_of(e.index, env)
            dim = self.int_of(self.d.vars[e.batch.name].shape[1], env)
            return [(e.batch.name, (i, a + 1)) for a in range(dim)], (dim, 1)
        if isinstance(e, DefRef):
            idx = tuple(self.int_of(i, env) for i in e.indices)
            rows, cols = (self.int_of(s, env) for s in e.shape)
            return self._placeholder_keys(e.token, idx, rows, cols), (rows, cols)
        if isinstance(e, Component):
            keys, _ = self.entries(e.vector, env)
            return [keys[self.int_of(e.k, env) - 1]], (1, 1)
        if isinstance(e, sp.Indexed):
            idx = tuple(self.int_of(i, env) for i in e.indices)
            return [(str(e.base.label), idx)], (1, 1)
        if isinstance(e, sp.Symbol):
            return [(str(e), ())], (1, 1)
        if isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatrixSymbol):
            # d f / d xᵀ: the entries of x, laid out as xᵀ (a row for a vector)
            self.entry_variable(e)  # refuses the transpose of a structured matrix
            keys, (rows, cols) = self.entries(e.arg, env)
            return ([keys[a * cols + b] for b in range(cols) for a in range(rows)],
                    (cols, rows))
        if self.entry_variable(e):  # X[a, b], SymPy counting from 0
            keys, shape = self.entries(e.parent, env)
            a, b = (self.int_of(k, env) for k in e.args[1:])
            if not (0 <= a < shape[0] and 0 <= b < shape[1]):
                raise EntryRangeError(e, (a, b), shape, dict(self.sizes))
            return [keys[a * shape[1] + b]], (1, 1)
        raise InstantiationError(f"cannot differentiate with respect to {e}")

    def _perturbed(self, steps: dict, env, f, cuts: frozenset, held: frozenset,
                   value=None) -> tuple[object, dict]:
        """``f`` with variables moved by ``steps`` (key -> step; leaves, or the entries of
        one held quantity), and the steps actually applied (smaller, relative, for a held
        quantity below 1 in size).  ``value(child)`` computes something other than ``f``'s
        matrix in the perturbed instance (a nested directional derivative)."""
        values = self.values
        leaves = [k for k in steps if k in values]
        if leaves:
            values = dict(self.values)
            for k in leaves:
                values[k] = values[k] + steps[k]
        name = next(iter(steps))[0]
        changed = frozenset({name} | {_name(t) for t in held})
        child = NumericInstantiator(self.d, self.sizes, values, parent=self, changed=changed,
                                    held=(self, cuts, held, None if leaves else steps))
        out = (child.matrix(f, env, cuts | held) if value is None
               else value(child, cuts | held))
        return out, {k: child.step_used.get(k, s) for k, s in steps.items()}

    def _difference(self, key: Key, h, env, f, cuts: frozenset, held: frozenset) -> Matrix:
        """The central difference quotient of ``f`` in one variable (checked to be
        resolved: :func:`_resolved`)."""
        outer, _STATE[4] = _STATE[4], 0
        if isinstance(f, Component):  # an entry of a vector: see _vector_pair
            plus, minus, width = self._vector_pair(key, h, env, f, cuts, held)
        else:
            plus, up = self._perturbed({key: h}, env, f, cuts, held)
            minus, down = self._perturbed({key: -h}, env, f, cuts, held)
            width = up[key] - down[key]
        out = (plus - minus).scale(1 / width)
        _STATE[4] = max(outer, _resolved(out, plus, minus, width))
        return out

    def _vector_pair(self, key: Key, h, env, f: Component, cuts: frozenset,
                     held: frozenset) -> tuple[Matrix, Matrix, object]:
        """The perturbed values of the entry ``f`` of a vector, and the width between
        them.  Evaluating the entry evaluates the whole vector, so the perturbed vectors
        are kept (in ``_dcache``, per vector, the indices it names, cuts, held quantities
        and variable) for the vector's other entries: d yhat_j / d z_k for every j from
        one pair of evaluations, the same numbers as entry by entry."""
        vec = f.vector
        names = vec.free_symbols
        pkey = ("pair", vec, tuple(sorted((_name(k), v) for k, v in env.items()
                                          if k in names)), cuts, held, key, h)
        pair = self._dcache.get(pkey)
        if pair is None:
            plus, up = self._perturbed({key: h}, env, vec, cuts, held)
            minus, down = self._perturbed({key: -h}, env, vec, cuts, held)
            pair = self._dcache[pkey] = (plus, minus, up[key] - down[key], _STATE[4])
        plus, minus, width, _STATE[4] = pair  # the nested error of those evaluations
        a = self.int_of(f.k, env) - 1
        return Matrix(1, 1, [plus[a, 0]]), Matrix(1, 1, [minus[a, 0]]), width

    def _cache_key(self, e, env: Mapping, cuts: frozenset) -> tuple:
        """A derivative's value depends on the point, its node, the cuts and the indices
        it names (not on the rest of ``env``): D(L, mu) inside a sum over i is one value."""
        names = _DERIVATIVE_NAMES.get(e)
        if names is None:
            if len(_DERIVATIVE_NAMES) >= INSTANTIATED_MAX:
                _DERIVATIVE_NAMES.clear()
            names = _DERIVATIVE_NAMES[e] = e.free_symbols.union(
                *(sp.sympify(h).free_symbols for h in e.holding))
        return (e, tuple(sorted(((_name(k), v) for k, v in env.items() if k in names))),
                cuts)

    def derivative(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        var = self.d.vars.get(e.wrt.name) if isinstance(e.wrt, sp.MatrixSymbol) else None
        if var is not None and structured(var) is not None and e.wrt not in cuts:
            # by all n^2 entries (held general), at the structured matrix's values
            M = self.matrix(e.wrt, env, frozenset())
            values = dict(self.values)
            for a in range(M.rows):
                for b in range(M.cols):
                    values[(e.wrt.name, (a + 1, b + 1))] = M[a, b]
            child = NumericInstantiator(self.d, self.sizes, values, parent=self,
                                        changed=frozenset({e.wrt.name}))
            return child.derivative(e, env, cuts | {e.wrt})
        key = self._cache_key(e, env, cuts)
        if key in self._dcache:
            out, error = self._dcache[key]
            _STATE[4] = max(_STATE[4], error)  # its error still enters what uses it
            return out
        _STATE[0] += 1  # kinks now matter (see near_kink)
        outer, _STATE[4] = _STATE[4], 0
        try:
            out = self._derivative(e, env, cuts)
            self._dcache[key] = (out, _STATE[4])
        finally:
            _STATE[0] -= 1
            _STATE[4] = max(outer, _STATE[4])
        return out

    def _derivative(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        held = frozenset(self.held_by(e) - cuts)
        keys, shape = self.entries(e.wrt, env)
        h = mpmath.mpf(10) ** (-FD_DIGITS)
        if isinstance(e, Hess):
            grad = MatD(e.f, e.wrt, sp.Tuple(*e.holding))
            cols = []
            for key in keys:
                cols.append(self._difference(key, h, env, grad, cuts, held))
            n = len(keys)
            return Matrix.build(n, n, lambda a, b: cols[b].data[a])
        cols = []
        for key in keys:
            cols.append(self._difference(key, h, env, e.f, cuts, held))
        F = cols[0]
        if F.shape == (1, 1):  # gradient, laid out like the variable
            return Matrix(shape[0], shape[1], [c.data[0] for c in cols])
        if len(keys) == 1:
            return cols[0]
        if F.cols == 1 and shape[1] == 1:  # Jacobian
            return Matrix.build(F.rows, len(keys), lambda a, b: cols[b].data[a])
        raise InstantiationError("derivatives of a matrix by a matrix are not supported")

    # -- directional derivatives (screening a claimed derivative, check/instances.py) --
    def directional(self, e, env: Mapping, cuts: frozenset, direction: list,
                    inner: list | None = None, keys: list | None = None
                    ) -> tuple[Matrix, list] | None:
        """``e``'s derivative applied to directions, with two evaluations of F per
        direction instead of two per entry of the variable.

        For a gradient or Jacobian node: (D_v F, v) where D_v F = (F(X + tv) - F(X - tv))
        / 2t is F's derivative along v = ``direction`` (over :meth:`entries` of
        ``e.wrt``), and v is the direction as actually applied (each entry of a held
        quantity below 1 in size scaled by it, as the entrywise steps are).  For a
        Hessian: (u^T H v as a 1x1 matrix, (v, u)) with u = ``inner``, a mixed second
        difference (four evaluations).  None for a node outside this route (a structured
        matrix variable, a Hessian in a held quantity): the caller uses the entries."""
        var = self.d.vars.get(e.wrt.name) if isinstance(e.wrt, sp.MatrixSymbol) else None
        if var is not None and structured(var) is not None:
            return None
        held = frozenset(self.held_by(e) - cuts)
        if keys is None:
            keys, _ = self.entries(e.wrt, env)
        f, value = e.f, None
        if isinstance(e, Hess):
            if any(k not in self.values for k in keys):
                return None  # a held Hessian variable: entry by entry
            grad = MatD(e.f, e.wrt, sp.Tuple(*e.holding))
            f = None

            def value(child, c):
                return child.directional(grad, env, c, inner)[0]
        h = mpmath.mpf(10) ** (-FD_DIGITS)
        steps = dict(zip(keys, (h * v for v in direction)))
        _STATE[0] += 1  # kinks now matter (see near_kink)
        outer, _STATE[4] = _STATE[4], 0
        try:
            plus, up = self._perturbed(steps, env, f, cuts, held, value)
            minus, down = self._perturbed({k: -s for k, s in steps.items()}, env, f, cuts,
                                          held, value)
            applied = [(up[k] - down[k]) / (2 * h) for k in keys]
            out = (plus - minus).scale(1 / (2 * h))
            _STATE[4] = _resolved(out, plus, minus, 2 * h)
        finally:
            _STATE[0] -= 1
            _STATE[4] = max(outer, _STATE[4])
        return out, (applied if inner is None else (applied, list(inner)))

    # -- matrix calculus: SymPy's own classes ------------------------------------------
    def scalar_AsScalar(self, e, env: Mapping, cuts: frozenset):
        return self.scalar(e.arg, env, cuts)

    def scalar_DensityExpectation(self, e, env: Mapping, cuts: frozenset):
        if isinstance(e.var, MatrixExpr):  # over a vector: the n-fold integral, explicit
            from .instantiate import Instantiator

            explicit = Instantiator(self.d, self.sizes).over_entries(e, env, cuts)
            return self.scalar(explicit, env, cuts)
        return self.scalar(e.as_integral(), env, cuts)  # the one integral rule

    def _square(self, e, env, cuts, what: str) -> Matrix:
        return self.square(e, self.matrix(e, env, cuts), what)

    def scalar_Trace(self, e, env: Mapping, cuts: frozenset):
        M = self._square(e.arg, env, cuts, "trace")
        return mpmath.fsum(M[a, a] for a in range(M.rows))

    def scalar_Determinant(self, e, env: Mapping, cuts: frozenset):
        return _det(self._square(e.arg, env, cuts, "determinant"))

    def matrix_MatPow(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        """Integer powers; a negative one (Inverse, X.I, X**-1) by LU in working
        precision (a singular matrix raises ZeroDivisionError: the point is skipped)."""
        p = self.int_of(e.exp, env)
        M = self._square(e.base, env, cuts, "powers or inverse")
        if p < 0:
            if _det(M) == 0:
                raise ZeroDivisionError(f"{e.base} is singular here")
            inv = mpmath.inverse(_mp_matrix(M))
            M = Matrix.build(M.rows, M.cols, lambda a, b: inv[a, b])
        out = Matrix.build(M.rows, M.cols, lambda a, b: mpmath.mpf(1 if a == b else 0))
        for _ in range(abs(p)):
            out = out @ M
        return out

    def matrix_DiagMatrix(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        v = self.matrix(e.args[0], env, cuts).data
        return Matrix.build(len(v), len(v), lambda a, b: v[a] if a == b else mpmath.mpf(0))

    def matrix_DiagonalMatrix(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        M = self.matrix(e.arg, env, cuts)
        return Matrix.build(M.rows, M.cols, lambda a, b: M[a, b] if a == b else mpmath.mpf(0))

    def matrix_DiagonalOf(self, e, env: Mapping, cuts: frozenset) -> Matrix:
        M = self.matrix(e.arg, env, cuts)
        return Matrix.build(min(M.shape), 1, lambda a, b: M[a, a])


def _resolved(out: Matrix, plus: Matrix, minus: Matrix, width) -> mpmath.mpf:
    """The relative error bound of the difference quotient ``out`` = (plus - minus) /
    width, or :class:`Unresolved` when some entry's bound is not ``RESOLVE`` times below
    the comparison tolerance.

    Rounding: each function value is correct to ROUNDING_ULPS 10^-WORK_DIGITS relative
    to its size, or to the relative error of the numeric derivatives it was computed
    from (a nested difference: ``_STATE[4]`` holds the largest since the perturbed
    evaluations started), so the quotient is off by at most that times (|plus| +
    |minus|) / |width|.  Truncation (h^2 |F^(3)| / 6, h = 10^-FD_DIGITS) is far smaller
    for the analytic functions met between kinks, which are guarded (see near_kink).
    A derivative that is not resolved makes the point decide nothing: a refutation
    needs the error bound to be well below the gap it reports."""
    if not _STATE[5]:
        return mpmath.mpf(0)
    rel = max(ROUNDING_ULPS * mpmath.mpf(10) ** -WORK_DIGITS, _STATE[4])
    width = abs(width)
    worst = mpmath.mpf(0)
    for d, p, m in zip(out.data, plus.data, minus.data):
        bound = rel * (abs(p) + abs(m)) / width
        if bound * RESOLVE > COMPARE_TOLERANCE * max(1, abs(d)):
            raise Unresolved(f"a numeric derivative cannot be resolved here (error bound "
                             f"{mpmath.nstr(bound, 3)} at {WORK_DIGITS} digits)")
        if d:
            worst = max(worst, bound / abs(d))
    return worst


#: SymPy instantiations of nodes evaluated through :meth:`NumericInstantiator._symbolic`:
#: (derivation, sizes, node, integer indices) -> (explicit expression, its leaf keys, or
#: None when the walker should not evaluate it).  Pure (the same key always gives the
#: same entry) and bounded.
_INSTANTIATED: dict = {}
INSTANTIATED_MAX = 4096


_DERIVATIVE_NAMES: dict = {}  # derivative node -> the symbols it names (see _cache_key)
_FREE: dict = {}  # node -> its free symbols (see _symbolic); bounded like the above


def _free_symbols(e: sp.Basic) -> frozenset:
    try:
        return _FREE[e]
    except KeyError:
        pass
    if len(_FREE) >= INSTANTIATED_MAX:
        del _FREE[next(iter(_FREE))]
    out = _FREE[e] = frozenset(e.free_symbols)
    return out


def _instantiated(d: Derivation, sizes: tuple, e: sp.Basic, ints: tuple) -> tuple:
    key = (d, sizes, e, ints)
    hit = _INSTANTIATED.get(key)
    if hit is not None:
        return hit
    from .instantiate import Instantiator

    inst = Instantiator(d, dict(sizes))
    if e.args and inst._method("scalar", e) is Instantiator.scalar_default:
        # what Instantiator.scalar_default does, with the function applied once per
        # explicit arguments: nodes at different indices often have the same ones; each
        # argument made once per the indices it names (pmf(T_d, mu_k) at every (d, k)
        # pair: D + K arguments made, not 2 D K)
        args = tuple(_instantiated_arg(d, sizes, a, ints) for a in e.args)
        expr = _applied(e.func, args)
    else:
        expr = inst.scalar(e, dict(ints), frozenset())
    keys = _plain_keys(d, expr)
    if len(_INSTANTIATED) >= INSTANTIATED_MAX:
        del _INSTANTIATED[next(iter(_INSTANTIATED))]
    out = _INSTANTIATED[key] = (expr, keys)
    return out


_ARGS: dict = {}  # (derivation, sizes, argument, its indices) -> explicit; bounded


def _instantiated_arg(d: Derivation, sizes: tuple, a: sp.Basic, ints: tuple) -> sp.Basic:
    """``a`` made explicit by the exact backend at ``ints`` (index -> integer): its value
    depends on the indices ``a`` names only, so only those are in the key."""
    free = _free_symbols(a)
    mine = tuple(kv for kv in ints if kv[0] in free)
    key = (d, sizes, a, mine)
    try:
        return _ARGS[key]
    except KeyError:
        pass
    from .instantiate import Instantiator

    if len(_ARGS) >= INSTANTIATED_MAX:
        del _ARGS[next(iter(_ARGS))]
    out = _ARGS[key] = Instantiator(d, dict(sizes)).scalar(a, dict(mine), frozenset())
    return out


_APPLIED: dict = {}  # (function, explicit arguments) -> its value; bounded


def _applied(func, args: tuple) -> sp.Basic:
    key = (func, args)
    try:
        return _APPLIED[key]
    except KeyError:
        pass
    if len(_APPLIED) >= INSTANTIATED_MAX:
        del _APPLIED[next(iter(_APPLIED))]
    out = _APPLIED[key] = func(*args)
    return out


_PLAIN: dict = {}  # (derivation, explicit expression) -> its leaf keys or None; bounded


def _plain_keys(d: Derivation, expr: sp.Basic) -> list | None:
    """The leaf keys of an explicit expression the walker evaluates, or None when it is
    not plain arithmetic.  Many nodes instantiate to the same expression (a topic's pmf,
    for every assignment giving a document that topic): made once per expression."""
    key = (d, expr)
    try:
        return _PLAIN[key]
    except KeyError:
        pass
    keys = None
    # only plain explicit arithmetic is evaluated by the walker; anything else (an
    # unevaluated function, a symbol that is not a variable's entry) keeps evalf
    plain = all(isinstance(x, (sp.Add, sp.Mul, sp.Pow, sp.Number, sp.Indexed, sp.Symbol,
                               sp.Idx, sp.IndexedBase, sp.Tuple, sp.NumberSymbol))
                or x.func in FUNCTIONS for x in sp.preorder_traversal(expr))
    if plain:
        entries = expr.atoms(sp.Indexed)
        labels = {y.base.label for y in entries}
        keys = [key_of(x) for x in entries]
        keys += [key_of(x) for x in expr.free_symbols
                 if isinstance(x, sp.Symbol) and x not in d.defs and x not in labels]
    if len(_PLAIN) >= INSTANTIATED_MAX:
        del _PLAIN[next(iter(_PLAIN))]
    _PLAIN[key] = keys
    return keys


#: values of unknown functions at integer arguments (:meth:`NumericInstantiator._fallback`)
_FALLBACK: dict = {}
FALLBACK_MAX = 4096

#: closures computing an explicit expression of :func:`_instantiated` at a point, the
#: same operations in the same order as the walker's methods (see :func:`compile_plain`):
#: (backend, derivation, expression, sizes) -> closure, or None when it has a node they
#: do not cover
_COMPILED: dict = {}
COMPILED_MAX = 4096


def _compiled(inst: NumericInstantiator, expr: sp.Basic):
    if inst._sizes_key is None:
        inst._sizes_key = tuple(sorted(inst.sizes.items(), key=str))
    key = (type(inst), inst.d, expr, inst._sizes_key)  # defs decide what is a leaf
    try:
        return _COMPILED[key]
    except KeyError:
        pass
    if len(_COMPILED) >= COMPILED_MAX:
        del _COMPILED[next(iter(_COMPILED))]
    out = _COMPILED[key] = compile_plain(inst, expr)
    return out


def compile_plain(inst: NumericInstantiator, expr: sp.Basic):
    """``expr`` (explicit: numbers, leaf entries, + * **, the functions of FUNCTIONS) as a
    closure of the point's values, doing exactly what ``inst.scalar(expr, {}, ...)`` does
    (the same mpmath operations in the same order, numbers made at call time at the
    precision then in force) but without the walk: no dispatch, no SymPy per point.  Node
    visits are not counted (the caller charges a fixed amount).  None when ``expr`` has a
    node the closure does not cover (a definition, a kinked function): walk it then."""
    cls = type(inst)
    sizes, defs = inst.sizes, inst.d.defs

    def build(e):
        method = inst._method("scalar", e)
        if isinstance(e, MatrixExpr):
            return None
        if method is cls.scalar_Integer:
            k = int(e)
            return lambda values: k
        if method is cls.scalar_Rational:
            p, q = int(e.p), int(e.q)
            return lambda values: mpmath.mpf(p) / q
        if method is cls.scalar_Float:
            return lambda values: mpmath.mpf(e)
        if method is cls.scalar_NumberSymbol:
            n = sp.N(e, 110)
            return lambda values: mpmath.mpf(n)
        if method is cls.scalar_ImaginaryUnit:
            return lambda values: mpmath.mpmathify(1j)
        if method is cls.scalar_Symbol:
            if e in sizes:
                k = sizes[e]
                return lambda values: k
            if e in defs:
                return None
            return _leaf_closure((_name(e), ()))
        if method is cls.scalar_Indexed:
            if e.base.label in defs or not all(type(i) is int or isinstance(i, sp.Integer)
                                               for i in e.indices):
                return None
            return _leaf_closure((_name(e.base.label), tuple(int(i) for i in e.indices)))
        args = [build(a) for a in e.args]
        if any(a is None for a in args):
            return None
        if method is cls.scalar_Add:
            return lambda values: _fsum([a(values) for a in args])
        if method is cls.scalar_Mul:
            return lambda values: _product([a(values) for a in args])
        if method is cls.scalar_Pow:
            base, p = args
            exp = e.args[1]
            if exp.is_Integer:
                k = int(exp)
                return lambda values: _as_mpf(base(values)) ** k
            if exp == sp.S.Half:
                return lambda values: mpmath.sqrt(_as_mpf(base(values)))
            return lambda values: mpmath.power(_as_mpf(base(values)), p(values))
        plain_delta = method is cls.scalar_KroneckerDelta and len(e.args) == 2
        fn = FUNCTIONS.get(e.func) if method is cls.scalar_default or plain_delta else None
        if fn is not None:
            return lambda values: fn(*(a(values) for a in args))
        return None

    return build(expr)


def _leaf_closure(key: Key):
    def leaf(values):
        try:
            return values[key]
        except KeyError:
            raise InstantiationError(f"no value for {key[0]}{list(key[1]) or ''}") from None
    return leaf


def _as_mpf(b):
    return mpmath.mpf(b) if isinstance(b, int) else b  # 3 ** -1 would be a 53-bit float


def _det(M: Matrix):
    """The determinant by Gaussian elimination with partial pivoting (exactly 0 for a
    matrix with a zero pivot column; mpmath's own det fails on some singular inputs)."""
    n = M.rows
    rows = [[M[a, b] for b in range(n)] for a in range(n)]
    det = mpmath.mpf(1)
    for k in range(n):
        pivot = max(range(k, n), key=lambda r: abs(rows[r][k]))
        if rows[pivot][k] == 0:
            return mpmath.mpf(0)
        if pivot != k:
            rows[k], rows[pivot] = rows[pivot], rows[k]
            det = -det
        det = det * rows[k][k]
        for r in range(k + 1, n):
            f = rows[r][k] / rows[k][k]
            rows[r] = [x - f * y for x, y in zip(rows[r], rows[k])]
    return det


def _mp_matrix(M: Matrix) -> mpmath.matrix:
    """An mpmath matrix (for det and inverse); singular inverses raise ZeroDivisionError."""
    return mpmath.matrix([[M[a, b] for b in range(M.cols)] for a in range(M.rows)])
