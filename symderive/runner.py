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
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

import sympy as sp

from .atomic import atomic_write_text
from .cache import Store, context_text, key, statement_text
from .check import Evidence, Outcome, Verdict, check_claim
from .config import DEFAULT_TIMEOUT, cache_dir
from .derivation import Claim, StationaryClaim
from .options import CheckOptions

if TYPE_CHECKING:
    from .repair.run import Options as RepairOptions
    from .repair.search import Hint

WALL_FACTOR = 60.0  # wall-clock safety net, in budgets (a worker waiting, not computing)
POLL = 0.05         # seconds between looks at the workers' CPU time


@dataclass
class ClaimResult:
    derivation: str
    id: str
    equation: str | None
    verdict: Verdict
    expected: str | None
    method: str
    seconds: float
    counterexample: dict | None
    message: str | None
    erratum: str | None = None
    #: the ``evidence`` object of the JSON contract (see :meth:`Evidence.to_json`)
    evidence: dict = dataclasses.field(default_factory=lambda: Evidence().to_json())
    #: sampled points that decided nothing (both sides non-real, or one undefined); the
    #: message states the count, and the JSON contract does not carry it
    skipped: int = 0
    #: the id of an earlier claim with the same statement, whose check this result shares
    same_as: str | None = None
    #: taken from the result cache (:mod:`symderive.cache`), not checked in this run
    cached: bool = False
    # -- repair hints (symderive.repair): None when no search ran ---------------------
    repair: list[Hint] | None = None
    repair_exhausted: bool = False
    repair_capped: bool = False
    repair_candidates: int = 0

    def to_json(self) -> dict:
        """Exactly the fields of the published JSON contract, nothing more."""
        return {"id": self.id, "equation": self.equation, "verdict": self.verdict,
                "expected": self.expected, "method": self.method,
                "seconds": round(self.seconds, 4), "counterexample": self.counterexample,
                "message": self.message, "evidence": self.evidence,
                "repair": None if self.repair is None else [h.to_json() for h in self.repair],
                "repair_exhausted": self.repair_exhausted}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_claims`: the workers are stopped; ``results`` holds, in
    the order of the claims, the result of each claim that finished (None for the rest)."""

    def __init__(self, results: list[ClaimResult | None]):
        super().__init__()
        self.results = results


def _worker(claim: Claim, options: CheckOptions, conn) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers and reports what finished
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def emit(kind: str, outcome: Outcome) -> None:
        conn.send((kind, asdict(outcome)))

    try:
        # repairs run after the check, in run_claims; the seed and the repair settings
        # are part of the cache key
        outcome = check_claim(claim, emit, options.seed)
        emit("final", outcome)
    except Exception as exc:  # a claim that cannot be built is reported, not raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                      if claim.derivation and claim.derivation.file
                      and os.path.samefile(f.filename, claim.derivation.file)), None)
        msg = f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")
        emit("final", Outcome(Verdict.ERROR, "build", msg))
    finally:
        conn.close()


def _result(claim: Claim, data: dict, seconds: float) -> ClaimResult:
    evidence = Evidence(**data["evidence"]) if data.get("evidence") else Evidence(seed=None)
    evidence.method = evidence.method or data["method"]
    return ClaimResult(
        derivation=claim.derivation.name, id=claim.id, equation=claim.equation,
        verdict=Verdict(data["verdict"]), expected=claim.expected, method=data["method"],
        seconds=seconds, counterexample=data.get("counterexample"),
        message=data.get("message"), erratum=claim.erratum, evidence=evidence.to_json(),
        skipped=int(data.get("skipped") or 0))


def fingerprint(claim: Claim) -> tuple:
    """What a claim states; two claims with the same fingerprint are checked once.

    The document restates its results ("In conclusion"), and those restatements are the
    very same expressions, so checking them again would only repeat the evidence.  The key
    is the full content, never a name: the claim's expressions, every definition in scope
    (body and parameters), every variable's kind, shape and domain, the dimensions' sizes
    and the indices' ranges.  Two derivations that happen to share a name, or a symbol
    name with another meaning, never share a verdict.
    """
    extra = ()
    exprs = [claim.lhs, claim.rhs, *claim.given, *claim.unknowns]
    if isinstance(claim, StationaryClaim):
        extra = (claim.f, claim.variables, claim.constraints, tuple(claim.point.items()),
                 claim.maximum, claim.minimum, claim.local, tuple(claim.domain.items()))
        exprs += [claim.f, *claim.variables, *claim.constraints, *claim.point.keys(),
                  *claim.point.values()]
    sizes = tuple(tuple(sorted(s.items(), key=str)) for s in claim.sizes or ())
    return (type(claim).__name__, claim.lhs, claim.rhs, claim.given, claim.unknowns,
            sizes, extra, _scope(claim, exprs))


def _scope(claim: Claim, exprs: list) -> tuple:
    """Everything the claim's expressions mean, through the derivation they live in."""
    d = claim.derivation
    if d is None:
        return ()
    names = sorted(d.var_names(*exprs))
    out = []
    for n in names:
        if n in d.vars:
            v = d.vars[n]
            out.append(("var", n, v.kind, tuple(v.shape), repr(v.assume)))
        elif sp.Symbol(n) in d.defs:
            defn = d.defs[sp.Symbol(n)]
            out.append(("def", n, defn.body, defn.params))
    dims = tuple(sorted(((str(k), v) for k, v in d.dims.items()), key=str))
    indices = tuple(sorted(((str(k), v) for k, v in d.indices.items()), key=str))
    return (tuple(out), dims, indices, d.proof_sizes)


def restatements(claims: Sequence[Claim]) -> dict[int, int]:
    """``{k: j}``: claim ``k`` states what the earlier claim ``j`` states (see
    :func:`fingerprint`), so it shares ``j``'s check."""
    first: dict[tuple, int] = {}
    alias = {}
    for k, claim in enumerate(claims):
        try:
            key = fingerprint(claim)
        except TypeError:  # unhashable content: check it on its own
            continue
        if key in first:
            alias[k] = first[key]
        else:
            first[key] = k
    return alias


def restated(src: ClaimResult, claim: Claim) -> ClaimResult:
    """The result of ``claim``, which restates the claim ``src`` is the result of."""
    return dataclasses.replace(
        src, id=claim.id, equation=claim.equation, expected=claim.expected,
        erratum=claim.erratum, seconds=0.0, same_as=src.id,
        message=f"same statement as claim {src.id}, checked once; {src.message or ''}"
        .rstrip("; "))


#: the fields of a result that come from the claim (the rest is what the cache keeps,
#: found from the dataclass, so that a field added later is kept too)
_FROM_CLAIM = ("derivation", "id", "equation", "expected", "erratum", "same_as", "cached")


def _cached_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(ClaimResult) if f.name not in _FROM_CLAIM)


def result_key(claim: Claim, options: CheckOptions) -> str:
    """The cache key of a claim's result: what it states, the part of its derivation it
    depends on, the options that change a result, and the checker's source."""
    context = context_text(claim.derivation, claim) if claim.derivation else ""
    return key("claim-result", statement_text(claim), context, options.key_fields())


def _to_cache(result: ClaimResult) -> dict:
    out = {f: getattr(result, f) for f in _cached_fields()}
    if result.repair is not None:  # hints without the in-process expression
        out["repair"] = [{**asdict(h), "expr": None} for h in result.repair]
    return out


def _from_cache(claim: Claim, data: dict) -> ClaimResult:
    kept = {name: data[name] for name in _cached_fields() if name in data}
    if kept.get("repair") is not None:
        from .repair.search import Hint

        kept["repair"] = [Hint(**{**h, "verdict": Verdict(h["verdict"]),
                                  "order": tuple(h.get("order") or ())})
                          for h in kept["repair"]]
    kept["verdict"] = Verdict(kept["verdict"])
    kept["evidence"] = Evidence.from_json(kept.get("evidence"), kept["method"]).to_json()
    return ClaimResult(derivation=claim.derivation.name, id=claim.id,
                       equation=claim.equation, expected=claim.expected,
                       erratum=claim.erratum, cached=True, **kept)


def run_claims(claims: Sequence[Claim], timeout: float | None = None,
               jobs: int | None = None,
               progress: Callable[[ClaimResult], None] | None = None, *,
               options: CheckOptions | None = None,
               repair: RepairOptions | None = None) -> list[ClaimResult]:
    """Check ``claims`` in parallel; results come back in the order given.

    ``options`` (default: the budget ``timeout``, no result cache and no repair search)
    are passed down to every check; with ``options.cache`` a claim whose key
    (:func:`result_key`) is in the store is not checked again, and with
    ``options.repair`` each refuted claim gets a search for repair hints before it is
    reported (``repair``: the search's own options, which then override
    ``options.repair``).  ``progress`` is called with each result as it is known.
    Ctrl-C stops the workers and raises :class:`Interrupted` with the results that
    finished.
    """
    if options is None:
        options = CheckOptions(timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                               cache=False, repair=repair is not None)
    alias = restatements(claims)
    unique = [k for k in range(len(claims)) if k not in alias]
    done: dict[int, ClaimResult] = {}
    store = Store("results") if options.cache else None
    keys: dict[int, str] = {}

    repair = repair if repair is not None else options.repair_search()
    to_repair: dict[int, tuple[ClaimResult, bool]] = {}

    def finished(k: int, result: ClaimResult, cacheable: bool = True) -> None:
        if (repair is not None and result.verdict == Verdict.REFUTED and not result.cached
                and result.repair is None and k not in to_repair):
            to_repair[k] = (result, cacheable)  # shown once its search has run
            return
        done[k] = result
        if store is not None and cacheable and not result.cached:
            store.put(keys[k], _to_cache(result))
        if progress:
            progress(result)
        for j in [j for j, src in alias.items() if src == k]:
            done[j] = restated(result, claims[j])
            if progress:
                progress(done[j])

    try:
        if store is not None:
            for k in unique:
                keys[k] = result_key(claims[k], options)
                hit = store.get(keys[k])
                try:
                    cached = None if hit is None else _from_cache(claims[k], hit)
                except (KeyError, TypeError, ValueError):  # an entry we cannot read: a miss
                    cached = None
                if cached is not None:
                    finished(k, cached)
        todo = [k for k in unique if k not in done]
        _run_unique([claims[k] for k in todo], options, jobs,
                    lambda i, r, ok: finished(todo[i], r, ok))
        if to_repair:
            _attach_repairs({k: claims[k] for k in to_repair},
                            {k: r for k, (r, _) in to_repair.items()}, repair, jobs)
            for k in sorted(to_repair):
                finished(k, *to_repair[k])
    except KeyboardInterrupt:
        for k, (r, _) in to_repair.items():  # refuted, with or without its hints
            done.setdefault(k, r)
        raise Interrupted([done.get(k) for k in range(len(claims))]) from None
    return [done[k] for k in range(len(claims))]


def _attach_repairs(claims: dict, results: dict, options, jobs: int | None) -> None:
    """Search repairs for the refuted claims and record them on their results."""
    from .repair.run import repair_many  # the search prints with the LaTeX printer

    keys = list(results)
    for k, found in zip(keys, repair_many([claims[k] for k in keys], options, jobs)):
        r = results[k]
        r.repair, r.repair_exhausted = found.hints, found.exhausted
        r.repair_capped, r.repair_candidates = found.capped, found.candidates
        if found.capped:
            note = (f"the repair search stopped at its {options.seconds:g} s safety cap "
                    f"after {found.candidates} candidates")
            r.message = f"{r.message}; {note}" if r.message else note


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a live process has used, from /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _spent(entry: list, now: float) -> float:
    """Budget used by one worker: its CPU time, or wall time where that is unknown (and
    never less than the wall time over :data:`WALL_FACTOR`, the safety net)."""
    cpu = _cpu_seconds(entry[2].pid)
    wall = now - entry[3]
    return wall if cpu is None else max(cpu, wall / WALL_FACTOR)


def _run_unique(claims: Sequence[Claim], options: CheckOptions, jobs: int | None,
                done: Callable[[int, ClaimResult, bool], None]) -> None:
    """Check each claim in a worker process of its own; ``done(index, result,
    cacheable)`` as each finishes (not cacheable: its worker died).  Ctrl-C kills the
    workers and re-raises."""
    if not claims:
        return
    timeout = options.timeout
    ctx = mp.get_context("fork")
    jobs = max(1, jobs or os.cpu_count() or 1)
    past = _load_timings()
    # longest first (as far as earlier runs tell), so that no long claim starts last
    pending = sorted(enumerate(claims), key=lambda t: -past.get(_timing_key(t[1]), 0.0))
    active: dict = {}  # conn -> (index, claim, process, start, last numeric data)
    seconds: dict[str, float] = {}

    def finish(conn, data: dict | None, note: str | None = None) -> None:
        index, claim, proc, start, numeric = active.pop(conn)
        took = time.perf_counter() - start
        if data is None:
            if numeric is not None:  # sampling done (and perhaps some sizes proved)
                data = dict(numeric)
                what = ("the proof at larger sizes" if data["verdict"] == Verdict.PROVED
                        else "the symbolic proof")
                data["message"] = (f"{data.get('message') or ''}; {what} did not "
                                   f"finish within {timeout:g} CPU s").lstrip("; ")
            else:
                data = {"verdict": Verdict.UNDECIDED, "method": "timeout",
                        "message": note or f"budget of {timeout:g} CPU s ran out"}
        _stop(proc)
        conn.close()
        seconds[_timing_key(claim)] = took
        done(index, _result(claim, data, took), note is None)

    try:
        while pending or active:
            while pending and len(active) < jobs:
                index, claim = pending.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(claim, options, child), daemon=True)
                # the child must not see a Ctrl-C before it has set its handler
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    proc.start()
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
    except KeyboardInterrupt:
        for conn, entry in active.items():
            _stop(entry[2])
            conn.close()
        raise
    _save_timings(past, seconds)


def _stop(proc) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join()


def _timing_key(claim: Claim) -> str:
    return f"{claim.derivation.name if claim.derivation else ''}:{claim.id}"


def _timings_path() -> str:
    return os.path.join(cache_dir(), "claim-seconds.json")


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
