"""A small on-disk cache of count matrices, so the corpus is tokenised only once.

Location: :func:`symderive.config.cache_dir` (``$SYMDERIVE_CACHE`` if set); corpus files
go in its ``corpus/`` subfolder. Files are ``.npz`` (no pickles) written to a temporary
file and moved into place with ``os.replace``, so a crash never leaves a half-written
cache entry. Any problem with the cache (not writable, corrupt, stale) makes the caller
recompute instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import atomic_write
from ..config import cache_dir

__all__ = ["default_cache_dir", "file_sha256", "load_bundle", "save_bundle", "cache_key"]

#: Bump when tokenisation or the file layout changes, to invalidate old entries.
CACHE_FORMAT = 2  # 2: encoded binary content dropped (text.strip_encoded)


def default_cache_dir() -> Path | None:
    """The symderive cache folder (:func:`symderive.config.cache_dir`, the one home of
    that rule); ``None`` if no home folder is known."""
    try:
        return cache_dir()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (identifies an archive independently of its mtime)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(payload: dict[str, object]) -> str:
    """A stable hash of everything the cached result depends on."""
    text = json.dumps({"format": CACHE_FORMAT, **payload}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _join(strings: list[str]) -> np.ndarray:
    """Strings (without newlines) as one uint8 array, so ``np.load`` needs no pickle."""
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def _split(array: np.ndarray, count: int) -> list[str]:
    if count == 0:
        return []
    strings = array.tobytes().decode("utf-8").split("\n")
    if len(strings) != count:
        raise ValueError("corrupt string table")
    return strings


def save_bundle(
    path: Path,
    key: str,
    counts: sp.csr_matrix,
    *,
    strings: dict[str, list[str]],
    arrays: dict[str, np.ndarray],
) -> None:
    """Write a count matrix plus named string lists and arrays to ``path`` atomically.

    Raises ``OSError`` when the folder cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, np.ndarray] = {
        "key": _join([key]),
        "shape": np.asarray(counts.shape, dtype=np.int64),
        "indptr": counts.indptr.astype(np.int64),
        "indices": counts.indices.astype(np.int32),
        "data": counts.data.astype(np.int32),
    }
    for name, values in strings.items():
        payload[f"s_{name}"] = _join(values)
        payload[f"n_{name}"] = np.asarray(len(values), dtype=np.int64)
    for name, values in arrays.items():
        payload[f"a_{name}"] = np.asarray(values)
    atomic_write(path, lambda handle: np.savez(handle, **payload))


def load_bundle(
    path: Path, key: str
) -> tuple[sp.csr_matrix, dict[str, list[str]], dict[str, np.ndarray]] | None:
    """Read what :func:`save_bundle` wrote; ``None`` if missing, stale or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _split(npz["key"], 1) != [key]:
                return None
            shape = tuple(int(n) for n in npz["shape"])
            counts = sp.csr_matrix(
                (npz["data"].astype(np.int64), npz["indices"], npz["indptr"]), shape=shape
            )
            strings: dict[str, list[str]] = {}
            arrays: dict[str, np.ndarray] = {}
            for name in npz.files:
                if name.startswith("s_"):
                    strings[name[2:]] = _split(npz[name], int(npz["n_" + name[2:]]))
                elif name.startswith("a_"):
                    arrays[name[2:]] = npz[name]
        counts.check_format(full_check=True)
        return counts, strings, arrays
    except Exception:  # a damaged cache must never break loading: recompute instead
        return None
