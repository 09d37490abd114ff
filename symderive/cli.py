"""The ``symderive`` command line: check, list, latex, em."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Sequence

from . import __version__
from .check.plan import claim_seed
from .em.cli import register as register_em
from .latex.cli import register as register_latex
from .options import add_arguments, from_args
from .progress import Progress
from .report import load_error_line, plural
from .targets import UsageError, load_derivations, project_options, select_targets

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

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
  FILE.py        every derivation of one file, e.g. derivations/bn_backprop.py

Each claim is printed as soon as it and the claims before it are done.  A claim whose
statement, definitions, domains and options are unchanged since a run with the same
checker is taken from the cache and marked (cached); --no-cache checks everything.
Defaults for the options can be set in a [tool.symderive] table of pyproject.toml.

exit status:
  0  no claim refuted other than marked errata, and nothing errored
  1  a claim refuted unexpectedly, a marked erratum that holds, or an error;
     with --strict also a claim that is undecided (--strict=proved: or only verified)
  2  a usage error, or a derivation file that cannot be loaded
  130  interrupted (Ctrl-C): the claims that finished are reported, nothing else
"""


def _colour(stream) -> bool:
    return stream.isatty() and os.environ.get("NO_COLOR") is None and \
        os.environ.get("TERM") != "dumb"


def cmd_check(args) -> int:
    from .report import StreamingReport, Style, dumps, exit_status, to_json
    from .runner import Interrupted, run_claims

    defaults = project_options()
    options = from_args(args, defaults)
    derivations, errors = load_derivations(args, defaults)
    chosen, claims = select_targets(derivations, args.targets)
    progress = Progress(len(claims), sys.stderr.isatty() and not args.json)
    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    stream = None
    if not args.json:
        st = Style(_colour(sys.stdout) and not args.no_color)
        header = (f"symderive {__version__}: {plural(len(claims), 'claim')} in "
                  f"{plural(len(chosen), 'derivation')}, budget {options.timeout:g} CPU s per "
                  f"claim, seed {claim_seed(options.seed)}")
        print("\n".join([st(header, "bold"), *(load_error_line(e, st) for e in errors)]),
              flush=True)
        stream = StreamingReport(claims, chosen, st, progress.above)

    def done(result) -> None:
        progress(result)
        if stream is not None:
            stream.add(result)

    start = time.perf_counter()
    interrupted = False
    try:
        results = run_claims(claims, jobs=args.jobs, progress=done, options=options)
    except Interrupted as exc:  # Ctrl-C: report what finished, exit 130
        interrupted = True
        results = [r for r in exc.results if r is not None]
    seconds = time.perf_counter() - start
    progress.close()
    if args.json:
        print(dumps(to_json(chosen, results, seconds, interrupted)))
    else:
        stream.finish(errors, seconds, interrupted)
    if interrupted:
        return EXIT_INTERRUPTED
    return exit_status(results, errors, strict=options.strict)


def cmd_list(args) -> int:
    derivations, errors = load_derivations(args, project_options())
    chosen, claims = select_targets(derivations, args.targets)
    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    if args.formulas:
        from .unicode import formula
    for d in chosen:
        print(f"{d.name}  ({d.source})" if d.source else d.name)
        rows = [c for c in d.claims if c in claims]
        width = max((len(c.id) for c in rows), default=0)
        for c in rows:
            eq = f"({c.equation})" if c.equation else ""
            line = f"  {c.id:<{width}}  {eq:<8} {c.kind:<10}{'  [erratum]' if c.erratum else ''}"
            print(line.rstrip())
            if args.formulas:
                print(f"      {formula(c)}")
    print(f"{plural(len(claims), 'claim')} in {plural(len(chosen), 'derivation')}")
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
                       help="all (default), NAME, NAME:ID or FILE.py")
    add_arguments(check)
    check.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="claims checked in parallel (default: number of CPUs)")
    check.add_argument("--json", action="store_true", help="write a JSON document to stdout")
    check.add_argument("--no-color", action="store_true", help="never use colour")
    check.set_defaults(func=cmd_check)

    lst = sub.add_parser("list", parents=[common], help="list derivations and their claims",
                         description="List the derivations and their claims.")
    lst.add_argument("targets", nargs="*", metavar="TARGET",
                     help="all (default), NAME or NAME:ID")
    lst.add_argument("--formulas", action="store_true",
                     help="show each claim's formula (in Unicode)")
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
        return EXIT_INTERRUPTED


def console() -> int:
    """The ``symderive`` command: :func:`main`, in a process that ends with it.  What is
    made before the exit lives until then, so it is frozen out of the garbage collector:
    collecting cannot free it, and the interpreter's last collections at exit would
    traverse every object again (~0.3 CPU s after a check of the homework)."""
    gc.freeze()  # the modules imported
    try:
        return main()
    finally:
        gc.freeze()  # the derivations, results and caches, until the exit


if __name__ == "__main__":
    sys.exit(console())
