"""One key function and one store for everything symderive remembers between runs.

A cached verdict is only as good as its key.  :func:`key` hashes what a result depends
on: the content given by the caller (a claim as SymPy ``srepr``, its definitions and
domains, the options that change a result) and the source of every checker module
(:func:`checker_sources`; the source, not the version number, which does not change with
every edit).  A change to any of these gives another key, so the result is computed
again.  :class:`Store` keeps one JSON document per key under :func:`config.cache_dir`, each
written atomically, so an interrupted run leaves whole entries or none.

The results cache of ``symderive check`` (:mod:`symderive.runner`) and the EM engine's
formula certificate (:mod:`symderive.em.formulas`, ``key("em-certificate", ...)`` in
``Store("em")``) both use them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import sympy as sp

from .atomic import atomic_write_text
from .config import cache_dir
from .derivation import Claim, Derivation, StationaryClaim

__all__ = ["checker_sources", "source_digest", "statement_text", "context_text", "key",
           "Store"]

#: Parts of ``symderive/`` that are not the checker: their source does not affect a verdict
#: (the EM engine, the corpus readers, the LaTeX report, data, the shipped derivations).
NOT_CHECKER = ("em", "corpus", "latex", "data", "derivations")

_ROOT = Path(__file__).resolve().parent


def checker_sources() -> list[Path]:
    """Every Python file of the checker: all of ``symderive/`` but :data:`NOT_CHECKER`,
    found by walking the package, so that a new or moved module is covered."""
    return sorted(p for p in _ROOT.rglob("*.py")
                  if p.relative_to(_ROOT).parts[0] not in NOT_CHECKER)


@functools.cache
def source_digest() -> str:
    """A hash of the checker's source (read once per process)."""
    h = hashlib.sha256()
    for path in checker_sources():
        h.update(path.relative_to(_ROOT).as_posix().encode() + b"\0")
        with contextlib.suppress(OSError):
            h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


_DUMMY_INDEX = re.compile(r"dummy_index=(\d+)")


@functools.lru_cache(maxsize=4096)
def _srepr(expr: sp.Basic) -> str:
    """``srepr``, once per expression (definitions are shared by many claims), with the
    indices of ``Dummy`` symbols (a process-wide counter, different in every run)
    renumbered in order of appearance, so that the same expression gives the same text
    in every process."""
    seen: dict[str, int] = {}
    return _DUMMY_INDEX.sub(lambda m: f"dummy_index={seen.setdefault(m[1], len(seen))}",
                            sp.srepr(expr))


#: Fields of a claim that name or annotate it without changing what is checked.
NOT_STATED = frozenset({"id", "equation", "erratum", "note", "derivation", "line"})


def _text(value: object) -> str:
    """A value as stable text: SymPy objects in ``srepr``, mappings sorted."""
    if isinstance(value, sp.Basic):
        return _srepr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(sorted(f"{_text(k)}: {_text(v)}" for k, v in value.items())) \
            + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    return repr(value)


def statement_text(claim: Claim) -> str:
    """What a claim states, as text: its kind and every field (found from the dataclass,
    so that a field added later is covered), but not its id, equation number, erratum or
    note, which do not change what is checked."""
    return "\n".join([type(claim).__name__] + [
        f"{f.name}={_text(getattr(claim, f.name))}" for f in dataclasses.fields(claim)
        if f.name not in NOT_STATED])


def context_text(d: Derivation, claim: Claim) -> str:
    """The part of a derivation a claim depends on: the definitions and variables it uses
    (transitively) with their shapes and domains, and the derivation's dimensions, indices
    and proof sizes.  Editing another claim or an unused definition leaves the claim's key
    unchanged."""
    exprs = [claim.lhs, claim.rhs, *claim.given, *claim.unknowns]
    if isinstance(claim, StationaryClaim):
        exprs += [claim.f, *claim.variables, *claim.constraints, *claim.point.values()]
    parts = [f"proof_sizes={d.proof_sizes!r}", _dims_text(d)]
    for name in sorted(d.var_names(*exprs)):
        if name in d.vars:
            v = d.vars[name]
            parts.append(f"var {name} {v.kind} {tuple(map(str, v.shape))} {v.assume!r}")
        token = sp.Symbol(name)
        if token in d.defs:
            defn = d.defs[token]
            parts.append(f"def {name} {_srepr(defn.body)} {defn.params}")
    return "\n".join(parts)


def _dims_text(d: Derivation) -> str:
    dims = sorted((str(k), v) for k, v in d.dims.items())
    indices = sorted((str(k), str(v)) for k, v in d.indices.items())
    return f"dims {dims} indices {indices}"


def key(kind: str, *parts: object) -> str:
    """The cache key of a result of ``kind`` computed from ``parts`` by the checker: a
    hash of the parts (strings, or anything ``json.dumps`` writes) and of the checker's
    source."""
    h = hashlib.sha256(f"{kind}\0{source_digest()}\0".encode())
    for part in parts:
        text = part if isinstance(part, str) else json.dumps(part, sort_keys=True,
                                                             default=str)
        h.update(text.encode() + b"\0")
    return h.hexdigest()


class Store:
    """JSON documents by key, in ``<cache>/<kind>/<key[:2]>/<key>.json``.

    Reading a missing, unreadable or foreign entry gives None; a cache that cannot be
    written only costs the time to compute again.
    """

    def __init__(self, kind: str, root: Path | None = None):
        self.folder = (root if root is not None else cache_dir()) / kind

    def path(self, k: str) -> Path:
        return self.folder / k[:2] / f"{k}.json"

    def get(self, k: str) -> dict | None:
        try:
            doc = json.loads(self.path(k).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("key") != k:
            return None
        return doc.get("value")

    def put(self, k: str, value: dict) -> None:
        path = self.path(k)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps({"key": k, "value": value}))
