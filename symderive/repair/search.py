"""The search for small edits of a refuted claim that make it hold.

Only the claimed side is edited, the side the author wrote, never the truth the tool
computed.  Single edits are tried first; only when none repairs the claim are pairs
tried.  Each candidate is first screened numerically (:mod:`.prefilter`); a survivor is
then checked by the checker itself, and only a ``proved`` or ``verified`` one becomes a
hint, so a false hint cannot appear.

The budget counts candidates evaluated (screened or checked), not seconds, so that the
hints do not depend on the machine's load.  Pairs of edits in different terms of a sum,
on a path the formula is linear along, change the value by the sum of the two single
edits' changes: those are screened from the single edits' values, without evaluating
each pair, and count against the budget only when they pass.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..check import HOLDS, Verdict
from ..derivation import Claim, StationaryClaim
from ..framestack import anchored
from ..mutate import variant
from ..nodes import BatchSum, Component
from . import checker
from .edits import Edit, Vocabulary, apply, at, describe, nested, single_edits
from .prefilter import Prefilter
from .text import Printer

DEFAULT_BUDGET = 400
DEFAULT_SECONDS = 2.0
MAX_HINTS = 3
PAIR_RTOL = 1e-7

#: nodes along which a formula is linear in the argument on the path
_LINEAR = (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.HadamardProduct, sp.Transpose, sp.Sum,
           BatchSum, Component)


@dataclass
class Hint:
    """A corrected formula the checker accepted, with the edits that lead to it."""

    formula: str
    latex: str
    edits: list[str]
    verdict: Verdict
    highlighted: str = ""
    order: tuple = ()
    expr: object = None  # the corrected side itself (in-process searches only)
    edits_latex: list = field(default_factory=list)  # the edits, typeset for the report

    def to_json(self) -> dict:
        return {"formula": self.formula, "latex": self.latex, "edits": list(self.edits),
                "verdict": self.verdict}


@dataclass
class Repair:
    """The outcome of one search."""

    hints: list[Hint] = field(default_factory=list)
    exhausted: bool = False  # the candidate budget ended the search
    capped: bool = False     # the CPU-seconds safety cap ended it
    candidates: int = 0
    seconds: float = 0.0
    search_seconds: float = 0.0  # until the hints were found (before their proofs)


Report = Callable[[Hint], None]


class _Budget(Exception):
    pass


@dataclass
class _Side:
    """The edited side: a claim's right side, or one coordinate of a claimed point."""

    key: object
    expr: sp.Basic

    def claim(self, claim: Claim, new: sp.Basic) -> Claim:
        if isinstance(claim, StationaryClaim):
            return variant(claim, "repair", point={**claim.point, self.key: new})
        return variant(claim, "repair", rhs=new)


class Search:
    def __init__(self, claim: Claim, budget: int = DEFAULT_BUDGET,
                 report: Report | None = None, deadline: float | None = None):
        self.claim, self.budget, self.report = claim, budget, report
        self.deadline = deadline
        self.used = 0
        self.hints: list[Hint] = []
        self.tried: set = set()
        self.candidates: dict = {}  # id(hint) -> (its slot, the corrected claim)
        self.printer = Printer(claim.derivation)

    # -- accounting --------------------------------------------------------------------
    def _spend(self) -> None:
        if self.used >= self.budget:
            raise _Budget
        if self.deadline is not None and time.process_time() > self.deadline:
            raise TimeoutError
        self.used += 1

    # -- checking a candidate ----------------------------------------------------------
    def _verify(self, side: _Side, edits: list[Edit]) -> None:
        """Sample the candidate with the checker; a ``verified`` one is a hint at once
        (its proof is attempted later, for the best hints only)."""
        new = apply(side.expr, {e.path: e.new for e in edits})
        if (side.key, new) in self.tried:
            return
        self.tried.add((side.key, new))
        self._spend()
        candidate = side.claim(self.claim, new)
        try:
            outcome = checker._sampled(candidate)
        except Exception:  # noqa: BLE001 - a candidate that breaks the checker is no hint
            return
        if outcome.verdict in HOLDS:
            slot: list[Hint] = []
            self._found(slot, side, edits, new, outcome.verdict)
            self.candidates[id(slot[0])] = (slot, candidate)

    def prove(self) -> None:
        """Try the checker's proof on the best hints, best first."""
        for hint in ranked(self.hints):
            if hint.verdict == Verdict.PROVED:
                continue
            slot, candidate = self.candidates[id(hint)]

            def emit(kind: str, outcome, slot=slot) -> None:
                if outcome.verdict == Verdict.PROVED:
                    self._found(slot, None, [], None, Verdict.PROVED)

            try:
                outcome = checker._check(candidate, emit)
            except Exception:  # noqa: BLE001 - the hint stays verified
                continue
            if outcome.verdict == Verdict.PROVED:
                self._found(slot, None, [], None, Verdict.PROVED)

    def _found(self, slot: list, side: _Side, edits: list[Edit], new: sp.Basic,
               verdict: Verdict) -> None:
        if slot:
            if verdict == Verdict.PROVED and slot[0].verdict != Verdict.PROVED:
                slot[0].verdict = Verdict.PROVED
                if self.report:
                    self.report(slot[0])
            return
        p = self.printer
        formula, latex = p.text(new), p.latex(new)
        if isinstance(self.claim, StationaryClaim):
            formula = f"{p.text(side.key)} = {formula}"
            latex = f"{p.latex(side.key)} = {latex}"
        hint = Hint(formula, latex, describe(edits, p.text), verdict,
                    p.highlighted(side.expr, {e.path: e.new for e in edits}),
                    (len(edits), sum(e.rank for e in edits), len(self.hints)), new,
                    describe(edits, lambda x: f"${p.latex(x)}$", r"$\to$"))
        slot.append(hint)
        self.hints.append(hint)
        if self.report:
            self.report(hint)

    # -- the search --------------------------------------------------------------------
    def sides(self) -> list[_Side]:
        if isinstance(self.claim, StationaryClaim):
            return [_Side(k, sp.sympify(v)) for k, v in self.claim.point.items()]
        return [_Side("rhs", self.claim.rhs)]

    def run(self) -> None:
        claim = self.claim
        vocab = Vocabulary(claim)
        sides = [(s, single_edits(claim, s.expr, vocab)) for s in self.sides()]
        screen = None
        self.stationary = None
        if isinstance(claim, StationaryClaim):
            try:
                self.stationary = checker.StationaryScreen(claim)
            except Exception:  # noqa: BLE001 - no screen: the checker decides alone
                self.stationary = None
        elif not claim.given:
            screen = Prefilter(claim)
            if not screen.ok:
                screen = None
        deltas: list = []  # (edit, change of the value at the first point) for pairs
        base = screen.values(claim.rhs, 1) if screen else None
        for side, edits in sides:
            for e in edits:
                if self._passes(screen, side, [e], deltas, base):
                    self._verify(side, [e])
                    if len(self.hints) >= MAX_HINTS:
                        return
        if self.hints:
            return
        if screen is not None and base is not None:
            self._linear_pairs(screen, sides[0][0], deltas, base)
            if self.hints:
                return
        for side, edits in sides:
            for a, b in self._pairs(side, edits):
                if self._passes(screen, side, [a, b], None, None):
                    self._verify(side, [a, b])
                    if len(self.hints) >= MAX_HINTS:
                        return

    def _passes(self, screen, side: _Side, edits: list[Edit], deltas, base) -> bool:
        new = apply(side.expr, {e.path: e.new for e in edits})
        if screen is None:
            if self.stationary is not None:
                self._spend()
                return self.stationary.passes(side.claim(self.claim, new))
            return True  # no cheap screen: the checker decides
        self._spend()
        # the first point rejects almost every candidate; only a match there is
        # evaluated at the others
        first = screen.values(new, 1)
        if first is not None and deltas is not None and base is not None:
            deltas.append((edits[0], first - base))
        if not screen.matches(first, 1):
            return False
        return screen.matches(screen.values(new))

    def _linear_pairs(self, screen: Prefilter, side: _Side, deltas: list, base) -> None:
        """Pairs whose effects add: screened from the single edits' changes."""
        usable = [(e, d) for e, d in deltas if np.all(np.isfinite(d))]
        if len(usable) < 2:
            return
        D = np.array([d for _, d in usable])
        need = screen.truth(1) - base
        tol = PAIR_RTOL * screen.scale(1)
        found = []
        for a in range(len(usable)):
            rest = need - D[a]
            close = np.all(np.abs(D[a + 1:] - rest) <= tol, axis=1)
            for off in np.nonzero(close)[0]:
                b = a + 1 + int(off)
                ea, eb = usable[a][0], usable[b][0]
                if not nested(ea.path, eb.path) and _additive(side.expr, ea.path, eb.path):
                    found.append((ea.rank + eb.rank, ea.key, eb.key, ea, eb))
        full: dict = {}  # edit -> its change at every point (evaluated once)

        def change(e: Edit):
            if e not in full:
                self._spend()
                vals = screen.values(apply(side.expr, {e.path: e.new}))
                full[e] = None if vals is None else vals - whole
            return full[e]

        whole = screen.values(side.expr)
        need_all = screen.truth() - whole if whole is not None else None
        for *_, ea, eb in sorted(found, key=lambda t: t[:3]):
            if need_all is not None:  # the sum of the changes at every point first
                da, db = change(ea), change(eb)
                if da is None or db is None or not np.all(
                        np.abs(da + db - need_all) <= PAIR_RTOL * screen.scale()):
                    continue
            if self._passes(screen, side, [ea, eb], None, None):
                self._verify(side, [ea, eb])
                if len(self.hints) >= MAX_HINTS:
                    return

    def _pairs(self, side: _Side, edits: list[Edit]):
        """Pairs of edits at separate places, the likeliest first; pairs whose effects
        simply add were screened already."""
        pairs = [(a, b) for a, b in itertools.combinations(edits, 2)
                 if not nested(a.path, b.path) and not _additive(side.expr, a.path, b.path)]
        pairs.sort(key=lambda p: (p[0].rank + p[1].rank, p[0].key, p[1].key))
        return pairs


def _additive(expr: sp.Basic, a: tuple, b: tuple) -> bool:
    """Whether two edits at ``a`` and ``b`` change the value by the sum of their changes:
    they sit in different terms of a sum, reached from the root through linear nodes."""
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    node = expr
    for k in a[:common]:
        if not isinstance(node, _LINEAR):
            return False
        if isinstance(node, (sp.Sum, BatchSum)) and k != 0:
            return False
        node = node.args[k]
    return isinstance(at(expr, a[:common]), (sp.Add, sp.MatAdd))


def search(claim: Claim, budget: int = DEFAULT_BUDGET, report: Report | None = None,
           deadline: float | None = None,
           searched: Callable[[Repair], None] | None = None) -> Repair:
    """Search for repairs of ``claim`` (assumed refuted); ``report`` hears of each hint as
    it is found and again when a verified one is proved; ``searched`` hears when the
    search proper is over, before the proofs of the best hints are attempted.  Run on a
    frame-stack chunk of its own, as a claim check is (:mod:`symderive.framestack`)."""
    return anchored(_search, claim, budget, report, deadline, searched)


def _search(claim: Claim, budget: int, report: Report | None, deadline: float | None,
            searched: Callable[[Repair], None] | None) -> Repair:
    start = time.perf_counter()
    s = Search(claim, budget, report, deadline)
    out = Repair()
    try:
        s.run()
    except _Budget:
        out.exhausted = True
    except TimeoutError:
        out.capped = True
    out.candidates = s.used
    out.search_seconds = time.perf_counter() - start
    if searched is not None:
        searched(out)
    s.prove()
    out.hints = ranked(s.hints)
    out.seconds = time.perf_counter() - start
    return out


def ranked(hints: list[Hint]) -> list[Hint]:
    """Fewest edits first, then the closest names; at most three."""
    return sorted(hints, key=lambda h: h.order)[:MAX_HINTS]
