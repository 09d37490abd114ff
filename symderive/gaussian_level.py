"""A level ∫ P(x) e^(Q(x)) dx over the whole line in closed form, by completing the square.

P is a polynomial in x and Q a quadratic, -a x² + b x + c (a, b, c free of x): every
moment of a Gaussian density, correlated or shifted, is of this form.  SymPy's own
integral of ∫ x² y N₂(x, y) dx with shifted means is a Piecewise of 563 operations on
``arg`` conditions (erfc terms that cancel, a removable singularity at ρ y = m_y ρ), too
costly and too fragile at every node of an outer quadrature.  The exact rule is short:

    ∫ e^(-a x² + b x + c) dx = √(π/a) e^(b²/(4a) + c)          (a > 0, any complex b)

and ∫ x^k e^(-a x² + b x + c) dx is its k-th derivative in b (differentiation under the
integral sign: the integrand and its b-derivatives are dominated on the line when a > 0).
The level is returned as ``Piecewise((closed, a > 0), (Integral, True))``: the sign of a
is decided exactly at each point (:mod:`symderive.piecewise_level`), and the closed form is
still checked against quadrature of the level below at every sampled point
(:mod:`symderive.quadrature`).
"""

from __future__ import annotations

import sympy as sp


def _term(f: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """(closed form, a) for one product ``coefficient * P(x) * e^(Q(x))``, or None."""
    coeff, rest = f.as_independent(x, as_Add=False)
    exponents, poly = [], []
    for factor in sp.Mul.make_args(rest):
        base, e = factor.as_base_exp()
        (exponents if base == sp.E else poly).append(e if base == sp.E else factor)
    try:
        p = sp.Poly(sp.Mul(*poly), x)
        q = sp.Poly(sp.expand(sp.Add(*exponents)), x)
    except sp.PolynomialError:
        return None
    if q.degree() != 2:
        return None
    a, b, c = (-q.all_coeffs()[0], *q.all_coeffs()[1:])
    t = sp.Dummy("b")
    base = sp.sqrt(sp.pi / a) * sp.exp(t**2 / (4 * a) + c)
    value = sum((k * sp.diff(base, t, n) for (n,), k in p.terms()), sp.Integer(0))
    return coeff * value.subs(t, b), a


def gaussian_line(f: sp.Expr, limit: tuple) -> sp.Expr | None:
    """``∫ f d(var)`` over ``limit = (var, -oo, oo)`` as ``Piecewise((closed, a > 0),
    (Integral, True))``, or None when ``f`` is not a sum of polynomial-times-Gaussian
    terms in ``var``, the range is not the whole line, or the sign of a is certain from
    the symbols' assumptions (a < 0: no closed form; a > 0: SymPy's own integral is then
    clean, and may go on to the next level)."""
    x, lo, hi = limit
    if (lo, hi) != (-sp.oo, sp.oo):
        return None
    parts = [_term(t, x) for t in sp.Add.make_args(sp.expand(f, deep=False))]
    if not parts or any(p is None for p in parts):
        return None
    cond = sp.And(*(a > 0 for _, a in parts))
    if cond in (sp.true, sp.false):
        return None
    value = sp.Add(*(v for v, _ in parts))
    return sp.Piecewise((value, cond), (sp.Integral(f, limit), True), evaluate=False)
