"""Make a failing point simpler while it still fails, so a counterexample reads easily."""

from __future__ import annotations

import time

import sympy as sp

from ..numeric import Sampler
from .counterexample import failures

SHRINK_SECONDS = 2.0  # CPU seconds: a busy machine must not change the point reported


def shrink(evaluate, sampler: Sampler, point: dict) -> dict:
    """Make the failing point simpler while it still fails (Hypothesis-style): first a
    whole variable at once (a structured matrix to a simple one of its domain, c I),
    then entry by entry, within a small time budget.  A trial
    counts as failing at working precision; the caller confirms the point it keeps
    (:func:`.counterexample.confirmed`), and falls back to the original one if the
    shrunk point does not confirm."""
    deadline = time.process_time() + SHRINK_SECONDS

    def fails(trial) -> bool:
        return bool(failures(evaluate(trial)))

    groups: dict = {}
    for leaf in point:
        groups.setdefault(leaf.base.label if isinstance(leaf, sp.Indexed) else leaf,
                          []).append(leaf)
    for members in groups.values():
        if time.process_time() > deadline:
            return point
        whole = [m for m in sampler.simple_matrices(members[0]) if m.keys() <= point.keys()]
        options = sampler.simpler(members[0], point[members[0]])
        trials = whole + [{m: cand for m in members} for cand in options]
        for values in trials:
            trial = {**point, **values}
            if trial != point and fails(trial):
                point = trial
                break
    for leaf in list(point):
        ranked = sampler.simpler(leaf, point[leaf])  # candidates, simplest first
        if point[leaf] in ranked:  # only the ones simpler than the value it has
            ranked = ranked[:ranked.index(point[leaf])]
        for cand in ranked:
            if time.process_time() > deadline:
                return point
            trial = {**point, leaf: cand}
            if fails(trial):
                point = trial
                break
    return point
