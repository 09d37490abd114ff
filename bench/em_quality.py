"""Clustering quality of the EM engine on the bundled 20 Newsgroups (not a test).

    python bench/em_quality.py [--k 20] [--seeds 0 1 2] [--debris] [--json]

For K = 20 and each of the settings below, over the seeds:

* NMI against the 20 newsgroups and the log-likelihood, fitted on all 18,846 documents;
* the held-out log-likelihood per word of the word sequences (multinomial coefficient
  excluded; the perplexity is exp(-x)) on the test split, fitted on the train split (the
  test split vectorised with the training vocabulary);
* the time of each fit (wall and CPU; the load average is printed, the machine is shared).

Settings: ``plain`` (the document's maximum likelihood), ``smoothing`` (MAP, Dirichlet
(1 + 1) on mu), ``restarts`` (smoothing and the best of 5 starts), ``annealing``
(smoothing and the default annealing schedule: the estimator's defaults).

``--debris`` also checks the clean-topics rule at K = 10, 20, 30, 50 (seed 0, the
document's settings): tokens that occur (almost) only inside the encoded blocks the
preprocessing drops (found by tokenising the raw archive with and without that step) must
not be top-10 words of any topic, and it prints those that were before the cleaning.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np

from symderive.corpus import load_20newsgroups
from symderive.corpus.vectorize import align
from symderive.em import MultinomialMixture, load_formulas, normalized_mutual_info, top_words
from symderive.em.metrics import per_word_log_likelihood

SETTINGS = {
    "plain": {"smoothing": 0.0, "anneal": False, "n_init": 1},
    "smoothing": {"smoothing": 1.0, "anneal": False, "n_init": 1},
    "restarts": {"smoothing": 1.0, "anneal": False, "n_init": 5},
    "annealing": {},  # the estimator's defaults: smoothing 1, annealing, one start
}


def fit(corpus, K: int, seed: int, params: dict):
    w, c = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MultinomialMixture(K, random_state=seed, **params).fit(corpus)
    return model, time.perf_counter() - w, time.process_time() - c


def quality(k: int, seeds: list[int]) -> dict:
    full = load_20newsgroups()
    train = load_20newsgroups("train")
    test, dropped_tokens, dropped_words = align(load_20newsgroups("test", min_df=1),
                                                train.vocabulary)
    load_formulas()
    out = {"K": k, "seeds": seeds, "held_out_dropped": [dropped_tokens, dropped_words],
           "settings": {}}
    for name, params in SETTINGS.items():
        rows = []
        for seed in seeds:
            model, wall, cpu = fit(full, k, seed, params)
            held, _, _ = fit(train, k, seed, params)
            per_word = per_word_log_likelihood(held.score_samples(test), test.counts)
            rows.append({"seed": seed, "nmi": normalized_mutual_info(full.labels, model.labels_),
                         "log_likelihood": float(model.log_likelihood_[-1]),
                         "iterations": int(model.n_iter_), "wall_s": wall, "cpu_s": cpu,
                         "held_out_per_word": per_word,
                         "load": os.getloadavg()[0]})
            print(f"  {name:<10} seed {seed}: NMI {rows[-1]['nmi']:.4f}  "
                  f"log-lik {rows[-1]['log_likelihood']:.6g}  held-out/word "
                  f"{rows[-1]['held_out_per_word']:.4f}  {wall:.2f} s wall {cpu:.2f} s CPU "
                  f"(load {rows[-1]['load']:.1f})", file=sys.stderr, flush=True)
        mean = {key: statistics.mean(r[key] for r in rows)
                for key in ("nmi", "log_likelihood", "held_out_per_word", "wall_s", "cpu_s")}
        mean["max_wall_s"] = max(r["wall_s"] for r in rows)
        mean["max_cpu_s"] = max(r["cpu_s"] for r in rows)
        out["settings"][name] = {"params": params, "runs": rows, "mean": mean}
    return out


def debris(ks=(10, 20, 30, 50), seed: int = 0, share: float = 0.9) -> dict:
    """Tokens found (at least ``share`` of their occurrences) only inside removed encoded
    content, and whether any is a top-10 word, before and after the cleaning."""
    raw = load_20newsgroups(strip_encoded=False)
    clean = load_20newsgroups()
    before = dict(zip(raw.vocabulary, raw.word_totals.tolist(), strict=True))
    after = dict(zip(clean.vocabulary, clean.word_totals.tolist(), strict=True))
    junk = {w for w, n in before.items() if after.get(w, 0) <= (1 - share) * n}
    out = {"debris_tokens": len(junk), "K": {}}
    for k in ks:
        entry = {}
        for label, corpus in (("before", raw), ("after", clean)):
            model, _, _ = fit(corpus, k, seed, SETTINGS["plain"] | {"stop": "pi-norm"})
            tops = top_words(model, corpus.vocabulary, 10)
            entry[label] = sorted({w for t in tops for w in t if w in junk})
        out["K"][k] = entry
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--debris", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    start_load = os.getloadavg()[0]
    report = {"load_average_start": start_load, "quality": quality(args.k, args.seeds)}
    if args.debris:
        report["debris"] = debris()
    report["load_average_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    q = report["quality"]
    print(f"K = {q['K']}, seeds {q['seeds']}, means; load average {start_load:.1f} -> "
          f"{report['load_average_end']:.1f} on {os.cpu_count()} CPUs")
    print("| setting | NMI | log-likelihood | held-out log-lik / word (perplexity) | "
          "time per fit (wall / CPU, max) |")
    print("|---|---|---|---|---|")
    for name, s in q["settings"].items():
        m = s["mean"]
        print(f"| {name} | {m['nmi']:.3f} | {m['log_likelihood']:.4g} | "
              f"{m['held_out_per_word']:.3f} ({np.exp(-m['held_out_per_word']):.0f}) | "
              f"{m['wall_s']:.1f} s / {m['cpu_s']:.1f} s ({m['max_wall_s']:.1f} / "
              f"{m['max_cpu_s']:.1f}) |")
    print(f"(held-out: test split over the training vocabulary; {q['held_out_dropped'][0]} "
          f"tokens of {q['held_out_dropped'][1]} unseen words dropped)")
    if args.debris:
        d = report["debris"]
        print(f"\ndebris tokens (>= 90% of their occurrences inside removed encoded content): "
              f"{d['debris_tokens']}")
        for k, e in d["K"].items():
            print(f"  K = {k}: top-10 debris words before {e['before'] or '-'}; after "
                  f"{e['after'] or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
