"""Benchmark of the compiled EM engine against the plain reference (not a test).

    python bench/em_bench.py [--ks 10 20 30 50] [--iters 10] [--rounds 3] [--json]

On the bundled 20 Newsgroups corpus, in one run:

1. time per iteration of the engine and of ``bench/reference_em.py`` for each K, from the
   same initial responsibilities, alternating engine and reference ``--rounds`` times so
   that both see the same machine load (medians of wall and CPU time);
2. agreement of the log-likelihoods, iteration by iteration (relative difference);
3. the whole Table 1 run (the document's stop rule, the 4 values of K): in process, and
   end to end as ``symderive em --json`` in a subprocess (imports, corpus cache and
   certificate cache included), with the peak memory of each.

Targets (from the issue): >= 2x faster per iteration than the reference, Table 1 under
5 s on 2 cores, peak memory under 1 GB, log-likelihoods equal to 1e-9 relative.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_em import reference_em  # noqa: E402

from symderive.corpus import load_20newsgroups  # noqa: E402
from symderive.em import MultinomialMixture, load_formulas  # noqa: E402
from symderive.em.cli import TABLE_KS, run_table  # noqa: E402
from symderive.em.kernels import SparseData  # noqa: E402


def initial_resp(seed: int, D: int, K: int) -> np.ndarray:
    resp = 1.0 - np.random.default_rng(seed).random((D, K))
    return resp / resp.sum(axis=1, keepdims=True)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def per_iteration(data, X, formulas, K: int, iters: int, rounds: int, seed: int) -> dict:
    resp0 = initial_resp(seed, X.shape[0], K)
    eng_w, eng_c, ref_w, ref_c = [], [], [], []
    model = ref = None
    for _ in range(rounds):
        stamps = []
        model = MultinomialMixture(K, init=resp0, max_iter=iters, stop="loglik", tol=1e-300,
                                   formulas=formulas, callback=lambda p, s=stamps: s.append(
                                       (time.perf_counter(), time.process_time())))
        start = (time.perf_counter(), time.process_time())
        model.fit(data)
        # the loop starts after input checks and initialisation: time each iteration
        # from the previous one's end (the first from the fit's start, a slight handicap)
        marks = [start, *stamps]
        eng_w += [b[0] - a[0] for a, b in zip(marks[:-1], marks[1:], strict=True)]
        eng_c += [b[1] - a[1] for a, b in zip(marks[:-1], marks[1:], strict=True)]
        ref = reference_em(X, resp0, max_iter=iters, tol=1e-300, stop="loglik")
        ref_w += ref.iteration_seconds
        ref_c += ref.iteration_cpu_seconds
    le, lr = np.asarray(model.log_likelihood_), np.asarray(ref.log_likelihood)
    n = min(len(le), len(lr))
    rel = float(np.max(np.abs(le[:n] - lr[:n]) / np.abs(lr[:n])))
    med = statistics.median
    return {"K": K, "iterations": int(n),
            "engine_ms": med(eng_w) * 1e3, "reference_ms": med(ref_w) * 1e3,
            "engine_cpu_ms": med(eng_c) * 1e3, "reference_cpu_ms": med(ref_c) * 1e3,
            "speedup": med(ref_w) / med(eng_w), "speedup_cpu": med(ref_c) / med(eng_c),
            "loglik_max_rel_diff": rel, "monotone": bool(np.all(np.diff(le) >= 0))}


def table_in_process(corpus, formulas, ks, rounds: int) -> dict:
    walls, cpus = [], []
    for _ in range(rounds):
        res, w, c = timed(lambda: run_table(corpus, ks, stop="pi-norm", formulas=formulas))
        walls.append(w)
        cpus.append(c)
    tracemalloc.start()
    run_table(corpus, ks, stop="pi-norm", formulas=formulas)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"wall_s": min(walls), "wall_median_s": statistics.median(walls),
            "cpu_s": min(cpus), "traced_peak_mb": peak / 2**20,
            "iterations": {r.K: r.iterations for r in res}}


# A small launcher measures the CLI: ru_maxrss is a high-water mark that survives exec,
# so forking the CLI straight from this (large) process would report this process' size.
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"exit": proc.returncode, "wall": time.perf_counter() - start,
                  "rss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                  "stdout": proc.stdout, "stderr": proc.stderr}))
"""


def table_subprocess(ks) -> dict:
    cmd = [sys.executable, "-m", "symderive.cli", "em", "--json", "--no-progress", "--k",
           *map(str, ks)]
    run = json.loads(subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd],
                                    capture_output=True, text=True, check=True).stdout)
    out = {"command": " ".join(cmd[1:]), "exit": run["exit"], "wall_s": run["wall"],
           "cpu_s": run["cpu"], "peak_rss_mb": run["rss_kb"] / 1024}
    proc = types.SimpleNamespace(returncode=run["exit"], stdout=run["stdout"],
                                 stderr=run["stderr"])
    if proc.returncode == 0:
        doc = json.loads(proc.stdout)
        out["em_seconds_reported"] = doc["seconds"]
        out["certificate"] = doc["formulas"]["source"] if doc["formulas"] else None
    else:
        out["stderr"] = proc.stderr[-2000:]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ks", type=int, nargs="+", default=list(TABLE_KS))
    ap.add_argument("--iters", type=int, default=10, help="iterations per timed run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating repetitions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    info = {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()}
    corpus, load_w, _ = timed(load_20newsgroups)
    formulas, cert_w, _ = timed(load_formulas)
    info.update(corpus_load_s=load_w, certify_s=cert_w,
                certificate=formulas.certificate.source, documents=corpus.counts.shape[0],
                words=corpus.counts.shape[1], nnz=int(corpus.counts.nnz))
    data = SparseData.from_counts(corpus.counts)
    X = data.csr
    for K in args.ks:  # warm up: transposes, tiles, multinomial coefficient
        MultinomialMixture(K, max_iter=1, formulas=formulas).fit(data)
    rows = [per_iteration(data, X, formulas, K, args.iters, args.rounds, args.seed)
            for K in args.ks]
    table = table_in_process(corpus, formulas, args.ks, args.rounds)
    end_to_end = table_subprocess(args.ks)
    info["load_average_end"] = os.getloadavg()
    report = {"machine": info, "per_iteration": rows, "table1_in_process": table,
              "table1_cli": end_to_end}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"corpus: {info['documents']} documents x {info['words']} words, {info['nnz']} "
          f"nonzeros; {info['cpus']} CPUs, load average {info['load_average_start'][0]:.1f}"
          f" -> {info['load_average_end'][0]:.1f}")
    print(f"corpus load {load_w:.2f} s, formulas certified in {cert_w:.2f} s "
          f"({info['certificate']})\n")
    print(f"per iteration ({args.iters} iterations x {args.rounds} alternating rounds, "
          "medians):")
    print(f"{'K':>4} {'engine ms':>10} {'ref ms':>8} {'speedup':>8} {'(cpu)':>6} "
          f"{'loglik rel diff':>16} {'monotone':>8}")
    for r in rows:
        print(f"{r['K']:>4} {r['engine_ms']:>10.1f} {r['reference_ms']:>8.1f} "
              f"{r['speedup']:>7.2f}x {r['speedup_cpu']:>5.2f}x "
              f"{r['loglik_max_rel_diff']:>16.2e} {str(r['monotone']):>8}")
    print(f"\n(engine threads: {SparseData(X).threads}; per-iteration CPU time counts all "
          "threads)")
    print(f"\nTable 1 run in process (pi-norm rule, K = {args.ks}): best {table['wall_s']:.2f} s"
          f" wall (median {table['wall_median_s']:.2f} s), {table['cpu_s']:.2f} s CPU, "
          f"traced peak {table['traced_peak_mb']:.0f} MB, iterations {table['iterations']}")
    e = end_to_end
    if e["exit"] == 0:
        print(f"Table 1 end to end ({e['command']}): {e['wall_s']:.2f} s wall, "
              f"{e['cpu_s']:.2f} s CPU, EM part "
              f"{e['em_seconds_reported']:.2f} s, peak RSS {e['peak_rss_mb']:.0f} MB, "
              f"certificate from {e['certificate']}")
    else:
        print(f"end-to-end run failed (exit {e['exit']}):\n{e['stderr']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
