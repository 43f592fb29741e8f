"""nbgrader preprocessors that close gaps in nbgrader's own grading.

* `ResilientExecute`: a dead kernel (``os._exit``, segfault, out of memory) no
  longer aborts the whole submission; the cells that could not run get an
  error output, so they score 0 and the rest of the submission is kept.
  With `sandbox` on (the default) each kernel runs in a bubblewrap sandbox
  (autograder.sandbox); a notebook has a wall-clock budget (`notebook_timeout`)
  on top of the per-cell `timeout`, and a cell's output is capped (`output_kb`).
* `StderrIsNotFailure`: nbgrader scores any stderr output as 0, so a harmless
  library warning would zero a correct answer. Errors are ``error`` outputs,
  not stderr, so relabelling stderr as stdout loses no failure signal.
* `JudgeOutsideKernel`: in the sandbox, `grade(...)` only records what the
  student's function returned; this step judges the record in the grading
  process and writes the report and the points into the test cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import subprocess
import time
import traceback
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import (
    CheckCellMetadata,
    Execute,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
)
from traitlets import Bool, Integer

from autograder import direct
from autograder.cellhost import CellHostClient, wait_for_cell

STDERR_PREFIX = "[stderr] "
JUDGED = "rlgrade_judged"  # resources key: the records of this notebook were judged already
RECORD_MIME = "application/vnd.rlgrade.outcomes+json"  # = autograder.engine.wire.MIME (no torch import here)
GRADE_CALL = re.compile(
    r"^[ \t]*grade\(\s*[\"'](?P<stub>\w+)[\"']\s*,\s*[\w.]+\s*,\s*(?:points\s*=\s*)?(?P<points>[0-9.]+)\s*\)",
    re.MULTILINE,
)


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An nbformat error output with a one-line, student-readable traceback."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    """Execute that survives the death of the kernel, in a sandbox, within a time budget."""

    sandbox = Bool(True, help="Run each kernel in a bubblewrap sandbox (autograder.sandbox).").tag(
        config=True
    )
    notebook_timeout = Integer(900, help="Wall-clock budget of one notebook, in seconds.").tag(config=True)
    output_kb = Integer(1024, help="Most output one cell may produce, in KiB; the rest is dropped.").tag(
        config=True
    )
    warm_kernels = Bool(
        True, help="Fork sandboxed kernels from a zygote that already imported torch (autograder.pool)."
    ).tag(config=True)
    cell_host = Bool(
        True,
        help="With warm kernels: run the cells in a cell host (autograder.cellhost), IPython's shell "
        "without a Jupyter kernel's transport, instead of a kernel. Off: a real ipykernel kernel.",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.sandbox and self.warm_kernels:
            from autograder.pool import PooledKernelManager

            self.kernel_manager_class = PooledKernelManager
            self.shutdown_kernel = "immediate"  # each kernel serves one notebook, then goes
        elif self.sandbox:
            from autograder.sandbox import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager
        else:
            self.kernel_manager_class = AsyncKernelManager

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        if hasattr(km, "cell_host"):  # a pooled kernel's manager
            # the cell host's loop is the direct one (autograder.direct): not where that loop is not
            km.cell_host = self.cell_host and direct.applies(self)
        return km

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        # The kernel process's own stderr carries start-up chatter only (cell
        # output travels over the messaging channels); keep it off the TA's terminal.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        # What nbgrader sets while it autogrades, also when this runs outside its converter.
        kwargs.setdefault("env", {**os.environ, "NBGRADER_EXECUTION": "autograde"})
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    _asked_km: Any = None  # the manager `ask_for_kernel` returned

    def ask_for_kernel(self, nb: NotebookNode, folder: str) -> Any:
        """Have the zygote fork `nb`'s kernel (warm kernels only), working in `folder`, and
        return its manager at once, without waiting for the kernel to start. Passed to
        `preprocess` as `km`, it is then waited for, used and stopped as a kernel `preprocess`
        starts itself (autograder.parallel.NotebookRun: a worker's next notebook)."""
        NotebookClient.__init__(self, nb)
        self._check_assign_resources({"metadata": {"path": folder}})
        km = self.create_kernel_manager()
        km.only_ask = True
        try:
            self.start_new_kernel()
        finally:
            km.only_ask = False
        self._asked_km = km
        return km

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs: Any) -> Any:
        # nbclient stops only the kernels it started itself; one from `ask_for_kernel` is ours too
        kwargs.setdefault("cleanup_kc", self.owns_km or (self.km is not None and self.km is self._asked_km))
        with super().setup_kernel(**kwargs):
            yield

    async def _async_poll_kernel_alive(self) -> None:
        # nbclient looks every second, so a kernel that died (os._exit, out of memory) held its
        # worker idle for up to a second; the look is a cheap process-state check, so look often.
        while True:
            await asyncio.sleep(direct.ALIVE_CHECK_S)
            try:
                await self._async_check_alive()
            except DeadKernelError:
                assert self.task_poll_for_reply is not None
                self.task_poll_for_reply.cancel()
                return

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._lost_at: int | None = None
        self._lost_why = "the Python kernel died"
        self._deadline = time.monotonic() + self.notebook_timeout
        self._output_bytes: dict[int, int] = {}
        self.cell_seconds = 0.0  # wall time spent running code cells (the student's own run time)
        try:
            return self._execute(nb, resources, km)
        except DeadKernelError:
            # Raised again while shutting down the kernel that already died.
            return nb, resources

    def _execute(self, nb: NotebookNode, resources: Any, km: Any) -> Any:
        """nbconvert's `ExecutePreprocessor.preprocess`, except that it does not ask a kernel
        for its kernel_info when its client kept the reply that showed it ready
        (`autograder.pool.QuickStartClient.ready_reply`): one request fewer per notebook."""
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        with self.setup_kernel():
            assert self.kc is not None
            info = getattr(self.kc, "ready_reply", None) or self.wait_for_reply(self.kc.kernel_info())
            assert info is not None
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                self.preprocess_cell(cell, resources, index)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self._lost_at is None and time.monotonic() >= self._deadline:
            self._stop_kernel(index, f"the notebook used up its time budget ({self.notebook_timeout} s)")
        if self._lost_at is not None:
            cell.outputs = [
                error_output(
                    "KernelDied",
                    f"not run: {self._lost_why} in code cell {self._lost_at} "
                    "(os._exit, a crash, running out of memory or time)",
                )
            ]
            return cell, resources
        started = time.monotonic()
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # The interrupt did not stop the cell (it caught KeyboardInterrupt, or the
            # kernel is stuck): stop the kernel, the remaining cells are not run.
            cell.outputs = list(cell.get("outputs", [])) + [
                error_output("CellTimeoutError", f"stopped: still running after {self.timeout} s")
            ]
            self._stop_kernel(index, "a cell ignored the interrupt after its time limit")
            return cell, resources
        except DeadKernelError:
            self._lost_at = index
            cell.outputs = list(cell.get("outputs", [])) + [
                error_output(
                    "KernelDied",
                    "the Python kernel died while running this cell "
                    "(os._exit, a crash or running out of memory)",
                )
            ]
            return cell, resources
        finally:
            self.cell_seconds += time.monotonic() - started

    def execute_cell(
        self,
        cell: NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> NotebookNode:
        """nbclient's cell execution without its event loop (autograder.direct), when the
        result is the same; else nbclient's own."""
        if isinstance(self.kc, CellHostClient):
            return direct.execute_cell(self, cell, cell_index, execution_count, store_history, wait_for_cell)
        if direct.applies(self):
            return direct.execute_cell(self, cell, cell_index, execution_count, store_history)
        return super().execute_cell(cell, cell_index, execution_count, store_history)

    def _stop_kernel(self, index: int, why: str) -> None:
        """Shut the kernel down; the cells from `index` on are reported as not run."""
        self._lost_at = index
        self._lost_why = why
        run_sync(self.km.shutdown_kernel)(now=True)

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        """The per-cell limit, but never past the notebook's budget."""
        remaining = max(1, int(self._deadline - time.monotonic()))
        timeout = super()._get_timeout(cell)
        return remaining if timeout is None else min(timeout, remaining)

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int) -> Any:
        """Keep at most `output_kb` of a cell's output (a flood would fill the grader's memory)."""
        content = msg.get("content", {})
        if RECORD_MIME in content.get("data", {}) or msg.get("msg_type") == "status":
            size = 0  # the engine's record has its own limit (wire.MAX_BYTES)
        else:
            size = len(json.dumps(content, default=str))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        limit = self.output_kb * 1024
        if used + size <= limit:
            return super().output(outs, msg, display_id, cell_index)
        if used <= limit:
            note = f"[output truncated: this cell printed more than {self.output_kb} KiB]\n"
            outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
        return None


class StderrIsNotFailure(NbGraderPreprocessor):
    """Relabel stderr streams as stdout so warnings do not zero a cell."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["name"] = "stdout"
                output["text"] = "".join(
                    STDERR_PREFIX + line for line in output["text"].splitlines(keepends=True)
                )
        return cell, resources


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """Reduce tracebacks of cells with hidden tests to their last line.

    An IPython traceback quotes the source lines around the failure, so a failing
    hidden test would print itself into the feedback even after
    `ClearHiddenTests` removed it from the cell source. Must run before it.
    """

    marker = "BEGIN HIDDEN TESTS"

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type == "code" and self.marker in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


class JudgeOutsideKernel(NbGraderPreprocessor):
    """Judge the records that `grade(...)` emitted in the sandboxed kernel.

    For each graded test cell whose (instructor) source calls `grade("stub", fn, points=N)`:
    the record is taken out of the cell's outputs, judged here (never in the student's
    process), and replaced by the report (stdout) and the points earned (the cell's
    result, which nbgrader reads as partial credit). A result the student's code put
    there itself is dropped; a missing or malformed record scores 0 with a message.
    """

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        if (resources or {}).get(JUDGED):
            return nb, resources  # by autograder.parallel.run_notebook, right after it ran
        self._sources = [c.source for c in nb.cells if c.cell_type == "code"]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        calls = GRADE_CALL.findall(cell.source) if cell.cell_type == "code" and meta.get("grade") else []
        if not calls:
            return cell, resources
        records = [o for o in cell.outputs if RECORD_MIME in o.get("data", {})]
        kept = [o for o in cell.outputs if o not in records and o.get("output_type") != "execute_result"]
        cell.outputs = kept
        if any(o.get("output_type") == "error" for o in kept):
            return cell, resources  # the cell failed before or while grading: nbgrader scores 0
        earned = 0.0
        for stub, points in calls:
            found = [r["data"][RECORD_MIME] for r in records if _record_stub(r) == stub]
            if len(found) != 1:
                why = "recorded no result" if not found else f"recorded {len(found)} results instead of one"
                cell.outputs.append(
                    error_output(
                        "GradingError",
                        f"the hidden tests of {stub} {why} (was `grade`, IPython or the notebook "
                        "changed, or did the kernel stop?); no points for this cell",
                    )
                )
                return cell, resources
            record = found[0]
            try:
                from autograder.judging import judge_record

                text, points_earned = judge_record(stub, float(points), record, self._sources)
            except Exception as exc:  # noqa: BLE001 - a malformed record scores 0, never crashes grading
                cell.outputs.append(error_output("GradingError", f"unreadable record of {stub}: {exc}"[:400]))
                return cell, resources
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=text + "\n"))
            earned += points_earned
        cell.outputs.append(
            NotebookNode(
                output_type="execute_result",
                execution_count=cell.get("execution_count"),
                metadata={},
                data={"text/plain": repr(round(earned, 2))},
            )
        )
        return cell, resources


def _record_stub(output: NotebookNode) -> str | None:
    record = output.get("data", {}).get(RECORD_MIME)
    return record.get("stub") if isinstance(record, dict) else None


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's `CheckCellMetadata` with the same checks and the same errors, faster: nbgrader
    reads its three schema files and checks its JSON schema against the meta-schema again for
    every cell (40 ms a notebook, more than the rest of the check); here that happens once
    per process. Used in place of the exact class `CheckCellMetadata`, never of a subclass."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        try:
            _metadata_validator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


RECORDED_SOURCE = "rlgrade_recorded_source"  # resources key: a RecordedSource for the steps below


@dataclass(frozen=True)
class SourceCell:
    """What nbgrader's gradebook records of one cell of the source notebook."""

    name: str
    cell_type: str
    locked: bool
    checksum: str | None
    source: str


@dataclass(frozen=True)
class GradedCell:
    max_score: float


@dataclass(frozen=True)
class SourceNotebook:
    kernelspec: str | None  # JSON text, as the gradebook stores it


class RecordedSource:
    """The gradebook's record of one assignment's source notebooks, read once, answering the
    queries nbgrader's `OverwriteCells` and `OverwriteKernelspec` make. Those steps open the
    gradebook for every notebook and query it for every cell (three quarters of sanitizing
    time); during a grading run the record cannot change (grading refuses a stale one)."""

    def __init__(self, db_url: str, course_id: str, assignment: str) -> None:
        from nbgrader.api import Gradebook

        self.assignment = assignment
        self.notebooks: dict[str, SourceNotebook] = {}
        self.cells: dict[tuple[str, str], SourceCell] = {}
        self.graded: dict[tuple[str, str], GradedCell] = {}
        with Gradebook(db_url, course_id) as gb:
            for nb in gb.find_assignment(assignment).notebooks:
                self.notebooks[nb.name] = SourceNotebook(nb.kernelspec)
                for cell in nb.source_cells:
                    self.cells[(nb.name, cell.name)] = SourceCell(
                        cell.name, cell.cell_type, cell.locked, cell.checksum, cell.source
                    )
                for graded in [*nb.grade_cells, *nb.task_cells]:
                    self.graded[(nb.name, graded.name)] = GradedCell(graded.max_score)

    def _find(self, table: dict[Any, Any], key: Any, assignment: str, missing: str) -> Any:
        from nbgrader.api import MissingEntry

        if assignment != self.assignment or key not in table:
            raise MissingEntry(missing)  # with nbgrader's own message
        return table[key]

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        missing = f"No such source cell: {assignment}/{notebook}/{name}"
        return self._find(self.cells, (notebook, name), assignment, missing)

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradedCell:
        missing = f"No such grade cell: {assignment}/{notebook}/{name}"
        return self._find(self.graded, (notebook, name), assignment, missing)

    def find_notebook(self, name: str, assignment: str) -> SourceNotebook:
        return self._find(self.notebooks, name, assignment, f"No such notebook: {assignment}/{name}")


class OverwriteCellsOnce(OverwriteCells):
    """nbgrader's `OverwriteCells`, its own per-cell rules, answered from the `RecordedSource`
    in the resources (without one, or when it must add missing cells: nbgrader's step as is)."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        recorded = resources.get(RECORDED_SOURCE)
        if recorded is None or self.add_missing_cells:
            return super().preprocess(nb, resources)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = recorded
        return NbGraderPreprocessor.preprocess(self, nb, resources)  # each cell: preprocess_cell


class OverwriteKernelspecOnce(OverwriteKernelspec):
    """nbgrader's `OverwriteKernelspec` with the kernelspec from the `RecordedSource`."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        recorded = resources.get(RECORDED_SOURCE)
        if recorded is None:
            return super().preprocess(nb, resources)
        ids = resources["nbgrader"]
        recorded_spec = recorded.find_notebook(ids["notebook"], ids["assignment"]).kernelspec
        kernelspec = json.loads(recorded_spec) if recorded_spec is not None else None
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


def faster_steps(steps: list[type]) -> list[type]:
    """`steps` with nbgrader's `CheckCellMetadata`, `OverwriteCells` and `OverwriteKernelspec`
    (the exact classes, never a subclass) replaced by the versions above, which do the same."""
    faster = {
        CheckCellMetadata: CheckCellMetadataOnce,
        OverwriteCells: OverwriteCellsOnce,
        OverwriteKernelspec: OverwriteKernelspecOnce,
    }
    return [faster.get(step, step) for step in steps]


class _CompiledSchema(BaseMetadataValidator):
    """nbgrader's per-cell schema check (its version errors included), with the schema
    compiled once and each valid metadata remembered (every submission repeats the same
    few dozen, checked twice: before and after it runs). Comes after `MetadataValidator` in
    `_MetadataValidator`'s MRO, so the validator's own checks call it in place of nbgrader's base."""

    def __init__(self) -> None:
        super().__init__()  # reads self.schema
        cls = validator_for(self.schema)
        cls.check_schema(self.schema)  # what jsonschema.validate checks on every call
        self._compiled = cls(self.schema)
        self._valid: set[tuple] = set()

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)  # nbgrader's own: no metadata, or a version error
        key = _metadata_key(meta)
        if key in self._valid:
            return
        error = best_match(self._compiled.iter_errors(meta))
        if error is not None:
            raise error
        if key is not None:
            self._valid.add(key)


def _metadata_key(meta: dict) -> tuple | None:
    """`meta` as a hashable key that tells apart what the schema tells apart (the type of each
    value: True == 1 in Python, not in JSON); None when a value is not a plain scalar."""
    if not all(v is None or type(v) in (bool, int, float, str) for v in meta.values()):
        return None
    return tuple(sorted((k, type(v).__name__, v) for k, v in meta.items()))


class _MetadataValidator(MetadataValidator, _CompiledSchema):
    pass


@functools.cache
def _metadata_validator() -> _MetadataValidator:
    return _MetadataValidator()
