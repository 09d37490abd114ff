"""Nested integrals and an expectation over a vector, written as a user writes them: true
claims and planted mistakes (used by tests/test_nested_integrals.py, and a derivation
module for ``symderive latex --dir tests``-style checks of the printing)."""

import sympy as sp
from gaussians import normal

from symderive import POSITIVE, Derivation
from symderive.ops import E

d = Derivation("nested_integrals")
a, m = d.scalar("a"), d.scalar("m")
s = d.scalar("s", POSITIVE)
x, y, z = sp.symbols("x y z", real=True)

# ∫₀² ∫₀¹ a x y dx dy = a, its mistakes: a factor, swapped bounds, a sign, a swapped symbol
box = sp.Integral(a * x * y, (x, 0, 1), (y, 0, 2))
d.equal("box", box, a)
d.equal("box-factor", box, 2 * a, erratum="planted: a factor 2")
d.equal("box-swapped-bounds", sp.Integral(a * x * y, (x, 0, 2), (y, 0, 1)), a / 2,
        erratum="planted: inner and outer bounds swapped")
d.equal("box-sign", box, -a, erratum="planted: sign flip")
d.equal("box-symbol", sp.Integral(m * x * y, (x, 0, 1), (y, 0, 2)), a,
        erratum="planted: m for a in the integrand")
# the inner bound depends on the outer variable: ∫₀¹ ∫₀ˣ a y dy dx = a/6
d.equal("triangle", sp.Integral(a * y, (y, 0, x), (x, 0, 1)), a / 6)
d.equal("triangle-swapped", sp.Integral(a * y, (y, x, 1), (x, 0, 1)), a / 6,
        erratum="planted: the inner range y in (x, 1), not (0, x)")
# three levels
d.equal("cube", sp.Integral(a * x * y * z, (x, 0, 1), (y, 0, 1), (z, 0, 2)), a / 2)
d.equal("cube-factor", sp.Integral(a * x * y * z, (x, 0, 1), (y, 0, 1), (z, 0, 2)), a,
        erratum="planted: the factor 1/2 dropped")
# a Gaussian density in one variable times something in another, over infinite ranges
gauss = sp.Integral(a * x ** 2 * normal(x, m, s) * sp.exp(-y), (x, -sp.oo, sp.oo),
                    (y, 0, sp.oo))
d.equal("gauss", gauss, a * (m ** 2 + s ** 2))
d.equal("gauss-sign", gauss, a * (m ** 2 - s ** 2), erratum="planted: sign of s^2")
# a narrow peak away from 0 in the OUTER variable (width s, at m: the sampler draws
# s = 1e-3 and m = 1e3 among others), written as a nested integral
peak = sp.Integral(2 * x * normal(y, m, s), (x, 0, 1), (y, -sp.oo, sp.oo))
d.equal("outer-peak", peak, 1)
d.equal("outer-peak-factor", peak, 2, erratum="planted: a factor 2")
# the same kind of peak, but SymPy has no closed form for the OUTER level: the inner one is
# closed (∫₀¹ 2x dx = 1), the outer integrated by quadrature, which must find the peak
skewed = normal(y, m, s) / (2 + sp.tanh((y - m) / s))
peak_numeric = sp.Integral(2 * x * skewed, (x, 0, 1), (y, -sp.oo, sp.oo))
d.equal("outer-peak-numeric", peak_numeric,
        sp.Integral(normal(z, m, s) / (2 + sp.tanh((z - m) / s)), (z, -sp.oo, sp.oo)))
d.equal("outer-peak-numeric-width", peak_numeric,
        sp.Integral(normal(z, m, s) / (2 + sp.tanh((z - m) / (2 * s))), (z, -sp.oo, sp.oo)),
        erratum="planted: the tanh's width doubled")
# SymPy has no closed form for the inner level (∫ e^{sin x} dx): the integrand separates,
# and the nested integral is the product of two one-dimensional quadratures
sep = sp.Integral(a * sp.exp(sp.sin(x)) * normal(y, m, s), (x, 0, 1), (y, -sp.oo, sp.oo))
d.equal("separable", sep, a * sp.Integral(sp.exp(sp.sin(z)), (z, 0, 1)))
d.equal("separable-factor", sep, 2 * a * sp.Integral(sp.exp(sp.sin(z)), (z, 0, 1)),
        erratum="planted: a factor 2")
# E[xᵀ A x] = tr(A) for x ~ N(0, I) in R^n: an n-fold integral, at small n only
n = d.dim("n")
v = d.vector("v", n)
A = d.matrix("A", n, n)
std_normal = sp.exp(-(v.T * v) / 2) / (2 * sp.pi) ** (n / 2)
d.equal("quadratic-form", E(v.T * A * v, v, std_normal, name="p"), sp.Trace(A),
        sizes=[{n: 1}, {n: 2}])
d.equal("quadratic-form-factor", E(v.T * A * v, v, std_normal, name="p"), 2 * sp.Trace(A),
        sizes=[{n: 1}, {n: 2}], erratum="planted: a factor 2")
d.equal("quadratic-form-sign", E(v.T * A * v, v, std_normal, name="p"), -sp.Trace(A),
        sizes=[{n: 1}, {n: 2}], erratum="planted: sign flip")
