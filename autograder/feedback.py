"""`rlgrade feedback`: HTML feedback per student, checked to hold no hidden test."""

from __future__ import annotations

import html
import re
from pathlib import Path

from autograder import notebooks
from autograder.course import Course

# Text that only hidden test regions contain; feedback holding any of it leaks tests.
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


# Hidden-test lines shorter than this ("score", "assert ok") also occur in lessons.
MIN_SNIPPET = 20


def page_text(html_file: Path) -> str:
    """The visible text of an HTML page (syntax highlighting splits code into spans)."""
    raw = html_file.read_text(errors="replace")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def leaked_hidden_tests(html_file: Path, hidden_snippets: list[str]) -> list[str]:
    text = page_text(html_file)
    return [s for s in (*HIDDEN_MARKERS, *hidden_snippets) if s in text]


def hidden_snippets(course: Course, assignment: str) -> list[str]:
    """The distinctive code lines of hidden test regions: those that occur nowhere else
    in the source notebooks (a line like `torch.manual_seed(0)` in a visible cell too
    says nothing about a leak)."""
    hidden: set[str] = set()
    visible: set[str] = set()
    for name in course.notebooks(assignment):
        for cell in notebooks.read(course.source / assignment / f"{name}.ipynb").cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) >= MIN_SNIPPET and not line.strip().startswith("#"):
                    hidden.add(line.strip())
                else:
                    visible.add(line.strip())
    return sorted(hidden - visible)


def generate_feedback(course: Course, assignment: str, students: list[str]) -> dict[str, str]:
    """Write feedback/<student>/<assignment>/*.html; returns student -> problem for failures."""
    course.check_assignment(assignment)
    api = course.api()
    snippets = hidden_snippets(course, assignment)
    failures: dict[str, str] = {}
    for student in students:
        if not (course.autograded / student / assignment).is_dir():
            failures[student] = "not autograded: nothing to give feedback on"
            continue
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome["success"]:
            failures[student] = "nbgrader generate_feedback failed: " + (outcome.get("error") or "")[-300:]
            continue
        for page in (course.feedback / student / assignment).glob("*.html"):
            leaks = leaked_hidden_tests(page, snippets)
            if leaks:
                page.unlink()
                failures[student] = f"{page.name} contained hidden test text {leaks[:2]}; removed it"
    return failures
