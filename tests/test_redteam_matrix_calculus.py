"""Red team for matrix calculus in SymPy's own notation (Trace, det, inverses, entries).

Three holes, found on 30 Nov 2026 with claims nobody had tuned the checker for:

* *Structured matrices were sampled from a corner of their domain.*  A positive-definite
  Σ was always drawn as B Bᵀ + n I (B with entries in -2..2: det Σ >= n^n, every diagonal
  entry >= n) and an invertible G always with |det G| >= 1/2, whatever the point's scale.
  So log det Σ >= 0, Σ₁₁ >= 1 and |det G| >= 1/2, false for Σ = I/10 and G = I/10, were
  ``verified`` at every point.  Now a structured matrix is drawn at the point's scale
  like any input (a small, unit, rational or large factor; a nearly singular Σ near 0),
  and a counterexample is shrunk to a simple matrix of the domain (Σ = I/2).
* *Entries outside a matrix wrapped around.*  ``x[k - 1, 0]`` at k = 0 read the last
  entry (Python's negative index), so the off-by-one Σ_{k=0}^{n-1} x[k-1] = 1ᵀx came out
  ``verified``, and ``x[i, 0]`` with i = n (a 1-based index in SymPy's 0-based entries)
  ended in a bare ``IndexError``.  Now both are refuted by shape, naming the entry.
* *SymPy's entry of an identity matrix* is δ(i, k, (0, n − 1)), a delta with a range;
  any claim with ``Identity(n)[i, k]`` ended in ``AttributeError: 'Tuple' object has no
  attribute 'evalf'``.

A gradient claimed in the wrong orientation (aᵀ for the column ∂(aᵀx)/∂x) passed the
directional screen, which compared the claimed entries in reading order whatever its
shape, and then ended in ``error`` ("ShapeMismatch: left side is 2x1 but right side is
1x2") when the exact check instantiated it; now the screen leaves a claimed side without
the derivative's shape to the entrywise route, which refutes it by shape.  Its repair
search then died on the first swap of two factors that SymPy rejects at literal sizes
(xᵀ(A + Aᵀ) swapped is not a product), reported as "stopped at its time cap after 0
candidates"; such a swap is now skipped.

And two claims in SymPy's own notation that ended in ``error`` with unhelpful messages:
SymPy's unevaluated ``sp.Derivative(f, x)`` (``'Tuple' object has no attribute
'evalf'``, or "expected a scalar, got a (2, 2) matrix: X"), now the checker's own
derivative with SymPy's layout; and a derivative by an entry ``X[0, 1]`` ("cannot
differentiate with respect to X[0, 1]"), now computed, except for an entry of a
structured matrix, which is refused with a message saying what to write instead.
"""

from __future__ import annotations

import json
import random

import pytest
import sympy as sp

from symderive import (
    DIAGONAL,
    INVERTIBLE,
    ORTHOGONAL,
    POSITIVE_DEFINITE,
    SYMMETRIC,
    D,
    Derivation,
    as_scalar,
    comp,
    exp,
    frobenius,
    ones,
)
from symderive.check import check_claim
from symderive.cli import main
from symderive.instantiate import Instantiator
from symderive.latex.printer import latex
from symderive.numeric import Sampler
from symderive.testing import exact, mutants, repairs, results, verdicts

HOLDS = ("proved", "verified")
SEEDS = range(6)

d = Derivation("redteam_matrix_calculus", source="tests")
n = d.dim("n")
P = d.matrix("P", n, n, assume=POSITIVE_DEFINITE)
G = d.matrix("G", n, n, assume=INVERTIBLE)
X = d.matrix("X", n, n)
x = d.vector("x", n)
a = d.vector("a", n)
i = d.index("i", n)
k = sp.Symbol("k", integer=True)
total = sp.OneMatrix(1, n) * x

# -- structured matrices at every scale -----------------------------------------------------
# false: Σ = I/10 is positive definite with log det Σ < 0 and Σ₁₁ < 1; G = I/10 has
# |det G| < 1/2
d.equal("logdet-nonnegative", sp.Abs(sp.log(sp.det(P))), sp.log(sp.det(P)),
        erratum="log det Σ < 0 for Σ = I/10")
d.equal("diagonal-at-least-1", sp.Max(P[0, 0], 1), P[0, 0], erratum="Σ₁₁ < 1 for Σ = I/10")
d.equal("det-at-least-half", sp.Max(sp.Abs(sp.det(G)), sp.Rational(1, 2)), sp.Abs(sp.det(G)),
        erratum="|det G| < 1/2 for G = I/10")
# true for every positive-definite or invertible matrix, at any scale
d.equal("det-positive", sp.Abs(sp.det(P)), sp.det(P))
d.equal("diagonal-positive", sp.Abs(P[1, 1]), P[1, 1])
d.derivative("logdet-gradient", sp.log(sp.det(P)), P, P.I)
d.derivative("logabsdet-gradient", sp.log(sp.Abs(sp.det(G))), G, G.I.T)
d.derivative("logabsdet-no-transpose", sp.log(sp.Abs(sp.det(G))), G, G.I,
             erratum="G⁻ᵀ, not G⁻¹, for a general G")
d.derivative("inverse-form", a.T * G.I * a, G, -G.I.T * a * a.T * G.I.T)
d.derivative("inverse-form-sign", a.T * G.I * a, G, G.I.T * a * a.T * G.I.T,
             erratum="the sign of d(G⁻¹) = -G⁻¹ dG G⁻¹")

# -- entries in SymPy's notation (counting from 0) ------------------------------------------
d.equal("sum-of-entries", sp.Sum(x[k, 0], (k, 0, n - 1)), total)
d.equal("sum-off-by-one", sp.Sum(x[k - 1, 0], (k, 0, n - 1)), total,
        erratum="x[-1, 0] is no entry: the range is 0..n-1 for x[k, 0]")
d.equal("sum-past-the-end", sp.Sum(x[k, 0], (k, 1, n)), total, erratum="x[n, 0] is no entry")
d.equal("entry-1-based-index", x[i, 0], comp(x, i), erratum="x[i - 1, 0] is entry i")
d.equal("entry-shifted-index", x[i - 1, 0], comp(x, i))
d.equal("trace-by-entries", sp.Sum(X[k, k], (k, 0, n - 1)), sp.Trace(X))
d.equal("trace-off-by-one", sp.Sum(X[k - 1, k - 1], (k, 0, n - 1)), sp.Trace(X),
        erratum="X[-1, -1] is no entry")

# -- entries of an identity matrix: SymPy's delta with a range ------------------------------
d.equal("identity-row", sp.Sum(sp.Identity(n)[i - 1, k] * x[k, 0], (k, 0, n - 1)), comp(x, i))
d.equal("identity-row-shifted", sp.Sum(sp.Identity(n)[i, k] * x[k, 0], (k, 0, n - 1)),
        comp(x, i), erratum="row i of I picks entry i + 1")
d.equal("identity-quadratic", sp.Sum(sp.Sum(sp.Identity(n)[k, sp.Symbol("l", integer=True)]
                                            * x[k, 0] * x[sp.Symbol("l", integer=True), 0],
                                            (k, 0, n - 1)),
                                     (sp.Symbol("l", integer=True), 0, n - 1)), x.T * x)


# -- SymPy's own Derivative, and derivatives by an entry -------------------------------------
m = d.dim("m")
M = d.matrix("M", m, n)
Y = d.matrix("Y", n, m)
b = d.vector("b", m)
S = d.matrix("S", n, n, assume=SYMMETRIC)
t = d.scalar("t")
d.equal("sympy-gradient", sp.Derivative(x.T * X * x, x), (X + X.T) * x)
d.equal("sympy-gradient-symmetric-only", sp.Derivative(x.T * X * x, x), 2 * X * x,
        erratum="2Xx only for a symmetric X")
d.equal("sympy-trace", sp.Derivative(sp.Trace(X * Y * M), Y), X.T * M.T)
d.equal("sympy-trace-transposed", sp.Derivative(sp.Trace(X * Y * M), Y), M * X,
        erratum="the gradient has Y's shape n x m, (XᵀMᵀ)")
# SymPy lays out the derivative of a column vector by a column vector as
# sp.diff(M*x, x) = Mᵀ, the transpose of D's Jacobian M
d.equal("sympy-jacobian", sp.Derivative(M * x, x), M.T)
d.equal("sympy-jacobian-numerator-layout", sp.Derivative(M * x, x), M,
        erratum="SymPy's layout is Mᵀ")
d.equal("sympy-scalar", sp.Derivative(sp.Trace(t * X) ** 3, (t, 2)), 6 * t * sp.Trace(X) ** 3)
d.equal("sympy-scalar-once", sp.Derivative(sp.Trace(t * X) ** 3, (t, 2)),
        3 * t ** 2 * sp.Trace(X) ** 3, erratum="the first derivative, not the second")
d.derivative("by-an-entry", a.T * Y * b, Y[0, 1], comp(a, 1) * comp(b, 2))
d.derivative("by-an-entry-swapped", a.T * Y * b, Y[0, 1], comp(a, 2) * comp(b, 1),
             erratum="Y[0, 1] is row 1, column 2")
d.derivative("by-an-entry-outside", a.T * x, x[i, 0], comp(a, i), erratum="no entry x[n, 0]")
d.equal("entry-of-a-gradient", D(x.T * S * x, S)[0, 1], comp(x, 1) * comp(x, 2))
d.equal("entry-of-a-gradient-doubled", D(x.T * S * x, S)[0, 1], 2 * comp(x, 1) * comp(x, 2),
        erratum="the gradient in S's n² entries held general")
d.derivative("by-an-entry-of-a-symmetric", x.T * S * x, S[0, 1], comp(x, 1) * comp(x, 2))

# -- a gradient claimed as a row ----------------------------------------------------------------
d.derivative("gradient-as-a-row", a.T * x, x, a.T, erratum="the gradient is the column a")
d.derivative("quadratic-gradient-as-a-row", x.T * X * x, x, x.T * (X + X.T),
             erratum="the gradient is the column (X + Xᵀ)x")
d.derivative("quadratic-gradient", x.T * X * x, x, (X + X.T) * x)

# -- SymPy's scalar function of a matrix symbol ---------------------------------------------
d.equal("sympy-exp-of-a-matrix", sp.exp(X), sp.exp(X[0, 0]))

# -- stationary points over structured matrices ------------------------------------------------
C = d.matrix("C", n, n)
Sy = d.matrix("Sy", n, n, assume=SYMMETRIC)
K = d.matrix("K", n, n, assume=POSITIVE_DEFINITE)
Dg = d.matrix("Dg", n, n, assume=DIAGONAL)
Q = d.matrix("Q", n, n, assume=ORTHOGONAL)
nearest = -frobenius(Sy - C) ** 2           # the nearest symmetric matrix is (C + Cᵀ)/2
d.stationary("nearest-symmetric", nearest, [Sy], {Sy: (C + C.T) / 2}, local=True,
             sizes=[{n: 2}])
d.stationary("nearest-symmetric-global", nearest, [Sy], {Sy: (C + C.T) / 2}, sizes=[{n: 2}])
d.stationary("nearest-symmetric-is-C", nearest, [Sy], {Sy: C}, local=True, sizes=[{n: 2}],
             erratum="C is not symmetric")
d.stationary("nearest-symmetric-half", nearest, [Sy], {Sy: C + C.T}, local=True,
             sizes=[{n: 2}], erratum="the 1/2 dropped")
d.stationary("nearest-diagonal", -frobenius(Dg - C) ** 2, [Dg],
             {Dg: sp.DiagMatrix(sp.DiagonalOf(C))}, local=True, sizes=[{n: 2}])
d.stationary("nearest-diagonal-is-C", -frobenius(Dg - C) ** 2, [Dg], {Dg: C}, local=True,
             sizes=[{n: 2}], erratum="C is not diagonal")
# the maximum-likelihood precision matrix: log det K - tr(P K) is largest at K = P⁻¹
precision = sp.log(sp.det(K)) - sp.Trace(P * K)
d.stationary("precision", precision, [K], {K: P.I}, local=True, sizes=[{n: 2}])
d.stationary("precision-not-inverted", precision, [K], {K: P}, local=True, sizes=[{n: 2}],
             erratum="K = P⁻¹")
d.stationary("procrustes", sp.Trace(Q.T * C), [Q], {Q: C}, local=True, sizes=[{n: 2}])
# the claimed value must be in the unknown's domain as a whole matrix, not entry by entry
d.stationary("nearest-positive-definite-is-Sy", -frobenius(K - Sy) ** 2, [K], {K: Sy},
             local=True, sizes=[{n: 2}], erratum="Sy need not be positive definite")
d.stationary("nearest-positive-definite-is-P", -frobenius(K - P) ** 2, [K], {K: P},
             local=True, sizes=[{n: 2}])
d.stationary("largest-invertible-is-0", -frobenius(G) ** 2, [G], {G: sp.ZeroMatrix(n, n)},
             local=True, sizes=[{n: 2}], erratum="0 is not invertible")

# -- a 1x1 product times SymPy's own matrices ---------------------------------------------------
# (xᵀx) I and exp(x) / (1ᵀ exp(x)) ended in RecursionError while the claim was built: the
# scalar and SymPy's matrix handed the product to each other
sq = x.T * x
d.hessian("quartic", sq ** 2, x, lambda: sq * sp.Identity(n) * 4 + 8 * x * x.T)
d.hessian("quartic-half", sq ** 2, x, lambda: sq * sp.Identity(n) * 4 + 4 * x * x.T,
          erratum="8xxᵀ")
total_exp = as_scalar(ones(n).T * exp(x))
d.derivative("softmax-gradient", sp.log(total_exp), x, lambda: exp(x) / total_exp)
d.hessian("log-sum-exp", sp.log(total_exp), x,
          lambda: sp.DiagMatrix(exp(x)) / total_exp - exp(x) * exp(x).T / total_exp ** 2)
d.hessian("log-sum-exp-diagonal-only", sp.log(total_exp), x,
          lambda: sp.DiagMatrix(exp(x)) / total_exp, erratum="- p pᵀ dropped")
d.hessian("log-sum-exp-no-as-scalar", sp.log(as_scalar(ones(n).T * exp(x))), x,
          lambda: sp.DiagMatrix(exp(x)) / (ones(n).T * exp(x))
          - exp(x) * exp(x).T / total_exp ** 2,
          erratum="1ᵀexp(x) of SymPy's OneMatrix is a 1x1 matrix: as_scalar(...)")

# -- SymPy's matrix calculus returns 0 for d X[0, 0]² / dX: the checker differentiates
d.derivative("sympy-silent-zero", X[0, 0] ** 2 + sp.Trace(P * X), X,
             sp.diff(X[0, 0] ** 2, X) + P.T, erratum="SymPy's diff is 0; the truth 2X₁₁ E₁₁")

# -- by a transpose: d f / d xᵀ is laid out as xᵀ ("cannot differentiate with respect to
# x.T" before); by the transpose of a structured matrix, refused as its entries are
d.derivative("by-a-row", x.T * X * x, x.T, x.T * (X + X.T))
d.derivative("by-a-row-as-a-column", x.T * X * x, x.T, (X + X.T) * x,
             erratum="the gradient by xᵀ is a row")
d.derivative("by-a-transposed-matrix", sp.Trace(M * Y), Y.T, M)
d.derivative("by-a-transposed-matrix-T", sp.Trace(M * Y), Y.T, lambda: M.T,
             erratum="d tr(MY)/dYᵀ = M")
d.derivative("by-a-transposed-symmetric", x.T * S * x, S.T, x * x.T)

ERRORS = {"by-a-transposed-symmetric", "by-an-entry-of-a-symmetric", "sympy-exp-of-a-matrix",
          "procrustes"}


@pytest.fixture(scope="module")
def got():
    return results(d)


def test_errata_are_refuted_and_the_rest_holds(got):
    for claim in d.claims:
        want = {"refuted"} if claim.erratum else {"error"} if claim.id in ERRORS \
            else set(HOLDS)
        assert got[claim.id].verdict in want, (claim.id, got[claim.id].verdict,
                                               got[claim.id].message)


@pytest.mark.parametrize("cid", ["logdet-nonnegative", "diagonal-at-least-1",
                                 "det-at-least-half"])
def test_claims_true_only_on_a_corner_of_the_domain_are_refuted_for_every_seed(cid):
    for seed in SEEDS:
        r = check_claim(d.claim(cid), lambda *_: None, seed)
        assert r.verdict.value == "refuted", (cid, seed, r.message)
        assert r.counterexample["values"], r.counterexample


def test_the_counterexample_is_a_matrix_of_the_domain(got):
    cx = got["logdet-nonnegative"].counterexample
    values = {key: sp.Rational(v) for key, v in cx["values"].items()}
    size = cx["sizes"]["n"]
    M = sp.Matrix(size, size, lambda r, c: values[f"P[{min(r, c) + 1},{max(r, c) + 1}]"])
    assert all(M[:s, :s].det() > 0 for s in range(1, size + 1))  # positive definite
    assert M.det() < 1  # and log det M < 0: the claim is false there


def test_a_structured_counterexample_shrinks_to_a_simple_matrix(got):
    """Σ = I/2 and G = I/2, not 72259/10000000 ...: a whole matrix of the domain."""
    for cid, name in (("logdet-nonnegative", "P"), ("det-at-least-half", "G")):
        values = got[cid].counterexample["values"]
        entries = {k: sp.Rational(v) for k, v in values.items() if k.startswith(name)}
        diagonal = {v for k, v in entries.items() if k[2] == k[4]}
        assert len(diagonal) == 1 and 0 < diagonal.pop() < 1, (cid, values)
        assert all(v == 0 for k, v in entries.items() if k[2] != k[4]), (cid, values)


def test_an_orthogonal_counterexample_is_the_reflection():
    e = Derivation("orthogonal_shrink")
    size = e.dim("n")
    Q = e.matrix("Q", size, size, assume=ORTHOGONAL)
    e.equal("det-one", sp.det(Q), 1, erratum="a reflection has det -1")
    r = results(e)["det-one"]
    assert r.verdict == "refuted"
    assert {k: sp.Rational(v) for k, v in r.counterexample["values"].items()} == \
        {"Q[1,1]": 1, "Q[1,2]": 0}  # the reflection bit set, no rotation: diag(-1, 1)


def test_structured_draws_cover_small_and_large_determinants():
    """Over a run of points, det Σ and |det G| fall below 1/2 and rise above n^n."""
    inst = Instantiator(d, {n: 3})
    for M in (P, G):
        explicit = inst.explicit(M)
        leaves = sorted(explicit.atoms(sp.Indexed), key=str)
        sampler = Sampler(d, leaves, {n: 3}, random.Random(1))
        dets = [abs(explicit.xreplace(sampler.draw()).det()) for _ in range(16)]
        assert all(v > 0 for v in dets)
        assert min(dets) < sp.Rational(1, 2) and max(dets) > 27, (M, dets)


def test_an_entry_outside_the_matrix_names_it(got):
    r = got["sum-off-by-one"]
    assert r.method == "shape"
    assert "x[-1, 0] is outside the 2 x 1 matrix x" in r.message
    assert "counts entries from 0" in r.message and "n=2" in r.message
    r = got["entry-1-based-index"]
    assert r.method == "shape" and "x[2, 0] is outside" in r.message
    assert got["trace-off-by-one"].method == "shape"


def test_entries_proved_where_the_prover_reads_them(got):
    assert got["entry-shifted-index"].verdict == "proved"
    assert exact(got["sum-of-entries"]) and exact(got["trace-by-entries"])
    assert exact(got["identity-row"])


def test_sympys_derivative_is_the_checkers_with_sympys_layout(got):
    for cid in ("sympy-gradient", "sympy-trace", "sympy-jacobian", "sympy-scalar"):
        assert got[cid].verdict == "proved", (cid, got[cid].message)
    cx = got["sympy-gradient-symmetric-only"].counterexample
    assert cx["entries"] and cx["values"]
    assert got["sympy-trace-transposed"].counterexample["entries"]


def test_a_derivative_by_an_entry(got):
    assert exact(got["by-an-entry"])
    assert got["by-an-entry-swapped"].counterexample["values"]
    assert "x[2, 0] is outside" in got["by-an-entry-outside"].message
    assert exact(got["entry-of-a-gradient"])
    r = got["by-an-entry-of-a-symmetric"]
    assert r.method == "build" and "an entry of the symmetric matrix S" in r.message
    assert "D(f, S)[0, 1]" in r.message


def test_a_gradient_claimed_as_a_row_is_refuted_by_shape(got):
    for cid in ("gradient-as-a-row", "quadratic-gradient-as-a-row"):
        r = got[cid]
        assert r.verdict == "refuted" and r.method == "shape", (cid, r.method, r.message)
        assert "left side is 2x1 but right side is 1x2" in r.message
    assert got["quadratic-gradient"].verdict == "proved"


def test_a_row_gradient_at_literal_sizes_gets_its_repair():
    e = Derivation("row_gradient_literal")
    v, V = e.vector("v", 3), e.matrix("V", 3, 3)
    claim = e.derivative("row", v.T * V * v, v, v.T * (V + V.T))
    assert results(e)["row"].method == "shape"
    hints = repairs(claim)
    assert hints and hints[0].formula == "(V + Vᵀ) v", hints
    assert hints[0].verdict == "proved"


def test_a_scalar_function_of_a_matrix_says_what_to_write(got):
    r = got["sympy-exp-of-a-matrix"]
    assert r.method == "build" and "expected a scalar, got a 2x2 matrix: X" in r.message
    assert "symderive's exp, log, sqrt are elementwise" in r.message


def test_stationary_points_over_structured_matrices(got):
    """The unknowns of a symmetric or diagonal matrix are its free entries, once each;
    the claimed value must lie in the domain."""
    for cid in ("nearest-symmetric", "nearest-diagonal"):
        assert exact(got[cid]), (cid, got[cid].verdict, got[cid].message)
    # sampled at n = 2 (no symbolic second-order test for every positive-definite P)
    assert got["precision"].verdict == "verified"
    assert got["nearest-symmetric-global"].verdict == "verified"
    r = got["nearest-symmetric-is-C"]
    assert r.method == "domain" and "entries that the unknown shares" in r.message
    r = got["nearest-diagonal-is-C"]
    assert r.method == "domain" and "where the unknown has 0" in r.message
    assert got["nearest-symmetric-half"].method == "Lagrange conditions"
    assert got["precision-not-inverted"].method == "Lagrange conditions"
    assert "at larger sizes" in got["precision"].message  # log det K at n = 6: too dear
    assert "an orthogonal unknown is not supported" in got["procrustes"].message
    r = got["nearest-positive-definite-is-Sy"]
    assert r.method == "domain" and "is not positive definite: its leading minor" in r.message
    r = got["largest-invertible-is-0"]
    assert r.method == "domain" and "the claimed G is singular" in r.message
    assert got["nearest-positive-definite-is-P"].verdict == "verified"


def test_an_entry_is_typeset_counting_from_1_as_the_document_does():
    """X[0, 1] is X₁₂ beside a₁ = comp(a, 1) and the counterexamples' X[1,2] (SymPy's own
    printer wrote X_{0,1})."""
    assert latex(Y[0, 1], d) == "Y_{1,2}"
    assert latex(x[i - 1, 0], d) == "x_{i}"
    assert latex(D(a.T * Y * b, Y)[0, 1], d).endswith(r"\right)_{1,2}")


def test_a_one_by_one_product_times_sympys_matrices(got):
    for cid in ("quartic", "softmax-gradient", "log-sum-exp"):
        assert got[cid].verdict in HOLDS, (cid, got[cid].message)
    assert got["quartic-half"].counterexample["entries"]
    r = got["log-sum-exp-no-as-scalar"]
    assert r.method == "shape" and "wrap it with as_scalar(...)" in r.message
    with pytest.raises(TypeError, match="Mix of Matrix and Scalar"):
        sq + sp.Identity(n)


def test_sympys_silent_zero_is_refuted_at_the_entry():
    assert isinstance(sp.diff(X[0, 0] ** 2, X), sp.ZeroMatrix)  # SymPy's matrix calculus
    r = results([d.claim("sympy-silent-zero")])["sympy-silent-zero"]
    assert r.verdict == "refuted"
    assert [e["entry"] for e in r.counterexample["entries"]] == ["[1,1]"]


@pytest.mark.parametrize("cid", ["nearest-symmetric", "nearest-diagonal", "log-sum-exp",
                                 "sympy-jacobian", "by-an-entry", "quartic",
                                 "entry-of-a-gradient", "identity-row"])
def test_the_usual_mutants_of_the_accepted_claims_are_refuted(cid):
    planted = verdicts(mutants(d.claim(cid)))
    assert planted and set(planted.values()) == {"refuted"}, planted


@pytest.mark.parametrize("cid", ["sympy-gradient", "precision"])
def test_a_transpose_of_a_symmetric_form_is_no_mistake(cid):
    """(X + Xᵀ)x and P⁻¹ for a symmetric P: the transpose mutant holds, the others not."""
    planted = verdicts(mutants(d.claim(cid)))
    assert planted.pop(f"{cid}~transpose") in HOLDS
    assert planted and set(planted.values()) == {"refuted"}, planted


SAME_IDENTITY = """
from symderive import Derivation
derivation = Derivation("{name}")
n = derivation.dim("n")
x = derivation.vector("x", n)
derivation.derivative("{cid}", x.T * x, x, 2 * x)
"""


def test_two_files_stating_the_same_identity_are_both_reported(tmp_path, capsys):
    """The identity is checked once; its restatement in the other derivation kept the
    first's derivation name, and the report stopped the run with a KeyError."""
    for name, cid in (("first", "grad-a"), ("second", "grad-b")):
        (tmp_path / f"{name}.py").write_text(SAME_IDENTITY.format(name=name, cid=cid))
    assert main(["check", "--dir", str(tmp_path), "--no-cache", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "2 proved" in out and "grad-a" in out and "grad-b" in out
    assert main(["check", "--dir", str(tmp_path), "--no-cache", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    claims = {(e["name"], c["id"]): c for e in doc["derivations"] for c in e["claims"]}
    assert claims[("second", "grad-b")]["verdict"] == "proved"
    assert "same statement as claim first:grad-a" in claims[("second", "grad-b")]["message"]


def test_a_derivative_by_a_transpose(got):
    assert got["by-a-row"].verdict == "proved"
    assert got["by-a-transposed-matrix"].verdict == "proved"
    assert got["by-a-row-as-a-column"].method == "shape"
    r = got["by-a-transposed-symmetric"]
    assert "the transpose of the symmetric matrix S" in r.message and "D(f, S).T" in r.message
