"""Jupyter: ``Derivation.check()`` returns a ``Report``; HTML and LaTeX displays; the
quickstart notebook runs from the installed package and shows what it says it shows."""

import os
import shutil
from pathlib import Path

import pytest
import sympy as sp

from symderive import POSITIVE, Derivation
from symderive.checked import CheckedClaim, Report

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


@pytest.fixture(scope="module")
def derivation():
    d = Derivation("nb", source="notes", doc="About $\\hat h_{1,i}$ and *emphasis*.")
    x = d.scalar("x", POSITIVE)
    d.derivative("1", x ** 3, x, 3 * x ** 2)
    d.derivative("2", sp.exp(2 * x), x, sp.exp(x))
    d.derivative("3", sp.exp(2 * x), x, sp.exp(2 * x), erratum="drops the factor $2$")
    return d


@pytest.fixture(scope="module")
def report(derivation, tmp_path_factory):
    os.environ.setdefault("SYMDERIVE_CACHE", str(tmp_path_factory.mktemp("cache")))
    return derivation.check(timeout=10)


def test_check_returns_a_report(report):
    assert isinstance(report, Report) and len(report) == 3
    assert [r.verdict for r in report] == ["proved", "refuted", "refuted"]
    assert isinstance(report["2"], CheckedClaim) and report["nb:2"] is report["2"]
    assert report["2"].counterexample["values"] == {"x": "1"}
    assert not report.ok
    assert repr(report) == "<Report of nb: 1 proved, 2 refuted>"
    assert "erratum: drops the factor 2" in str(report)  # plain text in the terminal


def test_check_some_claims_only(derivation):
    assert [r.id for r in derivation.check("1", timeout=10)] == ["1"]
    with pytest.raises(KeyError):
        derivation.check("99")


def test_report_html_has_formula_verdict_evidence_counterexample(report):
    html = report._repr_html_()
    for head in ("id", "formula", "verdict", "evidence", "counterexample", "repair"):
        assert f"<th>{head}</th>" in html
    assert r"$\frac{\partial}{\partial x} \left(e^{2 x}\right) = e^{x}$" in html
    assert '<b style="color: #1B7F3B">proved</b>' in html
    assert '<b style="color: #B3261E">refuted</b> <small>(known erratum)</small>' in html
    assert "values: x=1" in html and "symbolic" in html
    assert "<i>erratum:</i> drops the factor $2$" in html


def test_claim_result_html_and_latex(report):
    html = report["2"]._repr_html_()
    assert html.count("<tr>") == 2 and "values: x=1" in html
    tex = report["2"]._repr_latex_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$")
    assert r"= e^{x} &\quad \text{(2) refuted}" in tex


def test_derivation_displays(derivation):
    assert repr(derivation) == "<Derivation nb: 3 claims>"
    html = derivation._repr_html_()
    assert "<p>About $\\hat h_{1,i}$ and <em>emphasis</em>.</p>" in html
    assert "<td>derivative</td>" in html and "3 claims" in html
    assert derivation._repr_latex_().count(r"\\") == 2


def test_html_escapes_and_uses_mathjax_macros():
    from symderive.notebook import results_html

    d = Derivation("esc")
    v = d.vector("v", 2, latex=r"\bm{v}")  # a package macro MathJax does not know
    d.equal("a<b", v, v)
    r = CheckedClaim("esc", "a<b", None, "proved", None, "m&m", 0.0, None, None,
                     claim=d.claims[0])
    html = results_html([r])
    assert "<code>a&lt;b</code>" in html and "m&amp;m" in html
    assert r"\bm{" not in html and r"\boldsymbol{v}" in html


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # run it from an empty folder: only the installed package may be used
    shutil.copy(NOTEBOOK, tmp_path / "quickstart.ipynb")
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "cache"))
    nb = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert not [o for cell in outs for o in cell if o.output_type == "error"]
    derivation, report, claim, values, text = outs
    assert "<h4>quickstart</h4>" in derivation[0]["data"]["text/html"]
    html = report[0]["data"]["text/html"]
    assert html.count('<b style="color: #1B7F3B">proved</b>') == 3
    assert html.count('<b style="color: #B3261E">refuted</b>') == 1
    assert report[0]["data"]["text/plain"] == "<Report of quickstart: 3 proved, 1 refuted>"
    assert "values: x=1" in claim[0]["data"]["text/html"]
    assert values[0]["text"] == "refuted {'x': '1'}\n"
    assert values[1]["data"]["text/plain"] == "False"
    assert "3  refuted" in text[0]["text"] and "3 proved, 0 verified, 1 refuted" in text[0]["text"]


def test_a_repair_hint_is_shown_once_the_checker_offers_one():
    from symderive.checked import repair_hint
    from symderive.notebook import results_html

    d = Derivation("rep")
    x = d.scalar("x")
    d.equal("1", 2 * x, x)
    plain = CheckedClaim("rep", "1", None, "refuted", None, "m", 0.0, {"values": {"x": "1"}},
                         None, claim=d.claims[0])
    assert repair_hint(plain) is None and "<td></td></tr>" in results_html([plain])
    fixed = CheckedClaim("rep", "1", None, "refuted", None, "m", 0.0, {"values": {"x": "1"}},
                         None, evidence={"repair": "rhs 2*x"}, claim=d.claims[0])
    assert repair_hint(fixed) == "rhs 2*x" and "<td>rhs 2*x</td>" in results_html([fixed])
