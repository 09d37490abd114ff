"""Stationary and maximiser claims beyond the exactly solved sizes, and the parameter
draws they use.

**Larger sizes, at 50 digits.**  The exact check (stationary.py) decides the Lagrange
conditions in exact arithmetic at each sampled point, which costs too much beyond the
declared small sizes.  At a larger size (each dimension drawn from 6 and 7, the referee's
sizes of plan.py, else 6 throughout) the same conditions are checked numerically, at 70
working digits against the usual 10^-35 tolerance, at each sampled parameter point:

* the claimed point, evaluated numerically (a matrix inverse is a numeric inverse),
  lies in the declared domains (a value within 10^-60 of a boundary skips the point);
* the constraints vanish there, and the Lagrange conditions grad f = J^T lambda hold,
  the multipliers solved from independent rows of the constraint Jacobian (rational once
  the parameters are numbers: affine constraints), each condition relative to its terms;
* for a maximiser, the Hessian of f on the constraints' tangent space is negative
  definite (a Cholesky factorisation of its negative); an eigenvalue > 0 refutes;
* for a global maximiser, steps along the tangent space find no feasible point with a
  larger f.

This is evidence, never a proof: it refutes, or adds its size to a ``verified``.  Claims
with curved constraints, integrals, more than :data:`MAX_UNKNOWNS` unknowns at that size
or an objective whose derivatives take more than :data:`MAX_DERIVATIVE_STEPS` steps there
(a log-determinant of a matrix of unknowns) are not sampled there, and their evidence
says so.

**Parameters without coincidences.**  A swapped claim such as x* = q/(p + q) for the
maximiser p/(p + q) of p log x + q log(1 - x) agrees with the truth wherever p = q.  A
regular draw therefore never gives two continuous parameters the same value: a repeat
is redrawn as a random rational (:func:`distinct_draw`).  Points where parameters
coincide (all at 1, all near an end) are the special points, tried in addition, never
counted as the regular evidence.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass, field

import mpmath
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from ..assumptions import Binary, Counts, Interval, Positive, Real, Simplex
from ..evaluate import KinkError, NumericInstantiator, key_of
from ..instantiate import InstantiationError, Instantiator
from ..matrix_domains import Invertible, MatrixDomain, PositiveDefinite, structured
from ..nodes import is_matrix
from ..numeric import _MODULE, TOLERANCE, Sampler, assumption_of, leaf_name
from ..walker import OperandShapeError
from .instances import all_entries, expand_family, free_indices, leaves_of, referenced_vars
from .kinks import kinks
from .maxima import STEPS, bracketed
from .memo import Memo, content_key, label, point_key, sizes_key
from .mpcode import Unsupported, compile_mp
from .plan import MIN_TOP_SIZE, POINTS_NUMERIC, top_sizes, tries
from .unknowns import unknown_entries
from .verdict import Outcome, Verdict, jsonable_sizes, sizes_text

REDRAWS = 8  # attempts to move one coinciding value off the others


def _continuous(a) -> bool:
    return not (a.grouped or isinstance(a, (Binary, Counts, MatrixDomain)))


def distinct_draw(sampler: Sampler) -> dict:
    """A regular draw in which no two continuous parameters share a value (grouped,
    discrete and structured ones keep theirs: their values are constrained)."""
    point = sampler.draw()
    seen: set = set()
    for leaf in sorted(point, key=label):
        a = assumption_of(sampler.d, leaf, sampler.extra)
        if not _continuous(a):
            continue
        value = point[leaf]
        for _ in range(REDRAWS):
            if value not in seen:
                break
            value = a.draw(sampler.rng, 1, "rational")[0]
        point[leaf] = value
        seen.add(value)
    return point


# -- larger sizes ------------------------------------------------------------------------
MAX_UNKNOWNS = 64   # scalar unknowns at a larger size (the Hessian is MAX_UNKNOWNS^2)
#: steps of :class:`Deriver` (one per subexpression differentiated) for the gradient and
#: Hessian at a larger size: a counted cap, so the same claims are sampled larger under
#: any load.  The homework's maximisers take at most 18 368 at size 8; log det K at
#: n = 5 (a determinant is a sum of n! products) takes 261 551 and 16 CPU s, at n = 7
#: more than the claim's budget, which left a true claim undecided.
MAX_DERIVATIVE_STEPS = 100_000
WORK = 70           # working digits of the numeric check


class _Shape(Exception):
    """The claimed point's shape is not the unknowns' at this size."""


class _Outside(Exception):
    """The claimed value of a structured unknown is not in its domain (not symmetric)."""


class TooCostly(Exception):
    """The claim cannot be checked numerically at this size (the reason is the text)."""


def _mp(x):
    return mpmath.mpf(int(x.p)) / int(x.q) if isinstance(x, sp.Rational) else mpmath.mpf(x)


def _compiler(args: list):
    """Compiled mpmath functions of ``args``: straight-line code from
    :func:`.mpcode.compile_mp` (``vary``: the leading arguments a search moves, the rest
    held), or, for any node it does not know, the fallback below.

    The fallback is a lambdify over ``args`` (entries such as mu[1, 2]), each printed as a plain,
    uniquely named argument (lambdify would rewrite the expression once per argument
    that is not such a symbol, a Dummy included: 400 passes at a larger size; renaming
    them in the expression first rebuilds it, worth it only before ``cse``).  With
    ``cse``, common subexpressions are computed once: the objective at a larger size
    repeats log(mu_kw) once per document, and the many calls of it in the search for a
    better point are 3x cheaper so (cse itself costs, so only there).

    Printing is most of the cost of compiling a large explicit objective, and most of
    that is sorting: terms are printed (and common subexpressions searched) in the
    order they are held, not SymPy's canonical order, and no docstring is rendered.
    The order of a sum only moves its rounding, at the working precision (70 digits)."""
    names = [sp.Symbol(f"symderive_arg_{k}") for k in range(len(args))]
    table = {a: str(n) for a, n in zip(args, names)}
    renamed = dict(zip(args, names))

    def compile_(exprs, cse=False, vary=None):
        exprs = sp.sympify(exprs) if not isinstance(exprs, list) else \
            [sp.sympify(e) for e in exprs]
        try:  # straight-line code, repeated subtrees shared (see mpcode.py)
            return compile_mp(args, exprs, vary)
        except Unsupported:
            pass
        if cse:  # searched for common subexpressions faster among plain symbols
            exprs = exprs.xreplace(renamed) if not isinstance(exprs, list) else \
                [e.xreplace(renamed) for e in exprs]
        return sp.lambdify(names, exprs, modules=[_MODULE, "mpmath"],
                           printer=_Printer(table), dummify=False, docstring_limit=0,
                           use_imps=False, cse=_unsorted_cse if cse else False)
    return compile_


class _Printer(MpmathPrinter):
    """lambdify's own mpmath printer (the names of :data:`_MODULE` as user functions),
    printing sums in their stored order and each argument by its plain name."""

    def __init__(self, table: dict):
        super().__init__({"fully_qualified_modules": False, "inline": True,
                          "allow_unknown_functions": True, "order": "none",
                          "user_functions": {k: k for k in _MODULE}})
        self.table = table

    def _print_Symbol(self, expr):
        return self.table.get(expr) or super()._print_Symbol(expr)

    def _print_Indexed(self, expr):
        return self.table.get(expr) or super()._print_Indexed(expr)


def _unsorted_cse(exprs):
    return sp.cse(exprs, list=False, order="none")


class Deriver:
    """d expr / d v by the sum and product rules, with SymPy's ``diff`` only on the
    factors that contain ``v``: the same derivative, without ``diff`` visiting (and
    rebuilding) every constant factor and term of a large explicit objective, which was
    most of the cost of making a claim explicit at a larger size.  Which unknowns a
    subexpression holds is computed once per subexpression (SymPy recomputes
    ``free_symbols`` on every call)."""

    def __init__(self, unknowns, limit: int | None = None):
        self.unknowns = frozenset(unknowns)
        self._holds: dict = {}
        self.limit, self.steps = limit, 0

    def holds(self, expr: sp.Expr) -> frozenset:
        got = self._holds.get(expr)
        if got is None:
            got = self._holds[expr] = (
                frozenset([expr]) if expr in self.unknowns else
                frozenset().union(*(self.holds(a) for a in expr.args)))
        return got

    def __call__(self, expr: sp.Expr, v) -> sp.Expr:
        self.steps += 1
        if self.limit is not None and self.steps > self.limit:
            raise TooCostly(f"its gradient and Hessian take more than {self.limit} "
                            f"differentiation steps")
        if expr == v:
            return sp.S.One
        if v not in self.holds(expr):
            return sp.S.Zero
        if expr.is_Add:
            return sp.Add(*(self(a, v) for a in expr.args))
        if expr.is_Mul:
            dep = [a for a in expr.args if v in self.holds(a)]
            rest = sp.Mul(*(a for a in expr.args if v not in self.holds(a)))
            if len(dep) == 1:
                return rest * self(dep[0], v)
            return rest * sp.Add(*(sp.Mul(*dep[:k], self(a, v), *dep[k + 1:])
                                   for k, a in enumerate(dep)))
        if isinstance(expr, sp.log) and len(expr.args) == 1:
            return self(expr.args[0], v) / expr.args[0]
        if expr.is_Pow and v not in self.holds(expr.exp):
            b, e = expr.args
            return e * b ** (e - 1) * self(b, v)
        return sp.diff(expr, v)


@dataclass
class Large:
    """One claim made explicit at a larger size, compiled to mpmath functions."""

    claim: object
    sizes: dict
    variables: list
    params: list
    slots: list          # (general value, env, [leaf entries]) of the claimed point
    jac: sp.Matrix       # d constraints / d variables (free of the variables)
    f: object
    grad: object
    cons: object
    hess: object
    hess_keys: list
    #: the claimed point as one compiled function of the parameters, when every slot is
    #: a scalar built from arithmetic, exp and log (see :func:`_plain_slots`); else None,
    #: and the point is evaluated by the numeric instantiator
    point_fn: object = None
    #: per slot, the matrix domain of a structured unknown (None for any other), whose
    #: claimed value must lie in it (see :func:`_member`)
    domains: list = field(default_factory=list)

    @classmethod
    def build(cls, claim, sizes: dict) -> Large:
        d = claim.derivation
        if any(sp.sympify(e).has(sp.Integral) for e in (claim.f, *claim.constraints)):
            raise TooCostly("an integral in the objective")
        inst = Instantiator(d, sizes)
        try:
            f = inst.scalar(claim.f, {}, frozenset())
            variables = unknown_entries(inst, d, claim.variables)
            if len(variables) > MAX_UNKNOWNS:
                raise TooCostly(f"more than {MAX_UNKNOWNS} unknowns")
            constraints = expand_family(inst, d, claim.constraints)
            slots, domains = [], []
            for var, value in claim.point.items():
                idx = free_indices(d, var)
                ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
                for values in itertools.product(*ranges):
                    env = dict(zip(idx, values))
                    leaves = (list(inst.explicit(var, env)) if is_matrix(var)
                              else [inst.scalar(sp.sympify(var), env, frozenset())])
                    slots.append((sp.sympify(value), env, leaves))
                    domains.append(structured(d.vars[var.name])
                                   if isinstance(var, sp.MatrixSymbol) else None)
        except (InstantiationError, OperandShapeError, TypeError, ValueError, KeyError) as exc:
            raise TooCostly(f"not instantiable ({exc})") from exc
        if kinks([f, *constraints], variables):  # no numeric guard here (kinks.py)
            raise TooCostly("f or a constraint has a kink (Abs, Max, a Piecewise ...), "
                            "which the tests there do not guard")
        varset = set(variables)
        derivative = Deriver(variables, MAX_DERIVATIVE_STEPS)
        jac = sp.Matrix(len(constraints), len(variables),
                        lambda j, i: derivative(constraints[j], variables[i]))
        if jac.free_symbols & varset:
            raise TooCostly("curved constraints")
        grad = {v: [] for v in variables}
        for term in sp.Add.make_args(f):
            for v in derivative.holds(term):
                grad[v].append(derivative(term, v))
        grad = {v: sp.Add(*terms) for v, terms in grad.items()}
        hess: dict = {}
        if claim.maximum:
            where = {v: k for k, v in enumerate(variables)}
            for a, v in enumerate(variables):
                for term in sp.Add.make_args(grad[v]):
                    for u in derivative.holds(term):
                        hess.setdefault((a, where[u]), []).append(derivative(term, u))
            hess = {k: sp.Add(*terms) for k, terms in hess.items()}
        point_vars = referenced_vars(d, *claim.point.values())
        params = sorted(set(leaves_of([f, *constraints], variables))
                        | (set(all_entries(inst, point_vars)) - varset), key=label)
        fn = _compiler([*variables, *params])
        keys = sorted(hess)
        exprs = _plain_slots(inst, slots, params)
        return cls(claim, dict(sizes), variables, params, slots, jac,
                   fn(f, cse=True, vary=len(variables)), fn([grad[v] for v in variables]),
                   fn(constraints),
                   fn([hess[k] for k in keys]), keys,
                   fn(exprs, cse=True) if exprs is not None else None, domains)

    # -- one parameter point ---------------------------------------------------------
    def _point(self, point: dict) -> list:
        if self.point_fn is not None:
            got = self.point_fn(*([0] * len(self.variables)),
                                *(_mp(point[k]) for k in self.params))
            out = {}
            for (_, _, leaves), x in zip(self.slots, got):
                out[leaves[0]] = _real(x)
            return [out[v] for v in self.variables]
        values = {key_of(k): _mp(v) for k, v in point.items()}
        ninst = NumericInstantiator(self.claim.derivation, self.sizes, values)
        out = {}
        for slot, (value, env, leaves) in enumerate(self.slots):
            got = (ninst.matrix(value, env, frozenset()).data if len(leaves) > 1
                   or is_matrix(value) else [ninst.scalar(value, env, frozenset())])
            if len(got) != len(leaves):
                raise _Shape(f"the claimed point has {len(got)} entries for "
                             f"{len(leaves)} unknowns at {sizes_text(self.sizes)}")
            if self.domains and self.domains[slot] is not None:
                _member(self.domains[slot], [_real(x) for x in got])
            for leaf, x in zip(leaves, got):
                x = _real(x)
                # a structured unknown repeats a free entry (symmetric) or has zeros
                # (diagonal): the claimed value must agree there to lie in its domain
                prev = _mp(leaf) if leaf.is_Number else out.get(leaf)
                if prev is not None and abs(x - prev) > TOLERANCE * max(1, abs(x), abs(prev)):
                    name = str(leaf) if leaf.is_Number else leaf_name(leaf)
                    raise _Outside(f"the claimed point has {mpmath.nstr(x, 15)} where the "
                                   f"unknown has {name} = {mpmath.nstr(prev, 15)}: it lies "
                                   "outside the unknown's domain")
                if not leaf.is_Number:
                    out[leaf] = x
        return [out[v] for v in self.variables]

    def check(self, point: dict) -> Outcome | None:
        """None when the conditions hold at this parameter point; an Outcome when they
        fail; ValueError (and the like) when the point decides nothing."""
        with mpmath.workdps(WORK):
            return self._check(point)

    def _check(self, point: dict) -> Outcome | None:
        claim = self.claim
        x = None

        def failed(method: str, message: str, **more) -> Outcome:
            # the counterexample's texts only for a point that fails (most hold)
            cx = {"sizes": jsonable_sizes(self.sizes),
                  "values": {leaf_name(k): str(v)
                             for k, v in sorted(point.items(), key=lambda t: str(t[0]))}}
            if x is not None:
                cx["point"] = {leaf_name(v): mpmath.nstr(xv, 15)
                               for v, xv in zip(self.variables, x)}
            cx.update(message=message, **more)
            return Outcome(Verdict.REFUTED, method, message, cx)

        try:
            x = self._point(point)
        except _Shape as exc:
            return failed("shape", str(exc))
        except _Outside as exc:
            return failed("domain", str(exc))
        p = [_mp(point[k]) for k in self.params]
        for v, xv in zip(self.variables, x):
            if not _inside(claim, v, xv):
                return failed("domain", f"{leaf_name(v)} = {mpmath.nstr(xv, 15)} lies "
                              f"outside {_domain(claim, v).describe()}")
        scale = max([1, *(abs(t) for t in x)])
        for j, g in enumerate(self.cons(*x, *p)):
            if abs(g) > TOLERANCE * scale:
                return failed("constraints", f"the constraint {j + 1} fails at the claimed "
                              f"point (residual {mpmath.nstr(g, 5)})")
        J = self.jac.xreplace(dict(zip(self.params, (point[k] for k in self.params))))
        if not all(e.is_Rational for e in J):
            raise ValueError("a constraint Jacobian that is not rational")
        grad = self.grad(*x, *p)
        if not _lagrange_holds(J, grad):
            return failed("Lagrange conditions",
                          "not a stationary point: no multipliers satisfy the Lagrange "
                          "conditions" if J.rows else "not a stationary point: the "
                          "gradient does not vanish")
        if not claim.maximum:
            return None
        Z = _basis(sp.ImmutableMatrix(J), len(x))
        if Z.cols:
            M = _tangent(Z, dict(zip(self.hess_keys, self.hess(*x, *p))))
            blocks = [_sub(M, b) for b in _blocks(M)]
            try:
                for B in blocks:
                    mpmath.cholesky(-B)
            except (ValueError, ZeroDivisionError):
                eig = [e for B in blocks for e in mpmath.eigsy(B)[0]]
                top = max(eig)
                size = max(1, *(abs(e) for e in eig))
                if top > TOLERANCE * size:
                    return failed("second-order condition",
                                  f"stationary, but not a maximum: the Hessian of the "
                                  f"Lagrangian has eigenvalue {mpmath.nstr(top, 12)} > 0 "
                                  "on the tangent space")
                raise ValueError("the second-order test is inconclusive here") from None
        if not claim.local:
            found = self._better(x, p, Z)
            if found is not None:
                trial, got, base = found
                return failed("global maximum",
                              f"not a global maximiser: f = {mpmath.nstr(got, 15)} at a "
                              f"feasible point, greater than f = {mpmath.nstr(base, 15)} "
                              "at the claimed point",
                              better={leaf_name(v): mpmath.nstr(t, 15)
                                      for v, t in zip(self.variables, trial)})
        return None

    def _better(self, x: list, p: list, Z):
        """A feasible point with a larger f, by steps along the tangent space.  Only the
        entries a direction moves are tested against their domains: the others are the
        claimed point's, already found inside (strictly, with the same margin)."""
        base = self.f(*x, *p)
        rng = random.Random(len(x))
        n = len(x)
        dirs = [[Z[i, k] for i in range(n)] for k in range(min(Z.cols, 2))]
        rows = _rows(Z) if Z.cols > 1 else None
        for _ in range(2 if Z.cols > 1 else 0):
            w = [rng.randint(-3, 3) for _ in range(Z.cols)]
            # a zero entry of Z adds exactly nothing to the sum: only the nonzeros
            dirs.append([mpmath.fsum(w[k] * z for k, z in row) for row in rows])
        reach = max([1, *(abs(t) for t in x)])
        where = [_where(self.claim, v) for v in self.variables]
        for z in dirs:
            moved = [i for i in range(n) if z[i]]
            for step in STEPS:
                length = _mp(step) * reach
                trial = list(x)
                for i in moved:
                    trial[i] = x[i] + length * z[i]
                if not all(_inside(self.claim, self.variables[i], trial[i], strict=True,
                                   where=where[i]) for i in moved):
                    continue
                try:
                    got = self.f(*trial, *p)
                except (ValueError, ZeroDivisionError, OverflowError):
                    continue
                if isinstance(got, mpmath.mpc):
                    continue
                if got > base + TOLERANCE * max(1, abs(base)):
                    return trial, got, base
        return None


def _real(x) -> mpmath.mpf:
    """A computed entry of the claimed point, which must be real."""
    if isinstance(x, mpmath.mpc):
        if abs(x.imag) > TOLERANCE * max(1, abs(x.real)):
            raise ValueError("a complex claimed point")
        x = x.real
    return mpmath.mpf(x)


#: what a compiled claimed point may contain besides numbers and the parameters: the
#: operations whose mpmath evaluation is the numeric instantiator's (no kinks, no
#: matrices, no sums left unexpanded)
_PLAIN = (sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log, sp.factorial)


def _member(domain, values: list) -> None:
    """Raise :class:`_Outside` when the claimed matrix (``values``, row-major) is not
    positive definite (no Cholesky factor) or not invertible (a determinant 0 to the
    working precision), as its domain requires."""
    size = int(round(len(values) ** 0.5))
    with mpmath.workdps(WORK):
        M = mpmath.matrix(size, size)
        for k, x in enumerate(values):
            M[k // size, k % size] = x
        scale = max([1, *(abs(x) for x in values)])
        if isinstance(domain, PositiveDefinite):
            try:
                mpmath.cholesky(M)
            except (ValueError, ZeroDivisionError):
                raise _Outside("the claimed point is not positive definite: it lies "
                               "outside the unknown's domain") from None
        elif isinstance(domain, Invertible) and abs(mpmath.det(M)) <= TOLERANCE * scale ** size:
            raise _Outside("the claimed point is singular: it lies outside the unknown's "
                           "domain")


def _plain_slots(inst: Instantiator, slots: list, params: list) -> list | None:
    """The claimed point's entries made explicit, one expression in the parameters per
    scalar unknown; None when a slot is a matrix, or an entry holds anything but
    arithmetic, exp and log of numbers and parameters."""
    if not all(len(leaves) == 1 and not is_matrix(value) for value, _, leaves in slots):
        return None
    try:
        exprs = [inst.scalar(value, env, frozenset()) for value, env, _ in slots]
    except (InstantiationError, OperandShapeError, TypeError, ValueError, KeyError):
        return None
    known = set(params)

    def plain(node) -> bool:
        if node in known or node.is_Number or node.is_NumberSymbol:
            return True
        return isinstance(node, _PLAIN) and all(plain(a) for a in node.args)
    return exprs if all(plain(e) for e in exprs) else None


def _domain(claim, leaf):
    return claim.domain.get(leaf) or assumption_of(claim.derivation, leaf)


with mpmath.workdps(WORK):
    #: how close (relative) to an end of an interval a value is too close to tell
    _MARGIN = mpmath.mpf(10) ** (10 - WORK)


def _where(claim, leaf) -> tuple:
    """(the leaf's domain, its :func:`_ends` at the working precision)."""
    dom = _domain(claim, leaf)
    return dom, None if isinstance(dom, Real) else _ends(dom)


def _inside(claim, leaf, value, strict: bool = False, where: tuple | None = None) -> bool:
    """``value`` (an mpmath number) in the leaf's domain; a value too close to a boundary
    to tell raises ValueError (the point is skipped), or is outside when ``strict``.
    ``where``, when the caller has it, is :func:`_where` of the leaf."""
    dom, ends = where or _where(claim, leaf)
    if isinstance(dom, Real):
        return bool(mpmath.isfinite(value))
    if ends is not None:  # an interval of the line: compare with its ends directly
        lo, hi, closed_hi = ends
        eps = _MARGIN * max(1, abs(value))
        if value - eps > lo and (value + eps < hi or (closed_hi and value + eps <= hi)):
            return True
        got = False if value + eps < lo or value - eps > hi else None
    else:
        got = bracketed(dom, sp.Rational(sp.Float(value, WORK)), WORK - 10)
    if got is None:
        if strict:
            return False
        raise ValueError(f"{leaf_name(leaf)} is too close to a boundary of its domain")
    return got


def _rows(Z) -> list:
    """Each row of Z as its nonzero entries [(column, value)] (a tangent basis of sum
    constraints has two nonzeros per column)."""
    return [[(k, Z[i, k]) for k in range(Z.cols) if Z[i, k]] for i in range(Z.rows)]


def _tangent(Z, hess: dict):
    """Z^T H Z for a sparse H (``{(a, b): value}``) and a sparse basis Z: the Hessian of
    the tangent space at the cost of its nonzeros (the dense product is 10^5 products at
    49 unknowns)."""
    cols = [{i: Z[i, c] for i in range(Z.rows) if Z[i, c]} for c in range(Z.cols)]
    rows: dict = {}
    for (a, b), h in hess.items():
        rows.setdefault(a, []).append((b, h))
    hz = []
    for col in cols:
        out: dict = {}
        for a, entries in rows.items():
            t = mpmath.fsum(h * col[b] for b, h in entries if b in col)
            if t:
                out[a] = t
        hz.append(out)
    M = mpmath.zeros(Z.cols, Z.cols)
    for i, za in enumerate(cols):
        for j, hzb in enumerate(hz):
            M[i, j] = mpmath.fsum(v * hzb[r] for r, v in za.items() if r in hzb)
    return M


def _blocks(M) -> list[list[int]]:
    """The diagonal blocks of a symmetric matrix: the connected components of its nonzero
    entries.  M is negative definite iff every block is, and its eigenvalues are theirs:
    the tangent Hessian of a maximiser over a row-stochastic matrix is one small block
    per row (7 of 6 x 6 instead of one 42 x 42 factorisation at 70 digits)."""
    n = M.rows
    seen = [False] * n
    out = []
    for start in range(n):
        if seen[start]:
            continue
        seen[start], block, todo = True, [], [start]
        while todo:
            i = todo.pop()
            block.append(i)
            for j in range(n):
                if not seen[j] and (M[i, j] or M[j, i]):
                    seen[j] = True
                    todo.append(j)
        out.append(sorted(block))
    return out


def _sub(M, idx: list[int]):
    return mpmath.matrix([[M[i, j] for j in idx] for i in idx])


def _ends(dom) -> tuple | None:
    """(low end, high end, whether the high end belongs) of an interval-like domain with
    an open low end; None for any other domain (decided by its own ``contains``)."""
    if isinstance(dom, Simplex):
        return mpmath.mpf(0), mpmath.mpf(1), True
    if type(dom) is Positive:
        return mpmath.mpf(0), mpmath.inf, False
    if type(dom) is Interval and not dom.closed:
        return (mpmath.mpf(dom.lo.numerator) / dom.lo.denominator,
                mpmath.mpf(dom.hi.numerator) / dom.hi.denominator, False)
    return None


@functools.lru_cache(maxsize=8)
def _basis(J: sp.ImmutableMatrix, n: int):
    """A basis of the tangent space (columns), as an mpmath matrix (cached: the same
    constraints at every point)."""
    Z = J.nullspace() if J.rows else [sp.eye(n)[:, k] for k in range(n)]
    out = mpmath.zeros(n, len(Z))
    for k, z in enumerate(Z):
        for i in range(n):
            out[i, k] = _mp(z[i])
    return out


@functools.lru_cache(maxsize=8)
def _pivots(J: sp.ImmutableMatrix) -> tuple[list, list]:
    """Independent columns of J^T (multipliers) and rows on them (equations)."""
    A = J.T
    cols = list(A.rref()[1])
    return cols, list(A[:, cols].T.rref()[1])


def _lagrange_holds(J: sp.Matrix, grad: list) -> bool:
    """Whether grad = J^T lambda for some lambda, each condition to the tolerance relative
    to its terms (multipliers from independent rows, the free ones at 0)."""
    n = len(grad)
    lam = [mpmath.mpf(0)] * J.rows
    cols, rows, sub, entries = _numeric_jacobian(sp.ImmutableMatrix(J))
    if cols:
        sol = mpmath.lu_solve(sub, mpmath.matrix([grad[r] for r in rows]))
        for k, c in enumerate(cols):
            lam[c] = sol[k]
    for i in range(n):
        push = mpmath.fsum(a * lam[j] for j, a in entries[i])
        if abs(grad[i] - push) > TOLERANCE * max(1, abs(grad[i]), abs(push)):
            return False
    return True


@functools.lru_cache(maxsize=8)
def _numeric_jacobian(J: sp.ImmutableMatrix) -> tuple:
    """For :func:`_lagrange_holds`, once per constraint Jacobian (the same at every
    point for constraints with constant coefficients), at the working precision: the
    pivot columns and rows of J^T, the square system on them, and each unknown's
    nonzero entries (j, J[j, i]) (a zero term adds exactly nothing to a sum)."""
    cols, rows = _pivots(J) if J.rows else ([], [])
    with mpmath.workdps(WORK):
        sub = mpmath.matrix([[_mp(J[c, r]) for c in cols] for r in rows]) if cols else None
        entries = [[(j, _mp(J[j, i])) for j in range(J.rows) if J[j, i]]
                   for i in range(J.cols)]
    return cols, rows, sub, entries


#: claims made explicit at a larger size, by content (45.2 and 47.2 are the same claim)
_LARGE = Memo(4)
#: parameter points at which a claim's conditions held there (by content)
_HELD = Memo(256)


def larger_sizes(claim, sym_cfgs: list[dict], rng: random.Random
                 ) -> tuple[Outcome | None, list[dict], int, str]:
    """Sample ``claim`` numerically at a larger size (see the module doc).  Returns (a
    refutation or None, the sizes sampled, points that held, a note for the message)."""
    dims = sorted({k for cfg in sym_cfgs for k in cfg}, key=str)
    if not dims:
        return None, [], 0, ""
    top = top_sizes(dims, rng, sym_cfgs)
    six = {k: MIN_TOP_SIZE for k in dims}
    reasons = []
    for sizes in [top] + ([six] if six != top else []):
        try:
            large = _LARGE.get((content_key(claim), sizes_key(sizes)),
                               lambda s=sizes: Large.build(claim, s), remember=(TooCostly,))
        except TooCostly as exc:
            reasons.append(f"{sizes_text(sizes)}: {exc}")
            continue
        sampler = Sampler(claim.derivation, large.params, sizes, rng)
        good = 0
        for _ in range(tries(POINTS_NUMERIC)):
            point = distinct_draw(sampler)
            try:
                bad = _HELD.get((content_key(claim), sizes_key(sizes), point_key(point)),
                                lambda p=point, lg=large: lg.check(p),
                                keep=lambda got: got is None)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError, KinkError,
                    InstantiationError, ArithmeticError):
                continue
            if bad is not None:
                return bad, [sizes], good, ""
            good += 1
            if good >= POINTS_NUMERIC:
                break
        if good:
            what = "Lagrange conditions" + (", second-order test" if claim.maximum else "") \
                + (", no better feasible point found" if claim.maximum and not claim.local
                   else "")
            return None, [sizes], good, (f"at {sizes_text(sizes)}: {good} random points "
                                         f"at {TOLERANCE_DIGITS} digits ({what})")
        reasons.append(f"{sizes_text(sizes)}: no admissible point")
    return None, [], 0, "not sampled at larger sizes (" + "; ".join(reasons) + ")"


TOLERANCE_DIGITS = 50
