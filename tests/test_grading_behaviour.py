"""nbgrader behaviours our grading changes, each on a small real course."""

from __future__ import annotations

import pytest

from autograder.build import build
from autograder.course import Course
from autograder.grading import autograde
from tests.course_factory import make_course, submit

CORRECT = "    return a + b\n"


@pytest.fixture
def mini(tmp_path) -> Course:
    course = Course(make_course(tmp_path / "course", cell_timeout=5))
    build(course)
    return course


def scores(results) -> dict[str, tuple[str, float]]:
    return {r.student: (r.status, r.score) for r in results}


def test_stderr_warning_does_not_zero_a_correct_answer(mini: Course) -> None:
    submit(mini.root, "ok", CORRECT)
    [result] = autograde(mini, "mini", progress=False)
    assert (result.status, result.score, result.max_score) == ("graded", 3.0, 3.0)


def test_numeric_result_is_partial_credit(mini: Course) -> None:
    submit(mini.root, "half", "    return a + b if a >= 0 else 99\n")
    [result] = autograde(mini, "mini", progress=False)
    assert result.score == pytest.approx(2.25)
    assert result.failed_checks == ["add:grade_add_partial (0.25/1)"]


def test_kernel_death_and_timeout_are_recorded_and_the_batch_goes_on(mini: Course) -> None:
    submit(mini.root, "a_exits", "    import os\n    os._exit(0)\n")
    submit(mini.root, "b_loops", "    while True:\n        pass\n")
    submit(mini.root, "c_ok", CORRECT)
    results = {r.student: r for r in autograde(mini, "mini", progress=False)}
    assert scores(results.values()) == {
        "a_exits": ("graded", 0.0),
        "b_loops": ("graded", 0.0),
        "c_ok": ("graded", 3.0),
    }
    assert results["a_exits"].failed_checks == ["add:grade_add (0/2)", "add:grade_add_partial (0/1)"]
    autograded = (mini.autograded / "a_exits" / "mini" / "add.ipynb").read_text()
    assert "KernelDied" in autograded
    assert "CellTimeoutError" in (mini.autograded / "b_loops" / "mini" / "add.ipynb").read_text()
    assert any("kernel died in grade_add" in p for p in results["a_exits"].problems)
    assert any("ran past the time limit" in p for p in results["b_loops"].problems)


def test_rerun_skips_graded_and_force_keeps_manual_scores(mini: Course) -> None:
    from nbgrader.api import Gradebook

    submit(mini.root, "ok", CORRECT)
    assert scores(autograde(mini, "mini", progress=False)) == {"ok": ("graded", 3.0)}
    assert scores(autograde(mini, "mini", progress=False)) == {"ok": ("skipped", 3.0)}

    directory = mini.config.CourseDirectory
    with Gradebook(directory.db_url, directory.course_id) as gb:
        grade = gb.find_grade("grade_add", "add", "mini", "ok")
        grade.manual_score = 1.5  # a TA overrode the autograder
        gb.db.commit()
    submit(mini.root, "ok", "    return 0\n")  # and the student resubmits a wrong answer
    [result] = autograde(mini, "mini", force=True, progress=False)
    with Gradebook(directory.db_url, directory.course_id) as gb:
        grade = gb.find_grade("grade_add", "add", "mini", "ok")
        assert (grade.manual_score, grade.auto_score, grade.needs_manual_grade) == (1.5, 0.0, True)
    assert any("kept the TA's manual score 1.5 for add:grade_add" in p for p in result.problems)


def test_changed_assignment_is_regraded_only_on_request_and_keeps_manual_scores(mini: Course) -> None:
    import nbformat
    from nbgrader.api import Gradebook

    from autograder.course import CourseError
    from autograder.grading import regrade
    from tests.course_factory import graded_cell

    submit(mini.root, "ok", CORRECT)
    autograde(mini, "mini", progress=False)
    directory = mini.config.CourseDirectory
    with Gradebook(directory.db_url, directory.course_id) as gb:
        gb.find_grade("grade_add", "add", "mini", "ok").manual_score = 1.5
        gb.db.commit()

    # The instructor adds a test cell after grading started.
    path = mini.source / "mini" / "add.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(graded_cell("grade_add_more", "assert add(2, 2) == 4", points=1))
    nbformat.write(nb, str(path))
    build(mini)  # the release follows source/ even though the gradebook cannot
    assert "grade_add_more" in (mini.release / "mini" / "add.ipynb").read_text()
    with pytest.raises(CourseError, match="rlgrade regrade mini"):
        autograde(mini, "mini", force=True, progress=False)

    results, notes = regrade(mini, "mini", progress=False)
    assert [(r.student, r.max_score) for r in results] == [("ok", 4.0)]
    assert "ok: restored the manual score 1.5 of add:grade_add" in notes
    assert list(mini.root.glob("gradebook.*.db")), "the gradebook must be backed up before a regrade"
    with Gradebook(directory.db_url, directory.course_id) as gb:
        assert gb.find_grade("grade_add", "add", "mini", "ok").manual_score == 1.5
