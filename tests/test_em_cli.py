"""``symderive em``: exit codes, JSON fields, bad input, plots."""

from __future__ import annotations

import builtins
import json
import math
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


def test_pi_plot_has_integer_topic_ticks(tiny_corpus, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from symderive.em import plot

    ticks = {}
    real = plot._save

    def spy(fig, path):
        fig.canvas.draw()
        ticks[path.name] = [list(ax.get_xticks()) for ax in fig.axes]
        return real(fig, path)

    monkeypatch.setattr(plot, "_save", spy)
    code, _, err = run(["--k", "2", "3", "--corpus", str(tiny_corpus), "--plot",
                        str(tmp_path / "p")], capsys)
    assert code == 0, err
    shown = [t for axis in ticks["pi.png"] for t in axis]
    assert shown and all(float(t).is_integer() for t in shown), ticks["pi.png"]


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
        "import dataclasses\n"
        "from symderive.derivations.em_multinomial import *  # noqa\n"
        "from symderive.derivations.em_multinomial import ENGINE, derivation  # noqa\n"
        "from symderive.em.spec import EngineFormula\n"
        "_bad = EngineFormula(pi[k] ** 2 * E_STEP / pi[k], '46')  # noqa: F405 - planted\n"
        "ENGINE = dataclasses.replace(ENGINE, formulas={**ENGINE.formulas, 'e_step': _bad})\n",
        encoding="utf-8")
    code, _, err = run(["--dir", str(folder), "--k", "2", "--corpus", str(tiny_corpus)],
                       capsys)
    assert code == 1
    assert "e_step is not a part of claim 46" in err


def test_guards_refuse_fast_with_exit_2(tiny_corpus, tmp_path, capsys):
    """More topics than documents, a run larger than the memory, an empty or missing
    folder: exit 2 with a message naming the cause, before any fit."""
    code, out, err = run(["--k", "13", "--corpus", str(tiny_corpus)], capsys)
    assert code == 2 and "--k 13: more topics than the 12 documents" in err and not out
    code, _, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--max-memory", "1k"],
                       capsys)
    assert code == 2 and "more than the --max-memory (1.0 kB)" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["--k", "2", "--corpus", f"dir:{empty}"], capsys)
    assert code == 2 and f"{empty}: no documents" in err
    code, _, err = run(["--k", "2", "--corpus", f"dir:{tmp_path / 'gone'}"], capsys)
    assert code == 2 and f"{tmp_path / 'gone'}: no such directory" in err
    code, _, err = run(["--k", "2", "--corpus", f"uci:{tmp_path / 'd.txt'},{tmp_path / 'v'}"],
                       capsys)
    assert code == 2 and f"{tmp_path / 'd.txt'}: no such file" in err


def test_memory_estimate_and_available_memory(tmp_path):
    from symderive.em import guards

    assert guards.estimate_bytes(1000, 10, 500, 2000) == \
        8 * (guards.DK_ARRAYS * 10_000 + guards.KW_ARRAYS * 5000) + guards.NNZ_BYTES * 2000
    assert guards.parse_size("2G") == 2 << 30 and guards.parse_size("512m") == 512 << 20
    with pytest.raises(ValueError):
        guards.parse_size("lots")
    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("400000\n")
    assert guards._cgroup_available(tmp_path) == 600000
    (tmp_path / "memory.max").write_text("max\n")
    assert guards._cgroup_available(tmp_path) is None
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:   2048 kB\n")
    assert guards._meminfo_available(meminfo) == 2048 * 1024


def test_quality_options_and_header(tiny_corpus, capsys):
    code, out, err = run(["--k", "2", "--corpus", str(tiny_corpus)], capsys)
    assert code == 0, err
    assert "settings: the document's (Table 1): maximum likelihood, no annealing" in out
    code, out, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--smoothing", "1",
                          "--anneal", "--max-df", "0.9", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["smoothing"] == 1.0 and doc["anneal"] == [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7]
    assert doc["settings"].startswith("changed from the document's Table 1: smoothing 1")
    code, _, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--anneal", "0.5,0.2"],
                       capsys)
    assert code == 2 and "--anneal 0.5,0.2" in err


def test_held_out_evaluation_with_the_training_vocabulary(tiny_corpus, tmp_path, capsys):
    other = tmp_path / "other"
    for label, text in (("fruit", "apple banana kiwi kiwi"), ("cars", "engine motor zebra")):
        (other / label).mkdir(parents=True)
        (other / label / "1.txt").write_text(text, encoding="utf-8")
    code, out, err = run(["--k", "2", "--corpus", str(tiny_corpus), "--eval-corpus",
                          str(other), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    ev = doc["eval_corpus"]
    assert ev["documents"] == 2 and ev["tokens"] == 4
    assert (ev["dropped_tokens"], ev["dropped_words"]) == (3, 2)  # kiwi x2, zebra
    h = doc["runs"][0]["held_out"]
    assert h["documents"] == 2 and h["nmi"] == pytest.approx(1.0)
    # per word: the coefficients log(2!/(1! 1!)) of both documents removed, over 4 tokens
    assert h["log_likelihood_per_word"] == pytest.approx(
        (h["log_likelihood"] - 2 * math.log(2)) / 4)
    assert h["log_likelihood"] < 0


def test_help_documents_the_corpus_syntax(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["em", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for text in ("20news[:SUBSET]", "libsvm:DATA,VOCAB", "uci:DOCWORD,VOCAB", "pi-norm"):
        assert text in out
