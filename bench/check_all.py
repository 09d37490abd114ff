"""Benchmark: wall time of checking the four homework derivations (target: <= 10 s on 2
cores), idle and with two CPU-bound processes running, and of a warm run that takes every
result from the cache (target <= 1.5 s).

Runs `symderive check bn_backprop logistic_mixture gan_discriminator em_multinomial`, in
the same session, as the default parallel run and as a serial baseline (`--jobs 1`), each
as a fresh process with a fresh (empty) result cache and `--no-cache`, and prints the wall
and CPU times, the verdict counts, the CPU seconds per derivation and outside the claims,
the 10 claims that took the most CPU, and the children's peak memory.  With
`--load`, the parallel run is repeated with two busy-loop processes on the machine, and
the verdicts are compared with the idle run's (they must be identical).  Then it fills a
fresh cache folder once and times warm runs on the unchanged homework, reported side by
side with the parallel run.  Not a timed test.

    python bench/check_all.py [--repeat N] [--timeout S] [--load]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGETS = ["bn_backprop", "logistic_mixture", "gan_discriminator", "em_multinomial"]
TARGET_SECONDS = 10.0
BUSY = "while True: pass"


#: CPU seconds (user + system) of the last run's process and its workers
LAST_CPU = [0.0]
#: CPU seconds of each claim of the last run with a fresh cache ("derivation:id"), as
#: the runner records them to order the next run
LAST_CLAIMS: dict[str, float] = {}


def run(args: list[str], env: dict | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as cache:  # no result cache carried over
        fresh = env is None
        env = env or {**os.environ, "SYMDERIVE_CACHE": cache}
        proc = subprocess.run([sys.executable, "-m", "symderive.cli", "check", *TARGETS,
                               "--json", *args], capture_output=True, text=True, env=env)
        if fresh:
            LAST_CLAIMS.clear()
            LAST_CLAIMS.update(_claim_cpu(cache))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"symderive check failed ({proc.returncode}):\n{proc.stderr}")
    return wall, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", default=None,
                        help="budget per claim in CPU seconds (default: the checker's own)")
    parser.add_argument("--load", action="store_true",
                        help="also run with two CPU-bound processes and compare verdicts")
    args = parser.parse_args()
    budget = _budget(args)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    rows = {"parallel (default)": [], "serial baseline (--jobs 1)": []}
    cpu: dict = {name: [] for name in rows}
    last, claim_cpu = {}, {}
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        for name, extra in (("parallel (default)", []),
                            ("serial baseline (--jobs 1)", ["--jobs", "1"])):
            wall, doc = run([*budget, "--no-cache", *extra])
            rows[name].append(wall)
            cpu[name].append(LAST_CPU[0])
            last[name] = doc
            if name.startswith("parallel"):
                claim_cpu = dict(LAST_CLAIMS)
    for name, walls in rows.items():
        s = last[name]["summary"]
        counts = ", ".join(f"{s[v]} {v}" for v in ("proved", "verified", "refuted",
                                                     "undecided", "error"))
        print(f"{name:<28} median {statistics.median(walls):6.2f} s  "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls)}; CPU median "
              f"{statistics.median(cpu[name]):.1f} s)  {counts}")
    print(f"load average after the cold runs: {os.getloadavg()[0]:.2f} (wall times above "
          "include waiting for the cores; the CPU seconds do not)")
    base = statistics.median(rows["serial baseline (--jobs 1)"])
    par = statistics.median(rows["parallel (default)"])
    print(f"speed-up of the default over the serial baseline: {base / par:.2f}x; "
          f"target: parallel <= {TARGET_SECONDS:g} s -> "
          f"{'met' if par <= TARGET_SECONDS else 'NOT met'}")
    if args.load:
        busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
        try:
            wall, doc = run([*budget, "--no-cache"])
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
        idle, loaded = _verdicts(last["parallel (default)"]), _verdicts(doc)
        print(f"with two busy processes: {wall:6.2f} s ({wall / par:.2f}x idle); verdicts "
              f"{'identical' if idle == loaded else 'DIFFER'}")
        for key in sorted(k for k in idle if idle[k] != loaded.get(k)):
            print(f"  {key[0]}:{key[1]}  idle {idle[key]}, loaded {loaded.get(key)}")
    cpu_report(last["parallel (default)"], claim_cpu, cpu["parallel (default)"][-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of a check process: {peak:.0f} MB")
    warm_cache(args, par)


def _claim_cpu(cache: str) -> dict[str, float]:
    try:
        with open(os.path.join(cache, "claim-seconds.json")) as fh:
            return {str(k): float(v) for k, v in json.load(fh).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def cpu_report(doc: dict, claim_cpu: dict[str, float], total: float) -> None:
    """Where the CPU of the last parallel run went: per derivation, the rest (the parent
    process: imports, loading, planning, reporting; starting the workers), and the ten
    claims that took the most (a restatement shares its first statement's check)."""
    rows = [(claim_cpu.get(f"{d['name']}:{c['id']}", 0.0), c["seconds"],
             f"{d['name']}:{c['id']}", c["verdict"])
            for d in doc["derivations"] for c in d["claims"]]
    print("CPU seconds of the last parallel run, by derivation:")
    for d in doc["derivations"]:
        mine = [r for r in rows if r[2].startswith(f"{d['name']}:")]
        print(f"  {d['name']:<24} {sum(r[0] for r in mine):7.2f} CPU s over "
              f"{len(mine)} claims")
    claims = sum(r[0] for r in rows)
    print(f"  {'(not in a claim)':<24} {total - claims:7.2f} CPU s of {total:.2f} in all")
    print("the 10 claims that took the most CPU:")
    for cpu, wall, cid, verdict in sorted(rows, reverse=True)[:10]:
        print(f"  {cid:<36} {verdict:<10} {cpu:6.2f} CPU s  ({wall:6.2f} s wall)")


def _budget(args) -> list[str]:
    """``--timeout`` for the checker when one is given; otherwise its own default."""
    return ["--timeout", args.timeout] if args.timeout else []


def warm_cache(args, cold: float) -> None:
    """Warm `check all`: every claim from a cache filled by one run just before."""
    budget = _budget(args)
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SYMDERIVE_CACHE": folder}
        run(budget, env)  # fills the cache
        walls, cpus = [], []
        for _ in range(max(args.repeat, 3)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, doc = run(budget, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    warm = statistics.median(walls)
    print(f"{'warm cache (unchanged)':<28} median {warm:6.2f} s  "
          f"(runs: {', '.join(f'{w:.2f}' for w in walls)}; CPU median "
          f"{statistics.median(cpus):.2f} s); {doc['summary']['seconds']:.2f} s in the run")
    print(f"warm over the parallel run: {warm / cold:.3f} ({cold / warm:.0f}x faster); "
          f"target: warm <= 1.5 s -> {'met' if warm <= 1.5 else 'NOT met'} "
          f"(load average {os.getloadavg()[0]:.2f})")


def _verdicts(doc: dict) -> dict:
    return {(d["name"], c["id"]): c["verdict"] for d in doc["derivations"]
            for c in d["claims"]}


if __name__ == "__main__":
    main()
