r"""Backpropagation through ReLU, batch normalisation, softmax and cross-entropy (HW2 §2).

The forward model is reconstructed from the document's "Preparation" chain rule
($\mathbf{z}_2$ depends on the normalised activations, which depend on $\mathbf{h}_1$ and
on the batch statistics):

* $\mathbf{z}_{1,i} = \mathbf{W}^{(1)} \mathbf{x}_i + \mathbf{b}^{(1)}$ and
  $\mathbf{h}_{1,i} = \operatorname{ReLU}(\mathbf{z}_{1,i})$;
* $\boldsymbol{\mu} = \frac{1}{n} \sum_i \mathbf{h}_{1,i}$ and
  $\boldsymbol{\sigma}^2 = \frac{1}{n} \sum_i (\mathbf{h}_{1,i} - \boldsymbol{\mu})^2$
  (the biased variance);
* $\hat{\mathbf{h}}_{1,i} = \gamma (\mathbf{h}_{1,i} - \boldsymbol{\mu}) /
  \sqrt{\boldsymbol{\sigma}^2 + \epsilon} + \beta$, with scalars $\gamma$ and $\beta$;
* $\mathbf{z}_{2,i} = \mathbf{W}^{(2)} \hat{\mathbf{h}}_{1,i} + \mathbf{b}^{(2)}$,
  $\hat{\mathbf{y}}_i = \operatorname{softmax}(\mathbf{z}_{2,i})$ and
  $L = -\frac{1}{n} \sum_i \mathbf{y}_i^T \log \hat{\mathbf{y}}_i$.

The targets $\mathbf{y}_i$ are arbitrary reals: the document keeps $\sum_j y_{ij}$
explicitly in (1), so its formulas are claimed for any $\mathbf{y}$, not only one-hot ones.

Partial derivatives with respect to an intermediate quantity treat it as a variable: in (8)
$\boldsymbol{\sigma}^2$ is the variable ($\boldsymbol{\mu}$ and $\mathbf{h}$ held), in (9)
$\boldsymbol{\mu}$ is the variable with $\boldsymbol{\sigma}^2$ still depending on it,
exactly as the "Preparation" chain rule reads. Every derivative is evaluated at the actual
forward pass, which is why line 3 of (9) may drop the term with
$\sum_i (\mathbf{h}_{1,i} - \boldsymbol{\mu}) = 0$.

Errata found by the checker:

* (3) and (15): $\partial L / \partial \mathbf{W}^{(2)} = \sum_i \boldsymbol{\delta}_{1,i}
  \mathbf{h}_{1,i}^T$ uses the *un-normalised* $\mathbf{h}_{1,i}$. Since
  $\mathbf{z}_{2,i} = \mathbf{W}^{(2)} \hat{\mathbf{h}}_{1,i} + \mathbf{b}^{(2)}$, the
  gradient is $\sum_i \boldsymbol{\delta}_{1,i} \hat{\mathbf{h}}_{1,i}^T$ (claims
  `3-corrected` and `15-corrected`). The counterexample is telling: with every
  $\mathbf{x}_i$ equal, the batch variance is 0, $\hat{\mathbf{h}}_{1,i} = \beta = 0$ and
  the true gradient vanishes, while the document's formula does not.

Normalisations (typos that leave the mathematics unaffected):

* (21) writes $1\{\mathbf{z}_{1,i} > 0\}$ in plain type; it is the same indicator vector
  as in (11).
* The middle members of (3)–(8) and (11)–(13) (products with
  $\partial \mathbf{z} / \partial \mathbf{W}$, a third-order tensor written informally)
  are not encoded; each claim compares the derivative with the final closed form. The
  chain-rule lines of (1), (9) and (10) are encoded with derivative nodes, each computed by
  the tool.
"""

import sympy as sp

from symderive import (
    POSITIVE,
    D,
    Derivation,
    batch_mean,
    batch_var,
    bcast,
    bsum,
    comp,
    ediv,
    epow,
    hadamard,
    indicator,
    log,
    ones,
    relu,
    softmax,
    sqrt,
)

derivation = Derivation(
    "bn_backprop", source="hw2.md §2, Problem 1",
    title="Back propagation with batch normalisation", doc=__doc__,
    proof_sizes=1)  # proofs at the smallest sizes; the larger ones are sampled
d = derivation

n = d.dim("n", sizes=(2, 3), numeric=4)
nx = d.dim("n_x", sizes=(1, 2), numeric=3)
n1 = d.dim("n_1", sizes=(2, 3), numeric=4)
ny = d.dim("n_y", sizes=(2, 3), numeric=4)
i = d.index("i", n)
j = d.index("j", ny)
k = d.index("k", ny)

x = d.batch("x", nx, n, latex=r"\mathbf{x}")
y = d.batch("y", ny, n, latex=r"\mathbf{y}")
W1 = d.matrix("W1", n1, nx, latex=r"\mathbf{W}^{(1)}")
b1 = d.vector("b1", n1, latex=r"\mathbf{b}^{(1)}")
W2 = d.matrix("W2", ny, n1, latex=r"\mathbf{W}^{(2)}")
b2 = d.vector("b2", ny, latex=r"\mathbf{b}^{(2)}")
gamma = d.scalar("gamma", latex=r"\gamma")
beta = d.scalar("beta", latex=r"\beta")
eps = d.scalar("epsilon", POSITIVE, latex=r"\epsilon")

# -- forward model ---------------------------------------------------------------------------
z1 = d.define("z1", W1 * x[i] + b1, params=(i,), latex=r"\mathbf{z}_{1}")
h1 = d.define("h1", relu(z1[i]), params=(i,), latex=r"\mathbf{h}_{1}")
mu = d.define("mu", batch_mean(h1[i], i, n), latex=r"\boldsymbol{\mu}")
sigma2 = d.define("sigma2", batch_var(h1[i], mu, i, n), latex=r"\boldsymbol{\sigma}^{2}")
root = sqrt(sigma2 + bcast(eps, n1))              # sqrt(sigma^2 + eps), elementwise
root3 = epow(sigma2 + bcast(eps, n1), sp.Rational(3, 2))
hhat = d.define("hhat", gamma * ediv(h1[i] - mu, root) + bcast(beta, n1), params=(i,),
                latex=r"\hat{\mathbf{h}}_{1}")
z2 = d.define("z2", W2 * hhat[i] + b2, params=(i,), latex=r"\mathbf{z}_{2}")
yhat = d.define("yhat", softmax(z2[i]), params=(i,), latex=r"\hat{\mathbf{y}}")
L = d.define("L", -bsum(y[i].T * log(yhat[i]), i, 1, n) / n, latex=r"L")

# -- the document's deltas (each formula written once) ----------------------------------------
y_total = sp.Sum(comp(y[i], j), (j, 1, ny))      # sum_j y_ij
delta1_formula = (y_total * yhat[i] - y[i]) / n                                          # (2)
delta1 = d.define("delta1", delta1_formula, params=(i,), latex=r"\boldsymbol{\delta}_{1}")
delta2_formula = W2.T * delta1[i]                                                         # (5)
delta2 = d.define("delta2", delta2_formula, params=(i,), latex=r"\boldsymbol{\delta}_{2}")
j2 = d.index("i'", n)  # the document's inner batch index j in (10) and (20)
centred_j = ediv(h1[j2] - mu, root3)
sum_cubic = bsum(hadamard(centred_j, delta2[j2]), j2, 1, n)
delta3_formula = (hadamard(ediv(bcast(gamma, n1), root), delta2[i])                      # (10.3)
                  - (gamma / n) * hadamard(ediv(ones(n1), root), bsum(delta2[j2], j2, 1, n))
                  - (gamma / n) * hadamard(sum_cubic, h1[i] - mu))
delta3 = d.define("delta3", delta3_formula, params=(i,), latex=r"\boldsymbol{\delta}_{3}")
delta4_formula = hadamard(indicator(z1[i]), delta3[i])                                   # (11)
delta4 = d.define("delta4", delta4_formula, params=(i,), latex=r"\boldsymbol{\delta}_{4}")

# -- (1): the softmax / cross-entropy step, entry by entry -----------------------------------
yk, yhk = comp(y[i], k), comp(yhat[i], k)
yj, yhj = comp(y[i], j), comp(yhat[i], j)
d.chain("1", D(L, comp(z2[i], k)), [
    sp.Sum(D(L, yhj) * D(yhj, comp(z2[i], k)), (j, 1, ny)),
    -(sp.Sum((1 - sp.KroneckerDelta(j, k)) * (yj / yhj) * (-yhk * yhj), (j, 1, ny))
      + (yk / yhk) * yhk * (1 - yhk)) / n,
    (yhk * y_total - yk) / n,
])

# -- (2)-(13) and their restatements (14)-(23) ------------------------------------------------
grad_W2_doc = bsum(delta1[i] * h1[i].T, i, 1, n)
grad_W2_fixed = bsum(delta1[i] * hhat[i].T, i, 1, n)
grad_b2 = bsum(delta1[i], i, 1, n)
grad_gamma = bsum(ediv(h1[i] - mu, root).T * delta2[i], i, 1, n)
grad_beta = bsum(ones(n1).T * delta2[i], i, 1, n)
grad_sigma2 = -(gamma / 2) * bsum(hadamard(ediv(h1[i] - mu, root3), delta2[i]), i, 1, n)
grad_W1 = bsum(delta4[i] * x[i].T, i, 1, n)
grad_b1 = bsum(delta4[i], i, 1, n)
W2_erratum = (r"uses $\mathbf{h}_{1,i}$, but $\mathbf{z}_{2,i} = \mathbf{W}^{(2)} "
              r"\hat{\mathbf{h}}_{1,i} + \mathbf{b}^{(2)}$, so the gradient needs the "
              r"normalised $\hat{\mathbf{h}}_{1,i}$")

# equation -> (variable, claimed derivative), for the single-line gradients
GRADIENTS = {
    2: (z2[i], delta1_formula),
    4: (b2, grad_b2),
    5: (hhat[i], delta2_formula),
    6: (gamma, grad_gamma),
    7: (beta, grad_beta),
    8: (sigma2, grad_sigma2),
    11: (z1[i], delta4_formula),
    12: (W1, grad_W1),
    13: (b1, grad_b1),
}


def gradient_claims(numbers: list[tuple[int, int]]) -> None:
    """The single-line gradients, in document order (3 with its correction)."""
    for number, eq in numbers:
        if eq == 3:
            d.derivative(str(number), L, W2, grad_W2_doc, erratum=W2_erratum)
            d.derivative(f"{number}-corrected", L, W2, grad_W2_fixed)
        else:
            wrt, claimed = GRADIENTS[eq]
            d.derivative(str(number), L, wrt, claimed)


gradient_claims([(k, k) for k in range(2, 9)])

# -- (9): dL/dmu, sigma^2 depending on mu -----------------------------------------------------
d.chain("9", D(L, mu), [
    bsum(D(hhat[i], mu, holding=[sigma2]).T * D(L, hhat[i]), i, 1, n)
    + D(sigma2, mu).T * D(L, sigma2),
    -bsum(hadamard(ediv(bcast(gamma, n1), root), delta2[i]), i, 1, n)
    + hadamard((gamma / 2) * bsum(hadamard(ediv(h1[i] - mu, root3), delta2[i]), i, 1, n),
               (sp.Integer(2) / n) * bsum(h1[i] - mu, i, 1, n)),
    -bsum(hadamard(ediv(bcast(gamma, n1), root), delta2[i]), i, 1, n),
    -hadamard(ediv(bcast(gamma, n1), root), bsum(delta2[i], i, 1, n)),
])

# -- (10) and (20): dL/dh_{1,i}, through hhat, mu and sigma^2 ---------------------------------
d.chain("10", D(L, h1[i]), [
    D(hhat[i], h1[i], holding=[mu, sigma2]).T * D(L, hhat[i])
    + D(mu, h1[i]).T * D(L, mu)
    + D(sigma2, h1[i], holding=[mu]).T * D(L, sigma2),
    hadamard(ediv(bcast(gamma, n1), root), delta2[i])
    - hadamard(ediv(bcast(gamma, n1), root), bsum(delta2[j2], j2, 1, n)) / n
    - hadamard((gamma / 2) * sum_cubic, (sp.Integer(2) / n) * (h1[i] - mu)),
    delta3_formula,
])
gradient_claims([(11, 11), (12, 12), (13, 13)])

# -- "In conclusion": (14)-(23) restate (2)-(7) and (10)-(13) with the same formulas ------
gradient_claims([(14, 2), (15, 3), (16, 4), (17, 5), (18, 6), (19, 7)])
d.derivative("20", L, h1[i], delta3_formula)
gradient_claims([(21, 11), (22, 12), (23, 13)])
