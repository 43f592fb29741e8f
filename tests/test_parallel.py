"""Parallel grading (autograder.parallel, autograder.pool): the same grades as one at a
time, bit for bit; concurrent kernels cannot see or touch each other; a real local Dask
cluster grades the same; the gradebook gets each grade exactly once."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from sqlalchemy import text
from traitlets.config import Config

from autograder.build import build
from autograder.course import Course
from autograder.grading import autograde, warm_kernel_config
from autograder.notebooks import imported_modules
from tests.course_factory import make_engine_course, submit_engine

RIGHT = "    return torch.relu(z), (z > 0).to(z.dtype)\n"
WRONG = "    return torch.relu(z), torch.ones_like(z)\n"
PATCH = "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
# Two students graded at the same time: `hider` leaves traces and waits, `seeker` looks for
# them, for the other kernel's process and for the folder of all jobs, and tries to kill.
HIDER = (
    "import os, time\n"
    "open('/tmp/trace-of-hider', 'w').write('x')\n"
    "open('trace-of-hider', 'w').write('x')\n"
    "time.sleep(6)\n"
)
SEEKER = (
    "import glob, os, signal, time\n"
    "time.sleep(2)\n"
    "found = glob.glob('/tmp/*hider*') + glob.glob('*hider*')\n"
    "jobs = glob.glob('/var/tmp/rlgrade-pool-*/*')\n"
    "found += [d for d in jobs if not os.path.exists(d + '/conn/kernel.json')]  # not its own\n"
    "found += [p for p in os.listdir('/proc') if p.isdigit() and int(p) > 1 and int(p) != os.getpid()]\n"
    "print('FOUND', found)\n"
    "mine = {int(t) for t in os.listdir('/proc/self/task')}\n"
    "for pid in set(range(2, 400)) - mine:\n"
    "    try:\n"
    "        os.kill(pid, signal.SIGKILL)\n"
    "        print('KILLED', pid)\n"
    "    except (ProcessLookupError, PermissionError):\n"
    "        pass\n"
)
STUDENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "right": (RIGHT, ()),
    "wrong": (WRONG, ()),
    "patch": (WRONG, (PATCH,)),
    "exits": (RIGHT, ("import os\nos._exit(3)\n",)),
    "hider": (RIGHT, (HIDER,)),
    "seeker": (RIGHT, (SEEKER,)),
}


def grades(course: Course) -> dict[tuple[str, str], tuple[float | None, str | None]]:
    """(student, cell) -> (auto score, auto comment) for every grade in the gradebook."""
    found = {}
    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        for submission in gb.assignment_submissions("gate"):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    found[(submission.student.id, grade.name)] = (grade.auto_score, None)
                for comment in nb.comments:
                    found[(submission.student.id, f"comment:{comment.name}")] = (None, comment.auto_comment)
    return found


def make_batch(root: Path) -> Course:
    make_engine_course(root, cell_timeout=20)
    course = Course(root)
    build(course)
    for student, (body, cells) in STUDENTS.items():
        submit_engine(root, student, body, cells)
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Course]:
    base = tmp_path_factory.mktemp("parallel")
    serial = make_batch(base / "serial" / "course")
    parallel = Course(base / "parallel" / "course")
    shutil.copytree(serial.root, parallel.root)
    autograde(serial, "gate", workers=1, progress=False)
    autograde(parallel, "gate", workers=3, progress=False)
    return {"serial": serial, "parallel": parallel}


def test_parallel_grades_equal_serial_grades_bit_for_bit(graded: dict[str, Course]) -> None:
    serial, parallel = grades(graded["serial"]), grades(graded["parallel"])
    assert serial == parallel
    scores = {
        student: score for (student, cell), (score, _) in serial.items() if cell == "grade_relu_and_grad"
    }
    assert scores == {
        "right": 1.0,
        "wrong": scores["wrong"],
        "patch": scores["wrong"],
        "exits": 0.0,
        "hider": 1.0,
        "seeker": 1.0,
    }
    assert 0 <= scores["wrong"] < 0.5


def printed(course: Course, student: str) -> str:
    """Everything the student's graded notebook printed."""
    nb = nbformat.read(str(course.autograded / student / "gate" / "relu.ipynb"), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_concurrent_kernels_cannot_see_or_signal_each_other(graded: dict[str, Course]) -> None:
    text = printed(graded["parallel"], "seeker")
    assert "FOUND []" in text, "the seeker saw another kernel's files or processes"
    assert "KILLED" not in text
    assert "relu_and_grad: 1 / 1 points" in printed(graded["parallel"], "hider")


def test_each_grade_is_written_once_and_a_rerun_changes_nothing(graded: dict[str, Course]) -> None:
    course = graded["parallel"]
    before = grades(course)
    results = autograde(course, "gate", workers=3, progress=False)
    assert {r.status for r in results} == {"skipped"}
    assert grades(course) == before
    with Gradebook(course.config.CourseDirectory.db_url, course.config.CourseDirectory.course_id) as gb:
        rows = gb.db.execute(text("SELECT COUNT(*) FROM grade")).scalar()
    per_student = [cell for student, cell in before if student == "right" and not cell.startswith("comment")]
    assert rows == len(STUDENTS) * len(per_student)


def test_a_local_dask_cluster_grades_the_same(graded: dict[str, Course], tmp_path: Path) -> None:
    from distributed import LocalCluster

    course = Course(tmp_path / "course")
    shutil.copytree(graded["serial"].root, course.root)
    shutil.rmtree(course.autograded)
    course.gradebook_path.unlink()
    build(course)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True, dashboard_address=None
    ) as cluster:
        results = autograde(course, "gate", dask=cluster.scheduler_address, progress=False)
    assert {r.status for r in results} == {"graded"}
    assert grades(course) == grades(graded["serial"])


def test_one_zygote_serves_many_kernels_even_when_they_are_killed(graded: dict[str, Course]) -> None:
    """Each notebook's kernel is killed at its end; the zygote must survive that (were it
    restarted every time, grading would stay right but pay seconds per notebook)."""
    from autograder import pool
    from autograder.parallel import run_notebook, sanitized

    course = graded["serial"]
    path = course.prepared / "right" / "gate" / "relu.ipynb"
    nb_json = nbformat.writes(sanitized(course, "gate", "right", path))
    try:
        runs = [run_notebook(nb_json, {}, course.config) for _ in range(3)]
        assert pool._POOL is not None and pool._POOL.starts == 1
    finally:
        pool.close_shared_pool()
    assert all("1 / 1 points" in run["notebook"] for run in runs)


def test_the_text_a_worker_is_sent_reads_back_as_the_sanitized_notebook(graded: dict[str, Course]) -> None:
    from autograder.parallel import notebook_text, sanitized

    course = graded["serial"]
    nb = sanitized(course, "gate", "right", course.prepared / "right" / "gate" / "relu.ipynb")
    nb.cells.append(nbformat.v4.new_markdown_cell("$\\nabla_\\theta$ é ∇ 😀"))
    nb.cells[-1].metadata["odd"] = [float("nan"), "line one\nline two", {"nested": None}]
    text = notebook_text(nb)
    assert nbformat.v4.reads(text) == nbformat.v4.reads(nbformat.v4.writes(nb))
    assert "é ∇ 😀" in text  # as it is, not escaped


def run_in_pooled_kernel(
    cells: list[str], course: Course, config: Config | None = None
) -> list[nbformat.NotebookNode]:
    """The code cells, as `run_notebook` returns them after one warm pooled kernel ran them
    (with the course's configuration, or `config`)."""
    from autograder import pool
    from autograder.parallel import run_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    try:
        text = run_notebook(nbformat.writes(nb), {}, config or course.config, [])["notebook"]
    finally:
        pool.close_shared_pool()
    return nbformat.reads(text, 4).cells


def real_kernel_config(course: Course) -> Config:
    """The course's configuration, with graded notebooks run by real ipykernel kernels
    rather than cell hosts (autograder.cellhost)."""
    config = copy.deepcopy(course.config)
    config.ResilientExecute.cell_host = False
    return config


def test_a_graded_kernel_has_no_debugger_yet_shows_every_kind_of_output(graded: dict[str, Course]) -> None:
    """Graded kernels skip ipykernel's debugger and its list of every loaded module (about
    17 ms of copy-on-write faults a kernel). What the constructor still wires up must work:
    results, displays, printing, errors, comms."""
    cells = [
        "k = get_ipython().kernel\n"
        "print(type(k).__mro__[1].__name__, hasattr(k, '_kernel_modules'), hasattr(k, 'debugger'),\n"
        "      'debugger' in k.kernel_info['supported_features'])",
        "6 * 7",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>shown</b>'))",
        "print(type(get_ipython().kernel.comm_manager).__name__)",
        "raise ValueError('on purpose')",
    ]
    kernel, result, shown, comms, error = (
        cell.outputs[0]
        for cell in run_in_pooled_kernel(cells, graded["serial"], real_kernel_config(graded["serial"]))
    )
    assert kernel["text"] == "IPythonKernel False False False\n"
    assert result["output_type"] == "execute_result" and result["data"]["text/plain"] == "42"
    assert shown["output_type"] == "display_data" and "<b>shown</b>" in shown["data"]["text/html"]
    assert comms["text"] == "CommManager\n"
    assert error["output_type"] == "error" and error["ename"] == "ValueError"


def test_kernels_come_with_what_the_assignment_imports_and_without_the_rest(
    graded: dict[str, Course], capsys: pytest.CaptureFixture[str]
) -> None:
    """autograde's zygote imports what the assignment's source notebooks import, not the
    whole course's usual set (torchvision and torch._dynamo alone take seconds to import).
    A preloaded module that prints (`this` prints a poem) must not garble the zygote's
    events, which travel on its stdout."""
    course = graded["serial"]
    assert warm_kernel_config(course, "gate").PooledKernelManager.preload == [
        "autograder",
        "autograder.check",
        "autograder.grade",
        "torch",
        "torch.Tensor",
    ]
    config = copy.deepcopy(course.config)
    config.PooledKernelManager.preload = ["torch", "this"]
    names = "('torch', 'this', 'torchvision', 'torch._dynamo')"
    probe = f"import sys\nprint([m for m in {names} if m in sys.modules])"
    loaded, zen = (cell.outputs for cell in run_in_pooled_kernel([probe, "import this"], course, config))
    assert [output.get("text") for output in loaded] == ["['torch', 'this']\n"]
    assert zen == [], "`this` was imported again in the kernel"
    assert "no event" not in capsys.readouterr().err, "the poem went out with the zygote's events"
    chosen = Course(course.root)
    chosen.config.PooledKernelManager.preload = ["colorsys"]  # the instructor's choice wins
    assert warm_kernel_config(chosen, "gate").PooledKernelManager.preload == ["colorsys"]


def test_a_source_notebook_that_cannot_be_read_leaves_the_zygote_its_usual_modules(tmp_path: Path) -> None:
    """The preload list is an optimisation: reading it must never stop a grading run."""
    make_engine_course(tmp_path / "course")
    course = Course(tmp_path / "course")
    (course.source / "gate" / "relu.ipynb").write_text("{ not a notebook")
    config = warm_kernel_config(course, "gate")
    assert "preload" not in config.PooledKernelManager
    assert "preload" not in course.config.PooledKernelManager  # the course's own config is untouched


def test_a_line_from_the_zygote_that_is_no_event_is_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    """The zygote's events share its stdout with whatever a library there prints. Such a
    line used to end the grader's event reader, which then waited out its 120 s start limit."""
    from autograder import pool

    kernel_pool = pool.KernelPool()
    try:
        lines = [b"The Zen of Python, by Tim Peters\n", b"[1, 2]\n", b'{"event": "ready", "pid": 1}\n']
        kernel_pool._read_events(iter(lines), None)
        assert kernel_pool._ready
    finally:
        kernel_pool.close()
    assert capsys.readouterr().err.count("no event") == 2


def test_the_modules_a_notebook_imports_are_read_as_ipython_reads_its_cells() -> None:
    cells = [
        "%matplotlib inline\nimport numpy as np, torch.nn.functional as F\n!echo hi",
        "from torch import optim\nfrom collections.abc import Callable\n",
        "from . import helpers\nfrom os import *",
        "model = torch.optim.Adam(params)  # an optimizer, imported by nothing",
        "this is not python (",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells.append(nbformat.v4.new_markdown_cell("import markdown_is_not_code"))
    assert imported_modules(nb) == [
        "collections.abc",
        "collections.abc.Callable",
        "numpy",
        "os",
        "torch",
        "torch.nn.functional",
        "torch.optim",
    ]
    nb.cells = nb.cells[:1]
    assert "torch.optim" not in imported_modules(nb)


@pytest.mark.parametrize("cell_host", [False, True], ids=["kernel", "cell host"])
def test_a_kernel_whose_shell_the_zygote_built_is_set_up_as_if_built_in_the_kernel(
    graded: dict[str, Course], cell_host: bool
) -> None:
    """The zygote builds IPython's shell once (`prepared_kernel_app`); each kernel then ties
    its copy to itself, to its own profile folder under its HOME and to its own environment.
    Without that, the shell would point at no kernel, at no profile, and miss TERM & co.
    (the kernel's environment is replaced before the shell is adopted). A cell host
    (autograder.cellhost) has no kernel, and ties the shell to the rest the same way."""
    cells = [
        "import os, sys\n"
        "ip = get_ipython()\n"
        f"print(type(ip.kernel).__name__ == 'NoKernel' if {cell_host} else\n"
        "      (ip.kernel.shell is ip and ip.parent is ip.kernel),\n"
        "      ip.starting_dir == os.getcwd())",
        "print(ip.profile_dir.location, ip.ipython_dir)",
        "print(os.environ.get('PAGER'), os.environ.get('TERM'), os.environ['HOME'])",
        "print(sys.modules['__main__'].__dict__ is globals(), __name__, 'torch' in ip._sys_modules_keys)",
        "print(sorted(set(sys.modules) - ip._sys_modules_keys))",
    ]
    config = copy.deepcopy(graded["serial"].config)
    config.ResilientExecute.cell_host = cell_host
    printed = [cell.outputs[0]["text"] for cell in run_in_pooled_kernel(cells, graded["serial"], config)]
    assert printed == [
        "True True\n",
        "/tmp/.ipython/profile_default /tmp/.ipython\n",
        "cat xterm-color /tmp\n",
        "True __main__ True\n",
        "[]\n",
    ]


def test_a_kernel_with_start_up_code_runs_it_through_ipythons_own_step(tmp_path: Path) -> None:
    """The kernel app's shortcut past IPython's `init_code` applies only when that step has
    nothing to run: a startup script in the profile, or configured lines, take IPython's way."""
    script = (
        "import sys\n"
        "from traitlets.config import Config\n"
        "from autograder.zygote import kernel_app\n"
        "lines = sys.argv[1:]\n"
        "app = kernel_app()(config=Config({'IPKernelApp': {'exec_lines': lines}}))\n"
        "app.init_profile_dir()\n"
        "print(app.has_start_code())\n"
    )
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    env.pop("PYTHONSTARTUP", None)

    def has_start_code(*lines: str) -> str:
        run = subprocess.run([sys.executable, "-c", script, *lines], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        return run.stdout.strip()

    assert has_start_code() == "False"
    assert has_start_code("x = 1") == "True"
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    (startup / "README").write_text("not a script\n")
    assert has_start_code() == "False"
    (startup / "00-setup.py").write_text("x = 1\n")
    assert has_start_code() == "True"


def test_the_zygote_moves_its_memory_onto_huge_pages() -> None:
    """A fork of a zygote on 2 MiB pages copies 512 times fewer page-table entries
    (benchmarks/kernel_overhead.py: about a fifth less CPU per kernel)."""
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.exists() or "[never]" in thp.read_text():
        pytest.skip("this Linux has transparent huge pages switched off")
    script = (
        "import torch\n"
        "from autograder.zygote import huge_pages\n"
        "moved = max(huge_pages(), default=0)\n"
        "rollup = open('/proc/self/smaps_rollup').read().split()\n"
        "print(moved, rollup[rollup.index('AnonHugePages:') + 1])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    moved_mb, huge_kb = map(int, out.stdout.split())
    assert moved_mb >= 64, f"only {moved_mb} MiB asked to move: {out.stderr[-500:]}"
    assert huge_kb >= 64 * 1024, f"only {huge_kb} KiB on huge pages after moving {moved_mb} MiB"


# What a graded kernel sees of itself: its pid, the processes it can see, its uids, whether it
# may write its files and /tmp, its capabilities. Sleeps so that the test can look at it from outside.
SELF_VIEW = (
    "import gc, json, os, time\n"
    "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
    "open('data/given.txt', 'a').write('more')\n"
    "open('new.txt', 'w').write('new')\n"
    "open('/tmp/scratch', 'w').write('scratch')\n"
    "view = {'pid': os.getpid(), 'seen': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),\n"
    "        'uid_map': open('/proc/self/uid_map').read().split(), 'uid': os.getuid(),\n"
    "        'given': open('data/given.txt').read(), 'caps': status['CapEff'].strip(),\n"
    "        'bounding': status['CapBnd'].strip(), 'no_new_privs': status['NoNewPrivs'].strip(),\n"
    "        'gc': gc.isenabled()}\n"
    "print('VIEW', json.dumps(view))\n"
    "time.sleep(4)\n"
)


def namespace_pid(pid: int) -> int:
    """A process's pid in the innermost PID namespace it belongs to (1: it is that one's init)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[-1])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, NotADirectoryError):
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def zygote_process(own: object) -> int | None:
    """The pid (here) of the Python that a pool started inside bwrap, once it runs."""
    process = getattr(own, "_process", None)
    pids = [process.pid] if process is not None else []
    while pids:
        pid = pids.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autograder.zygote" in command and not command[0].endswith(b"bwrap"):
            return pid
        pids += children_of(pid)
    return None


@pytest.mark.parametrize("direct", [True, False], ids=["forked-as-pid-1", "through-a-middle-process"])
def test_a_kernel_is_pid_one_of_its_own_namespace_owns_its_files_and_holds_no_capability(
    graded: dict[str, Course], direct: bool
) -> None:
    """As root the zygote forks each job straight into a new PID namespace (one fork per
    kernel); without root, or told not to, each job forks a middle process. Either way the
    kernel must be the init of a namespace of its own, see nothing else, run as the job's own
    uid without any capability, and be able to write its files and /tmp. Its garbage
    collector is on (the zygote imports with it off)."""
    import json
    import threading

    from autograder import pool
    from autograder.parallel import run_notebook

    config = graded["serial"].config
    own = pool.KernelPool(direct=direct, **pool.limits_of(pool.PooledKernelManager(config=config)))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SELF_VIEW)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved, pool._POOL = pool._POOL, own
    ran: dict[str, str] = {}
    runner = threading.Thread(
        target=lambda: ran.update(run_notebook(nbformat.writes(nb), {"data/given.txt": b"given"}, config, []))
    )
    try:
        runner.start()
        deadline = time.monotonic() + 60
        jobs: list[int] = []
        below: list[int] = []
        # once the kernel listens: while the zygote imports, a library may run a short-lived
        # child of its own (matplotlib's font cache runs fc-list)
        while not (own._started and (below or direct and jobs)) and time.monotonic() < deadline:
            time.sleep(0.1)
            zygote = zygote_process(own)
            jobs = children_of(zygote) if zygote else []
            below = children_of(jobs[0]) if jobs else []
        assert len(jobs) == 1, f"expected the zygote to have forked one job, found {jobs}"
        if direct and os.geteuid() == 0:
            assert namespace_pid(jobs[0]) == 1, "the zygote's child is not the init of a namespace of its own"
        else:
            assert namespace_pid(jobs[0]) != 1 and [namespace_pid(k) for k in below] == [1], (
                "the job's middle process should be outside the new namespace, its one child its init"
            )
    finally:
        runner.join(timeout=60)
        pool._POOL = saved
        own.close()
    printed = "".join(o.get("text", "") for o in nbformat.reads(ran["notebook"], 4).cells[0].outputs)
    assert "VIEW " in printed, f"the kernel failed to look at itself: {ran['notebook'][-1500:]}"
    view = json.loads(printed.split("VIEW ", 1)[1].splitlines()[0])
    assert view["pid"] == 1 and view["seen"] == [1], f"the kernel sees other processes: {view}"
    assert view["given"] == "givenmore", "the kernel could not write the files it was given"
    assert view["gc"] is True, "the kernel's garbage collector is off"
    assert view["caps"] == view["bounding"] == "0000000000000000" and view["no_new_privs"] == "1"
    assert view["uid"] == 0 and view["uid_map"][:1] == ["0"], "root inside is not mapped to the job's uid"
    if os.geteuid() == 0:
        assert int(view["uid_map"][1]) >= 61000, f"the kernel runs as {view['uid_map'][1]}, not a job uid"


def test_a_job_that_fails_before_it_listens_is_reported_ended_and_the_zygote_goes_on(
    graded: dict[str, Course],
) -> None:
    """A job whose folder is missing cannot isolate itself and ends before its kernel listens:
    the zygote must report it ended (never listening) and serve the next job itself."""
    from autograder import pool

    config = graded["serial"].config
    own = pool.KernelPool(**pool.limits_of(pool.PooledKernelManager(config=config)))
    saved, pool._POOL = pool._POOL, own
    try:
        job, folder, _ = own.new_job()
        assert not folder.exists()
        own.start(job, {})
        deadline = time.monotonic() + 30
        while own.exit_status(job) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert own.exit_status(job) == 70, f"the failed job ended with {own.exit_status(job)}"
        assert job not in own._started, "a job that never listened was reported listening"
        cells = run_in_pooled_kernel(["print(6 * 7)"], graded["serial"])
        assert cells[0].outputs[0]["text"] == "42\n"
        assert own.starts == 1, "the zygote died with the failed job and had to be started again"
    finally:
        pool._POOL = saved
        own.close()


def test_a_worker_judges_through_the_zygotes_judge_without_importing_torch(graded: dict[str, Course]) -> None:
    """Judging needs torch; a process that runs notebooks leaves it to its zygote's judge
    (autograder.judging), sparing itself the seconds of importing torch, and gets the
    points that judging in process gives."""
    course = graded["serial"]
    path = course.prepared / "right" / "gate" / "relu.ipynb"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import nbformat\n"
        "from autograder import pool\n"
        "from autograder.course import Course\n"
        "from autograder.parallel import run_notebook, sanitized\n"
        f"course = Course(Path({str(course.root)!r}))\n"
        f"nb = sanitized(course, 'gate', 'right', Path({str(path)!r}))\n"
        "out = run_notebook(nbformat.writes(nb), {}, course.config)\n"
        "pool.close_shared_pool()\n"
        "print('TORCH', 'torch' in sys.modules, out['judged'], '1 / 1 points' in out['notebook'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert "TORCH False True True" in done.stdout, done.stdout[-2000:] + done.stderr[-3000:]


def zygote_of_this_worker(nb_json: str, config: object) -> tuple[str, int, str]:
    """Run in a local worker: grade one notebook; the folder of the zygote that forked its
    kernel, how many zygotes this worker started itself, and the notebook."""
    from autograder import pool
    from autograder.parallel import run_notebook

    text = run_notebook(nb_json, {}, config)["notebook"]  # type: ignore[arg-type]
    assert pool._POOL is not None
    return str(pool._POOL.jobs_root), pool._POOL.starts, text


def test_local_workers_share_the_one_zygote_the_grader_started(graded: dict[str, Course]) -> None:
    """A zygote costs seconds of CPU to start (torch & co.): the grading process starts one
    at once, and every worker forks its kernels from it instead of starting its own."""
    from autograder import pool
    from autograder.parallel import LocalRunner, sanitized

    course = graded["serial"]
    path = course.prepared / "right" / "gate" / "relu.ipynb"
    nb_json = nbformat.writes(sanitized(course, "gate", "right", path))
    runner = LocalRunner(2, course.config)
    try:
        assert pool._POOL is not None and pool._POOL.shared
        futures = [runner.submit(zygote_of_this_worker, nb_json, course.config) for _ in range(4)]
        seen = [future.result(timeout=300) for future in futures]
        owner_root = str(pool._POOL.jobs_root)
    finally:
        runner.close()
    assert pool._POOL is None, "the grader's zygote outlived the run"
    assert {zygote for zygote, _, _ in seen} == {owner_root}
    assert [starts for _, starts, _ in seen] == [0, 0, 0, 0], "a worker started a zygote of its own"
    assert all("1 / 1 points" in text for _, _, text in seen)


def test_a_client_of_a_shared_zygote_can_end_only_its_own_kernels(graded: dict[str, Course]) -> None:
    """Workers share the zygote: one must never end (or get the uid of) another's kernel."""
    from jupyter_core.utils import run_sync

    from autograder import pool

    config = graded["serial"].config
    limits = pool.limits_of(pool.PooledKernelManager(config=config))
    owner = pool.KernelPool(shared=True, **limits)
    address = owner.launch()
    assert address is not None
    alice, mallory = (pool.KernelPool(address=address, **limits) for _ in range(2))
    saved = pool._POOL
    try:
        pool._POOL = alice
        manager = pool.PooledKernelManager(config=config)
        run_sync(manager.start_kernel)()
        job = manager._job
        pool._POOL = mallory
        mallory_job, _, mallory_uid = mallory.new_job()
        assert mallory_job != job
        if mallory_uid is not None:  # grading as root: every job has a uid of its own
            assert mallory_uid != (alice.jobs_root / job / "conn").stat().st_uid
        mallory._mine.add(job)  # pretend, then try to end alice's kernel
        mallory.kill(job)
        mallory._kill_hard(job)
        time.sleep(1.0)
        assert alice.exit_status(job) is None, "one client ended another client's kernel"
        alice.kill(job)
        deadline = time.monotonic() + 10
        while alice.exit_status(job) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alice.exit_status(job) is not None, "the owner of a kernel could not end it"
        assert owner.starts == 1 and alice.starts == 0 and mallory.starts == 0
    finally:
        pool._POOL = saved
        for each in (alice, mallory, owner):
            each.close()


def test_the_grading_side_imports_neither_torch_nor_the_iri_parser() -> None:
    """The grading process judges nothing itself, so it has no use for torch (3 s to import);
    nbformat's jsonschema would build rfc3987_syntax's parsers (2 s) for a format no
    notebook uses. Both would be paid once per grading run and per worker."""
    script = (
        "import sys\n"
        "import autograder.cli, autograder.grading, autograder.parallel, autograder.bookkeeping\n"
        "import nbformat, jsonschema\n"
        "print('torch' in sys.modules, sys.modules.get('rfc3987_syntax', 'absent'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"], out.stdout + out.stderr[-500:]


def test_folders_of_pools_whose_grader_died_are_removed(tmp_path: Path) -> None:
    from autograder import pool

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    folders = {name: tmp_path / f"{pool.POOL_PREFIX}{name}" for name in ("dead", "alive", "unknown")}
    for folder in folders.values():
        (folder / "job0" / "conn").mkdir(parents=True)
        folder.with_name(f"{folder.name}-empty").mkdir()
    (folders["dead"] / pool.OWNER_FILE).write_text(f"{ended.pid} 12345")
    (folders["alive"] / pool.OWNER_FILE).write_text(pool.process_identity(os.getpid()))
    pool.remove_abandoned_pools(tmp_path)
    assert not folders["dead"].exists() and not (tmp_path / f"{folders['dead'].name}-empty").exists()
    assert folders["alive"].is_dir() and folders["unknown"].is_dir()


# A notebook that reports when its kernel started and when its last cell ran, in seconds
# since boot (the kernel's /proc is its own, its clock is the machine's).
TIMED = [
    "import os\n"
    "tick = os.sysconf('SC_CLK_TCK')\n"
    "print('STARTED', int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]) / tick)",
    "import time\ntime.sleep(1.5)",
    "print('ENDED', float(open('/proc/uptime').read().split()[0]))",
]


def kernel_times(text: str) -> tuple[float, float]:
    outputs = "".join(o.get("text", "") for c in nbformat.reads(text, 4).cells for o in c.get("outputs", []))
    fields = dict(line.split() for line in outputs.splitlines() if line.startswith(("STARTED", "ENDED")))
    return float(fields["STARTED"]), float(fields["ENDED"])


def test_a_worker_asks_for_its_next_kernel_while_the_current_notebook_runs(graded: dict[str, Course]) -> None:
    """A kernel's start (fork, namespaces, IPython) should not keep a worker waiting: while
    one notebook runs, the kernel of the next one the worker holds is already starting. Each
    kernel still serves exactly one notebook, with its own files."""
    from autograder.parallel import LocalRunner, run_notebook

    course = graded["serial"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in TIMED])
    nb.cells.append(nbformat.v4.new_code_cell("print('FILE', open('mine.txt').read())"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    runner = LocalRunner(1, course.config)
    try:
        futures = [
            runner.submit(
                run_notebook, nbformat.writes(nb), {"mine.txt": f"notebook {n}".encode()}, course.config, []
            )
            for n in range(3)
        ]
        texts = [future.result(timeout=300)["notebook"] for future in futures]
    finally:
        runner.close()
    for n, notebook in enumerate(texts):
        assert f"FILE notebook {n}" in notebook, notebook[-2000:]
    times = [kernel_times(notebook) for notebook in texts]
    for (_, ended), (started_next, _) in zip(times, times[1:], strict=False):
        late = started_next - ended
        assert late < 0, f"the next kernel started {late:.2f} s after the notebook before it ended"
    assert len({started for started, _ in times}) == 3, "a kernel served two notebooks"


def answer_or_die(value: int) -> int:
    """Run in a local worker: answer `value`, or end the worker's process when it is negative."""
    if value < 0:
        os._exit(3)
    return value


def test_a_worker_that_dies_loses_only_the_task_it_ran() -> None:
    """A worker that dies (a crash, the kernel's OOM killer) fails the task it was running;
    the tasks it held behind it, and all later ones, go to a new worker."""
    from autograder.parallel import LocalRunner, WorkerEnded

    runner = LocalRunner(1)
    try:
        futures = [runner.submit(answer_or_die, value) for value in (1, 2, -1, 4, 5, 6)]
        with pytest.raises(WorkerEnded, match="exit status 3"):
            futures[2].result(timeout=120)
        answers = [future.result(timeout=120) for n, future in enumerate(futures) if n != 2]
    finally:
        runner.close()
    assert answers == [1, 2, 4, 5, 6]


def test_closing_the_runner_cancels_what_no_worker_holds() -> None:
    """An interrupted grading run stops soon: what no worker holds yet is cancelled, and a
    worker ends after its current task without running the ones it held."""
    from concurrent.futures import CancelledError

    from autograder.parallel import LocalRunner

    runner = LocalRunner(1)
    futures = [runner.submit(time.sleep, 0.5) for _ in range(8)]
    futures[0].result(timeout=120)
    runner.close()
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result(timeout=1))
        except CancelledError:
            outcomes.append("cancelled")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)
    assert outcomes[0] is None
    assert outcomes.count("cancelled") >= 8 - 1 - 3, outcomes  # at most HELD tasks were held
    assert set(outcomes[1:]) <= {None, "cancelled", "WorkerEnded"}, outcomes


def test_a_kernel_asked_for_ahead_and_never_used_is_ended(graded: dict[str, Course]) -> None:
    """A worker told to stop ends the kernels it asked for ahead, not only at its exit."""
    from autograder import pool
    from autograder.parallel import NotebookRun

    config = graded["serial"].config
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    run = NotebookRun(nbformat.writes(nb), {}, config)
    run.ask_for_kernel()
    assert run.km is not None, "no kernel was asked for"
    job = run.km._job
    assert pool._POOL is not None
    pool._POOL.started(job)  # it listens: a kernel, running
    run.abandon()
    deadline = time.monotonic() + 20
    while pool._POOL.exit_status(job) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._POOL.exit_status(job) is not None, "the kernel asked for ahead outlived its run"
