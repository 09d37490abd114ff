"""The command line: targets, JSON shape, exit codes, broken derivation files."""

import json
import textwrap

import pytest

from symderive.cli import main

GOOD = '''
import sympy as sp
from symderive import Derivation, POSITIVE

derivation = Derivation("good", source="test file")
x = derivation.scalar("x", POSITIVE)
derivation.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
derivation.equal("2", sp.log(x ** 2), 2 * sp.log(x))
'''

ERRATUM = '''
from symderive import Derivation

derivation = Derivation("errata", source="test file")
x = derivation.scalar("x")
derivation.equal("3", (x - 1) ** 2, x ** 2 - 1, erratum="forgot the cross term")
derivation.equal("3-corrected", (x - 1) ** 2, x ** 2 - 2 * x + 1)
'''

WRONG = '''
from symderive import Derivation

derivation = Derivation("wrong", source="test file")
x = derivation.scalar("x")
derivation.equal("4", (x - 1) ** 2, x ** 2 - 1)
'''

BROKEN = '''
from symderive import Derivation

derivation = Derivation("broken")
x = derivation.scalar("x")
y = undefined_name + 1
'''


def write(folder, **files):
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return str(folder)


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_all_good_exits_0(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD, errata=ERRATUM)
    code, out, _ = run(capsys, "check", "all", "--dir", folder)
    assert code == 0
    assert "3 proved" in out and "1 refuted (1 known errata)" in out
    assert "forgot the cross term" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_unexpected_refutation_exits_1(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD, wrong=WRONG)
    code, out, _ = run(capsys, "check", "--dir", folder)
    assert code == 1
    assert "refuted" in out and "values: x=" in out


def test_broken_file_exits_2_and_others_still_checked(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD, broken=BROKEN)
    code, out, err = run(capsys, "check", "all", "--dir", folder)
    assert code == 2
    assert "broken.py:6" in err and "NameError" in err
    assert "good" in out and "2 proved" in out


def test_syntax_error_names_file_and_line(tmp_path, capsys):
    folder = write(tmp_path, bad="x = (\n")
    code, _, err = run(capsys, "check", "--dir", folder)
    assert code == 2
    assert "bad.py:1" in err and "SyntaxError" in err


def test_json_shape(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD, errata=ERRATUM)
    code, out, _ = run(capsys, "check", "all", "--dir", folder, "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"derivations", "summary"}
    assert set(doc["summary"]) == {"proved", "verified", "refuted", "undecided", "error",
                                   "seconds"}
    assert doc["summary"]["proved"] == 3 and doc["summary"]["refuted"] == 1
    names = [d["name"] for d in doc["derivations"]]
    assert names == ["errata", "good"]
    for deriv in doc["derivations"]:
        assert set(deriv) == {"name", "source", "claims"}
        for claim in deriv["claims"]:
            assert set(claim) == {"id", "equation", "verdict", "expected", "method", "seconds",
                                  "counterexample", "message", "evidence"}
            if claim["verdict"] in ("proved", "verified"):
                ev = claim["evidence"]
                assert set(ev) == {"method", "scope", "proved_sizes", "sampled", "digits",
                                   "seed"}
                assert ev["seed"] == 0 and ev["sampled"]["points"] >= 5
                assert (ev["scope"] == "all sizes") == (claim["verdict"] == "proved")
    errata = doc["derivations"][0]["claims"]
    assert errata[0]["expected"] == "refuted" and errata[0]["verdict"] == "refuted"
    assert errata[0]["equation"] == "3"
    assert errata[0]["counterexample"]["values"]
    assert errata[1]["expected"] is None


def test_single_claim_target(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD)
    code, out, _ = run(capsys, "check", "good:2", "--dir", folder, "--json")
    doc = json.loads(out)
    assert code == 0
    assert [c["id"] for c in doc["derivations"][0]["claims"]] == ["2"]


@pytest.mark.parametrize("target", ["nosuch", "good:99"])
def test_unknown_target_is_a_usage_error(tmp_path, capsys, target):
    folder = write(tmp_path, good=GOOD)
    code, _, err = run(capsys, "check", target, "--dir", folder)
    assert code == 2
    assert "error" in err


def test_missing_folder_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "check", "--dir", str(tmp_path / "nope"))
    assert code == 2 and "no such derivations folder" in err


def test_list(tmp_path, capsys):
    folder = write(tmp_path, good=GOOD, errata=ERRATUM)
    code, out, _ = run(capsys, "list", "--dir", folder)
    assert code == 0
    assert "errata" in out and "3-corrected" in out and "[erratum]" in out


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "NAME:ID" in out and "exit status" in out and "--timeout" in out


def test_bad_timeout_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--timeout", "-1"])
    assert exc.value.code == 2
