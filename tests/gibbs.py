"""The Gibbs free energy over the simplex and its maximiser, the softmax: one copy for the
stationary-claim tests that plant a mistake in the maximiser only at larger sizes."""

import sympy as sp

from symderive import SIMPLEX, Derivation


def gibbs(d: Derivation):
    """(m, k, e, s, f, softmax) declared in ``d``: f = -sum s log s + sum s e over the
    simplex in R^m, maximised at s = softmax(e)."""
    m = d.dim("m")
    k = d.index("k", m)
    e = d.tensor("e", (m,))
    s = d.tensor("s", (m,), SIMPLEX)
    f = -sp.Sum(s[k] * sp.log(s[k]), (k, 1, m)) + sp.Sum(s[k] * e[k], (k, 1, m))
    return m, k, e, s, f, sp.exp(e[k]) / sp.Sum(sp.exp(e[k]), (k, 1, m))
