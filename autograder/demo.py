"""Demo submissions, generated from the release so they never go stale.

Each demo student is a recipe applied to the released notebooks:

* ``ada``  fills every stub with the reference solution and answers every question;
* ``ben``  is like ada but with realistic bugs (``demo/<assignment>_bugs.py``
  maps a stub's grade_id to buggy code);
* ``cy``   is broken in every way a real batch is: unreadable JSON, a renamed
  notebook with a deleted test cell, a kernel that dies (``os._exit``);
* ``fay``  submits the stubs untouched.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode

from autograder import notebooks
from autograder.course import Course

STUDENTS = ("ada", "ben", "cy", "fay")
DEMO_ANSWER = "Demo answer written by a TA for the demo submission."
KERNEL_KILLER = "import os\nos._exit(1)  # demo: the kernel dies here\n"


def demo_root(course: Course) -> Path:
    return course.root / "demo" / "submitted"


def _bugs_module(course: Course, assignment: str) -> Any:
    path = course.root / "demo" / f"{assignment}_bugs.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"demo_bugs_{assignment}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_bugs(course: Course, assignment: str) -> dict[str, str]:
    """grade_id -> buggy cell source, from demo/<assignment>_bugs.py (BUGS dict)."""
    module = _bugs_module(course, assignment)
    return dict(module.BUGS) if module else {}


def expected_losses(course: Course, assignment: str) -> dict[str, str]:
    """'<assignment>/<notebook>:<grade_id>' -> words ben's feedback must contain, for every
    test cell his bugs must lose points on (LOSES dict of the same file)."""
    module = _bugs_module(course, assignment)
    losses = getattr(module, "LOSES", {}) if module else {}
    return {f"{assignment}/{cell}": words for cell, words in losses.items()}


def solved(release_nb: NotebookNode, source_nb: NotebookNode) -> NotebookNode:
    """The released notebook with every answer cell filled in."""
    answers = notebooks.cells_by_id(source_nb)
    for cell in release_nb.cells:
        gid = notebooks.grade_id(cell)
        if not gid or not notebooks.meta(cell).get("solution"):
            continue
        if cell.cell_type == "code":
            cell.source = notebooks.unwrap_solution(answers[gid].source)
        else:
            cell.source = DEMO_ANSWER
    return release_nb


def write_demo_submissions(course: Course, assignment: str) -> None:
    root = demo_root(course)
    bugs = load_bugs(course, assignment)
    names = course.notebooks(assignment)
    for student in STUDENTS:
        target = root / student / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (target / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        for index, name in enumerate(names):
            nb = notebooks.read(course.release / assignment / f"{name}.ipynb")
            if student != "fay":
                nb = solved(nb, notebooks.read(course.source / assignment / f"{name}.ipynb"))
            path = target / f"{name}.ipynb"
            if student == "ben":
                for cell in nb.cells:
                    if notebooks.grade_id(cell) in bugs:
                        cell.source = bugs[notebooks.grade_id(cell)]
            if student == "cy":
                path = break_notebook(nb, path, index)
                if path is None:
                    continue
            notebooks.write(nb, path)


def break_notebook(nb: NotebookNode, path: Path, index: int) -> Path | None:
    """Break the index-th notebook of cy's submission in one of three ways."""
    way = index % 3
    if way == 0:  # unreadable JSON: a truncated upload
        text = path.with_suffix(".tmp")
        notebooks.write(nb, text)
        path.write_text(text.read_text()[:2000])
        text.unlink()
        return None
    if way == 1:  # renamed by the browser, and a test cell deleted
        tests = [c for c in nb.cells if notebooks.meta(c).get("grade") and c.cell_type == "code"]
        if tests:
            nb.cells.remove(tests[0])
        return path.with_name(f"{path.stem} (1).ipynb")
    stubs = [c for c in nb.cells if notebooks.is_stub(c)]
    if stubs:
        stubs[0].source = KERNEL_KILLER + stubs[0].source
    return path
