"""Classic matrix-calculus identities, written in SymPy's own notation.

The identities of the Matrix Cookbook (Petersen & Pedersen, 2012) that a derivation of a
linear model or a Gaussian uses, each written as one writes it on paper: traces
(``sp.Trace``), determinants (``sp.det``), inverses (``X.I``), transposes (``X.T``),
quadratic forms (``x.T * A * x``, a scalar), least squares and the Gaussian log-likelihood.
Every derivative is computed by the checker from the function, entry by entry; the
claimed closed form is only compared with it.

Matrices are general unless declared otherwise: ``S`` is ``SYMMETRIC``, ``Sigma`` is
``POSITIVE_DEFINITE``, ``G`` and ``K`` are ``INVERTIBLE``.  A derivative with respect to a
structured matrix is the gradient in its n² entries taken as independent, at a matrix of
the domain (the Cookbook's convention): so d log det Σ / dΣ = inv(Σ) for a symmetric Σ,
where a general invertible G has d log|det G| / dG = inv(G)ᵀ.

The least-squares and ridge minimisers are stationary claims with a vector unknown, the
second-order condition included; "ridge-XXt" writes the classic slip inv(X Xᵀ + λI) Xᵀ y,
which does not even have a shape: it is built lazily (``lambda: ...``) so that it is
refuted by shape on its own, while the rest of the module is checked.
"""

from __future__ import annotations

import sympy as sp

from symderive import (
    INVERTIBLE,
    POSITIVE,
    POSITIVE_DEFINITE,
    SYMMETRIC,
    Derivation,
    bsum,
    comp,
    frobenius,
)

derivation = Derivation(
    "matrix_calculus", source="matrix-cookbook.pdf (Petersen & Pedersen, 2012), §2",
    title="Matrix calculus: traces, determinants, inverses, least squares, Gaussians",
    doc=__doc__)
d = derivation

n = d.dim("n")                          # square matrices are n x n
m = d.dim("m", sizes=(3, 4), numeric=5)  # observations (m >= n: X^T X invertible)
i = d.index("i", m)

X = d.matrix("X", n, n)
A = d.matrix("A", n, n)
B = d.matrix("B", n, n)
S = d.matrix("S", n, n, assume=SYMMETRIC)
G = d.matrix("G", n, n, assume=INVERTIBLE)
K = d.matrix("K", n, n, assume=INVERTIBLE)
Sigma = d.matrix("Sigma", n, n, assume=POSITIVE_DEFINITE, latex=r"\Sigma")
a = d.vector("a", n, latex=r"\mathbf{a}")
b = d.vector("b", n, latex=r"\mathbf{b}")
x = d.vector("x", n, latex=r"\mathbf{x}")
mu = d.vector("mu", n, latex=r"\boldsymbol{\mu}")
w = d.vector("w", n, latex=r"\mathbf{w}")
Xd = d.matrix("Xd", m, n, latex=r"\boldsymbol{\Phi}")  # design matrix, a row per observation
y = d.vector("y", m, latex=r"\mathbf{y}")
xs = d.batch("xs", n, m, latex=r"\mathbf{x}")    # observations x_1 .. x_m
lam = d.scalar("lambda", POSITIVE, latex=r"\lambda")

# -- traces (Cookbook 2.5) ---------------------------------------------------------------
d.derivative("tr-AX", sp.Trace(A * X), X, A.T)                        # (100)
d.derivative("tr-AXB", sp.Trace(A * X * B), X, A.T * B.T)             # (101)
d.derivative("tr-XtAX", sp.Trace(X.T * A * X), X, (A + A.T) * X)      # (108)
d.derivative("fro2", frobenius(X) ** 2, X, 2 * X)                     # (103)
d.derivative("fro", frobenius(X), X, X / frobenius(X))

# -- determinants and inverses (2.1.2, 2.2) ----------------------------------------------
d.derivative("det", sp.det(G), G, sp.det(G) * G.I.T)                  # (49)
d.derivative("logdet", sp.log(sp.Abs(sp.det(G))), G, G.I.T)           # (57)
d.derivative("logdet-spd", sp.log(sp.det(Sigma)), Sigma, Sigma.I)
d.derivative("inv-form", a.T * G.I * b, G, -G.I.T * a * b.T * G.I.T)  # (61)
d.derivative("tr-inv", sp.Trace(G.I * B), G, -(G.I * B * G.I).T)      # (113)
d.equal("inv-prod", (G * K).I, K.I * G.I)

# -- quadratic forms (2.4) -----------------------------------------------------------------
d.derivative("lin", a.T * x, x, a)                                    # (69)
d.derivative("quad", x.T * A * x, x, (A + A.T) * x)                   # (81)
d.derivative("quad-sym", x.T * S * x, x, 2 * S * x)
d.hessian("hess-quad", x.T * A * x, x, A + A.T)

# -- least squares -------------------------------------------------------------------------
loss = bsum((w.T * xs[i] - comp(y, i)) ** 2, i, 1, m)                 # sum_i (w^T x_i - y_i)^2
d.derivative("ls-grad", loss, w, 2 * bsum((w.T * xs[i] - comp(y, i)) * xs[i], i, 1, m))
rss = frobenius(Xd * w - y) ** 2                                      # ||X w - y||^2
d.derivative("ls-grad-matrix", rss, w, 2 * Xd.T * (Xd * w - y))
d.stationary("normal-eq", rss, [w], {w: (Xd.T * Xd).I * Xd.T * y}, minimum=True,
             sizes=[{n: 2, m: 3}, {n: 2, m: 4}])
d.stationary("ridge", rss + lam * (w.T * w), [w],
             {w: (Xd.T * Xd + lam * sp.Identity(n)).I * Xd.T * y}, minimum=True,
             sizes=[{n: 2, m: 3}, {n: 2, m: 4}])
d.stationary("ridge-XXt", rss + lam * (w.T * w), [w],
             lambda: {w: (Xd * Xd.T + lam * sp.Identity(n)).I * Xd.T * y}, minimum=True,
             sizes=[{n: 2, m: 3}], erratum="X Xᵀ is m × m and λI is n × n: no shape")

# -- the Gaussian log-likelihood (8.1) ------------------------------------------------------
loglik = (bsum(-(xs[i] - mu).T * Sigma.I * (xs[i] - mu) / 2, i, 1, m)
          - m * sp.log(sp.det(Sigma)) / 2 - m * n * sp.log(2 * sp.pi) / 2)
d.derivative("gauss-mu", loglik, mu, Sigma.I * bsum(xs[i] - mu, i, 1, m),
             sizes=[{n: 2, m: 2}, {n: 2, m: 3}])
d.derivative("gauss-Sigma", loglik, Sigma,
             (Sigma.I * bsum((xs[i] - mu) * (xs[i] - mu).T, i, 1, m) * Sigma.I
              - m * Sigma.I) / 2,
             sizes=[{n: 2, m: 2}, {n: 2, m: 3}])
