"""``symderive em``: run the certified EM on a corpus and print the document's Table 1."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import CERTIFY_TIMEOUT
from ..loader import import_file
from ..targets import timeout_arg
from .defaults import DEFAULT_ANNEAL
from .sources import CorpusSource

__all__ = ["register", "cmd_em", "run_table"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TABLE_KS = (10, 20, 30, 50)

DESCRIPTION = """\
Fit a mixture of multinomials by EM for each K and print Table 1 of the document: the
iterations until convergence and the topics sorted by pi_k, each with its top words;
then the log-likelihood (multinomial coefficient included), the NMI against the corpus
labels and the time of each run.

By default the run uses the document's settings for Table 1 (maximum likelihood, no
annealing, one initialisation, the pi-norm stop rule); --smoothing, --anneal and --n-init
turn on what clusters better (see the README's quality table).

The E-step, M-step and log-likelihood (and their MAP and annealed forms) are compiled
from the em_multinomial derivation, and run only once the checker has proved or verified
the claims behind them (checked on the first run, then cached).
"""

EPILOG = """\
corpus (--corpus):
{syntax}

stop rules (--stop):
  pi-norm   the document's rule: ||pi_old - pi_new||_2 < tol  (default tol 1e-3)
  loglik    relative change of the log-likelihood <= tol     (default tol 1e-6)

exit status:
  0  every run finished (converged or not)
  1  the formulas are not certified, or a run failed (e.g. the log-likelihood decreased)
  2  a usage error, a corpus that cannot be read (the message names file and line), K
     larger than the number of documents, or a run that would not fit in memory

examples:
  symderive em                                  Table 1 on the bundled 20 Newsgroups
  symderive em --k 10 20 30 50 --json t1.json
  symderive em --k 5 --corpus uci:docword.txt,vocab.txt --stop loglik
  symderive em --plot plots/                    also write plots/loglik.png, plots/pi.png
  symderive em --k 20 --dask local:2            the same on a local Dask cluster of 2 workers
  symderive em --dask tcp://HOST:8786 --blocks 20000   on a running Dask scheduler
  symderive em --corpus libsvm:docs.txt,vocab.txt --dask local:2   read by the workers
  symderive em --k 20 --smoothing 1 --anneal    the engine's quality settings
  symderive em --corpus 20news:train --eval-corpus 20news:test   held-out scores
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _document_share(text: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value.is_integer() and value > 1:
        return int(value)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1] or a number of "
                                         f"documents > 1, got {text}")
    return value


def _size(text: str) -> int:
    from .guards import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _anneal(text: str | None):
    if text is None:
        return False
    if text == "default":
        return True
    try:
        return [float(b) for b in text.split(",")]
    except ValueError:
        raise _Usage(f"--anneal {text}: expected inverse temperatures such as 0.1,0.3,0.6"
                     ) from None


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the ``em`` subcommand (called by :func:`symderive.cli.build_parser`)."""
    from .sources import SYNTAX

    p = subparsers.add_parser(
        "em", parents=[common], help="run EM on a corpus and print Table 1",
        description=DESCRIPTION, epilog=EPILOG.format(syntax=SYNTAX),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", nargs="+", type=_positive_int, default=list(TABLE_KS), metavar="K",
                   help="numbers of topics (default: 10 20 30 50, as Table 1)")
    p.add_argument("--corpus", default="20news", metavar="SPEC",
                   help="the corpus (default: 20news, bundled); syntax below")
    p.add_argument("--stop", choices=("pi-norm", "loglik"), default="pi-norm",
                   help="stop rule (default: pi-norm, the document's)")
    p.add_argument("--tol", type=_positive_float, default=None,
                   help="tolerance of the stop rule (default: 1e-3 pi-norm, 1e-6 loglik)")
    p.add_argument("--max-iter", type=_positive_int, default=200, metavar="N",
                   help="most iterations per run (default: 200)")
    p.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                   help="initialisations per K, the best is kept (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--smoothing", type=_nonnegative_float, default=0.0, metavar="A",
                   help="MAP M-step: a Dirichlet(1 + A) prior on each mu_k (default: 0, "
                        "maximum likelihood as the document)")
    p.add_argument("--smoothing-pi", type=_nonnegative_float, default=0.0, metavar="A",
                   help="a Dirichlet(1 + A) prior on pi (default: 0)")
    p.add_argument("--anneal", nargs="?", const="default", default=None, metavar="B,B,...",
                   help="deterministic annealing: inverse temperatures < 1 before the "
                        "final stage at 1 (no value: the default schedule "
                        f"{','.join(map(str, DEFAULT_ANNEAL))}; default: off)")
    p.add_argument("--max-df", type=_document_share, default=None, metavar="X",
                   help="drop words in more than X documents (an integer) or a fraction X "
                        "of them (a number in (0, 1]); default: keep all")
    p.add_argument("--eval-corpus", default=None, metavar="SPEC",
                   help="also score each fit on this corpus (vectorised with the training "
                        "vocabulary; unseen words dropped and counted)")
    p.add_argument("--max-memory", type=_size, default=None, metavar="SIZE",
                   help="memory a run may use, e.g. 4G (default: the smaller of "
                        "MemAvailable and the cgroup's limit)")
    p.add_argument("--top", type=_positive_int, default=5, metavar="N",
                   help="words shown per topic (default: 5)")
    p.add_argument("--topics", type=_positive_int, default=None, metavar="N",
                   help="topics shown per K in the text table (default: all)")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="write the results as JSON, to stdout or to FILE (written to a "
                        "temporary file first, never left half-written)")
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="write loglik.png and pi.png into DIR (needs matplotlib: "
                        "pip install 'symderive[plot]')")
    p.add_argument("--timeout", type=timeout_arg, default=CERTIFY_TIMEOUT, metavar="S",
                   help=f"budget per claim when the formulas are certified "
                        f"(default: {CERTIFY_TIMEOUT:g})")
    p.add_argument("--no-progress", action="store_true", help="never show progress")
    # -- Dask (symderive.em.distributed) --
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run the E-step on Dask workers: local:N starts a local cluster of N "
                        "worker processes, tcp://HOST:PORT connects to a running scheduler "
                        "(needs pip install 'symderive[dask]')")
    p.add_argument("--blocks", type=_positive_int, default=None, metavar="ROWS",
                   help="documents per block with --dask (default: as many blocks of equal "
                        "size on every worker, at most 16384 documents each)")
    p.set_defaults(func=cmd_em)


# -- progress ---------------------------------------------------------------------------
class _Progress:
    def __init__(self, enabled: bool, stream=None):
        self.enabled, self.stream = enabled, stream or sys.stderr
        self.K = 0
        self.n_init = 1

    def say(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r{text}\033[K")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __call__(self, p) -> None:
        init = f" init {p.init + 1}/{self.n_init}" if self.n_init > 1 else ""
        change = "" if p.change == float("inf") else f"  change {p.change:.2e}"
        self.say(f"  K={self.K}{init}  iteration {p.iteration}  log-likelihood "
                 f"{p.log_likelihood:.6e}{change}  ({p.seconds:.1f} s)")


# -- running ----------------------------------------------------------------------------
def run_table(corpus, ks: Sequence[int], *, stop: str = "pi-norm", tol: float | None = None,
              max_iter: int = 200, n_init: int = 1, seed: int = 0, smoothing: float = 0.0,
              smoothing_pi: float = 0.0, anneal=False, top: int = 5, formulas=None,
              progress: Callable | None = None, evaluate=None, blocks=None) -> list:
    """Fit one model per K on ``corpus`` and summarise each (Table 1 rows); with
    ``evaluate`` (a corpus with the same columns), score each fit on it too; with
    ``blocks`` (the corpus on Dask workers, :func:`~symderive.em.distributed.scatter_blocks`)
    on the cluster."""
    from .kernels import SparseData
    from .model import ConvergenceWarning, MultinomialMixture
    from .table import held_out, summarize

    data = SparseData.from_counts(corpus.counts) if blocks is None else blocks
    results = []
    for K in ks:
        if progress is not None:
            progress.K, progress.n_init = K, n_init
        model = MultinomialMixture(K, stop=stop, tol=tol, max_iter=max_iter, n_init=n_init,
                                   random_state=seed, smoothing=smoothing,
                                   smoothing_pi=smoothing_pi, anneal=anneal,
                                   formulas=formulas, callback=progress,
                                   backend="local" if blocks is None else "dask")
        with warnings.catch_warnings():  # the table says "converged: no" itself
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(data)
        result = summarize(model, corpus.vocabulary, corpus.labels, top)
        if evaluate is not None:
            result.held_out = held_out(model, evaluate.counts, evaluate.labels)
        results.append(result)
    return results


def _dims(corpus) -> tuple[int, int, int]:
    """(documents, words, tokens) of a Corpus, or of a corpus held by Dask workers."""
    if isinstance(corpus, _CorpusOnWorkers):
        return corpus.documents, len(corpus.vocabulary), corpus.tokens
    return corpus.counts.shape[0], corpus.counts.shape[1], int(corpus.counts.sum())


def check_resources(corpus, ks: Sequence[int], max_memory: int | None, *,
                    memory: bool = True) -> str | None:
    """Why the runs cannot be done (an empty corpus, K > documents, or not enough memory
    in this process: ``memory``), or None.  Computed from the sizes alone: nothing is
    allocated."""
    from .guards import available_bytes, estimate_bytes, format_size

    D, W, _ = _dims(corpus)
    if D == 0 or W == 0:
        return f"the corpus is empty ({D} documents, {W} words)"
    for K in ks:
        if K > D:
            return f"--k {K}: more topics than the {D} documents of the corpus"
    if not memory:
        return None
    nnz = int(corpus.counts.nnz)
    limit = max_memory if max_memory is not None else available_bytes()
    if limit is None:
        return None
    for K in ks:
        need = estimate_bytes(D, K, W, nnz)
        if need > limit:
            where = "--max-memory" if max_memory is not None else "available memory"
            return (f"--k {K}: a run needs about {format_size(need)} ({D} documents x {K} "
                    f"topics, {K} x {W} words), more than the {where} "
                    f"({format_size(limit)}); lower K or raise --max-memory")
    return None


def _load_module(folder: str | None):
    if folder is None:
        return None
    path = Path(folder) / "em_multinomial.py"
    if not path.is_file():
        raise FileNotFoundError(f"no em_multinomial.py in {folder}")
    return import_file(path, "_symderive_em_multinomial")


def _anneal_json(anneal):
    if anneal is True:
        return list(DEFAULT_ANNEAL)
    return anneal or None


def _settings_text(args, anneal) -> str:
    """The header line: the document's Table 1 settings, or what differs from them."""
    changed = []
    if args.smoothing:
        changed.append(f"smoothing {args.smoothing:g} (Dirichlet prior on mu)")
    if args.smoothing_pi:
        changed.append(f"smoothing on pi {args.smoothing_pi:g}")
    if anneal:
        changed.append("annealing beta = " + ", ".join(f"{b:g}" for b in _anneal_json(anneal))
                       + ", 1")
    if args.n_init > 1:
        changed.append(f"{args.n_init} initialisations")
    if args.max_df is not None:
        changed.append(f"max_df {args.max_df:g}")
    if not changed:
        return ("the document's (Table 1): maximum likelihood, no annealing, one "
                "initialisation")
    return "changed from the document's Table 1: " + "; ".join(changed)


class _Usage(ValueError):
    """A bad option value found before any work is done."""


def _error(text: str) -> None:
    print(f"symderive em: error: {text}", file=sys.stderr)


def cmd_em(args) -> int:
    """Validate the options, certify the formulas, load the corpus, run, report."""
    from ..corpus import CorpusError
    from .compile import CompileError
    from .formulas import PreconditionError, UnverifiedFormulasError, load_formulas
    from .model import LikelihoodDecreaseError
    from .plot import PlotUnavailable, require_matplotlib
    from .sources import CorpusSpecError, parse_corpus
    from .table import render, to_json

    start = time.perf_counter()
    progress = _Progress(sys.stderr.isatty() and not args.no_progress)

    def fail(code: int, text: str) -> int:
        progress.done()
        _error(text)
        return code

    try:
        source = parse_corpus(args.corpus)
        eval_source = None if args.eval_corpus is None else parse_corpus(args.eval_corpus)
        anneal = _anneal(args.anneal)
        if anneal not in (True, False):
            from .model import MultinomialMixture

            MultinomialMixture(anneal=anneal)._schedule()  # noqa: SLF001 - validate early
        if args.plot is not None:
            require_matplotlib()
            if Path(args.plot).exists() and not Path(args.plot).is_dir():
                raise _Usage(f"--plot {args.plot}: exists and is not a directory")
        if args.json not in (None, "-") and not Path(args.json).resolve().parent.is_dir():
            raise _Usage(f"--json {args.json}: no such directory")
        if args.blocks is not None and args.dask is None:
            raise _Usage("--blocks needs --dask")
        if args.dask is not None:
            _check_dask_address(args.dask)
            if args.dir is not None:
                raise _Usage("--dask runs the packaged em_multinomial derivation (the workers "
                             "import it); --dir is not supported with --dask")
            if source.kind == "libsvm" and args.max_df is not None:
                raise _Usage("--max-df needs the whole corpus in one process; with --dask a "
                             "libsvm corpus is read block by block on the workers")
            if source.kind == "libsvm" and source.paths[0].endswith(".gz"):
                raise _Usage(f"{source.paths[0]}: with --dask a libsvm corpus is read block "
                             "by block on the workers, which a compressed file does not "
                             "allow; decompress it (gunzip) first")
    except (CorpusSpecError, PlotUnavailable, _Usage) as exc:
        return fail(EXIT_USAGE, str(exc))
    except ValueError as exc:  # an --anneal schedule out of range
        return fail(EXIT_USAGE, f"--anneal {args.anneal}: {exc}")
    on_workers = args.dask is not None and source.kind == "libsvm"
    try:
        corpus = None  # a libsvm corpus with --dask is read on the workers, after certifying
        if not on_workers:
            progress.say(f"  loading {source.label} ...")
            corpus = source.load(max_df=args.max_df)
        evaluation = None
        if eval_source is not None:
            from ..corpus.vectorize import align

            progress.say(f"  loading {eval_source.label} ...")
            raw = eval_source.load(all_words=True)
            if corpus is not None:
                vocabulary = corpus.vocabulary
            else:
                from ..corpus.formats import read_vocabulary

                vocabulary = read_vocabulary(source.paths[1], allow_ids=True)
            evaluation = align(raw, vocabulary)  # (corpus, tokens, words) dropped
    except (CorpusError, OSError) as exc:
        return fail(EXIT_USAGE, str(exc))
    if corpus is not None:
        refused = check_resources(corpus, args.k, args.max_memory)
        if refused is not None:
            return fail(EXIT_USAGE, refused)
    # the formulas after the guards: a run that is refused costs no certification
    try:
        module = _load_module(args.dir)
    except Exception as exc:  # a broken derivation file is bad input, as in `check`
        return fail(EXIT_USAGE, f"cannot load the derivation: {type(exc).__name__}: {exc}")
    try:
        formulas = load_formulas(
            module, timeout=args.timeout,
            on_check=lambda: progress.say("  checking the claims behind the EM formulas "
                                          "(first run only) ..."))
    except (UnverifiedFormulasError, CompileError) as exc:
        return fail(EXIT_FAILED, str(exc))
    cluster = None
    try:
        if args.dask is not None:
            progress.say(f"  connecting to dask {args.dask} ...")
            try:
                cluster = _DaskRun(args.dask, source if corpus is None else corpus,
                                   args.blocks)
            except CorpusError as exc:  # a bad line, read on a worker: file and line
                return fail(EXIT_USAGE, str(exc))
            except (OSError, TimeoutError, ValueError) as exc:
                return fail(EXIT_USAGE, f"--dask {args.dask}: {exc}")
            if corpus is None:
                corpus = cluster.corpus
                refused = check_resources(corpus, args.k, None, memory=False)
                if refused is not None:
                    return fail(EXIT_USAGE, refused)
        results = run_table(corpus, args.k, stop=args.stop, tol=args.tol,
                            max_iter=args.max_iter, n_init=args.n_init, seed=args.seed,
                            smoothing=args.smoothing, smoothing_pi=args.smoothing_pi,
                            anneal=anneal, top=args.top, formulas=formulas,
                            progress=progress,
                            evaluate=None if evaluation is None else evaluation[0],
                            blocks=cluster and cluster.blocks)
    except (LikelihoodDecreaseError, FloatingPointError, PreconditionError) as exc:
        return fail(EXIT_FAILED, str(exc))
    finally:
        if cluster is not None:
            cluster.close()
    progress.done()
    seconds = time.perf_counter() - start
    cert = formulas.certificate
    plots = []
    if args.plot is not None:
        from .plot import write_plots

        plots = [str(p) for p in write_plots(results, args.plot)]
    tol = args.tol if args.tol is not None else (1e-3 if args.stop == "pi-norm" else 1e-6)
    settings = _settings_text(args, anneal)
    D, W, tokens = _dims(corpus)
    if args.json:
        doc = {
            "corpus": {"source": source.label, "documents": D, "words": W, "tokens": tokens},
            "formulas": cert.to_json() if cert else None,
            "stop": args.stop, "tol": tol, "max_iter": args.max_iter, "n_init": args.n_init,
            "seed": args.seed, "smoothing": args.smoothing,
            "smoothing_pi": args.smoothing_pi, "anneal": _anneal_json(anneal),
            "max_df": args.max_df, "settings": settings,
            "eval_corpus": None if evaluation is None else {
                "source": eval_source.label, "documents": evaluation[0].counts.shape[0],
                "tokens": int(evaluation[0].counts.sum()),
                "dropped_tokens": evaluation[1], "dropped_words": evaluation[2]},
            "runs": [to_json(r) for r in results], "plots": plots,
            "seconds": round(seconds, 3),
        }
        if cluster is not None:
            doc["dask"] = cluster.to_json()
        text = json.dumps(doc, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            from ..atomic import atomic_write_text

            try:
                atomic_write_text(args.json, text)
            except OSError as exc:
                _error(f"cannot write {args.json}: {exc}")
                return EXIT_USAGE
        return EXIT_OK
    rule = f"||pi_old - pi_new||_2 < {tol:g}" if args.stop == "pi-norm" else \
        f"relative change of the log-likelihood <= {tol:g}"
    print(f"corpus: {source.label}: {D} documents, {W} words, {tokens} tokens")
    if cert is not None:
        verdicts = ", ".join(f"{cid} {v}" for cid, v in cert.verdicts.items())
        print(f"formulas: {cert.derivation} ({verdicts}; {cert.source})")
    print(f"settings: {settings}")
    print(f"stop rule: {rule}; seed {args.seed}")
    if cluster is not None:
        print(f"ran on: {cluster.where}; {len(cluster.blocks.sizes)} blocks of up to "
              f"{cluster.block_rows} documents")
    if evaluation is not None:
        print(f"held-out corpus: {eval_source.label}: {evaluation[0].counts.shape[0]} "
              f"documents, {int(evaluation[0].counts.sum())} tokens over the training "
              f"vocabulary ({evaluation[1]} tokens of {evaluation[2]} words it never saw "
              "dropped)")
    print()
    print(render(results, topics=args.topics, top=args.top))
    for p in plots:
        print(f"wrote {p}")
    print(f"\ntotal time {seconds:.2f} s")
    return EXIT_OK


# -- Dask (--dask, --blocks) ----------------------------------------------------------
def _check_dask_address(address: str) -> None:
    from .distributed import DaskUnavailable, require_dask

    if not (address.startswith("local:") or "://" in address):
        raise _Usage(f"--dask {address!r}: expected local:N or a scheduler address such as "
                     "tcp://HOST:8786")
    try:
        require_dask()
    except DaskUnavailable as exc:
        raise _Usage(str(exc)) from None


@dataclass
class _CorpusOnWorkers:
    """What the report needs of a corpus that only the Dask workers hold, block by block."""

    vocabulary: list[str]
    documents: int
    tokens: int
    labels: None = None


class _DaskRun:
    """A client (and the local cluster it started), with the corpus on its workers: sent
    from this process (a loaded Corpus), or read there block by block (a libsvm source)."""

    def __init__(self, address: str, corpus, block_rows: int | None):
        from .distributed import LibsvmBlocks, connect, describe, scatter_blocks

        self.address = address
        self.client, self.cluster = connect(address)
        try:
            self.where = describe(self.client, self.cluster)
            if isinstance(corpus, CorpusSource):
                source = LibsvmBlocks(*corpus.paths, rows=block_rows)
                self.blocks = scatter_blocks(source, client=self.client)
                self.corpus = _CorpusOnWorkers(source.vocabulary(), self.blocks.shape[0],
                                               self.blocks.tokens)
            else:
                self.blocks = scatter_blocks(corpus, corpus.labels, block_rows=block_rows,
                                             client=self.client)
                self.corpus = corpus
            self.block_rows = max(self.blocks.sizes)
        except BaseException:
            self.close()
            raise

    def to_json(self) -> dict:
        return {"address": self.address, "where": self.where,
                "dashboard": getattr(self.client, "dashboard_link", None),
                "blocks": len(self.blocks.sizes), "block_rows": self.block_rows}

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
