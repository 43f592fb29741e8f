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
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.auto_score is not None and grade.auto_score < grade.max_score:
                    result.failed_checks.append(
                        f"{nb.name}:{grade.name} ({grade.auto_score:g}/{grade.max_score:g})"
                    )


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


def grade_one(course: Course, api, assignment: str, student: str, force: bool) -> Result:
    result = Result(student)
    result.problems.extend(prepare(course, assignment, student).problems)
    before = manual_scores(course, assignment, student)
    outcome = api.autograde(assignment, student, force=force, create=True)
    log = outcome.get("log") or ""
    if not outcome["success"]:
        result.status = "failed"
        result.problems.append("autograde failed: " + explain_failure(outcome))
    elif "Skipping existing assignment" in log:
        result.status = "skipped"
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
    ensure_in_gradebook(course, assignment)
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


def ensure_in_gradebook(course: Course, assignment: str) -> None:
    """A fresh clone has release/ but no gradebook.db: register the assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        try:
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    from autograder.build import generate_release

    generate_release(course, assignment)
