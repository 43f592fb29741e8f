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

import copy
from dataclasses import dataclass, field
from typing import Any

import nbformat
from traitlets.config import Config

from autograder.bookkeeping import Bookkeeper, failed_checks, kept_manual_note
from autograder.course import Course, CourseError, nbgrader_errors
from autograder.notebooks import imported_modules, read
from autograder.parallel import ReplayExecute
from autograder.preprocessors import RecordedSource
from autograder.submissions import prepare


@dataclass
class Result:
    student: str
    status: str = "graded"  # graded | skipped | failed
    score: float = 0.0
    max_score: float = 0.0
    failed_checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cell_seconds: float = 0.0  # time its notebooks spent in code cells, when run ahead
    kernel_seconds: float = 0.0  # the rest of those runs: kernel start and stop, files


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
        result.failed_checks = failed_checks(submission)


def execution_problems(
    course: Course, assignment: str, student: str, graded: dict[str, Any] | None = None
) -> list[str]:
    """Notes for cells that timed out, and for notebooks whose kernel died part-way.
    `graded`: the autograded notebooks by file name, when at hand (else read from disk)."""
    from autograder import notebooks

    if graded is None:
        paths = (course.autograded / student / assignment).glob("*.ipynb")
        graded = {path.name: notebooks.read(path) for path in paths}
    notes = []
    for filename, nb in sorted(graded.items()):
        for cell in nb.cells:
            where = notebooks.grade_id(cell) or "a code cell"
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if any(o.get("ename") == "CellTimeoutError" for o in errors):
                notes.append(f"{filename}: {where} ran past the time limit and scored 0")
            if any(o.get("ename") == "KernelDied" and "while running" in o.get("evalue", "") for o in errors):
                notes.append(
                    f"{filename}: the kernel died in {where} (os._exit, a crash or out of memory); "
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


def begin(
    course: Course, assignment: str, student: str, force: bool
) -> tuple[Result, bool, dict[str, nbformat.NotebookNode]]:
    """Prepare one submission; returns its result so far, whether it must be regraded and
    its prepared notebooks (as written to prepared/) by name."""
    result = Result(student)
    if not force and interrupted(course, assignment, student):
        force = True
        result.problems.append("grading was interrupted last time: graded again")
    prepared = prepare(course, assignment, student)
    result.problems.extend(prepared.problems)
    return result, force, prepared.notebooks


def will_be_graded(course: Course, api, assignment: str, student: str, force: bool) -> bool:
    """What nbgrader's autograde will decide: grade, or skip as already graded (unchanged)."""
    dest = course.autograded / student / assignment
    if force or not all((dest / f"{name}.ipynb").exists() for name in course.notebooks(assignment)):
        return True
    new = api.coursedir.get_existing_timestamp(str(course.prepared / student / assignment))
    old = api.coursedir.get_existing_timestamp(str(dest))
    return new is not None and old is not None and new > old


def finish(
    course: Course,
    api,
    assignment: str,
    result: Result,
    force: bool,
    bookkeeper: Bookkeeper | None = None,
    ran: dict[str, str] | None = None,
) -> Result:
    """Record one prepared submission: through `bookkeeper` when all its notebooks `ran`
    ahead, else with nbgrader's autograde (its notebooks' outputs may already wait in
    ReplayExecute); then the scores and what the TA should know."""
    student = result.student
    if bookkeeper is not None and ran is not None:
        try:
            recorded = bookkeeper.record(student, ran)
        except Exception as exc:  # noqa: BLE001 - nbgrader's own autograde grades it below
            result.problems.append(f"graded by nbgrader's own steps after an internal error: {exc}")
            ReplayExecute.forget(student)  # its notebooks are run again from the start
        else:
            result.score, result.max_score = recorded.score, recorded.max_score
            result.failed_checks = recorded.failed_checks
            result.problems.extend(recorded.kept_manual)
            result.problems.extend(execution_problems(course, assignment, student, recorded.notebooks))
            (course.autograded / student / assignment / COMPLETE).write_text("graded\n")
            return result
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
            result.problems.append(kept_manual_note(key, manual, auto_after))
    return result


def status_line(result: Result, seconds: float) -> str:
    if result.status == "graded":
        text = f"{result.student}: {result.score:g}/{result.max_score:g}"
    else:
        text = f"{result.student}: {result.status}"
    count = len(result.problems)
    notes = f" ({count} note{'s' if count != 1 else ''})" if count else ""
    return f"{text}{notes}  [{seconds:.1f} s]"


def autograde(
    course: Course,
    assignment: str,
    students: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
    dask: str | None = None,
) -> list[Result]:
    """Grade the submissions of `assignment` (all, or the given students).

    Notebooks run `workers` at a time (default: one per CPU core) in warm sandboxed
    kernels, or on a Dask cluster (`dask`: a scheduler address or a cluster file); the
    gradebook is written by this process only, one submission after the other (see
    autograder.parallel). The scores do not depend on `workers`."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from autograder.parallel import kernel_files, make_runner, notebook_text, run_notebook, sanitized

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
    if course.sandbox:
        from autograder.sandbox import SandboxError, require_sandbox

        try:
            require_sandbox()
        except SandboxError as exc:
            raise CourseError(str(exc)) from None
    config = warm_kernel_config(course, assignment)
    runner = make_runner(workers, dask, config)  # its kernels' zygote starts importing now
    try:
        require_current_gradebook(course, assignment)
        api = course.api(submitted_directory=course.prepared.name)
        bookkeeper = Bookkeeper(course, assignment, api)
        settings = course.config.CourseDirectory
        recorded = RecordedSource(settings.db_url, settings.course_id, assignment)
    except BaseException:
        runner.close()
        raise
    results: dict[str, Result] = {}
    ran: dict[str, dict[str, str]] = {}  # student -> notebook -> text, for the bookkeeper
    started: dict[str, float] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(f"grading {assignment} ({runner.describe()})", total=len(todo))

        def done(result: Result, force_one: bool) -> None:
            try:
                outputs = ran.get(result.student)
                if outputs is not None and sorted(outputs) != bookkeeper.notebooks:
                    outputs = None  # one of its notebooks failed to run ahead: nbgrader runs them all
                results[result.student] = finish(
                    course, api, assignment, result, force_one, bookkeeper, outputs
                )
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                result.status = "failed"
                result.problems.append(f"internal error: {exc}")
                results[result.student] = result
            finally:
                ReplayExecute.forget(result.student)
            bar.advance(task)
            if progress:
                elapsed = time.monotonic() - started.get(result.student, time.monotonic())
                bar.console.print(status_line(results[result.student], elapsed))

        try:
            jobs: dict[Any, tuple[str, str]] = {}
            left: dict[str, int] = {}
            begun: dict[str, tuple[Result, bool]] = {}
            for student in todo:
                started[student] = time.monotonic()
                try:
                    result, force_one, prepared = begin(course, assignment, student, force)
                    begun[student] = (result, force_one)
                    if not will_be_graded(course, api, assignment, student, force_one):
                        continue
                    files = kernel_files(course, assignment, student)
                    steps = bookkeeper.steps if bookkeeper.takes(student) else None
                    if steps is not None:
                        ran[student] = {}
                    for name in course.notebooks(assignment):
                        path = course.prepared / student / assignment / f"{name}.ipynb"
                        if not path.is_file():
                            continue  # not submitted: nbgrader's step scores it 0
                        nb = sanitized(course, assignment, student, path, recorded, prepared.get(name))
                        nb_json = notebook_text(nb)
                        future = runner.submit(run_notebook, nb_json, files, config, steps)
                        jobs[future] = (student, name)
                        left[student] = left.get(student, 0) + 1
                except Exception as exc:  # noqa: BLE001 - graded by nbgrader alone below, or reported
                    begun.setdefault(student, (Result(student, status="failed"), force))
                    begun[student][0].problems.append(f"could not be prepared for parallel grading: {exc}")
            for student in todo:  # nothing to run ahead: nbgrader decides (skip, or grade in place)
                if student in begun and not left.get(student):
                    done(*begun[student])
            for future in runner.completed(list(jobs)):
                student, name = jobs[future]
                try:
                    outcome = future.result()
                    if student in ran:
                        ran[student][name] = outcome["notebook"]
                    else:
                        executed = nbformat.reads(outcome["notebook"], as_version=4)
                        ReplayExecute.provide(student, name, executed, outcome["judged"])
                    begun[student][0].cell_seconds += outcome["cell_seconds"]
                    begun[student][0].kernel_seconds += outcome["kernel_seconds"]
                except Exception:  # noqa: BLE001 - the notebook is then run by nbgrader's step itself
                    pass
                left[student] -= 1
                if left[student] == 0:
                    done(*begun[student])
        finally:
            runner.close()
            bookkeeper.close()
    return [results[s] for s in todo if s in results]


def warm_kernel_config(course: Course, assignment: str) -> Config:
    """The course's configuration for running the notebooks of `assignment`: warm kernels
    come from a zygote that imported what the assignment's source notebooks import, and
    only that (unless the course sets `PooledKernelManager.preload` itself)."""
    config = copy.deepcopy(course.config)
    if "preload" not in course.config.PooledKernelManager:
        folder = course.source / assignment
        try:
            modules = {
                m
                for name in course.notebooks(assignment)
                for m in imported_modules(read(folder / f"{name}.ipynb"))
            }
        except Exception:  # noqa: BLE001 - an optimisation only: the zygote's usual set then
            return config
        config.PooledKernelManager.preload = sorted(modules)
    return config


def require_current_gradebook(course: Course, assignment: str) -> None:
    """Grading against a stale version of the assignment would misgrade: refuse."""
    from autograder.build import sync_gradebook

    warning = sync_gradebook(course, assignment)
    if warning:
        raise CourseError(warning)


def regrade(
    course: Course,
    assignment: str,
    progress: bool = True,
    workers: int | None = None,
    dask: str | None = None,
) -> tuple[list[Result], list[str]]:
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
    results = (
        autograde(course, assignment, students, force=True, progress=progress, workers=workers, dask=dask)
        if students
        else []
    )
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
