"""Run many submissions' notebooks at once; keep the gradebook's writes in one process.

Grading a submission has two parts of very different cost:

1. running its notebooks (seconds: a kernel, the student's code, the hidden tests), and
2. bookkeeping (milliseconds: sanitize the cells, write the autograded copy, save the
   scores in the gradebook, late penalties).

Part 1 is a pure function of the sanitized notebook and the files beside it, so it can run
anywhere: in worker processes of this machine, each driving warm isolated kernels
(`autograder.pool`), or on the workers of a Dask cluster. With it go the autograde steps
that need no gradebook. Part 2 stays in the grading process, one submission after the
other, so the gradebook has a single writer (SQLite allows only one):
`autograder.bookkeeping` in the common case, else nbgrader's own autograde.

`ReplayExecute` joins the two in that second case: it is nbgrader's Execute step with the
outputs already computed. It replays them only when the notebook nbgrader is about to
execute has exactly the code cells that were run; otherwise it runs the notebook itself,
so a result is never attached to the wrong cells.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, as_completed
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import nbformat
from jupyter_core.utils import run_sync
from nbformat.notebooknode import NotebookNode
from traitlets.config import Config

from autograder.course import Course, CourseError
from autograder.pool import PooledKernelManager, close_shared_pool, share_zygote, use_zygote_at
from autograder.preprocessors import (
    JUDGED,
    RECORDED_SOURCE,
    JudgeOutsideKernel,
    RecordedSource,
    ResilientExecute,
    StderrIsNotFailure,
    faster_steps,
)
from autograder.sandbox import own_files


def code_sources(nb: NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


# -- what one notebook needs to run anywhere ----------------------------------------------
def sanitized(
    course: Course,
    assignment: str,
    student: str,
    path: Path,
    recorded: RecordedSource | None = None,
    prepared: NotebookNode | None = None,
) -> NotebookNode:
    """The notebook as nbgrader's autograde will execute it: its sanitize preprocessors
    (clear outputs, deduplicate ids, kernelspec, overwrite locked and test cells from the
    gradebook, check metadata) applied to the prepared submission at `path`. `recorded`:
    the gradebook's record of the assignment's source, read once for a whole run (else the
    steps query the gradebook themselves). `prepared`: that notebook as `prepare` just wrote
    it to `path` (else it is read from there); the steps change it in place."""
    from nbgrader.converters import Autograde

    config = course.config
    classes = config.Autograde.get("sanitize_preprocessors") or Autograde.sanitize_preprocessors.default()
    resources = {
        "unique_key": path.stem,
        "nbgrader": {
            "student": student,
            "assignment": assignment,
            "notebook": path.stem,
            "db_url": config.CourseDirectory.db_url,
        },
        "metadata": {"path": str(path.parent), "name": path.stem},
    }
    if recorded is not None:
        resources[RECORDED_SOURCE] = recorded
    nb = prepared if prepared is not None else nbformat.read(str(path), as_version=4)
    for cls in faster_steps(classes):
        nb, resources = cls(config=config)(nb, resources)
    return nb


def notebook_text(nb: NotebookNode) -> str:
    """A sanitized notebook as text for `run_notebook`. Not validated again: nbformat did when
    it read the submission (and only logs what it finds), and the worker parses it back
    without a second validation; the notebook it returns is validated once, when written.
    Compact JSON, not nbformat's file layout: nothing stores this text, and json's C encoder
    writes it in a seventh of the time (nbformat's indented layout takes its Python encoder,
    and a copy of the notebook to split its lines); `nbformat.v4.reads` gives back the same
    notebook from either."""
    return json.dumps(nb, ensure_ascii=False, separators=(",", ":"))


def kernel_files(course: Course, assignment: str, student: str, limit_mb: int = 200) -> dict[str, bytes]:
    """The files a graded kernel finds beside its notebook: the submission's own, then the
    assignment's source files over them (as nbgrader lays out autograded/), no notebooks."""
    ignore = tuple(course.config.CourseDirectory.get("ignore", [])) or (
        ".ipynb_checkpoints",
        "*.pyc",
        "__pycache__",
        "feedback",
    )
    files: dict[str, bytes] = {}
    budget = limit_mb * 2**20
    for folder in (course.prepared / student / assignment, course.source / assignment):
        paths, budget = own_files(folder, budget, ignore)
        files.update({path.relative_to(folder).as_posix(): path.read_bytes() for path in paths})
    return files


def run_notebook(
    nb_json: str, files: dict[str, bytes], config: Config, steps: list[type] | None = None
) -> dict[str, Any]:
    """Execute a sanitized notebook with the course's Execute settings, in a fresh warm
    kernel, with `files` beside it, then apply `steps` (autograde steps that need no
    gradebook; default: relabel stderr, and judge the records when sandboxed).

    Returns {"notebook": the notebook as nbgrader's autograde writes it, "cell_seconds": time
    in its code cells, "kernel_seconds": the rest of the run, "judged": whether its records
    were judged}. Runs in a worker process of the grading machine or on a Dask worker
    (needs this package and bubblewrap there)."""
    return NotebookRun(nb_json, files, config).finish(steps)


class NotebookRun:
    """One notebook's run, in two halves. Made: its text parsed, its files written to a
    folder of its own. `ask_for_kernel`: its kernel asked of the zygote (warm kernels only),
    which forks it while the worker goes on with the notebook before. `finish`: run it."""

    def __init__(self, nb_json: str, files: dict[str, bytes], config: Config) -> None:
        started = time.monotonic()
        self.nb = nbformat.v4.reads(nb_json)  # from `notebook_text`: validated where it was read
        self._folder = tempfile.TemporaryDirectory(prefix="rlgrade-run-")
        for rel, data in files.items():
            parts = PurePosixPath(rel).parts
            if ".." in parts or PurePosixPath(rel).is_absolute():
                continue
            target = Path(self._folder.name, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.config = config
        self.executor = ResilientExecute(config=config)
        self.km: Any = None
        self.prepared_seconds = time.monotonic() - started  # counted in `finish`'s kernel_seconds

    def ask_for_kernel(self) -> None:
        """Best effort: without it (cold kernels, the zygote gone) `finish` starts its own."""
        if self.executor.kernel_manager_class is not PooledKernelManager:
            return
        started = time.monotonic()
        try:
            self.km = self.executor.ask_for_kernel(self.nb, self._folder.name)
        except Exception:  # noqa: BLE001 - see above
            self.km = None
        self.prepared_seconds += time.monotonic() - started

    def finish(self, steps: list[type] | None = None) -> dict[str, Any]:
        """Run the notebook (see `run_notebook`), then remove its folder."""
        started = time.monotonic()
        executor = self.executor
        try:
            nb, resources = executor.preprocess(
                self.nb, {"metadata": {"path": self._folder.name}}, km=self.km
            )
        finally:
            self.km = None
            self._folder.cleanup()
        kernel_seconds = time.monotonic() - started - executor.cell_seconds + self.prepared_seconds
        if steps is None:
            steps = [StderrIsNotFailure, *([JudgeOutsideKernel] if executor.sandbox else [])]
        # Done here, in parallel, instead of one submission at a time in the grading process.
        # Applied as nbgrader's exporter applies them, minus its copies of the notebook and its
        # validation after every step (a third of this function's time); writing validates once.
        for step in steps:
            nb, resources = step(config=self.config)(nb, resources)
        text = nbformat.writes(nb) + "\n"  # with the final newline nbconvert's exporter adds
        return {
            "notebook": text,
            "cell_seconds": executor.cell_seconds,
            "kernel_seconds": kernel_seconds,  # the rest: files, its kernel's start (or the wait) and stop
            "judged": executor.sandbox and JudgeOutsideKernel in steps,
        }

    def abandon(self) -> None:
        """Not to be run after all: end its kernel, if asked for, and remove its folder."""
        if self.km is not None:
            with contextlib.suppress(Exception):
                run_sync(self.km.shutdown_kernel)(now=True)
                run_sync(self.km.cleanup_resources)()
        self.km = None
        self._folder.cleanup()


# -- replaying the results inside nbgrader's autograde ------------------------------------
class ReplayExecute(ResilientExecute):
    """nbgrader's Execute step, fed with outputs computed beforehand (see the module doc)."""

    results: ClassVar[dict[tuple[str, str], tuple[NotebookNode, bool]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def provide(cls, student: str, notebook: str, executed: NotebookNode, judged: bool) -> None:
        """`executed`: the notebook as run by `run_notebook`; `judged`: its records were judged."""
        with cls._lock:
            cls.results[(student, notebook)] = (executed, judged)

    @classmethod
    def forget(cls, student: str) -> None:
        with cls._lock:
            for key in [k for k in cls.results if k[0] == student]:
                del cls.results[key]

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        ids = (resources or {}).get("nbgrader", {})
        with self._lock:
            done, judged = self.results.pop((ids.get("student"), ids.get("notebook")), (None, False))
        if done is None or code_sources(done) != code_sources(nb):
            return super().preprocess(nb, resources, km)
        resources[JUDGED] = judged  # trusted: set by the grader, never by the student's outputs
        ran = iter(c for c in done.cells if c.cell_type == "code")
        for cell in nb.cells:
            if cell.cell_type == "code":
                executed = next(ran)
                cell.outputs = executed.get("outputs", [])
                cell.execution_count = executed.get("execution_count")
                cell.metadata = executed.get("metadata", cell.metadata)
        nb.metadata = done.metadata
        return nb, resources


# -- where notebooks run ------------------------------------------------------------------
Task = tuple[Future, Callable[..., Any], tuple[Any, ...]]  # a future, and the call that answers it
Sent = tuple[int, Callable[..., Any], tuple[Any, ...]]  # a task as a worker gets it: ref, call


class LocalRunner:
    """`workers` notebooks at a time on this machine, in worker processes, so that the Python
    work of running a notebook (messages, judging records) runs beside the grading process,
    not in turns with it under one interpreter lock. Their kernels all come from one zygote,
    which this process starts at once, while it prepares the submissions (with `config`'s
    limits; without a config, or without warm sandboxed kernels, each worker has its own).

    Each worker holds the next notebooks it will run (`HELD` tasks in all), so that it asks
    for the next kernel while the current notebook runs (`serve`): a kernel's start (fork,
    namespaces, IPython) then no longer keeps the worker waiting. A thread here drives each
    worker; a worker that dies fails only the tasks it held, and a new one takes the rest."""

    def __init__(self, workers: int, config: Config | None = None) -> None:
        self.workers = workers
        address = shared_zygote_address(config) if config is not None else None
        # Workers are forked from multiprocessing's fork server, a fresh single-threaded Python
        # that imports what they need once, not once per worker. Not torch: they judge through
        # the zygote's judge (autograder.judging), which imported it already.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(WORKER_IMPORTS))
        self._tasks: deque[Task] = deque()
        self._changed = threading.Condition()
        self._closing = False
        self._drivers = [
            threading.Thread(
                target=self._drive, args=(context, address), name=f"rlgrade-worker-{n}", daemon=True
            )
            for n in range(workers)
        ]
        for driver in self._drivers:
            driver.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._changed:
            if self._closing:
                raise RuntimeError("this runner is closed")
            self._tasks.append((future, fn, args))
            self._changed.notify()
        return future

    def completed(self, futures: list[Any]) -> Iterator[Any]:
        return as_completed(futures)

    def close(self) -> None:
        """Cancel what no worker holds yet, let each worker end its current task, stop them."""
        with self._changed:
            self._closing = True
            while self._tasks:
                self._tasks.popleft()[0].cancel()
            self._changed.notify_all()
        for driver in self._drivers:
            driver.join()
        close_shared_pool()

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers != 1 else ''}"

    def _take(self, room: int, wait: bool) -> list[Task]:
        """Up to `room` tasks (waiting for one if `wait`, until the runner closes)."""
        taken = []
        with self._changed:
            while wait and not self._tasks and not self._closing:
                self._changed.wait()
            while self._tasks and len(taken) < room:
                task = self._tasks.popleft()
                if task[0].set_running_or_notify_cancel():
                    taken.append(task)
        return taken

    def _drive(self, context: Any, address: str | None) -> None:
        """Keep one worker process holding up to `HELD` tasks, and hand back its answers. If it
        dies, the task it was running fails; the ones it held behind that go to a new worker."""
        worker: Worker | None = None
        held: dict[int, Task] = {}
        again: list[Task] = []  # held by a worker that died before it began them
        refs = itertools.count()
        while True:
            try:
                if not self._closing:
                    room = HELD - len(held) - len(again)
                    for task in [*again, *self._take(room, wait=not held and not again)]:
                        ref = next(refs)
                        held[ref] = task
                        worker = worker or Worker(context, address)
                        worker.send((ref, task[1], task[2]))
                    again = []
                if worker is None or not held:
                    if self._closing:
                        break
                    continue
                if self._closing:
                    worker.stop()  # it ends after its current task; what it held is not run
                answer = worker.answer(None if self._closing or len(held) == HELD else POLL_S)
                if answer is None:
                    continue  # nothing yet: look for new tasks
                if answer is Worker.ENDED:
                    running = min(held)  # a worker runs its tasks in the order it got them
                    ended = f"the worker process ended ({worker.exit_status()}) while it ran this task"
                    held.pop(running)[0].set_exception(WorkerEnded(ended))
                    if self._closing:
                        fail(held.values(), WorkerEnded("not run: the grading run was closed"))
                    else:
                        again = [held[ref] for ref in sorted(held)]
                    held.clear()
                    worker = None
                    continue
                ref, value, error = answer
                future = held.pop(ref)[0]
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(value)
            except Exception as exc:  # noqa: BLE001 - e.g. no worker could be started: fail, go on
                fail([*held.values(), *again], exc)
                held.clear()
                again = []
                if worker is not None:
                    worker.kill()
                worker = None
        if worker is not None:
            worker.stop()
            worker.answer(None)  # waits until it has ended


def fail(tasks: Iterable[Task], error: BaseException) -> None:
    for future, _, _ in tasks:
        future.set_exception(error)


HELD = 3  # tasks a local worker holds: the one it runs, the next (its kernel starting), one more
POLL_S = 0.05  # how often a driver with room for more tasks looks for them while it waits


class WorkerEnded(RuntimeError):
    """The worker process that held a task ended before it answered."""


class Worker:
    """One local worker process (`serve`): tasks go to it through a queue whose writes never
    block this side (a thread of the queue's own writes them), answers come back on a pipe."""

    ENDED = object()

    def __init__(self, context: Any, address: str | None) -> None:
        self._tasks = context.Queue()
        reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(target=serve, args=(self._tasks, writer, address), daemon=True)
        self._process.start()
        writer.close()
        self._answers = reader
        self._stopped = False

    def send(self, task: Sent) -> None:
        self._tasks.put(task)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._tasks.put(None)

    def answer(self, timeout: float | None) -> Any:
        """The next (ref, value, error) it sent, None if none came within `timeout`, or ENDED."""
        ready = multiprocessing.connection.wait([self._answers, self._process.sentinel], timeout)
        if not ready:
            return None
        if self._answers in ready:
            try:
                return self._answers.recv()
            except (EOFError, OSError):
                pass
        self._process.join()
        self._answers.close()
        self._tasks.cancel_join_thread()  # what it did not read is dropped, not waited for
        self._tasks.close()
        return self.ENDED

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self._process.kill()
            while self.answer(None) is not self.ENDED:
                pass

    def exit_status(self) -> str:
        code = self._process.exitcode
        return f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"


def serve(tasks: Any, answers: Any, address: str | None) -> None:
    """A local worker: run the tasks it is sent, in order, and send back each answer. The
    kernel of the notebook after the current one, if it holds one already, is asked for
    before the current one runs (`NotebookRun`); a task of None ends the worker."""
    use_zygote_at(address)
    held: deque[Sent] = deque()
    runs: dict[int, NotebookRun] = {}  # task ref -> its run, kernel asked for
    while True:
        while not held or not tasks.empty():
            task = tasks.get()
            if task is None:
                for run in runs.values():
                    run.abandon()
                return
            held.append(task)
        ref, fn, args = held.popleft()
        try:
            ask_ahead((ref, fn, args), runs)  # unless asked for already, while the task before ran
            run = runs.pop(ref, None)
            if held:
                ask_ahead(held[0], runs)
            value = run.finish(*args[3:]) if run is not None else fn(*args)
            answer: tuple[int, Any, BaseException | None] = (ref, value, None)
        except Exception as exc:  # noqa: BLE001 - the grading process decides what it means
            answer = (ref, None, exc)
        try:
            answers.send(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that cannot be pickled
            answers.send((ref, None, RuntimeError(f"the answer could not be sent back: {exc!r}")))


def ask_ahead(task: Sent, runs: dict[int, NotebookRun]) -> None:
    """Prepare a notebook's run and ask for its kernel, once (see `serve`)."""
    ref, fn, args = task
    if fn is run_notebook and ref not in runs:
        try:
            runs[ref] = NotebookRun(*args[:3])
        except Exception:  # noqa: BLE001 - it fails again, and is answered, in its turn
            return
        runs[ref].ask_for_kernel()


WORKER_IMPORTS = ("autograder.parallel", "autograder.judging")


def shared_zygote_address(config: Config) -> str | None:
    """Start the zygote the workers will share, if the course grades in warm sandboxed
    kernels; returns its address (None: each worker starts its own, if any)."""
    if ResilientExecute(config=config).kernel_manager_class is not PooledKernelManager:
        return None
    return share_zygote(PooledKernelManager(config=config))


class DaskRunner:
    """Notebooks run on the workers of a Dask cluster; results come back here."""

    def __init__(self, target: str) -> None:
        from distributed import Client

        self._cluster = None
        if target.endswith(".py"):
            self._cluster = cluster_from_file(Path(target))
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(target, timeout="20s")
            except OSError as exc:
                raise CourseError(
                    f"cannot reach the Dask scheduler at {target}: {exc}. Start it (`dask scheduler`) "
                    "and its workers (`dask worker ADDRESS`), or give a cluster file (see README)."
                ) from None
        self.target = target

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def completed(self, futures: list[Any]) -> Iterator[Any]:
        from distributed import as_completed as dask_completed

        return iter(dask_completed(futures))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def describe(self) -> str:
        workers = len(self.client.scheduler_info().get("workers", {}))
        return f"Dask cluster {self.target} ({workers} workers)"


def cluster_from_file(path: Path) -> Any:
    """A cluster object from a Python file that defines `cluster()` (e.g. a dask-jobqueue
    SLURMCluster, scaled); see README "Grading on a cluster"."""
    if not path.is_file():
        raise CourseError(f"no cluster file {path}")
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - the TA's own file
    if not callable(namespace.get("cluster")):
        raise CourseError(f"{path} must define a function cluster() that returns a Dask cluster")
    return namespace["cluster"]()


def make_runner(
    workers: int | None, dask: str | None, config: Config | None = None
) -> LocalRunner | DaskRunner:
    if dask:
        return DaskRunner(dask)
    count = workers or os.cpu_count() or 1
    if count < 1:
        raise CourseError(f"--workers must be at least 1 (got {workers})")
    return LocalRunner(count, config)
