"""Nested integrals over the whole plane whose inner level SymPy closes only as a
``Piecewise`` on convergence conditions: moments of a correlated bivariate normal
(zero or shifted means, unit variances, correlation rho in (-1, 1)): the inner level is
a Gaussian moment, done by completing the square on a > 0 (symderive/gaussian_level.py),
except over a half line (SymPy's Piecewise).  True claims and planted mistakes, used by
tests/test_nested_piecewise.py."""

import sympy as sp

from symderive import Derivation, interval

d = Derivation("nested_piecewise")
rho = d.scalar("rho", interval(-1, 1))
mx, my = d.scalar("mx"), d.scalar("my")
x, y = sp.symbols("x y", real=True)


def bivariate_normal(x, y, mx, my, rho):
    """The density of (x, y): means mx, my, unit variances, correlation rho."""
    u, v = x - mx, y - my
    return sp.exp(-(u**2 - 2 * rho * u * v + v**2) / (2 * (1 - rho**2))) \
        / (2 * sp.pi * sp.sqrt(1 - rho**2))


plane = ((x, -sp.oo, sp.oo), (y, -sp.oo, sp.oo))
p0 = bivariate_normal(x, y, 0, 0, rho)
# E[xy] = rho, and its mistakes
exy = sp.Integral(x * y * p0, *plane)
d.equal("exy", exy, rho)
d.equal("exy-factor", exy, 2 * rho, erratum="planted: a factor 2")
d.equal("exy-square", exy, rho**2, erratum="planted: rho squared")
d.equal("exy-sign", exy, -rho, erratum="planted: sign flip")
d.equal("exy-no-2pi", sp.Integral(x * y * p0 * 2 * sp.pi, *plane), rho,
        erratum="planted: the 1/(2 pi) of the density dropped")
d.equal("exy-no-sqrt", sp.Integral(x * y * p0 * sp.sqrt(1 - rho**2), *plane), rho,
        erratum="planted: the 1/sqrt(1 - rho^2) of the density dropped")
d.equal("exy-half-line", sp.Integral(x * y * p0, (x, 0, sp.oo), (y, -sp.oo, sp.oo)), rho,
        erratum="planted: the inner range (0, oo), not the whole line")
# E[x^2 y] with shifted means: my (mx^2 + 1) + 2 mx rho (not symmetric in x and y)
p = bivariate_normal(x, y, mx, my, rho)
ex2y = sp.Integral(x**2 * y * p, *plane)
d.equal("ex2y", ex2y, my * (mx**2 + 1) + 2 * mx * rho)
d.equal("ex2y-swapped", ex2y, mx * (my**2 + 1) + 2 * my * rho,
        erratum="planted: x and y swapped (that is E[x y^2])")
d.equal("ex2y-factor", ex2y, my * (mx**2 + 1) + mx * rho, erratum="planted: the 2 dropped")
d.equal("ex2y-sign", ex2y, my * (mx**2 + 1) - 2 * mx * rho, erratum="planted: sign flip")
d.equal("ex2y-mean", sp.Integral(x**2 * y * bivariate_normal(x, y, my, mx, rho), *plane),
        my * (mx**2 + 1) + 2 * mx * rho, erratum="planted: the means swapped in the density")
# the normalisation itself
d.equal("mass", sp.Integral(p, *plane), 1)
