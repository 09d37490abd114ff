"""``symderive list --formulas``: a claim on one line, in Unicode."""

from symderive import Derivation
from symderive.loader import load
from symderive.unicode import formula


def test_homework_formulas():
    ds = {d.name: d for d in load()[0]}
    bn, gan = ds["bn_backprop"], ds["gan_discriminator"]
    assert formula(bn.claim("5")) == "∂L/∂ĥ[i] = W2ᵀ·δ1[i]"
    assert formula(bn.claim("3")) == "∂L/∂W2 = ∑[i=1..n] (δ1[i]·h1[i]ᵀ)"
    assert formula(gan.claim("max-ab")) == "x = a/(a + b) maximises a·log(x) + b·log(1 - x)"


def test_conditions_and_holding():
    d = Derivation("u")
    x, y = d.scalar("x"), d.scalar("sigma")
    d.equal("1", x * y, y * x, given=[x - 1], unknowns=[x])
    d.derivative("2", x ** 2 + y, x, 2 * x, holding=[y])
    assert formula(d.claim("1")) == "σ·x = σ·x given x - 1 = 0"
    assert formula(d.claim("2")) == "∂(σ + x^2)/∂x (σ held) = 2·x"
