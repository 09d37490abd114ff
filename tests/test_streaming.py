"""Streaming output and Ctrl-C: a real ``symderive`` process, interrupted by SIGINT sent to
its process group (as a terminal does), must report what finished and exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SLOW = '''
import time

import sympy as sp
from symderive import Derivation, POSITIVE


class Slow(sp.Function):
    """Takes a minute to evaluate at a number: the claim never finishes in a test."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            time.sleep(60)
            return arg


derivation = Derivation("slowdoc", source="test file")
x = derivation.scalar("x", POSITIVE)
derivation.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
derivation.equal("2", sp.log(x ** 2), 2 * sp.log(x))
derivation.equal("3", Slow(x), x)
'''


def start(tmp_path: Path, *args: str) -> subprocess.Popen:
    folder = tmp_path / "derivations"
    folder.mkdir(exist_ok=True)
    (folder / "slowdoc.py").write_text(textwrap.dedent(SLOW))
    env = {**os.environ, "SYMDERIVE_CACHE": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "symderive.cli", *args, "--dir", str(folder), "--jobs", "2",
         "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        start_new_session=True)


def interrupt(proc: subprocess.Popen, ready, limit: float = 90.0) -> tuple[str, str, float]:
    """Wait until ``ready()``, send SIGINT to the whole process group; (out, err, seconds
    from the signal to the exit)."""
    deadline = time.monotonic() + limit
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"never ready (exit {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.1)
    time.sleep(0.3)  # the slow claim is well inside its sleep now
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("symderive did not stop after Ctrl-C")
    return out, err, time.monotonic() - sent


def cached_entries(tmp_path: Path) -> int:
    return len(list((tmp_path / "cache" / "results").rglob("*.json")))


def test_check_streams_and_ctrl_c_reports_the_finished_claims(tmp_path):
    proc = start(tmp_path, "check", "all")
    lines: list[str] = []

    def two_claims_printed() -> bool:
        # the claims print while the slow one still runs: that is the streaming
        line = proc.stdout.readline()
        lines.append(line)
        return sum(1 for t in lines if t.lstrip().startswith(("1 ", "2 "))) == 2

    out, err, seconds = interrupt(proc, two_claims_printed)
    out = "".join(lines) + out
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert seconds < 10
    claim_lines = [t.split() for t in out.splitlines() if t.startswith("  ") and t.split()]
    assert [t[:2] for t in claim_lines] == [["1", "proved"], ["2", "proved"]]
    summary = out.strip().splitlines()[-1]
    assert "interrupted after 2 claims" in summary and "2 proved" in summary
    assert out.index("slowdoc") < out.index("  1 ") < out.index("  2 ") < out.index("interrupted")


def test_ctrl_c_with_json_prints_valid_json_of_the_finished_claims(tmp_path):
    proc = start(tmp_path, "check", "all", "--json")
    out, err, _ = interrupt(proc, lambda: cached_entries(tmp_path) >= 2)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    doc = json.loads(out)
    assert doc["summary"]["interrupted"] is True
    assert doc["summary"]["proved"] == 2 and doc["summary"]["undecided"] == 0
    (entry,) = doc["derivations"]
    assert [(c["id"], c["verdict"]) for c in entry["claims"]] == [("1", "proved"),
                                                                  ("2", "proved")]


def test_ctrl_c_during_latex_writes_no_file(tmp_path):
    proc = start(tmp_path, "latex", "-o", "report.tex")
    out, err, _ = interrupt(proc, lambda: cached_entries(tmp_path) >= 2)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (tmp_path / "report.tex").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("report", ".report"))]


def test_an_uninterrupted_run_says_nothing_of_interruption(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "quick.py").write_text(textwrap.dedent(SLOW).replace(
        'derivation.equal("3", Slow(x), x)\n', ""))
    env = {**os.environ, "SYMDERIVE_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "symderive.cli", "check", "all", "--json",
                           "--dir", str(folder)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "interrupted" not in json.loads(proc.stdout)["summary"]


def test_results_print_in_document_order_as_soon_as_the_prefix_is_done():
    from symderive import Derivation
    from symderive.report import StreamingReport, Style
    from symderive.runner import ClaimResult

    d = Derivation("order", source="notes")
    x = d.scalar("x")
    claims = [d.equal(str(k), x, x) for k in (1, 2, 3)]
    printed: list[str] = []
    stream = StreamingReport(claims, [d], Style(False), printed.append)

    def result(k: int) -> ClaimResult:
        return ClaimResult("order", str(k), None, "proved", None, "symbolic", 0.1, None, None)

    stream.add(result(2))
    assert printed == []                       # claim 1 is not done: nothing yet
    stream.add(result(1))
    assert [t.split()[0] for t in printed[0].splitlines() if t.startswith("  ")] == ["1", "2"]
    assert printed[0].splitlines()[1] == "order  (notes)"
    stream.add(result(3))
    assert printed[1].split()[0] == "3" and "order" not in printed[1]
    stream.finish([], 1.0)
    assert "3 proved" in printed[-1] and "interrupted" not in printed[-1]


def test_an_interrupted_stream_prints_what_finished_out_of_order():
    from symderive import Derivation
    from symderive.report import StreamingReport, Style
    from symderive.runner import ClaimResult

    d = Derivation("gap")
    x = d.scalar("x")
    claims = [d.equal(str(k), x, x) for k in (1, 2, 3)]
    printed: list[str] = []
    stream = StreamingReport(claims, [d], Style(False), printed.append)
    stream.add(ClaimResult("gap", "3", None, "refuted", None, "exact point", 0.1, None, None))
    done = stream.finish([], 2.0, interrupted=True)
    assert [r.id for r in done] == ["3"]
    text = printed[-1]
    assert "  3 " in text and "refuted" in text
    assert "interrupted after 1 claim: 0 proved, 0 verified, 1 refuted" in text
