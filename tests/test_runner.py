"""The runner's long-lived workers: each checks many claims in turn, yet every claim keeps
its own budget, a killed or dead worker is replaced, and no verdict depends on the claims
a worker checked before."""

from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest
import sympy as sp

from symderive import POSITIVE, Derivation, interval
from symderive.check import Outcome, Verdict
from symderive.loader import import_file, load
from symderive.runner import ClaimResult, run_claims

HOMEWORK = {d.name: d for d in load(None)[0]}


@pytest.fixture
def no_timings(monkeypatch):
    """No claim order from earlier runs: the order given is the order checked."""
    monkeypatch.setattr("symderive.runner._load_timings", lambda: {})
    monkeypatch.setattr("symderive.runner._save_timings", lambda past, new: None)


@pytest.fixture
def starts(count_calls):
    """The number of worker processes started (the parent forks them, so it counts)."""
    import symderive.runner as runner

    return count_calls(runner, "_start_worker")


def _burn(seconds: float) -> None:
    """CPU work (the budget counts CPU seconds, so a sleep would not use it up)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _claims(n: int, *ids: str) -> list:
    """Claims that state different things (a restatement would share its first's check)."""
    d = Derivation(f"fake{n}")
    x = d.scalar("x")
    return [d.equal(i, x + k, k + x) for k, i in enumerate(ids)]


def _fake(monkeypatch, behaviour) -> None:
    """Workers are forked after this: they check every claim with ``behaviour``."""
    def check(claim, emit, seed=None):
        return behaviour(claim, emit) or Outcome(Verdict.PROVED, "fake", f"ok {claim.id}")

    monkeypatch.setattr("symderive.runner.check_claim", check)


def test_one_worker_checks_every_claim_each_within_its_own_budget(monkeypatch, no_timings,
                                                                    starts):
    # 4 claims of 0.6 CPU s each in one worker: 2.4 s in all, over the 1.5 s budget,
    # which counts only the CPU seconds spent on each claim
    _fake(monkeypatch, lambda claim, emit: _burn(0.6))
    out = run_claims(_claims(1, "a", "b", "c", "d"), timeout=1.5, jobs=1)
    assert [(r.id, r.verdict, r.message) for r in out] == \
        [(i, "proved", f"ok {i}") for i in "abcd"]
    assert starts[0] == 1


def _slow_after_sampling(claim, emit):
    if claim.id == "slow":
        emit("numeric", Outcome(Verdict.VERIFIED, "sampling", "20 points agree"))
        _burn(30)


def test_a_claim_over_budget_keeps_its_evidence_and_a_fresh_worker_goes_on(
        monkeypatch, no_timings, starts):
    _fake(monkeypatch, _slow_after_sampling)
    out = run_claims(_claims(2, "a", "slow", "b", "c"), timeout=1.5, jobs=1)
    by_id = {r.id: r for r in out}
    assert by_id["slow"].verdict == "verified"   # killed (not "ok slow"), evidence kept
    assert by_id["slow"].message == \
        "20 points agree; the symbolic proof did not finish within 1.5 CPU s"
    assert [(r.id, r.verdict) for r in out if r.id != "slow"] == \
        [("a", "proved"), ("b", "proved"), ("c", "proved")]
    assert starts[0] == 2   # the killed worker was replaced


def _dies(claim, emit):
    if claim.id == "die":
        os._exit(3)


def test_a_worker_that_dies_is_reported_and_replaced(monkeypatch, no_timings, starts):
    _fake(monkeypatch, _dies)
    out = run_claims(_claims(3, "a", "die", "b"), timeout=20, jobs=1)
    assert [(r.id, r.verdict, r.message) for r in out] == [
        ("a", "proved", "ok a"), ("die", "undecided", "the worker process died"),
        ("b", "proved", "ok b")]
    assert starts[0] == 2


def _draws(claim, emit):
    return Outcome(Verdict.PROVED, "fake", f"{random.random()} {np.random.rand()}")


def test_each_claim_starts_from_the_same_random_state(monkeypatch, no_timings, starts):
    _fake(monkeypatch, _draws)
    out = run_claims(_claims(4, "a", "b", "c"), timeout=20, jobs=1)
    assert starts[0] == 1
    assert len({r.message for r in out}) == 1   # no claim sees the draws of the one before


ERRORING = '''
import sympy as sp
from symderive import Derivation

derivation = Derivation("erroring")
x = derivation.scalar("x")


class Boom(sp.Function):
    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            raise RuntimeError("no value at " + str(arg))


derivation.equal("fine", (x + 1) ** 2, x ** 2 + 2 * x + 1)
derivation.equal("boom", Boom(x), x)
derivation.equal("fine-again", sp.log(sp.exp(x)), x)
'''


def test_a_claim_that_raises_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "erroring.py"
    path.write_text(ERRORING)
    line = next(k for k, text in enumerate(ERRORING.splitlines(), 1) if "raise" in text)
    claims = import_file(path).derivation.claims
    out = {r.id: r for r in run_claims(claims, timeout=20, jobs=1)}
    assert out["boom"].verdict == "error"
    assert out["boom"].message.startswith("RuntimeError: no value at ")
    assert out["boom"].message.endswith(f"(erroring.py:{line})")
    assert out["fine"].verdict == out["fine-again"].verdict == "proved"


# -- no verdict depends on the claims a worker checked before --------------------------------
def _toy() -> list:
    d = Derivation("toy-order")
    n = d.dim("n")
    A, B = d.matrix("A", n, n), d.matrix("B", n, n)
    x = d.vector("x", n)
    a, b = d.scalar("a"), d.scalar("b")
    q = d.scalar("q", interval(0, 1))
    quad = d.define("quad", x.T * A * x)
    return [
        d.equal("transpose", (A * B).T, B.T * A.T),
        d.equal("transpose-planted", (A * B).T, A.T * B.T),
        d.derivative("grad", quad, x, (A + A.T) * x),
        d.derivative("grad-planted", quad, x, 2 * A * x),
        d.equal("sqrt", sp.sqrt(a ** 2), sp.Abs(a)),
        d.equal("sqrt-planted", sp.sqrt(a ** 2), a),
        d.stationary("max", a * sp.log(q) + b * sp.log(1 - q), [q], {q: a / (a + b)},
                     domain={q: interval(0, 1, closed=True)}),
    ]


def _homework() -> list:
    """Quick claims of each homework derivation, refuted ones among them."""
    wanted = {"logistic_mixture": ["28.1", "28.2", "32.1", "33.3"],
              "gan_discriminator": ["cov", "max-ab", "max-ab-corrected", "38"],
              "em_multinomial": ["40.1", "42.3", "44.3"],
              "bn_backprop": ["3"]}
    return [HOMEWORK[name].claim(i) for name, ids in wanted.items() for i in ids]


def _content(r: ClaimResult) -> dict:
    out = vars(r).copy()
    del out["seconds"]
    return out


def test_verdicts_do_not_depend_on_the_claims_checked_before(monkeypatch, no_timings,
                                                            starts):
    claims = _toy() + _homework()
    grouped = run_claims(claims, timeout=20, jobs=1)   # one worker, derivation by derivation
    assert starts[0] == 1
    # the same claims from both ends inwards (interleaving the derivations, and each one
    # backwards), in the order given: one worker again
    import symderive.runner as runner

    pick = runner._pick
    monkeypatch.setattr(runner, "_pick", lambda pending, *args: pending.pop(0))
    n = len(claims)
    order = [k for pair in zip(range(n), reversed(range(n))) for k in pair][:n]
    mixed = run_claims([claims[k] for k in order], timeout=20, jobs=1)
    assert starts[0] == 2
    assert [_content(r) for r in mixed] == [_content(grouped[k]) for k in order]
    # the default grouping, on two workers
    monkeypatch.setattr(runner, "_pick", pick)
    assert [_content(r) for r in run_claims(claims, timeout=20, jobs=2)] == \
        [_content(r) for r in grouped]
    verdicts = {r.id: r.verdict for r in grouped}
    assert verdicts["transpose-planted"] == verdicts["grad-planted"] == "refuted"
    assert verdicts["sqrt-planted"] == verdicts["33.3"] == verdicts["max-ab"] == "refuted"
    assert verdicts["transpose"] == verdicts["grad"] == verdicts["sqrt"] == "proved"


ORPHAN = '''
import time
import sympy as sp
from symderive import Derivation
from symderive.runner import run_claims


class Sleepy(sp.Function):
    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            time.sleep(60)
            return arg


d = Derivation("orphan")
x = d.scalar("x")
run_claims([d.equal("quick", (x + 1) ** 2, x ** 2 + 2 * x + 1), d.equal("slow", Sleepy(x), x)],
           timeout=100, jobs=2)
'''


def _children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_an_idle_worker_stops_when_its_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    proc = subprocess.Popen([sys.executable, str(script)])
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= _children(proc.pid)
            time.sleep(0.2)
        assert len(workers) == 2
        time.sleep(5)   # the quick claim is done: one worker waits for work
        proc.send_signal(signal.SIGKILL)  # no clean-up in the parent
        proc.wait()
        deadline = time.monotonic() + 60
        while all(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not all(_alive(p) for p in workers)  # the idle one noticed and stopped
    finally:
        for p in workers:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


# -- repair searches: tasks of the same workers, while the other claims are checked -------

def _logged(monkeypatch, log, refuted=(), slow=()) -> None:
    """Workers check claims (``refuted`` ones refuted, ``slow`` ones after 1 CPU s) and
    search repairs with a fake search; each task's start goes to the file ``log``."""
    from symderive.repair.search import Hint, Repair

    def note(line: str) -> None:
        with open(log, "a") as fh:
            fh.write(line + "\n")

    def check(claim, emit):
        note(f"check {claim.id}")
        if claim.id in slow:
            _burn(1.0)
        if claim.id in refuted:
            return Outcome(Verdict.REFUTED, "fake", f"wrong {claim.id}")

    def search(claim, budget, report, deadline, searched):
        note(f"repair {claim.id}")
        report(Hint(f"fixed {claim.id}", "x", ["an edit"], Verdict.VERIFIED, order=(1,)))
        if claim.id.startswith("forever"):
            _burn(30)  # past the cap: the worker is killed, the hint found stays
        out = Repair(candidates=7)
        searched(out)
        return out

    _fake(monkeypatch, check)
    monkeypatch.setattr("symderive.repair.run.search", search)


def _repair_options(seconds: float = 2.0):
    from symderive.repair.run import Options

    return Options(budget=20, seconds=seconds)


def test_a_repair_search_runs_in_the_worker_before_the_next_claims(
        monkeypatch, no_timings, starts, tmp_path):
    log = tmp_path / "log"
    _logged(monkeypatch, log, refuted={"bad"})
    out = run_claims(_claims(5, "a", "bad", "b"), timeout=20, jobs=1,
                     repair=_repair_options())
    # not after every claim, in processes of its own: in the same worker, next
    assert log.read_text().split("\n")[:-1] == \
        ["check a", "check bad", "repair bad", "check b"]
    assert starts[0] == 1
    assert [(r.id, r.verdict) for r in out] == \
        [("a", "proved"), ("bad", "refuted"), ("b", "proved")]
    bad = out[1]
    assert [h.formula for h in bad.repair] == ["fixed bad"]
    assert (bad.repair_candidates, bad.repair_exhausted, bad.repair_capped) == (7, False, False)
    assert bad.message == "wrong bad"
    assert out[0].repair is None and out[2].repair is None


def test_results_come_in_claim_order_though_repairs_finish_out_of_order(
        monkeypatch, no_timings, tmp_path):
    _logged(monkeypatch, tmp_path / "log", refuted={"bad", "bad2"}, slow={"slow"})
    heard = []
    out = run_claims(_claims(6, "slow", "bad", "c", "bad2"), timeout=20, jobs=2,
                     progress=lambda r: heard.append(r.id), repair=_repair_options())
    assert heard[-1] == "slow"  # finished last, reported first
    assert [r.id for r in out] == ["slow", "bad", "c", "bad2"]
    assert [[h.formula for h in r.repair or []] for r in out] == \
        [[], ["fixed bad"], [], ["fixed bad2"]]


def test_a_repair_search_over_its_cap_keeps_its_hints_and_a_fresh_worker_goes_on(
        monkeypatch, no_timings, starts, tmp_path):
    _logged(monkeypatch, tmp_path / "log", refuted={"forever"})
    out = run_claims(_claims(7, "forever", "c"), timeout=20, jobs=1,
                     repair=_repair_options(seconds=0.3))
    forever, c = out
    assert forever.verdict == "refuted" and [h.formula for h in forever.repair] == \
        ["fixed forever"]
    assert forever.repair_capped and not forever.repair_exhausted
    assert forever.message == \
        "wrong forever; the repair search stopped at its 0.3 s safety cap after 0 candidates"
    assert (c.id, c.verdict, c.message) == ("c", "proved", "ok c")
    assert starts[0] == 2  # the killed worker was replaced


def test_workers_collect_garbage_less_often_than_python_does(monkeypatch, no_timings):
    import gc

    from symderive.runner import WORKER_GC

    _fake(monkeypatch, lambda claim, emit: Outcome(Verdict.PROVED, "fake",
                                                   str(gc.get_threshold())))
    before = gc.get_threshold()
    out = run_claims(_claims(8, "a", "b"), timeout=20, jobs=2)
    assert [r.message for r in out] == [str(WORKER_GC)] * 2
    assert WORKER_GC[0] > before[0] and gc.get_threshold() == before  # the parent's: as is


def _restatements_in_full(claims):
    """The pairing by full fingerprints of every claim (what restatements() computes)."""
    from symderive.runner import fingerprint

    first, alias = {}, {}
    for k, claim in enumerate(claims):
        key = fingerprint(claim)
        if key in first:
            alias[k] = first[key]
        else:
            first[key] = k
    return alias


def test_restatements_fingerprint_in_full_only_claims_that_state_the_same():
    from symderive import runner

    same = Derivation("restate_pairs")
    x_ = same.scalar("x")
    same.equal("1", (x_ + 1) ** 2, x_ ** 2 + 2 * x_ + 1)
    same.equal("2", x_ * 2, x_ + x_)
    same.equal("3", (x_ + 1) ** 2, x_ ** 2 + 2 * x_ + 1)  # restates 1
    other = Derivation("restate_pairs_positive")  # same statement, another domain
    xp = other.scalar("x", POSITIVE)
    other.equal("1", (xp + 1) ** 2, xp ** 2 + 2 * xp + 1)
    homework = [c for n in ("bn_backprop", "em_multinomial")
                for c in import_file(f"derivations/{n}.py").derivation.claims]
    claims = same.claims + other.claims + homework
    expected = _restatements_in_full(claims)
    assert runner.restatements(claims) == expected
    assert expected[2] == 0 and 3 not in expected
    assert len(expected) >= 11  # bn_backprop (14)-(23) restate (2)-(13)
