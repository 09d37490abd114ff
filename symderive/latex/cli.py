"""``symderive latex``: write (and optionally compile) the LaTeX report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import atomic_write_text
from ..config import DEFAULT_TIMEOUT
from ..repair.options import add_repair_arguments, repair_options
from ..targets import UsageError, load_derivations, select_targets, timeout_arg

EPILOG = """\
targets:
  all            every derivation (the default)
  NAME           one derivation, e.g. bn_backprop
  NAME:ID        one claim, e.g. logistic_mixture:33.3

The claims are checked first (progress on stderr), unless --results gives the JSON
written by `symderive check --json`.

exit status:
  0  the report was written (and compiled, with --pdf), whatever the verdicts
  1  the PDF could not be made: LaTeX failed, or no TeX engine is installed
  2  a usage error, or a results file that cannot be read
"""

DEFAULT_OUTPUT = "symderive-report.tex"


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``latex`` subcommand to the ``symderive`` parser."""
    p = sub.add_parser(
        "latex", parents=[common], help="write a LaTeX report of the checked derivations",
        description="Write a LaTeX document of the checked derivations: the setup, every "
                    "claim with its verdict and evidence, counterexamples and errata.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="TARGET", help="all (default), NAME or NAME:ID")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                   help=f"the .tex file to write (default: {DEFAULT_OUTPUT})")
    p.add_argument("--pdf", action="store_true",
                   help="also compile it (latexmk or pdflatex); the PDF goes beside the .tex")
    p.add_argument("--results", metavar="FILE",
                   help="use the results of `symderive check --json` instead of checking")
    p.add_argument("--timeout", type=timeout_arg, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"time budget per claim in seconds when checking "
                        f"(default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="claims checked in parallel (default: number of CPUs)")
    p.add_argument("--title", default="Checked derivations", help="title of the document")
    add_repair_arguments(p)
    p.set_defaults(func=cmd_latex)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a half-written file is never left behind."""
    atomic_write_text(path, text)


def cmd_latex(args) -> int:
    from .compile import CompileError, NoEngine, compile_pdf
    from .document import build
    from .results import ResultsError, check, load_results

    derivations, errors = load_derivations(args)
    for err in errors:
        print(f"symderive: error: {err}", file=sys.stderr)
    chosen, claims = select_targets(derivations, args.targets)
    if not claims:
        raise UsageError("no claims to report (no derivations found)")
    out = Path(args.output)
    if out.suffix != ".tex":
        raise UsageError(f"the output must be a .tex file, got {out}")
    if not out.parent.is_dir():
        raise UsageError(f"no such folder: {out.parent}")
    if args.results:
        try:
            results = load_results(args.results, claims)
        except ResultsError as exc:
            raise UsageError(str(exc)) from None
    else:
        results = check(claims, timeout=args.timeout, jobs=args.jobs,
                        repair=repair_options(args))
    write_atomic(out, build(chosen, results, title=args.title))
    print(f"wrote {out} ({len(claims)} claims in {len(chosen)} derivation(s))")
    if not args.pdf:
        return 0
    try:
        done = compile_pdf(out)
    except NoEngine as exc:
        print(f"symderive: error: {exc}", file=sys.stderr)
        return 1
    except CompileError as exc:
        print(f"symderive: error: {exc}\n--- LaTeX log (relevant lines) ---\n{exc.excerpt}",
              file=sys.stderr)
        return 1
    print(f"wrote {done.pdf} ({done.engine}, {done.seconds:.1f} s)")
    for pts, where in done.overfull:
        print(f"symderive: warning: overfull box, {pts:.1f}pt too wide {where}", file=sys.stderr)
    return 0
