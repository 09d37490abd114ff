"""Benchmark: CPU seconds of the numeric (sampling) phase on the homework, this tree
against a baseline checkout, back to back in the same session.

Each side runs in a fresh process (the baseline with ``PYTHONPATH`` pointing at its
checkout), checks all homework claims in-process with ``check_claim`` and records, per
claim, the CPU seconds of the whole check and of ``equality.numeric_phase`` within it,
and the verdict.  Prints the totals side by side as ratios, the claims with the most
numeric CPU, and whether every verdict is the same.  CPU seconds, not wall time: the
machine may be shared.  Not a timed test.

    python bench/numeric_phase.py --baseline /path/to/main [--claims bn_backprop:10.1,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGETS = ["bn_backprop", "logistic_mixture", "gan_discriminator", "em_multinomial"]

#: run in the child: every claim (or the ones named), CPU per claim, JSON to argv[1]
CHILD = r"""
import json, sys, time
from symderive.loader import import_file
from symderive.check.dispatch import check_claim
import symderive.check.equality as eq
numeric = [0.0]
phase = eq.numeric_phase
def timed(*a, **k):
    t = time.process_time()
    try:
        return phase(*a, **k)
    finally:
        numeric[0] += time.process_time() - t
eq.numeric_phase = timed
wanted = [w for w in sys.argv[3].split(",") if w]
out = {}
for name in sys.argv[2].split(","):
    d = import_file(f"derivations/{name}.py").derivation
    for c in d.claims:
        key = f"{name}:{c.id}"
        if wanted and key not in wanted:
            continue
        numeric[0] = 0.0
        t = time.process_time()
        verdict = check_claim(c, lambda *a, **k: None).verdict
        out[key] = [time.process_time() - t, numeric[0], str(verdict)]
json.dump(out, open(sys.argv[1], "w"))
"""


def run(root: Path, claims: str, pythonpath: str | None) -> dict:
    """The per-claim figures of one side (a fresh process, a fresh result cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SYMDERIVE_CACHE=str(Path(tmp) / "cache"))
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, "-c", CHILD, str(out), ",".join(TARGETS), claims],
                       cwd=root, env=env, check=True)
        return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="checkout to compare against")
    parser.add_argument("--claims", default="", help="derivation:id,... (default: all)")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    base = Path(args.baseline).resolve()
    ours = run(here, args.claims, None)
    theirs = run(base, args.claims, str(base))
    for col, label in ((0, "whole check"), (1, "numeric phase")):
        a = sum(v[col] for v in theirs.values())
        b = sum(v[col] for v in ours.values())
        print(f"{label:14s} baseline {a:7.2f} CPU s   this tree {b:7.2f} CPU s   "
              f"ratio {b / a if a else float('nan'):.2f}")
    print("\nclaims with the most numeric CPU (baseline -> this tree):")
    top = sorted(theirs, key=lambda k: -theirs[k][1])[:args.top]
    for k in top:
        print(f"  {k:34s} {theirs[k][1]:6.2f} -> {ours.get(k, [0, float('nan')])[1]:6.2f}")
    differ = [k for k in theirs if theirs[k][2] != ours.get(k, [None] * 3)[2]]
    print("\nverdicts: " + ("identical" if not differ else f"{len(differ)} differ: {differ}"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
