"""EM on Dask (symderive.em.distributed): the same fit as in process, on 2 worker processes."""

from __future__ import annotations

import json
import re
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sps

from symderive.em import MultinomialMixture, load_formulas
from symderive.em import distributed as dd
from symderive.em.formulas import PreconditionError
from symderive.em.metrics import contingency, nmi_from_contingency, normalized_mutual_info
from symderive.em.model import ConvergenceWarning
from symderive.em.steps import INIT_CHUNK, initial_responsibilities

dask = pytest.importorskip("dask", reason="pip install 'symderive[dask]'")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def formulas():
    return load_formulas()  # certified once, on the client


@pytest.fixture(scope="module")
def client(formulas):
    cluster = dd.local_cluster(2)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def corpus(seed: int = 0, D: int = 600, W: int = 150, topics: int = 4):
    """Documents drawn from ``topics`` multinomials, with class labels (some unknown)."""
    rng = np.random.default_rng(seed)
    mu = rng.dirichlet(np.full(W, 0.2), topics)
    y = rng.integers(0, topics, D)
    X = np.stack([rng.multinomial(rng.integers(5, 60), mu[c]) for c in y])
    X[3] = 0  # an empty document
    y[::17] = -1
    return sps.csr_matrix(X), y


def assert_same_fit(local: MultinomialMixture, remote: MultinomialMixture) -> None:
    assert remote.n_iter_ == local.n_iter_
    assert remote.converged_ == local.converged_
    rel = np.abs(remote.log_likelihood_ - local.log_likelihood_) / np.abs(local.log_likelihood_)
    assert rel.max() <= 1e-9, rel
    np.testing.assert_allclose(remote.weights_, local.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(remote.components_, local.components_, rtol=1e-9, atol=1e-12)


def fit_both(formulas, X, y, block_rows, **options):
    local = MultinomialMixture(formulas=formulas, **options).fit(X)
    remote = dd.fit_dask(MultinomialMixture(formulas=formulas, backend="dask", **options), X, y,
                         block_rows=block_rows)
    return local, remote


@pytest.mark.parametrize("block_rows", [600, 128, 37])
def test_the_dask_fit_is_the_in_process_fit_for_any_block_size(client, formulas, block_rows):
    X, y = corpus()
    local, remote = fit_both(formulas, X, y, block_rows, n_components=5, random_state=3,
                             stop="loglik", tol=1e-8, max_iter=60)
    assert local.n_iter_ > 10  # a real run, not one iteration
    assert_same_fit(local, remote)
    assert remote.blocks_ == -(-600 // block_rows)
    assert np.array_equal(remote.labels_.compute(), local.labels_)
    known = y >= 0
    expected = contingency(local.labels_[known], y[known])
    table = remote.contingency_
    assert table.shape == (5, 4) and table.sum() == known.sum()
    assert np.array_equal(table[table.sum(axis=1) > 0], expected)
    assert nmi_from_contingency(table) == pytest.approx(
        normalized_mutual_info(y[known], local.labels_[known]), abs=1e-15)


def test_n_init_smoothing_and_the_documents_stop_rule(client, formulas):
    X, y = corpus(1)
    local, remote = fit_both(formulas, X, y, 100, n_components=4, random_state=5, n_init=3,
                             smoothing=0.5, smoothing_pi=0.25, anneal=False, stop="pi-norm",
                             tol=1e-4, max_iter=100)
    assert_same_fit(local, remote)
    np.testing.assert_allclose(remote.objective_, local.objective_, rtol=1e-9)


@pytest.mark.parametrize("block_rows", [600, 53])
def test_annealing_and_smoothing_run_the_same_on_dask(client, formulas, block_rows):
    X, y = corpus(5)
    schedule = (0.3, 0.6)
    local, remote = fit_both(formulas, X, y, block_rows, n_components=5, random_state=2,
                             smoothing=1.0, anneal=schedule, stop="loglik", tol=1e-8,
                             max_iter=60)
    assert_same_fit(local, remote)
    np.testing.assert_allclose(remote.objective_, local.objective_, rtol=1e-9)
    betas = []
    remote.callback = lambda p: betas.append(p.beta)
    remote.fit(X, y)
    assert betas[0] == 0.3 and 0.6 in betas and betas[-1] == 1.0  # the stages ran there
    assert len(betas) == remote.n_iter_ == local.n_iter_


def test_warm_start_continues_on_dask_as_in_process(client, formulas):
    X, y = corpus(6)
    options = dict(n_components=4, random_state=1, max_iter=4, stop="loglik", tol=1e-12,
                   warm_start=True)
    local = MultinomialMixture(formulas=formulas, **options)
    remote = MultinomialMixture(formulas=formulas, backend="dask", **options)
    with warnings.catch_warnings():  # 4 iterations: not converged
        warnings.simplefilter("ignore", ConvergenceWarning)
        local.fit(X), remote.fit(X, y)
        first = remote.log_likelihood_[-1]
        assert len(remote.log_likelihood_) > 4  # the first fit annealed
        local.fit(X), remote.fit(X, y)
    assert_same_fit(local, remote)
    assert len(remote.log_likelihood_) <= 4  # the second did not: one stage at beta = 1
    assert remote.log_likelihood_[0] >= first  # continued, not restarted


def test_dask_array_delayed_blocks_and_a_libsvm_file(client, formulas, tmp_path):
    import dask.array as da

    X, y = corpus(2, D=300)
    options = dict(n_components=3, random_state=0, stop="loglik", tol=1e-8, max_iter=60)
    local = MultinomialMixture(formulas=formulas, **options).fit(X)
    arr = da.from_array(X, chunks=(70, X.shape[1]), asarray=False)
    via_array = MultinomialMixture(formulas=formulas, backend="dask", **options).fit(arr)
    assert_same_fit(local, via_array)
    parts = [dask.delayed(lambda a, b: X[a:b])(a, min(a + 50, 300)) for a in range(0, 300, 50)]
    via_delayed = MultinomialMixture(formulas=formulas, backend="dask", **options).fit(parts)
    assert_same_fit(local, via_delayed)
    assert via_delayed.blocks_ == 6
    data, vocab = tmp_path / "docs.txt", tmp_path / "vocab.txt"
    vocab.write_text("".join(f"w{j}\n" for j in range(X.shape[1])))
    lines = ["# a comment line"]
    for d in range(X.shape[0]):
        row = X[d]
        if d == 45:  # a blank and a comment line just before a block starts
            lines += ["", "# between blocks"]
        lines.append(f"doc{d} " + " ".join(f"{j}:{int(c)}" for j, c in zip(row.indices, row.data)))
    data.write_text("\n".join(lines) + "\n")
    source = dd.LibsvmBlocks(str(data), str(vocab), rows=45)
    assert [r[0] for r in source.ranges()] == list(range(0, 300, 45))
    via_file = MultinomialMixture(formulas=formulas, backend="dask", **options).fit(source)
    assert_same_fit(local, via_file)


def test_a_bad_line_in_the_file_names_file_and_line(client, formulas, tmp_path):
    from symderive.corpus import CorpusError

    data, vocab = tmp_path / "docs.txt", tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    data.write_text("d0 0:1 1:2\nd1 1:1\nd2 0:1 7:1\n")
    with pytest.raises(CorpusError, match=r"docs\.txt:3.*unknown word id 7"):
        MultinomialMixture(2, formulas=formulas, backend="dask").fit(
            dd.LibsvmBlocks(str(data), str(vocab), rows=2))


def test_initial_responsibilities_depend_on_the_document_only():
    K, D = 7, 2 * INIT_CHUNK + 300
    whole = initial_responsibilities(11, 0, 0, D, K)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0)
    assert whole.min() > 0
    for cuts in ([0, 1, 4095, 4096, 4097, 8300, D], [0, 5000, D], [0, 123, 8192, D]):
        parts = [initial_responsibilities(11, 0, a, b, K) for a, b in zip(cuts[:-1], cuts[1:])]
        assert np.array_equal(np.vstack(parts), whole)
    assert not np.allclose(initial_responsibilities(11, 1, 0, D, K), whole)  # next init
    assert not np.allclose(initial_responsibilities(12, 0, 0, D, K), whole)  # next seed
    X, _ = corpus()
    m = MultinomialMixture(5, random_state=11, max_iter=3, stop="loglik", tol=1e-300,
                           anneal=False, formulas=None)
    start = MultinomialMixture(5, init=initial_responsibilities(11, 0, 0, 600, 5),
                               max_iter=3, stop="loglik", tol=1e-300, anneal=False)
    # the same start (the array is normalised once more: equal to the last bits)
    with pytest.warns(ConvergenceWarning):
        np.testing.assert_allclose(m.fit(X).log_likelihood_, start.fit(X).log_likelihood_,
                                   rtol=1e-13)


def test_the_m_step_on_reduced_statistics_is_the_in_process_m_step(formulas):
    X, _ = corpus(4)
    K = 4
    resp = initial_responsibilities(1, 0, 0, X.shape[0], K)
    model = MultinomialMixture(K, smoothing=0.25, smoothing_pi=0.5)
    from symderive.em.kernels import SparseData

    data = SparseData.from_counts(X)
    pi, mu_t = model._m_step(formulas, data, resp, None)  # the MAP M-step, on all documents
    halves = [dd._stats(dd._load_block(a, X[a:b], None), resp[a:b], None)
              for a, b in ((0, 250), (250, 600))]
    stats = dd._add(*halves)
    pi2, mu2 = dd.m_step_from_stats(model, formulas, stats, None)
    np.testing.assert_allclose(pi2, pi, rtol=1e-13)
    np.testing.assert_allclose(mu2, mu_t, rtol=1e-12)
    # planted mistakes: a block counted twice, the statistics of the wrong documents
    wrong = dd._add(halves[0], halves[0])
    assert not np.allclose(dd.m_step_from_stats(model, formulas, wrong, None)[1], mu_t)
    swapped = dd._Stats(stats.n, stats.nk[::-1].copy(), stats.tg)
    assert not np.allclose(dd.m_step_from_stats(model, formulas, swapped, None)[0], pi)


def test_a_worker_with_other_formulas_refuses_to_run(formulas, monkeypatch, tmp_path):
    from symderive.em import formulas as fm

    monkeypatch.setattr(fm, "_PROCESS_CACHE", {})
    monkeypatch.setattr(dd, "_WORKER_FORMULAS", {})
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path))
    cert = fm.Certificate(**{**formulas.certificate.__dict__, "key": "0" * 64})
    with pytest.raises(fm.UnverifiedFormulasError, match="not the ones the client certified"):
        dd._worker_formulas("symderive.derivations.em_multinomial", cert)
    ok = dd._worker_formulas("symderive.derivations.em_multinomial", formulas.certificate)
    assert ok.certificate.key == formulas.certificate.key


def test_bad_dask_options_are_refused(client, formulas):
    X, _ = corpus()
    never = np.flatnonzero(np.asarray(X.sum(axis=0)).ravel() == 0)
    assert never.size  # words that occur in no document: the ML M-step is not certified
    message = rf"{never.size} word\(s\) occur in no document \(column {never[0]} first\)"
    with pytest.raises(PreconditionError, match=message):
        MultinomialMixture(3, formulas=formulas, smoothing=0).fit(X)
    with pytest.raises(PreconditionError, match=message):
        MultinomialMixture(3, formulas=formulas, backend="dask", smoothing=0).fit(X)
    with pytest.raises(ValueError, match=r"backend must be one of \('local', 'dask'\)"):
        MultinomialMixture(3, backend="spark").fit(X)
    with pytest.raises(ValueError, match="block_rows must be a positive integer"):
        dd.fit_dask(MultinomialMixture(3, formulas=formulas, backend="dask"), X, block_rows=0)


def test_without_a_client_or_without_dask(formulas, monkeypatch):
    X, _ = corpus()
    monkeypatch.setattr(distributed, "get_client", _no_client)
    with pytest.raises(ValueError, match="start one first"):
        MultinomialMixture(3, formulas=formulas, backend="dask").fit(X)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(dd.DaskUnavailable, match=r"pip install 'symderive\[dask\]'"):
        MultinomialMixture(3, formulas=formulas, backend="dask").fit(X)
    m = MultinomialMixture(3, formulas=formulas, max_iter=5).fit(X)  # in process still works
    assert m.n_iter_ >= 1


def _no_client():
    raise ValueError("No clients found")


def test_nmi_from_a_contingency_table_is_the_nmi_of_the_labels():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 400), rng.integers(0, 3, 400)
    table = contingency(a, b)
    assert nmi_from_contingency(table) == normalized_mutual_info(a, b)
    assert nmi_from_contingency(table.T) == pytest.approx(normalized_mutual_info(b, a))
    padded = np.zeros((7, 4))
    padded[:5, :3] = table  # empty topics and classes do not count
    assert nmi_from_contingency(padded) == normalized_mutual_info(a, b)
    assert nmi_from_contingency(np.diag([3.0, 4.0, 5.0])) == pytest.approx(1.0)
    assert nmi_from_contingency(np.outer([1.0, 2.0], [3.0, 1.0])) == pytest.approx(0, abs=1e-12)


def _table(out: str) -> list[str]:
    """The report without what may differ between runs: times and where it ran."""
    import re

    keep = [line for line in out.splitlines()
            if not line.startswith(("ran on:", "total time"))]
    return [re.sub(r"\s*\d+\.\d+ s$", "", line).rstrip() for line in keep]


def test_cli_on_a_local_cluster_prints_the_in_process_table(tmp_path, capsys):
    from symderive.cli import main

    rng = np.random.default_rng(0)
    letters = "bcdfghjklmnpqrstvwxz"
    words = [f"zq{letters[j // 20]}{letters[j % 20]}" for j in range(40)]
    root = tmp_path / "corpus"
    for label in range(3):
        (root / f"class{label}").mkdir(parents=True)
        p = rng.dirichlet(np.full(40, 0.3))
        for i in range(25):
            text = " ".join(rng.choice(words, size=30, p=p))
            (root / f"class{label}" / f"{i}.txt").write_text(text, encoding="utf-8")
    args = ["em", "--no-progress", "--k", "3", "4", "--corpus", str(root)]
    assert main(args) == 0
    local = capsys.readouterr().out
    assert main([*args, "--dask", "local:2", "--blocks", "16"]) == 0
    remote = capsys.readouterr().out
    assert _table(remote) == _table(local)
    assert "NMI" in local and "  -  " not in local.split("NMI")[1]  # NMI computed both ways
    where = [line for line in remote.splitlines() if line.startswith("ran on:")]
    assert where and "dask local cluster, 2 worker processes; dashboard http" in where[0]
    assert "5 blocks of up to 16 documents" in where[0]
    quality = [*args, "--smoothing", "1", "--anneal", "0.2,0.5"]  # issue 14's options
    assert main(quality) == 0
    local = capsys.readouterr().out
    assert main([*quality, "--dask", "local:2", "--blocks", "16"]) == 0
    assert _table(capsys.readouterr().out) == _table(local)
    assert "annealing beta = 0.2, 0.5, 1" in local


@pytest.mark.parametrize("extra, message", [
    (["--blocks", "10"], "--blocks needs --dask"),
    (["--dask", "somewhere"], "expected local:N or a scheduler address"),
    (["--dask", "local:0"], "expected local:N with N >= 1"),
    (["--dask", "local:2", "--dir", "."], "--dir is not supported with --dask"),
])
def test_cli_dask_usage_errors(extra, message, capsys):
    from symderive.cli import main

    code = main(["em", "--no-progress", "--k", "2", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_without_dask_says_how_to_install(monkeypatch, capsys):
    from symderive.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["em", "--no-progress", "--k", "2", "--dask", "local:2"]) == 2
    assert "pip install 'symderive[dask]'" in capsys.readouterr().err


def test_dask_arrays_with_unknown_chunk_sizes(client, formulas):
    import dask.array as da

    X, y = corpus(7, D=300)
    keep = np.ones(300, dtype=bool)
    keep[::7] = False  # boolean indexing by a dask mask: the row chunks become unknown
    options = dict(n_components=3, random_state=4, stop="loglik", tol=1e-8, max_iter=60)
    local = MultinomialMixture(formulas=formulas, **options).fit(X[keep])
    arr = da.from_array(X, chunks=(64, X.shape[1]), asarray=False)
    mask = da.from_array(keep, chunks=64)
    masked, labels = arr[mask], da.from_array(y, chunks=64)[mask]
    assert any(np.isnan(c) for c in masked.chunks[0])
    remote = dd.fit_dask(MultinomialMixture(formulas=formulas, backend="dask", **options),
                         masked, labels)
    assert_same_fit(local, remote)
    assert remote.n_documents_ == keep.sum() and remote.blocks_ == 5
    known = y[keep] >= 0
    table = remote.contingency_
    assert np.array_equal(table[table.sum(axis=1) > 0],
                          contingency(local.labels_[known], y[keep][known]))
    # blocks of unknown size made by da.from_delayed, in the order given
    cuts = [0, 90, 91, 200, 300]
    parts = [da.from_delayed(dask.delayed(lambda a, b: X[a:b])(a, b), (np.nan, X.shape[1]),
                             dtype=float, meta=X[:0]) for a, b in zip(cuts[:-1], cuts[1:])]
    whole = MultinomialMixture(formulas=formulas, **options).fit(X)
    assert_same_fit(whole, MultinomialMixture(formulas=formulas, backend="dask", **options)
                    .fit(da.concatenate(parts)))
    # what cannot be matched says how to fix it
    with pytest.raises(ValueError, match=r"y is a dask array with unknown chunk sizes.*"
                                         r"compute_chunk_sizes\(\)"):
        dd.fit_dask(MultinomialMixture(formulas=formulas, backend="dask", **options), masked,
                    da.from_array(y, chunks=100)[da.from_array(keep, chunks=100)])
    sideways = da.from_array(X, chunks=(100, 50), asarray=False)[:, mask[:150]]
    with pytest.raises(ValueError, match=r"unknown chunk sizes along the words.*"
                                         r"compute_chunk_sizes\(\)"):
        MultinomialMixture(formulas=formulas, backend="dask", **options).fit(sideways)


def _libsvm_files(tmp_path, X, bad_line: int | None = None):
    data, vocab = tmp_path / "docs.txt", tmp_path / "vocab.txt"
    vocab.write_text("".join(f"w{j}\n" for j in range(X.shape[1])))
    lines = []
    for d in range(X.shape[0]):
        row = X[d]
        lines.append(f"doc{d} " + " ".join(f"{j}:{int(c)}" for j, c in zip(row.indices, row.data)))
    if bad_line is not None:
        lines[bad_line - 1] += f" {X.shape[1] + 5}:1"
    data.write_text("\n".join(lines) + "\n")
    return f"libsvm:{data},{vocab}"


def test_cli_reads_a_libsvm_corpus_block_by_block_on_the_workers(tmp_path, capsys,
                                                                  monkeypatch):
    from symderive.cli import main
    from symderive.em.sources import CorpusSource

    X, _ = corpus(8, D=200, W=60)
    X = X[np.asarray(X.sum(axis=1)).ravel() > 0]
    X = sps.csr_matrix(X[:, np.flatnonzero(np.asarray(X.sum(axis=0)).ravel())])
    W = X.shape[1]
    spec = _libsvm_files(tmp_path, X)
    args = ["em", "--no-progress", "--k", "3", "--corpus", spec, "--stop", "loglik"]
    assert main([*args, "--json", "-"]) == 0
    local = json.loads(capsys.readouterr().out)

    def never(*a, **k):
        raise AssertionError("the client loaded the whole corpus")

    monkeypatch.setattr(CorpusSource, "load", never)  # the client must not load it
    assert main([*args, "--dask", "local:2", "--json", "-"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote["corpus"] == local["corpus"] == {
        "source": spec.replace(":", ": ", 1).replace(",", ", "), "documents": X.shape[0],
        "words": W, "tokens": int(X.sum())}
    assert remote["dask"]["blocks"] == 2  # one block per worker by default
    assert remote["dask"]["block_rows"] == -(-X.shape[0] // 2)
    [a], [b] = local["runs"], remote["runs"]
    assert b["iterations"] == a["iterations"] > 2 and b["converged"] == a["converged"]
    np.testing.assert_allclose(b["log_likelihood_per_iteration"],
                               a["log_likelihood_per_iteration"], rtol=1e-9)
    assert [t["top_words"] for t in b["topics"]] == [t["top_words"] for t in a["topics"]]
    np.testing.assert_allclose([t["pi"] for t in b["topics"]], [t["pi"] for t in a["topics"]],
                               rtol=1e-9)
    bad = _libsvm_files(tmp_path, X, bad_line=150)
    assert main([*args[:-4], "--corpus", bad, "--dask", "local:2", "--blocks", "40"]) == 2
    assert re.search(rf"docs\.txt:150: unknown word id {W + 5}", capsys.readouterr().err)
    assert main([*args[:-4], "--corpus", spec.replace("docs.txt", "docs.txt.gz"),
                 "--dask", "local:2"]) == 2
    assert "decompress it" in capsys.readouterr().err
    assert main([*args, "--dask", "local:2", "--max-df", "0.5"]) == 2
    assert "--max-df needs the whole corpus" in capsys.readouterr().err


def test_blocks_are_spread_evenly_and_stay_on_their_workers(client, formulas):
    X, y = corpus(9, D=500)
    assert dd.default_block_rows(500, 2) == 250
    assert dd.default_block_rows(100_000, 2) == 12_500  # 4 per worker: <= 16384 rows
    assert dd.default_block_rows(7, 3) == 3
    placed = dd.scatter_blocks(X, y, client=client)
    assert placed.sizes == [250, 250] and placed.shape == X.shape
    assert placed.tokens == int(X.sum())
    where = [(w, held) for w, held in placed.workers]
    assert sorted(i for _, held in where for i in held) == [0, 1]
    assert len({w for w, _ in where}) == 2  # one block on each worker
    before = client.who_has(placed.futures)
    remote = MultinomialMixture(3, formulas=formulas, backend="dask", random_state=0,
                                max_iter=30).fit(placed)
    local = MultinomialMixture(3, formulas=formulas, random_state=0, max_iter=30).fit(X)
    assert_same_fit(local, remote)
    assert client.who_has(placed.futures) == before  # no block moved


def test_one_task_per_worker_thread(client, formulas):
    X, y = corpus(10, D=400)
    options = dict(n_components=3, random_state=2, stop="loglik", tol=1e-8, max_iter=40)
    local = MultinomialMixture(formulas=formulas, **options).fit(X)
    with dd.local_cluster(1, threads_per_worker=2) as cluster, \
            distributed.Client(cluster, set_as_default=False) as threaded, \
            threaded.as_current():
        steps = dd.DaskSteps(X, y, block_rows=100)
        assert [len(held) for _, held in steps.groups] == [2, 2]  # 4 blocks, 2 threads
        assert len({w for w, _ in steps.groups}) == 1
        remote = MultinomialMixture(formulas=formulas, backend="dask", **options)
        remote._fit(X, lambda: steps)
    assert_same_fit(local, remote)
