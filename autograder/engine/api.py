"""`check` and `grade`, the two functions notebooks call, and `judge_record`, which the
grading process calls.

While the sandboxed grader runs a notebook (RECORD_ENV is set in that kernel), `grade`
does not judge: it only runs the student's function on the cases and emits the record
(`wire.MIME`) as the cell's output. The grading process, which never runs student code,
decodes it and judges it with `judge_record`, so nothing the student's code does to its
own process (monkeypatching torch.allclose, this module, ...) can change a score.

Both write only to stdout: nbgrader zeroes a test cell that writes to stderr, so the
engine never prints there and never lets a warning out (student warnings are captured
by the runner; the engine's own are silenced).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from autograder import RECORD_ENV
from autograder.engine import wire
from autograder.engine.cases import Case
from autograder.engine.judge import Memo, judge
from autograder.engine.outcome import Outcome
from autograder.engine.report import Report, earned_points
from autograder.engine.runner import run_student
from autograder.engine.spec import Spec
from autograder.engine.specs import get_spec
from autograder.engine.static import autograd_uses


def check(name: str, fn: Callable[..., Any]) -> None:
    """Visible tests of stub `name`: a few easy cases.

    Prints one OK line, or raises AssertionError whose message is the full diagnosis.
    """
    spec = get_spec(name)
    report = evaluate(spec, fn, visible=True)
    if report.problems():
        failing = sum(r.status != "pass" for r in report.results)
        title = f"check {name}: failed on {failing} of {len(report.results)} visible cases"
        raise AssertionError(report.text(title=title))
    print(f"check {name}: OK ({len(report.results)} visible cases passed; the hidden tests try more)")


def grade(name: str, fn: Callable[..., Any], points: float) -> float | None:
    """Hidden tests of stub `name`: prints a report, returns the points earned
    (0 <= earned <= points, rounded to 2 decimals; the policy is in engine.report).

    In the sandboxed grader's kernel it records instead (see the module docstring)."""
    spec = get_spec(name)
    if os.environ.get(RECORD_ENV) == "1":
        from IPython.display import display

        display({wire.MIME: wire.encode(name, record(spec, fn))}, raw=True)
        return None
    report = evaluate(spec, fn, visible=False)
    print(report.text(points=points))
    return earned_points(report.fraction, points)


def record(spec: Spec, fn: Callable[..., Any]) -> list[Outcome]:
    """Run `fn` on the hidden cases of `spec` (the student's side of grading)."""
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        return run_student(spec, fn, cases_for(spec.name, visible=False))


def judge_record(name: str, points: float, payload: Any, sources: list[str]) -> tuple[str, float]:
    """The report text and the points earned for a record emitted by `grade` in the
    student's kernel. `sources`: the notebook's code cells, read for autograd use in
    "by hand" stubs. Raises wire.WireError for a malformed record."""
    spec = get_spec(name)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        cases = cases_for(name, visible=False)
        outcomes = wire.decode(payload, name, cases)
        if spec.by_hand:
            seen = autograd_uses(sources, name)
            for outcome in outcomes:
                for call in (outcome.first, outcome.again):
                    call.autograd.extend(u for u in seen if u not in call.autograd)
        report = judge(spec, cases, outcomes, _judging_memo(name))
    return report.text(points=points), earned_points(report.fraction, points)


def evaluate(spec: Spec, fn: Callable[..., Any], visible: bool) -> Report:
    """Run and judge `fn` on the visible or the hidden cases of `spec`."""
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        cases = cases_for(spec.name, visible)
        outcomes = run_student(spec, fn, cases)
        return judge(spec, cases, outcomes)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run on one intra-op thread: our tensors are tiny, and on a busy 2-core machine an
    OpenMP region can wait milliseconds for a second thread (measured: a 5-element loss
    took 12 ms with 2 threads, 7 us with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.cache
def _cached_cases(name: str, visible: bool) -> tuple[Case, ...]:
    spec = get_spec(name)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        return tuple(spec.visible() if visible else spec.hidden())


@functools.cache
def _judging_memo(name: str) -> Memo:
    """Reference and bug-model values of the hidden cases of `name`, kept for the process:
    a grading worker judges hundreds of records of the same stubs."""
    return {}


def cases_for(name: str, visible: bool) -> list[Case]:
    """The deterministic cases of a stub, generated once per process. The engine never
    hands these objects to student code (only copies), so sharing them is safe."""
    return list(_cached_cases(name, visible))
