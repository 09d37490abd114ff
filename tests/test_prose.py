"""Prose that reads like mathematics: ``$…$`` math and a small Markdown subset, rendered
as LaTeX in the report, as HTML in a notebook and as plain text in the terminal; the
homework's docstrings, notes and errata use it, so no ASCII pseudo-math reaches the PDF."""

import os
import re
import shutil
import subprocess

import pytest

from symderive.latex.compile import find_engine
from symderive.latex.document import build
from symderive.latex.results import not_checked
from symderive.loader import load
from symderive.markup import block_latex, blocks, inline_html, inline_latex, plain

_EXEMPT = re.compile(r"(?<!\\)\$[^$]+?(?<!\\)\$|``.+?``|`[^`\n]+`", re.S)


def _prose(d):
    yield f"{d.name} docstring", d.doc
    for c in d.claims:
        for what in ("erratum", "note"):
            text = getattr(c, what)
            if text:
                yield f"{d.name}:{c.id} {what}", text


def test_homework_prose_has_no_pseudo_math_outside_math_and_code():
    derivations, errors = load()
    assert not errors and len(derivations) == 5  # the homework and matrix_calculus
    bad = []
    for d in derivations:
        for where, text in _prose(d):
            outside = _EXEMPT.sub(" ", text)
            for m in re.finditer(r"\S*[_^]\S*", outside):
                bad.append(f"{where}: {m.group(0)!r}")
            assert outside.count("$") == 0, f"{where}: an unbalanced $"
    assert not bad, "\n".join(bad)


def test_the_scan_catches_pseudo_math():
    text = "uses hhat_{1,i} where $\\hat h_{1,i}$ and `code_name` are fine; sigma^2 is not"
    assert re.findall(r"\S*[_^]\S*", _EXEMPT.sub(" ", text)) == ["hhat_{1,i}", "sigma^2"]


def test_inline_latex():
    tex = inline_latex("the *un-normalised* $h_{1,i}$, **not** `hhat` (costs 5$)")
    assert tex == (r"the \emph{un-normalised} $h_{1,i}$, \textbf{not} \texttt{hhat} "
                   r"(costs 5\$)")


def test_blocks_lists_and_math_across_lines():
    text = "Lead sentence:\n\n* one $a\n  - b$ more\n* two *x*\n- three\n\nLast."
    assert blocks(text) == [("p", ["Lead sentence:"]),
                            ("ul", ["one $a - b$ more", "two *x*", "three"]),
                            ("p", ["Last."])]
    tex = block_latex(text)
    assert "\\begin{itemize}\n\\item one $a - b$ more\n\\item two \\emph{x}\n" in tex


def test_plain_text_for_the_terminal():
    assert plain(r"uses $\hat{\mathbf{h}}_{1,i}$, not *this*") == "uses ĥ_{1,i}, not this"
    assert plain(r"$\frac{1}{n} \sum_i (x_i - \mu)^2 \le \sqrt{\sigma^2 + \epsilon}$") == \
        "1/n ∑_i (x_i - μ)^2 ≤ √(σ^2 + ε)"
    assert plain(r"$\partial L / \partial \mathbf{W}^{(2)} = \boldsymbol{\delta} h^T$") == \
        "∂L / ∂W^{(2)} = δhᵀ"


def test_html_leaves_math_to_mathjax_and_escapes_the_rest():
    assert inline_html("a < b and $x < y$ with `f&g`") == \
        "a &lt; b and $x &lt; y$ with <code>f&amp;g</code>"


def test_report_pdf_has_no_ascii_pseudo_math(tmp_path):
    """The acceptance check: pdftotext of the homework report."""
    if find_engine() is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have a TeX engine and poppler-utils (.ci/run installs them)")
        pytest.skip("needs a TeX engine and pdftotext")
    from symderive.latex.compile import compile_pdf

    ds, _ = load()
    results = [not_checked(c, "none") for d in ds for c in d.claims]
    path = tmp_path / "report.tex"
    path.write_text(build(ds, results), encoding="utf-8")
    pdf = compile_pdf(path).pdf
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for bad in ("_{", "hhat", "sigma^2"):
        assert bad not in text, bad
    assert not re.findall(r"\*[A-Za-z][\w-]*\*", text)
    # the rewritten prose is there, typeset
    assert "un-normalised" in text and "Errata found by the checker" in text
