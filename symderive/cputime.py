"""CPU time of a running process, so that budgets count work done, not a busy machine.

Both the claim checks (:mod:`symderive.runner`) and the repair searches
(:mod:`symderive.repair.run`) run in worker processes whose budgets are CPU seconds read
from ``/proc``; a wall-clock limit of :data:`WALL_FACTOR` budgets stays as a safety net
(a worker waiting, not computing).
"""

from __future__ import annotations

import os

WALL_FACTOR = 60.0  # wall-clock safety net, in budgets
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a live process has used, from /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None
