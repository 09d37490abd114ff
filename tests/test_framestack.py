"""The frame-stack anchor (symderive/framestack.py): a recursion that oscillates across a
boundary of CPython 3.11's 16 KiB frame-stack chunks maps and unmaps a chunk at every
call (fresh pages: a page fault each time); run anchored, it does not, at any depth it
is called from.  A claim check once ran out of its CPU budget that way (19 s of system
time), only when called one frame deeper."""

import resource
import sys

import pytest

from symderive.check import dispatch
from symderive.framestack import anchored

pytestmark = pytest.mark.skipif(sys.implementation.name != "cpython"
                                or sys.version_info < (3, 11),
                                reason="CPython >= 3.11 keeps frames in chunks")


def _down(n: int, f):
    return f() if n == 0 else _down(n - 1, f)


def _oscillate(calls: int = 3000) -> int:
    """Page faults of ``calls`` calls 40 frames deep (a walk's inner loop)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        _down(40, int)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _worst(run) -> int:
    """The most page faults over the depths an oscillation may start from (one of them
    puts it across a chunk boundary)."""
    return max(run(depth) for depth in range(0, 400, 7))


def test_an_anchored_recursion_faults_at_no_depth():
    plain = _worst(lambda depth: _down(depth, _oscillate))
    held = _worst(lambda depth: _down(depth, lambda: anchored(_oscillate)))
    assert held < 300, (held, plain)
    # the hazard itself, on this interpreter: some depth maps a chunk per call
    assert plain > 2000, plain


def test_check_claim_runs_anchored(monkeypatch):
    seen = []
    monkeypatch.setattr(dispatch, "anchored", lambda fn, *a: seen.append(fn) or "ok")
    assert dispatch.check_claim(object(), None) == "ok"
    assert seen == [dispatch._check_claim]
