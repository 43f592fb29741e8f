"""nbgrader's autograde bookkeeping for a submission whose notebooks already ran.

Once `autograder.parallel` has run a submission's notebooks, together with every
autograde step that needs no gradebook (stderr relabelling, judging, ignored patterns,
output limits, metadata checks), what is left of nbgrader's `autograde` is bookkeeping:
lay out autograded/<student>/<assignment>/ and write the grades, comments and late
penalties. nbgrader does that with a fresh database engine for each step, a dozen per
submission, and it was most of the grading process's time. `Bookkeeper` does the same
writes through one gradebook session that stays open for the whole run, one transaction
(one commit) per submission, applying nbgrader's own rules
(`nbgrader.utils.determine_grade`, its checksums, the configured late-submission
plugin). The rows of a new submission and its automatic grades and comments are written
as bulk statements on nbgrader's own tables rather than one ORM object per row; the
scores are read back as nbgrader's SQL computes them.

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
        # what a new submission mirrors (see `_add_submission`), read once for the whole run
        self._mirror = {
            nb.name: (
                nb.id,
                [cell.id for cell in (*nb.grade_cells, *nb.task_cells)],
                [cell.id for cell in (*nb.solution_cells, *nb.task_cells)],
            )
            for nb in self._assignment.notebooks
        }
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

        self._add_student(student)
        self._add_submission(student)
        submission = self._submission(student, self.coursedir.get_existing_timestamp(str(submitted)))

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
            submitted_id = self._submitted_notebook(submission.id, name)
            kept += self._save_grades(submitted_id, name, written[f"{name}.ipynb"])
            self._late_penalty(student, name, submitted_id, submission)
        for folder, _, files in os.walk(dest):
            for filename in files:
                os.chmod(os.path.join(folder, filename), self.permissions)
        recorded = self.scores(submission, kept)
        recorded.notebooks = written
        gb.db.commit()  # the submission's only commit: its rows are saved all together or not at all
        return recorded

    def _add_student(self, student: str) -> None:
        """nbgrader's `update_or_create_student` for a student id alone (this gradebook has no
        authenticator to tell), without its commit."""
        from nbgrader.api import Student
        from sqlalchemy import insert, select

        db = self.gradebook.db
        if db.execute(select(Student.id).where(Student.id == student)).first() is None:
            db.execute(insert(Student.__table__), [{"id": student}])

    def _submission(self, student: str, timestamp: str | None) -> Any:
        """nbgrader's `update_or_create_submission` for the submission `_add_submission` made
        sure of: the gradebook's SubmittedAssignment, its timestamp set when there is one,
        without its commit."""
        from nbgrader.api import SubmittedAssignment
        from nbgrader.utils import parse_utc

        submission = (
            self.gradebook.db.query(SubmittedAssignment)
            .filter_by(assignment_id=self._assignment.id, student_id=student)
            .one()
        )
        if timestamp:
            submission.timestamp = parse_utc(timestamp)
        return submission

    def _add_submission(self, student: str) -> None:
        """nbgrader's `add_submission`, unless the student has a submission already: the
        submission, and for each of its notebooks an empty grade for every graded and task cell
        and an empty comment for every solution and task cell. One insert for the submission and
        one bulk insert each for its notebooks, grades and comments, instead of one ORM object
        per row (that took 40 % of this class's time); nbgrader's
        `update_or_create_submission` then finds it and sets its timestamp, as for a resubmission."""
        from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook, new_uuid
        from sqlalchemy import insert, select

        db, assignment_id = self.gradebook.db, self._assignment.id
        existing = select(SubmittedAssignment.id).where(
            SubmittedAssignment.assignment_id == assignment_id, SubmittedAssignment.student_id == student
        )
        if db.execute(existing).first() is not None:
            return
        submission_id = new_uuid()
        notebooks, grades, comments = [], [], []
        for notebook_id, graded, commented in self._mirror.values():
            submitted_id = new_uuid()
            notebooks.append({"id": submitted_id, "assignment_id": submission_id, "notebook_id": notebook_id})
            grades += [{"id": new_uuid(), "cell_id": c, "notebook_id": submitted_id} for c in graded]
            comments += [{"id": new_uuid(), "cell_id": c, "notebook_id": submitted_id} for c in commented]
        rows = {"id": submission_id, "assignment_id": assignment_id, "student_id": student}
        db.execute(insert(SubmittedAssignment.__table__), [rows])
        db.execute(insert(SubmittedNotebook.__table__), notebooks)
        for table, values in ((Grade.__table__, grades), (Comment.__table__, comments)):
            if values:
                db.execute(insert(table), values)

    @staticmethod
    def _copy(files: list[str], root: Path, dest: Path) -> None:
        for path in files:
            target = dest / os.path.relpath(path, root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(path, target)

    def _submitted_notebook(self, submission_id: str, notebook: str) -> str:
        """The gradebook id of `notebook` in the submission `submission_id`."""
        from nbgrader.api import SubmittedNotebook
        from sqlalchemy import select

        query = select(SubmittedNotebook.id).where(
            SubmittedNotebook.assignment_id == submission_id,
            SubmittedNotebook.notebook_id == self._mirror[notebook][0],
        )
        return self.gradebook.db.execute(query).scalar_one()

    def _save_grades(self, submitted_id: str, notebook: str, nb: nbformat.NotebookNode) -> list[str]:
        """nbgrader's SaveAutoGrades: the automatic score of each graded cell (a TA's manual
        score stays and the cell is marked for review), and "No response." for untouched
        answers. Returns notes on manual scores the new automatic score disagrees with.
        Reads and writes the rows in bulk, not as ORM objects (loading those was most of its time)."""
        from nbgrader.api import BaseCell, Comment, Grade
        from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_solution, is_task
        from sqlalchemy import bindparam, select, update

        db = self.gradebook.db
        grades = {
            name: (grade_id, manual, auto)
            for grade_id, name, manual, auto in db.execute(
                select(Grade.id, BaseCell.name, Grade.manual_score, Grade.auto_score)
                .join(BaseCell, Grade.cell_id == BaseCell.id)
                .where(Grade.notebook_id == submitted_id)
            )
        }
        comments = dict(
            db.execute(
                select(BaseCell.name, Comment.id)
                .join(BaseCell, Comment.cell_id == BaseCell.id)
                .where(Comment.notebook_id == submitted_id)
            ).all()
        )
        kept: list[str] = []
        new_grades: list[dict[str, Any]] = []
        new_comments: list[dict[str, Any]] = []
        for cell in nb.cells:
            cell_name = cell.metadata.get("nbgrader", {}).get("grade_id")
            if is_grade(cell):
                grade_id, manual, previous = grades[cell_name]
                auto_score = determine_grade(cell)[0]
                if manual is not None and auto_score != previous:
                    kept.append(kept_manual_note(f"{notebook}:{cell_name}", manual, auto_score))
                needs = manual is not None or auto_score is None
                new_grades.append({"row": grade_id, "auto": auto_score, "needs": needs})
            if is_solution(cell) or is_task(cell):
                untouched = cell.metadata.nbgrader.get("checksum") == compute_checksum(cell)
                text = "No response." if untouched and not is_task(cell) else None
                new_comments.append({"row": comments[cell_name], "text": text})
        grade, comment = Grade.__table__, Comment.__table__
        if new_grades:
            set_grade = update(grade).where(grade.c.id == bindparam("row"))
            db.execute(
                set_grade.values(auto_score=bindparam("auto"), needs_manual_grade=bindparam("needs")),
                new_grades,
            )
        if new_comments:
            set_comment = update(comment).where(comment.c.id == bindparam("row"))
            db.execute(set_comment.values(auto_comment=bindparam("text")), new_comments)
        return kept

    def _late_penalty(self, student: str, notebook: str, submitted_id: str, submission: Any) -> None:
        """nbgrader's AssignLatePenalties, with the configured late-submission plugin."""
        from nbgrader.api import SubmittedNotebook
        from nbgrader.preprocessors import AssignLatePenalties
        from sqlalchemy import update

        late = submission.total_seconds_late
        if late <= 0:
            table = SubmittedNotebook.__table__
            db = self.gradebook.db
            db.execute(update(table).where(table.c.id == submitted_id).values(late_submission_penalty=None))
            return
        saved = self.gradebook.find_submission_notebook(notebook, self.assignment, student)
        saved.late_submission_penalty = None
        step = AssignLatePenalties(config=self.course.config)
        step.init_plugin()
        penalty = step.plugin_inst.late_submission_penalty(student, saved.score, late)
        if penalty is not None:
            saved.late_submission_penalty = min(max(penalty, 0), saved.score)

    def scores(self, submission: Any, kept: list[str] | None = None) -> Recorded:
        """The score of `submission` (its gradebook SubmittedAssignment) as the gradebook now
        sums it, and its cells below full marks."""
        from nbgrader.api import SubmittedAssignment
        from sqlalchemy import select

        both = select(SubmittedAssignment.score, SubmittedAssignment.max_score)  # one query, not two
        score, max_score = self.gradebook.db.execute(
            both.where(SubmittedAssignment.id == submission.id)
        ).one()
        return Recorded(score, max_score, failed_checks(submission), kept or [])


def failed_checks(submission: Any) -> list[str]:
    """'notebook:cell (score/max)' for every automatically scored cell of `submission` (a
    gradebook SubmittedAssignment) below full marks, by notebook and cell name. One query:
    through the ORM, each cell's maximum is a query of its own."""
    from nbgrader.api import BaseCell, Grade, Notebook, SubmittedNotebook
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    query = (
        select(Notebook.name, BaseCell.name, Grade.auto_score, Grade.max_score)
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Grade.cell_id == BaseCell.id)
        .where(SubmittedNotebook.assignment_id == submission.id, Grade.auto_score.is_not(None))
        .order_by(Notebook.name, BaseCell.name)
    )
    return [
        f"{notebook}:{cell} ({score:g}/{maximum:g})"
        for notebook, cell, score, maximum in object_session(submission).execute(query)
        if score < maximum
    ]


def kept_manual_note(key: str, manual: float, auto: float | None) -> str:
    """What the TA reads when a regrade disagrees with the manual score it kept."""
    shown = "None" if auto is None else f"{auto:g}"
    return (
        f"kept the TA's manual score {manual:g} for {key}; autograder now says {shown} (flagged for review)"
    )
