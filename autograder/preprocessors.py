"""nbgrader preprocessors that close gaps in nbgrader's own grading.

* `ResilientExecute`: a dead kernel (``os._exit``, segfault, out of memory) no
  longer aborts the whole submission; the cells that could not run get an
  error output, so they score 0 and the rest of the submission is kept.
* `StderrIsNotFailure`: nbgrader scores any stderr output as 0, so a harmless
  library warning would zero a correct answer. Errors are ``error`` outputs,
  not stderr, so relabelling stderr as stdout loses no failure signal.
"""

from __future__ import annotations

import subprocess
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

STDERR_PREFIX = "[stderr] "


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An nbformat error output with a one-line, student-readable traceback."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    """Execute that survives the death of the kernel."""

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        # The kernel process's own stderr carries start-up chatter only (cell
        # output travels over the messaging channels); keep it off the TA's terminal.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._lost_at: int | None = None
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            # Raised again while shutting down the kernel that already died.
            return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self._lost_at is not None:
            cell.outputs = [
                error_output(
                    "KernelDied",
                    f"not run: the Python kernel died in code cell {self._lost_at} "
                    "(os._exit, a crash or running out of memory)",
                )
            ]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
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
