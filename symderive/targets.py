"""Which derivations and claims a command runs on: the ``--dir`` folder and the targets
(``all``, ``NAME``, ``NAME:ID``), shared by ``check``, ``list`` and ``latex``."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from .config import validate_timeout
from .loader import load


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


def select_targets(derivations, targets: Sequence[str]):
    """(derivations to report, claims to run) for the targets given."""
    by_name = {d.name: d for d in derivations}
    if not targets or "all" in targets:
        return list(derivations), [c for d in derivations for c in d.claims]
    chosen, claims = [], []
    for target in targets:
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
    return chosen, claims


def load_derivations(args):
    """The derivations of ``--dir`` (default: the packaged ones) in document order, and
    the load errors."""
    try:
        derivations, errors = load(args.dir)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    return document_order(derivations), errors


def _natural(text: str) -> tuple:
    """``"hw2.md §10"`` after ``"hw2.md §9"``: digit runs compare as numbers."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t)
                 for t in re.findall(r"\d+|\D+", text))


def document_order(derivations):
    """In the order of their ``source`` (document order), those without a source last;
    by name where that does not decide."""
    return sorted(derivations, key=lambda d: (not d.source, _natural(d.source), d.name))


def timeout_arg(text: str) -> float:
    """``--timeout`` as argparse wants it: the shared validation, as a usage error."""
    try:
        return validate_timeout(text, "--timeout")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
