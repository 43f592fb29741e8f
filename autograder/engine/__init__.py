"""The gradient grading engine: `check` (visible tests) and `grade` (hidden tests).

    check(name, fn)          a few easy cases; one OK line, or AssertionError with the diagnosis
    grade(name, fn, points)  the full hidden case set; prints a report, returns the points earned

Grading has two phases with only plain data between them:
    run_student(spec, fn, cases) -> list[Outcome]   calls student code (later: in a sandbox)
    judge(spec, cases, outcomes) -> Report          pure: reference, comparison, diagnosis, score

Each stub is one Spec in autograder/engine/specs/<stub>.py: its cases (seeded random and
edge cases), a float64 reference, how to read the result, and the typical wrong answers
(bug models) worth naming. Adding a stub is writing one such module and listing it in
specs/__init__.py. Verdict codes: verdicts.CODES plus the specs' bug-model codes.
Tolerances: compare.FLOAT64 / FLOAT32. Partial credit: report.score.
"""

from __future__ import annotations

from autograder.engine.api import cases_for, check, evaluate, grade
from autograder.engine.cases import Case
from autograder.engine.judge import judge
from autograder.engine.outcome import Outcome
from autograder.engine.report import Report
from autograder.engine.runner import run_student
from autograder.engine.spec import Spec
from autograder.engine.specs import SPECS, get_spec

__all__ = [
    "SPECS",
    "Case",
    "Outcome",
    "Report",
    "Spec",
    "cases_for",
    "check",
    "evaluate",
    "get_spec",
    "grade",
    "judge",
    "run_student",
]
