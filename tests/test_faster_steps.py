"""The grader's faster versions of nbgrader's sanitize steps do what nbgrader's do.

* `CheckCellMetadataOnce` (the JSON schema compiled once) accepts and refuses exactly what
  `CheckCellMetadata` does, with the same error, for valid cells and for each way the
  metadata can be broken.
* `OverwriteCellsOnce` and `OverwriteKernelspecOnce` (the gradebook's record of the source
  read once per run) sanitize submissions that tamper with locked cells, points, cell types,
  grade ids and the kernelspec into the same notebook as nbgrader's steps, and fail where
  they fail."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata

from autograder.course import Course
from autograder.parallel import sanitized
from autograder.preprocessors import (
    CheckCellMetadataOnce,
    OverwriteCellsOnce,
    OverwriteKernelspecOnce,
    RecordedSource,
    _metadata_validator,
    faster_steps,
)
from autograder.submissions import prepare
from tests.course_factory import make_course, submit


def meta(**changes: Any) -> dict[str, Any]:
    base = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "t1",
        "points": 2,
        "schema_version": 3,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


SOLUTION = meta(grade=False, solution=True, locked=False, grade_id="s1", points=None)
CASES: dict[str, list[Any]] = {
    "valid": [
        new_code_cell("x = 1", metadata={"nbgrader": SOLUTION}),
        new_code_cell("assert x", metadata={"nbgrader": meta()}),
    ],
    "valid, one point": [new_code_cell("assert x", metadata={"nbgrader": meta(points=1)})],
    # checked after the one above: a remembered valid metadata must not let True pass for 1
    "points a boolean": [new_code_cell("assert x", metadata={"nbgrader": meta(points=True)})],
    "no nbgrader metadata": [new_code_cell("x = 1")],
    "no points": [new_code_cell("assert x", metadata={"nbgrader": meta(points=None)})],
    "points not a number": [new_code_cell("assert x", metadata={"nbgrader": meta(points="two")})],
    "no locked flag": [new_code_cell("assert x", metadata={"nbgrader": meta(locked=None)})],
    "empty grade id": [new_code_cell("assert x", metadata={"nbgrader": meta(grade_id="")})],
    "grade id not a string": [new_code_cell("assert x", metadata={"nbgrader": meta(grade_id=7)})],
    "unknown key": [new_code_cell("assert x", metadata={"nbgrader": meta(colour="red")})],
    "schema too old": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=2)})],
    "schema too new": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=4)})],
    "no schema version": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=None)})],
    "duplicate ids": [
        new_code_cell("assert x", metadata={"nbgrader": meta()}),
        new_code_cell("assert y", metadata={"nbgrader": meta()}),
    ],
    "task in a code cell": [new_code_cell("", metadata={"nbgrader": meta(task=True, grade=False)})],
    "markdown grade cell, not a solution": [new_markdown_cell("?", metadata={"nbgrader": meta()})],
}


def outcome(check: Any) -> tuple[str, str]:
    """('ok', '') or (the exception's type, its message)."""
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - compared, type and text
        return type(exc).__name__, str(exc)
    return "ok", ""


@pytest.mark.parametrize("case", list(CASES))
def test_same_verdict_and_error_as_nbgrader(case: str) -> None:
    def notebook() -> Any:
        return new_notebook(cells=[cell.copy() for cell in CASES[case]])

    theirs = outcome(lambda: MetadataValidator().validate_nb(notebook()))
    ours = outcome(lambda: _metadata_validator().validate_nb(notebook()))
    assert ours == theirs
    assert outcome(lambda: CheckCellMetadataOnce()(notebook(), {})) == outcome(
        lambda: CheckCellMetadata()(notebook(), {})
    )
    if not case.startswith("valid") and case != "no nbgrader metadata":
        assert theirs[0] != "ok"  # the case really is broken, so the comparison means something


def test_only_the_exact_classes_are_replaced() -> None:
    from nbgrader.preprocessors import ClearOutput, OverwriteCells, OverwriteKernelspec

    class Stricter(CheckCellMetadata):
        pass

    steps = [ClearOutput, OverwriteKernelspec, OverwriteCells, CheckCellMetadata, Stricter]
    faster = [ClearOutput, OverwriteKernelspecOnce, OverwriteCellsOnce, CheckCellMetadataOnce, Stricter]
    assert faster_steps(steps) == faster


def tamper(nb: Any, how: str) -> None:
    """Change a submitted notebook of course_factory's `mini` assignment in one way."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    if how == "test cell edited":
        cells["grade_add"].source = "pass  # the hidden tests are gone"
    elif how == "points raised":
        cells["grade_add_partial"].metadata.nbgrader["points"] = 100
    elif how == "lock removed":
        cells["grade_add"].metadata.nbgrader["locked"] = False
        cells["grade_add"].source = "pass"
    elif how == "cell type changed":
        cells["grade_add_partial"].cell_type = "markdown"
        del cells["grade_add_partial"]["outputs"], cells["grade_add_partial"]["execution_count"]
    elif how == "unknown grade id":
        cells["add"].metadata.nbgrader["grade_id"] = "not_in_the_source"
    elif how == "kernelspec changed":
        nb.metadata["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}
    elif how == "answer cell made a graded test":
        cells["add"].metadata.nbgrader.update(grade=True, points=5)


TAMPERING = [
    "none",
    "test cell edited",
    "points raised",
    "lock removed",
    "cell type changed",
    "unknown grade id",
    "kernelspec changed",
    "answer cell made a graded test",
]

# ("lock removed" is repaired but for the flag: nbgrader counts a test cell as locked anyway)
REPAIRED = {"test cell edited", "points raised", "cell type changed", "kernelspec changed"}


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Course:
    from autograder.build import build

    course = Course(make_course(tmp_path_factory.mktemp("faster") / "course"))
    build(course)
    for how in TAMPERING:
        student = how.replace(" ", "_")
        submit(course.root, student, "    return a + b")
        path = course.submitted / student / "mini" / "add.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        tamper(nb, how)
        nbformat.write(nb, str(path))
        prepare(course, "mini", student)
    return course


@pytest.mark.parametrize("how", TAMPERING)
def test_recorded_source_sanitizes_as_nbgrader_does(mini: Course, how: str) -> None:
    student = how.replace(" ", "_")
    path = mini.prepared / student / "mini" / "add.ipynb"
    settings = mini.config.CourseDirectory
    recorded = RecordedSource(settings.db_url, settings.course_id, "mini")
    theirs = outcome(lambda: sanitized(mini, "mini", student, path))
    ours = outcome(lambda: sanitized(mini, "mini", student, path, recorded))
    assert ours == theirs
    if theirs[0] == "ok":
        assert sanitized(mini, "mini", student, path, recorded) == sanitized(mini, "mini", student, path)
    untouched = mini.prepared / "none" / "mini" / "add.ipynb"
    if how != "none":  # the tampering is really in the submission
        assert nbformat.read(str(path), as_version=4) != nbformat.read(str(untouched), as_version=4)
    if how in REPAIRED:  # and the steps really ran: the tampering is gone
        assert sanitized(mini, "mini", student, path, recorded) == sanitized(
            mini, "mini", "none", untouched, recorded
        )


BROKEN_SUBMISSIONS = ["missing notebook", "not JSON", "test cell deleted"]


@pytest.mark.parametrize("how", TAMPERING + BROKEN_SUBMISSIONS)
def test_the_prepared_notebook_in_memory_sanitizes_as_its_file_does(mini: Course, how: str) -> None:
    """Grading goes on from the notebooks `prepare` keeps in memory instead of reading prepared/
    back: they must be exactly what is on disk, so the sanitized notebook (or the error) is the
    same either way, for tampered, repaired and replaced notebooks alike."""
    student = how.replace(" ", "_")
    if how in BROKEN_SUBMISSIONS:
        submit(mini.root, student, "    return a + b")
        path = mini.submitted / student / "mini" / "add.ipynb"
        if how == "missing notebook":
            path.unlink()
        elif how == "not JSON":
            path.write_text('{"cells": [')
        else:
            nb = nbformat.read(str(path), as_version=4)
            nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "grade_add"]
            nbformat.write(nb, str(path))
    prepared = prepare(mini, "mini", student)
    if how in BROKEN_SUBMISSIONS:
        assert prepared.problems, "the broken submission was not noticed"
    path = mini.prepared / student / "mini" / "add.ipynb"
    assert prepared.notebooks["add"] == nbformat.read(str(path), as_version=4)
    settings = mini.config.CourseDirectory
    recorded = RecordedSource(settings.db_url, settings.course_id, "mini")
    from_file = outcome(lambda: sanitized(mini, "mini", student, path, recorded))
    kept = prepared.notebooks["add"]
    in_memory = outcome(lambda: sanitized(mini, "mini", student, path, recorded, kept))
    assert in_memory == from_file
    if from_file[0] == "ok":
        again = prepare(mini, "mini", student).notebooks["add"]
        assert sanitized(mini, "mini", student, path, recorded, again) == sanitized(
            mini, "mini", student, path, recorded
        )
