"""The course directory: where things live and how nbgrader is configured.

All pipeline steps take a `Course`; it is the single place that knows the
layout and builds nbgrader's configuration, so that the command line tool, the
tests and the benchmarks agree on it.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
ASSIGNMENT_ID = re.compile(r"^[A-Za-z0-9_]+$")


class CourseError(Exception):
    """Bad input from a TA or instructor; the message says what to do."""


@dataclass(frozen=True)
class Course:
    """root: the course folder. sandbox: grade every kernel in a bubblewrap sandbox
    (autograder.sandbox); off only when the TA opts out (`rlgrade --no-sandbox`)."""

    root: Path
    sandbox: bool = True

    @classmethod
    def find(cls, start: Path | None = None, sandbox: bool = True) -> Course:
        """The course whose root holds `nbgrader_config.py`, at or above `start`."""
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / CONFIG_FILE).is_file() and (candidate / "source").is_dir():
                return cls(candidate, sandbox)
        raise CourseError(
            f"no course found at or above {here}: expected a folder with {CONFIG_FILE} "
            "and source/. Run the command inside the course repository or pass --course PATH."
        )

    # -- layout ---------------------------------------------------------------
    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def prepared(self) -> Path:
        """Repaired copies of submissions that autograde reads (submitted/ is never modified)."""
        return self.root / "prepared"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def gradebook_path(self) -> Path:
        return self.root / "gradebook.db"

    def assignments(self) -> list[str]:
        """Assignment ids: the folders of source/ that hold notebooks."""
        if not self.source.is_dir():
            raise CourseError(f"missing {self.source}: the course has no source/ folder")
        return sorted(d.name for d in self.source.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))

    def check_assignment(self, assignment: str) -> str:
        if not ASSIGNMENT_ID.match(assignment):
            raise CourseError(f"invalid assignment id {assignment!r}: use letters, digits and underscores")
        known = self.assignments()
        if assignment not in known:
            raise CourseError(
                f"unknown assignment {assignment!r}; the course has: {', '.join(known) or 'none'}"
            )
        return assignment

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without .ipynb) of an assignment, in file order."""
        return sorted(p.stem for p in (self.source / assignment).glob("*.ipynb"))

    # -- nbgrader configuration ---------------------------------------------------
    @cached_property
    def config(self) -> Config:
        """The course's nbgrader_config.py plus the settings our grading relies on."""
        path = self.root / CONFIG_FILE
        if not path.is_file():
            raise CourseError(f"missing {path}: every course needs an nbgrader_config.py")
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if "db_url" not in config.CourseDirectory:
            config.CourseDirectory.db_url = f"sqlite:///{self.gradebook_path}"
        apply_grading_policy(config, self.sandbox)
        return config

    def api(self, **overrides: object):  # -> nbgrader.apps.NbGraderAPI
        """An NbGraderAPI bound to this course (imported lazily: nbgrader is slow to import)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        # nbgrader runs the `alembic` executable of its environment to migrate the gradebook.
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")

        config = copy.deepcopy(self.config)  # overrides must not leak into the shared config
        for key, value in overrides.items():
            setattr(config.CourseDirectory, key, value)
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)


def nbgrader_errors(result: dict) -> str:
    """The error lines of an nbgrader API result's log (its traceback says little)."""
    log = result.get("log") or ""
    errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    return "\n".join(errors[-15:]) or (result.get("error") or log)[-2000:]


def apply_grading_policy(config: Config, sandbox: bool = True) -> None:
    """Settings that are not the TA's to change: they protect the grades."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearHiddenTests,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from autograder.parallel import ReplayExecute
    from autograder.preprocessors import HideHiddenTestTracebacks, JudgeOutsideKernel, StderrIsNotFailure

    config.ResilientExecute.sandbox = sandbox
    config.Autograde.autograde_preprocessors = [
        ReplayExecute,
        StderrIsNotFailure,
        *([JudgeOutsideKernel] if sandbox else []),
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # nbgrader's default feedback keeps the hidden test source, and a failing
    # hidden test's traceback quotes it: clear both.
    config.GenerateFeedback.preprocessors = [
        GetGrades,
        HideHiddenTestTracebacks,
        ClearHiddenTests,
        CSSHTMLHeaderPreprocessor,
    ]
    # Solutions never leak into feedback either: feedback is built from the
    # student's own notebook, and the rubric lives in solution regions of the
    # source notebook only.
