"""Run the repair search of a refuted claim in a process, under a CPU cap: in the claim
workers of :mod:`symderive.runner` (:func:`serve` there, :class:`Heard` here), or in a
process of its own (:func:`repair_many`).

The candidate budget is what normally ends a search.  The cap is only a safety net, and
it counts the search process's own CPU seconds, not wall-clock seconds, so that a busy
machine does not change the hints: the search stops itself at the cap between
candidates, and the process is killed shortly after if a check of a candidate is still
running (a wall-clock limit of ``WALL_FACTOR`` caps stays as the last net).  Hints arrive as they
are found (and again when a verified one is proved), so whatever was found before the
cap still counts.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait

from ..cputime import WALL_FACTOR, cpu_seconds
from ..derivation import Claim
from .search import DEFAULT_BUDGET, DEFAULT_SECONDS, Hint, Repair, ranked, search

POLL = 0.05  # seconds between looks at the searches' CPU time
GRACE = 0.5  # CPU seconds a process may overrun the cap (a candidate check finishing)



@dataclass
class Options:
    """``--repair-budget`` and the safety cap; ``None`` options mean ``--no-repair``."""

    budget: int = DEFAULT_BUDGET
    seconds: float = DEFAULT_SECONDS


def serve(claim: Claim, options: Options, send: Callable[[str, object], None]) -> None:
    """Search repairs of ``claim`` in this process, telling ``send(kind, data)`` of each
    hint as it is found (``hint``), of the end of the search proper (``searched``) and
    of the end (``done``, or ``failed`` with the error): what :class:`Heard` collects.
    The cap counts this process's CPU seconds from now."""
    try:
        deadline = time.process_time() + options.seconds  # this process's CPU

        def report(hint: Hint) -> None:
            # the expression stays here: its classes may live in a derivation file
            send("hint", {**asdict(hint), "expr": None})

        def searched(out: Repair) -> None:
            send("searched", _summary(out))

        out = search(claim, options.budget, report, deadline, searched)
        send("done", _summary(out))
    except Exception as exc:  # noqa: BLE001 - a failed search is reported, never raised
        send("failed", f"{type(exc).__name__}: {exc}")


def _worker(claim: Claim, options: Options, conn) -> None:
    try:
        serve(claim, options, lambda kind, data: conn.send((kind, data)))
    finally:
        conn.close()


class Heard:
    """What the parent has heard of one search (see :func:`serve`), and the
    :class:`Repair` it makes, also when the search was killed or died before its end."""

    KINDS = ("hint", "searched", "done", "failed")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.hints: dict[str, Hint] = {}   # by formula: a proved hint replaces its verified self
        self.summary: dict | None = None  # the search proper's, once it is over

    def hear(self, kind: str, data) -> dict | None:
        """Take one message; the final data once the search is over (else None)."""
        if kind == "hint":
            self.hints[data["formula"]] = Hint(**data)
        elif kind == "searched":
            self.summary = {**data, "search_seconds": time.perf_counter() - self.start}
        else:
            return data if kind == "done" else {}
        return None

    def repair(self, data: dict | None) -> Repair:
        """The outcome, from the final ``data`` (None or empty: killed or dead)."""
        # killed while proving the best hints: the search itself had finished, and the
        # hints stay as the checker's sampling verified them
        data = data or self.summary or {"capped": True}
        seconds = time.perf_counter() - self.start
        searched = (self.summary or {}).get("search_seconds", seconds)
        return Repair(ranked(list(self.hints.values())), bool(data.get("exhausted")),
                      bool(data.get("capped")), int(data.get("candidates", 0)),
                      seconds, searched)


def _spent(pid: int, wall: float) -> float:
    """A search's CPU seconds (wall seconds where /proc is missing), and never less than
    its wall seconds over ``WALL_FACTOR``."""
    cpu = cpu_seconds(pid)
    return wall if cpu is None else max(cpu, wall / WALL_FACTOR)


def _summary(out: Repair) -> dict:
    return {"exhausted": out.exhausted, "capped": out.capped, "candidates": out.candidates}


def repair_many(claims: Sequence[Claim], options: Options, jobs: int | None = None
                ) -> list[Repair]:
    """One search per claim (each assumed refuted), ``jobs`` at a time, each in a
    process of its own."""
    ctx = mp.get_context("fork")
    jobs = max(1, jobs or os.cpu_count() or 1)
    pending = list(enumerate(claims))
    active: dict = {}  # conn -> (index, process, Heard)
    out: dict[int, Repair] = {}

    def finish(conn, data: dict | None) -> None:
        index, proc, heard = active.pop(conn)
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()
        out[index] = heard.repair(data)

    while pending or active:
        while pending and len(active) < jobs:
            index, claim = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(claim, options, child), daemon=True)
            proc.start()
            child.close()
            active[parent] = (index, proc, Heard())
        limit = options.seconds + GRACE
        for conn in wait(list(active), timeout=POLL):
            try:
                kind, data = conn.recv()
            except (EOFError, OSError):
                finish(conn, {})
                continue
            final = active[conn][2].hear(kind, data)
            if final is not None:
                finish(conn, final)
        now = time.perf_counter()
        for conn in [c for c, (_, proc, heard) in active.items()
                     if _spent(proc.pid, now - heard.start) >= limit]:
            finish(conn, None)
    return [out[k] for k in range(len(claims))]
