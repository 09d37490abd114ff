"""One set of options: the same flags and meaning in check, latex and the pytest plugin,
defaults from [tool.symderive] in pyproject.toml, FILE.py targets."""

from __future__ import annotations

import argparse
import textwrap

import pytest

from symderive.cli import build_parser, main
from symderive.options import (
    CheckOptions,
    OptionsError,
    find_pyproject,
    from_args,
    project_defaults,
)

pytest_plugins = ["pytester"]

GOOD = '''
from symderive import Derivation

derivation = Derivation("good", source="test file")
x = derivation.scalar("x")
derivation.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
'''

WRONG = '''
from symderive import Derivation

derivation = Derivation("wrong", source="test file")
x = derivation.scalar("x")
derivation.equal("2", (x - 1) ** 2, x ** 2 - 1)
'''


def test_the_same_flags_parse_the_same_in_check_and_latex():
    parser = build_parser()
    flags = ["--timeout", "7", "--seed", "3", "--strict=proved", "--no-cache", "--no-repair"]
    want = CheckOptions(timeout=7.0, seed=3, strict="proved", cache=False, repair=False)
    assert from_args(parser.parse_args(["check", *flags]), {}) == want
    assert from_args(parser.parse_args(["latex", *flags]), {}) == want
    assert from_args(parser.parse_args(["check"]), {}) == CheckOptions()


@pytest.mark.parametrize("flag", ["--seed=-1", "--seed=x", "--timeout=0", "--strict=maybe"])
def test_bad_values_are_usage_errors(flag, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["check", flag])
    assert exc.value.code == 2
    assert flag.split("=")[0].lstrip("-") in capsys.readouterr().err


def test_pyproject_defaults_are_found_upwards_and_the_command_line_wins(tmp_path,
                                                                        monkeypatch):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent('''
        [project]
        name = "course"
        [tool.symderive]
        timeout = 9
        seed = 4
        strict = true
        cache = false
        repair = false
        dir = "derivations"
    '''))
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert find_pyproject() == tmp_path / "pyproject.toml"
    defaults = project_defaults()
    assert defaults["dir"] == str(tmp_path / "derivations")
    parser = build_parser()
    assert from_args(parser.parse_args(["check"])) == CheckOptions(
        timeout=9.0, seed=4, strict="verified", cache=False, repair=False)
    given = from_args(parser.parse_args(["check", "--timeout", "2", "--strict=proved"]))
    assert (given.timeout, given.strict, given.seed) == (2.0, "proved", 4)


@pytest.mark.parametrize("line, word", [("timeout = -3", "timeout"), ("seed = 1.5", "seed"),
                                        ("strict = \"always\"", "strict"),
                                        ("colour = true", "unknown option 'colour'")])
def test_a_bad_pyproject_is_a_usage_error_naming_the_file(tmp_path, monkeypatch, capsys,
                                                          line, word):
    (tmp_path / "pyproject.toml").write_text(f"[tool.symderive]\n{line}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptionsError, match=word):
        project_defaults()
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    assert main(["check", "good.py"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml" in err and "[tool.symderive]" in err and word in err


def test_pyproject_timeout_and_dir_reach_check(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.symderive]\ntimeout = 7\ndir = "d"\n')
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "good.py").write_text(textwrap.dedent(GOOD))
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "budget 7 CPU s per claim" in out and "good  (test file)" in out


def test_check_one_file_directly(tmp_path, capsys):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "wrong.py").write_text(textwrap.dedent(WRONG))
    assert main(["check", str(tmp_path / "good.py")]) == 0
    out = capsys.readouterr().out
    assert "1 claim in 1 derivation" in out and "wrong" not in out
    assert main(["check", str(tmp_path / "wrong.py")]) == 1
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    assert "no such derivation file" in capsys.readouterr().err


def test_argparse_types_name_the_option():
    from symderive.options import option_type

    with pytest.raises(argparse.ArgumentTypeError, match="--seed must be a non-negative"):
        option_type("seed", int)("-2")


PLUGIN_PROJECT = '''
import time
import sympy as sp
from symderive import Derivation


class slow(sp.Function):
    def _eval_evalf(self, prec):
        end = time.time() + 30  # busy: the budget counts CPU seconds
        while time.time() < end:
            pass


derivation = Derivation("slowish")
x = derivation.scalar("x")
derivation.equal("1", x + x, 2 * x)
derivation.equal("2", slow(x), slow(x) + 0 * x)
'''


def test_the_plugin_reads_the_same_pyproject_defaults(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "cache"))
    pytester.makepyprojecttoml('[tool.symderive]\ntimeout = 1\nstrict = true\n')
    folder = pytester.mkdir("derivations")
    (folder / "slowish.py").write_text(textwrap.dedent(PLUGIN_PROJECT))
    result = pytester.runpytest("--symderive", "-v", "-rA", "derivations")
    result.assert_outcomes(passed=1, failed=1)   # strict from pyproject: undecided fails
    assert "budget 1 CPU s per claim" in result.stdout.str()
    cached = pytester.runpytest("--symderive", "-v", "derivations")
    cached.assert_outcomes(passed=1, failed=1)   # the same verdicts, from the cache


def test_latex_strict_fails_like_check_but_still_writes_the_report(tmp_path, capsys):
    (tmp_path / "wrong.py").write_text(textwrap.dedent(WRONG))
    out = tmp_path / "report.tex"
    assert main(["latex", str(tmp_path / "wrong.py"), "-o", str(out)]) == 0
    out.unlink()
    assert main(["latex", str(tmp_path / "wrong.py"), "-o", str(out), "--strict"]) == 1
    assert out.is_file() and "refuted" in out.read_text()
    assert main(["check", str(tmp_path / "wrong.py"), "--strict"]) == 1
