"""Shared fixtures: one real grading run of the demo submissions per test session."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course

REPO = Path(__file__).resolve().parents[1]


def copy_course(target: Path, with_release: bool = False) -> Course:
    """A copy of the course's hand-edited files (source/, demo recipes, config)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "source", target / "source")
    shutil.copy2(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    (target / "demo").mkdir()
    for recipe in (REPO / "demo").glob("*.py"):
        shutil.copy2(recipe, target / "demo" / recipe.name)
    if with_release:
        shutil.copytree(REPO / "release", target / "release")
    return Course(target)


@dataclass
class DemoRun:
    course: Course
    output: str


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`rlgrade demo` on a copy of the course: build, autograde, feedback, export."""
    course = copy_course(tmp_path_factory.mktemp("demo") / "course")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--course", str(course.root), "demo"]) == 0
    return DemoRun(course, out.getvalue())
