"""Gaussian test fixtures shared by the quadrature and matrix-calculus tests: the density,
and the closed-form KL divergence of two Gaussians with three planted mistakes."""

import sympy as sp

from symderive import Derivation
from symderive.assumptions import POSITIVE


def normal(t, m, s):
    return sp.exp(-(t - m) ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)


def kl_derivation():
    d = Derivation("kl")
    m1, m2 = d.scalar("m1"), d.scalar("m2")
    s1, s2 = d.scalar("s1", POSITIVE), d.scalar("s2", POSITIVE)
    t = sp.Symbol("t", real=True)
    p, q = normal(t, m1, s1), normal(t, m2, s2)
    kl = sp.Integral(p * (sp.log(p) - sp.log(q)), (t, -sp.oo, sp.oo))
    closed = sp.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - sp.Rational(1, 2)
    d.equal("kl", kl, closed)
    d.equal("kl-no-half", kl, closed + sp.Rational(1, 2))
    d.equal("kl-swapped", kl, closed.xreplace({s1: s2, s2: s1}))
    d.equal("kl-log-sign", kl, closed - 2 * sp.log(s2 / s1))
    return d
