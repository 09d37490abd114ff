"""EM for a mixture of multinomials (hw2.md §5, Problem 4) — first draft.

Work in progress: the exported names below are stable (the numeric EM engine reads them);
the claims are being refined.
"""

import sympy as sp

from symderive import COUNTS, SIMPLEX, Counts, Derivation

derivation = Derivation("em_multinomial", source="hw2.md §5, Problem 4",
                        title="EM for a mixture of multinomials", doc=__doc__)
d_ = derivation

D = d_.dim("D", sizes=(1, 2), numeric=3)
K = d_.dim("K", sizes=(2, 2), numeric=3)
W = d_.dim("W", sizes=(2, 3), numeric=3)
d = d_.index("d", D)
k = d_.index("k", K)
w = d_.index("w", W)
j = d_.index("j", K)

T = d_.tensor("T", (D, W), Counts(low=1))
pi = d_.tensor("pi", (K,), SIMPLEX, latex=r"\pi")
mu = d_.tensor("mu", (K, W), SIMPLEX, latex=r"\mu")
gamma = d_.tensor("gamma", (D, K), SIMPLEX, latex=r"\gamma")

n_d = sp.Sum(T[d, w], (w, 1, W))
COEF = sp.factorial(n_d) / sp.Product(sp.factorial(T[d, w]), (w, 1, W))

# (46) = (41) line 3
E_STEP = (pi[k] * sp.Product(mu[k, w] ** T[d, w], (w, 1, W))
          / sp.Sum(pi[j] * sp.Product(mu[j, w] ** T[d, w], (w, 1, W)), (j, 1, K)))
# (47) line 1, the inner bound k of the denominator renamed j
M_STEP_PI = sp.Sum(gamma[d, k], (d, 1, D)) / sp.Sum(sp.Sum(gamma[d, j], (j, 1, K)), (d, 1, D))
# (47) line 2
M_STEP_MU = (sp.Sum(gamma[d, k] * T[d, w], (d, 1, D))
             / sp.Sum(sp.Sum(gamma[d, k] * T[d, w], (w, 1, W)), (d, 1, D)))
# log of (40), right-hand side
LOG_LIKELIHOOD = sp.log(COEF * sp.Sum(pi[k] * sp.Product(mu[k, w] ** T[d, w], (w, 1, W)),
                                      (k, 1, K)))

JOINT = COEF * pi[k] * sp.Product(mu[k, w] ** T[d, w], (w, 1, W))
POSTERIOR = JOINT / sp.Sum(JOINT.xreplace({k: j}), (j, 1, K))
d_.equal("46", POSTERIOR, E_STEP)

Q = sp.Sum(sp.Sum(gamma[d, k] * (sp.log(pi[k]) + sp.Sum(T[d, w] * sp.log(mu[k, w]), (w, 1, W))),
                  (k, 1, K)), (d, 1, D))
d_.stationary("47.1", Q, [pi[k]], {pi[k]: M_STEP_PI}, constraints=[sp.Sum(pi[k], (k, 1, K)) - 1])
d_.stationary("47.2", Q, [mu[k, w]], {mu[k, w]: M_STEP_MU},
              constraints=[sp.Sum(mu[k, w], (w, 1, W)) - 1])

ENGINE_CLAIMS = ("46", "47.1", "47.2")
_ = COUNTS
