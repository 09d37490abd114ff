"""The ``symderive`` command line: check, list, latex, em."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from . import __version__
from .config import DEFAULT_TIMEOUT
from .em.cli import register as register_em
from .latex.cli import register as register_latex
from .progress import Progress
from .repair.options import add_repair_arguments, repair_options
from .targets import UsageError, load_derivations, select_targets, timeout_arg

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Check mathematical derivations the way a test suite checks code.

Every claimed equation of a derivation is compared with the truth that symderive
computes itself (by differentiating, solving or integrating), first at exact random
points, then by a symbolic proof within a time budget.  Verdicts: proved, verified
(random points only), refuted (with a counterexample), undecided, error.
"""

CHECK_EPILOG = """\
targets:
  all            every derivation (the default)
  NAME           one derivation, e.g. bn_backprop
  NAME:ID        one claim, e.g. bn_backprop:15 or logistic_mixture:33.3

exit status:
  0  no claim refuted other than marked errata, and nothing errored
  1  a claim refuted unexpectedly, a marked erratum that holds, or an error
  2  a usage error, or a derivation file that cannot be loaded
"""


def _colour(stream) -> bool:
    return stream.isatty() and os.environ.get("NO_COLOR") is None and \
        os.environ.get("TERM") != "dumb"


def cmd_check(args) -> int:
    from .report import dumps, exit_status, render, to_json
    from .runner import run_claims

    derivations, errors = load_derivations(args)
    chosen, claims = select_targets(derivations, args.targets)
    colour = _colour(sys.stdout) and not args.no_color
    progress = Progress(len(claims), sys.stderr.isatty() and not args.json)

    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    start = time.perf_counter()
    results = run_claims(claims, timeout=args.timeout, jobs=args.jobs, progress=progress,
                         repair=repair_options(args))
    seconds = time.perf_counter() - start
    progress.close()
    if args.json:
        print(dumps(to_json(chosen, results, seconds)))
    else:
        header = (f"symderive {__version__}: {len(claims)} claims in {len(chosen)} "
                  f"derivation(s), budget {args.timeout:g} s per claim")
        print(render(chosen, results, errors, seconds, colour=colour, header=header))
    return exit_status(results, errors)


def cmd_list(args) -> int:
    derivations, errors = load_derivations(args)
    chosen, _ = select_targets(derivations, args.targets)
    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    for d in chosen:
        print(f"{d.name}  ({d.source})" if d.source else d.name)
        for c in d.claims:
            flags = "  [erratum]" if c.erratum else ""
            kind = "stationary" if c.kind == "stationary" else "equal"
            eq = f"({c.equation})" if c.equation else ""
            print(f"  {c.id:<16} {eq:<8} {kind}{flags}")
    return EXIT_USAGE if errors else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symderive", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"symderive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", metavar="DIR",
                        help="folder of derivation modules (default: the packaged HW2 ones)")

    check = sub.add_parser(
        "check", parents=[common], help="check derivations and report a verdict per claim",
        description="Check every claim of the selected derivations.",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("targets", nargs="*", metavar="TARGET",
                       help="all (default), NAME or NAME:ID")
    check.add_argument("--timeout", type=timeout_arg, default=DEFAULT_TIMEOUT, metavar="S",
                       help=f"time budget per claim in seconds (default: {DEFAULT_TIMEOUT:g})")
    check.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="claims checked in parallel (default: number of CPUs)")
    check.add_argument("--json", action="store_true", help="write a JSON document to stdout")
    add_repair_arguments(check)
    check.add_argument("--no-color", action="store_true", help="never use colour")
    check.set_defaults(func=cmd_check)

    lst = sub.add_parser("list", parents=[common], help="list derivations and their claims",
                         description="List the derivations and their claims.")
    lst.add_argument("targets", nargs="*", metavar="NAME", help="derivations to list")
    lst.set_defaults(func=cmd_list)

    register_latex(sub, common)
    register_em(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"symderive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("symderive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
