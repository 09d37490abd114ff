"""Small derivations and made-up check results for the LaTeX report tests.

They cover the notation the report must print (bold vectors, hats, Greek letters, ⊙,
batch sums, derivatives with held quantities, chains, stationary claims, index
notation) without depending on the packaged derivations or on a slow check run.
"""

from __future__ import annotations

import sympy as sp

from symderive import (
    POSITIVE,
    SIMPLEX,
    Counts,
    D,
    Derivation,
    batch_mean,
    batch_var,
    bcast,
    bsum,
    comp,
    ediv,
    exp,
    hadamard,
    interval,
    log,
    ones,
    relu,
    sigmoid,
    softmax,
    sqrt,
)
from symderive.check import Evidence
from symderive.runner import ClaimResult


def vector_derivation() -> Derivation:
    """Batch-normalisation notation, as in the homework's backpropagation problem."""
    d = Derivation("vec", source="notes §2 & problem #1", title="Vector notation")
    n = d.dim("n")
    m = d.dim("m", sizes=(1, 2))
    i = d.index("i", n)
    k = d.index("k", m)
    x = d.batch("x", m, n)
    y = d.batch("y", m, n)
    W1 = d.matrix("W1", m, m)
    b1 = d.vector("b1", m)
    gamma = d.scalar("gamma")
    beta = d.scalar("beta")
    eps = d.scalar("epsilon", POSITIVE)
    z1 = d.define("z1", W1 * x[i] + b1, params=(i,))
    h1 = d.define("h1", relu(z1[i]), params=(i,))
    mu = d.define("mu", batch_mean(h1[i], i, n))
    s2 = d.define("sigma2", batch_var(h1[i], mu, i, n))
    hh = d.define("h1hat", gamma * ediv(h1[i] - mu, sqrt(s2 + bcast(eps, m)))
                  + bcast(beta, m), params=(i,))
    yhat = d.define("yhat", softmax(hh[i]), params=(i,))
    L = d.define("L", -bsum(y[i].T * log(yhat[i]), i, 1, n) / n)
    delta = d.define("delta1", (yhat[i] - y[i]) / n, params=(i,))
    d.derivative("6", L, gamma,
                 bsum(ediv(h1[i] - mu, sqrt(s2 + bcast(eps, m))).T * delta[i], i, 1, n))
    d.derivative("7", L, beta, bsum(ones(m).T * delta[i], i, 1, n))
    d.derivative("7-sign", L, beta, -bsum(ones(m).T * delta[i], i, 1, n),
                 erratum="sign flipped: 50% of the terms & the #1 rule ~ {x_1} ≥ 0")
    d.derivative("15", L, W1, bsum(hadamard(delta[i], exp(z1[i])) * x[i].T, i, 1, n))
    d.chain("9", D(L, mu, holding=[s2]), [
        bsum(ediv(-gamma * delta[i], sqrt(s2 + bcast(eps, m))), i, 1, n),
        -gamma * ediv(bsum(delta[i], i, 1, n), sqrt(s2 + bcast(eps, m))),
    ], errata={2: "drops a term"})
    d.derivative("11", L, comp(z1[i], k), comp(hadamard(relu(z1[i]), delta[i]), k))
    return d


def scalar_derivation() -> Derivation:
    """Scalar and index-notation formulas, the kind SymPy's LaTeX parser can read back."""
    d = Derivation("scal", source="notes §3", title="Scalar formulas")
    K = d.dim("K")
    k = d.index("k", K)
    a = d.scalar("a")
    b = d.scalar("b", POSITIVE)
    x = d.scalar("x", interval(0, 1))
    lam = d.scalar("lambda")
    c2 = d.scalar("c2", POSITIVE)
    T = d.tensor("T", (K,), Counts(low=1))
    pi = d.tensor("pi", (K,), SIMPLEX)
    f = a * x**2 + sp.exp(b * x)
    d.derivative("1", f, x, 2 * a * x + b * sp.exp(b * x))
    d.equal("2", sp.log(b * c2), sp.log(b) + sp.log(c2))
    d.equal("3", sigmoid(b * x), 1 / (1 + sp.exp(-b * x)))
    d.equal("4", sp.Sum(T[k] * sp.log(pi[k]), (k, 1, K)),
            sp.Sum(T[k] * sp.log(pi[k]), (k, 1, K)))
    d.equal("5", sp.sqrt(b**2 + c2) / (a**2 + 1), (b**2 + c2) ** sp.Rational(1, 2) / (1 + a**2))
    d.equal("6", lam * sp.Sum(pi[k], (k, 1, K)), lam)
    d.equal("7", lam, b * c2, given=[lam - b * c2], unknowns=[lam])
    d.stationary("8", b * sp.log(x) + c2 * sp.log(1 - x), [x], {x: b / (b + c2)})
    d.stationary("8-swap", b * sp.log(x) + c2 * sp.log(1 - x), [x], {x: c2 / (b + c2)},
                 erratum="planted swap")
    d.stationary("10", sp.Sum(T[k] * sp.log(pi[k]), (k, 1, K)), [pi[k]],
                 {pi[k]: T[k] / sp.Sum(T[k], (k, 1, K))},
                 constraints=[sp.Sum(pi[k], (k, 1, K)) - 1])
    return d


def long_derivation() -> Derivation:
    """Formulas far wider than a page: long sums, long products, a long fraction, a long
    chain head, long names and ids."""
    d = Derivation("long_formulas", source="stress test", title="Long formulas")
    n = d.dim("n")
    m = d.dim("m")
    i = d.index("i", n)
    a = [d.scalar(f"alpha{j}") for j in range(1, 25)]
    v = [d.vector(f"v{j}", m) for j in range(1, 9)]
    x = d.batch("x", m, n)
    s = sum(a[j] * sp.exp(a[j + 1]) * sp.log(1 + a[j + 2] ** 2) for j in range(0, 18, 2))
    d.equal("20", s, s)
    d.equal("21", sp.Mul(*a[:20]), sp.Mul(*a[:20]))
    d.equal("22", sum(a[:16]) / (a[20] + 1), sum(a[:16]) / (a[20] + 1))
    big = bsum(sum((a[j] * hadamard(v[j], x[i]) for j in range(8)), sp.ZeroMatrix(m, 1)),
               i, 1, n)
    d.equal("23", big, big)
    d.chain("24", s, [s, s + a[0] - a[0], s], errata={3: "planted"})
    d.equal("25-a-very-long-claim-identifier-that-must-wrap", a[0], a[0])
    return d


def result(d: Derivation, claim_id: str, verdict: str, **kw) -> ClaimResult:
    """A made-up result for one claim, with evidence like the checker's."""
    c = d.claim(claim_id)
    sizes = [{"n": 2, "m": 1}, {"n": 3, "m": 2}, {"n": 4, "m": 4}]
    method = {"proved": "symbolic", "verified": "sampling", "refuted": "exact point",
              "undecided": "timeout", "error": "build"}[verdict]
    sampled = verdict in ("proved", "verified")
    evidence = Evidence(method, proved_sizes=sizes[:2] if verdict == "proved" else [],
                        sampled_sizes=sizes if sampled else [], points=8 if sampled else 0,
                        seed=1234 if sampled else None).to_json()
    out = dict(derivation=d.name, id=c.id, equation=c.equation, verdict=verdict,
               expected=c.expected, method={"proved": "symbolic",
                                            "verified": "sampling: 8 points, 50 digits",
                                            "refuted": "exact point, 50 digits",
                                            "undecided": "timeout",
                                            "error": "build"}[verdict],
               seconds=0.5, counterexample=None, message=None, erratum=c.erratum,
               evidence=evidence)
    if verdict == "refuted":
        out["counterexample"] = counterexample()
        out["message"] = "2 of 4 entries differ at n=2, m=2"
    if verdict == "undecided":
        out["message"] = "time budget of 5 s ran out"
    if verdict == "error":
        out["message"] = "TypeError: can't add {x} & $y$ (vec.py:12)"
    out.update(kw)
    return ClaimResult(**out)


def counterexample() -> dict:
    """A counterexample with many values, a 50-digit number and odd entry labels."""
    values = {f"x[{r},{c}]": str(r - c) for r in range(1, 5) for c in range(1, 5)}
    values.update({"W1[1,2]": "-3/4", "gamma": "0.333333333333333333333333333333333333333333333333",
                   "epsilon": "2", "b1[2]": "1e-30", "weird name!": "nan%"})
    return {"sizes": {"n": 2, "m": 2}, "indices": {"i": 2}, "values": values,
            "lhs": "-0.25", "rhs": "0.25",
            "entries": [{"entry": "i=2 [1]", "lhs": "-0.25", "rhs": "0.25"},
                        {"entry": "i=2 [2]", "lhs": "0.25", "rhs": "-0.25"}],
            "differing": 2, "total": 4}


def results_for(d: Derivation, verdicts: dict[str, str] | None = None) -> list[ClaimResult]:
    """Results for every claim: errata refuted, the rest as ``verdicts`` says (default
    proved)."""
    verdicts = verdicts or {}
    out = []
    for c in d.claims:
        v = verdicts.get(c.id, "refuted" if c.erratum else "proved")
        out.append(result(d, c.id, v))
    return out
