"""Tests of the mixture-of-logistic-models derivation (hw2.md §3, Problem 2).

Every claim's verdict is pinned; every claim that holds must refute planted mistakes (the
generic mutants, and slips typical of this proof); the erratum's counterexample shows
what the module docstring says it shows.
"""

from __future__ import annotations

import pytest
import sympy as sp
from symderive.derivations import logistic_mixture as lm

from symderive import D
from symderive.report import passes
from symderive.testing import exact, mutants, results, variant

TIMEOUT = 60  # generous: the pinned verdicts must not depend on the machine's load

HOLDS = ["24.1", "24.2", "25.1", "26", "28.1", "28.2", "27", "29", "30.1", "30.2", "30.3",
         "30.4", "31", "32.1", "32.2", "33.2", "33.4", "33.5", "33.3-corrected", "34.1",
         "34.2", "34.3", "34.4", "35.1", "35.2", "35.3", "35.4", "35.5", "36.1", "36.2",
         "36.3"]
ERRATA = ["33.3"]

n, k, m, N = lm.n, lm.k, lm.m, lm.N
t, y, pi, phi, gamma = lm.t, lm.y, lm.pi, lm.phi, lm.gamma


def _claim(cid):
    return lm.derivation.claim(cid)


def _planted() -> list:
    """Slips a reader of this proof might make, as detached claims."""
    dy = D(y[n, k], lm.w[k, m])
    one_fix = {  # each of the two mistakes of (33) line 3 on its own is still a mistake
        "pi-only": pi[k] * t[n] * y[n, k] * (1 - y[n, k]) ** (1 - t[n]) * dy
        - pi[k] * (1 - t[n]) * (1 - y[n, k]) ** (-t[n]) * y[n, k] ** t[n] * dy,
        "exponent-only": pi[k] * t[n] * y[n, k] ** (t[n] - 1) * (1 - y[n, k]) ** (1 - t[n]) * dy
        - (1 - t[n]) * (1 - y[n, k]) ** (-t[n]) * y[n, k] ** t[n] * dy,
    }
    out = [variant(_claim("33.3"), name, rhs=rhs) for name, rhs in one_fix.items()]
    resid = t[n] - y[n, k]
    # the quotient rule's second term forgotten: d gamma = gamma (t - y) phi
    out.append(variant(_claim("35.4"), "no-quotient",
                       rhs=gamma[n, k] * resid ** 2 * phi[n, m]
                       - gamma[n, k] * y[n, k] * (1 - y[n, k]) * phi[n, m]))
    # the responsibilities dropped: the gradient of a single logistic model
    out.append(variant(_claim("34.4"), "no-gamma",
                       rhs=lm.sum_n(resid * phi[n, m])))
    # the pi update without its normaliser
    out.append(variant(_claim("31"), "no-N", rhs=lm.sum_n(lm.gt[n, k])))
    return out


@pytest.fixture(scope="module")
def report():
    return results(lm.derivation, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def planted():
    claims = [p for c in lm.derivation.claims if not c.erratum
              for p in mutants(c, kinds=("sign", "factor"))]
    return results(claims + _planted(), timeout=TIMEOUT)


def test_every_claim_is_listed():
    assert sorted(c.id for c in lm.derivation.claims) == sorted(HOLDS + ERRATA)


def test_every_numbered_equation_has_claims():
    """(24)-(36): one claim per displayed line (per member of a one-line chain)."""
    numbers = {c.equation.split(".")[0] for c in lm.derivation.claims}
    assert numbers == {str(e) for e in range(24, 37)}
    assert [c.id for c in lm.derivation.claims if c.id.startswith("33.")][:4] == \
        ["33.2", "33.3", "33.4", "33.5"]  # line 1 of (33) is the left-hand side


#: solved from the stationarity conditions (given), so exact at fixed sizes only
AT_STATIONARY = {"27", "29", "30.1", "30.2", "30.3", "30.4", "31"}


@pytest.mark.parametrize("cid", HOLDS)
def test_claim_is_proved(report, cid):
    r = report[cid]
    assert exact(r), (cid, r.verdict, r.message)
    if cid not in AT_STATIONARY:  # index notation: proved for every size
        assert r.verdict == "proved" and r.evidence["scope"] == "all sizes", r.message
    assert passes(r)


def test_pi_update_is_claimed_at_stationary_points_only():
    for cid in ["27", "29", "30.1", "30.2", "30.3", "30.4", "31"]:
        c = _claim(cid)
        assert c.given and c.unknowns, cid
    assert not _claim("26").given  # the gradient itself holds everywhere


def test_erratum_33_3(report):
    r = report["33.3"]
    assert r.verdict == "refuted" and r.expected == "refuted" and passes(r)
    assert "pi_k" in r.erratum and "t_n - 1" in r.erratum


def test_erratum_33_3_counterexample_shows_the_slip(report):
    """At t = 0 the document's line lacks pi_k (lhs = pi_k * rhs); at t = 1 its exponent is
    lost (rhs = y * lhs)."""
    cx = report["33.3"].counterexample
    vals = {key: sp.Rational(v) for key, v in cx["values"].items()}
    assert cx["entries"]
    for e in cx["entries"]:
        idx = dict(part.split("=") for part in e["entry"].replace(" ", "").split(","))
        kk, nn = idx["k"], idx["n"]
        lhs, rhs = float(e["lhs"]), float(e["rhs"])
        if vals[f"t[{nn}]"] == 0:
            assert lhs == pytest.approx(float(vals[f"pi[{kk}]"]) * rhs)
        else:
            dot = sum(vals[f"w[{kk},{j}]"] * vals[f"phi[{nn},{j}]"]
                      for j in range(1, cx["sizes"]["M"] + 1))
            assert rhs == pytest.approx(float(1 / (1 + sp.exp(-dot))) * lhs)


@pytest.mark.parametrize("cid", HOLDS)
def test_planted_mistakes_refuted(planted, cid):
    mine = {key: r.verdict for key, r in planted.items() if key.split("~")[0] == cid}
    assert mine, f"no planted mistake for {cid}"
    assert "refuted" in mine.values(), mine


@pytest.mark.parametrize("pid", ["33.3~pi-only", "33.3~exponent-only", "35.4~no-quotient",
                                 "34.4~no-gamma", "31~no-N"])
def test_typical_slips_refuted(planted, pid):
    assert planted[pid].verdict == "refuted", planted[pid].message


def test_each_slip_of_33_3_needs_its_own_target(planted):
    """The lost exponent shows at t = 1 only, the missing pi_k at t = 0 only."""
    assert planted["33.3~pi-only"].counterexample["values"]["t[1]"] == "1"
    assert planted["33.3~exponent-only"].counterexample["values"]["t[1]"] == "0"
