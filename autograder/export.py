"""`rlgrade export`: the gradebook as CSV (nbgrader's own CSV exporter)."""

from __future__ import annotations

from pathlib import Path

from autograder.course import Course


def export_csv(course: Course, destination: Path) -> Path:
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    destination.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(destination))
    directory = course.config.CourseDirectory
    with Gradebook(directory.db_url, directory.course_id) as gb:
        plugin.export(gb)
    return destination
