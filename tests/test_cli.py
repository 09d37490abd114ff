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

SIZED = '''
import sympy as sp
from symderive import Derivation

derivation = Derivation("sized", source="test file")
n = derivation.dim("n")
A = derivation.matrix("A", n, n)
derivation.equal("5", sp.det(A.T), sp.det(A))
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
    assert "3 proved" in out and "1 refuted (1 known erratum)" in out
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
    assert set(doc) == {"schema_version", "derivations", "summary"}
    assert doc["schema_version"] == 2
    assert set(doc["summary"]) == {"proved", "verified", "refuted", "undecided", "error",
                                   "seconds"}
    assert doc["summary"]["proved"] == 3 and doc["summary"]["refuted"] == 1
    names = [d["name"] for d in doc["derivations"]]
    assert names == ["errata", "good"]
    for deriv in doc["derivations"]:
        assert set(deriv) == {"name", "source", "claims"}
        for claim in deriv["claims"]:
            assert set(claim) == {"id", "equation", "verdict", "expected", "method", "seconds",
                                  "counterexample", "message", "evidence", "repair",
                                  "repair_exhausted"}
            ev = claim["evidence"]
            assert set(ev) == {"method", "scope", "proved_sizes", "sampled", "digits", "seed"}
            assert set(ev["sampled"]) == {"sizes", "points"}
            assert isinstance(ev["method"], str) and ev["method"]
            assert ev["digits"] == 50 and ev["seed"] == 0
            if claim["verdict"] == "proved":
                # scalar claims: one size, so the exact proof covers every size
                assert ev["scope"] == "all sizes" and ev["proved_sizes"] == []
                assert ev["sampled"]["points"] >= 5
            else:
                assert ev["scope"] is None and ev["proved_sizes"] == []
    errata = doc["derivations"][0]["claims"]
    assert errata[0]["expected"] == "refuted" and errata[0]["verdict"] == "refuted"
    assert errata[0]["equation"] == "3"
    assert errata[0]["counterexample"]["values"]
    assert errata[1]["expected"] is None


def test_evidence_names_the_sizes(tmp_path, capsys):
    """Matrix claims: the evidence lists each proved and each sampled size as data."""
    folder = write(tmp_path, sized=SIZED)
    code, out, _ = run(capsys, "check", "all", "--dir", folder, "--json")
    doc = json.loads(out)
    assert code == 0
    (claim,) = doc["derivations"][0]["claims"]
    ev = claim["evidence"]
    # determinants are outside the all-size prover: exact at fixed sizes, so verified
    assert claim["verdict"] == "verified" and ev["method"] == "symbolic"
    assert ev["scope"] == "sizes" and "not proved for every size" in claim["message"]
    assert ev["proved_sizes"] and all(set(s) == {"n"} for s in ev["proved_sizes"])
    assert all(isinstance(v, int) for s in ev["sampled"]["sizes"] for v in s.values())
    assert ev["proved_sizes"][0] in ev["sampled"]["sizes"]
    assert max(s["n"] for s in ev["sampled"]["sizes"]) >= 6
    assert ev["sampled"]["points"] >= 5 * len(ev["sampled"]["sizes"])


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


KINDS = '''
from symderive import Derivation

derivation = Derivation("kinds", source="notes §2")
x = derivation.scalar("x")
derivation.derivative("1", x ** 3, x, 3 * x ** 2)
derivation.chain("2", (x + 1) ** 2, [x ** 2 + 2 * x + 1, (x + 1) * (x + 1)])
derivation.equal("3", (x - 1) ** 2, x ** 2 - 1, erratum="forgot the cross term")
'''

FIRST = '''
from symderive import Derivation

derivation = Derivation("zeta_first", source="notes §1")
x = derivation.scalar("x")
derivation.equal("1", x + x, 2 * x)
'''


def test_list_shows_kinds_formulas_and_document_order(tmp_path, capsys):
    folder = write(tmp_path, kinds=KINDS, first=FIRST)
    code, out, _ = run(capsys, "list", "--dir", folder, "--formulas")
    assert code == 0
    lines = out.splitlines()
    # "notes §1" comes before "notes §2" although "kinds" < "zeta_first"
    assert lines[0].startswith("zeta_first") and lines[3].startswith("kinds")
    assert "  1    (1)      derivative" in out
    assert "  2.1  (2.1)    chain" in out and "  3    (3)      equal       [erratum]" in out
    assert "∂(x^3)/∂x = 3·x^2" in out
    assert "(x - 1)^2 = x^2 - 1" in out
    assert lines[-1] == "5 claims in 2 derivations"


def test_list_counts_in_the_singular(tmp_path, capsys):
    folder = write(tmp_path, first=FIRST)
    _, out, _ = run(capsys, "list", "--dir", folder)
    assert out.splitlines()[-1] == "1 claim in 1 derivation"


@pytest.mark.parametrize("command", ["check", "list"])
def test_empty_claim_id_is_a_usage_error(tmp_path, capsys, command):
    folder = write(tmp_path, good=GOOD)
    code, out, err = run(capsys, command, "good:", "--dir", folder)
    assert code == 2
    assert "empty claim id in 'good:'" in err and out == ""


SLOW = '''
import time
import sympy as sp
from symderive import Derivation


class slow(sp.Function):
    """Takes far longer to evaluate than the budget allows."""

    def _eval_evalf(self, prec):
        end = time.time() + 30  # busy: the budget counts CPU seconds
        while time.time() < end:
            pass


derivation = Derivation("slow")
x = derivation.scalar("x")
derivation.equal("1", slow(x), slow(x) + 0 * x)
'''


def test_strict_fails_an_undecided_claim(tmp_path, capsys):
    folder = write(tmp_path, slow=SLOW)
    code, out, _ = run(capsys, "check", "--dir", folder, "--timeout", "0.5", "--json")
    assert json.loads(out)["derivations"][0]["claims"][0]["verdict"] == "undecided"
    assert code == 0
    code, _, _ = run(capsys, "check", "--dir", folder, "--timeout", "0.5", "--strict")
    assert code == 1


def test_strict_levels():
    from symderive.report import exit_status
    from symderive.runner import ClaimResult

    def result(verdict, expected=None):
        return ClaimResult("d", "1", None, verdict, expected, "m", 0.0, None, None,
                           erratum="why" if expected else None)

    verified, undecided = [result("verified")], [result("undecided")]
    assert exit_status(verified, []) == 0 and exit_status(undecided, []) == 0
    assert exit_status(verified, [], strict="verified") == 0
    assert exit_status(undecided, [], strict="verified") == 1
    assert exit_status(verified, [], strict="proved") == 1
    assert exit_status([result("proved")], [], strict="proved") == 0
    # a marked erratum that is undecided never fails the run; one that holds always does
    assert exit_status([result("undecided", "refuted")], [], strict="proved") == 0
    assert exit_status([result("proved", "refuted")], []) == 1


CONSOLE = '''
import atexit, gc, sys
from symderive.cli import console

# at exit, after the command: how many objects the interpreter's last collections skip
atexit.register(lambda: print("frozen", gc.get_freeze_count(), file=sys.stderr))
sys.exit(console())
'''


@pytest.mark.parametrize("files, status", [({"good": GOOD}, 0), ({"wrong": WRONG}, 1),
                                           ({"broken": BROKEN}, 2)])
def test_the_command_exits_as_main_says_with_its_objects_frozen(tmp_path, capsys, files,
                                                                  status):
    import os
    import subprocess
    import sys

    folder = write(tmp_path, **files)
    script = tmp_path.parent / f"{tmp_path.name}-console.py"  # not a derivation file
    script.write_text(CONSOLE)
    env = {**os.environ, "SYMDERIVE_CACHE": str(tmp_path / "cache")}
    args = ["check", "--dir", folder, "--json", "--no-cache"]
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    code, out, _ = run(capsys, *args)
    assert proc.returncode == code == status
    doc, here = json.loads(proc.stdout), json.loads(out)
    for d in (doc, here):
        del d["summary"]["seconds"]
        for c in (c for der in d["derivations"] for c in der["claims"]):
            del c["seconds"]
    assert doc == here
    frozen = int(proc.stderr.split("frozen ")[-1])
    assert frozen > 50_000  # SymPy's modules and more: the last collections skip them
