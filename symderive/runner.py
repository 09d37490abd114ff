"""Run claim checks in long-lived worker processes, each claim with a budget of CPU seconds.

``jobs`` forked workers each check many claims in turn, so that what one claim computes
(SymPy's cache, instantiated definitions, translations, imports done on first use) is
there for the next; claims of one derivation go to the same worker where that keeps the
longest claims first.  A worker reports a claim's numeric outcome as soon as sampling is
done, then tries the proof; when the claim's budget runs out the worker is killed (a
runaway ``simplify`` can never hang the run), the sampling evidence already received
still decides the verdict (``verified``, never ``proved``), and a fresh worker takes over
the remaining claims.  A refuted claim's repair search (:mod:`symderive.repair`) is a
task of its own, for the next free worker, under its own cap of CPU seconds, so that it
runs while the other claims are checked.

The budget counts the CPU time the worker spends on that claim, not wall-clock time, so
that a busy machine (other processes competing for the cores) does not change any
verdict; a wall-clock limit of :data:`WALL_FACTOR` times the budget stays as a safety net
(on a machine so busy that a worker gets under 1/60 of a core, that net could still
decide).  A worker restores the global random states it was forked with before each
claim, so no verdict depends on the claims a worker checked before.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import multiprocessing as mp
import os
import random
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from .atomic import atomic_write_text
from .cache import Store, context_text, key, statement_text
from .check import Evidence, Outcome, Verdict, check_claim
from .config import DEFAULT_TIMEOUT, cache_dir
from .cputime import WALL_FACTOR
from .cputime import cpu_seconds as _cpu_seconds
from .derivation import Claim, StationaryClaim
from .options import CheckOptions

if TYPE_CHECKING:
    from .repair.run import Heard
    from .repair.run import Options as RepairOptions
    from .repair.search import Hint

POLL = 0.05         # seconds between looks at the workers' CPU time, near a budget's end
REPAIR = "repair"   # the task of a repair search, sent as (REPAIR, index)
#: a worker's garbage-collection thresholds (Python's default: 700, 10, 10).  A check
#: makes millions of short-lived SymPy objects; at 700 the worker ran a full collection,
#: over every object its caches hold, every few seconds: 12 % of bn_backprop's CPU time,
#: ~9 % on the whole homework (halved with these; larger thresholds gain no more)
WORKER_GC = (5000, 10, 10)
AFFINITY = 0.5      # a worker keeps to its derivation for a claim expected to take at least
                    # this fraction of the longest claim waiting


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


def _serve(claims: Sequence[Claim], options: CheckOptions, conn,
           repair: RepairOptions | None = None) -> None:
    """A worker: for each ``index`` received, check ``claims[index]``, sending
    ``(index, kind, outcome)`` messages, the last of each claim of kind ``final``; for
    each ``(REPAIR, index)``, search repairs of that (refuted) claim, sending
    ``(index, kind, data)`` messages as :class:`symderive.repair.run.Heard` takes them.
    None: stop."""
    # Ctrl-C is the parent's to handle: it stops the workers and reports what finished
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    gc.freeze()  # the inherited objects: never traversed (nor copied) by this worker's gc
    gc.set_threshold(*WORKER_GC)
    fresh = _random_states()
    parent = os.getppid()
    while (task := _next_index(conn, parent)) is not None:
        _set_random_states(fresh)  # each claim starts as in a process of its own
        if isinstance(task, tuple):  # (REPAIR, index)
            from .repair.run import serve

            index = task[1]
            serve(claims[index], repair,
                  lambda kind, data, index=index: conn.send((index, kind, data)))
            continue
        index = task

        def emit(kind: str, outcome: Outcome, index: int = index) -> None:
            conn.send((index, kind, asdict(outcome)))

        emit("final", _check(claims[index], options, emit))


def _next_index(conn, parent: int) -> int | tuple | None:
    """The next task; None to stop, also when the parent process has gone (a
    worker forked later holds a copy of this pipe's other end, so no end of file comes)."""
    while not conn.poll(1.0):
        if os.getppid() != parent:
            return None
    return conn.recv()


def _check(claim: Claim, options: CheckOptions, emit: Callable) -> Outcome:
    """The final outcome of one claim; an exception is an ``error`` naming the line of the
    derivation file it came from."""
    try:
        # a refuted claim's repair search is a task of its own (see _run_unique); the
        # seed and the repair settings are part of the cache key
        return check_claim(claim, emit, options.seed)
    except Exception as exc:  # a claim that cannot be built is reported, not raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                      if claim.derivation and claim.derivation.file
                      and os.path.samefile(f.filename, claim.derivation.file)), None)
        msg = f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")
        return Outcome(Verdict.ERROR, "build", msg)


def _random_states() -> tuple:
    """The global random generators' states (Python's and NumPy's)."""
    return random.getstate(), np.random.get_state()


def _set_random_states(states: tuple) -> None:
    random.setstate(states[0])
    np.random.set_state(states[1])


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
    return (*_statement(claim), _scope(claim, _expressions(claim)))


def _statement(claim: Claim) -> tuple:
    """The part of :func:`fingerprint` the claim states itself, without its scope: cheap,
    and enough to tell most claims apart."""
    extra = ()
    if isinstance(claim, StationaryClaim):
        extra = (claim.f, claim.variables, claim.constraints, tuple(claim.point.items()),
                 claim.maximum, claim.minimum, claim.local, tuple(claim.domain.items()))
    sizes = tuple(tuple(sorted(s.items(), key=str)) for s in claim.sizes or ())
    return (type(claim).__name__, claim.lhs, claim.rhs, claim.given, claim.unknowns,
            sizes, extra)


def _expressions(claim: Claim) -> list:
    exprs = [claim.lhs, claim.rhs, *claim.given, *claim.unknowns]
    if isinstance(claim, StationaryClaim):
        exprs += [claim.f, *claim.variables, *claim.constraints, *claim.point.keys(),
                  *claim.point.values()]
    return exprs


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
    :func:`fingerprint`), so it shares ``j``'s check.  Only claims whose statement
    (:func:`_statement`, part of the fingerprint) is shared are fingerprinted in full:
    the scope's walk through every expression is the costly part, and a claim stating
    something no other claim states can restate none."""
    stated: dict[tuple, int] = {}
    shared: set[int] = set()
    for k, claim in enumerate(claims):
        try:
            key = _statement(claim)
            j = stated.setdefault(key, k)
        except TypeError:  # unhashable content: check it on its own
            continue
        if j != k:
            shared |= {j, k}
    first: dict[tuple, int] = {}
    alias = {}
    for k in sorted(shared):
        try:
            key = fingerprint(claims[k])
        except TypeError:  # unhashable content: check it on its own
            continue
        if key in first:
            alias[k] = first[key]
        else:
            first[key] = k
    return alias


def restated(src: ClaimResult, claim: Claim) -> ClaimResult:
    """The result of ``claim``, which restates the claim ``src`` is the result of, in the
    same derivation or in another one (named then, as ``NAME:ID``: two files that state
    the same identity; the result kept ``src``'s derivation, and the report, finding no
    such claim there, stopped the whole run with a KeyError)."""
    name = claim.derivation.name if claim.derivation is not None else src.derivation
    source = src.id if name == src.derivation else f"{src.derivation}:{src.id}"
    return dataclasses.replace(
        src, derivation=name, id=claim.id, equation=claim.equation,
        expected=claim.expected, erratum=claim.erratum, seconds=0.0, same_as=source,
        message=f"same statement as claim {source}, checked once; {src.message or ''}"
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
    waiting: dict[int, ClaimResult] = {}  # refuted, their repair search under way

    def finished(k: int, result: ClaimResult, cacheable: bool = True) -> None:
        done[k] = result
        if store is not None and cacheable and not result.cached:
            store.put(keys[k], _to_cache(result))
        if progress:
            progress(result)
        for j in [j for j, src in alias.items() if src == k]:
            done[j] = restated(result, claims[j])
            if progress:
                progress(done[j])

    todo: list[int] = []
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
                    lambda i, r, ok: finished(todo[i], r, ok), repair, waiting)
    except KeyboardInterrupt:
        for i, r in waiting.items():  # refuted, without the hints still searched for
            done.setdefault(todo[i], r)
        raise Interrupted([done.get(k) for k in range(len(claims))]) from None
    return [done[k] for k in range(len(claims))]


def _attach(result: ClaimResult, found, options: RepairOptions) -> None:
    """Record the repair search's outcome ``found`` on a refuted claim's result."""
    result.repair, result.repair_exhausted = found.hints, found.exhausted
    result.repair_capped, result.repair_candidates = found.capped, found.candidates
    if found.capped:
        note = (f"the repair search stopped at its {options.seconds:g} s safety cap "
                f"after {found.candidates} candidates")
        result.message = f"{result.message}; {note}" if result.message else note


@dataclass(eq=False)  # one per process: compared, and hashed, by identity
class _Worker:
    """A long-lived worker process and the claim it is checking (index None: idle)."""
    proc: mp.Process
    conn: object
    index: int | None = None
    derivation: str | None = None   # of the claim it checked last
    start: float = 0.0              # wall clock when the claim was sent
    cpu: float | None = None        # the worker's CPU seconds then (None: unknown)
    numeric: dict | None = None     # the claim's last numeric (or partial proof) outcome
    heard: Heard | None = None      # the repair search it runs (None: it checks a claim)

    def spent(self, now: float) -> float:
        """Budget used by the current claim: the worker's CPU seconds since the claim was
        sent, or wall time where that is unknown (and never less than the wall time over
        :data:`WALL_FACTOR`, the safety net)."""
        cpu = _cpu_seconds(self.proc.pid)
        wall = now - self.start
        if cpu is None or self.cpu is None:
            return wall
        return max(cpu - self.cpu, wall / WALL_FACTOR)


def _start_worker(ctx, claims: Sequence[Claim], options: CheckOptions,
                  repair: RepairOptions | None = None) -> _Worker:
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(claims, options, child, repair), daemon=True)
    # the child must not see a Ctrl-C before it has set its handler
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    child.close()
    return _Worker(proc, parent)


def _derivation_name(claim: Claim) -> str:
    return claim.derivation.name if claim.derivation else ""


def _pick(pending: list[int], expected: Callable[[int], float],
          derivation: Callable[[int], str], last: str | None) -> int:
    """The next claim for a worker that last checked a claim of ``last``: the longest
    waiting (``pending`` is longest first), or the longest of the same derivation when
    it is expected to take at least :data:`AFFINITY` times as long, so that the
    worker's caches serve it while no long claim is left to start last."""
    floor = AFFINITY * expected(pending[0])
    for pos, k in enumerate(pending):
        if expected(k) < floor:
            break
        if derivation(k) == last:
            return pending.pop(pos)
    return pending.pop(0)


def _run_unique(claims: Sequence[Claim], options: CheckOptions, jobs: int | None,
                done: Callable[[int, ClaimResult, bool], None],
                repair: RepairOptions | None = None,
                waiting: dict[int, ClaimResult] | None = None) -> None:
    """Check the claims in ``jobs`` long-lived worker processes; ``done(index, result,
    cacheable)`` as each finishes (not cacheable: its worker died).  With ``repair``, a
    refuted claim's result waits (in ``waiting``) for its repair search, which the next
    free worker runs, under its own cap of CPU seconds, while the other claims go on
    being checked.  A worker that dies or runs out of a budget is replaced by a fresh
    one.  Ctrl-C kills the workers and re-raises."""
    if not claims:
        return
    timeout = options.timeout
    ctx = mp.get_context("fork")
    jobs = min(max(1, jobs or os.cpu_count() or 1), len(claims))
    past = _load_timings()
    keys = [_timing_key(c) for c in claims]
    waiting = {} if waiting is None else waiting
    waiting_ok: dict[int, bool] = {}  # whether each waiting result may be cached
    searches: list[int] = []  # refuted claims whose repair search waits for a worker
    if repair is not None:  # imported once, here, not in every worker
        from .repair.run import GRACE, Heard

    def expected(k: int) -> float:
        return past.get(keys[k], 0.0)

    # longest first (as far as earlier runs tell), so that no long claim starts last
    pending = sorted(range(len(claims)), key=lambda k: -expected(k))
    workers: list[_Worker] = []
    seconds: dict[str, float] = {}
    poll = POLL  # seconds until the next look at the budgets

    def finish(w: _Worker, data: dict | None, note: str | None = None) -> None:
        index, w.index = w.index, None
        claim = claims[index]
        took = time.perf_counter() - w.start
        cpu = _cpu_seconds(w.proc.pid)
        seconds[keys[index]] = took if cpu is None or w.cpu is None else cpu - w.cpu
        if data is None:
            if w.numeric is not None:  # sampling done (and perhaps some sizes proved)
                data = dict(w.numeric)
                what = ("the proof at larger sizes" if data["verdict"] == Verdict.PROVED
                        else "the symbolic proof")
                data["message"] = (f"{data.get('message') or ''}; {what} did not "
                                   f"finish within {timeout:g} CPU s").lstrip("; ")
            else:
                data = {"verdict": Verdict.UNDECIDED, "method": "timeout",
                        "message": note or f"budget of {timeout:g} CPU s ran out"}
            _retire(w)  # killed mid-claim, or dead: its caches go with it
            workers.remove(w)
        result = _result(claim, data, took)
        if repair is not None and result.verdict == Verdict.REFUTED:
            waiting[index] = result  # reported once its repair search has run
            waiting_ok[index] = note is None
            searches.append(index)
        else:
            done(index, result, note is None)

    def repaired(w: _Worker, data: dict | None) -> None:
        """The repair search of ``w`` is over (``data`` None: killed or dead)."""
        index, w.index = w.index, None
        found, w.heard = w.heard.repair(data), None
        if data is None:
            _retire(w)
            workers.remove(w)
        result = waiting.pop(index)
        _attach(result, found, repair)
        done(index, result, waiting_ok.pop(index))

    def budget(w: _Worker) -> float:
        return timeout if w.heard is None else repair.seconds + GRACE

    try:
        while pending or searches or any(w.index is not None for w in workers):
            while (pending or searches) and len(workers) < jobs:
                workers.append(_start_worker(ctx, claims, options, repair))
            for w in [w for w in workers if w.index is None]:
                if searches:  # first: the worker that refuted the claim has it in cache
                    w.index, w.heard, task = searches[0], Heard(), (REPAIR, searches.pop(0))
                elif pending:
                    w.index = task = _pick(pending, expected,
                                           lambda k: _derivation_name(claims[k]),
                                           w.derivation)
                    w.derivation = _derivation_name(claims[w.index])
                    w.numeric = None
                else:
                    break
                w.cpu = _cpu_seconds(w.proc.pid)
                w.start = time.perf_counter()
                try:
                    w.conn.send(task)
                except OSError:  # it died while waiting
                    (finish if w.heard is None else repaired)(w, None)
            busy = {w.conn: w for w in workers if w.index is not None}
            for conn in wait(list(busy), timeout=poll):
                w = busy[conn]
                if w.index is None:  # its task ended on an earlier message of this round
                    continue
                try:
                    index, kind, data = conn.recv()
                except (EOFError, OSError):
                    if w.heard is None:
                        finish(w, None, "the worker process died")
                    else:
                        repaired(w, None)
                    continue
                if index != w.index:  # cannot happen: one task at a time
                    continue
                if w.heard is not None:
                    final = w.heard.hear(kind, data)
                    if final is not None:
                        repaired(w, final)
                elif kind in ("numeric", "proof"):
                    w.numeric = data
                else:
                    finish(w, data)
            now = time.perf_counter()
            left = {w: budget(w) - w.spent(now) for w in workers if w.index is not None}
            for w in [w for w, s in left.items() if s <= 0]:
                (finish if w.heard is None else repaired)(w, None)
            poll = _poll([s for s in left.values() if s > 0], timeout)
    except KeyboardInterrupt:
        for w in workers:
            _retire(w)
        raise
    for w in workers:
        _retire(w)
    _save_timings(past, seconds)


def _poll(left: list[float], timeout: float) -> float:
    """Seconds until the next look at the workers' CPU time, given the budgets ``left``:
    a worker cannot use more than ~2 CPU seconds per second (its own thread and a
    numeric library's), so half the least left is safe; never less than :data:`POLL`,
    never over a second."""
    return min(1.0, max(POLL, min(left, default=timeout) / 2))


def _retire(w: _Worker) -> None:
    _stop(w.proc)
    w.conn.close()


def _stop(proc) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join()


def _timing_key(claim: Claim) -> str:
    return f"{claim.derivation.name if claim.derivation else ''}:{claim.id}"


def _timings_path() -> str:
    return os.path.join(cache_dir(), "claim-seconds.json")


def _load_timings() -> dict[str, float]:
    """CPU seconds each claim took last time (wall seconds where the CPU time is
    unknown): only used to order the work, and read by bench/check_all.py."""
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
