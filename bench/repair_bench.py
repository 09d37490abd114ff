"""Benchmark: how often the repair search ("did you mean") restores a planted mistake.

Two sets of broken claims, both from the homework derivations:

* mutants: every single mutation of ``symderive.testing.mutants`` (sign, transpose,
  factor, swap, exponent) planted in every claim.  These come from the same vocabulary
  as the search, so the figure flatters it;
* slips: hand-written mistakes of the kind people make (a dropped chain-rule factor, a
  wrong normaliser, an index mix-up, a forgotten transpose inside a sum, ...).

A broken claim counts only when the checker refutes it; it is repaired when the search
returns a hint, and every hint is a formula the checker itself proved or verified.  The
baseline, measured in the same run, is the time the checker takes to refute the broken
claim: the search's median time is reported as a ratio to it.  Not a timed test.

    python bench/repair_bench.py [--jobs N] [--only mutants|slips] [--budget N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import sympy as sp

from symderive.check import Verdict
from symderive.config import DEFAULT_TIMEOUT
from symderive.loader import load
from symderive.repair.run import Options, repair_many
from symderive.runner import run_claims
from symderive.testing import mutants, variant


def slips(by: dict) -> list:
    """Realistic hand-made mistakes, each (description, broken claim)."""
    import symderive.derivations.bn_backprop as bn
    import symderive.derivations.em_multinomial as em
    import symderive.derivations.gan_discriminator as gan
    import symderive.derivations.logistic_mixture as lm

    B, E, G, L = (by[n] for n in ("bn_backprop", "em_multinomial", "gan_discriminator",
                                  "logistic_mixture"))
    i = bn.i
    out = [
        # back-propagation
        ("bn (2): the 1/n of the mean loss forgotten", B.claim("2"),
         dict(rhs=bn.y_total * bn.yhat[i] - bn.y[i])),
        ("bn (5): W2 instead of W2^T", B.claim("5"), dict(rhs=bn.W2 * bn.delta1[i])),
        ("bn (8): chain-rule factor 1/2 of d(sigma^2)^(-1/2) dropped", B.claim("8"),
         dict(rhs=-bn.gamma * bn.bsum(bn.hadamard(bn.ediv(bn.h1[i] - bn.mu, bn.root3),
                                                   bn.delta2[i]), i, 1, bn.n))),
        ("bn (12): x_i^T written x_i inside the sum", B.claim("12"),
         dict(rhs=bn.bsum(bn.delta4[i] * bn.x[i].T.T, i, 1, bn.n))),
        ("bn (12): the ReLU factor dropped (delta3 for delta4)", B.claim("12"),
         dict(rhs=bn.bsum(bn.delta3[i] * bn.x[i].T, i, 1, bn.n))),
        ("bn (13): the ReLU factor dropped (delta3 for delta4)", B.claim("13"),
         dict(rhs=bn.bsum(bn.delta3[i], i, 1, bn.n))),
        ("bn (6): the normaliser sqrt(sigma^2 + eps) forgotten", B.claim("6"),
         dict(rhs=bn.bsum((bn.h1[i] - bn.mu).T * bn.delta2[i], i, 1, bn.n))),
        ("bn (4): delta2 for delta1", B.claim("4"), dict(rhs=bn.bsum(bn.delta2[i], i, 1, bn.n))),
        ("bn (11): delta2 for delta3", B.claim("11"),
         dict(rhs=bn.hadamard(bn.indicator(bn.z1[i]), bn.delta2[i]))),
        # mixture of logistic models
        ("lm (32.2): chain-rule factor phi_nm dropped", L.claim("32.2"),
         dict(rhs=lm.y[lm.n, lm.k] * (1 - lm.y[lm.n, lm.k]))),
        ("lm (26): sign of the multiplier", L.claim("26"),
         dict(rhs=lm.sum_n(lm.rho[lm.n, lm.k] / lm.piT_rho) + lm.lam)),
        ("lm (34.4): t - y written y - t", L.claim("34.4"),
         dict(rhs=lm.sum_n(lm.gamma[lm.n, lm.k] * (lm.y[lm.n, lm.k] - lm.t[lm.n])
                           * lm.phi[lm.n, lm.m]))),
        ("lm (34.4): indices of phi swapped (phi_mn)", L.claim("34.4"),
         dict(rhs=lm.sum_n(lm.gamma[lm.n, lm.k] * (lm.t[lm.n] - lm.y[lm.n, lm.k])
                           * lm.phi[lm.m, lm.n]))),
        ("lm (31): normalised by K instead of N", L.claim("31"),
         dict(rhs=lm.sum_n(lm.gt[lm.n, lm.k]) / lm.K)),
        ("lm (32.2): y^2 for y in y(1 - y)", L.claim("32.2"),
         dict(rhs=lm.y[lm.n, lm.k] ** 2 * (1 - lm.y[lm.n, lm.k]) * lm.phi[lm.n, lm.m])),
        # mixture of multinomials
        ("em (46): word index mixed up (mu_j in the numerator)", E.claim("46"),
         dict(rhs=em.pi[em.k] * em.words(em.j) / sp.Sum(em.pi[em.j] * em.words(em.j),
                                                        (em.j, 1, em.K)))),
        ("em (46): the normaliser sum over j forgotten", E.claim("46"),
         dict(rhs=em.pi[em.k] * em.words(em.k))),
        ("em (45.1): pi_k normalised by K instead of D", E.claim("45.1"),
         dict(point={em.pi[em.k]: sp.Sum(em.gamma[em.d, em.k], (em.d, 1, em.D)) / em.K})),
        ("em (39): the multinomial coefficient inverted", E.claim("39"),
         dict(rhs=em.words(em.k) / em.COEF)),
        ("em (40.2): pi_k inside the product over words", E.claim("40.2"),
         dict(rhs=em.COEF * sp.Sum(em.pi[em.k] ** 2 * em.words(em.k), (em.k, 1, em.K)))),
        # GAN
        ("gan (38): p_model over the sum instead of p_data", G.claim("38"),
         dict(point={gan.Dv: gan.pm / (gan.pd + gan.pm)})),
        ("gan (38): a factor 1/2 too many", G.claim("38"),
         dict(point={gan.Dv: gan.pd / (2 * (gan.pd + gan.pm))})),
    ]
    return [(what, variant(claim, f"slip{k}", **change))
            for k, (what, claim, change) in enumerate(out)]


def measure(label: str, broken: list, args) -> None:
    """Refute each broken claim (the baseline), then search repairs of the refuted ones."""
    claims = [c for _, c in broken]
    start = time.perf_counter()
    checked = run_claims(claims, timeout=args.timeout, jobs=args.jobs)
    check_wall = time.perf_counter() - start
    refuted = [(w, c, r) for (w, c), r in zip(broken, checked) if r.verdict == Verdict.REFUTED]
    options = Options(budget=args.budget, seconds=args.seconds)
    start = time.perf_counter()
    found = repair_many([c for _, c, _ in refuted], options, jobs=args.jobs)
    search_wall = time.perf_counter() - start
    times = [f.search_seconds for f in found]
    totals = [f.seconds for f in found]
    base = [r.seconds for _, _, r in refuted]
    repaired = sum(1 for f in found if f.hints)
    proved = sum(1 for f in found if f.hints and f.hints[0].verdict == Verdict.PROVED)
    capped = sum(1 for f in found if f.capped)
    exhausted = sum(1 for f in found if f.exhausted)
    n = len(refuted)
    print(f"\n== {label}: {len(broken)} planted, {n} refuted by the checker "
          f"(checked in {check_wall:.1f} s)")
    if not n:
        return
    print(f"repaired: {repaired}/{n} = {100 * repaired / n:.1f} %  "
          f"(best hint proved: {proved}, verified only: {repaired - proved})")
    print(f"time to the hints per claim: median {statistics.median(times):.2f} s, worst "
          f"{max(times):.2f} s; refutation (baseline) median {statistics.median(base):.2f} s"
          f" -> ratio {statistics.median(times) / max(statistics.median(base), 1e-3):.1f}x")
    print(f"with the proofs of the best hints: median {statistics.median(totals):.2f} s, "
          f"worst {max(totals):.2f} s; wall {search_wall:.1f} s with {args.jobs} jobs")
    print(f"stopped by the time cap: {capped}, by the budget: {exhausted}")
    if args.verbose or label == "slips":
        for (what, _c, _), f in zip(refuted, found):
            hint = f"{f.hints[0].formula[:60]}  ({'; '.join(f.hints[0].edits)[:70]}; " \
                   f"{f.hints[0].verdict})" if f.hints else \
                ("-- capped" if f.capped else "-- budget" if f.exhausted else "-- none")
            print(f"  {what[:58]:<58} {f.search_seconds:5.2f} s  {hint}")
    missed = [(w, f) for (w, _, _), f in zip(refuted, found) if not f.hints]
    if label == "mutants" and missed:
        print("not repaired:")
        for what, f in missed:
            why = "cap" if f.capped else "budget" if f.exhausted else "none"
            print(f"  {what:<40} {why:<6} {f.candidates} candidates, {f.seconds:.2f} s")


#: the derivations of the HW2 document (the shipped matrix_calculus is not part of the figure)
HOMEWORK = ("bn_backprop", "logistic_mixture", "gan_discriminator", "em_multinomial")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--budget", type=int, default=Options().budget)
    parser.add_argument("--seconds", type=float, default=Options().seconds)
    parser.add_argument("--only", choices=("mutants", "slips"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, "
          f"budget {args.budget} candidates, cap {args.seconds:g} s")
    derivations, errors = load(None)
    if errors:
        sys.exit(f"cannot load the derivations: {errors}")
    by = {d.name: d for d in derivations}
    if args.only != "slips":
        planted = [(f"{c.derivation.name}:{m.id}", m) for d in derivations
                   if d.name in HOMEWORK for c in d.claims
                   if not c.erratum for m in mutants(c)]
        measure("mutants", planted, args)
    if args.only != "mutants":
        measure("slips", slips(by), args)


if __name__ == "__main__":
    main()
