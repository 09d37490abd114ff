"""Definite integrals at a numeric point, fast: the integrand compiled once, then mpmath.

Evaluating an integrand through the walker at every quadrature node costs a tree walk
per node, at 100 digits: a Gaussian integral over the real line then takes seconds per
point.  Here the integrand is made explicit once per claim and size (exact backend),
lambdified with mpmath, and integrated by tanh-sinh quadrature at ``QUAD_DIGITS``
digits (the values of the point are passed in as arguments), which leaves far more
correct digits than the 35 the comparison needs for the smooth integrands of a
derivation.  Integrals whose limits depend on other integration variables, or that sit
under a held quantity, are left to the walker (None).
"""

from __future__ import annotations

import math
import weakref

import mpmath
import sympy as sp

#: precision of the quadrature (digits), stated in the evidence of claims with integrals
QUAD_DIGITS = 45

_MODULE = {
    "Heaviside": lambda x, h0=None: mpmath.mpf(1) if x > 0 else (
        mpmath.mpf(0) if x < 0 else mpmath.nan),
    "Max": lambda *a: max(a),
    "Min": lambda *a: min(a),
}
#: per derivation (weakly: an id could be reused by another one), compiled integrands
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _leaves(exprs, bound) -> list:
    entries: set = set()
    scalars: set = set()
    for e in exprs:
        entries |= e.atoms(sp.Indexed)
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    labels = {x.base.label for x in entries}
    return sorted((entries | (scalars - labels)) - set(bound), key=str)


def _key(leaf: sp.Basic) -> tuple:
    """The numeric backend's key of a leaf entry (``W1[2, 1]`` -> ``("W1", (2, 1))``)."""
    if isinstance(leaf, sp.Indexed):
        return (str(leaf.base.label), tuple(int(i) for i in leaf.indices))
    return (str(leaf), ())


def _compile(walker, e: sp.Integral, env: dict):
    from .instantiate import Instantiator

    inst = Instantiator(walker.d, walker.sizes)
    variables = [lim[0] for lim in e.limits]
    inner = {k: v for k, v in env.items() if k not in variables}
    # log(exp(u) / c) -> u - log c where the symbols' assumptions allow (SymPy checks):
    # a Gaussian's log-density becomes a polynomial, far cheaper at every node
    f = sp.expand_log(inst.scalar(e.function, inner, frozenset()))
    ends = [tuple(inst.scalar(x, inner, frozenset()) for x in lim[1:]) for lim in e.limits]
    if any(x.free_symbols & set(variables) for pair in ends for x in pair):
        return None  # limits depending on another integration variable: the walker
    leaves = _leaves([f, *(x for pair in ends for x in pair)], variables)
    fn = sp.lambdify([*variables, *leaves], f, modules=[_MODULE, "mpmath"])
    end_fns = [tuple(sp.lambdify(leaves, x, modules=[_MODULE, "mpmath"]) for x in pair)
               for pair in ends]
    return fn, end_fns, [_key(x) for x in leaves]


def integral(walker, e: sp.Integral, env: dict, cuts: frozenset, scale: float = 1):
    """The value of a definite integral at the walker's point, or None (use the walker);
    ``scale`` is the factor by which the working precision is raised (see
    :func:`quad_digits`)."""
    if cuts or any(len(lim) != 3 for lim in e.limits) \
            or any(not isinstance(v, int) for v in env.values()):
        return None
    key = (tuple(sorted(walker.sizes.items(), key=str)), e,
           tuple(sorted(env.items(), key=str)))
    cache = _COMPILED.setdefault(walker.d, {})
    if key not in cache:
        try:
            cache[key] = _compile(walker, e, env)
        except (ValueError, TypeError, NameError, KeyError, SyntaxError):
            cache[key] = None
    compiled = cache[key]
    if compiled is None:
        return None
    fn, end_fns, keys = compiled
    try:
        values = [walker.values[k] for k in keys]
    except KeyError:
        return None
    with mpmath.workdps(quad_digits(scale)):
        ends = []
        for lo, hi in end_fns:
            ends.append([_end(lo(*values)), _end(hi(*values))])
        value = mpmath.quad(lambda *t: fn(*t, *values), *ends)
    return value if mpmath.isfinite(value) else None


def quad_digits(scale: float) -> int:
    """``QUAD_DIGITS``, and 5 more each time the working precision doubles (a disagreement
    is confirmed at a raised precision): a quadrature artefact then shrinks, where doubling
    the quadrature's digits too would cost seconds per point over the real line."""
    return QUAD_DIGITS + 5 * max(0, round(math.log2(scale)))


def _end(x):
    if x == sp.oo or x == mpmath.inf:
        return mpmath.inf
    if x == -sp.oo or x == -mpmath.inf:
        return -mpmath.inf
    return mpmath.mpf(x) if not isinstance(x, (mpmath.mpf, mpmath.mpc)) else x


def has_integrals(*exprs) -> bool:
    """Whether the expressions contain an integral (an expectation is one)."""
    from .nodes import DensityExpectation

    return any(sp.sympify(e).has(sp.Integral, DensityExpectation) for e in exprs)


def state_precision(outcome, *exprs):
    """Say in the evidence that integrals were sampled by quadrature, and at what precision."""
    if has_integrals(*exprs):
        note = f"integrals by tanh-sinh quadrature at {QUAD_DIGITS} digits"
        outcome.method = f"{outcome.method}; {note}"
        outcome.evidence.method = f"{outcome.evidence.method}; {note}"
        outcome.message = f"{outcome.message}; {note}" if outcome.message else note
        outcome.evidence.digits = min(outcome.evidence.digits, QUAD_DIGITS)
    return outcome
