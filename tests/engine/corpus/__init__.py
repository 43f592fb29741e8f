"""A corpus of student implementations, right and wrong, for every stub the engine grades.

Each module lists CORRECT functions (they must earn full credit and pass `check`) and
BUGGY (function, verdict code) pairs (they must earn less than full credit, and the
report must contain that code).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from autograder.engine import check, evaluate, get_spec
from autograder.engine.report import Report, earned_points


def _corpus_modules() -> tuple[ModuleType, ...]:
    """Every module of this package with a STUB: one per graded stub (a new stub adds one)."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "STUB"):
            found.append(module)
    return tuple(found)


MODULES = _corpus_modules()
POINTS = 1.0


@dataclass(frozen=True)
class Entry:
    """One implementation; `expected` is None for a correct one, else the verdict code."""

    stub: str
    fn: Callable[..., Any]
    expected: str | None

    @property
    def id(self) -> str:
        return f"{self.stub}:{self.fn.__name__}"


@dataclass(frozen=True)
class Verdict:
    """What the engine made of an entry, and whether that is right."""

    entry: Entry
    earned: float
    report: Report
    right: bool
    why: str


VERDICTS: list[Verdict] = []  # filled by the corpus tests, summarised at the end of the run


def entries() -> list[Entry]:
    found: list[Entry] = []
    for module in MODULES:
        found += [Entry(module.STUB, fn, None) for fn in module.CORRECT]
        found += [Entry(module.STUB, fn, code) for fn, code in module.BUGGY]
    return found


def judge_entry(entry: Entry) -> Verdict:
    """Grade an entry (hidden cases) silently and say whether the verdict is the expected one."""
    report = evaluate(get_spec(entry.stub), entry.fn, visible=False)
    earned = earned_points(report.fraction, POINTS)
    if entry.expected is None:
        right, why = earned == POINTS, f"a correct implementation earned {earned} of {POINTS}"
    else:
        found = entry.expected in report.codes()
        right = earned < POINTS and found
        seen = "found" if found else "missing"
        why = f"earned {earned} of {POINTS}; expected verdict {entry.expected!r} {seen}"
    return Verdict(entry, earned, report, right, why)


def check_passes(entry: Entry) -> tuple[bool, str]:
    """Whether `check` accepts the entry, and what it printed or raised."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            check(entry.stub, entry.fn)
    except AssertionError as exc:
        return False, str(exc)
    return True, out.getvalue()


def summary(verdicts: list[Verdict]) -> str:
    """'corpus: 120 implementations (41 correct, 79 buggy), verdicts right: 120/120'."""
    correct = sum(v.entry.expected is None for v in verdicts)
    right = sum(v.right for v in verdicts)
    total = len(verdicts)
    lines = [
        f"engine corpus: {total} implementations ({correct} correct, {total - correct} buggy), "
        f"verdicts right: {right}/{total}"
    ]
    lines += [f"  WRONG VERDICT {v.entry.id}: {v.why}" for v in verdicts if not v.right]
    return "\n".join(lines)
