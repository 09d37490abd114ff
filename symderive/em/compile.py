"""Compile index-notation SymPy formulas into vectorised numpy / scipy.sparse code.

The formulas of a derivation are written with ``Sum``, ``Product`` and ``IndexedBase``
entries such as ``T[d, w]`` and ``mu[k, w]``.  This module turns them into a small graph
of array operations whose axes are the free indices:

* a formula that could under- or overflow (a product over an index, a power with a
  variable exponent, a factorial) is evaluated as ``exp`` of its logarithm
  (:func:`~symderive.em.logdomain.logify`), so ``prod_w mu_kw^T_dw`` becomes
  ``sum_w T_dw log mu_kw`` and a sum over ``j`` becomes a log-sum-exp;
  ``exp(x_k - LogSumExp_j x_j)`` is recognised as a softmax over ``k``;
* ``sum_i S[.., i, ..] * G[.., i, ..]`` with ``S`` the sparse count matrix becomes a
  sparse matrix product (``T @ G`` or ``T^T @ G``); a sum of a dense product becomes an
  ``einsum``; an elementwise function of the counts is applied to the stored entries
  only, which is allowed only when it maps 0 to 0 (``log Gamma(T + 1)`` does);
* identical sub-formulas, up to the names of their indices, are computed once (the
  normaliser of the E-step is the log-likelihood of the document).

Anything else raises :class:`CompileError` naming the sub-formula: a formula that changed
shape must not run silently with a wrong meaning.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
import sympy as sp

from . import kernels
from .kernels import SparseData, logsumexp, parallel_map
from .logdomain import LogDomainError, LogSumExp, logify, needs_log, nonnegative

__all__ = ["CompileError", "TensorSpec", "Program", "compile_formulas"]


class CompileError(ValueError):
    """A formula has a shape the compiler does not understand."""


@dataclass(frozen=True)
class TensorSpec:
    """A tensor the formulas read: its dimensions, and whether it is the sparse data."""

    name: str
    dims: tuple[sp.Symbol, ...]
    sparse: bool = False


# -- nodes ------------------------------------------------------------------------------
class Node:
    """One array operation; ``axes`` are the index symbols of the value's axes."""

    axes: tuple[sp.Symbol, ...] = ()
    sparse = False
    children: tuple[Node, ...] = ()

    @property
    def static(self) -> bool:
        """Depends on the sparse data only (computed once per data matrix)."""
        known = self.__dict__.get("_static")
        if known is None:  # asked at every evaluation: remembered (the graph is fixed)
            known = self.__dict__["_static"] = \
                all(c.static for c in self.children) and bool(self.children)
        return known

    def compute(self, vals: Sequence, ctx: _Context):
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def _align(value: np.ndarray, axes: Sequence, target: Sequence) -> np.ndarray:
    """View of ``value`` (with ``axes``) broadcastable against ``target`` axes."""
    return _aligned(value, _align_plan(tuple(axes), tuple(target)))


def _aligned(value: np.ndarray, plan: tuple) -> np.ndarray:
    """``value`` aligned by a plan of :func:`_align_plan`."""
    order, source = plan
    if order is not None:
        value = np.transpose(value, order)
    return value.reshape([1 if i < 0 else value.shape[i] for i in source])


@functools.lru_cache(maxsize=4096)
def _align_plan(axes: tuple, target: tuple) -> tuple:
    """(axis permutation or None, for each target axis the axis of the permuted value it
    comes from or -1): index lookups among SymPy symbols are slow, and the pairs of axes
    are few, so each is worked out once."""
    order = sorted(range(len(axes)), key=lambda a: target.index(axes[a]))
    present = [axes[a] for a in order]
    source = tuple(present.index(t) if t in present else -1 for t in target)
    return (None if order == list(range(len(axes))) else tuple(order)), source


def _union(children: Sequence[Node]) -> tuple:
    first = max(children, key=lambda c: len(c.axes))
    out = list(first.axes)
    for c in children:
        out += [a for a in c.axes if a not in out]
    return tuple(out)


class Input(Node):
    def __init__(self, name: str, axes: tuple):
        self.name, self.axes = name, axes

    @property
    def static(self) -> bool:
        return False

    def compute(self, vals, ctx):
        return ctx.inputs[self.name]

    def describe(self):
        return f"Input({self.name})"


class Data(Input):
    sparse = True

    @property
    def static(self) -> bool:
        return True

    def describe(self):
        return f"Data({self.name})"


class Const(Node):
    def __init__(self, value: float):
        self.value = np.asarray(float(value))

    @property
    def static(self) -> bool:
        return True

    def compute(self, vals, ctx):
        return self.value


class Size(Node):
    def __init__(self, dim: sp.Symbol):
        self.dim = dim

    @property
    def static(self) -> bool:
        return True

    def compute(self, vals, ctx):
        return np.asarray(float(ctx.sizes[self.dim]))


class Relabel(Node):
    """The same value with its axes renamed (a shared sub-formula, other index names)."""

    def __init__(self, child: Node, mapping: Mapping):
        self.children = (child,)
        self.axes = tuple(mapping.get(a, a) for a in child.axes)
        self.sparse = child.sparse

    def compute(self, vals, ctx):
        return vals[0]


class Map(Node):
    """An elementwise function; on the sparse data it maps the stored entries only."""

    def __init__(self, fn, child: Node, label: str):
        self.fn, self.label = fn, label
        self.children = (child,)
        self.axes = child.axes
        self.sparse = child.sparse

    #: a dense argument with at least this many entries is mapped in parallel chunks
    PARALLEL_SIZE = 1 << 17

    def compute(self, vals, ctx):
        (x,) = vals
        child = self.children[0]
        if ctx.given and type(child) is Input:  # computed already, with the same function
            known = ctx.given.get((child.name, self.fn))
            if known is not None and np.shape(known) == np.shape(x):
                return known
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if isinstance(x, SparseData):
                return x.with_data(np.asarray(self.fn(x.csr.data), dtype=np.float64))
            x = np.asarray(x)
            if ctx.threads > 1 and x.size >= self.PARALLEL_SIZE:
                return self._parallel(x, ctx.threads)
            return np.asarray(self.fn(x), dtype=np.float64)

    def _parallel(self, x: np.ndarray, threads: int) -> np.ndarray:
        """The map of an elementwise function, on consecutive chunks in ``threads``
        threads (entry by entry the same numbers as one call)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous:
            return self._parallel(x.T, threads).T  # keep the layout
        x = np.ascontiguousarray(x)
        out = np.empty_like(x)
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)
        bounds = np.linspace(0, x.size, threads + 1).astype(np.intp)

        def chunk(i: int) -> None:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                a, b = bounds[i], bounds[i + 1]
                flat_out[a:b] = self.fn(flat_x[a:b])

        parallel_map(chunk, list(range(threads)), threads)
        return out

    def describe(self):
        return f"Map({self.label})"


class _Broadcast(Node):
    def __init__(self, children: Sequence[Node]):
        if any(c.sparse for c in children):
            raise CompileError("a sparse tensor can only appear in a sum over one of its "
                               "indices or inside an elementwise function of it alone")
        self.children = tuple(children)
        self.axes = _union(children)

    @functools.cached_property
    def _plans(self) -> tuple:
        """How each child's value is aligned to this node's axes (see ``_align``); None
        where it has them already, in order."""
        out = []
        for c in self.children:
            plan = _align_plan(tuple(c.axes), tuple(self.axes))
            out.append(None if plan[0] is None and plan[1] == tuple(range(len(self.axes)))
                       else plan)
        return tuple(out)

    def compute(self, vals, ctx):
        parts = [np.asarray(v, dtype=np.float64) if plan is None else
                 _aligned(np.asarray(v, dtype=np.float64), plan)
                 for v, plan in zip(vals, self._plans, strict=True)]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if len(parts) == 1:
                return np.array(parts[0])
            out = None
            shape = np.broadcast(*parts).shape if len(parts) <= 32 else \
                np.broadcast_shapes(*(p.shape for p in parts))
            dest = ctx.dest.get(id(self))
            if dest is not None and dest.shape == shape:  # straight into the output
                out = self.op(parts[0], parts[1], out=dest)
            for i in (0, 1) if out is None else ():  # a dead temporary of the result's
                if id(self.children[i]) in ctx.donated and parts[i].shape == shape and \
                        parts[i].flags.writeable:  # shape: write into it
                    # a + b and a * b are exactly b + a and b * a: the same bits
                    out = self.op(parts[i], parts[1 - i], out=parts[i])
                    break
            if out is None:
                out = self.op(parts[0], parts[1])
            for p in parts[2:]:
                if np.broadcast_shapes(out.shape, p.shape) == out.shape:
                    self.op(out, p, out=out)
                else:
                    out = self.op(out, p)
        return out


class Add(_Broadcast):
    op = staticmethod(np.add)


class Mul(_Broadcast):
    op = staticmethod(np.multiply)


class Reduce(Node):
    """sum over one axis of a dense or sparse value."""

    def __init__(self, child: Node, axis: sp.Symbol):
        self.children = (child,)
        self.axis = axis
        self.axes = tuple(a for a in child.axes if a != axis)

    def compute(self, vals, ctx):
        (x,) = vals
        pos = self.children[0].axes.index(self.axis)
        if isinstance(x, SparseData):
            return x.row_sums() if pos == 1 else x.col_sums()
        if np.ndim(x) == 0:
            return np.sum(x, axis=pos)
        # np.einsum: several times faster than np.sum over short rows or over a long
        # axis of narrow rows, in a fixed order of additions (independent of alignment)
        return np.einsum(self._spec, x)

    @functools.cached_property
    def _spec(self) -> str:
        letters = "".join(chr(97 + n) for n in range(len(self.children[0].axes)))
        pos = self.children[0].axes.index(self.axis)
        return f"{letters}->{letters[:pos]}{letters[pos + 1:]}"


class Einsum(Node):
    """sum over one axis of a product of dense values."""

    def __init__(self, children: Sequence[Node], axis: sp.Symbol):
        self.children = tuple(children)
        self.axis = axis
        self.axes = tuple(a for a in _union(children) if a != axis)

    def compute(self, vals, ctx):
        return np.einsum(self._spec, *[np.asarray(v, dtype=np.float64) for v in vals])

    @functools.cached_property
    def _spec(self) -> str:
        letters = {a: chr(97 + n) for n, a in enumerate(_union(self.children))}
        spec = ",".join("".join(letters[a] for a in c.axes) for c in self.children)
        return spec + "->" + "".join(letters[a] for a in self.axes)


class Contract(Node):
    """sum_i S[.., i, ..] G[.., i, e]: a sparse-times-dense matrix product."""

    def __init__(self, sparse: Node, dense: Node, axis: sp.Symbol):
        self.children = (sparse, dense)
        self.axis = axis
        other = [a for a in sparse.axes if a != axis]
        extra = [a for a in dense.axes if a != axis]
        if other and other[0] in extra:
            raise CompileError(f"sum over {axis} of a count times a dense term indexed by "
                               f"both {sparse.axes}: that would need a dense D x W array")
        if len(extra) > 1:
            raise CompileError(f"sum over {axis} of a count times a term with axes "
                               f"{dense.axes}: only one more axis than {axis} is supported")
        self.extra = extra
        self.axes = (*other, *extra)

    def operand(self, G) -> np.ndarray:
        """The dense factor as the product wants it: (summed axis, extra axis), C order."""
        G = _align(np.asarray(G, dtype=np.float64), self.children[1].axes,
                   (self.axis, *self.extra))
        return np.ascontiguousarray(G)

    def compute(self, vals, ctx):
        S, G = vals
        ready = ctx.operands.get(id(self))  # prepared once for all blocks
        G = self.operand(G) if ready is None else ready
        if self.children[0].axes.index(self.axis) == 1:
            return S.dot(G)
        return S.tdot(G)


class LSE(Node):
    """log-sum-exp over one axis (max-shifted); keeps exp(x - max) for a softmax."""

    def __init__(self, child: Node, axis: sp.Symbol):
        if child.sparse:
            raise CompileError("log-sum-exp of a sparse tensor is not supported")
        self.children = (child,)
        self.axis = axis
        self.axes = tuple(a for a in child.axes if a != axis)

    def compute(self, vals, ctx):
        pos = self.children[0].axes.index(self.axis)
        lse, shifted, total = logsumexp(vals[0], axis=pos)
        ctx.aux[id(self)] = (shifted, total)
        return lse


class Softmax(Node):
    """exp(x_k - LogSumExp_j x_j): the shifted exponentials over their sum."""

    def __init__(self, lse: LSE, out_axis: sp.Symbol, mapping: Mapping | None = None):
        mapping = dict(mapping or {})
        body = lse.children[0]
        self.children = (lse, body)
        self.lse = lse
        self.axes = tuple(out_axis if a == lse.axis else mapping.get(a, a) for a in body.axes)

    def compute(self, vals, ctx):
        aux = ctx.aux.pop(id(self.lse), None)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if aux is None:  # another softmax already used the shifted exponentials
                pos = self.lse.children[0].axes.index(self.lse.axis)
                return np.exp(vals[1] - np.expand_dims(vals[0], pos))
            shifted, total = aux
            dest = ctx.dest.get(id(self))
            out = dest if dest is not None and dest.shape == shifted.shape else shifted
            np.divide(shifted, total, out=out)
        return out


# -- evaluation -------------------------------------------------------------------------
class _Context:
    def __init__(self, inputs: Mapping, sizes: Mapping, threads: int = 1,
                 operands: Mapping | None = None, donated: frozenset = frozenset(),
                 dest: Mapping | None = None, given: Mapping | None = None):
        self.inputs, self.sizes, self.threads = inputs, sizes, threads
        #: (input name, elementwise function) -> its value on that input, from the caller
        self.given = given or {}
        self.operands = operands or {}
        self.donated = donated  # ids of nodes whose value its one consumer may overwrite
        #: id of an output node -> the part of the output array its value goes to (a
        #: node that can write there does, saving a copy; any other is copied after)
        self.dest = dest or {}
        self.aux: dict = {}


#: node types whose value is always a new array, owned by the evaluation
_FRESH = (Add, Mul, Reduce, Einsum, Contract)


def _donatable(nodes: Sequence[Node], keep: Sequence[Node]) -> frozenset:
    """Ids of the nodes among ``nodes`` whose value is a temporary read by exactly one
    node (once), so that node may write its result into it: fresh arrays (not a leaf,
    not a cached static value, not an output in ``keep``)."""
    uses: dict[int, int] = {}
    for n in nodes:
        for c in n.children:
            uses[id(c)] = uses.get(id(c), 0) + 1
    kept = {id(n) for n in keep}
    return frozenset(id(n) for n in nodes if isinstance(n, _FRESH) and not n.static
                     and uses.get(id(n)) == 1 and id(n) not in kept)


@dataclass
class _SplitPlan:
    """How ``Program.run(split=...)`` cuts a graph: ``axis`` of the sparse data that is
    cut into blocks, the nodes computed once before the blocks (``whole``), per block
    (``blockwise``) and once beside the blocks (``side``: what no block needs), the
    position of the split index in each node's axes (None: not indexed by it), and the
    values of the whole part that blockwise nodes read, cut to the block.

    ``late``: reductions of the whole part (and what is computed from them) that the
    blocks read only after their sparse products (the M-step's normaliser
    sum_d gamma_dk n_d, a pass over D x K): computed beside the blocks, first, instead
    of before them, while the other threads start on their products; a block runs
    ``head`` (the blockwise nodes before the first that reads a late value), waits for
    the late values, then ``tail``.  The same operations on the same values: the same
    bits."""

    axis: int
    whole: list
    blockwise: list
    cuts: dict
    feeds: list  # (node of the whole part, position of the split index): cut per block
    donated: frozenset  # blockwise temporaries their one consumer may overwrite
    side: list
    late: list = dataclasses.field(default_factory=list)
    head: list = dataclasses.field(default_factory=list)
    tail: list = dataclasses.field(default_factory=list)


#: node types whose value on a block of the split index is computed from their inputs on
#: the same block: elementwise maps, broadcasts, and reductions over another index
_BLOCKWISE = (Relabel, Map, Add, Mul, Reduce, Einsum, Contract, LSE, Softmax)


def _topological(roots: Sequence[Node]) -> list[Node]:
    order, seen = [], set()

    def visit(n: Node) -> None:
        if id(n) in seen:
            return
        seen.add(id(n))
        for c in n.children:
            visit(c)
        order.append(n)

    for r in roots:
        visit(r)
    return order


# -- the compiler -----------------------------------------------------------------------
def _fn_namespace() -> dict:
    return {"LogGamma": scipy.special.gammaln, "loggamma": scipy.special.gammaln,
            "gammaln": scipy.special.gammaln}


def _lambdify(x: sp.Symbol, expr: sp.Expr):
    """A numpy function of ``x`` computing ``expr``; exp and log of ``x`` itself are the
    kernels' versions (the same values as numpy's, without its slow paths for very
    negative arguments and for zeros)."""
    if expr == sp.exp(x):
        return kernels.exp
    if expr == sp.log(x):
        return kernels.log
    return sp.lambdify(x, expr, modules=[_fn_namespace(), "scipy", "numpy"])


class Program:
    """Compiled formulas, evaluated together so that shared sub-formulas run once."""

    def __init__(self, index_dims: Mapping[sp.Symbol, sp.Symbol],
                 tensors: Sequence[TensorSpec]):
        self.index_dims = dict(index_dims)
        self.dims = set(self.index_dims.values()) | {d for t in tensors for d in t.dims}
        self.tensors = {t.name: t for t in tensors}
        self.outputs: dict[str, tuple[Node, tuple]] = {}
        self._memo: dict[str, tuple[Node, dict]] = {}
        self._memo_plans: dict = {}
        #: id of a node list -> (the list, its evaluation steps), see _steps
        self._memo_steps: dict = {}

    # -- public ------------------------------------------------------------------------
    def add(self, name: str, expr: sp.Expr, axes: Sequence[sp.Symbol]) -> None:
        """Compile ``expr``; its value will be returned with ``axes`` in this order."""
        expr = sp.sympify(expr)
        free = self._free(expr)
        if set(free) != set(axes):
            raise CompileError(f"{name}: free indices {sorted(map(str, free))}, expected "
                               f"{sorted(map(str, axes))}")
        try:
            node = self.compile(expr)
        except LogDomainError as exc:
            raise CompileError(f"{name}: {exc}") from None
        except CompileError as exc:
            raise CompileError(f"{name}: {exc}") from None
        if node.sparse:
            raise CompileError(f"{name}: the result would be a sparse count-shaped tensor")
        self.outputs[name] = (node, tuple(axes))

    def nodes(self, names: Sequence[str] | None = None) -> list[Node]:
        names = list(self.outputs) if names is None else names
        return _topological([self.outputs[n][0] for n in names])

    def run(self, names: Sequence[str], inputs: Mapping, split: sp.Symbol | None = None,
            *, given: Mapping | None = None, then: Mapping | None = None) -> dict:
        """Evaluate the outputs ``names``; ``inputs`` maps tensor names to arrays (the
        sparse data as :class:`SparseData`).

        ``split`` (a dimension, e.g. the documents ``D``) evaluates blockwise: the part of
        the graph indexed by that dimension runs on blocks of the sparse data's rows (or
        columns), in parallel threads, each block through all its steps while its arrays
        are in cache; what is not indexed by it (log mu in the E-step, say) runs once,
        before the blocks.  The values are those of the whole evaluation, bit for bit:
        every entry is computed by the same operations on the same numbers in the same
        order (sparse products and reductions go along one row at a time), and the
        blocks are fixed by the data, not by the number of threads.  A graph that
        cannot be cut along ``split`` (a sum over it, say) is evaluated whole.

        ``then`` (output name -> elementwise function f) also returns f(output) under the
        key ``(name, f)``, computed block by block as each block of the output is
        written (while it is in cache, in the same parallel pass).  ``given`` ((input
        name, f) -> array) hands the value of f at an input that the caller has already
        (such a ``then`` result): a node applying f to that input takes it instead of
        computing it again.  f is an elementwise function of the compiled program (the
        kernels' log, say), so either way the values are the same, bit for bit."""
        sizes = self._sizes(inputs)
        data = next((v for v in inputs.values() if isinstance(v, SparseData)), None)
        plan = None
        if split is not None and data is not None:
            plan = self._split_plan(tuple(names), split)
            if plan is not None and any(self.index_dims[a] not in sizes for n in names
                                        for a in self.outputs[n][0].axes):
                plan = None  # an output size no input tells (not the engine's formulas)
        if plan is None:
            nodes, donated = self._whole_plan(tuple(names))
            values = self._evaluate(nodes, inputs, sizes, data, {}, donated=donated,
                                    given=given)
            out: dict = {n: values[id(self.outputs[n][0])] for n in names}
        else:
            out = self._run_split(names, inputs, sizes, data, plan, given, then or {})
        for n, fn in (then or {}).items():
            if (n, fn) not in out:  # not computed by blocks
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    out[(n, fn)] = np.asarray(fn(out[n]), dtype=np.float64)
        return {k: self._output(k if isinstance(k, str) else k[0], v) for k, v in out.items()}

    def _whole_plan(self, names: tuple) -> tuple[list, frozenset]:
        key = ("whole", names)
        if key not in self._memo_plans:
            nodes = self.nodes(list(names))
            self._memo_plans[key] = nodes, _donatable(nodes, [self.outputs[n][0]
                                                              for n in names])
        return self._memo_plans[key]

    def _output(self, name: str, value):
        node, axes = self.outputs[name]
        return np.transpose(value, [node.axes.index(a) for a in axes]) \
            if node.axes != axes else value

    def _evaluate(self, nodes: Sequence[Node], inputs: Mapping, sizes: Mapping,
                  data: SparseData | None, values: dict, operands: Mapping | None = None,
                  donated: frozenset = frozenset(), dest: Mapping | None = None,
                  given: Mapping | None = None) -> dict:
        """Compute ``nodes`` in order into ``values`` (id -> value); static nodes are
        cached on ``data``."""
        ctx = _Context(inputs, sizes, 1 if data is None else data.threads, operands,
                       donated, dest, given)
        cache = None if data is None else data.cache
        for node, nid, kids, static, keep in self._steps(nodes):
            if nid in values:
                continue
            if static and cache is not None:
                hit = cache.get(node)
                if hit is not None:
                    values[nid] = hit
                    continue
            value = values[nid] = node.compute([values[k] for k in kids], ctx)
            # (not the data itself, as a renamed T[d, v] is: a cycle data -> cache -> data
            # would keep every matrix, its blocks and caches alive until a full collection)
            if keep and cache is not None and value is not data:
                cache[node] = value
        return values

    def _steps(self, nodes: Sequence[Node]) -> list[tuple]:
        """``(node, id, ids of its children, static, cached on the data)`` for each node
        of a list that the plans keep: worked out once, since the graph is fixed and the
        blocks of an iteration evaluate the same list again and again (the Python work
        of each holds the lock the other threads need)."""
        key = id(nodes)
        hit = self._memo_steps.get(key)
        if hit is None or hit[0] is not nodes:
            steps = [(n, id(n), tuple(id(c) for c in n.children), n.static,
                      n.static and not isinstance(n, (Const, Size, Data))) for n in nodes]
            hit = self._memo_steps[key] = (nodes, steps)
        return hit[1]

    # -- blockwise evaluation ------------------------------------------------------------
    def _split_plan(self, names: tuple, split: sp.Symbol) -> _SplitPlan | None:
        key = ("split", names, split)
        if key not in self._memo_plans:
            self._memo_plans[key] = self._make_split_plan(names, split)
        return self._memo_plans[key]

    def _make_split_plan(self, names: tuple, split: sp.Symbol) -> _SplitPlan | None:
        """Which nodes run per block: those indexed by ``split`` that no node without it
        needs.  The rest (the "whole" part: values without that index, the leaves, and
        anything a value without it is computed from) runs once, before the blocks."""
        order = self.nodes(list(names))

        def cut(n: Node) -> int | None:
            pos = [i for i, a in enumerate(n.axes) if self.index_dims.get(a) == split]
            return pos[0] if len(pos) == 1 else (None if not pos else -1)

        if any(cut(n) == -1 for n in order):
            return None  # an axis pair of the split dimension (a D x D value)
        whole: set[int] = set()

        def need_whole(n: Node) -> None:
            if id(n) in whole:
                return
            whole.add(id(n))
            for c in n.children:
                need_whole(c)

        for n in order:
            if cut(n) is None or isinstance(n, (Input, Const, Size)):
                need_whole(n)
        blockwise = [n for n in order if id(n) not in whole]
        if not blockwise:
            return None
        for n in blockwise:
            if not isinstance(n, _BLOCKWISE):
                return None
        sparse_axes = {cut(n) for n in order if isinstance(n, Data)} - {None}
        if len(sparse_axes) != 1:
            return None  # the blocks follow the sparse data: it must carry the split index
        (axis,) = sparse_axes
        inner = {id(c) for n in blockwise for c in n.children}
        feeds = [(n, cut(n)) for n in order
                 if id(n) in whole and id(n) in inner and cut(n) is not None]
        before: set[int] = set()  # the whole part the blocks need

        def need_before(n: Node) -> None:
            if id(n) not in before:
                before.add(id(n))
                for c in n.children:
                    need_before(c)

        for n in order:
            if id(n) in whole and id(n) in inner:
                need_before(n)
        side = [n for n in order if id(n) in whole and id(n) not in before]
        late = self._late(order, before, blockwise, feeds)
        wait = next((i for i, n in enumerate(blockwise)
                     if any(id(c) in late for c in n.children)), len(blockwise))
        return _SplitPlan(axis, [n for n in order if id(n) in before and id(n) not in late],
                          blockwise, {id(n): cut(n) for n in order}, feeds,
                          _donatable(blockwise, [self.outputs[n][0] for n in names]), side,
                          [n for n in order if id(n) in late], blockwise[:wait],
                          blockwise[wait:])

    @staticmethod
    def _late(order: Sequence[Node], before: set, blockwise: Sequence[Node],
              feeds: Sequence) -> set:
        """Ids of the nodes of the whole part that may run beside the blocks (see
        :class:`_SplitPlan`): dense reductions that are not static, and what depends on
        them, unless a block needs them at its start (a value it is cut from, or the
        dense factor of a sparse product, prepared once before the blocks)."""
        early: set[int] = set()

        def need_early(n: Node) -> None:
            if id(n) not in early:
                early.add(id(n))
                for c in n.children:
                    need_early(c)

        for n, _ in feeds:
            need_early(n)
        for n in blockwise:
            if isinstance(n, Contract) and id(n.children[1]) in before:
                need_early(n.children[1])
        late: set[int] = set()
        for n in order:
            if id(n) not in before or id(n) in early:
                continue
            if (isinstance(n, (Einsum, Reduce)) and not n.static) or \
                    any(id(c) in late for c in n.children):
                late.add(id(n))
        return late

    def _run_split(self, names, inputs, sizes, data: SparseData, plan: _SplitPlan,
                   given: Mapping | None = None, then: Mapping | None = None) -> dict:
        """The outputs (in their nodes' axis order), and ``then`` maps of the blockwise
        ones under ``(name, f)``."""
        values = self._evaluate(plan.whole, inputs, sizes, data, {}, given=given)
        outputs = {}
        blockwise = {id(n) for n in plan.blockwise}
        for n in names:
            node = self.outputs[n][0]
            if id(node) in blockwise:
                shape = tuple(sizes[self.index_dims[a]] for a in node.axes)
                outputs[n] = np.empty(shape)
        mapped = {(n, fn): np.empty(outputs[n].shape) for n, fn in (then or {}).items()
                  if n in outputs}
        for n, _ in plan.feeds:  # cut the sparse values before the threads start
            if isinstance(values[id(n)], SparseData):
                values[id(n)].blocks(plan.axis)
        operands = {id(c): c.operand(values[id(c.children[1])]) for c in plan.blockwise
                    if isinstance(c, Contract) and id(c.children[1]) in values}
        side: dict = {}
        late: dict = {}
        ready = threading.Event()

        def run_block(i: int) -> None:
            if i < 0:  # beside the blocks, first: the late values, then those no block
                try:   # needs (pi beside mu)
                    if plan.late:
                        got = self._evaluate(plan.late, inputs, sizes, data, dict(values),
                                             given=given)
                        late.update((id(n), got[id(n)]) for n in plan.late)
                finally:
                    ready.set()  # also on an error: no block waits forever
                side.update(self._evaluate(plan.side, inputs, sizes, data,
                                           {**values, **late}, given=given))
                return
            start, stop, block = data.blocks(plan.axis)[i]
            vals = dict(values)  # the whole part; the values it feeds are cut below
            for n, pos in plan.feeds:
                v = values[id(n)]
                if isinstance(v, SparseData):  # the data or an elementwise map of it
                    vals[id(n)] = v.blocks(plan.axis)[i][2]
                else:
                    index = [slice(None)] * np.ndim(v)
                    index[pos] = slice(start, stop)
                    vals[id(n)] = v[tuple(index)]
            parts = {}
            for name, arr in outputs.items():
                index = [slice(None)] * arr.ndim
                index[plan.cuts[id(self.outputs[name][0])]] = slice(start, stop)
                parts[name] = arr[tuple(index)]
            dest = {id(self.outputs[name][0]): part for name, part in parts.items()}
            if not plan.late:
                self._evaluate(plan.blockwise, inputs, sizes, block, vals, operands,
                               plan.donated, dest, given)
            else:
                self._evaluate(plan.head, inputs, sizes, block, vals, operands,
                               plan.donated, dest, given)
                ready.wait()
                if len(late) != len(plan.late):
                    raise RuntimeError("the values computed beside the blocks failed")
                vals.update(late)
                self._evaluate(plan.tail, inputs, sizes, block, vals, operands,
                               plan.donated, dest, given)
            for name, part in parts.items():
                value = vals[id(self.outputs[name][0])]
                if value is not part:  # not written in place (or another name's)
                    part[...] = value
            for (name, fn), arr in mapped.items():  # while the block is in cache
                index = [slice(None)] * arr.ndim
                index[plan.cuts[id(self.outputs[name][0])]] = slice(start, stop)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    arr[tuple(index)] = fn(parts[name])

        items = ([-1] if plan.side or plan.late else []) + \
            list(range(len(data.blocks(plan.axis))))
        parallel_map(run_block, items, data.threads)
        values.update(late)
        values.update(side)
        out: dict = {n: outputs[n] if n in outputs else values[id(self.outputs[n][0])]
                     for n in names}
        out.update(mapped)
        return out

    # -- sizes -------------------------------------------------------------------------
    def _sizes(self, inputs: Mapping) -> dict:
        sizes: dict = {}
        for name, spec in self.tensors.items():
            if name not in inputs:
                continue
            shape = inputs[name].shape
            if len(shape) != len(spec.dims):
                raise ValueError(f"{name}: expected {len(spec.dims)} axes, got shape {shape}")
            for dim, n in zip(spec.dims, shape, strict=True):
                if sizes.setdefault(dim, n) != n:
                    raise ValueError(f"{name}: size {n} for {dim}, but {sizes[dim]} elsewhere")
        return sizes

    # -- compiling ---------------------------------------------------------------------
    def _free(self, e: sp.Basic) -> list[sp.Symbol]:
        return [s for s in e.free_symbols if s in self.index_dims]

    def _canonical(self, e: sp.Basic) -> tuple[str, dict]:
        """A key equal for formulas that differ only by index names, and the renaming of
        the free indices to the canonical ones (a structural string, built without
        rebuilding any SymPy object)."""
        free: dict = {}
        counter = [0]

        def key(x: sp.Basic, bound: dict) -> str:
            if isinstance(x, (sp.Sum, sp.Product, LogSumExp)):
                limits = [tuple(x.limit)] if isinstance(x, LogSumExp) else \
                    [tuple(lim) for lim in x.limits]
                body = x.body if isinstance(x, LogSumExp) else x.function
                inner = dict(bound)
                parts = []
                for var, lo, hi in limits:
                    counter[0] += 1
                    inner[var] = f"_b{counter[0]}"
                    parts.append(f"({inner[var]},{key(lo, bound)},{key(hi, bound)})")
                return f"{type(x).__name__}({key(body, inner)},{','.join(parts)})"
            if isinstance(x, sp.Symbol):
                if x in bound:
                    return bound[x]
                if x in self.index_dims:
                    if x not in free:
                        free[x] = sp.Symbol(f"_f{len(free)}_{self.index_dims[x]}", integer=True)
                    return str(free[x])
                return sp.srepr(x)
            if not x.args:
                return sp.srepr(x)
            return f"{type(x).__name__}({','.join(key(a, bound) for a in x.args)})"

        return key(e, {}), free

    def compile(self, e: sp.Basic) -> Node:
        key, fwd = self._canonical(e)
        hit = self._memo.get(key)
        if hit is not None:
            node, canon = hit
            back = {c: s for s, c in fwd.items()}
            mapping = {a: back[canon[a]] for a in node.axes}
            if all(k == v for k, v in mapping.items()):
                return node
            return Relabel(node, mapping)
        node = self._build(e)
        self._memo[key] = (node, {a: fwd[a] for a in node.axes})
        return node

    def _build(self, e: sp.Basic) -> Node:
        if e.is_Number:
            if e == sp.S.NegativeInfinity:
                return Const(-np.inf)
            if not e.is_real:
                raise CompileError(f"not a real number: {e}")
            return Const(float(e))
        if isinstance(e, sp.Indexed):
            return self._leaf(e)
        if isinstance(e, sp.Symbol):
            if e in self.dims:
                return Size(e)
            spec = self.tensors.get(str(e))
            if spec is not None and not spec.dims:  # a scalar parameter (alpha, beta)
                return Input(spec.name, ())
            raise CompileError(f"unknown symbol {e} (not a dimension or a tensor entry)")
        if isinstance(e, LogSumExp):
            i = self._check_limit(e.limit)
            return LSE(self._dense(self.compile(e.body), e), i)
        if isinstance(e, sp.log):
            arg = e.args[0]
            inner = logify(arg)
            if inner != e:
                return self.compile(inner)
        if isinstance(e, (sp.Mul, sp.Pow, sp.Product, sp.Sum)) and needs_log(e):
            if not nonnegative(e):
                raise CompileError(f"{e} needs the log domain but is not known to be >= 0")
            return self._exp(logify(e))
        if isinstance(e, sp.Sum):
            return self._sum(e)
        if isinstance(e, sp.Product):
            raise CompileError(f"product over an index outside the log domain: {e}")
        fused = self._sparse_elementwise(e)
        if fused is not None:
            return fused
        if isinstance(e, sp.Add):
            return Add([self.compile(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return Mul([self.compile(a) for a in e.args])
        if isinstance(e, sp.Pow):
            if not e.exp.is_Number:
                raise CompileError(f"power with a variable exponent: {e}")
            x = sp.Dummy("x")
            return self._map(x ** e.exp, e.base, f"x**{e.exp}", x)
        if isinstance(e, sp.exp):
            return self._exp(e.args[0])
        if isinstance(e, sp.Function) and len(e.args) == 1:
            x = sp.Dummy("x")
            return self._map(e.func(x), e.args[0], type(e).__name__, x)
        raise CompileError(f"cannot compile {type(e).__name__}: {e}")

    def _leaf(self, e: sp.Indexed) -> Node:
        name = str(e.base.label)
        spec = self.tensors.get(name)
        if spec is None:
            raise CompileError(f"unknown tensor {name!r} in {e}")
        if len(e.indices) != len(spec.dims):
            raise CompileError(f"{e}: {name} has {len(spec.dims)} indices")
        for pos, i in enumerate(e.indices):
            if i not in self.index_dims:
                raise CompileError(f"{e}: index {i} must be a plain index symbol")
            if self.index_dims[i] != spec.dims[pos]:
                raise CompileError(f"{e}: index {i} runs over {self.index_dims[i]}, "
                                   f"but axis {pos + 1} of {name} has size {spec.dims[pos]}")
        if len(set(e.indices)) != len(e.indices):
            raise CompileError(f"{e}: a repeated index (a diagonal) is not supported")
        return (Data if spec.sparse else Input)(name, tuple(e.indices))

    def _check_limit(self, limit) -> sp.Symbol:
        i, lo, hi = limit
        if i not in self.index_dims:
            raise CompileError(f"sum over {i}, which is not a declared index")
        if lo != 1 or hi != self.index_dims[i]:
            raise CompileError(f"sum over {i} from {lo} to {hi}; only full ranges "
                               f"1..{self.index_dims[i]} are supported")
        return i

    @staticmethod
    def _dense(node: Node, where: sp.Basic) -> Node:
        if node.sparse:
            raise CompileError(f"a sparse tensor where a dense one is needed: {where}")
        return node

    def _map(self, fexpr: sp.Expr, arg: sp.Expr, label: str, x: sp.Symbol):
        child = self.compile(arg)
        fn = _lambdify(x, fexpr)
        if child.sparse:
            self._check_zero(fn, label, arg)
        return Map(fn, child, label)

    @staticmethod
    def _check_zero(fn, label: str, where) -> None:
        with np.errstate(all="ignore"):
            zero = np.asarray(fn(np.zeros(1)), dtype=np.float64)
        if zero.shape != (1,) or zero[0] != 0.0:
            raise CompileError(f"{label} applied to the sparse counts in {where} maps 0 to "
                               f"{zero.ravel()[0] if zero.size else zero}, so every zero "
                               "count would become nonzero (a dense D x W array)")

    def _sparse_elementwise(self, e: sp.Basic) -> Node | None:
        """An elementwise function of one sparse tensor entry and constants only."""
        if e.has(sp.Sum, sp.Product, LogSumExp):
            return None
        leaves = e.atoms(sp.Indexed)
        if len(leaves) != 1:
            return None
        (leaf,) = leaves
        spec = self.tensors.get(str(leaf.base.label))
        if spec is None or not spec.sparse:
            return None
        x = sp.Dummy("x")
        fexpr = e.xreplace({leaf: x})
        if fexpr.free_symbols - {x}:
            return None
        fn = _lambdify(x, fexpr)
        self._check_zero(fn, str(fexpr).replace(str(x), "x"), e)
        return Map(fn, self.compile(leaf), str(fexpr).replace(str(x), "x"))

    def _exp(self, L: sp.Expr) -> Node:
        """exp(L); ``x_k - LogSumExp_j(x_j)`` becomes a softmax sharing the log-sum-exp."""
        if isinstance(L, sp.Add):
            for term in L.args:
                coeff, rest = term.as_coeff_Mul()
                if coeff != -1 or not isinstance(rest, LogSumExp):
                    continue
                others = sp.Add(*[a for a in L.args if a is not term])
                j = rest.index
                for k in self._free(others):
                    if self.index_dims.get(k) != self.index_dims.get(j) or k in \
                            rest.free_symbols:
                        continue
                    if self._canonical(others.xreplace({k: j}))[0] == \
                            self._canonical(rest.body)[0]:
                        lse = self.compile(rest)
                        mapping = {}
                        if isinstance(lse, Relabel):
                            mapping = dict(zip(lse.children[0].axes, lse.axes, strict=True))
                            lse = lse.children[0]
                        if isinstance(lse, LSE):
                            return Softmax(lse, k, mapping)
        return Map(kernels.exp, self._dense(self.compile(L), L), "exp")

    def _sum(self, e: sp.Sum) -> Node:
        # SymPy flattens nested sums into one Sum with several limits (innermost first)
        body = sp.Sum(e.function, *e.limits[:-1]) if len(e.limits) > 1 else e.function
        i = self._check_limit(e.limits[-1])
        terms = []
        for term in sp.Add.make_args(body):
            factors = sp.Mul.make_args(term)
            dep = [f for f in factors if i in f.free_symbols]
            indep = [self.compile(f) for f in factors if i not in f.free_symbols]
            if not dep:
                indep.append(Size(self.index_dims[i]))
                terms.append(Mul(indep) if len(indep) > 1 else indep[0])
                continue
            nodes = [self.compile(f) for f in dep]
            sparse = [n for n in nodes if n.sparse]
            dense = [n for n in nodes if not n.sparse]
            if len(sparse) > 1:
                raise CompileError(f"a product of two sparse tensors in {e}")
            if sparse:
                if dense:
                    g = Mul(dense) if len(dense) > 1 else dense[0]
                    reduced = Contract(sparse[0], g, i)
                else:
                    reduced = Reduce(sparse[0], i)
            elif len(nodes) == 1 and isinstance(nodes[0], Mul) and nodes[0].children:
                # sum_i (a * b * ...): one pass of einsum, no product array
                reduced = Einsum(nodes[0].children, i)
            elif len(nodes) == 1:
                reduced = Reduce(nodes[0], i)
            else:
                reduced = Einsum(nodes, i)
            parts = [*indep, reduced]
            terms.append(Mul(parts) if len(parts) > 1 else reduced)
        return Add(terms) if len(terms) > 1 else terms[0]


def compile_formulas(index_dims: Mapping[sp.Symbol, sp.Symbol], tensors: Sequence[TensorSpec],
                     formulas: Mapping[str, tuple[sp.Expr, Sequence[sp.Symbol]]]) -> Program:
    """A :class:`Program` with every ``name: (expr, output axes)`` compiled."""
    prog = Program(index_dims, tensors)
    for name, (expr, axes) in formulas.items():
        prog.add(name, expr, axes)
    return prog
