"""Matrix calculus in SymPy's own notation: the 1x1 rule, lazy claims, matrix domains,
the shipped matrix_calculus derivation and planted mistakes in it."""

from __future__ import annotations

import random
import textwrap

import pytest
import sympy as sp
from gaussians import kl_derivation
from symderive.derivations import matrix_calculus as mc

from symderive import (
    DIAGONAL,
    INVERTIBLE,
    ORTHOGONAL,
    POSITIVE,
    POSITIVE_DEFINITE,
    SYMMETRIC,
    D,
    Derivation,
    E,
    as_scalar,
    bsum,
    comp,
    frobenius,
)
from symderive.instantiate import Instantiator
from symderive.latex.printer import latex
from symderive.loader import import_file
from symderive.nodes import AsScalar
from symderive.numeric import Sampler
from symderive.testing import exact, mutants, results, variant, verdicts

HOLDS = ("proved", "verified")


# -- the 1x1 rule --------------------------------------------------------------------------
def _ls():
    d = Derivation("ls")
    n, m = d.dim("n"), d.dim("m")
    i = d.index("i", m)
    return d, n, m, i, d.vector("w", n), d.batch("x", n, m), d.vector("y", m), \
        d.matrix("A", n, n)


def test_a_one_by_one_product_of_declared_symbols_is_a_scalar():
    d, n, m, i, w, x, y, A = _ls()
    assert isinstance(w.T * x[i], AsScalar)
    assert isinstance(x[i].T * A * x[i], AsScalar)
    assert isinstance(w.T * (A * w), AsScalar)
    assert isinstance((A * w - w).T * (A * w - w), AsScalar)
    # on either side of a scalar, under a power, inside log and exp
    for e in (w.T * x[i] - comp(y, i), comp(y, i) - w.T * x[i], 2 + w.T * w, w.T * w + 2,
              (w.T * w) ** 2, sp.log(w.T * A * w), sp.exp(-w.T * w / 2), 1 / (w.T * w)):
        assert not isinstance(e, sp.MatrixExpr), e
    loss = bsum((w.T * x[i] - comp(y, i)) ** 2, i, 1, m)
    assert isinstance(loss, sp.Sum)


def test_where_the_rule_stops_plain_matrix_symbols_are_sympys():
    w = sp.MatrixSymbol("w", 3, 1)
    v = sp.MatrixSymbol("v", 3, 1)
    with pytest.raises(TypeError, match="Mix of Matrix and Scalar"):
        w.T * v - sp.Symbol("y")
    assert isinstance(as_scalar(w.T * v) - sp.Symbol("y"), sp.Add)


def test_the_least_squares_gradient_written_naturally_is_proved_and_mutants_refuted():
    d, n, m, i, w, x, y, A = _ls()
    loss = bsum((w.T * x[i] - comp(y, i)) ** 2, i, 1, m)
    good = d.derivative("grad", loss, w, 2 * bsum((w.T * x[i] - comp(y, i)) * x[i], i, 1, m))
    half = d.derivative("half", loss, w, bsum((w.T * x[i] - comp(y, i)) * x[i], i, 1, m))
    got = results(d)
    assert exact(got["grad"]) and got["half"].verdict == "refuted"
    planted = verdicts(mutants(good))
    assert planted and set(planted.values()) == {"refuted"}, planted
    assert half.rhs != good.rhs


# -- printing ------------------------------------------------------------------------------
def test_latex_uses_textbook_notation():
    d = mc.derivation
    t = sp.Symbol("t")
    assert latex(sp.Trace(mc.A * mc.X), d) == \
        r"\operatorname{tr}\mathopen{}\left(\mathbf{A} \mathbf{X}\right)"
    assert latex(sp.log(sp.det(mc.Sigma)), d) == \
        r"\log{\left(\det\mathopen{}\left(\Sigma\right) \right)}"
    assert latex(mc.G.I.T, d) == r"\mathbf{G}^{-T}"
    assert latex(sp.Transpose(mc.G * mc.K), d) == r"\left(\mathbf{G} \mathbf{K}\right)^{T}"
    assert latex(mc.Sigma.I * mc.mu, d) == r"\Sigma^{-1} \boldsymbol{\mu}"
    assert latex((mc.Xd.T * mc.Xd + mc.lam * sp.Identity(mc.n)).I, d) == \
        r"\left(\lambda \mathbf{I} + \boldsymbol{\Phi}^{T} \boldsymbol{\Phi}\right)^{-1}"
    assert latex(frobenius(mc.X), d) == r"\left\|\mathbf{X}\right\|_{F}"
    assert latex(sp.Trace(mc.X.T * mc.X), d) == r"\left\|\mathbf{X}\right\|_{F}^{2}"
    assert latex(mc.rss, d) == r"\left\|\boldsymbol{\Phi} \mathbf{w} - \mathbf{y}\right\|^{2}"
    assert latex(mc.d.claim("gauss-Sigma").rhs, d).count(r"\right)^{T}") == 1
    assert latex((mc.w.T * mc.x) ** 2, d) == r"\left(\mathbf{w}^{T} \mathbf{x}\right)^{2}"
    assert latex(E(t ** 2, t, sp.exp(-t ** 2 / 2), name="p"), d) == \
        r"\mathbb{E}_{t \sim p}\left[t^{2}\right]"


# -- a claim that cannot be built fails alone ----------------------------------------------
LAZY = '''
import sympy as sp
from symderive import Derivation, POSITIVE
derivation = Derivation("lazy")
d = derivation
n = d.dim("n")
m = d.dim("m", sizes=(3, 4))
X = d.matrix("X", m, n)
y = d.vector("y", m)
w = d.vector("w", n)
lam = d.scalar("lam", POSITIVE)
d.equal("shape", lambda: (X * X.T + lam * sp.Identity(n)).I * X.T * y, w)
d.equal("concrete", lambda: sp.MatrixSymbol("P", 2, 3) * sp.MatrixSymbol("P", 2, 3), 0)
d.equal("other", lambda: w + not_defined, w)
d.equal("fine", lambda: (X.T * X).T, X.T * X)
'''


def test_a_claim_that_cannot_be_built_fails_alone(tmp_path):
    path = tmp_path / "lazy.py"
    path.write_text(textwrap.dedent(LAZY))
    d = import_file(path).derivation
    got = results(d)
    assert exact(got["fine"])
    shape = got["shape"]
    assert shape.verdict == "refuted" and shape.method == "shape"
    assert "lam*I (2×2)" in shape.message and "X*X.T (3×3)" in shape.message
    assert f"{path}:12" in shape.message
    concrete = got["concrete"]
    assert concrete.verdict == "refuted" and concrete.method == "shape"
    assert "P (2×3) and P (2×3) cannot be multiplied" in concrete.message
    assert f"{path}:13" in concrete.message
    other = got["other"]
    assert other.verdict == "error" and "NameError" in other.message
    assert f"{path}:14" in other.message


def test_an_eagerly_built_claim_still_raises_at_once():
    d = Derivation("eager")
    P = d.matrix("P", 2, 3)
    with pytest.raises(sp.ShapeError):
        d.equal("1", P * P, 0)


# -- matrix domains ------------------------------------------------------------------------
def test_a_symmetric_only_claim_is_refuted_for_general_and_proved_for_symmetric():
    d = Derivation("dom")
    n = d.dim("n")
    x = d.vector("x", n)
    A = d.matrix("A", n, n)
    S = d.matrix("S", n, n, assume=SYMMETRIC)
    d.derivative("general", x.T * A * x, x, 2 * A * x)
    d.derivative("symmetric", x.T * S * x, x, 2 * S * x)
    d.derivative("logdet-general", sp.log(sp.Abs(sp.det(A))), A, A.I)
    d.derivative("logdet-symmetric", sp.log(sp.Abs(sp.det(S))), S, S.I)
    got = results(d)
    assert got["general"].verdict == "refuted" and exact(got["symmetric"])
    assert got["logdet-general"].verdict == "refuted"
    assert got["logdet-symmetric"].verdict in HOLDS


def test_structured_matrices_are_built_from_their_free_entries():
    d = Derivation("shapes")
    n = d.dim("n")
    mats = {dom: d.matrix(f"M{k}", n, n, assume=dom) for k, dom in enumerate(
        (SYMMETRIC, POSITIVE_DEFINITE, ORTHOGONAL, DIAGONAL, INVERTIBLE))}
    inst = Instantiator(d, {n: 3})
    S = inst.explicit(mats[SYMMETRIC])
    assert S == S.T and len(S.atoms(sp.Indexed)) == 6
    Dg = inst.explicit(mats[DIAGONAL])
    assert Dg.is_diagonal() and len(Dg.atoms(sp.Indexed)) == 3
    Q = inst.explicit(mats[ORTHOGONAL])
    bit = inst._base("M2")[1, 1]  # the reflection bit: 0 a rotation, 1 a reflection
    for b in (0, 1):
        Qb = Q.xreplace({bit: b})
        assert sp.simplify(Qb.T * Qb - sp.eye(3)) == sp.zeros(3, 3)
        assert sp.simplify(Qb.det()) == 1 - 2 * b
    rng = random.Random(5)
    for dom in (POSITIVE_DEFINITE, INVERTIBLE, ORTHOGONAL):
        M = inst.explicit(mats[dom])
        leaves = sorted(M.atoms(sp.Indexed), key=str)
        for _ in range(10):
            point = Sampler(d, leaves, {n: 3}, rng).draw()
            value = M.xreplace(point)
            if dom is POSITIVE_DEFINITE:
                assert value == value.T  # and positive definite (Sylvester):
                assert all(value[:k, :k].det() > 0 for k in (1, 2, 3))
            elif dom is INVERTIBLE:  # at every scale, not only |det| >= 1/2
                assert value.det() != 0
            else:
                assert value.T * value == sp.eye(3)
                assert value.det() in (1, -1)


def test_orthogonal_matrices_include_reflections():
    d = Derivation("orth")
    n = d.dim("n")
    Q = d.matrix("Q", n, n, assume=ORTHOGONAL)
    d.equal("gram", Q.T * Q, sp.Identity(n))
    d.equal("det-squared", sp.det(Q) ** 2, 1)
    d.equal("det-one", sp.det(Q), 1)
    got = verdicts(d)
    assert got["gram"] in HOLDS and got["det-squared"] in HOLDS
    assert got["det-one"] == "refuted"


def test_a_structured_matrix_must_be_square():
    d = Derivation("square")
    with pytest.raises(ValueError, match="must be square"):
        d.matrix("S", d.dim("n"), d.dim("m"), assume=SYMMETRIC)


# -- the shipped derivation ----------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    return results(mc.derivation)


def test_every_true_identity_holds(shipped):
    for claim in mc.derivation.claims:
        if claim.erratum:
            continue
        assert shipped[claim.id].verdict in HOLDS, (claim.id, shipped[claim.id].verdict)
    assert sum(exact(r) for r in shipped.values()) >= 15


def test_the_ridge_slip_is_refuted_by_shape(shipped):
    assert shipped["ridge-XXt"].verdict == "refuted"
    got = results([mc.derivation.claim("ridge-XXt")])["ridge-XXt"]
    assert got.method == "shape" and "Xd*Xd.T (3×3)" in got.message


def _plant(claim_id: str, suffix: str, rhs=None, point=None):
    claim = mc.derivation.claim(claim_id)
    if point is not None:
        return variant(claim, suffix, point=point)
    return variant(claim, suffix, rhs=rhs)


def test_planted_mistakes_are_refuted():
    A, B, X, G, S, x, w, Sigma = mc.A, mc.B, mc.X, mc.G, mc.S, mc.x, mc.w, mc.Sigma
    Xd, y, lam, n = mc.Xd, mc.y, mc.lam, mc.n
    xs, mu, i, m = mc.xs, mc.mu, mc.i, mc.m
    scatter = bsum((xs[i] - mu) * (xs[i] - mu).T, i, 1, m)
    planted = [
        _plant("tr-AX", "transpose-dropped", A),
        _plant("tr-AXB", "transpose-dropped", A * B),
        _plant("tr-XtAX", "symmetric-only", 2 * A * X),
        _plant("quad", "symmetric-only", 2 * A * x),
        _plant("hess-quad", "symmetric-only", 2 * A),
        _plant("logdet", "transpose-dropped", G.I),
        _plant("det", "transpose-dropped", sp.det(G) * G.I),
        _plant("inv-form", "transpose-dropped", -G.I * mc.a * mc.b.T * G.I),
        _plant("fro2", "factor-2-missing", X),
        _plant("quad-sym", "factor-2-missing", S * x),
        _plant("ls-grad-matrix", "factor-2-missing", Xd.T * (Xd * w - y)),
        _plant("inv-prod", "order", G.I * mc.K.I),
        _plant("gauss-Sigma", "inverse-dropped", (scatter * Sigma.I - m * Sigma.I) / 2),
        _plant("gauss-mu", "sign", -Sigma.I * bsum(xs[i] - mu, i, 1, m)),
        _plant("ridge", "factor-2", point={w: (Xd.T * Xd + lam * sp.Identity(n)).I
                                           * Xd.T * y / 2}),
        _plant("normal-eq", "inverse-dropped", point={w: Xd.T * Xd * Xd.T * y}),
        _plant("normal-eq", "transpose-dropped", point={w: (Xd.T * Xd).I * y}),
    ]
    got = verdicts(planted)
    assert set(got.values()) == {"refuted"}, {k: v for k, v in got.items() if v != "refuted"}


@pytest.mark.parametrize("claim_id", ["tr-AX", "tr-AXB", "det", "ls-grad", "inv-form"])
def test_the_usual_mutants_are_refuted(claim_id):
    planted = verdicts(mutants(mc.derivation.claim(claim_id)))
    assert planted and set(planted.values()) == {"refuted"}, planted


@pytest.mark.parametrize("claim_id", ["logdet-spd", "quad-sym", "gauss-mu"])
def test_a_transpose_of_a_symmetric_matrix_is_no_mistake(claim_id):
    """Σ⁻ᵀ = Σ⁻¹ and Sᵀ = S for the declared domains: that mutant holds; the others not."""
    planted = results(mutants(mc.derivation.claim(claim_id)))
    assert exact(planted.pop(f"{claim_id}~transpose"))
    assert planted and {r.verdict for r in planted.values()} == {"refuted"}, planted


def test_expectation_is_an_integral_against_the_density():
    d = Derivation("expect")
    s = d.scalar("s", POSITIVE)
    t = sp.Symbol("t", real=True)
    density = sp.exp(-t ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
    d.equal("second-moment", E(t ** 2, t, density, name="N(0, s^2)"), s ** 2)
    d.equal("wrong", E(t ** 2, t, density), s)
    got = verdicts(d)
    assert got["second-moment"] in HOLDS and got["wrong"] == "refuted"
    assert D  # the module's API stays importable from the top level


def test_kl_divergence_of_two_gaussians_is_checked_within_the_default_budget():
    d = kl_derivation()
    got = results(d, timeout=5)
    assert got["kl"].verdict in HOLDS, got["kl"].message
    assert got["kl"].evidence["sampled"]["points"] >= 2
    # the sampling's method (a proof, when it ends within the budget, is "symbolic")
    sampling = got["kl"].evidence["method"] if got["kl"].verdict == "verified" \
        else got["kl"].message
    assert "quadrature at 45 digits" in sampling and "error estimate <=" in sampling
    assert got["kl"].evidence["digits"] == 45
    assert got["kl-no-half"].verdict == "refuted" and got["kl-swapped"].verdict == "refuted"
    assert got["kl-log-sign"].verdict == "refuted"


def test_every_claim_kind_takes_lazy_arguments():
    d = Derivation("kinds")
    n, m = d.dim("n"), d.dim("m", sizes=(3, 4))
    x = d.vector("x", n)
    A = d.matrix("A", n, n)
    P = d.matrix("P", m, n)
    d.derivative("derivative", lambda: x.T * A * x, x, lambda: (A + A.T) * x)
    d.hessian("hessian", lambda: x.T * A * x, x, lambda: P * P.T)
    d.chain("chain", lambda: sp.Trace(A * A.T), [lambda: sp.Trace(A.T * A),
                                                  lambda: sp.Trace(P * A)])
    got = results(d)
    assert exact(got["derivative"]) and exact(got["chain.1"])
    for cid in ("hessian", "chain.2"):
        assert got[cid].verdict == "refuted" and got[cid].method == "shape", got[cid].message
    assert "P*A (3×2) is not square: it has no trace" in got["chain.2"].message


def test_special_points_keep_structured_matrices_in_their_domain():
    """The simplest and edge points (0, the ends of the domains) never move the entries of
    a structured matrix one by one: a positive-definite matrix stays positive definite,
    an invertible one invertible, an orthogonal one orthogonal, a symmetric one symmetric."""
    d = Derivation("special")
    n = d.dim("n")
    mats = {dom: d.matrix(f"M{k}", n, n, assume=dom) for k, dom in enumerate(
        (SYMMETRIC, POSITIVE_DEFINITE, ORTHOGONAL, INVERTIBLE))}
    c = d.scalar("c")
    inst = Instantiator(d, {n: 3})
    explicit = {dom: inst.explicit(M) for dom, M in mats.items()}
    leaves = sorted(set().union(*(M.atoms(sp.Indexed) for M in explicit.values())), key=str)
    sampler = Sampler(d, [*leaves, c], {n: 3}, random.Random(3))
    points = sampler.special_points()
    assert [p[c] for p in points] == [0, sp.Rational(-9, 2), sp.Rational(9, 2)]  # c moved
    for point in points:
        S, P, Q, G = (explicit[dom].xreplace(point) for dom in
                      (SYMMETRIC, POSITIVE_DEFINITE, ORTHOGONAL, INVERTIBLE))
        assert S == S.T and P == P.T
        assert all(P[:k, :k].det() > 0 for k in (1, 2, 3))
        assert Q.T * Q == sp.eye(3)
        assert abs(G.det()) >= sp.Rational(1, 2)


def test_a_minimiser_is_global_only_by_convexity_else_local():
    """Global vs local exactly as for a maximiser: x³ - 3x has a local minimum at 1 that is
    not global (f(-9) is smaller); a convex f has its global minimiser proved."""
    d = Derivation("minimisers")
    x = d.scalar("x")
    f = x ** 3 - 3 * x
    d.stationary("global", f, [x], {x: 1}, minimum=True)
    d.stationary("local", f, [x], {x: 1}, minimum=True, local=True)
    d.stationary("local-max", f, [x], {x: -1}, minimum=True, local=True)
    d.stationary("convex", (x - 2) ** 2, [x], {x: 2}, minimum=True)
    got = results(d, timeout=30)
    g = got["global"]
    assert g.verdict == "refuted" and g.method == "global minimum", g.message
    assert "not a global minimiser: f = -702 at x = -9, smaller than f = -2" in g.message
    assert got["local"].verdict == "proved" and "local minimiser" in got["local"].message
    lm = got["local-max"]
    assert lm.verdict == "refuted" and lm.method == "second-order condition"
    assert "not a minimum" in lm.message
    assert got["convex"].verdict == "proved"
    assert "global minimiser (f is convex" in got["convex"].message


def test_matrix_calculus_comes_after_the_homework_in_document_order():
    from symderive.loader import load
    from symderive.targets import document_order

    names = [d.name for d in document_order(load()[0])]
    assert names[-1] == "matrix_calculus" and len(names) == 5


def test_minimum_is_part_of_what_a_stationary_claim_states():
    """A minimiser claim and a mere stationary-point claim at the same point never share a
    check (the restatement fingerprint) nor a cached result (the cache key)."""
    from symderive.cache import statement_text
    from symderive.runner import fingerprint

    d = Derivation("states")
    x = d.scalar("x")
    a = d.stationary("a", x ** 2, [x], {x: 0}, minimum=True)
    b = d.stationary("b", x ** 2, [x], {x: 0}, maximum=False)
    assert (a.maximum, a.minimum, b.maximum, b.minimum) == (False, True, False, False)
    assert fingerprint(a) != fingerprint(b)
    assert statement_text(a) != statement_text(b)
