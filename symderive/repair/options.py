"""The repair search's command-line options (``--no-repair``, ``--repair-budget N``),
shared by ``check`` and ``latex``: one home, so that neither command imports the other."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import Options


def add_repair_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-repair`` and ``--repair-budget N`` (the "did you mean" search)."""
    from .search import DEFAULT_BUDGET

    parser.add_argument("--no-repair", action="store_true",
                        help="do not search for small edits that repair a refuted claim")
    parser.add_argument("--repair-budget", type=_count, default=DEFAULT_BUDGET, metavar="N",
                        help="candidate formulas tried per refuted claim "
                             f"(default: {DEFAULT_BUDGET})")


def repair_options(args: argparse.Namespace) -> Options | None:
    """The repair search's options from the command line, None for --no-repair."""
    from .run import Options

    if getattr(args, "no_repair", True):
        return None
    return Options(budget=args.repair_budget)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
