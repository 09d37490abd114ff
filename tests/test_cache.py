"""The result cache: one key function, one store; a change to what a result depends on
re-checks, anything else does not."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import sympy as sp

from symderive import POSITIVE, Derivation
from symderive import cache as cache_mod
from symderive.cache import Store, checker_sources, key
from symderive.cli import main
from symderive.options import CheckOptions
from symderive.runner import result_key, run_claims


def _derivation(factor_b=2, define_unused=False):
    d = Derivation("keyed")
    x = d.scalar("x", POSITIVE)
    y = d.scalar("y")
    s = d.define("s", x + 1)
    if define_unused:
        d.define("u", y * 2)
    a = d.equal("a", s ** 2, x ** 2 + 2 * x + 1)
    b = d.equal("b", y * 2, factor_b * y)
    return d, a, b


def test_the_key_follows_the_claim_its_definitions_and_the_options():
    _, a, b = _derivation()
    opts = CheckOptions()
    base_a, base_b = result_key(a, opts), result_key(b, opts)
    _, a2, b2 = _derivation(factor_b=3)
    assert result_key(a2, opts) == base_a   # another claim changed: a is not re-checked
    assert result_key(b2, opts) != base_b   # b's statement changed
    _, a3, _ = _derivation(define_unused=True)
    assert result_key(a3, opts) == base_a   # a definition a does not use
    for change in ({"seed": 1}, {"timeout": 7.0}, {"repair": False}, {"repair_budget": 2.0}):
        assert result_key(a, opts.replace(**change)) != base_a, change
    for judged_only in ({"strict": "proved"}, {"cache": False}):
        assert result_key(a, opts.replace(**judged_only)) == base_a, judged_only


def test_a_changed_definition_changes_the_key_of_the_claims_that_use_it():
    def build(body_shift):
        d = Derivation("defs")
        x = d.scalar("x", POSITIVE)
        s = d.define("s", x + body_shift)
        return d.equal("a", s, x + body_shift)
    assert result_key(build(1), CheckOptions()) != result_key(build(2), CheckOptions())


def test_a_changed_domain_changes_the_key():
    def build(assume):
        d = Derivation("dom")
        x = d.scalar("x", assume)
        return d.equal("a", sp.sqrt(x ** 2), x)
    assert result_key(build(POSITIVE), CheckOptions()) != result_key(build(None),
                                                                     CheckOptions())


def test_the_key_covers_the_checker_source(monkeypatch):
    names = {p.relative_to(cache_mod._ROOT).as_posix() for p in checker_sources()}
    assert {"check/dispatch.py", "check/prove.py", "walker.py", "evaluate.py",
            "instantiate.py", "runner.py", "derivation.py"} <= names
    assert not any(n.startswith(("em/", "latex/", "corpus/")) for n in names)
    before = key("k", "same")
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "an edited checker")
    assert key("k", "same") != before


def test_dummy_symbols_give_the_same_text_in_every_run():
    # a Dummy's index is a process-wide counter: without renumbering no key would repeat
    x = sp.Symbol("x")
    first = sp.Integral(sp.Dummy("t") * x, (sp.Dummy("t"), 0, 1))
    t = sp.Dummy("t")
    second = sp.Integral(t * x, (sp.Dummy("t"), 0, 1))
    text = cache_mod._srepr(first)
    assert re.search(r"dummy_index=\d{3,}", sp.srepr(first))
    assert text == cache_mod._srepr(second) and "dummy_index=0" in text


def test_the_store_ignores_foreign_and_broken_entries(tmp_path):
    store = Store("results", tmp_path)
    store.put("ab12", {"verdict": "proved"})
    assert store.get("ab12") == {"verdict": "proved"}
    assert store.get("ab13") is None
    store.path("ab12").write_text("{broken")
    assert store.get("ab12") is None
    store.path("cd34").parent.mkdir(parents=True, exist_ok=True)
    store.path("cd34").write_text(json.dumps({"key": "other", "value": {"verdict": "proved"}}))
    assert store.get("cd34") is None


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A cache of this test's own (results are shared by content, across derivations)."""
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "cache"))


def test_run_claims_takes_unchanged_claims_from_the_cache(fresh_cache):
    d = Derivation("cached")
    x = d.scalar("x")
    good = d.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
    bad = d.equal("2", (x - 1) ** 2, x ** 2 - 1)
    opts = CheckOptions(timeout=20)
    first = run_claims([good, bad], options=opts)
    assert [r.cached for r in first] == [False, False]
    second = run_claims([good, bad], options=opts)
    assert [r.cached for r in second] == [True, True]
    for a, b in zip(first, second):
        assert (a.verdict, a.method, a.counterexample, a.evidence) == \
            (b.verdict, b.method, b.counterexample, b.evidence)
    assert second[1].verdict == "refuted" and second[1].counterexample
    assert [r.cached for r in run_claims([good], options=opts.replace(cache=False))] == [False]
    assert [r.cached for r in run_claims([good], options=opts.replace(seed=5))] == [False]


FILE = '''
from symderive import Derivation

derivation = Derivation("doc", source="test file")
x = derivation.scalar("x")
derivation.equal("1", (x + 1) ** 2, x ** 2 + 2 * x + 1)
derivation.equal("2", (x - 1) ** 2, x ** 2 - 2 * x + 1)
'''


def test_check_shows_cached_results_and_rechecks_only_what_changed(tmp_path, capsys,
                                                                  fresh_cache):
    path = tmp_path / "doc.py"
    path.write_text(textwrap.dedent(FILE))
    assert main(["check", str(path)]) == 0
    assert "(cached)" not in capsys.readouterr().out
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^  [12] .*proved.*\(cached\)$", out, re.M)) == 2
    assert "2 cached" in out
    path.write_text(textwrap.dedent(FILE).replace("x ** 2 - 2 * x + 1", "x ** 2 - 1"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^  1 .*\(cached\)$", out, re.M)
    assert re.search(r"^  2 .*refuted", out, re.M) and not re.search(r"^  2 .*cached", out,
                                                                        re.M)
    assert main(["check", str(path), "--no-cache"]) == 1
    assert "(cached)" not in capsys.readouterr().out


def test_every_field_of_a_claim_is_in_its_statement_but_its_names_are_not():
    import dataclasses

    from symderive.cache import NOT_STATED, statement_text

    d = Derivation("st")
    x = d.scalar("x", POSITIVE)
    c = d.stationary("max", -(x - 1) ** 2, [x], point={x: 1})
    text = statement_text(c)
    for f in dataclasses.fields(c):
        assert (f"\n{f.name}=" in text) == (f.name not in NOT_STATED), f.name
    flipped = dataclasses.replace(c, maximum=not c.maximum)
    renamed = dataclasses.replace(c, id="other", equation="9", erratum="a note", note="n")
    assert statement_text(flipped) != text and statement_text(renamed) == text


def test_an_unreadable_cache_entry_is_a_miss_not_a_crash(fresh_cache):
    d = Derivation("miss")
    x = d.scalar("x")
    c = d.equal("1", x + x, 2 * x)
    opts = CheckOptions(timeout=20)
    Store("results").put(result_key(c, opts), {"verdict": "probably"})
    (r,) = run_claims([c], options=opts)
    assert r.verdict == "proved" and not r.cached
    (again,) = run_claims([c], options=opts)
    assert again.cached and again.verdict == "proved"
