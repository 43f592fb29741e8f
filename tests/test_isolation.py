"""Red team: hostile submissions graded through the real pipeline (nbgrader autograde,
sandboxed kernels, the gradient engine judging outside the student's process).

One batch holds two honest students and one student per attack. Each attack must earn
nothing it did not earn honestly, leave the course and the gradebook intact, and not
stop the batch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.build import build
from autograder.course import Course
from autograder.grading import Result, autograde
from tests.course_factory import make_engine_course, submit_engine

RIGHT = "    return torch.relu(z), (z > 0).to(z.dtype)\n"
WRONG = "    return torch.relu(z), torch.ones_like(z)\n"  # the derivative ignores inactive units
BY_AUTOGRAD = (
    "    t = z.detach().clone().requires_grad_(True)\n"
    "    torch.relu(t).sum().backward()\n"
    "    return torch.relu(z), t.grad\n"
)
LEAK = "LEAKED"
# How long the fork bomb's children sleep: a number no other process on the machine sleeps
# (a plain "sleep 300" elsewhere, say in a shell, made the survivor check fail)
NAP = f"300.{os.getpid()}"


def leak_probe(paths: list[str]) -> str:
    """A cell that prints LEAKED:<path> for every path it can read or list."""
    return (
        "import os\n"
        f"for p in {paths!r}:\n"
        "    try:\n"
        "        if os.path.isdir(p):\n"
        "            print('LEAKED:' + p, os.listdir(p)[:3])\n"
        "        else:\n"
        "            print('LEAKED:' + p, len(open(p, 'rb').read()))\n"
        "    except OSError as e:\n"
        "        print('blocked', p, type(e).__name__)\n"
    )


def attacks(root: Path, port: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """student -> (stub body, extra cells)."""
    course = str(root)
    return {
        "allclose": (
            WRONG,
            (
                "import torch\n"
                "torch.allclose = lambda *a, **k: True\n"
                "torch.equal = lambda *a, **k: True\n"
                "torch.testing.assert_close = lambda *a, **k: None\n"
                "torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)",
            ),
        ),
        "fake_grade": (
            WRONG,
            (
                "import autograder, autograder.engine, autograder.engine.api as api\n"
                "def grade(*args, **kwargs):\n    return 1.0\n"
                "api.grade = autograder.engine.grade = grade\n"
                "os_environ_backup = dict(__import__('os').environ)\n"
                "__import__('os').environ.pop('RLGRADE_RECORD', None)",
            ),
        ),
        "forged_record": (
            WRONG,
            (
                "from IPython.display import display\n"
                "import autograder.engine.api as api\n"
                "def grade(*args, **kwargs):\n"
                "    forged = {'version': 1, 'stub': 'relu_and_grad', 'outcomes': [{'case_id': 'x'}]}\n"
                "    display({'application/vnd.rlgrade.outcomes+json': forged}, raw=True)\n"
                "    return 1.0",
            ),
        ),
        "hides_autograd": (
            BY_AUTOGRAD,
            (
                "import autograder.engine.runner as runner\n"
                "runner._AutogradSpy.__torch_function__ = "
                "lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))\n"
                "runner._AUTOGRAD_CALLS.clear()",
            ),
        ),
        "reads_course": (
            RIGHT,
            (
                leak_probe(
                    [
                        f"{course}/source/gate/relu.ipynb",
                        f"{course}/source",
                        f"{course}/gradebook.db",
                        f"{course}/submitted/honest/gate/relu.ipynb",
                        f"{course}/autograded",
                        f"{course}/nbgrader_config.py",
                        "relu.ipynb",
                        f"{course}/../secret.txt",
                        "/etc/shadow",
                        "/srv/nbgrader/exchange",
                    ]
                ),
            ),
        ),
        "writes_course": (
            RIGHT,
            (
                "import os\n"
                f"for p in ['{course}/gradebook.db', '{course}/release/gate/relu.ipynb', '{course}/pwned']:\n"
                "    try:\n"
                "        open(p, 'w').write('x')\n"
                "        print('WROTE', p)\n"
                "    except OSError as e:\n"
                "        print('blocked', p, type(e).__name__)\n",
            ),
        ),
        "network": (
            RIGHT,
            (
                "import socket\n"
                "for host in ['127.0.0.1', 'localhost', '10.0.2.2']:\n"
                "    try:\n"
                f"        s = socket.create_connection((host, {port}), timeout=2)\n"
                "        s.sendall(b'HELLO FROM THE SANDBOX')\n"
                "        print('CONNECTED', host)\n"
                "    except OSError as e:\n"
                "        print('blocked', host, type(e).__name__)\n",
            ),
        ),
        "exits": (RIGHT, ("import os\nos._exit(0)",)),
        "loops": ("    while True:\n        pass\n", ()),
        "ignores_interrupt": (
            RIGHT,
            ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",),
        ),
        "memory": ("    import numpy as np\n    hog = np.ones(2**31)\n" + RIGHT, ()),
        "flood": (RIGHT, ("import sys\nfor _ in range(200_000):\n    print('x' * 500)",)),
        "forks": (
            RIGHT,
            (
                "import subprocess\nchildren = []\n"
                "try:\n"
                "    for _ in range(3000):\n"
                f"        children.append(subprocess.Popen(['sleep', '{NAP}']))\n"
                "except OSError as e:\n"
                "    print('stopped after', len(children), type(e).__name__)\n",
            ),
        ),
    }


@dataclass
class Batch:
    course: Course
    results: dict[str, Result]
    received: list[bytes]
    seconds: float

    def autograded(self, student: str) -> str:
        return (self.course.autograded / student / "gate" / "relu.ipynb").read_text()

    def printed(self, student: str) -> str:
        """Everything the student's notebook printed or raised while graded."""
        nb = json.loads(self.autograded(student))
        outputs = [o for cell in nb["cells"] for o in cell.get("outputs", [])]
        return "".join("".join(o.get("text", "")) + o.get("evalue", "") for o in outputs)


def tamper(path: Path) -> None:
    """Raise the points, replace the hidden test, rename a cell, change the kernel."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "grade_relu_and_grad":
            meta["points"] = 100
            cell["source"] = "1.0"
        elif meta.get("grade_id") == "relu_and_grad":
            meta["grade_id"] = "renamed"
    nb["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    path.write_text(json.dumps(nb))


def start_listener() -> tuple[int, list[bytes], socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            received.append(conn.recv(100))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], received, server


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = make_engine_course(tmp_path_factory.mktemp("redteam") / "course", cell_timeout=10)
    (root.parent / "secret.txt").write_text("the TA's files next to the course")
    course = Course(root)
    build(course)
    port, received, server = start_listener()
    submit_engine(root, "honest", RIGHT)
    submit_engine(root, "honest_wrong", WRONG)
    for student, (body, cells) in attacks(root, port).items():
        submit_engine(root, student, body, cells)
    tamper(submit_engine(root, "tamper", WRONG))
    start = time.monotonic()
    results = {r.student: r for r in autograde(course, "gate", progress=False)}
    seconds = time.monotonic() - start
    server.close()
    return Batch(course, results, received, seconds)


def test_the_batch_finishes_and_honest_students_get_their_grades(batch: Batch) -> None:
    assert set(batch.results) == {"honest", "honest_wrong", "tamper", *attacks(Path("/x"), 1)}
    failed = {s: (r.status, r.problems) for s, r in batch.results.items() if r.status != "graded"}
    assert failed == {}
    assert batch.results["honest"].score == 1.0
    wrong = batch.results["honest_wrong"].score
    assert 0 <= wrong < 0.5


@pytest.mark.parametrize("student", ["allclose", "fake_grade", "forged_record"])
def test_cheating_the_comparison_earns_nothing(batch: Batch, student: str) -> None:
    assert batch.results[student].score <= batch.results["honest_wrong"].score


def test_a_forged_grade_function_is_reported(batch: Batch) -> None:
    assert "recorded no result" in batch.autograded("fake_grade")


def test_autograd_hidden_from_the_spy_is_still_caught(batch: Batch) -> None:
    assert batch.results["hides_autograd"].score == 0.0
    assert "uses_autograd" in batch.autograded("hides_autograd")


def test_course_files_are_out_of_reach(batch: Batch) -> None:
    text = batch.printed("reads_course")
    assert "blocked" in text
    assert LEAK not in text, [line for line in text.splitlines() if LEAK in line]
    assert batch.results["reads_course"].score == 1.0


def test_course_files_cannot_be_written(batch: Batch) -> None:
    root = batch.course.root
    assert "blocked" in batch.printed("writes_course")
    assert "WROTE" not in batch.printed("writes_course")
    assert not (root / "pwned").exists()
    assert "x" != (root / "release" / "gate" / "relu.ipynb").read_text()


def test_no_network(batch: Batch) -> None:
    assert batch.received == []
    assert "blocked" in batch.printed("network")
    assert "CONNECTED" not in batch.printed("network")


@pytest.mark.parametrize("student", ["exits", "loops", "ignores_interrupt"])
def test_a_dead_or_stuck_kernel_scores_zero_after_it_and_is_reported(batch: Batch, student: str) -> None:
    result = batch.results[student]
    assert result.score == 0.0
    assert result.problems, f"{student}: the TA must be told what happened"


def test_memory_exhaustion_is_a_memory_error_in_the_sandbox(batch: Batch) -> None:
    assert batch.results["memory"].score == 0.0
    assert batch.results["memory"].failed_checks == ["relu:grade_relu_and_grad (0/1)"]
    assert "MemoryError" in batch.printed("memory")


def test_output_flood_is_capped(batch: Batch) -> None:
    path = batch.course.autograded / "flood" / "gate" / "relu.ipynb"
    assert path.stat().st_size < 3 * 2**20
    assert "output truncated" in path.read_text()
    assert batch.results["flood"].score == 1.0


def test_process_limit_and_no_process_survives(batch: Batch) -> None:
    assert "stopped after" in batch.printed("forks")
    left = subprocess.run(["pgrep", "-f", f"sleep {NAP}"], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes left behind by the sandbox: {left}"


def test_tampered_cells_points_and_kernel_are_restored(batch: Batch) -> None:
    result = batch.results["tamper"]
    assert result.max_score == 1.0
    assert result.score <= batch.results["honest_wrong"].score
    assert "grade(" in batch.autograded("tamper")


def test_grading_refuses_without_a_sandbox_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autograder import sandbox
    from autograder.cli import main

    root = make_engine_course(tmp_path / "course")
    build(Course(root))
    submit_engine(root, "honest", RIGHT)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no bwrap on PATH
    sandbox.unavailable_reason.cache_clear()
    try:
        assert main(["--course", str(root), "autograde", "gate"]) == 2
        assert main(["--course", str(root), "--no-sandbox", "autograde", "gate"]) == 0
    finally:
        sandbox.unavailable_reason.cache_clear()


def test_a_killed_grader_resumes_with_nothing_lost_or_counted_twice(tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    root = make_engine_course(tmp_path / "course")
    course = Course(root)
    build(course)
    students = ["s1_right", "s2_wrong", "s3_right", "s4_wrong"]
    for student in students:
        # s3 and s4 take a few seconds, so that they are still running when s1 is graded
        slow = ("import time\ntime.sleep(6)\n",) if student[:2] in ("s3", "s4") else ()
        submit_engine(root, student, RIGHT if student.endswith("right") else WRONG, slow)
    command = [sys.executable, "-m", "autograder.cli", "--course", str(root), "autograde", "gate"]
    grader = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while (
        time.monotonic() < deadline and not (course.autograded / "s1_right" / "gate" / "relu.ipynb").exists()
    ):
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    directory = course.config.CourseDirectory
    with Gradebook(directory.db_url, directory.course_id) as gb:
        graded_before = {s.student_id for s in gb.assignment_submissions("gate")}
    assert graded_before and graded_before != set(students), "kill the grader mid-batch"

    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    with Gradebook(directory.db_url, directory.course_id) as gb:
        submissions = gb.assignment_submissions("gate")
        scores = {s.student_id: s.score for s in submissions}
    assert len(submissions) == len(students)
    assert scores["s1_right"] == scores["s3_right"] == 1.0
    assert scores["s2_wrong"] == scores["s4_wrong"] < 0.5
