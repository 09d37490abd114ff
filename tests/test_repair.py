"""Repair hints ("did you mean"): each kind of edit is found, no hint for a claim that
holds, every hint is checked, and the homework's errata get the hints a referee gives."""

import json

import pytest
import sympy as sp

from symderive import POSITIVE, D, Derivation, interval
from symderive.cli import main
from symderive.latex.document import build
from symderive.loader import load
from symderive.repair import prefilter
from symderive.repair.run import Options
from symderive.repair.search import search
from symderive.report import format_repair, to_json
from symderive.runner import run_claims
from symderive.testing import repairs, variant, verdicts


def small() -> Derivation:
    d = Derivation("repair_small", source="test")
    n = d.dim("n", sizes=(2, 3), numeric=4)
    i = d.index("i", n)
    j = d.index("j", n)
    A = d.matrix("A", n, n)
    B = d.matrix("B", n, n)
    x = d.vector("x", n)
    y = d.vector("y", n)
    a, b = d.scalar("a"), d.scalar("b")
    v = d.tensor("v", (n,))
    M = d.tensor("M", (n, n))
    h = d.define("h", A * x, latex=r"\mathbf{h}")
    hhat = d.define("hhat", B * x, latex=r"\hat{\mathbf{h}}")
    # each claim below is one slip away from the truth on its left side
    d.equal("replace-def", B * x, h)                                   # h -> hhat
    d.equal("replace-symbol", D(a * b, a), a)                          # a -> b
    d.derivative("transpose", y.T * A * x, x, A * y)                   # A -> A^T
    d.equal("swap", A * B * x, B * A * x)                              # B A -> A B
    d.derivative("sign", a ** 2 - b, a, -2 * a)                        # sign
    d.derivative("drop", a ** 2, a, 2 * a + b)                         # drop b
    d.derivative("factor", a ** 2, a, a)                               # times 2
    d.derivative("exponent", a ** 3, a, 3 * a ** 3)                    # power 3 -> 2
    d.equal("indices", M[i, j], M[j, i])                               # M_ji -> M_ij
    d.equal("index-name", sp.Sum(v[j], (j, 1, n)), sp.Sum(v[n], (j, 1, n)))  # v_n -> v_j
    d.equal("holds", hhat, B * x)
    d.equal("hopeless", sp.exp(a), sp.sin(a) + b ** 5)
    return d


SMALL = small()
EXPECTED = {
    "replace-def": "h → ĥ",
    "replace-symbol": "a → b",
    "transpose": "A → Aᵀ",
    "swap": "B A x → A B x",
    "sign": "sign of",
    "drop": "term b dropped",
    "factor": "2 inserted",
    "exponent": "power of a: 3 → 2",
    "indices": "M_{j,i} → M_{i,j}",
    "index-name": "v_n → v_j",
}


@pytest.fixture(scope="module")
def small_results():
    return {r.id: r for r in run_claims(SMALL.claims, timeout=20, jobs=2,
                                        repair=Options(seconds=30))}


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_each_kind_of_edit_is_found(small_results, claim_id):
    r = small_results[claim_id]
    assert r.verdict == "refuted"
    assert r.repair, f"no hint for {claim_id}"
    best = r.repair[0]
    assert best.verdict in ("proved", "verified")
    assert len(best.edits) == 1
    assert EXPECTED[claim_id] in best.edits[0], best.edits


def test_no_hint_for_a_claim_that_holds(small_results):
    r = small_results["holds"]
    assert r.verdict == "proved"
    assert r.repair is None and r.repair_exhausted is False
    assert repairs(SMALL.claim("holds")) is None


def test_no_small_edit_is_said_plainly(small_results):
    r = small_results["hopeless"]
    assert r.verdict == "refuted"
    assert r.repair == [] and not r.repair_exhausted
    assert any("no small edit repairs this claim" in line for line in format_repair(r))


def test_every_hint_is_checked_even_when_the_screen_lets_everything_through(monkeypatch):
    """A false hint cannot appear: with a pre-filter that passes every candidate, the
    checker still rejects the wrong ones, and every hint left is a true formula."""
    monkeypatch.setattr(prefilter.Prefilter, "matches", lambda self, vals, sites=None: True)
    claim = SMALL.claim("factor")
    found = search(claim, budget=60)
    assert found.hints
    for h in found.hints:
        fixed = variant(claim, "check", rhs=h.expr)
        assert verdicts([fixed]) == {fixed.id: "proved"}, h.formula
    # and among the candidates it had to check, some were wrong and are not hints
    assert found.candidates > len(found.hints)


def test_budget_counts_candidates_and_reports_exhaustion():
    claim = SMALL.claim("hopeless")
    small_budget = search(claim, budget=3)
    assert small_budget.exhausted and small_budget.candidates == 3 and not small_budget.hints
    full = search(claim, budget=10_000)
    assert not full.exhausted and full.candidates > 3


def test_json_contract(small_results):
    results = list(small_results.values())
    doc = to_json([SMALL], results, 1.0)
    claims = {c["id"]: c for c in doc["derivations"][0]["claims"]}
    assert claims["holds"]["repair"] is None
    assert claims["hopeless"]["repair"] == [] and claims["hopeless"]["repair_exhausted"] is False
    hint = claims["replace-def"]["repair"][0]
    assert set(hint) == {"formula", "latex", "edits", "verdict"}
    assert hint["verdict"] in ("proved", "verified")
    assert r"\hat{\mathbf{h}}" in hint["latex"]
    json.dumps(doc)


def test_no_repair_means_null():
    (r,) = run_claims([SMALL.claim("factor")], timeout=20, jobs=1)
    assert r.verdict == "refuted" and r.repair is None
    assert r.to_json()["repair"] is None


# -- the homework ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def homework():
    derivations, errors = load(None)
    assert not errors
    return {d.name: d for d in derivations}


@pytest.mark.parametrize("name, claim_id", [("bn_backprop", "3"), ("bn_backprop", "15")])
def test_homework_h1_to_hhat(homework, name, claim_id):
    hints = repairs(homework[name].claim(claim_id))
    assert hints and hints[0].edits == ["h_{1,i} → ĥ_{1,i}"]
    assert hints[0].formula == "Σ δ_{1,i} ĥ_{1,i}ᵀ"


def test_homework_40_capital_k(homework):
    hints = repairs(homework["em_multinomial"].claim("40.1"))
    assert hints and hints[0].edits == ["π_K → π_k"]


def test_homework_33_two_edits_equal_to_the_corrected_line(homework):
    d = homework["logistic_mixture"]
    found = search(d.claim("33.3"))
    assert found.hints
    best = found.hints[0]
    assert len(best.edits) == 2 and best.verdict == "proved"
    assert any(e.startswith("power of y_{n,k}") for e in best.edits)
    assert "π_k inserted in the second term" in best.edits
    # the repaired line is the corrected one, on t_n in {0, 1}
    corrected = d.claim("33.3-corrected")
    same = variant(corrected, "vs-hint", lhs=corrected.rhs, rhs=best.expr)
    assert verdicts([same]) == {same.id: "proved"}


@pytest.mark.parametrize("claim_id, point, edit", [
    ("swap", "q/(p + q)", "q → p"),
    ("factor", "p/(p + 2*q)", "1/2 inserted in 2 q"),
])
def test_a_stationary_point_is_repaired(claim_id, point, edit):
    """The stationary screen substitutes the candidate point into the Lagrange conditions
    (no solve of the system); the checker then proves the hint."""
    d = Derivation("repair_stationary", source="test")
    x = d.scalar("x", interval(0, 1, closed=True))
    p, q = d.scalar("p", POSITIVE), d.scalar("q", POSITIVE)
    slip = d.stationary(claim_id, p * sp.log(x) + q * sp.log(1 - x), [x],
                        {x: sp.sympify(point, locals={"p": p, "q": q})}, maximum=True,
                        domain={x: interval(0, 1, closed=True)})
    hints = repairs(slip)
    assert hints is not None, "the slip was not refuted"
    assert [(h.formula, h.edits, h.verdict) for h in hints][:1] == \
        [("x = p/(p + q)", [edit], "proved")]


@pytest.mark.parametrize("name, claim_id", [("gan_discriminator", "max-ab"),
                                             ("em_multinomial", "42.3")])
def test_homework_no_small_edit(homework, name, claim_id):
    (r,) = run_claims([homework[name].claim(claim_id)], timeout=20, jobs=1,
                      repair=Options(seconds=30))
    assert r.verdict == "refuted"
    assert r.repair == [] and not r.repair_exhausted and not r.repair_capped
    assert "no small edit repairs this claim" in "\n".join(format_repair(r))


# -- command line and LaTeX --------------------------------------------------------------
SLIP = '''
from symderive import Derivation, D

derivation = Derivation("slip", source="test file")
a = derivation.scalar("a")
derivation.derivative("1", a ** 2, a, a, erratum="the factor 2 is lost")
derivation.derivative("2", a ** 2, a, 2 * a)
'''


def _check(tmp_path, capsys, *extra):
    (tmp_path / "slip.py").write_text(SLIP)
    code = main(["check", "--dir", str(tmp_path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_terminal_json_and_no_repair(tmp_path, capsys):
    code, out, _ = _check(tmp_path, capsys)
    assert code == 0
    line = next(x for x in out.splitlines() if "did you mean" in x)
    assert line.strip() == ("did you mean: 2 a   (2 inserted as a factor of the whole formula; "
                            "proved)")
    code, out, _ = _check(tmp_path, capsys, "--json")
    claims = json.loads(out)["derivations"][0]["claims"]
    assert claims[0]["repair"] == [{"formula": "2 a", "latex": "2 a",
                                    "edits": ["2 inserted as a factor of the whole formula"],
                                    "verdict": "proved"}]
    assert claims[0]["repair_exhausted"] is False
    assert claims[1]["repair"] is None
    code, out, _ = _check(tmp_path, capsys, "--json", "--no-repair")
    claims = json.loads(out)["derivations"][0]["claims"]
    assert claims[0]["verdict"] == "refuted" and claims[0]["repair"] is None
    code, out, _ = _check(tmp_path, capsys, "--json", "--repair-budget", "1")
    claims = json.loads(out)["derivations"][0]["claims"]
    assert claims[0]["repair"] == [] and claims[0]["repair_exhausted"] is True


def test_cli_rejects_a_bad_budget(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _check(tmp_path, capsys, "--repair-budget", "0")
    assert exc.value.code == 2
    assert "--repair-budget must be a whole number of candidates, at least 1, got 0" \
        in capsys.readouterr().err


def test_latex_shows_the_hint_beside_the_document(small_results):
    tex = build([SMALL], list(small_results.values()))
    block = tex[tex.index("replace-def"):]
    assert r"\textbf{As in the document}" in block
    assert r"\textbf{Did you mean}" in block
    assert r"\colorbox{yellow!40}{$\displaystyle \hat{\mathbf{h}}$}" in block
    assert "No small edit repairs this claim" in tex


def test_the_safety_cap_counts_cpu_seconds_not_a_busy_machine(monkeypatch):
    """A search that waits (as it would on a machine whose cores are taken) is not cut
    by the cap, which counts the search's own CPU seconds; one that computes past the
    cap is."""
    import time

    from symderive.repair.run import repair_many
    from symderive.repair.search import Search

    spend = Search._spend

    def waiting(self):
        time.sleep(0.05)  # wall time passes, the search's CPU time does not
        spend(self)

    claim = SMALL.claim("hopeless")
    monkeypatch.setattr(Search, "_spend", waiting)
    waited, = repair_many([claim], Options(budget=12, seconds=0.3), jobs=1)
    assert not waited.capped and waited.exhausted and waited.candidates == 12

    def computing(self):
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass
        spend(self)

    monkeypatch.setattr(Search, "_spend", computing)
    busy, = repair_many([claim], Options(budget=400, seconds=0.3), jobs=1)
    assert busy.capped and not busy.exhausted and busy.candidates < 12
