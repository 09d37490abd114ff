"""The pytest plugin: every claim of a derivation is a test item.

``pytest --symderive`` collects the derivation modules of ``derivations/`` (or of each
``--symderive-dir``, or of the ``symderive_dirs`` ini option), one item per claim, with ids
such as ``derivations/bn_backprop.py::bn_backprop::15``.  Verdicts become outcomes:

* ``proved`` / ``verified`` → passed;
* ``refuted`` → failed, the counterexample is the failure text;
* a marked erratum that is refuted → xfailed; one that holds → failed;
* ``undecided`` → skipped with its reason (failed under ``--symderive-strict``); a marked
  erratum that is undecided is skipped too;
* ``error`` → error.

The plugin is registered through the ``pytest11`` entry point, so it is imported by every
pytest run; it imports nothing heavy until it is switched on, and does nothing unless
``--symderive`` is given or ``symderive_dirs`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .derivation import Claim, Derivation
    from .options import CheckOptions
    from .runner import ClaimResult

DEFAULT_DIR = "derivations"

_DIRS = pytest.StashKey[list]()  # the folders whose modules are derivations
_LOADED = pytest.StashKey[dict]()  # folder -> (derivations by file, load errors by file)
_OPTIONS = pytest.StashKey["CheckOptions"]()  # the options of the run


def check_claims(claims: Sequence[Claim], options: CheckOptions, jobs: int | None = None
                 ) -> list[ClaimResult]:
    """The one call into the checker (so that a rename of its API is a one-line change)."""
    from .runner import run_claims

    return run_claims(claims, jobs=jobs, options=options)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("symderive", "symderive: check derivations as tests")
    group.addoption("--symderive", action="store_true", default=False,
                    help="collect every claim of the derivation modules as a test item")
    group.addoption("--symderive-dir", action="append", default=[], metavar="DIR",
                    help=f"a folder of derivation modules (default: {DEFAULT_DIR}/); "
                         "may be given more than once")
    # the options of `symderive check`, with the same meaning and the same validation
    from .options import add_arguments

    add_arguments(group, prefix="--symderive-")
    parser.addini("symderive_dirs", type="paths", default=[],
                  help="folders of derivation modules to collect (switches the plugin on)")


def pytest_configure(config: pytest.Config) -> None:
    ini = config.getini("symderive_dirs")
    if not (config.getoption("symderive") or ini):
        return
    from .options import OptionsError, from_args, project_defaults

    try:  # [tool.symderive] of the project's pyproject.toml fills what is not given
        config.stash[_OPTIONS] = from_args(config.option, project_defaults(config.rootpath),
                                           prefix="symderive_")
    except OptionsError as exc:
        raise pytest.UsageError(f"symderive: {exc}") from None
    given = [Path(d).resolve() for d in config.getoption("symderive_dir")]
    dirs = given or [Path(d).resolve() for d in ini] or [config.rootpath / DEFAULT_DIR]
    for folder in dirs:
        if not folder.is_dir():
            raise pytest.UsageError(f"symderive: no such derivations folder: {folder}")
    config.stash[_DIRS] = dirs
    config.stash[_LOADED] = {}
    config.addinivalue_line("markers", "symderive: a claim of a derivation")
    # with no paths on the command line, the folders are collected beside the usual tests
    source = getattr(config, "args_source", None)  # pytest >= 7.2
    if source is not None and source != pytest.Config.ArgsSource.ARGS:
        config.args.extend(str(d) for d in dirs if str(d) not in config.args)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    dirs = parent.config.stash.get(_DIRS, None)
    if not dirs or file_path.suffix != ".py" or file_path.name.startswith("_"):
        return None
    if file_path.parent.resolve() not in dirs:
        return None
    return DerivationFile.from_parent(parent, path=file_path)


def pytest_report_header(config: pytest.Config) -> str | None:
    dirs = config.stash.get(_DIRS, None)
    if not dirs:
        return None
    from .check.plan import claim_seed

    options = config.stash[_OPTIONS]
    return (f"symderive: derivations in {', '.join(str(d) for d in dirs)}; "
            f"budget {options.timeout:g} CPU s per claim, seed {claim_seed(options.seed)}"
            + ("" if options.cache else "; no cache"))


def _load(config: pytest.Config, folder: Path) -> tuple[dict, dict]:
    """The derivations of ``folder`` by file, and its load errors by file (once a run)."""
    loaded = config.stash[_LOADED]
    if folder not in loaded:
        from .loader import load

        derivations, errors = load(folder)
        by_file: dict[Path, list] = {}
        for d in derivations:
            by_file.setdefault(Path(d.file).resolve(), []).append(d)
        loaded[folder] = (by_file, {Path(e.file).resolve(): e for e in errors})
    return loaded[folder]


class DerivationFile(pytest.File):
    """A derivation module: one collector per derivation it defines."""

    def collect(self) -> Iterator[DerivationNode]:
        by_file, errors = _load(self.config, self.path.parent.resolve())
        here = self.path.resolve()
        if here in errors:
            raise self.CollectError(str(errors[here]))
        for d in by_file.get(here, []):
            yield DerivationNode.from_parent(self, name=d.name, derivation=d)


class DerivationNode(pytest.Collector):
    """A derivation; its claims are checked together (in parallel) when the first runs."""

    def __init__(self, *, derivation: Derivation, **kw):
        super().__init__(**kw)
        self.derivation = derivation
        self.results: dict[str, ClaimResult] = {}

    def collect(self) -> Iterator[ClaimItem]:
        for claim in self.derivation.claims:
            yield ClaimItem.from_parent(self, name=claim.id, claim=claim)

    def result(self, item: ClaimItem) -> ClaimResult:
        if item.name not in self.results:
            options = self.config.stash[_OPTIONS]
            batch = [item]
            if not hasattr(self.config, "workerinput"):  # under xdist: one claim at a time
                batch = [i for i in self.session.items if i.parent is self
                         and i.name not in self.results]
            for it, r in zip(batch, check_claims([i.claim for i in batch], options)):
                self.results[it.name] = r
        return self.results[item.name]


class ClaimFailed(Exception):
    """A claim's verdict fails the test; the message is the whole failure text."""


class ClaimError(Exception):
    """The claim could not be built or checked (reported as a pytest error)."""


class ClaimItem(pytest.Item):
    """One claim: checked in ``setup`` (so that a checker error is a pytest error)."""

    def __init__(self, *, claim: Claim, **kw):
        super().__init__(**kw)
        self.claim = claim
        self.add_marker("symderive")
        self.result_: ClaimResult | None = None

    def setup(self) -> None:
        from .check.verdict import Verdict

        self.result_ = r = self.parent.result(self)
        self.user_properties += [("verdict", str(r.verdict)), ("method", r.method)]
        if r.message:
            self.add_report_section("call", "symderive", f"{r.verdict}: {r.message}")
        if r.verdict == Verdict.ERROR:
            raise ClaimError(r.message or "the claim could not be checked")

    def runtest(self) -> None:
        from .check.verdict import Verdict
        from .report import passes

        r = self.result_
        strict = self.config.stash[_OPTIONS].strict
        why = r.message or r.method
        if self.claim.erratum:
            from .markup import plain

            erratum = plain(self.claim.erratum)
            if r.verdict == Verdict.REFUTED:
                pytest.xfail(f"known erratum: {erratum}")
        if passes(r, strict):  # the rule of `symderive check`'s exit status
            if r.verdict == Verdict.UNDECIDED:
                _skip(f"{'marked erratum, ' if self.claim.erratum else ''}undecided: {why}")
            return
        if self.claim.erratum:
            raise ClaimFailed(f"marked as an erratum ({erratum}), but it {r.verdict}: {why}")
        if r.verdict == Verdict.REFUTED:
            raise ClaimFailed(_refutation(r))
        if r.verdict == Verdict.UNDECIDED:
            raise ClaimFailed(f"undecided (--symderive-strict): {why}")
        raise ClaimFailed(f"only {r.verdict} (--symderive-strict={strict}): {why}")

    def _repr_failure_py(self, excinfo, style=None):
        # pytest formats setup errors (a checker error) and test failures through this
        # one method; a verdict's text is the whole story, so no traceback
        if isinstance(excinfo.value, (ClaimFailed, ClaimError)):
            return str(excinfo.value)
        return super()._repr_failure_py(excinfo, style)

    @property
    def derivation_name(self) -> str:
        return self.parent.derivation.name

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.claim.line - 1 if self.claim.line else None
        return self.path, line, f"{self.derivation_name}:{self.name}"


def _skip(reason: str) -> None:
    """Skip, reported at the claim's line (as a skip marker would be), not at this one."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def _refutation(r: ClaimResult) -> str:
    from .checked import repair_hint
    from .report import format_counterexample

    lines = [f"refuted ({r.method})"]
    if r.counterexample:
        lines += format_counterexample(r.counterexample, indent="  ")
    elif r.message:
        lines.append(f"  {r.message}")
    hint = repair_hint(r)
    if hint:
        lines.append(f"  repair: {hint}")
    return "\n".join(lines)
