"""Objectives shared by the stationary-claim tests, one copy each: the Gibbs free energy
over the simplex and its maximiser, the softmax (for mistakes planted only at larger
sizes), and two scalar objectives (a sum of logs on (0, 1), a quartic with two hills)."""

import sympy as sp

from symderive import POSITIVE, SIMPLEX, Derivation, interval


def gibbs(d: Derivation):
    """(m, k, e, s, f, softmax) declared in ``d``: f = -sum s log s + sum s e over the
    simplex in R^m, maximised at s = softmax(e)."""
    m = d.dim("m")
    k = d.index("k", m)
    e = d.tensor("e", (m,))
    s = d.tensor("s", (m,), SIMPLEX)
    f = -sp.Sum(s[k] * sp.log(s[k]), (k, 1, m)) + sp.Sum(s[k] * e[k], (k, 1, m))
    return m, k, e, s, f, sp.exp(e[k]) / sp.Sum(sp.exp(e[k]), (k, 1, m))


def scalar_objectives(d: Derivation):
    """(p, q, x, y, logs, quartic) declared in ``d``: logs = p log x + q log(1 - x) on
    x in (0, 1), maximised at p / (p + q); quartic = -y^4/4 + y^3/3 + y^2, with local
    maxima at -1 (5/12) and 2 (8/3, the global one)."""
    p, q = d.scalar("p", POSITIVE), d.scalar("q", POSITIVE)
    x = d.scalar("x", interval(0, 1))
    y = d.scalar("y")
    return p, q, x, y, p * sp.log(x) + q * sp.log(1 - x), -y ** 4 / 4 + y ** 3 / 3 + y ** 2
