"""Benchmark of the compiled EM engine against the plain reference (not a test).

    python bench/em_bench.py [--ks 10 20 30 50] [--iters 10] [--rounds 3] [--threads 1 2]
                             [--json]

On the bundled 20 Newsgroups corpus, in one run:

1. time per iteration of the engine (on 1 thread and on the default number of threads)
   and of ``bench/reference_em.py`` for each K, from the same initial responsibilities,
   alternating engine and reference ``--rounds`` times so that all see the same machine
   load: medians of wall time and of CPU time (CPU time counts every thread);
2. agreement of the log-likelihoods with the reference, iteration by iteration
   (largest relative difference), and whether the thread counts give identical bits;
3. the whole Table 1 run (the document's stop rule, the 4 values of K) in process, for
   the engine and for the reference from the same starts, with the iterations and final
   log-likelihoods of both; then end to end as ``symderive em --json`` in a subprocess
   (imports, corpus cache and certificate cache included), with its peak memory.

Then 4. a whole fit of 8 iterations at K = 10, 20, 50 as a user sees it, set-up included:
a new estimator, timed from ``fit()`` to its return, against the reference.

Both ratios use the plain settings (``PLAIN``: no smoothing, no annealing, one start).
Beside each K the two sparse products of an iteration are timed alone on one thread
(scipy's kernels, which the reference uses too): reference / products is the ceiling of
any engine built on those kernels on one core; then the same products with the engine's
compiled kernels (``symderive.em._sparse``, when built), which give the same values bit
for bit.  The header says whether the engine runs them (``SYMDERIVE_EM_COMPILED=0``
turns them off, to time the engine on scipy's kernels).
Targets (issue 14): >= 3x per iteration at every K of Table 1 and >= 2.5x per fit at
K = 10, 20, 50, on 2 cores; Table 1 under 5 s, peak memory under 1 GB, log-likelihoods
equal to 1e-9 relative.

The machine's load matters: with other processes busy, a second thread often finds no
free core (wall time then equals CPU time).  The load average is printed at the start
and the end; the single-thread column is the figure that does not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_em import reference_em  # noqa: E402

from symderive.corpus import load_20newsgroups  # noqa: E402
from symderive.em import MultinomialMixture, load_formulas  # noqa: E402
from symderive.em.cli import TABLE_KS, run_table  # noqa: E402
from symderive.em.kernels import SparseData, compiled_products, default_threads  # noqa: E402
from symderive.em.steps import initial_responsibilities  # noqa: E402


def initial_resp(seed: int, D: int, K: int) -> np.ndarray:
    """The estimator's own random start (``MultinomialMixture(random_state=seed)``)."""
    return initial_responsibilities(seed, 0, 0, D, K)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


#: the plain settings both speed ratios use (the issue): maximum likelihood, no annealing,
#: one initialisation, the same start as the reference
PLAIN = {"smoothing": 0.0, "anneal": False, "n_init": 1}


def engine_run(data: SparseData, formulas, resp0: np.ndarray, iters: int):
    """A fit of ``iters`` iterations, with the wall and CPU time of each iteration (from
    the previous one's end; the first from the fit's start, a slight handicap)."""
    stamps = []
    model = MultinomialMixture(resp0.shape[1], init=resp0, max_iter=iters, stop="loglik",
                               tol=1e-300, formulas=formulas, **PLAIN,
                               callback=lambda p: stamps.append(
                                   (time.perf_counter(), time.process_time())))
    marks = [(time.perf_counter(), time.process_time())]
    model.fit(data)
    marks += stamps
    pairs = list(zip(marks[:-1], marks[1:], strict=True))
    return model, [b[0] - a[0] for a, b in pairs], [b[1] - a[1] for a, b in pairs]


def rel_diff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    n = min(len(a), len(b))
    return float(np.max(np.abs(a[:n] - b[:n]) / np.abs(b[:n])))


def products(one: SparseData, resp: np.ndarray, mu: np.ndarray, compiled: bool
             ) -> tuple[float, float]:
    """Wall and CPU seconds of the two sparse products of one iteration alone, T^T gamma
    and T log(mu)^T, on one thread (``one``: the counts on one thread): with scipy's
    kernels (the ones the reference calls), so that reference / this bounds what any
    engine built on them gains on one core; or (``compiled``) with the engine's compiled
    kernels (``symderive.em._sparse``), the same values bit for bit."""
    with np.errstate(divide="ignore"):
        log_mu_t = np.ascontiguousarray(np.log(mu).T)
    if compiled:
        return timed(lambda: (one.tdot(resp), one.dot(log_mu_t)))[1:]
    return timed(lambda: (one.csc_view("tdot") @ resp, one.csc_view("dot") @ log_mu_t))[1:]


def per_iteration(datas: dict, X, formulas, K: int, iters: int, rounds: int,
                  seed: int) -> dict:
    resp0 = initial_resp(seed, X.shape[0], K)
    one = SparseData(X, threads=1)
    one.tdot(resp0), one.dot(np.ones((X.shape[1], K)))  # builds its transposed form
    wall = {t: [] for t in datas} | {"ref": [], "products": [], "compiled": []}
    cpu = {t: [] for t in datas} | {"ref": [], "products": [], "compiled": []}
    models: dict = {}
    ref = None
    for _ in range(rounds):
        for t, data in datas.items():
            models[t], w, c = engine_run(data, formulas, resp0, iters)
            wall[t] += w
            cpu[t] += c
        ref = reference_em(X, resp0, max_iter=iters, tol=1e-300, stop="loglik")
        wall["ref"] += ref.iteration_seconds
        cpu["ref"] += ref.iteration_cpu_seconds
        for _ in range(iters):
            for key, compiled in (("products", False), ("compiled", True)):
                if compiled and not compiled_products():
                    continue
                w, c = products(one, ref.resp, ref.mu, compiled)
                wall[key].append(w)
                cpu[key].append(c)
    med = statistics.median
    lls = {t: np.asarray(m.log_likelihood_) for t, m in models.items()}
    first = next(iter(models.values()))
    row = {"K": K, "iterations": iters,
           "reference_ms": med(wall["ref"]) * 1e3, "reference_cpu_ms": med(cpu["ref"]) * 1e3,
           "products_ms": med(wall["products"]) * 1e3,
           "products_cpu_ms": med(cpu["products"]) * 1e3,
           "one_core_ceiling_cpu": med(cpu["ref"]) / med(cpu["products"]),
           "compiled_products_cpu_ms": med(cpu["compiled"]) * 1e3 if cpu["compiled"]
           else None,
           "engine": {}, "loglik_max_rel_diff": max(rel_diff(v, ref.log_likelihood)
                                                    for v in lls.values()),
           "threads_identical": all(np.array_equal(m.components_, first.components_) and
                                    np.array_equal(lls[t], lls[next(iter(lls))])
                                    for t, m in models.items()),
           "monotone": all(bool(np.all(np.diff(v) >= 0)) for v in lls.values())}
    for t in datas:
        row["engine"][t] = {"ms": med(wall[t]) * 1e3, "cpu_ms": med(cpu[t]) * 1e3,
                            "speedup": med(wall["ref"]) / med(wall[t]),
                            "speedup_cpu": med(cpu["ref"]) / med(cpu[t])}
    return row


def per_fit(corpus, K: int, iters: int, rounds: int, seed: int) -> dict:
    """A whole fit of ``iters`` iterations as a user sees it, from ``fit()`` to its
    return: a new estimator each time (formulas from the process cache, the corpus's
    prepared counts reused), against the reference called on the corpus's counts."""
    walls, cpus, ref_walls, ref_cpus = [], [], [], []
    resp0 = initial_resp(seed, corpus.counts.shape[0], K)
    model = ref = None
    for _ in range(rounds):
        est = MultinomialMixture(K, max_iter=iters, stop="loglik", tol=1e-300,
                                 random_state=seed, **PLAIN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, w, c = timed(lambda est=est: est.fit(corpus))
        walls.append(w)
        cpus.append(c)
        ref, w, c = timed(lambda: reference_em(corpus.counts, resp0, max_iter=iters,
                                               tol=1e-300, stop="loglik"))
        ref_walls.append(w)
        ref_cpus.append(c)
    med = statistics.median
    return {"K": K, "iterations": iters, "engine_ms": med(walls) * 1e3,
            "engine_cpu_ms": med(cpus) * 1e3, "reference_ms": med(ref_walls) * 1e3,
            "reference_cpu_ms": med(ref_cpus) * 1e3,
            "speedup": med(ref_walls) / med(walls), "speedup_cpu": med(ref_cpus) / med(cpus),
            "loglik_rel_diff": rel_diff(model.log_likelihood_, ref.log_likelihood)}


def reference_table(X, ks, seed: int, max_iter: int = 200) -> dict:
    """The reference on the Table 1 runs: the same starts as ``run_table`` (a fresh
    generator seeded with ``seed`` for every K), the document's stop rule."""
    out = {}
    for K in ks:
        res = reference_em(X, initial_resp(seed, X.shape[0], K), max_iter=max_iter,
                           tol=1e-3, stop="pi-norm")
        out[K] = res
    return out


def table_in_process(corpus, formulas, ks, rounds: int, seed: int) -> dict:
    walls, cpus = [], []
    res = None
    for _ in range(rounds):
        res, w, c = timed(lambda: run_table(corpus, ks, stop="pi-norm", formulas=formulas,
                                            seed=seed))
        walls.append(w)
        cpus.append(c)
    ref_walls, ref_cpus = [], []
    ref = None
    for _ in range(rounds):
        ref, w, c = timed(lambda: reference_table(corpus.counts, ks, seed))
        ref_walls.append(w)
        ref_cpus.append(c)
    tracemalloc.start()
    run_table(corpus, ks, stop="pi-norm", formulas=formulas, seed=seed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    runs = {r.K: r for r in res}
    return {"wall_s": min(walls), "wall_median_s": statistics.median(walls),
            "cpu_s": min(cpus), "traced_peak_mb": peak / 2**20,
            "reference_wall_s": min(ref_walls), "reference_cpu_s": min(ref_cpus),
            "iterations": {K: runs[K].iterations for K in ks},
            "reference_iterations": {K: ref[K].n_iter for K in ks},
            "final_loglik_rel_diff": {K: abs(runs[K].log_likelihood
                                             - ref[K].log_likelihood[-1])
                                      / abs(ref[K].log_likelihood[-1]) for K in ks}}


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
    warnings.simplefilter("ignore")  # ConvergenceWarning: the timed runs stop at max_iter
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ks", type=int, nargs="+", default=list(TABLE_KS))
    ap.add_argument("--iters", type=int, default=10, help="iterations per timed run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating repetitions")
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="engine thread counts to time (default: 1 and the default count)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fit-ks", type=int, nargs="+", default=[10, 20, 50],
                    help="K of the per-fit timing (default: 10 20 50)")
    ap.add_argument("--fit-iters", type=int, default=8,
                    help="iterations of a timed fit (default: 8, a Table 1 run)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    args = ap.parse_args()

    threads = args.threads or sorted({1, default_threads()})
    info = {"cpus": os.cpu_count(), "default_threads": default_threads(),
            "compiled_products": compiled_products(),
            "load_average_start": os.getloadavg()}
    corpus, load_w, _ = timed(load_20newsgroups)
    formulas, cert_w, _ = timed(load_formulas)
    info.update(corpus_load_s=load_w, certify_s=cert_w,
                certificate=formulas.certificate.source, documents=corpus.counts.shape[0],
                words=corpus.counts.shape[1], nnz=int(corpus.counts.nnz))
    csr = SparseData.from_counts(corpus.counts).csr
    datas = {t: SparseData(csr, threads=t) for t in threads}
    for K in args.ks:  # warm up: blocks, the multinomial coefficient, the thread pool
        for data in datas.values():
            MultinomialMixture(K, max_iter=1, formulas=formulas, **PLAIN).fit(data)
    rows = [per_iteration(datas, csr, formulas, K, args.iters, args.rounds, args.seed)
            for K in args.ks]
    fits = [per_fit(corpus, K, args.fit_iters, args.rounds, args.seed)
            for K in args.fit_ks]
    table = table_in_process(corpus, formulas, args.ks, args.rounds, args.seed)
    end_to_end = None if args.no_cli else table_subprocess(args.ks)
    info["load_average_end"] = os.getloadavg()
    info["bench_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"machine": info, "per_iteration": rows, "per_fit": fits,
              "table1_in_process": table,
              "table1_cli": end_to_end}
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    print(f"corpus: {info['documents']} documents x {info['words']} words, {info['nnz']} "
          f"nonzeros; {info['cpus']} CPUs (engine default: {info['default_threads']} "
          f"threads), load average {info['load_average_start'][0]:.1f} -> "
          f"{info['load_average_end'][0]:.1f}")
    print(f"corpus load {load_w:.2f} s, formulas certified in {cert_w:.2f} s "
          f"({info['certificate']}); sparse products: "
          + ("compiled kernels" if info["compiled_products"] else "scipy's kernels") + "\n")
    print(f"per iteration, ms ({args.iters} iterations x {args.rounds} alternating rounds, "
          "medians; wall, and CPU of all threads in brackets):")
    head = f"{'K':>4} {'reference':>15}"
    for t in threads:
        head += f" {f'engine {t} thr':>15} {'speedup':>8}"
    head += f" {'loglik rel diff':>16} {'same bits':>9} {'2 products':>15} {'ceiling':>7}"
    head += f" {'compiled':>8}"
    print(head)
    for r in rows:
        line = f"{r['K']:>4} {r['reference_ms']:>6.1f} ({r['reference_cpu_ms']:>6.1f})"
        for t in threads:
            e = r["engine"][t]
            line += f" {e['ms']:>6.1f} ({e['cpu_ms']:>6.1f}) {e['speedup']:>7.2f}x"
        line += f" {r['loglik_max_rel_diff']:>16.1e} {str(r['threads_identical']):>9}"
        line += (f" {r['products_ms']:>6.1f} ({r['products_cpu_ms']:>6.1f})"
                 f" {r['one_core_ceiling_cpu']:>6.2f}x")
        comp = r["compiled_products_cpu_ms"]
        line += f" {comp:>8.1f}" if comp is not None else f" {'-':>8}"
        print(line)
    print("\n(speedup: reference wall / engine wall; 'same bits': every thread count gave "
          "identical parameters and log-likelihoods; '2 products': T^T gamma and T log mu^T "
          "alone, scipy's kernels on one thread, which the reference runs too; 'ceiling': "
          "reference CPU / their CPU, the most any engine on those kernels gains on one core; "
          "'compiled': CPU ms of the same two products with the engine's compiled kernels, "
          "the same values bit for bit" + ("" if compiled_products() else
                                           " -- not built here, the engine runs scipy's")
          + ")")
    for t in threads:
        if t > 1:
            busy = [r["K"] for r in rows if r["engine"][t]["cpu_ms"] < 1.2 * r["engine"][t]["ms"]]
            if busy:
                print(f"note: with {t} threads at K = {busy} the CPU time is about the wall "
                      "time: the threads did not run at the same time (other processes held "
                      "the other cores), so that column is not a multi-core figure")
    print(f"\nper fit, set-up included (a new estimator, fit() to return, {args.fit_iters} "
          "iterations, medians; wall, and CPU in brackets):")
    print(f"{'K':>4} {'reference ms':>18} {'engine ms':>18} {'speedup':>8} {'cpu ratio':>9} "
          f"{'loglik rel diff':>16}")
    for f in fits:
        print(f"{f['K']:>4} {f['reference_ms']:>8.1f} ({f['reference_cpu_ms']:>7.1f}) "
              f"{f['engine_ms']:>8.1f} ({f['engine_cpu_ms']:>7.1f}) {f['speedup']:>7.2f}x "
              f"{f['speedup_cpu']:>8.2f}x {f['loglik_rel_diff']:>16.1e}")
    print(f"\nTable 1 in process (pi-norm rule, K = {args.ks}, seed {args.seed}): engine "
          f"{table['wall_s']:.2f} s wall (median {table['wall_median_s']:.2f} s), "
          f"{table['cpu_s']:.2f} s CPU; reference {table['reference_wall_s']:.2f} s wall, "
          f"{table['reference_cpu_s']:.2f} s CPU")
    print(f"  iterations: engine {table['iterations']}, reference "
          f"{table['reference_iterations']}")
    diffs = ", ".join(f"{K}: {v:.1e}" for K, v in table["final_loglik_rel_diff"].items())
    print(f"  final log-likelihood, relative difference to the reference: {diffs}")
    print(f"  traced peak memory of one run {table['traced_peak_mb']:.0f} MB; peak RSS of "
          f"this whole bench process {info['bench_peak_rss_mb']:.0f} MB")
    e = end_to_end
    if e is None:
        pass
    elif e["exit"] == 0:
        print(f"Table 1 end to end ({e['command']}): {e['wall_s']:.2f} s wall, "
              f"{e['cpu_s']:.2f} s CPU, EM part {e['em_seconds_reported']:.2f} s, "
              f"peak RSS {e['peak_rss_mb']:.0f} MB, certificate from {e['certificate']}")
    else:
        print(f"end-to-end run failed (exit {e['exit']}):\n{e['stderr']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
