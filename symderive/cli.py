"""The ``symderive`` command line: check, list, latex, em."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from . import __version__

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


class UsageError(Exception):
    pass


def _colour(stream) -> bool:
    return stream.isatty() and os.environ.get("NO_COLOR") is None and \
        os.environ.get("TERM") != "dumb"


def _select(derivations, targets: Sequence[str]):
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
        if claim_id:
            try:
                claims.append(d.claim(claim_id))
            except KeyError:
                raise UsageError(f"{name} has no claim {claim_id!r}; "
                                 f"see `symderive list {name}`") from None
        else:
            claims.extend(d.claims)
    return chosen, claims


def _load(args):
    from .loader import load

    try:
        return load(args.dir)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None


def cmd_check(args) -> int:
    from .report import dumps, exit_status, render, to_json
    from .runner import run_claims

    derivations, errors = _load(args)
    chosen, claims = _select(derivations, args.targets)
    colour = _colour(sys.stdout) and not args.no_color
    show_progress = sys.stderr.isatty() and not args.json
    done = [0]

    def progress(result):
        done[0] += 1
        if show_progress:
            sys.stderr.write(f"\r  checked {done[0]}/{len(claims)} claims "
                             f"({result.derivation}:{result.id})\033[K")
            sys.stderr.flush()

    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    start = time.perf_counter()
    results = run_claims(claims, timeout=args.timeout, jobs=args.jobs, progress=progress,
                         seed=args.seed)
    seconds = time.perf_counter() - start
    if show_progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        print(dumps(to_json(chosen, results, seconds)))
    else:
        header = (f"symderive {__version__}: {len(claims)} claims in {len(chosen)} "
                  f"derivation(s), budget {args.timeout:g} CPU s per claim, seed {args.seed}")
        print(render(chosen, results, errors, seconds, colour=colour, header=header))
    return exit_status(results, errors)


def cmd_list(args) -> int:
    derivations, errors = _load(args)
    chosen, _ = _select(derivations, args.targets)
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
    check.add_argument("--timeout", type=_positive, default=5.0, metavar="S",
                       help="budget per claim in CPU seconds (default: 5)")
    check.add_argument("--seed", type=int, default=0, metavar="N",
                       help="seed of the sampled points (default: 0; reported in the "
                            "evidence)")
    check.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="claims checked in parallel (default: number of CPUs)")
    check.add_argument("--json", action="store_true", help="write a JSON document to stdout")
    check.add_argument("--no-color", action="store_true", help="never use colour")
    check.set_defaults(func=cmd_check)

    lst = sub.add_parser("list", parents=[common], help="list derivations and their claims",
                         description="List the derivations and their claims.")
    lst.add_argument("targets", nargs="*", metavar="NAME", help="derivations to list")
    lst.set_defaults(func=cmd_list)

    for extra in _extra_commands():
        extra(sub, common)
    return parser


def _extra_commands():
    """Subcommands that live in their own modules (latex, em), when present."""
    out = []
    for module, attr in (("symderive.latex.cli", "register"), ("symderive.em.cli", "register")):
        try:
            mod = __import__(module, fromlist=[attr])
        except ImportError:
            continue
        out.append(getattr(mod, attr))
    return out


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


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
