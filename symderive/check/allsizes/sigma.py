"""A finite sum with one variable, for the prover's index notation.

``Sigma(f, (k, lo, hi))`` means what ``Sum(f, (k, lo, hi))`` means, but it is cheap:
SymPy's ``Sum`` recomputes its free symbols by rebuilding its whole summand (``xreplace``)
on every query, and the prover asks that question of every sum each time it rebuilds
one.  Here the free symbols are computed once per object, from the summand's.

It answers no assumption query (zero, real, positive, finite ... are all unknown):
SymPy's constructors ask them of every argument they build (``exp``, ``Pow``, ``Mul``),
and ``Sum``'s handlers answer by asking the summand, recursively through every nested
sum, for each newly built tree; that was a fifth of the prover's time.  Unknown is
always a true answer, so SymPy only evaluates less; the prover's rewrites and its
cancellation (``prove.atomize``) are structural and need none of these facts.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["Sigma", "SUMS"]


class Sigma(sp.Expr):
    """sum_{k=lo}^{hi} f: args ``(f, Tuple(k, lo, hi))``."""

    is_commutative = True  # the prover's scalars are commutative

    def __new__(cls, function, limit):
        if not isinstance(limit, sp.Tuple):
            limit = sp.Tuple(*limit)
        if len(limit) != 3:
            raise ValueError("a Sigma takes (variable, lo, hi)")
        return sp.Expr.__new__(cls, sp.sympify(function), limit)

    @property
    def function(self) -> sp.Expr:
        return self._args[0]

    @property
    def limits(self) -> tuple:
        return (self._args[1],)

    @property
    def variables(self) -> list:
        return [self._args[1][0]]

    @property
    def free_symbols(self) -> set:
        try:
            return set(self._free)
        except AttributeError:
            pass
        v, lo, hi = self._args[1]
        free = self.function.free_symbols
        free.discard(v)
        free |= lo.free_symbols | hi.free_symbols
        self._free = frozenset(free)
        return set(free)

    @property
    def is_number(self) -> bool:
        return not self.free_symbols

    # Sum's helpers, not its assumption handlers (see the module docstring)
    has_empty_sequence = sp.Sum.has_empty_sequence
    has_finite_limits = sp.Sum.has_finite_limits
    has_reversed_limits = sp.Sum.has_reversed_limits

    def _eval_derivative(self, x):
        """d/dx of the sum is the sum of d/dx of the summand, as ``Sum``'s: unevaluated
        (None) when x is in a bound (the sum is not differentiable in its length)."""
        if isinstance(x, sp.Symbol) and x not in self.free_symbols:
            return sp.S.Zero
        v, lo, hi = self._args[1]
        if x in lo.free_symbols or x in hi.free_symbols:
            return None
        return Sigma(sp.Derivative(self.function, x, evaluate=True), self._args[1])

    def _sympystr(self, printer) -> str:
        v, lo, hi = self._args[1]
        return f"Sigma({printer._print(self.function)}, ({v}, {lo}, {hi}))"


#: the sum classes the prover meets (a claim's own Sum before translation)
SUMS = (Sigma, sp.Sum)
