"""The shared facts have one home each: loader, progress line, budgets, cache folder."""

from __future__ import annotations

import argparse
import io
import re
from types import SimpleNamespace

import pytest

from symderive import config
from symderive.check import Verdict
from symderive.loader import derivations_in, import_file, load_module
from symderive.progress import Progress
from symderive.targets import timeout_arg

MODULE = '''
from symderive import Derivation

derivation = d = Derivation("one", source="test")
x = d.scalar("x")
d.equal("1", x + x, 2 * x)
'''


def test_import_file_names_the_file_and_counts_each_derivation_once(tmp_path):
    path = tmp_path / "one.py"
    path.write_text(MODULE)
    module = import_file(path)
    (deriv,) = derivations_in(module)       # bound twice, found once
    assert deriv.name == "one" and deriv.file == str(path)
    assert load_module(str(path)).derivation.name == "one"


def test_load_module_by_dotted_name():
    module = load_module("symderive.derivations.gan_discriminator")
    assert [d.name for d in derivations_in(module)] == ["gan_discriminator"]


def test_a_broken_file_raises_for_the_caller_to_report(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("x = undefined_name\n")
    with pytest.raises(NameError):
        import_file(path)


def test_progress_rewrites_one_line_and_clears_it():
    out = io.StringIO()
    show = Progress(2, True, out)
    show(SimpleNamespace(derivation="d", id="1"))
    show(SimpleNamespace(derivation="d", id="2"))
    show.close()
    text = out.getvalue()
    assert re.search(r"checked 1/2 claims, \d+\.\d s \(d:1\)", text)
    assert re.search(r"checked 2/2 claims, \d+\.\d s \(d:2\)", text)
    assert text.endswith("\r\033[K")
    quiet = io.StringIO()
    Progress(1, False, quiet)(SimpleNamespace(derivation="d", id="1"))
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon"])
def test_bad_timeouts_are_refused_with_the_option_name(text):
    with pytest.raises(argparse.ArgumentTypeError, match="--timeout"):
        timeout_arg(text)
    assert timeout_arg("2.5") == 2.5


def test_the_budgets_have_one_home(capsys):
    from symderive.cli import build_parser
    from symderive.options import from_args

    parser = build_parser()
    # check and latex leave it unset on the command line, so a pyproject.toml can fill it
    assert from_args(parser.parse_args(["check"]), {}).timeout == config.DEFAULT_TIMEOUT
    assert from_args(parser.parse_args(["latex"]), {}).timeout == config.DEFAULT_TIMEOUT
    assert parser.parse_args(["em"]).timeout == config.CERTIFY_TIMEOUT


def test_verdict_is_one_enum_that_reads_as_its_word():
    assert [str(v) for v in Verdict] == ["proved", "verified", "refuted", "undecided", "error"]
    assert Verdict("proved") is Verdict.PROVED and Verdict.PROVED == "proved"
    with pytest.raises(ValueError):
        Verdict("probably")
