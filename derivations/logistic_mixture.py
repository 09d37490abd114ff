r"""A mixture of $K$ logistic models (HW2 §3, Problem 2): the $\pi$ update, gradient and Hessian.

Model, as the document states it: targets $t_n \in \{0, 1\}$, features
$\phi_n \in \mathbb{R}^M$, weights $w_k \in \mathbb{R}^M$, mixing proportions $\pi$ on the
simplex, and

* $y_{nk} = \sigma(w_k^T \phi_n)$ and $\rho_{nk} = y_{nk}^{t_n} (1 - y_{nk})^{1 - t_n}$;
* $L = \sum_n \log \sum_k \pi_k \rho_{nk}$ and
  $\gamma_{nk} = \pi_k \rho_{nk} / \sum_j \pi_j \rho_{nj}$.

Ground truths computed by the tool:

* (24) and (28): the log-likelihood and the posterior are written with the Bernoulli pmf
  in its other form, $p_{nk} = t_n y_{nk} + (1 - t_n)(1 - y_{nk})$ (equal to $\rho_{nk}$
  for binary $t_n$ only), so that the document's $y^t (1 - y)^{1-t}$ is checked, not
  assumed.
* (25)–(26): the Lagrangian is $L - \lambda (\sum_k \pi_k - 1)$; its gradient is computed.
* (27)–(31) hold only at a stationary point. Each is claimed at the solutions of the
  tool-computed conditions $\partial \tilde L / \partial \pi_k = 0$ ($k = 1, \dots, K$) and
  $\sum_k \pi_k = 1$ (the second and third lines of (25)). Here $\rho_{nk}$ is generalised
  to arbitrary positive numbers $\tilde\rho_{nk}$: the steps use nothing about $\rho$ but
  positivity, and a claim that holds for every positive $\rho$ holds for the logistic one;
  with $\rho$ built from sigmoids the conditions cannot be solved quickly. The conditions
  are solved for $\pi_K$, $\lambda$ and $\tilde\rho_{N,1}, \dots, \tilde\rho_{N,K-1}$, with
  the other $\pi_k$ drawn from the simplex: this parametrises the same set of stationary
  points as solving for $\pi$ (one rational solution instead of the roots of a polynomial
  of degree $N - 1$), and every $\pi$ it visits is a proper one.
* (32)–(36): every gradient and the Hessian $H_k = -\nabla_{w_k} \nabla_{w_k}^T L$ (the
  document's sign) are computed by differentiating the definitions, in index form:
  $\partial L / \partial w_{km}$ is entry $m$ of $\nabla_{w_k} L$, and (36) is entry
  $(m, m')$ of the $M \times M$ block.

Erratum found by the checker:

* Line 3 of (33) differentiates $y^{t_n}$ as $t_n y_{nk}$ (the exponent $t_n - 1$ is
  lost) and drops $\pi_k$ from the second term. The correct line, claim
  `33.3-corrected`, is
  $\pi_k t_n y^{t_n - 1} (1 - y)^{1 - t_n} \, \partial y / \partial w_k
  - \pi_k (1 - t_n)(1 - y)^{-t_n} y^{t_n} \, \partial y / \partial w_k$;
  it is proved, and lines 4 and 5 are right again. The checker's counterexample has
  $t_1 = 0$, $w = 0$ (so $y = 1/2$), $\phi_1 = (0, 1)$ and $\pi = (1/2, 1/2)$: the true
  entry $m = 2$ is $-\pi_k y (1 - y) \phi_{12} = -1/8$, the document's line gives $-1/4$,
  so the missing $\pi_k$ shows. At $t_n = 1$ the lost exponent shows instead: the line
  gives $\pi_k y_{nk} \, \partial y / \partial w$ where $\pi_k \, \partial y / \partial w$
  is right. (Each slip alone is refuted too; see the tests.)

Sizes (proofs at the first configuration, the others sampled at exact random points):

* (24)–(26): proved at $N = 2$, $K = 2$, $M = 2$; sampled also at $N = 1$, $K = 3$,
  $M = 1$ and at $N = 2$, $K = 3$, $M = 2$.
* (28) and (32)–(36): proved at $N = 1$, $K = 2$, $M = 2$, sampled at $N = 2$, $K = 3$,
  $M = 2$. Each is about one data point $n$, or, for (34) and (36), a sum over $n$ of one
  and the same per-point expression on both sides, so the per-point identity proved at
  $N = 1$ holds for every $n$ and $N$; sampling at $N = 2$ guards the indexing. (A proof
  of (36) at $N = 2$ takes SymPy about 20 s.)
* (27)–(31): proved at $N = 2$, $K = 2$, sampled at $N = 3$, $K = 2$.

Normalisations (typos that leave the mathematics unaffected):

* The "where" line of (24): $\pi = (\pi_{n1}, \dots, \pi_{nk})^T$ is read as
  $(\pi_1, \dots, \pi_K)^T$, and $\rho_n = (\rho_{n1}, \dots, \rho_{nk})^T$ as ending in
  $\rho_{nK}$.
* Line 1 of (33) and lines 2–3 of (34) use $k$ both as the free index of $w_k$ and as
  the summation index; the summation index is renamed $j$.
* (35): the stray "c" at the end of the left-hand side is dropped.
* (26), "= 0", and lines 2–3 of (25) are the stationarity conditions, not identities:
  they are the conditions that (27)–(31) are claimed under. The unnumbered restatement of
  $\gamma_{nk}$ after (31) is (28) again.
* A one-line display with several members, (30) and (32), gets one claim per member after
  the first (`30.1` to `30.4`); in (28) the first member is the definition of $\gamma$,
  and both others are checked against the posterior $\pi_k p_{nk} / \sum_j \pi_j p_{nj}$.
* $\pi^T \rho_n$, $\pi^T \mathbf{1}$ and $\pi^T \lambda \mathbf{1}$ are written as sums
  over $k$; a gradient with respect to $w_k$ is its entry $m$ (and (36) its entry
  $(m, m')$), as an index.
"""

import sympy as sp

from symderive import BINARY, POSITIVE, SIMPLEX, D, Derivation, log, sigmoid

derivation = Derivation(
    "logistic_mixture", source="hw2.md §3, Problem 2",
    title="Mixture of logistic models: the pi update, the gradient and the Hessian",
    doc=__doc__,
    proof_sizes=1)  # proofs at the first size of each claim; the others are sampled
d = derivation

# Default sizes, used by (24)-(26): proved at N = 2, K = 2, M = 2.
N = d.dim("N", sizes=(2, 1), numeric=2)
K = d.dim("K", sizes=(2, 3), numeric=3)
M = d.dim("M", sizes=(2, 1), numeric=2)
#: (28), (32)-(36): about one data point n, or sums of one per-point expression over n
ONE_POINT = [{N: 1, K: 2, M: 2}, {N: 2, K: 3, M: 2}]
#: the pi update, (27)-(31): no M
STATIONARY = [{N: 2, K: 2}, {N: 3, K: 2}]

n = d.index("n", N)
k = d.index("k", K)
j = d.index("j", K)
kk = d.index("kk", K - 1)
m = d.index("m", M)
m2 = d.index("m2", M)

w = d.tensor("w", (K, M))
phi = d.tensor("phi", (N, M), latex=r"\phi")
t = d.tensor("t", (N,), BINARY)
pi = d.tensor("pi", (K,), SIMPLEX, latex=r"\pi")
lam = d.scalar("lambda", latex=r"\lambda")


def sum_n(e):
    return sp.Sum(e, (n, 1, N))


def sum_j(e):
    return sp.Sum(e, (j, 1, K))


def bernoulli(yv, tv):
    """The document's form of the Bernoulli pmf, y^t (1 - y)^(1 - t)."""
    return yv ** tv * (1 - yv) ** (1 - tv)


# -- the model -----------------------------------------------------------------------------
y = d.define("y", sigmoid(sp.Sum(w[k, m] * phi[n, m], (m, 1, M))), params=(n, k))
rho = d.define("rho", bernoulli(y[n, k], t[n]), params=(n, k), latex=r"\rho")
gamma = d.define("gamma", pi[k] * rho[n, k] / sum_j(pi[j] * rho[n, j]), params=(n, k),
                 latex=r"\gamma")
# the truth: the Bernoulli pmf as t y + (1 - t)(1 - y), independent of the document's form
p = d.define("p", t[n] * y[n, k] + (1 - t[n]) * (1 - y[n, k]), params=(n, k))
L = d.define("L", sum_n(log(sum_j(pi[j] * p[n, j]))))
Lpi = d.define("Lpi", L - lam * (sum_j(pi[j]) - 1), latex=r"L(\pi;\lambda)")

piT_rho = sum_j(pi[j] * rho[n, j])                       # pi^T rho_n
piT_rho_explicit = sum_j(pi[j] * bernoulli(y[n, j], t[n]))

# -- (24)-(26): the log-likelihood and the Lagrangian ----------------------------------------
d.chain("24", L, [
    sum_n(log(piT_rho_explicit)),
    sum_n(log(piT_rho)),
])
d.equal("25.1", Lpi, sum_n(log(piT_rho)) - lam * (sum_j(pi[j]) - 1))
d.derivative("26", Lpi, pi[k], sum_n(rho[n, k] / piT_rho) - lam)

# -- (28): gamma is the posterior of component k -------------------------------------------
posterior = pi[k] * p[n, k] / sum_j(pi[j] * p[n, j])
d.chain("28", posterior, [
    pi[k] * rho[n, k] / piT_rho,
    pi[k] * bernoulli(y[n, k], t[n]) / piT_rho_explicit,
], sizes=ONE_POINT)

# -- (27)-(31): the pi update, at the stationary points, for any positive rho ---------------
rt = d.tensor("rhotilde", (N, K), POSITIVE, latex=r"\tilde\rho")
rt_dot = sum_j(pi[j] * rt[n, j])
Lt = d.define("Ltilde", sum_n(log(rt_dot)) - lam * (sum_j(pi[j]) - 1),
              latex=r"\tilde L(\pi;\lambda)")
gt = d.define("gammatilde", pi[k] * rt[n, k] / rt_dot, params=(n, k), latex=r"\tilde\gamma")
at_stationary = dict(given=[D(Lt, pi[k]), sum_j(pi[j]) - 1],
                     unknowns=[pi[K], lam, rt[N, kk]], sizes=STATIONARY)

d.equal("27", sum_n(rt[n, k] / rt_dot), lam, **at_stationary)
d.equal("29", pi[k], sum_n(gt[n, k]) / lam, **at_stationary)
d.chain("30", lam, [
    lam * sum_j(pi[j]),
    sum_j(pi[j] * lam),
    sum_n(sp.Mul(rt_dot, sp.Pow(rt_dot, -1, evaluate=False), evaluate=False)),
    N,
], **at_stationary)
d.equal("31", pi[k], sum_n(gt[n, k]) / N, **at_stationary)

# -- (32)-(34): the gradient -----------------------------------------------------------------
dot_km = sp.Sum(w[k, m2] * phi[n, m2], (m2, 1, M))       # w_k^T phi_n, m is taken
d.chain("32", D(y[n, k], w[k, m]), [
    D(sigmoid(dot_km), w[k, m]),
    y[n, k] * (1 - y[n, k]) * phi[n, m],
], sizes=ONE_POINT)

dy = D(y[n, k], w[k, m])
rho_nk = bernoulli(y[n, k], t[n])
d.chain("33", D(piT_rho_explicit, w[k, m]), [
    D(pi[k] * rho_nk, w[k, m]),
    pi[k] * t[n] * y[n, k] * (1 - y[n, k]) ** (1 - t[n]) * dy
    - (1 - t[n]) * (1 - y[n, k]) ** (-t[n]) * y[n, k] ** t[n] * dy,
    pi[k] * y[n, k] ** (t[n] - 1) / (1 - y[n, k]) ** t[n] * (t[n] - y[n, k])
    * D(sigmoid(dot_km), w[k, m]),
    pi[k] * rho_nk * (t[n] - y[n, k]) * phi[n, m],
], first=2, sizes=ONE_POINT, errata={
    3: r"$y^{t_n}$ is differentiated as $t_n y_{nk}$ instead of $t_n y_{nk}^{t_n - 1}$, "
       r"and the second term lacks the factor $\pi_k$"})
d.equal("33.3-corrected", D(piT_rho_explicit, w[k, m]),
        pi[k] * t[n] * y[n, k] ** (t[n] - 1) * (1 - y[n, k]) ** (1 - t[n]) * dy
        - pi[k] * (1 - t[n]) * (1 - y[n, k]) ** (-t[n]) * y[n, k] ** t[n] * dy,
        sizes=ONE_POINT)

d.chain("34", D(L, w[k, m]), [
    sum_n(D(log(piT_rho), w[k, m])),
    sum_n(D(log(piT_rho_explicit), w[k, m])),
    sum_n(pi[k] * rho_nk / piT_rho_explicit * (t[n] - y[n, k]) * phi[n, m]),
    sum_n(gamma[n, k] * (t[n] - y[n, k]) * phi[n, m]),
], sizes=ONE_POINT)

# -- (35)-(36): the Hessian block --------------------------------------------------------------
g_nk = gamma[n, k]
coef = (1 - g_nk) * g_nk * (t[n] - y[n, k]) ** 2 - g_nk * y[n, k] * (1 - y[n, k])
d_pirho = D(pi[k] * rho[n, k], w[k, m])
d.chain("35", D(g_nk * (t[n] - y[n, k]), w[k, m]), [
    D(g_nk, w[k, m]) * (t[n] - y[n, k]) - g_nk * D(y[n, k], w[k, m]),
    (d_pirho * piT_rho - d_pirho * pi[k] * rho[n, k]) / piT_rho ** 2 * (t[n] - y[n, k])
    - g_nk * y[n, k] * (1 - y[n, k]) * phi[n, m],
    (1 - g_nk) / piT_rho * d_pirho * (t[n] - y[n, k])
    - g_nk * y[n, k] * (1 - y[n, k]) * phi[n, m],
    (1 - g_nk) * g_nk * (t[n] - y[n, k]) ** 2 * phi[n, m]
    - g_nk * y[n, k] * (1 - y[n, k]) * phi[n, m],
    coef * phi[n, m],
], sizes=ONE_POINT)

d.chain("36", -D(D(L, w[k, m]), w[k, m2]), [
    -D(sum_n(g_nk * (t[n] - y[n, k]) * phi[n, m]), w[k, m2]),
    -sum_n(D(g_nk * (t[n] - y[n, k]), w[k, m]) * phi[n, m2]),
    -sum_n(coef * phi[n, m] * phi[n, m2]),
], sizes=ONE_POINT)
