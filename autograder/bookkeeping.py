"""nbgrader's autograde bookkeeping for a submission whose notebooks already ran.

Once `autograder.parallel` has run a submission's notebooks, together with every
autograde step that needs no gradebook (stderr relabelling, judging, ignored patterns,
output limits, metadata checks), what is left of nbgrader's `autograde` is bookkeeping:
lay out autograded/<student>/<assignment>/ and write the grades, comments and late
penalties. nbgrader does that with a fresh database engine for each step, a dozen per
submission, and it was most of the grading process's time. `Bookkeeper` does the same
writes through one gradebook session that stays open for the whole run, applying
nbgrader's own rules (`nbgrader.utils.determine_grade`, its checksums, the configured
late-submission plugin).

It takes the common case only: every notebook of the assignment submitted and run
ahead, no convert hooks or excluded students, nbgrader's autograde steps in their usual
order. Anything else is graded by nbgrader's own `autograde` (see `fast_steps` and
`Bookkeeper.takes`). tests/test_bookkeeping.py grades the same submissions both ways and
compares every gradebook row and every autograded file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder.course import Course, CourseError
from autograder.preprocessors import faster_steps

# nbgrader steps that read the gradebook: a worker may have none
READS_GRADEBOOK = ("OverwriteCells", "OverwriteKernelspec", "SaveCells", "GetGrades")


def gradebook_free_steps(converter: Any) -> list[type] | None:
    """The autograde steps after execution that need no gradebook, to run in the worker
    right after the notebook; None when the converter's configuration is not one this
    module reproduces (then nbgrader's own autograde does all the steps)."""
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, Execute, SaveAutoGrades

    steps = list(converter.autograde_preprocessors)
    if not steps or not issubclass(steps[0], Execute):
        return None
    if converter.pre_convert_hook or converter.post_convert_hook or converter.coursedir.student_id_exclude:
        return None
    if converter.coursedir.groupshared:
        return None
    if any(c.__name__ in READS_GRADEBOOK for cls in steps for c in cls.__mro__):
        return None
    writers = (SaveAutoGrades, AssignLatePenalties)
    if [cls for cls in steps if issubclass(cls, writers)] != list(writers):
        return None  # also when a subclass replaces or joins them: its behaviour is unknown here
    # after the writes, only metadata validation, which changes nothing and may run before them
    after = steps[steps.index(SaveAutoGrades) + 1 :]
    if any(cls is not AssignLatePenalties and not issubclass(cls, CheckCellMetadata) for cls in after):
        return None
    return faster_steps([cls for cls in steps[1:] if cls not in writers])


@dataclass
class Recorded:
    """What one submission scored, as the gradebook now says."""

    score: float
    max_score: float
    failed_checks: list[str] = field(default_factory=list)
    kept_manual: list[str] = field(default_factory=list)  # TA scores the autograder now disagrees with
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # as written, by file name


class Bookkeeper:
    """Writes what nbgrader's autograde writes, for submissions run ahead, through one
    gradebook session (`close` it at the end of the run)."""

    def __init__(self, course: Course, assignment: str, api: Any) -> None:
        from nbgrader.api import Gradebook, MissingEntry
        from nbgrader.converters import Autograde

        self.course, self.assignment, self.coursedir = course, assignment, api.coursedir
        # nbgrader's converter, for its settings as the course configures them
        converter = Autograde(coursedir=api.coursedir, parent=api)
        self.steps = gradebook_free_steps(converter)
        self.permissions = int(str(converter.permissions), 8)
        self.keep_own = set(converter.exclude_overwriting.get(assignment, []))
        self.ignore = list(api.coursedir.ignore)
        settings = course.config.CourseDirectory
        self.gradebook = Gradebook(settings.db_url, settings.course_id)
        # A commit leaves what was loaded in place: the assignment's notebooks and cells,
        # which every submission reads again, are loaded once per run instead of once per
        # step. The scores nbgrader computes in SQL are deferred columns, loaded when first
        # read, and this class reads them only after the writes they sum.
        self.gradebook.db().expire_on_commit = False
        try:
            self._assignment = self.gradebook.find_assignment(assignment)  # held: keeps it loaded
        except MissingEntry:
            self.gradebook.close()
            raise CourseError(
                f"{assignment!r} is not in the gradebook: run `rlgrade build {assignment}` first"
            ) from None
        self.notebooks = sorted(nb.name for nb in self._assignment.notebooks)
        self.gradebook.db.commit()  # never hold a read lock between submissions

    def close(self) -> None:
        self.gradebook.close()

    def takes(self, student: str) -> bool:
        """Whether this submission is the common case: every notebook of the assignment
        submitted (then all of them are run ahead with `self.steps`)."""
        if self.steps is None or self.course.notebooks(self.assignment) != self.notebooks:
            return False
        folder = self.course.prepared / student / self.assignment
        return all((folder / f"{name}.ipynb").is_file() for name in self.notebooks)

    def record(self, student: str, ran: dict[str, str]) -> Recorded:
        """Lay out the autograded folder and save the grades of one submission.

        `ran`: notebook name -> the notebook after all gradebook-free autograde steps, as the
        text nbgrader's exporter would write. On any error the folder is removed and the
        session rolled back; the caller then grades the submission with nbgrader itself."""
        try:
            return self._record(student, ran)
        except BaseException:
            self.gradebook.db.rollback()
            shutil.rmtree(self.course.autograded / student / self.assignment, ignore_errors=True)
            raise

    def _record(self, student: str, ran: dict[str, str]) -> Recorded:
        from nbgrader.utils import find_all_files

        gb, assignment = self.gradebook, self.assignment
        submitted = self.course.prepared / student / assignment
        dest = self.course.autograded / student / assignment
        if all((dest / f"{name}.ipynb").exists() for name in self.notebooks):
            shutil.rmtree(dest)  # regraded: forced, or resubmitted (nbgrader removes it too)
        self._copy(find_all_files(str(submitted), [*self.ignore, "*.ipynb"]), submitted, dest)

        gb.update_or_create_student(student)
        timestamp = self.coursedir.get_existing_timestamp(str(submitted))
        extra = {"timestamp": timestamp} if timestamp else {}
        submission = gb.update_or_create_submission(assignment, student, **extra)

        source = self.course.source / assignment
        shipped = find_all_files(str(source), [*self.ignore, "*.ipynb"])
        self._copy([f for f in shipped if os.path.relpath(f, source) not in self.keep_own], source, dest)

        kept: list[str] = []
        written: dict[str, nbformat.NotebookNode] = {}
        dest.mkdir(parents=True, exist_ok=True)
        for name in self.notebooks:
            text = ran[name]
            (dest / f"{name}.ipynb").write_text(text, encoding="utf-8")
            # written (and validated) by nbformat in the worker: parse it, no second validation
            written[f"{name}.ipynb"] = nbformat.v4.reads(text)
            kept += self._save_grades(student, name, written[f"{name}.ipynb"])
            self._late_penalty(student, name, submission)
        for folder, _, files in os.walk(dest):
            for filename in files:
                os.chmod(os.path.join(folder, filename), self.permissions)
        recorded = self.scores(student, kept)
        recorded.notebooks = written
        return recorded

    @staticmethod
    def _copy(files: list[str], root: Path, dest: Path) -> None:
        for path in files:
            target = dest / os.path.relpath(path, root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(path, target)

    def _save_grades(self, student: str, notebook: str, nb: nbformat.NotebookNode) -> list[str]:
        """nbgrader's SaveAutoGrades: the automatic score of each graded cell (a TA's manual
        score stays and the cell is marked for review), and "No response." for untouched
        answers. Returns notes on manual scores the new automatic score disagrees with."""
        from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_solution, is_task

        saved = self.gradebook.find_submission_notebook(notebook, self.assignment, student)
        grades = {grade.name: grade for grade in saved.grades}
        comments = {comment.name: comment for comment in saved.comments}
        kept = []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if is_grade(cell):
                grade = grades[grade_id]
                auto_score = determine_grade(cell)[0]
                if grade.manual_score is not None and auto_score != grade.auto_score:
                    kept.append(kept_manual_note(f"{notebook}:{grade_id}", grade.manual_score, auto_score))
                grade.auto_score = auto_score
                grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
            if is_solution(cell) or is_task(cell):
                untouched = cell.metadata.nbgrader.get("checksum") == compute_checksum(cell)
                comments[grade_id].auto_comment = "No response." if untouched and not is_task(cell) else None
        self.gradebook.db.commit()
        return kept

    def _late_penalty(self, student: str, notebook: str, submission: Any) -> None:
        """nbgrader's AssignLatePenalties, with the configured late-submission plugin."""
        from nbgrader.preprocessors import AssignLatePenalties

        saved = self.gradebook.find_submission_notebook(notebook, self.assignment, student)
        saved.late_submission_penalty = None
        late = submission.total_seconds_late
        if late > 0:
            step = AssignLatePenalties(config=self.course.config)
            step.init_plugin()
            penalty = step.plugin_inst.late_submission_penalty(student, saved.score, late)
            if penalty is not None:
                saved.late_submission_penalty = min(max(penalty, 0), saved.score)
        self.gradebook.db.commit()

    def scores(self, student: str, kept: list[str] | None = None) -> Recorded:
        """The submission's score as the gradebook has it, and its cells below full marks."""
        submission = self.gradebook.find_submission(self.assignment, student)
        recorded = Recorded(submission.score, submission.max_score, failed_checks(submission), kept or [])
        self.gradebook.db.commit()
        return recorded


def failed_checks(submission: Any) -> list[str]:
    """'notebook:cell (score/max)' for every automatically scored cell below full marks."""
    return [
        f"{nb.name}:{grade.name} ({grade.auto_score:g}/{grade.max_score:g})"
        for nb in submission.notebooks
        for grade in nb.grades
        if grade.auto_score is not None and grade.auto_score < grade.max_score
    ]


def kept_manual_note(key: str, manual: float, auto: float | None) -> str:
    """What the TA reads when a regrade disagrees with the manual score it kept."""
    shown = "None" if auto is None else f"{auto:g}"
    return (
        f"kept the TA's manual score {manual:g} for {key}; autograder now says {shown} (flagged for review)"
    )
