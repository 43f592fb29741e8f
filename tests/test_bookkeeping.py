"""The grading process's bookkeeping (autograder.bookkeeping) writes exactly what
nbgrader's own autograde writes: the same gradebook rows (grades, comments, timestamps,
late penalties) and the same autograded files, for a real lesson notebook and a second
notebook with partial credit, an untouched answer, a task and files beside it; also
when a TA's manual score must be kept on a regraded, resubmitted notebook."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.build import build
from autograder.course import Course
from autograder.grading import autograde
from autograder.submissions import prepare
from tests.course_factory import REPO, graded_cell, nbgrader_meta, stub_cell, write_notebook

LESSON = ("module3_neural_networks", "activations")
ADD = 'def add(a: int, b: int) -> int:\n    """a + b."""\n'
RIGHT, WRONG, STUB = "    return a + b", "    return a - b", None
ON_TIME, LATE = "2026-11-20 12:00:00.000000 UTC", "2026-11-23 08:00:00.000000 UTC"
DUE = datetime.datetime(2026, 11, 21, 12, 0)
# student -> (demo student whose lesson notebook is submitted (None: not submitted), the body of
# add, the timestamp, an extra cell in the lesson)
STUDENTS: dict[str, tuple[str | None, str | None, str, str | None]] = {
    "ada": ("ada", RIGHT, ON_TIME, None),
    "ben": ("ben", WRONG, ON_TIME, None),
    "fay": ("fay", STUB, ON_TIME, None),
    "late": ("ada", RIGHT, LATE, None),
    "exits": ("ada", RIGHT, ON_TIME, "import os\nos._exit(0)"),
    "partial": (None, RIGHT, ON_TIME, None),  # one notebook missing: nbgrader's own steps grade it
}


def make_course(root: Path) -> Course:
    root.mkdir(parents=True)
    config = (REPO / "nbgrader_config.py").read_text()
    extra = 'c.Execute.timeout = 60\nc.LateSubmissionPlugin.penalty_method = "zero"\n'
    (root / "nbgrader_config.py").write_text(config + extra)
    source = root / "source" / "mix"
    source.mkdir(parents=True)
    shutil.copy(REPO / "source" / LESSON[0] / f"{LESSON[1]}.ipynb", source)
    (source / "table.csv").write_text("a,b\n1,2\n")
    task = new_markdown_cell(
        "Plot something.", metadata=nbgrader_meta("task_plot", task=True, locked=True, points=1)
    )
    write_notebook(
        source / "add.ipynb",
        [
            new_code_cell("import sys", metadata={"tags": ["export"]}),
            stub_cell("add", RIGHT, ADD.rstrip("\n")),
            graded_cell("grade_add", "assert add(40, 2) == 42", points=2),
            graded_cell("grade_add_partial", "1.0 if add(-1, 1) == 0 else 0.25", points=1),
            task,
        ],
    )
    course = Course(root)
    build(course)
    from nbgrader.api import Gradebook

    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        gb.update_or_create_assignment("mix", duedate=DUE)
    return course


def submit(
    course: Course, student: str, demo: str | None, body: str | None, stamp: str, cell: str | None
) -> None:
    folder = course.submitted / student / "mix"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if demo is not None:
        lesson = nbformat.read(str(REPO / "demo" / "submitted" / demo / LESSON[0] / f"{LESSON[1]}.ipynb"), 4)
        if cell is not None:
            lesson.cells.insert(8, new_code_cell(cell))
        nbformat.write(lesson, str(folder / f"{LESSON[1]}.ipynb"))
    add = nbformat.read(str(course.release / "mix" / "add.ipynb"), 4)
    for c in add.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "add" and body is not None:
            c.source = ADD + body
    nbformat.write(add, str(folder / "add.ipynb"))
    (folder / "notes.txt").write_text(f"{student}'s own file\n")
    (folder / "timestamp.txt").write_text(stamp + "\n")


def grade_with_nbgrader(course: Course, students: list[str]) -> None:
    """nbgrader's own autograde, one submission at a time (the reference)."""
    api = course.api(submitted_directory=course.prepared.name)
    for student in students:
        prepare(course, "mix", student)
        outcome = api.autograde("mix", student, create=True)
        assert outcome["success"], outcome.get("log")


def joined_streams(outputs: list[Any]) -> list[Any]:
    """Outputs with each run of same-stream text joined into one output. A kernel sends what
    a cell prints in pieces, at its flush interval (0.2 s in ipykernel), so a cell that
    prints while the machine is busy can get its text as two outputs in one run and as one
    in the next: same text, different split."""
    joined: list[Any] = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            joined.append(output)
    return joined


def comparable(nb_text: str) -> Any:
    """A notebook without what differs between two runs of it: timings, image bytes, how
    printed text was split into outputs, and whether the cell that killed its kernel got
    to report its execution count."""
    nb = nbformat.reads(nb_text, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = joined_streams(cell.outputs)
        if any(output.get("ename") == "KernelDied" for output in cell.get("outputs", [])):
            cell.execution_count = None
        for output in cell.get("outputs", []):
            for key in [k for k in output.get("data", {}) if k.startswith("image/")]:
                output["data"][key] = "<image>"
    return nb


def dump(course: Course) -> dict[tuple, Any]:
    """Every gradebook row and autograded file of assignment `mix`."""
    from nbgrader.api import Gradebook

    rows: dict[tuple, Any] = {}
    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        for sub in gb.assignment_submissions("mix"):
            student = sub.student.id
            rows[("submission", student)] = (sub.timestamp, sub.total_seconds_late)
            for nb in sub.notebooks:
                rows[("notebook", student, nb.name)] = (nb.late_submission_penalty, nb.score)
                for g in nb.grades:
                    rows[("grade", student, nb.name, g.name)] = (
                        g.auto_score,
                        g.manual_score,
                        g.needs_manual_grade,
                        g.extra_credit,
                    )
                for c in nb.comments:
                    rows[("comment", student, nb.name, c.name)] = (c.auto_comment, c.manual_comment)
    for path in sorted(course.autograded.rglob("*")):
        if path.is_file() and path.name != ".rlgrade-complete":
            rel = path.relative_to(course.autograded).as_posix()
            data = path.read_text() if path.suffix != ".ipynb" else comparable(path.read_text())
            rows[("file", rel)] = (oct(path.stat().st_mode & 0o777), data)
    return rows


@pytest.fixture(scope="module")
def courses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Course]:
    base = tmp_path_factory.mktemp("bookkeeping")
    ours = make_course(base / "ours")
    for student, spec in STUDENTS.items():
        submit(ours, student, *spec)
    reference = Course(base / "reference")
    shutil.copytree(ours.root, reference.root)
    grade_with_nbgrader(reference, list(STUDENTS))
    results = autograde(ours, "mix", workers=2, progress=False)
    assert {r.student: r.status for r in results} == dict.fromkeys(STUDENTS, "graded")
    return {"ours": ours, "reference": reference}


def test_same_rows_and_files_as_nbgrader(courses: dict[str, Course]) -> None:
    ours, reference = dump(courses["ours"]), dump(courses["reference"])
    assert ours.keys() == reference.keys()
    differ = {key: (ours[key], reference[key]) for key in ours if ours[key] != reference[key]}
    assert not differ
    # the cases the comparison is meant to cover are really there
    assert ours[("grade", "ben", "add", "grade_add_partial")][0] == 0.25
    assert ours[("comment", "fay", "add", "add")][0] == "No response."
    assert ours[("notebook", "late", "add")][0] == ours[("notebook", "late", "add")][1] > 0
    assert ours[("grade", "exits", "activations", "grade_sigmoid_and_grad")][0] == 0
    assert ours[("grade", "partial", "activations", "grade_sigmoid_and_grad")][0] == 0
    assert ("file", "ada/mix/table.csv") in ours and ("file", "ada/mix/notes.txt") in ours


def test_a_kept_manual_score_on_a_resubmission_matches_nbgrader(courses: dict[str, Course]) -> None:
    from nbgrader.api import Gradebook

    for course in courses.values():
        with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
            gb.find_grade("grade_add_partial", "add", "mix", "ben").manual_score = 0.5
            gb.db.commit()
        submit(course, "ben", "ben", RIGHT, "2026-11-20 13:00:00.000000 UTC", None)
    grade_with_nbgrader(courses["reference"], ["ben"])
    (result,) = autograde(courses["ours"], "mix", ["ben"], workers=2, progress=False)
    assert result.status == "graded"
    assert any("kept the TA's manual score 0.5 for add:grade_add_partial" in p for p in result.problems)
    ours, reference = dump(courses["ours"]), dump(courses["reference"])
    assert ours == reference
    assert ours[("grade", "ben", "add", "grade_add_partial")][:3] == (1.0, 0.5, True)


def test_a_late_resubmission_is_penalised_by_its_new_score(courses: dict[str, Course]) -> None:
    """Regrading reads back what the earlier grading loaded: the penalty must follow the
    new score and timestamp, not the ones the gradebook session saw before."""
    before = dump(courses["ours"])[("notebook", "late", "add")]
    for course in courses.values():
        submit(course, "late", "ada", WRONG, "2026-11-24 08:00:00.000000 UTC", None)
    grade_with_nbgrader(courses["reference"], ["late"])
    (result,) = autograde(courses["ours"], "mix", ["late"], workers=2, progress=False)
    assert result.status == "graded"
    ours, reference = dump(courses["ours"]), dump(courses["reference"])
    assert ours == reference
    penalty, score = ours[("notebook", "late", "add")]
    assert penalty == score == 0.25 and before == (3.0, 3.0)
    assert ours[("submission", "late")][1] > 0


def test_a_submission_whose_recording_fails_leaves_no_rows(courses: dict[str, Course]) -> None:
    """One transaction per submission: when recording stops half-way (here its notebook
    text is unreadable, after its student and submission rows were written), nothing of it
    stays in the gradebook or in autograded/ (the caller then grades it with nbgrader's steps)."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.bookkeeping import Bookkeeper

    course = courses["ours"]
    submit(course, "torn", "ada", RIGHT, ON_TIME, None)
    prepare(course, "mix", "torn")
    keeper = Bookkeeper(course, "mix", course.api(submitted_directory=course.prepared.name))
    try:
        with pytest.raises(ValueError):
            keeper.record("torn", {"activations": "not a notebook", "add": "not a notebook"})
    finally:
        keeper.close()
    settings = course.config.CourseDirectory
    with Gradebook(settings.db_url, settings.course_id) as gb:
        with pytest.raises(MissingEntry):
            gb.find_student("torn")
        assert [s.student_id for s in gb.assignment_submissions("mix") if s.student_id == "torn"] == []
    assert not (course.autograded / "torn" / "mix").exists()
