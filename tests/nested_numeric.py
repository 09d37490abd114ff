"""Nested integrals SymPy cannot integrate at the inner level and whose integrand does not
separate: done by nested Gauss-Legendre quadrature at 20 digits and compared to 1e-12
relative (symderive/quadrature.py ``_nested``).  True claims and planted mistakes, used by
tests/test_nested_integrals.py."""

import sympy as sp

from symderive import POSITIVE, Derivation

d = Derivation("nested_numeric")
a = d.scalar("a")
b = d.scalar("b", POSITIVE)
x, y = sp.symbols("x y", real=True)

# Fubini: ∫₀¹∫₀¹ e^{axy}/(1+x²) in both orders (no closed form over x)
f = sp.exp(a * x * y) / (1 + x**2)
d.equal("fubini", sp.Integral(f, (x, 0, 1), (y, 0, 1)), sp.Integral(f, (y, 0, 1), (x, 0, 1)))
# the same with x and y renamed on the right (true: a renaming of the bound variables)
d.equal("fubini-renamed", sp.Integral(f, (x, 0, 1), (y, 0, 1)),
        sp.Integral(f.subs({x: y, y: x}, simultaneous=True), (y, 0, 1), (x, 0, 1)))
# ∫₀¹∫₀¹ cos(axy) dx dy = ∫₀¹ sin(ay)/(ay) dy (undefined at a = 0: that point is skipped)
d.equal("sinc", sp.Integral(sp.cos(a * x * y), (x, 0, 1), (y, 0, 1)),
        sp.Integral(sp.sin(a * y) / (a * y), (y, 0, 1)))
d.equal("sinc-si", sp.Integral(sp.cos(a * x * y), (x, 0, 1), (y, 0, 1)),
        sp.Integral(sp.Si(a * y) / (a * y), (y, 0, 1)),
        erratum="a mistake: the inner integral of cos(axy) is sin(ay)/(ay), not Si(ay)/(ay)")

# a non-separable integrand with two parameters, and its planted mistakes
g = sp.exp(a * x * y) / (1 + b * x**2)
lhs = sp.Integral(g, (x, 0, 1), (y, 0, 1))
rhs = sp.Integral(g, (y, 0, 1), (x, 0, 1))
d.equal("swap", lhs, rhs)
d.equal("swap-factor", lhs, sp.Rational(1001, 1000) * rhs, erratum="planted: a factor 1.001")
d.equal("swap-sign", lhs, -rhs, erratum="planted: a sign")
d.equal("swap-symbol", lhs, sp.Integral(sp.exp(b * x * y) / (1 + a * x**2), (y, 0, 1),
                                        (x, 0, 1)), erratum="planted: a and b swapped")
d.equal("swap-bounds", lhs, sp.Integral(g, (y, 0, 1), (x, 1, 0)),
        erratum="planted: the outer bounds swapped")
