"""PNG plots of EM runs (matplotlib is an optional extra: ``pip install 'symderive[plot]'``).

* ``loglik.png``: the log-likelihood per iteration, one line per K;
* ``pi.png``: pi_k per topic (topics sorted by pi_k), one panel per K.

Each file is written to a temporary file and moved into place, so an interrupted run
never leaves a truncated PNG.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_write
from .table import RunResult

__all__ = ["PlotUnavailable", "require_matplotlib", "write_plots"]

INSTALL_HINT = "pip install 'symderive[plot]'"


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def require_matplotlib():
    """The pyplot module with a file-only backend, or :class:`PlotUnavailable`."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(f"--plot needs matplotlib, an optional extra: {INSTALL_HINT}"
                              ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return atomic_write(path, lambda handle: handle.write(buf.getvalue()))


def write_plots(results: Sequence[RunResult], folder: str | os.PathLike[str]) -> list[Path]:
    """Write the plots for ``results`` into ``folder`` (created if needed)."""
    plt = require_matplotlib()
    from matplotlib.ticker import MaxNLocator

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        ax.plot(range(1, len(r.history) + 1), r.history, marker="o", ms=3, label=f"K = {r.K}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("log-likelihood  sum_d log P(d)")
    ax.set_title("EM for a mixture of multinomials: log-likelihood per iteration")
    ax.legend()
    ax.grid(alpha=0.3)
    written.append(_save(fig, folder / "loglik.png"))
    plt.close(fig)

    n = max(len(results), 1)
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.4 * n), squeeze=False)
    for ax, r in zip(axes[:, 0], results, strict=False):
        ax.bar([t.rank for t in r.topics], [t.pi for t in r.topics], color="tab:blue")
        ax.set_ylabel("pi_k")
        ax.set_title(f"K = {r.K}: topics sorted by pi_k", fontsize=10)
        ax.set_xlim(0.3, len(r.topics) + 0.7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # topics are whole numbers
    axes[-1, 0].set_xlabel("topic t_k")
    fig.tight_layout()
    written.append(_save(fig, folder / "pi.png"))
    plt.close(fig)
    return written
