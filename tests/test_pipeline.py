"""The whole pipeline on the real course: build, autograde, feedback, export."""

from __future__ import annotations

import copy
import filecmp
import re
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import cli, notebooks
from autograder.collect import collect_zip
from autograder.course import Course, CourseError
from autograder.demo import expected_losses
from autograder.feedback import hidden_snippets, leaked_hidden_tests
from tests.conftest import REPO, DemoRun, copy_course

GENERATED = ("release", "solutions", "assignments", "demo/submitted")


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def autograded_scores(course: Course, student: str) -> dict[str, tuple[float | None, float]]:
    """notebook:grade_id -> (auto_score, max_score) for cells the autograder scores."""
    directory = course.config.CourseDirectory
    scores = {}
    with Gradebook(directory.db_url, directory.course_id) as gb:
        for assignment in course.assignments():
            for nb in gb.find_submission(assignment, student).notebooks:
                for grade in nb.grades:
                    if grade.cell_type == "code" and grade.auto_score is not None:
                        scores[f"{assignment}/{nb.name}:{grade.name}"] = (grade.auto_score, grade.max_score)
    return scores


@pytest.mark.parametrize("folder", GENERATED)
def test_generated_artefacts_are_in_sync_with_source(demo_run: DemoRun, folder: str) -> None:
    built, committed = tree(demo_run.course.root / folder), tree(REPO / folder)
    stale = sorted(name for name in built.keys() | committed.keys() if built.get(name) != committed.get(name))
    assert not stale, f"{folder}/ is out of date with source/: run `./course rlgrade build` ({stale[:5]})"


def test_solutions_score_full_marks_on_every_autograded_cell(demo_run: DemoRun) -> None:
    scores = autograded_scores(demo_run.course, "ada")
    assert scores, "no autograded cells found"
    short = {cell: s for cell, s in scores.items() if s[0] != s[1]}
    assert not short, f"the reference solution loses points: {short}"


def test_untouched_stubs_score_zero(demo_run: DemoRun) -> None:
    scores = autograded_scores(demo_run.course, "fay")
    assert scores and all(auto == 0 for auto, _ in scores.values()), scores


def test_release_contains_no_solution_and_no_hidden_test(demo_run: DemoRun) -> None:
    course = demo_run.course
    for assignment in course.assignments():
        for name in course.notebooks(assignment):
            source = notebooks.read(course.source / assignment / f"{name}.ipynb")
            released = (course.release / assignment / f"{name}.ipynb").read_text()
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
                assert marker not in released, f"{name}: {marker}"
            outside = "\n".join(notebooks.SOLUTION_REGION.sub("", c.source) for c in source.cells)
            for cell in source.cells:
                for region in notebooks.SOLUTION_REGION.finditer(cell.source):
                    for line in region.group("body").splitlines():
                        line = line.strip()
                        if len(line) >= 25 and line not in outside:
                            assert line not in released, f"{name}.ipynb leaks solution line {line!r}"
            for snippet in hidden_snippets(course, assignment):
                assert snippet not in released


def test_a_broken_submission_is_recorded_and_the_batch_goes_on(demo_run: DemoRun) -> None:
    out = demo_run.output
    assert re.search(r"invalid\s+JSON", out), out
    assert "(renamed notebook)" in out
    assert "restored deleted cells" in out
    directory = demo_run.course.config.CourseDirectory
    with Gradebook(directory.db_url, directory.course_id) as gb:
        for assignment in demo_run.course.assignments():
            graded = {s.student.id for s in gb.assignment_submissions(assignment)}
            assert {"ada", "ben", "cy", "fay"} <= graded
    cy, ada = autograded_scores(demo_run.course, "cy"), autograded_scores(demo_run.course, "ada")
    assert sum(s for s, _ in cy.values()) < sum(s for s, _ in ada.values())


def cell_output_text(course: Course, student: str, cell: str) -> str:
    assignment_nb, grade_id = cell.split(":")
    assignment, name = assignment_nb.split("/")
    nb = notebooks.read(course.autograded / student / assignment / f"{name}.ipynb")
    outputs = notebooks.cells_by_id(nb)[grade_id].outputs
    return "".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in outputs)


def test_realistic_bugs_lose_the_right_points_with_the_right_message(demo_run: DemoRun) -> None:
    """ben's bugs (demo/<assignment>_bugs.py, among them the real ones of COURSE.md) lose
    exactly the cells their LOSES lists, and the feedback names each bug."""
    course = demo_run.course
    expected = {
        cell: words for a in course.assignments() for cell, words in expected_losses(course, a).items()
    }
    ada, ben = autograded_scores(course, "ada"), autograded_scores(course, "ben")
    lost = {cell for cell in ben if ben[cell][0] < ada[cell][0]}
    assert lost == set(expected), "only the cells with a planted bug may lose points"
    for cell, words in expected.items():
        assert words in cell_output_text(demo_run.course, "ben", cell), cell
    assert ben["homework_deep_rl/pong:grade_policy_backward"][0] == 0, "a wrong gradient earns nothing"


def test_feedback_never_contains_hidden_tests(demo_run: DemoRun) -> None:
    course = demo_run.course
    pages = sorted(course.feedback.rglob("*.html"))
    assert len(pages) >= 3 * len(course.assignments())
    for assignment in course.assignments():
        snippets = hidden_snippets(course, assignment)
        assert snippets, "no hidden tests to look for"
        for page in (course.feedback).glob(f"*/{assignment}/*.html"):
            assert leaked_hidden_tests(page, snippets) == [], page


def test_default_nbgrader_feedback_leaks_and_the_check_sees_it(demo_run: DemoRun, tmp_path: Path) -> None:
    """The leak check can fail: nbgrader's default feedback for fay leaks hidden tests."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades

    course = demo_run.course
    config = copy.deepcopy(course.config)  # the session's course must keep its config
    config.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]
    config.CourseDirectory.feedback_directory = str(tmp_path / "leaky")
    assignment = course.assignments()[0]
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.generate_feedback(assignment, "fay", force=True)["success"]
    pages = list((tmp_path / "leaky").rglob("*.html"))
    assert any(leaked_hidden_tests(p, hidden_snippets(course, assignment)) for p in pages)


def test_grades_are_exported_as_csv(demo_run: DemoRun) -> None:
    rows = (demo_run.course.root / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("assignment,")
    students = {row.split(",")[3] for row in rows[1:]}
    assert {"ada", "ben", "cy", "fay"} <= students


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 20, 12, 0, 0)), data)
    return path


def test_zip_collect_understands_lms_downloads(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course", with_release=True)
    assignment = course.assignments()[0]
    name = course.notebooks(assignment)[0]
    data = (REPO / "release" / assignment / f"{name}.ipynb").read_bytes()
    archive = make_zip(
        tmp_path / "download.zip",
        {
            f"smithj_1234_5678_{name}-1.ipynb": data,  # Canvas, resubmitted
            f"lee_99_assignsubmission_file_/{name}.ipynb": data,  # Moodle
            "readme.txt": b"not a notebook",
        },
    )
    result = collect_zip(course, assignment, archive)
    assert sorted(result.students) == ["lee", "smithj"]
    original = REPO / "release" / assignment / f"{name}.ipynb"
    for student in result.students:
        collected = course.submitted / student / assignment / f"{name}.ipynb"
        assert filecmp.cmp(collected, original, shallow=False)
    again = collect_zip(course, assignment, archive)
    assert again.students == [] and len(again.skipped) == 3


def test_bad_input_gets_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(tmp_path / "course", with_release=True)
    assert cli.main(["--course", str(course.root), "autograde", "no_such_assignment"]) == 2
    assert "unknown assignment 'no_such_assignment'" in capsys.readouterr().err

    assignment = course.assignments()[0]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert cli.main(["--course", str(course.root), "collect", assignment, "--zip", str(bad)]) == 2
    assert "not a valid zip file" in capsys.readouterr().err

    assert cli.main(["--course", str(course.root), "autograde", assignment]) == 2
    assert "no submissions" in capsys.readouterr().err

    (course.root / "nbgrader_config.py").unlink()
    with pytest.raises(CourseError, match="no course found"):
        Course.find(course.root)
