"""The cell host (autograder.cellhost) against a real ipykernel kernel, both forked from the
same warm zygote: the same outputs, execution counts and timing fields for every kind of
output a graded cell makes, and the same rules for input, exits, time limits, interrupts and
dying processes. The kernel runs cells through nbclient's own loop here, so the host is
checked against Jupyter's reference behaviour, not against our other loop."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from autograder import pool
from autograder.cellhost import CellHostClient
from tests.test_direct import CELLS, NbclientExecute

# What a kernel does besides messages: descriptors 1 and 2 written by C code or a child
# process, warnings, input, sys.exit(), magics, payloads, a cell that only fails
# while its result is displayed, matplotlib on its non-interactive backend.
MORE_CELLS = [
    "import os, subprocess\n"
    "os.write(1, b'fd one\\n')\n"
    "subprocess.run(['echo', 'child'])\n"
    "os.write(2, b'fd two\\n')",
    "import warnings\nwarnings.warn('careful')",
    "input('name? ')",
    "import getpass\ngetpass.getpass()",
    "import sys\nsys.exit(3)",
    "%time x = sum(range(10))",
    "get_ipython().set_next_input('next')\n'payload'",
    "class Broken:\n    def _repr_html_(self):\n        raise RuntimeError('no html')\nBroken()",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
    "print('é ∇ 😀', '\\udcff')",
    "import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.3)",
]


@pytest.fixture(scope="module")
def config() -> Iterator[Config]:
    yield Config({"ResilientExecute": {"timeout": 3, "iopub_timeout": 2}})
    pool.close_shared_pool()


def run(cells: list[str], config: Config, tmp: Path, cell_host: bool) -> tuple[Any, Any]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells[-1].metadata["tags"] = ["raises-exception"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = NbclientExecute(config=config, cell_host=False)
    if cell_host:
        from autograder.preprocessors import ResilientExecute

        executor = ResilientExecute(config=config, cell_host=True)
    clients: list[Any] = []
    original = executor.start_new_kernel_client

    def remember_client() -> Any:
        clients.append(original())
        return clients[-1]

    executor.start_new_kernel_client = remember_client  # type: ignore[method-assign]
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp)}})
    return nb, clients


def comparable(output: Any) -> Any:
    """An output, less what differs between any two runs (a timing, an object's address)."""
    output = nbformat.from_dict(output)
    if output.get("name") == "stdout" and "Wall time" in output.get("text", ""):
        output["text"] = "(timings)"
    if "text/plain" in output.get("data", {}):
        output["data"]["text/plain"] = re.sub(r" at 0x[0-9a-f]+>", " at 0x...>", output["data"]["text/plain"])
    return output


def in_kernel_order(source: str, outputs: list[Any]) -> Any:
    """The outputs of a cell, as far as a kernel fixes their order. What C code or a child
    process writes to descriptors 1 and 2 reaches a kernel's streams through a thread that
    reads a pipe, so on a busy machine it can come after the cell's result: for a cell that
    writes there, only each stream's whole text and the order of the other outputs count."""
    shown = [comparable(o) for o in outputs]
    if "os.write(" not in source:
        return shown
    streams: dict[str, str] = {}
    for output in shown:
        if output.get("output_type") == "stream":
            streams[output["name"]] = streams.get(output["name"], "") + output["text"]
    return [o for o in shown if o.get("output_type") != "stream"], streams


@pytest.mark.parametrize("cells", [CELLS, MORE_CELLS], ids=["messages", "behaviour"])
def test_a_cell_host_makes_the_outputs_a_kernel_makes(
    config: Config, tmp_path: Path, cells: list[str]
) -> None:
    hosted, clients = run(cells, config, tmp_path, cell_host=True)
    assert clients and all(isinstance(c, CellHostClient) for c in clients), "no cell host ran the cells"
    in_kernel, _ = run(cells, config, tmp_path, cell_host=False)
    for mine, theirs in zip(hosted.cells, in_kernel.cells, strict=True):
        assert in_kernel_order(mine.source, mine.outputs) == in_kernel_order(theirs.source, theirs.outputs), (
            mine.source
        )
        assert mine.execution_count == theirs.execution_count, mine.source
        assert sorted(mine.metadata.get("execution", {})) == sorted(theirs.metadata.get("execution", {}))
    assert hosted.metadata["language_info"] == in_kernel.metadata["language_info"]


def test_the_outputs_compared_are_the_ones_meant(config: Config, tmp_path: Path) -> None:
    """What the comparison above rests on, checked on the host's own outputs."""
    hosted, _ = run(MORE_CELLS, config, tmp_path, cell_host=True)
    texts = ["".join(o.get("text", "") for o in cell.outputs) for cell in hosted.cells]
    assert [o.get("name") for o in hosted.cells[0].outputs] == ["stdout", "stderr", None]  # and 7, from write
    assert texts[0] == "fd one\nchild\nfd two\n"
    assert "careful" in texts[1]
    assert hosted.cells[2].outputs[-1]["ename"] == "StdinNotImplementedError"
    assert hosted.cells[3].outputs[-1]["ename"] == "StdinNotImplementedError"
    assert hosted.cells[4].outputs[0]["ename"] == "SystemExit"
    assert hosted.cells[6].outputs[-1]["data"]["text/plain"] == "'payload'"
    assert hosted.cells[7].outputs[0]["output_type"] == "error"
    assert texts[-1].replace("\n", "") == "012"


def test_exit_ends_the_host_once_its_cell_is_done(config: Config, tmp_path: Path) -> None:
    """exit() stops a kernel's event loop 0.1 s later, at some point of a later cell (or not
    at all, measured here: which cell dies varies from run to run); the host stops at once
    after the cell, so that what follows is reported as not run, the same every time."""
    cells = ["print('bye')\nexit()", "import time\ntime.sleep(1)", "print('never')"]
    hosted, _ = run(cells, config, tmp_path, cell_host=True)
    assert hosted.cells[0].outputs == [
        nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "bye\n"})
    ]
    assert [o["ename"] for o in hosted.cells[1].outputs + hosted.cells[2].outputs] == ["KernelDied"] * 2


def test_a_cell_past_its_time_limit_is_interrupted_and_the_next_cell_runs(
    config: Config, tmp_path: Path
) -> None:
    cells = ["import time\nprint('before', flush=True)\ntime.sleep(60)", "print('after')"]
    start = time.monotonic()
    hosted, _ = run(cells, config, tmp_path, cell_host=True)
    assert time.monotonic() - start < 30
    in_kernel, _ = run(cells, config, tmp_path, cell_host=False)
    for mine, theirs in zip(hosted.cells, in_kernel.cells, strict=True):
        assert [comparable(o) for o in mine.outputs] == [comparable(o) for o in theirs.outputs], mine.source
    assert hosted.cells[0].outputs[0]["text"] == "before\n"
    assert [o.get("ename") for o in hosted.cells[0].outputs[1:]] == ["KeyboardInterrupt", "CellTimeoutError"]
    assert hosted.cells[1].outputs[0]["text"] == "after\n"


def test_a_cell_that_ignores_the_interrupt_is_stopped_with_its_host(config: Config, tmp_path: Path) -> None:
    cells = [
        "import time\nprint('stubborn')\nwhile True:\n    try:\n        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n        pass",
        "print('never')",
    ]
    hosted, _ = run(cells, config, tmp_path, cell_host=True)
    in_kernel, _ = run(cells, config, tmp_path, cell_host=False)
    for mine, theirs in zip(hosted.cells, in_kernel.cells, strict=True):
        assert [o.get("ename") for o in mine.outputs] == [o.get("ename") for o in theirs.outputs]
    assert hosted.cells[0].outputs[0]["text"] == "stubborn\n"  # sent before the host was stopped
    assert hosted.cells[1].outputs[0]["ename"] == "KernelDied"


def test_a_host_that_dies_mid_cell_is_noticed_at_once(config: Config, tmp_path: Path) -> None:
    cells = ["print('last words', flush=True)\nimport os\nos._exit(3)", "print('never')"]
    start = time.monotonic()
    hosted, _ = run(cells, config, tmp_path, cell_host=True)
    assert time.monotonic() - start < 10
    assert hosted.cells[0].outputs[0]["text"] == "last words\n"
    assert [o.get("ename") for o in hosted.cells[0].outputs[1:]] == ["KernelDied"]
    assert hosted.cells[1].outputs[0]["ename"] == "KernelDied"


def test_garbage_written_to_the_hosts_socket_ends_the_notebook_not_the_grader(
    config: Config, tmp_path: Path
) -> None:
    """Student code can write to the host's socket; a frame that makes no sense is treated
    as the host's death (the rest of the notebook scores 0), never trusted or crashed on."""
    cells = [
        "import socket, os\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        s = socket.socket(fileno=os.dup(fd))\n"
        "    except OSError:\n"
        "        continue\n"
        "    if s.family == socket.AF_UNIX:\n"
        "        s.sendall(b'\\x00\\x00\\x00\\x05nope!')\n",
        "print('never')",
    ]
    hosted, _ = run(cells, config, tmp_path, cell_host=True)
    assert hosted.cells[-1].outputs[0]["ename"] == "KernelDied"
