"""``symderive latex``: checking or reading results, writing atomically, compiling."""

from __future__ import annotations

import json
import os

import pytest

from symderive.cli import main
from symderive.latex.cli import write_atomic
from symderive.latex.compile import find_engine

TINY = '''\
import sympy as sp
from symderive import Derivation, POSITIVE

d = Derivation("tiny", source="test sheet", title="Tiny derivation")
a = d.scalar("a")
b = d.scalar("b", POSITIVE)
d.derivative("1", a * b**2, b, 2 * a * b)
d.derivative("1-wrong", a * b**2, b, a * b, erratum="factor 2 dropped")
d.equal("2", sp.log(a**2 + b), sp.log(b + a**2))
'''


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / "derivs"
    folder.mkdir()
    (folder / "tiny.py").write_text(TINY)
    return folder


def _json_results(tiny, capsys, *targets) -> str:
    assert main(["check", "--dir", str(tiny), "--json", *targets]) == 0
    return capsys.readouterr().out


def test_latex_checks_and_writes_the_report(tiny, tmp_path, capsys):
    out = tmp_path / "report.tex"
    assert main(["latex", "--dir", str(tiny), "-o", str(out)]) == 0
    tex = out.read_text()
    assert r"\tag{1}" in tex and r"\tag{2}" in tex and r"claim \texttt{1-wrong}" in tex
    assert r"\verdict{refuted}" in tex and "factor 2 dropped" in tex
    assert r"\textbf{Corrected}" in tex
    assert sorted(p.name for p in tmp_path.iterdir()) == ["derivs", "report.tex"]
    assert "wrote" in capsys.readouterr().out


def test_latex_from_check_json_does_not_recheck(tiny, tmp_path, capsys, monkeypatch):
    results = tmp_path / "results.json"
    results.write_text(_json_results(tiny, capsys))

    def no_checking(*args, **kw):
        raise AssertionError("with --results nothing is checked again")

    monkeypatch.setattr("symderive.latex.results.run_claims", no_checking)
    out = tmp_path / "r.tex"
    assert main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out)]) == 0
    tex = out.read_text()
    assert "Agrees at" in tex and "random exact points" in tex   # read back from the JSON
    assert r"\textbf{Counterexample.}" in tex


def test_claims_missing_from_the_results_are_reported_not_checked(tiny, tmp_path, capsys):
    results = tmp_path / "part.json"
    results.write_text(_json_results(tiny, capsys, "tiny:1"))
    out = tmp_path / "r.tex"
    assert main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out)]) == 0
    tex = out.read_text()
    assert "not checked" in tex and tex.count(r"\verdict{undecided}") >= 2


def test_unreadable_results_file_is_a_usage_error(tiny, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = tmp_path / "r.tex"
    assert main(["latex", "--dir", str(tiny), "--results", str(bad), "-o", str(out)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert not out.exists()


def test_failed_build_leaves_the_previous_file_untouched(tiny, tmp_path, monkeypatch):
    out = tmp_path / "r.tex"
    out.write_text("previous report")

    def broken(*args, **kw):
        raise RuntimeError("boom")

    empty = tmp_path / "empty.json"
    empty.write_text('{"derivations": []}')
    monkeypatch.setattr("symderive.latex.document.build", broken)
    with pytest.raises(RuntimeError):
        main(["latex", "--dir", str(tiny), "-o", str(out), "--results", str(empty)])
    assert out.read_text() == "previous report"


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    out = tmp_path / "r.tex"
    out.write_text("previous report")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr("symderive.atomic.os.replace", fail)
    with pytest.raises(OSError):
        write_atomic(out, "new report")
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.tex"]


def test_pdf_without_a_tex_engine_says_how_to_install_one(tiny, tmp_path, capsys, monkeypatch):
    results = tmp_path / "results.json"
    results.write_text(_json_results(tiny, capsys))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "r.tex"
    code = main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out),
                 "--pdf"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no TeX engine found" in err and "apt-get install" in err
    assert out.exists() and not out.with_suffix(".pdf").exists()


def test_pdf_is_written_beside_the_tex(tiny, tmp_path, capsys):
    if find_engine() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have a TeX engine (.ci/run installs one)")
        pytest.skip("no TeX engine installed")
    results = tmp_path / "results.json"
    results.write_text(_json_results(tiny, capsys))
    out = tmp_path / "sub" / "r.tex"
    out.parent.mkdir()
    assert main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out),
                 "--pdf"]) == 0
    assert out.with_suffix(".pdf").stat().st_size > 1000
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.pdf", "r.tex"]
    assert "overfull" not in capsys.readouterr().err


def test_usage_errors(tiny, tmp_path, capsys):
    assert main(["latex", "--dir", str(tiny), "nosuch", "-o", str(tmp_path / "r.tex")]) == 2
    assert "unknown derivation" in capsys.readouterr().err
    assert main(["latex", "--dir", str(tiny), "-o", str(tmp_path / "r.pdf")]) == 2
    assert ".tex" in capsys.readouterr().err


def test_evidence_is_read_from_the_evidence_object_not_the_message(tiny, tmp_path, capsys):
    """The report states what the ``evidence`` object says, whatever the message says."""
    doc = json.loads(_json_results(tiny, capsys, "tiny:2"))
    claim = doc["derivations"][0]["claims"][0]
    assert claim["verdict"] == "proved" and claim["evidence"]["scope"] == "all sizes"
    claim["message"] = "identity holds exactly at n=99; also agrees at 1234 random points"
    claim["evidence"]["sampled"]["points"] = 7
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc))
    out = tmp_path / "r.tex"
    assert main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out),
                 "tiny:2"]) == 0
    tex = out.read_text()
    assert "Agrees at 7 random exact points" in tex and "(50-digit arithmetic)" in tex
    assert "1234" not in tex and "99" not in tex


def test_a_verdict_symderive_does_not_know_is_a_usage_error(tiny, tmp_path, capsys):
    doc = json.loads(_json_results(tiny, capsys, "tiny:2"))
    doc["derivations"][0]["claims"][0]["verdict"] = "probably"
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc))
    out = tmp_path / "r.tex"
    assert main(["latex", "--dir", str(tiny), "--results", str(results), "-o", str(out),
                 "tiny:2"]) == 2
    assert "'probably'" in capsys.readouterr().err and not out.exists()
