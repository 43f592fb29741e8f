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

import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import nbformat
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
    without a second validation; the notebook it returns is validated once, when written."""
    return nbformat.v4.writes(nb)


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
    started = time.monotonic()
    nb = nbformat.v4.reads(nb_json)  # from `notebook_text`: validated where it was read
    with tempfile.TemporaryDirectory(prefix="rlgrade-run-") as folder:
        for rel, data in files.items():
            parts = PurePosixPath(rel).parts
            if ".." in parts or PurePosixPath(rel).is_absolute():
                continue
            target = Path(folder, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        executor = ResilientExecute(config=config)
        nb, resources = executor.preprocess(nb, {"metadata": {"path": folder}})
    kernel_seconds = time.monotonic() - started - executor.cell_seconds
    if steps is None:
        steps = [StderrIsNotFailure, *([JudgeOutsideKernel] if executor.sandbox else [])]
    # Done here, in parallel, instead of one submission at a time in the grading process.
    # Applied as nbgrader's exporter applies them, minus its copies of the notebook and its
    # validation after every step (a third of this function's time); writing validates once.
    for step in steps:
        nb, resources = step(config=config)(nb, resources)
    text = nbformat.writes(nb) + "\n"  # with the final newline nbconvert's exporter adds
    return {
        "notebook": text,
        "cell_seconds": executor.cell_seconds,
        "kernel_seconds": kernel_seconds,  # the rest of the run: files, kernel start and stop
        "judged": executor.sandbox and JudgeOutsideKernel in steps,
    }


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
class LocalRunner:
    """`workers` notebooks at a time on this machine, in worker processes, so that the Python
    work of running a notebook (messages, judging records) runs beside the grading process,
    not in turns with it under one interpreter lock. Their kernels all come from one zygote,
    which this process starts at once, while it prepares the submissions (with `config`'s
    limits; without a config, or without warm sandboxed kernels, each worker has its own)."""

    def __init__(self, workers: int, config: Config | None = None) -> None:
        self.workers = workers
        address = shared_zygote_address(config) if config is not None else None
        # Workers are forked from multiprocessing's fork server, a fresh single-threaded Python
        # that imports what they need once, not once per worker. Not torch: they judge through
        # the zygote's judge (autograder.judging), which imported it already.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(WORKER_IMPORTS))
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=use_zygote_at, initargs=(address,)
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def completed(self, futures: list[Any]) -> Iterator[Any]:
        return as_completed(futures)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        close_shared_pool()

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers != 1 else ''}"


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
