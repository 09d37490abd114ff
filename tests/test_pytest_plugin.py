"""The pytest plugin, run through ``pytester``: collection, ids, outcomes, options."""

import textwrap

import pytest

pytest_plugins = ["pytester"]

MIXED = '''
import time
import sympy as sp
from symderive import Derivation


class slow(sp.Function):
    """Takes far longer to evaluate than any budget the tests give."""

    def _eval_evalf(self, prec):
        while time.process_time() < 30: pass  # busy: the budget counts CPU seconds


derivation = Derivation("mixed", source="notes §1")
x = derivation.scalar("x")
derivation.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
derivation.equal("2", (x - 1) ** 2, x ** 2 - 1)
derivation.equal("3", (x - 1) ** 2, x ** 2 - 1, erratum="forgot the cross term")
derivation.equal("4", (x - 1) ** 2, x ** 2 - 2 * x + 1, erratum="wrongly marked")
derivation.equal("5", slow(x), slow(x) + 0 * x)
derivation.equal("6", slow(x), slow(x) + 0 * x, erratum="cannot be decided")
derivation.equal("7", x, sp.Symbol("undeclared"))
'''

GOOD = '''
from symderive import Derivation

derivation = Derivation("good")
x = derivation.scalar("x")
derivation.equal("1", x + x, 2 * x)
derivation.equal("2", x * x, x ** 2)
'''

BROKEN = '''
from symderive import Derivation

derivation = Derivation("broken")
y = undefined_name + 1
'''


@pytest.fixture
def project(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "cache"))
    folder = pytester.mkdir("derivations")
    (folder / "mixed.py").write_text(textwrap.dedent(MIXED))
    (folder / "good.py").write_text(textwrap.dedent(GOOD))
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    return pytester


WORDS = ("PASSED", "FAILED", "ERROR", "XFAIL", "SKIPPED", "XPASS")


def outcomes(result) -> dict[str, str]:
    """``{node id: outcome}`` from the ``-v`` progress lines (``id OUTCOME``)."""
    out = {}
    for line in result.outlines:
        parts = line.split()
        if len(parts) >= 2 and "::" in parts[0] and parts[1] in WORDS:
            out.setdefault(parts[0], parts[1])
    return out


def test_inert_without_the_option(project):
    result = project.runpytest("-q")
    result.assert_outcomes(passed=1)


def test_ids_and_outcomes(project):
    result = project.runpytest("--symderive", "--symderive-timeout", "1", "-v", "-rA",
                               "derivations")
    got = outcomes(result)
    assert got == {
        "derivations/good.py::good::1": "PASSED",
        "derivations/good.py::good::2": "PASSED",
        "derivations/mixed.py::mixed::1": "PASSED",
        "derivations/mixed.py::mixed::2": "FAILED",
        "derivations/mixed.py::mixed::3": "XFAIL",
        "derivations/mixed.py::mixed::4": "FAILED",
        "derivations/mixed.py::mixed::5": "SKIPPED",
        "derivations/mixed.py::mixed::6": "SKIPPED",
        "derivations/mixed.py::mixed::7": "ERROR",
    }, result.stdout.str()
    result.assert_outcomes(passed=3, failed=2, xfailed=1, skipped=2, errors=1)
    text = result.stdout.str()
    # the counterexample is the failure text: x = 0 gives 1 on the left, -1 on the right
    assert "refuted (exact point, 50 digits)" in text and "lhs = 1" in text and "rhs = -1" in text
    assert "known erratum: forgot the cross term" in text
    assert "marked as an erratum (wrongly marked), but it proved" in text
    assert "ERROR derivations/mixed.py::mixed::7 - InstantiationError: no value" in text
    assert "Traceback" not in text and "ClaimError" not in text
    assert "undecided:" in text and "budget of 1 CPU s ran out" in text
    # a skip names the claim's line, not the plugin's
    assert "SKIPPED [1] derivations/mixed.py:20: undecided" in text
    assert result.ret == 1


def test_strict_fails_undecided_but_skips_an_undecided_erratum(project):
    result = project.runpytest("--symderive", "--symderive-timeout", "1", "--symderive-strict",
                               "-v", "-rA", "derivations/mixed.py")
    got = outcomes(result)
    assert got["derivations/mixed.py::mixed::5"] == "FAILED"
    assert got["derivations/mixed.py::mixed::6"] == "SKIPPED"
    assert "undecided (--symderive-strict)" in result.stdout.str()


def test_default_folder_is_collected_beside_the_tests(project):
    result = project.runpytest("--symderive", "-k", "good or plain", "-q")
    result.assert_outcomes(passed=3)


def test_ini_option_switches_it_on(project):
    project.makeini("[pytest]\nsymderive_dirs = derivations\n")
    result = project.runpytest("-k", "good", "-q")
    result.assert_outcomes(passed=2)


def test_keyword_selects_claims(project):
    result = project.runpytest("--symderive", "derivations", "-k", "mixed and 3", "-v", "-rA")
    assert outcomes(result) == {"derivations/mixed.py::mixed::3": "XFAIL"}


def test_exitfirst_stops_at_the_first_failure(project):
    result = project.runpytest("--symderive", "--symderive-timeout", "1",
                               "derivations/mixed.py", "-x", "-q")
    result.assert_outcomes(passed=1, failed=1)


def test_last_failed_reruns_only_the_failures(project):
    project.runpytest("--symderive", "--symderive-timeout", "1", "derivations")
    result = project.runpytest("--symderive", "--symderive-timeout", "1", "derivations",
                               "--lf", "-v", "-rA")
    assert set(outcomes(result)) == {"derivations/mixed.py::mixed::2",
                                     "derivations/mixed.py::mixed::4",
                                     "derivations/mixed.py::mixed::7"}


def test_junit_xml_records_the_verdict(project):
    result = project.runpytest("--symderive", "derivations/good.py", "--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    xml = (project.path / "out.xml").read_text()
    assert 'classname="derivations.good.good" name="1"' in xml
    assert '<property name="verdict" value="proved" />' in xml


def test_broken_file_is_a_collection_error_naming_the_line(project):
    (project.path / "derivations" / "broken.py").write_text(textwrap.dedent(BROKEN))
    result = project.runpytest("--symderive", "derivations/broken.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*broken.py:5: NameError: name 'undefined_name'*"])


def test_missing_folder_is_a_usage_error(project):
    result = project.runpytest("--symderive", "--symderive-dir", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no such derivations folder*nope*"])


def test_other_options_are_accepted(project):
    result = project.runpytest("--symderive", "derivations/good.py", "--symderive-seed", "3",
                               "--symderive-no-cache", "--symderive-no-repair")
    result.assert_outcomes(passed=2)


def test_xdist_distributes_the_claims(project):
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess("--symderive", "derivations/good.py", "-n", "2")
    result.assert_outcomes(passed=2)
