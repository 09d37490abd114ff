"""Scale benchmark of EM on Dask (not a test).

    python bench/em_dask.py [--sizes 1 4 16] [--k 20] [--iters 5] [--workers 2]
                            [--blocks ROWS] [--rounds 5] [--json FILE]

The bundled 20 Newsgroups corpus is replicated x1, x4 and x16 with a row shuffle, on a
``LocalCluster`` of ``--workers`` worker processes (1 thread each).  The replicated corpus
is built on the workers, block by block (each block is a shuffled selection of rows of the
bundled corpus, which each worker loads once): the client never holds it.  For each size,
``MultinomialMixture(K, backend="dask")`` runs ``--iters`` iterations; reported:

* seconds per iteration (median over the iterations after the first, and the first), and
  its phases: the client's M-step, and the E-step as the client waits for it (sending pi
  and mu, the workers' E-step and statistics, the reduction);
* the peak memory (RSS, sampled every 5 ms) of the client and of each worker during the fit;
* the CPU time of the workers per document and iteration, and of the client per iteration
  (the workers compile the formulas before anything is measured);
* at x1, the in-process engine on the same corpus in this same run (same cores, same
  K, same iterations, same start), alternating with the Dask fit ``--rounds`` times, and
  the ratio Dask / in-process of the medians.

Goals (issue 15): client peak memory flat in the corpus size, time per iteration at most
linear, Dask at x1 at most 3x the in-process engine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import warnings

import numpy as np

SEED = 0


def load_corpus():
    from symderive.corpus import load_20newsgroups

    return load_20newsgroups("all").counts


def shuffled_rows(times: int, n_docs: int) -> np.ndarray:
    """Row d of the corpus replicated ``times`` times and shuffled is row
    ``shuffled_rows(...)[d]`` of the bundled corpus."""
    return np.random.default_rng([SEED, times]).permutation(n_docs * times) % n_docs


def make_block(times: int, first: int, stop: int, n_docs: int):
    """Rows ``first .. stop-1`` of the replicated, shuffled corpus (the same permutation
    on every worker)."""
    from distributed import get_worker

    worker = get_worker()
    counts = getattr(worker, "_bench_counts", None)
    if counts is None:
        counts = worker._bench_counts = load_corpus()
    return counts[shuffled_rows(times, n_docs)[first:stop]]


class PeakRSS:
    """The largest resident set size of this process while running (sampled)."""

    def __init__(self, every: float = 0.005):
        import psutil

        self.process, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRSS:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _worker_start(dask_worker) -> None:
    sampler = PeakRSS()
    sampler.__enter__()
    dask_worker._bench_sampler = sampler
    dask_worker._bench_cpu = _cpu_seconds()


def _worker_stop(dask_worker) -> tuple[int, float]:
    sampler = dask_worker._bench_sampler
    sampler.__exit__()
    return sampler.peak, _cpu_seconds() - dask_worker._bench_cpu


def _warm_up(certificate) -> None:
    """Compile the formulas on a worker before anything is measured."""
    from symderive.em.distributed import _worker_formulas

    _worker_formulas("symderive.derivations.em_multinomial", certificate)


def _timed(phases: dict, name: str, method):
    def run(*args, **kwargs):
        start = time.perf_counter()
        out = method(*args, **kwargs)
        phases.setdefault(name, []).append(time.perf_counter() - start)
        return out
    return run


def fit_timed(model, X):
    stamps: list[float] = []
    model.callback = lambda p: stamps.append(p.seconds)
    start = time.perf_counter()
    model.fit(X)
    total = time.perf_counter() - start
    per = np.diff([0.0, *stamps])
    return model, total, per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=None,
                        help="documents per block (default: as many equal blocks on every "
                             "worker, at most 16384 documents each)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import dask
    from distributed import Client

    from symderive.em import MultinomialMixture, load_formulas
    from symderive.em import distributed as dd
    from symderive.em.distributed import default_block_rows, local_cluster, scatter_blocks
    from symderive.em.model import ConvergenceWarning

    MB = 2**20
    formulas = load_formulas()
    print(f"load average {os.getloadavg()[0]:.2f}; K = {args.k}, {args.iters} iterations, "
          f"{args.workers} workers x 1 thread")
    # the plain settings (as bench/em_bench.py): every iteration at beta = 1, comparable
    options = dict(n_components=args.k, random_state=SEED, stop="loglik", tol=1e-300,
                   max_iter=args.iters, formulas=formulas, smoothing=0.0, anneal=False)
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of iterations
    rows = []
    phases: dict[str, list[float]] = {}
    for name in ("m_step", "e_step"):  # the client's view of each phase
        setattr(dd.DaskSteps, name, _timed(phases, name, getattr(dd.DaskSteps, name)))
    with local_cluster(args.workers) as cluster, Client(cluster) as client:
        n_docs = client.submit(lambda: load_corpus().shape[0]).result()
        client.run(_warm_up, formulas.certificate)
        for times in args.sizes:
            D = n_docs * times
            step = args.blocks or default_block_rows(D, args.workers)
            parts = [dask.delayed(make_block)(times, a, min(a + step, D), n_docs)
                     for a in range(0, D, step)]
            start = time.perf_counter()
            blocks = scatter_blocks(parts, client=client)
            setup = time.perf_counter() - start
            client.run(_worker_start)
            cpu = _cpu_seconds()
            phases.clear()
            with PeakRSS() as client_peak:
                model, total, per = fit_timed(
                    MultinomialMixture(backend="dask", **options), blocks)
            cpu = _cpu_seconds() - cpu
            stopped = client.run(_worker_stop)
            workers = {w: peak for w, (peak, _) in stopped.items()}
            worker_cpu = sum(c for _, c in stopped.values())
            row = {"times": times, "documents": D, "blocks": len(blocks.sizes),
                   "setup_s": setup, "fit_s": total, "first_iter_s": float(per[0]),
                   "iter_s": float(statistics.median(per[1:])),
                   "m_step_s": float(statistics.median(phases["m_step"][1:])),
                   "e_step_s": float(statistics.median(phases["e_step"][1:])),
                   "client_peak_mb": client_peak.peak / MB,
                   "worker_peak_mb": sorted(v / MB for v in workers.values()),
                   "client_cpu_s_per_iter": cpu / args.iters,
                   "worker_cpu_us_per_doc_iter": 1e6 * worker_cpu / (D * args.iters),
                   "log_likelihood": float(model.log_likelihood_[-1])}
            rows.append(row)
            print(f"x{times:<3} {D:>8} docs {row['blocks']:>4} blocks: "
                  f"{row['iter_s']:.3f} s/iteration (first {row['first_iter_s']:.3f} s; "
                  f"M-step {row['m_step_s']:.3f} s, E-step round trip {row['e_step_s']:.3f} s), "
                  f"client peak {row['client_peak_mb']:.0f} MB, workers peak "
                  + ", ".join(f"{v:.0f}" for v in row["worker_peak_mb"]) + " MB; worker CPU "
                  f"{row['worker_cpu_us_per_doc_iter']:.2f} us per document and iteration, "
                  f"client CPU {row['client_cpu_s_per_iter']:.3f} s per iteration", flush=True)
            if times == 1:
                x1_blocks = blocks
            del blocks
        # the in-process engine at x1 on the same shuffled rows, same start, alternating
        # with the Dask fit so that both see the same machine load
        local = None
        if 1 in args.sizes:
            from symderive.em.kernels import SparseData

            counts = load_corpus()
            data = SparseData.from_counts(counts[shuffled_rows(1, counts.shape[0])])
            dask_iter, local_iter, dask_fit, local_fit = [], [], [], []
            phases.clear()
            for _ in range(args.rounds):
                model, total, per = fit_timed(MultinomialMixture(**options), data)
                local_iter.append(float(statistics.median(per[1:])))
                local_fit.append(total)
                remote, total, per = fit_timed(
                    MultinomialMixture(backend="dask", **options), x1_blocks)
                dask_iter.append(float(statistics.median(per[1:])))
                dask_fit.append(total)
            rel = float(np.max(np.abs(model.log_likelihood_ - remote.log_likelihood_)
                               / np.abs(model.log_likelihood_)))
            med = statistics.median
            local = {"iter_s": med(local_iter), "fit_s": med(local_fit),
                     "dask_iter_s": med(dask_iter), "dask_fit_s": med(dask_fit),
                     "loglik_rel_diff": rel, "ratio_iter": med(dask_iter) / med(local_iter),
                     "ratio_fit": med(dask_fit) / med(local_fit),
                     "dask_m_step_s": med(phases["m_step"]), "dask_e_step_s": med(phases["e_step"])}
            print(f"x1, {args.rounds} alternating rounds (medians): in process "
                  f"{local['iter_s']:.3f} s/iteration, {local['fit_s']:.3f} s/fit; Dask "
                  f"{local['dask_iter_s']:.3f} s/iteration, {local['dask_fit_s']:.3f} s/fit: "
                  f"{local['ratio_iter']:.1f}x per iteration, {local['ratio_fit']:.1f}x per "
                  f"fit (Dask: M-step on the client {local['dask_m_step_s']:.3f} s, E-step "
                  f"round trip {local['dask_e_step_s']:.3f} s); log-likelihoods equal to "
                  f"{rel:.1e} at every iteration")
    base = rows[0]
    print("\n| corpus | documents | blocks | s / iteration | vs x1 | client peak MB | "
          "worker peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| x{r['times']} | {r['documents']:,} | {r['blocks']} | {r['iter_s']:.3f} | "
              f"{r['iter_s'] / base['iter_s']:.1f}x | {r['client_peak_mb']:.0f} | "
              + ", ".join(f"{v:.0f}" for v in r["worker_peak_mb"]) + " |")
    if local is not None:
        print(f"| x1 in process (2 threads) | {base['documents']:,} | - | {local['iter_s']:.3f} "
              f"| - | - | - |")
    print(f"\nload average {os.getloadavg()[0]:.2f}")
    if args.json:
        from symderive.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"sizes": rows, "in_process": local}, indent=1))


if __name__ == "__main__":
    main()
