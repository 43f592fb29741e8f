"""`rlgrade autograde`: grade every submission of an assignment, one broken
submission never stopping the batch.

Each submission goes through small steps: prepare (repair, never modify the
original) -> nbgrader autograde (resilient execution, stderr is not failure)
-> read the scores back from the gradebook. Re-running is safe: nbgrader skips
a submission already graded unless it was resubmitted or --force is given, and
a TA's manual score is never replaced (nbgrader keeps `manual_score`; we report
every cell where the autograder now disagrees with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.course import Course, CourseError, nbgrader_errors
from autograder.submissions import prepare


@dataclass
class Result:
    student: str
    status: str = "graded"  # graded | skipped | failed
    score: float = 0.0
    max_score: float = 0.0
    failed_checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def submitted_students(course: Course, assignment: str) -> list[str]:
    if not course.submitted.is_dir():
        return []
    return sorted(d.name for d in course.submitted.iterdir() if (d / assignment).is_dir())


def manual_scores(course: Course, assignment: str, student: str) -> dict[str, tuple[float, float | None]]:
    """(notebook:grade_id) -> (manual_score, auto_score) for every manually set grade."""
    from nbgrader.api import Gradebook, MissingEntry

    kept: dict[str, tuple[float, float | None]] = {}
    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return kept
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.manual_score is not None:
                    kept[f"{nb.name}:{grade.name}"] = (grade.manual_score, grade.auto_score)
    return kept


def read_scores(course: Course, assignment: str, result: Result) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, result.student)
        except MissingEntry:
            result.status = "failed"
            return
        result.score, result.max_score = submission.score, submission.max_score
        result.failed_checks = []
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.auto_score is not None and grade.auto_score < grade.max_score:
                    result.failed_checks.append(
                        f"{nb.name}:{grade.name} ({grade.auto_score:g}/{grade.max_score:g})"
                    )


def execution_problems(course: Course, assignment: str, student: str) -> list[str]:
    """Notes for cells that timed out, and for notebooks whose kernel died part-way."""
    from autograder import notebooks

    notes = []
    for path in sorted((course.autograded / student / assignment).glob("*.ipynb")):
        for cell in notebooks.read(path).cells:
            where = notebooks.grade_id(cell) or "a code cell"
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if any(o.get("ename") == "CellTimeoutError" for o in errors):
                notes.append(f"{path.name}: {where} ran past the time limit and scored 0")
            if any(o.get("ename") == "KernelDied" and "while running" in o.get("evalue", "") for o in errors):
                notes.append(
                    f"{path.name}: the kernel died in {where} (os._exit, a crash or out of memory); "
                    "the cells after it were not run and scored 0"
                )
                break
    return notes


def explain_failure(outcome: dict) -> str:
    """A short reason from nbgrader's result of a failed autograde."""
    log = (outcome.get("log") or "") + (outcome.get("error") or "")
    for needle, reason in (
        ("unresponsive", "the kernel stopped responding (infinite loop using memory?)"),
        ("Timeout", "a cell ran past the time limit"),
        ("No assignment with ID", "the assignment is not in the gradebook: run `rlgrade build` first"),
    ):
        if needle in log:
            return reason
    return nbgrader_errors(outcome)[-600:]


COMPLETE = ".rlgrade-complete"


def interrupted(course: Course, assignment: str, student: str) -> bool:
    """True when grading of this submission started (nbgrader wrote autograded/) but never
    finished, e.g. the grader was killed: nbgrader alone would skip it as graded."""
    folder = course.autograded / student / assignment
    return folder.is_dir() and not (folder / COMPLETE).is_file()


def grade_one(course: Course, api, assignment: str, student: str, force: bool) -> Result:
    result = Result(student)
    if not force and interrupted(course, assignment, student):
        force = True
        result.problems.append("grading was interrupted last time: graded again")
    result.problems.extend(prepare(course, assignment, student).problems)
    before = manual_scores(course, assignment, student)
    outcome = api.autograde(assignment, student, force=force, create=True)
    log = outcome.get("log") or ""
    if not outcome["success"]:
        result.status = "failed"
        result.problems.append("autograde failed: " + explain_failure(outcome))
    elif "Skipping existing assignment" in log:
        result.status = "skipped"
    else:
        result.problems.extend(execution_problems(course, assignment, student))
        (course.autograded / student / assignment / COMPLETE).write_text("graded\n")
    read_scores(course, assignment, result)
    after = manual_scores(course, assignment, student)
    for key, (manual, auto_before) in before.items():
        auto_after = after.get(key, (manual, auto_before))[1]
        if auto_after != auto_before:
            result.problems.append(
                f"kept the TA's manual score {manual:g} for {key}; autograder now says "
                f"{auto_after if auto_after is None else f'{auto_after:g}'} (flagged for review)"
            )
    return result


def autograde(
    course: Course,
    assignment: str,
    students: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[Result]:
    """Grade the submissions of `assignment` (all, or the given students)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    course.check_assignment(assignment)
    if not (course.release / assignment).is_dir():
        raise CourseError(f"{assignment!r} has no release yet: run `rlgrade build {assignment}` first")
    available = submitted_students(course, assignment)
    if students:
        unknown = sorted(set(students) - set(available))
        if unknown:
            raise CourseError(
                f"no submission of {assignment!r} for {', '.join(unknown)} in {course.submitted}"
            )
    todo = students or available
    if not todo:
        raise CourseError(
            f"no submissions of {assignment!r} in {course.submitted}: collect them first (`rlgrade collect`)"
        )
    require_current_gradebook(course, assignment)
    if course.sandbox:
        from autograder.sandbox import SandboxError, require_sandbox

        try:
            require_sandbox()
        except SandboxError as exc:
            raise CourseError(str(exc)) from None
    api = course.api(submitted_directory=course.prepared.name)
    results: list[Result] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"grading {assignment}", total=len(todo))
        for student in todo:
            bar.update(task, description=f"grading {assignment}: {student}")
            try:
                results.append(grade_one(course, api, assignment, student, force))
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                results.append(Result(student, status="failed", problems=[f"internal error: {exc}"]))
            bar.advance(task)
    return results


def require_current_gradebook(course: Course, assignment: str) -> None:
    """Grading against a stale version of the assignment would misgrade: refuse."""
    from autograder.build import sync_gradebook

    warning = sync_gradebook(course, assignment)
    if warning:
        raise CourseError(warning)


def regrade(course: Course, assignment: str, progress: bool = True) -> tuple[list[Result], list[str]]:
    """Grade every submission again against the current version of `assignment`.

    nbgrader cannot change an assignment's cells once submissions are graded, so the
    assignment is dropped from the gradebook and graded afresh. Nothing is lost: the
    gradebook file is backed up first, and every manual score a TA gave is put back
    on the same cell. Returns the results and notes on what was restored or dropped.
    """
    import shutil
    import time

    from nbgrader.api import Gradebook, MissingEntry

    from autograder.build import sync_gradebook

    course.check_assignment(assignment)
    notes: list[str] = []
    if course.gradebook_path.is_file():
        backup = course.gradebook_path.with_name(f"gradebook.{time.strftime('%Y%m%d-%H%M%S')}.db")
        shutil.copy2(course.gradebook_path, backup)
        notes.append(f"backed up the gradebook to {backup.name}")
    students = submitted_students(course, assignment)
    kept = {student: manual_scores(course, assignment, student) for student in students}
    db_url, course_id = course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id
    with Gradebook(db_url, course_id) as gb:
        try:
            gb.remove_assignment(assignment)
        except MissingEntry:
            pass
    warning = sync_gradebook(course, assignment)
    if warning:
        raise CourseError(warning)
    results = autograde(course, assignment, students, force=True, progress=progress) if students else []
    with Gradebook(db_url, course_id) as gb:
        for student, scores in kept.items():
            for key, (manual, _) in scores.items():
                notebook, grade_id = key.split(":", 1)
                try:
                    gb.find_grade(grade_id, notebook, assignment, student).manual_score = manual
                    notes.append(f"{student}: restored the manual score {manual:g} of {key}")
                except MissingEntry:
                    notes.append(
                        f"{student}: {key} was removed; its manual score {manual:g} is kept in the backup"
                    )
        gb.db.commit()
    for result in results:
        read_scores(course, assignment, result)
    return results, notes
