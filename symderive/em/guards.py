"""Refuse a run that cannot fit in memory, before allocating anything.

A fit holds, per initialisation, a few documents x K arrays (the responsibilities, the
log-probabilities of the E-step and their exponentials, the best run's responsibilities)
and a few K x words arrays (mu, log mu, the previous mu, the best run's mu), besides the
count matrix, its blocks of documents and of words, the transposed form of one of them
(the compiled products read the CSR form of each product's left factor) and the counts
as uint16 for the products.  ``estimate_bytes`` adds these up;
``available_bytes`` is the smaller of the kernel's MemAvailable and the cgroup's limit
(minus what the cgroup already uses), so a container's limit counts, not the host's RAM.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["estimate_bytes", "available_bytes", "parse_size", "format_size",
           "DK_ARRAYS", "KW_ARRAYS"]

#: float64 arrays of documents x K alive at once during an iteration (see module docstring)
DK_ARRAYS = 5
#: float64 arrays of K x words alive at once
KW_ARRAYS = 5
#: bytes per stored count: four CSR layouts (float64 value + int32 index: the matrix, its
#: row blocks, its column blocks, the transpose of one of the block sets) and the counts of
#: the two layouts the products read as uint16
NNZ_BYTES = 4 * 12 + 2 * 2


def estimate_bytes(n_documents: int, n_components: int, n_words: int, nnz: int) -> int:
    """Bytes a fit needs at its peak (an estimate from above of the arrays it keeps)."""
    return 8 * (DK_ARRAYS * n_documents * n_components + KW_ARRAYS * n_components * n_words) \
        + NNZ_BYTES * nnz


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _cgroup_available(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The cgroup's limit minus its usage (v2, else v1); None when unlimited or unknown."""
    for limit_file, usage_file in (("memory.max", "memory.current"),
                                   ("memory/memory.limit_in_bytes",
                                    "memory/memory.usage_in_bytes")):
        try:
            limit = (root / limit_file).read_text().strip()
        except OSError:
            continue
        if not limit.isdigit() or int(limit) >= 1 << 60:  # "max", or v1's huge "no limit"
            return None
        try:
            usage = int((root / usage_file).read_text().strip())
        except (OSError, ValueError):
            usage = 0
        return max(int(limit) - usage, 0)
    return None


def available_bytes() -> int | None:
    """The memory a run may use: min(MemAvailable, cgroup limit - usage); None if the
    system tells neither."""
    known = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    return min(known) if known else None


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1.5g"``, ``"1000000"`` (bytes) -> bytes; ValueError else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 512M, 2G)")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise ValueError(f"must be positive, got {text!r}")
    return value


def format_size(n: int) -> str:
    for unit in ("TB", "GB", "MB", "kB"):
        scale = _UNITS[unit[0].lower()]
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
