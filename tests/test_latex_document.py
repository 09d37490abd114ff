"""The LaTeX report: every claim in it, summary and errata, and it compiles cleanly.

The compile tests need latexmk or pdflatex; CI installs one (see .ci/run), so there a
missing engine is a failure, elsewhere a skip.
"""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from latex_cases import long_derivation, results_for, scalar_derivation, vector_derivation

from symderive.latex.compile import CompileError, NoEngine, compile_pdf, find_engine, overfull_boxes
from symderive.latex.document import build
from symderive.latex.results import not_checked
from symderive.latex.text import escape, ident
from symderive.loader import load

TOLERANCE_PT = 1.0  # an overfull box narrower than this is invisible


def _derivations():
    return [vector_derivation(), scalar_derivation(), long_derivation()]


def _results(ds):
    mixed = {"6": "verified", "7": "undecided", "11": "error", "4": "verified"}
    return [r for d in ds for r in results_for(d, mixed)]


def _engine_or_skip() -> None:
    if find_engine() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have a TeX engine (.ci/run installs one)")
        pytest.skip("no TeX engine (latexmk or pdflatex) installed")


def _compile_clean(tex: str, path: Path) -> None:
    path.write_text(tex, encoding="utf-8")
    try:
        done = compile_pdf(path)
    except CompileError as exc:
        pytest.fail(f"{exc}\n{exc.excerpt}")
    assert done.pdf.exists() and done.pdf.stat().st_size > 1000
    wide = [(pt, where) for pt, where in done.overfull if pt > TOLERANCE_PT]
    assert not wide, wide
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, done.pdf.name])


def test_every_claim_appears_with_tag_label_and_verdict():
    ds = _derivations()
    tex = build(ds, _results(ds))
    for k, d in enumerate(ds):
        for j, c in enumerate(d.claims):
            assert tex.count(r"\label{claim:%d:%d}" % (k, j)) == 1, c.id
            tag = escape(c.equation or c.id)
            assert re.search(r"\\tag\{(\\textcolor\{refuted\}\{)?%s\}" % re.escape(tag), tex), c.id
            if c.id != (c.equation or c.id):
                assert r"claim \texttt{%s}" % escape(c.id) in tex
    assert tex.count(r"\section{") == len(ds)


def test_setup_lists_symbols_shapes_and_definitions():
    d = vector_derivation()
    tex = build([d], results_for(d))
    setup = tex[tex.index(r"\subsection*{Setup}"): tex.index(r"\subsection*{Claims}")]
    assert r"$\mathbf{W}_{1}$ & \texttt{W1} & $m \times m$" in setup
    assert r"$\mathbf{b}_{1}$ & \texttt{b1} & $m$-vector" in setup
    assert r"$\mathbf{x}_{i},\ i = 1, \dots, n$" in setup
    assert r"$\epsilon$ & \texttt{epsilon} & scalar & $(0, \infty)$" in setup
    assert r"\hat{\mathbf{h}}_{1,i} &= " in setup          # definitions by their names
    assert r"\boldsymbol{\sigma}^{2} &= " in setup
    assert r"\odot 2" in setup and r"\sum_{i=1}^{n}" in setup


def test_summary_counts_verdicts_and_lists_every_erratum():
    ds = _derivations()
    results = _results(ds)
    tex = build(ds, results)
    summary = tex[tex.index(r"\section*{Summary}"): tex.index(r"\subsection*{Errata}")]
    for verdict in ("proved", "verified", "refuted", "undecided", "error"):
        row = re.search(r"\\verdict\{%s\} & ([^\n]*)\\\\" % verdict, summary).group(1)
        total = int(re.search(r"\\textbf\{(\d+)\}", row).group(1))
        assert total == sum(r.verdict == verdict for r in results), verdict
    errata = tex[tex.index(r"\subsection*{Errata}"): tex.index(r"\section{")]
    refuted = [r for r in results if r.verdict == "refuted" or r.erratum]
    assert errata.count(r"\hyperref[claim:") >= len(refuted)
    for r in refuted:
        assert r"\texttt{%s}" % ident(r.id) in errata
    # free text is escaped: % # & $ _ { } ~ and a non-Latin character
    assert r"50\% of the terms \& the \#1 rule \textasciitilde{} \{x\_1\} \ensuremath{\geq} 0" \
        in tex


def test_refuted_claim_shows_counterexample_and_correction():
    d = scalar_derivation()
    tex = build([d], results_for(d))
    block = tex[tex.index(r"claim \texttt{8-swap}"):]
    assert r"\textbf{Counterexample.}" in tex and r"\textbf{Values:}" in block
    assert r"$-\frac{3}{4}$" in block and r"\times 10^{-30}" in block
    assert r"Entry & Left side & Right side" in block
    corrected = block[block.index(r"\textbf{Corrected}"):]
    assert r"\frac{b}{b + c_{2}}" in corrected   # the formula of claim (8), which holds
    assert r"\frac{c_{2}}{b + c_{2}}" in block[:block.index(r"\textbf{Corrected}")]


def test_evidence_method_sizes_and_points():
    d = scalar_derivation()
    tex = build([d], results_for(d))
    assert "Exact identity at sizes $(n, m) = (2, 1), (3, 2)$" in tex
    assert "Agrees at 8 random exact points at sizes $(n, m) = (2, 1), (3, 2), (4, 4)$" in tex
    assert "(50-digit arithmetic)" in tex


def test_report_compiles_without_overfull_boxes(tmp_path):
    _engine_or_skip()
    ds = _derivations()
    _compile_clean(build(ds, _results(ds)), tmp_path / "report.tex")


def test_packaged_derivations_print_and_compile(tmp_path):
    """Every packaged formula is printed, every claim is in the report, and it fits."""
    ds, _ = load()   # a file that does not load is the loader tests' business
    if not ds:
        pytest.skip("no packaged derivations yet")
    results = [not_checked(c, "none") for d in ds for c in d.claims]
    tex = build(ds, results)
    for k, d in enumerate(ds):
        for j, c in enumerate(d.claims):
            assert r"\label{claim:%d:%d}" % (k, j) in tex, (d.name, c.id)
    _engine_or_skip()
    _compile_clean(tex, tmp_path / "packaged.tex")


def test_compile_error_shows_the_relevant_log_lines(tmp_path):
    _engine_or_skip()
    path = tmp_path / "broken.tex"
    path.write_text("\\documentclass{article}\n\\begin{document}\n\\nosuchcommand\n"
                    "\\end{document}\n")
    with pytest.raises(CompileError) as info:
        compile_pdf(path)
    assert "Undefined control sequence" in info.value.excerpt
    assert "nosuchcommand" in info.value.excerpt
    assert not (tmp_path / "broken.pdf").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.tex"]


def test_no_engine_says_how_to_install_one(tmp_path, monkeypatch):
    monkeypatch.setattr("symderive.latex.compile.find_engine", lambda: None)
    path = tmp_path / "r.tex"
    path.write_text("x")
    with pytest.raises(NoEngine) as info:
        compile_pdf(path)
    text = str(info.value)
    assert "latexmk or pdflatex" in text and "apt-get install" in text


def test_overfull_boxes_are_read_from_the_log():
    log = ("Overfull \\hbox (12.5pt too wide) detected at line 40\n"
           "Overfull \\hbox (0.3pt too wide) in paragraph at lines 3--4\n")
    assert overfull_boxes(log) == [(12.5, "detected at line 40"),
                                   (0.3, "in paragraph at lines 3--4")]
