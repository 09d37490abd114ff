"""The inner integrals of a nested integral in closed form, by SymPy, within a CPU bound.

A nested integral integrated numerically runs a whole quadrature at every node of the
outer one: two levels at 45 digits cost seconds per point, three levels minutes.  SymPy
integrates most nested integrals a user writes (polynomials, a Gaussian density times
something in another variable, inner limits depending on an outer variable) in well
under a second, once per claim and size.  Here the levels are integrated innermost first
(SymPy's order) until one fails or the CPU bound runs out; the quadrature then works on
what is left (:mod:`symderive.quadrature`), and the closed forms are spot-checked
against quadrature at every sampled point, never trusted blindly.

The bound is a CPU-time timer (``ITIMER_PROF``): an integration that takes longer is
interrupted by an exception SymPy does not catch (it is not an ``Exception``), and
re-raised every tick until the block is left, so a runaway ``integrate`` cannot hang a
check.  Outside the main thread no timer can be set, and no closed form is tried.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sympy as sp

from .gaussian_level import gaussian_line
from .piecewise_level import COMPLETED_SQUARE, guarded_level

#: CPU seconds SymPy may spend on the inner integrals of one nested integral (all levels)
SECONDS = 2.0
#: CPU seconds SymPy may spend simplifying the branches of a Piecewise level
SIMPLIFY_SECONDS = 1.0
#: functions a closed form may not contain: unevaluated integrals, branches on convergence
#: conditions, and polar numbers mpmath cannot evaluate
_REJECT = (sp.Integral, sp.Piecewise, sp.exp_polar, sp.polar_lift, sp.periodic_argument,
           sp.Limit)


class OutOfTime(BaseException):
    """The CPU bound ran out (a ``BaseException``: SymPy's ``except Exception`` lets it
    through)."""


@contextmanager
def cpu_bound(seconds: float) -> Iterator[None]:
    """Raise :class:`OutOfTime` inside the block once it has used ``seconds`` of CPU time
    (and every 50 ms after that, until the block is left)."""
    if threading.current_thread() is not threading.main_thread():
        raise OutOfTime  # no timer outside the main thread: do not start

    def stop(signum, frame):
        raise OutOfTime

    previous = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _acceptable(value: sp.Expr, allowed: set) -> bool:
    return (not value.has(*_REJECT) and not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo)
            and value.free_symbols <= allowed)


def inner_closed_forms(f: sp.Expr, limits: list[tuple], seconds: float = SECONDS,
                       quad: Callable | None = None) -> list[sp.Expr]:
    """``[F_1, ..., F_r]``: ``F_k`` is ``f`` integrated over the first ``k`` limits
    (innermost first), for the largest ``r`` SymPy reaches within ``seconds`` of CPU
    time; empty when not even the innermost level integrates.  A level over the whole
    line that is a Gaussian moment is done by completing the square
    (:mod:`symderive.gaussian_level`).  A closed form that still holds an integral or a
    polar number stops the reduction (it could not be evaluated reliably); one that is a
    Piecewise on conditions stops it too, and over an infinite range, with ``quad`` (the
    quadrature for the nodes where no branch holds), becomes the last level, evaluated
    branch by branch (:mod:`symderive.piecewise_level`)."""
    out: list[sp.Expr] = []
    current = f
    pending = None
    try:
        with cpu_bound(seconds):
            for k, (var, lo, hi) in enumerate(limits):
                below = current
                # a Gaussian moment over the line: completing the square (short and
                # exact, where SymPy's meijerg route returns hundreds of operations)
                gaussian = gaussian_line(current, (var, lo, hi))
                current = gaussian if gaussian is not None else \
                    sp.unpolarify(sp.integrate(current, (var, lo, hi)))
                allowed = set(f.free_symbols) | {x for lim in limits for x in
                                                 sp.sympify(lim[1:]).free_symbols}
                allowed -= {lim[0] for lim in limits[:k + 1]}
                if current.has(sp.Piecewise) and sp.oo in (abs(lo), abs(hi)):
                    # branches on conditions over an infinite range: chosen node by node
                    # (no further level).  Over a finite one the nested Gauss-Legendre
                    # quadrature of the levels left is cheap (symderive.quadrature)
                    pending = (current, below, (var, lo, hi),
                               [lim[0] for lim in limits[k + 1:]], allowed,
                               gaussian is None)
                    break
                if not _acceptable(current, allowed):
                    break
                out.append(current)
    except (OutOfTime, Exception):  # noqa: BLE001 - SymPy fails in many ways; none is fatal
        pass
    if pending is not None and quad is not None:
        *level, by_sympy = pending
        guarded = guarded_level(*level, quad=quad, **(
            {"simpler": _simpler_branches(level[0])} if by_sympy
            else {"origin": COMPLETED_SQUARE}))
        if guarded is not None:
            out.append(guarded)
    return out


def _simpler_branches(value: sp.Expr) -> dict:
    """SymPy's ``simplify`` of each branch of a Piecewise level, within its own CPU
    bound (:data:`SIMPLIFY_SECONDS`): the branch is evaluated at every node of the outer
    quadrature, and simplify turns ∫ x² y N₂ dx (563 operations, erfc) into 101
    (a removable singularity at ρ y = 0 goes with it).  Those done in time, by index."""
    out: dict = {}
    pw = sp.piecewise_fold(value)
    if not isinstance(pw, sp.Piecewise):
        return out
    try:
        with cpu_bound(SIMPLIFY_SECONDS):
            for k, (e, _) in enumerate(pw.args):
                if not e.has(sp.Integral):
                    out[k] = sp.simplify(e)
    except (OutOfTime, Exception):  # noqa: BLE001 - as above
        pass
    return out
