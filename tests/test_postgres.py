"""The gradebook on PostgreSQL (nbgrader's db_url), for grading from several machines:
a real server from the Debian packages, started for this module on a Unix socket."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.build import build
from autograder.course import Course
from autograder.grading import autograde
from tests.course_factory import make_engine_course, submit_engine

RIGHT = "    return torch.relu(z), (z > 0).to(z.dtype)\n"
WRONG = "    return torch.relu(z), torch.ones_like(z)\n"


def server_binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = server_binary("initdb"), server_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip(
            "no PostgreSQL server here: `apt-get install postgresql` (./course setup does it as root)"
        )
    base = Path(tempfile.mkdtemp(prefix="rlgrade-pg-"))
    os.chmod(base, 0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = "postgres" if shutil.which("runuser") and _user_exists("postgres") else "nobody"
        shutil.chown(base, user)
        as_user = ["runuser", "-u", user, "--"]
    data, port = base / "data", free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-U", "rlgrade", "--auth=trust"], check=True, capture_output=True
    )
    options = f"-k {base} -p {port} -c listen_addresses=''"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        createdb = server_binary("createdb") or "createdb"
        subprocess.run(
            [createdb, "-h", str(base), "-p", str(port), "-U", "rlgrade", "gradebook"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://rlgrade@/gradebook?host={base}&port={port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_grades_go_to_a_postgresql_gradebook(postgres_url: str, tmp_path: Path) -> None:
    root = make_engine_course(tmp_path / "course")
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    course = Course(root)
    assert course.config.CourseDirectory.db_url == postgres_url
    build(course)
    for student, body in (("right", RIGHT), ("wrong", WRONG), ("crash", "    import os; os._exit(1)\n")):
        submit_engine(root, student, body)
    results = {r.student: r for r in autograde(course, "gate", workers=2, progress=False)}
    assert not course.gradebook_path.exists(), "nothing may be written to the SQLite default"
    assert results["right"].score == 1.0 and results["crash"].score == 0.0
    assert 0 <= results["wrong"].score < 0.5
    with Gradebook(postgres_url, course.config.CourseDirectory.course_id) as gb:
        stored = {s.student.id: s.score for s in gb.assignment_submissions("gate")}
    assert stored == {s: r.score for s, r in results.items()}
    again = autograde(course, "gate", workers=2, progress=False)
    assert {r.status for r in again} == {"skipped"}
