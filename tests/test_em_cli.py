"""``symderive em``: exit codes, JSON fields, bad input, plots."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

from symderive.cli import main

WORDS_A = "apple banana cherry grape lemon mango".split()
WORDS_B = "engine motor wheel brake clutch piston".split()


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    """Two labelled folders of short documents with disjoint vocabularies."""
    root = tmp_path / "corpus"
    for label, words in (("fruit", WORDS_A), ("cars", WORDS_B)):
        (root / label).mkdir(parents=True)
        for i in range(6):
            text = " ".join(words[(i + n) % len(words)] for n in range(12))
            (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


def run(args, capsys):
    code = main(["em", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_on_a_tiny_corpus(tiny_corpus, capsys):
    code, out, err = run(["--k", "2", "3", "--corpus", str(tiny_corpus), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["corpus"]["documents"] == 12 and doc["stop"] == "pi-norm"
    assert doc["formulas"]["derivation"] == "em_multinomial"
    assert set(doc["formulas"]["verdicts"].values()) <= {"proved", "verified"}
    assert [r["K"] for r in doc["runs"]] == [2, 3]
    run2 = doc["runs"][0]
    for key in ("iterations", "converged", "log_likelihood", "log_likelihood_per_iteration",
                "log_likelihood_per_document", "nmi", "seconds", "topics"):
        assert key in run2
    assert len(run2["log_likelihood_per_iteration"]) == run2["iterations"]
    assert run2["nmi"] == pytest.approx(1.0)  # the two folders are the two topics
    pis = [t["pi"] for t in run2["topics"]]
    assert pis == sorted(pis, reverse=True) and sum(pis) == pytest.approx(1.0)
    assert all(len(t["top_words"]) == 5 for t in run2["topics"])
    assert {w for t in run2["topics"] for w in t["top_words"]} <= set(WORDS_A + WORDS_B)


def test_json_to_a_file(tiny_corpus, tmp_path, capsys):
    target = tmp_path / "t1.json"
    code, out, _ = run(["--k", "2", "--corpus", str(tiny_corpus), "--json", str(target)],
                       capsys)
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["runs"][0]["K"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "t1.json"]


def test_text_table(tiny_corpus, capsys):
    code, out, _ = run(["--k", "2", "--corpus", f"dir:{tiny_corpus}", "--top", "3"], capsys)
    assert code == 0
    assert "Table 1" in out and "t_1 (" in out and "t_2 (" in out
    assert "NMI" in out and "log-likelihood" in out and "total time" in out


def test_usage_errors_exit_2(capsys, tmp_path):
    for args in (["--k", "0"], ["--k", "x"], ["--tol", "-1"], ["--stop", "never"]):
        with pytest.raises(SystemExit) as exc:
            main(["em", *args])
        assert exc.value.code == 2
    code, _, err = run(["--corpus", "nonsense:thing"], capsys)
    assert code == 2 and "--corpus" in err
    code, _, err = run(["--corpus", f"uci:{tmp_path / 'missing.txt'},{tmp_path / 'v.txt'}"],
                       capsys)
    assert code == 2 and "missing.txt" in err


def test_broken_corpus_file_names_file_and_line(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("apple\nbanana\n", encoding="utf-8")
    data = tmp_path / "data.libsvm"
    data.write_text("d1\t0:1 1:2\nd2\t0:one\n", encoding="utf-8")
    code, _, err = run(["--corpus", f"libsvm:{data},{vocab}"], capsys)
    assert code == 2
    assert f"{data}:2:" in err


def test_plots(tiny_corpus, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "plots"
    code, out, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--plot", str(folder)],
                         capsys)
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["loglik.png", "pi.png"]  # no temporary files left behind
    assert (folder / "pi.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_says_how_to_install(tiny_corpus, tmp_path, capsys,
                                                     monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    code, _, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--plot",
                        str(tmp_path / "p")], capsys)
    assert code == 2
    assert "pip install 'symderive[plot]'" in err
    assert not (tmp_path / "p").exists()


def test_unverified_formulas_exit_1(tiny_corpus, tmp_path, capsys):
    """A derivation folder whose E-step no claim has checked: the engine refuses."""
    folder = tmp_path / "derivs"
    folder.mkdir()
    (folder / "em_multinomial.py").write_text(
        "from symderive.derivations.em_multinomial import *  # noqa\n"
        "from symderive.derivations.em_multinomial import derivation, ENGINE_CLAIMS  # noqa\n"
        "E_STEP = pi[k] ** 2 * E_STEP / pi[k]  # noqa: F405 - a planted change\n",
        encoding="utf-8")
    code, _, err = run(["--dir", str(folder), "--k", "2", "--corpus", str(tiny_corpus)],
                       capsys)
    assert code == 1
    assert "E_STEP is not a side of any claim" in err


def test_help_documents_the_corpus_syntax(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["em", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for text in ("20news[:SUBSET]", "libsvm:DATA,VOCAB", "uci:DOCWORD,VOCAB", "pi-norm"):
        assert text in out
