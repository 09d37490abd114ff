"""Run claim checks in worker processes, each with a budget of CPU seconds.

Each claim is checked in a forked process.  The worker reports its numeric outcome as
soon as sampling is done, then tries the proof; when the budget runs out the worker is
killed, so a runaway ``simplify`` can never hang the run, and the sampling evidence
already received still decides the verdict (``verified``, never ``proved``).

The budget counts the worker's own CPU time, not wall-clock time, so that a busy machine
(other processes competing for the cores) does not change any verdict; a wall-clock
limit of :data:`WALL_FACTOR` times the budget stays as a safety net (on a machine so
busy that a worker gets under 1/60 of a core, that net could still decide).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait

from .atomic import atomic_write_text
from .check import Outcome, check_claim
from .derivation import Claim, StationaryClaim

DEFAULT_TIMEOUT = 5.0
WALL_FACTOR = 60.0  # wall-clock safety net, in budgets (a worker waiting, not computing)
POLL = 0.05         # seconds between looks at the workers' CPU time


@dataclass
class ClaimResult:
    derivation: str
    id: str
    equation: str | None
    verdict: str
    expected: str | None
    method: str
    seconds: float
    counterexample: dict | None
    message: str | None
    erratum: str | None = None
    evidence: dict | None = None

    @property
    def ok(self) -> bool:
        """Whether this result leaves the run green."""
        if self.expected == "refuted":
            return self.verdict in ("refuted", "undecided")
        return self.verdict not in ("refuted", "error")

    def to_json(self) -> dict:
        """Exactly the fields of the published JSON contract, nothing more."""
        return {"id": self.id, "equation": self.equation, "verdict": self.verdict,
                "expected": self.expected, "method": self.method,
                "seconds": round(self.seconds, 4), "counterexample": self.counterexample,
                "message": self.message, "evidence": self.evidence}


def _worker(claim: Claim, conn, seed: int | None = None) -> None:
    def emit(kind: str, outcome: Outcome) -> None:
        conn.send((kind, asdict(outcome)))

    try:
        outcome = check_claim(claim, emit, seed)
        emit("final", outcome)
    except Exception as exc:  # a claim that cannot be built is reported, not raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                      if claim.derivation and claim.derivation.file
                      and os.path.samefile(f.filename, claim.derivation.file)), None)
        msg = f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")
        emit("final", Outcome("error", "build", msg))
    finally:
        conn.close()


def _result(claim: Claim, data: dict, seconds: float) -> ClaimResult:
    return ClaimResult(
        derivation=claim.derivation.name, id=claim.id, equation=claim.equation,
        verdict=data["verdict"], expected=claim.expected, method=data["method"],
        seconds=seconds, counterexample=data.get("counterexample"),
        message=data.get("message"), erratum=claim.erratum, evidence=data.get("evidence"))


def fingerprint(claim: Claim) -> tuple:
    """What a claim states; two claims with the same fingerprint are checked once.

    The document restates its results ("In conclusion"), and those restatements are the
    very same expressions, so checking them again would only repeat the evidence.
    """
    extra = ()
    if isinstance(claim, StationaryClaim):
        extra = (claim.f, claim.variables, claim.constraints, tuple(claim.point.items()),
                 claim.maximum, tuple(claim.domain.items()))
    sizes = tuple(tuple(sorted(s.items(), key=str)) for s in claim.sizes or ())
    name = claim.derivation.name if claim.derivation else ""
    return (name, type(claim).__name__, claim.lhs, claim.rhs, claim.given, claim.unknowns,
            sizes, extra)


def run_claims(claims: Sequence[Claim], timeout: float = DEFAULT_TIMEOUT,
               jobs: int | None = None,
               progress: Callable[[ClaimResult], None] | None = None,
               seed: int | None = None) -> list[ClaimResult]:
    """Check ``claims`` in parallel; results come back in the order given.  ``timeout``
    is a budget of CPU seconds per claim; ``seed`` fixes the sampled points."""
    first: dict[tuple, int] = {}
    unique, alias = [], {}
    for k, claim in enumerate(claims):
        try:
            key = fingerprint(claim)
        except TypeError:  # unhashable content: check it on its own
            key = ("unique", k)
        if key in first:
            alias[k] = first[key]
        else:
            first[key] = k
            unique.append(k)
    checked = dict(zip(unique, _run_unique([claims[k] for k in unique], timeout, jobs,
                                           progress, seed)))
    out = []
    for k, claim in enumerate(claims):
        if k in checked:
            out.append(checked[k])
            continue
        src = checked[alias[k]]
        same = dataclasses.replace(
            src, id=claim.id, equation=claim.equation, expected=claim.expected,
            erratum=claim.erratum, seconds=0.0,
            message=f"same statement as claim {src.id}, checked once; {src.message or ''}"
            .rstrip("; "))
        out.append(same)
        if progress:
            progress(same)
    return out


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a live process has used, from /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _spent(entry: list, now: float) -> float:
    """Budget used by one worker: its CPU time, or wall time where that is unknown."""
    cpu = _cpu_seconds(entry[2].pid)
    wall = now - entry[3]
    return wall if cpu is None else max(cpu, wall / WALL_FACTOR)


def _run_unique(claims: Sequence[Claim], timeout: float, jobs: int | None,
                progress: Callable[[ClaimResult], None] | None,
                seed: int | None = None) -> list[ClaimResult]:
    ctx = mp.get_context("fork")
    jobs = max(1, jobs or os.cpu_count() or 1)
    past = _load_timings()
    # longest first (as far as earlier runs tell), so that no long claim starts last
    pending = sorted(enumerate(claims), key=lambda t: -past.get(_timing_key(t[1]), 0.0))
    active: dict = {}  # conn -> (index, claim, process, start, last numeric data)
    results: dict[int, ClaimResult] = {}

    def finish(conn, data: dict | None, note: str | None = None) -> None:
        index, claim, proc, start, numeric = active.pop(conn)
        seconds = time.perf_counter() - start
        if data is None:
            if numeric is not None:  # sampling done (and perhaps some sizes proved)
                data = dict(numeric)
                what = ("the proof at larger sizes" if data["verdict"] == "proved"
                        else "the symbolic proof")
                data["message"] = (f"{data.get('message') or ''}; {what} did not "
                                   f"finish within {timeout:g} CPU s").lstrip("; ")
            else:
                data = {"verdict": "undecided", "method": "timeout",
                        "message": note or f"budget of {timeout:g} CPU s ran out"}
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()
        results[index] = _result(claim, data, seconds)
        if progress:
            progress(results[index])

    while pending or active:
        while pending and len(active) < jobs:
            index, claim = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(claim, child, seed), daemon=True)
            proc.start()
            child.close()
            active[parent] = [index, claim, proc, time.perf_counter(), None]
        ready = wait(list(active), timeout=POLL)
        for conn in ready:
            try:
                kind, data = conn.recv()
            except (EOFError, OSError):
                finish(conn, None, "the worker process died")
                continue
            if kind in ("numeric", "proof"):
                active[conn][4] = data
            else:
                finish(conn, data)
        now = time.perf_counter()
        for conn in [c for c, e in active.items() if _spent(e, now) >= timeout]:
            finish(conn, None)
    _save_timings(past, {_timing_key(c): results[k].seconds for k, c in enumerate(claims)})
    return [results[k] for k in range(len(claims))]


def _timing_key(claim: Claim) -> str:
    return f"{claim.derivation.name if claim.derivation else ''}:{claim.id}"


def _timings_path() -> str:
    base = os.environ.get("SYMDERIVE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "symderive")
    return os.path.join(base, "claim-seconds.json")


def _load_timings() -> dict[str, float]:
    """Seconds each claim took last time: only used to order the work."""
    try:
        with open(_timings_path()) as fh:
            data = json.load(fh)
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_timings(past: dict[str, float], new: dict[str, float]) -> None:
    path = _timings_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_text(path, json.dumps({**past, **new}))
    except OSError:
        pass  # an unwritable cache only costs the ordering
