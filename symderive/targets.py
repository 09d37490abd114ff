"""Which derivations and claims a command runs on: the ``--dir`` folder and the targets
(``all``, ``NAME``, ``NAME:ID``), shared by ``check``, ``list`` and ``latex``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .loader import load, load_files
from .options import OptionsError, option_type, project_defaults


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


def select_targets(derivations, targets: Sequence[str]):
    """(derivations to report, claims to run) for the targets given."""
    by_name = {d.name: d for d in derivations}
    if not targets or "all" in targets:
        return list(derivations), [c for d in derivations for c in d.claims]
    chosen, claims = [], []
    for target in targets:
        if is_file_target(target):
            here = Path(target).resolve()
            for d in derivations:
                if d.file and Path(d.file).resolve() == here and d not in chosen:
                    chosen.append(d)
                    claims.extend(d.claims)
            continue
        name, _, claim_id = target.partition(":")
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise UsageError(f"unknown derivation {name!r} (known: {known})")
        d = by_name[name]
        if d not in chosen:
            chosen.append(d)
        if claim_id or target.endswith(":"):
            if not claim_id:
                raise UsageError(f"empty claim id in {target!r}; "
                                 f"see `symderive list {name}`")
            try:
                claims.append(d.claim(claim_id))
            except KeyError:
                raise UsageError(f"{name} has no claim {claim_id!r}; "
                                 f"see `symderive list {name}`") from None
        else:
            claims.extend(d.claims)
    return chosen, list({id(c): c for c in claims}.values())  # a claim named twice runs once


def is_file_target(target: str) -> bool:
    """``path/to/file.py``: a target that names a derivation file."""
    return target.endswith(".py")


def load_derivations(args, defaults: dict | None = None):
    """The derivations of ``--dir`` (default: ``dir`` of ``[tool.symderive]``, else the
    packaged ones) and of the ``FILE.py`` targets, in document order, and the load
    errors.  Only files are loaded when every target is a file."""
    targets = list(getattr(args, "targets", None) or [])
    files = [Path(t) for t in targets if is_file_target(t)]
    folder = args.dir or (defaults or {}).get("dir")
    try:
        derivations, errors = ([], []) if files and len(files) == len(targets) \
            else load(folder)
        more, more_errors = load_files(files)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    seen = {id(d) for d in derivations}
    derivations += [d for d in more if id(d) not in seen]
    return document_order(derivations), errors + more_errors


def project_options() -> dict:
    """The ``[tool.symderive]`` defaults of the nearest pyproject.toml (a bad one is a
    usage error)."""
    try:
        return project_defaults()
    except OptionsError as exc:
        raise UsageError(str(exc)) from None


def _natural(text: str) -> tuple:
    """``"hw2.md §10"`` after ``"hw2.md §9"``: digit runs compare as numbers."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t)
                 for t in re.findall(r"\d+|\D+", text))


def document_order(derivations):
    """In the order of their ``source`` (document order), those without a source last;
    by name where that does not decide."""
    return sorted(derivations, key=lambda d: (not d.source, _natural(d.source), d.name))


#: ``--timeout`` as argparse wants it: the shared validation, as a usage error.
timeout_arg = option_type("timeout", float)
