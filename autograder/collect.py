"""`rlgrade collect`: bring submissions into submitted/<student>/<assignment>/.

Two sources: nbgrader's exchange (JupyterHub), and the zip file an LMS gives
for download. Zip entries are matched with `ZIP_PATTERNS` (first match wins):

* ``<student>/<notebook>.ipynb`` (one folder per student, also Moodle's
  ``<name>_<id>_assignsubmission_file_/``: the student id is the folder's first part);
* Canvas' flat ``<student>_[late_]<numbers>_<notebook>[-N].ipynb``.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from autograder.course import Course, CourseError

ZIP_PATTERNS = (
    re.compile(r"^(?P<student>[A-Za-z0-9.@-]+)[^/]*/(?:[^/]+/)*(?P<file>[^/]+\.ipynb)$"),
    re.compile(r"^(?P<student>[A-Za-z0-9.@-]+)_(?:late_)?(?:\d+_)*(?P<file>[^/]+\.ipynb)$"),
)
RESUBMISSION_SUFFIX = re.compile(r"-\d+$")


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def collect_exchange(course: Course, assignment: str) -> str:
    course.check_assignment(assignment)
    outcome = course.api().collect(assignment, update=True)
    if outcome is None or not outcome["success"]:
        detail = "" if outcome is None else (outcome.get("error") or outcome.get("log") or "")
        raise CourseError(f"nbgrader collect failed for {assignment!r}: {detail.strip()[-500:]}")
    return outcome.get("log", "")


def notebook_name(filename: str, expected: list[str]) -> str:
    stem = PurePosixPath(filename).stem
    if stem not in expected and RESUBMISSION_SUFFIX.sub("", stem) in expected:
        stem = RESUBMISSION_SUFFIX.sub("", stem)
    return stem + ".ipynb"


def collect_zip(course: Course, assignment: str, archive: Path) -> Collected:
    """Unpack an LMS download into submitted/, never replacing a newer submission."""
    course.check_assignment(assignment)
    if not archive.is_file():
        raise CourseError(f"no such file: {archive}")
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise CourseError(
            f"{archive} is not a valid zip file ({exc}); download it again from the LMS"
        ) from None
    expected = course.notebooks(assignment)
    per_student: dict[str, list[tuple[zipfile.ZipInfo, str]]] = {}
    result = Collected()
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or "__MACOSX" in name or PurePosixPath(name).name.startswith("."):
                continue
            if ".." in PurePosixPath(name).parts or name.startswith("/"):
                result.skipped.append(f"{name}: unsafe path")
                continue
            match = next((m for p in ZIP_PATTERNS if (m := p.match(name))), None)
            if match is None:
                result.skipped.append(f"{name}: no student id in the name")
                continue
            target = notebook_name(match["file"], expected)
            per_student.setdefault(match["student"], []).append((info, target))
        if not per_student:
            raise CourseError(
                f"{archive} holds no notebooks named like <student>/<notebook>.ipynb or "
                "<student>_<...>_<notebook>.ipynb; check the download or rename the entries"
            )
        for student, entries in sorted(per_student.items()):
            stamp = max(datetime(*info.date_time, tzinfo=UTC) for info, _ in entries)
            folder = course.submitted / student / assignment
            old = folder / "timestamp.txt"
            if old.exists() and old.read_text().strip() >= format_stamp(stamp):
                result.skipped.append(f"{student}: the collected submission is as new or newer")
                continue
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            for info, target in entries:
                (folder / target).write_bytes(zf.read(info))
            old.write_text(format_stamp(stamp) + "\n")
            result.students.append(student)
    return result


def format_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f %Z")
