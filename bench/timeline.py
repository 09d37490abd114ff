"""Benchmark: where the wall time of checking the four homework derivations goes.

Runs the check in this process as ``symderive check ... --no-cache`` does (fresh, empty
result cache unless ``--keep-timings``), and prints

- the parent's phases: imports, loading the derivations, the claims, the repair search,
- a per-worker timeline: each claim's start and end (wall seconds since the run began)
  and its CPU seconds, and each worker's idle time (between claims and at the end),
- the makespan of the claims against the ideal one for the per-claim CPU seconds
  measured (longest-first on ``--jobs`` workers, and the lower bound
  max(total / jobs, longest)), and the makespan the scheduler's own order gives when
  each claim takes exactly its measured CPU (what an idle machine would see).

Under load the wall times include waiting for a core; the CPU seconds and the simulated
makespans do not.  Not a timed test.

    python bench/timeline.py [--jobs N] [--keep-timings]
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
C0 = time.process_time()

import argparse  # noqa: E402
import heapq  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

TARGETS = ["bn_backprop", "logistic_mixture", "gan_discriminator", "em_multinomial"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep-timings", action="store_true",
                        help="use SYMDERIVE_CACHE as it is (the last run's timings order "
                             "the claims); default: a fresh, empty cache folder")
    args = parser.parse_args()
    if not args.keep_timings:
        os.environ["SYMDERIVE_CACHE"] = tempfile.mkdtemp(prefix="sdtimeline")

    from symderive import cli, runner
    from symderive.cputime import cpu_seconds
    t_import, c_import = time.perf_counter() - T0, time.process_time() - C0

    events: list[tuple] = []  # (wall, pid, "send"/"final", index, cpu of the worker)
    start_worker = runner._start_worker

    class Conn:
        """A worker's pipe that notes when a claim is sent and when its result comes."""

        def __init__(self, conn, pid):
            self.conn, self.pid = conn, pid

        def fileno(self):
            return self.conn.fileno()

        def send(self, task):
            key = task if isinstance(task, int) else tuple(task)
            events.append((time.perf_counter(), self.pid, "send", key,
                           cpu_seconds(self.pid)))
            self.conn.send(task)

        def recv(self):
            msg = self.conn.recv()
            if msg[1] in ("final", "done", "failed"):
                key = msg[0] if msg[1] == "final" else ("repair", msg[0])
                events.append((time.perf_counter(), self.pid, "final", key,
                               cpu_seconds(self.pid)))
            return msg

        def close(self):
            self.conn.close()

    def traced_start(ctx, claims, options, *more):
        w = start_worker(ctx, claims, options, *more)
        w.conn = Conn(w.conn, w.proc.pid)
        return w

    runner._start_worker = traced_start
    unique_claims: list = []
    run_unique = runner._run_unique

    def traced_run_unique(claims, *a, **k):
        unique_claims[:] = claims
        phases["claims start"] = time.perf_counter()
        try:
            return run_unique(claims, *a, **k)
        finally:
            phases["claims end"] = time.perf_counter()

    runner._run_unique = traced_run_unique
    phases: dict[str, float] = {}
    load_derivations = cli.load_derivations

    def traced_load(*a, **k):
        try:
            return load_derivations(*a, **k)
        finally:
            phases["loaded"] = time.perf_counter()

    cli.load_derivations = traced_load

    t = time.perf_counter()
    argv = ["check", *TARGETS, "--no-cache", "--json", "--jobs", str(args.jobs)]
    with open(os.devnull, "w") as null:
        out, sys.stdout = sys.stdout, null
        try:
            status = cli.main(argv)
        finally:
            sys.stdout = out
    end = time.perf_counter()
    print(f"exit status {status}; cpus {os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"imports                {t_import:6.2f} s wall {c_import:6.2f} CPU s")
    print(f"load + plan            {phases['claims start'] - t:6.2f} s wall "
          f"(load {phases['loaded'] - t:.2f}, plan "
          f"{phases['claims start'] - phases['loaded']:.2f})")
    print(f"claims                 {phases['claims end'] - phases['claims start']:6.2f} s wall")
    print(f"after the claims       {end - phases['claims end']:6.2f} s wall "
          "(repair search, report)")
    print(f"parent CPU in all      {time.process_time() - C0:6.2f} CPU s")
    timeline(events, unique_claims, phases["claims start"], args.jobs)


def timeline(events: list[tuple], claims: list, t0: float, jobs: int) -> None:
    sent = {}
    rows: dict[int, list] = {}
    for wall, pid, kind, index, cpu in events:
        if kind == "send":
            sent[index] = (wall, cpu)
        else:
            w0, c0 = sent[index]
            cpu_used = None if cpu is None or c0 is None else cpu - c0
            rows.setdefault(pid, []).append((w0 - t0, wall - t0, cpu_used, index))
    end = max(r[1] for rs in rows.values() for r in rs)
    costs = []
    for pid, rs in rows.items():
        busy = sum(r[1] - r[0] for r in rs)
        cpu = sum(r[2] or 0 for r in rs)
        print(f"worker {pid}: {len(rs)} claims, busy {busy:6.2f} s wall, {cpu:6.2f} CPU s, "
              f"idle {end - busy:5.2f} s (of which at the end {end - rs[-1][1]:5.2f} s)")
        for s, e, c, k in rs:
            i = k if isinstance(k, int) else k[1]
            name = f"{claims[i].derivation.name}:{claims[i].id}"
            name = name if isinstance(k, int) else f"repair search of {name}"
            print(f"    {s:7.2f} -> {e:7.2f}  {c or 0:5.2f} CPU s  {name}")
            costs.append(c or 0)
    total = sum(costs)
    print(f"tasks: {len(costs)}, {total:.2f} CPU s; makespan {end:.2f} s wall")
    lpt = _makespan(sorted(costs, reverse=True), jobs)
    print(f"ideal makespan for these CPU seconds: lower bound "
          f"{max(total / jobs, max(costs)):.2f} s, longest-first {lpt:.2f} s")
    by_index = {}
    for rs in rows.values():
        for _s, _e, c, k in rs:
            by_index[k] = c or 0
    doc = [by_index.get(k, 0) for k in range(len(claims))]
    doc += [c for k, c in by_index.items() if not isinstance(k, int)]
    print(f"document order on {jobs} workers: {_makespan(doc, jobs):.2f} s")


def _makespan(costs: list[float], jobs: int) -> float:
    """Each cost, in this order, to the worker free first."""
    free = [0.0] * jobs
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


if __name__ == "__main__":
    main()
