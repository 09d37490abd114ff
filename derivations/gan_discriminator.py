r"""HW2 §4, Problem 3: the optimal GAN discriminator.

The proof has three steps, each encoded here.

(37), the change of variables $x = G(z)$ inside the GAN value function. A general $G$,
$p(z)$, $p_{\mathrm{data}}$ and $D$ cannot be integrated, so the display is written once
(`display_37`) and checked on concrete instances. The head is the two expectations
written as integrals against the given densities. The density $p_{\mathrm{model}}$ is computed by
the change-of-variables formula
$p_{\mathrm{model}}(x) = p(G^{-1}(x)) \, |\mathrm{d}G^{-1} / \mathrm{d}x|$ ($G^{-1}$ by
`sympy.solve`, its derivative by `diff`), and its support as the image under $G$ of the
support of $p(z)$. Every integral is computed by the checker: by quadrature at 50 digits
when sampling, then by `integrate` for the proof. The discriminator has a free parameter
$c > 0$, so each claim is sampled at several random points.

* Primary instance (claims `37.1` to `37.4`): $z \sim \mathrm{Beta}(2, 1)$ (density $2z$
  on $(0, 1)$), $G(z) = z^2$, which makes $x$ uniform on $(0, 1)$; $p_{\mathrm{data}}(x) = 2x$;
  $D(x) = x / (x + c)$.
* Decreasing generator (`37.3-dec`, `37.4-dec`): $z \sim \mathrm{Uniform}(0, 1)$ and
  $G(z) = 1 / (1 + z)$ onto $(1/2, 1)$, so $p_{\mathrm{model}}(x) = 1/x^2$, which needs the
  absolute value of the Jacobian; $p_{\mathrm{data}} = 2$ on $(1/2, 1)$; $D(x) = 1 / (1 + c x)$.
  The two discriminators differ only because SymPy integrates these combinations
  fastest. Line 1 is the head itself and line 2 is the definition of the expectations,
  so they hold by construction and are checked for the primary instance only.

The unnumbered $p(z) \, \mathrm{d}z = p_{\mathrm{model}}(x) \, \mathrm{d}x$ is encoded pointwise as
$p(z) = p_{\mathrm{model}}(G(z)) \, |\mathrm{d}G / \mathrm{d}z|$ (claims `cov` and `cov-dec`), the
derivative by differentiation.

The unnumbered claim that $y = a \log x + b \log(1 - x)$ reaches its maximum on
$[0, 1]$ at $x = a / (a + b)$ for all $(a, b) \in \mathbb{R}^2 \setminus \{(0, 0)\}$
(claim `max-ab`) is an erratum: it needs $a, b > 0$. The checker's counterexample is
$a = 1$, $b = -3/4$: the claimed point $x = 4$ is not in $[0, 1]$. Likewise for $a = 2$,
$b = -1$ ($x = 2$); for $a = b = -1$ the point $x = 1/2$ is stationary but a minimum
($y'' = 8 > 0$); for $a + b = 0$ it is undefined. With $a = 0$ or $b = 0$ the maximum is
at an end point, where $y$ is not stationary (or $\log 0$ is undefined), so the corrected
claim `max-ab-corrected` takes $a, b > 0$; it is proved.

(38), the optimal discriminator, is checked as the pointwise maximiser of
$p_{\mathrm{data}} \log D + p_{\mathrm{model}} \log(1 - D)$ over the value
$D \in (0, 1)$, for positive densities (claim `38`; the integrand of the last line of
(37) is maximised point by point). The functional form is checked on the primary
instance too (`38-functional`): along $D^* + t \, x (1 - x)$ the value function of (37)
has a maximum at $t = 0$.

Normalisations (the mathematics is unaffected):

* $\int_x$ is read as the integral over
  $\mathrm{Supp}(p_{\mathrm{data}}) \cup \mathrm{Supp}(p_{\mathrm{model}})$ (the integrand
  vanishes outside it); in both instances the two supports coincide.
* "achieves its maximum in $[0, 1]$" is checked as: the point is in $[0, 1]$, is
  stationary, and satisfies the second-order condition there.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symderive import POSITIVE, D, Derivation, interval

derivation = Derivation("gan_discriminator", source="hw2.md §4, Problem 3",
                        title="The optimal GAN discriminator", doc=__doc__)
d = derivation

# Integration variables are bound, never sampled, so they are not declared (a Dummy
# keeps them apart from the declared ``x`` of the maximiser claims).
x = sp.Dummy("x", positive=True)
z = sp.Dummy("z", positive=True)
u = sp.Dummy("u")

c = d.scalar("c", POSITIVE)  # the discriminators' parameter


def pushforward(p_z: sp.Expr, G: sp.Expr, Z: tuple) -> tuple[sp.Lambda, tuple]:
    """The density of ``x = G(z)``, ``p(G^{-1}(x)) |dG^{-1}/dx|``, and its support.

    ``G`` must be monotone on ``Z``; of the branches of the inverse that ``solve``
    returns, the one mapping back into ``Z`` is kept.
    """
    lo, hi = Z
    ends = sorted([sp.limit(G, z, lo, "+"), sp.limit(G, z, hi, "-")], key=float)
    probe = (ends[0] + ends[1]) / 2
    branches = [r for r in sp.solve(sp.Eq(G, x), z)
                if lo < r.subs(x, probe) < hi and sp.simplify(G.subs(z, r) - x) == 0]
    if len(branches) != 1:
        raise ValueError(f"G = {G} has no unique inverse on {Z}: {branches}")
    inverse = branches[0]
    density = p_z.subs(z, inverse) * sp.Abs(sp.diff(inverse, x))
    return sp.Lambda(x, sp.simplify(density)), tuple(ends)


@dataclass
class Instance:
    """A concrete GAN: noise density ``p`` on the interval ``Z``, generator ``G(z)``,
    data density ``p_data`` and discriminator ``D``; ``p_model`` and its support ``X``
    are computed from ``p`` and ``G``."""

    name: str
    p: sp.Lambda
    Z: tuple
    G: sp.Expr
    p_data: sp.Lambda
    D: sp.Lambda

    def __post_init__(self):
        self.p_model, self.X = pushforward(self.p(z), self.G, self.Z)


def value_integrand(p_data: sp.Expr, p_model: sp.Expr, Dx: sp.Expr) -> sp.Expr:
    """``p_data log D + p_model log(1 - D)``: the last line of (37), maximised in (38)."""
    return p_data * sp.log(Dx) + p_model * sp.log(1 - Dx)


def optimal_D(p_data: sp.Expr, p_model: sp.Expr) -> sp.Expr:
    """(38), as the document writes it."""
    return p_data / (p_data + p_model)


def display_37(g: Instance) -> tuple[sp.Expr, list[sp.Expr]]:
    """(37) for one instance: the head and the four displayed lines."""
    X, Z = (x, *g.X), (z, *g.Z)
    G, p, p_data, p_model, Dx = g.G, g.p, g.p_data, g.p_model, g.D

    def expectation(f, var, density, support):
        return sp.Integral(density * f, (var, *support))

    head = (expectation(sp.log(Dx(x)), x, p_data(x), g.X)
            + expectation(sp.log(1 - Dx(G)), z, p(z), g.Z))
    return head, [
        head,
        sp.Integral(p_data(x) * sp.log(Dx(x)), X) + sp.Integral(p(z) * sp.log(1 - Dx(G)), Z),
        sp.Integral(p_data(x) * sp.log(Dx(x)), X)
        + sp.Integral(p_model(x) * sp.log(1 - Dx(x)), X),
        sp.Integral(value_integrand(p_data(x), p_model(x), Dx(x)), X),
    ]


SQ = Instance("sq", p=sp.Lambda(u, 2 * u), Z=(0, 1), G=z**2, p_data=sp.Lambda(u, 2 * u),
              D=sp.Lambda(u, u / (u + c)))
DEC = Instance("dec", p=sp.Lambda(u, 1), Z=(0, 1), G=1 / (1 + z), p_data=sp.Lambda(u, 2),
               D=sp.Lambda(u, 1 / (1 + c * u)))

# (37)
head, lines = display_37(SQ)
d.chain("37", head, lines)
head_dec, lines_dec = display_37(DEC)
for k in (3, 4):
    d.equal(f"37.{k}-dec", head_dec, lines_dec[k - 1], equation=f"37.{k}")

# p(z) dz = p_model(x) dx, pointwise: p(z) = p_model(G(z)) |dG/dz|.
for g in (SQ, DEC):
    zs = d.scalar(f"z_{g.name}", interval(*g.Z), latex="z")
    Gz = g.G.subs(z, zs)
    d.equal("cov" if g is SQ else f"cov-{g.name}", g.p(zs),
            g.p_model(Gz) * sp.Abs(D(Gz, zs)), equation=None)

# "for all (a, b) in R^2 \ (0, 0), y = a log x + b log(1 - x) achieves its maximum in
# [0, 1] at x = a/(a + b)"
xs = d.scalar("x", interval(0, 1, closed=True))
a, b = d.scalar("a"), d.scalar("b")
d.stationary("max-ab", a * sp.log(xs) + b * sp.log(1 - xs), [xs], {xs: a / (a + b)},
             maximum=True, domain={xs: interval(0, 1, closed=True)}, equation=None,
             erratum="needs $a, b > 0$: for $a = b = -1$, $x = 1/2$ is a minimum; for "
                     "$a = 2$, $b = -1$, $x = 2$ is outside $[0, 1]$")
ap, bp = d.scalar("a_pos", POSITIVE, latex="a"), d.scalar("b_pos", POSITIVE, latex="b")
d.stationary("max-ab-corrected", ap * sp.log(xs) + bp * sp.log(1 - xs), [xs],
             {xs: ap / (ap + bp)}, maximum=True, domain={xs: interval(0, 1, closed=True)},
             equation=None, note="corrected: $a, b > 0$")

# (38): the optimal discriminator, pointwise over the value D = D(x) in (0, 1).
Dv = d.scalar("D", interval(0, 1), latex="D(x)")
pd = d.scalar("p_data", POSITIVE, latex=r"p_{\mathrm{data}}(x)")
pm = d.scalar("p_model", POSITIVE, latex=r"p_{\mathrm{model}}(x)")
d.stationary("38", value_integrand(pd, pm, Dv), [Dv], {Dv: optimal_D(pd, pm)}, maximum=True)

# (38) as a functional, on the primary instance: along D* + t h with h(x) = x (1 - x)
# (inside (0, 1) for small t), the value function of (37) has its maximum at t = 0.
t = d.scalar("t")
D_t = optimal_D(SQ.p_data(x), SQ.p_model(x)) + t * x * (1 - x)
d.stationary("38-functional",
             sp.Integral(value_integrand(SQ.p_data(x), SQ.p_model(x), D_t), (x, *SQ.X)),
             [t], {t: 0}, maximum=True, equation="38")
