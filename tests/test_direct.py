"""The direct cell loop (autograder.direct) against nbclient's own, in real warm kernels:
the same outputs for every kind of message, and the same rules for time limits, floods
of output and dying kernels."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from traitlets.config import Config

from autograder import direct, pool
from autograder.preprocessors import ResilientExecute

# Every kind of IOPub message a graded cell can produce, and the cases nbclient handles
# specially: empty cells, display updates, delayed and immediate clears, errors allowed by tag.
CELLS = [
    "print('out'); import sys; print('err', file=sys.stderr); print('out again')",
    "6 * 7",
    "   ",
    "from IPython.display import display, update_display, clear_output\n"
    "display('first', display_id='shown')\n"
    "print('between')",
    "update_display('second', display_id='shown')\nprint('updated')",
    "print('gone'); clear_output(wait=True); print('kept')",
    "print('gone too'); clear_output(); display({'text/plain': 'raw'}, raw=True)",
    "import sys; sys.stdout.write('a\\rb\\n'); sys.stdout.flush()",
    "raise ValueError('on purpose')",
    "1 / 0",
]


class NbclientExecute(ResilientExecute):
    """ResilientExecute with nbclient's own cell execution, for comparison."""

    def execute_cell(
        self, cell: Any, cell_index: int, execution_count: Any = None, store_history: bool = True
    ) -> Any:
        return NotebookClient.execute_cell(self, cell, cell_index, execution_count, store_history)


@pytest.fixture(scope="module")
def config() -> Iterator[Config]:
    # real kernels: the direct loop is the one over a kernel's sockets (not a cell host's)
    yield Config({"ResilientExecute": {"timeout": 2, "iopub_timeout": 2, "cell_host": False}})
    pool.close_shared_pool()


def run(
    executor_class: type[ResilientExecute], cells: list[str], config: Config, tmp: Path, **options: Any
) -> Any:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells[-1].metadata["tags"] = ["raises-exception"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = executor_class(config=config, **options)
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp)}})
    return executor, nb


def test_the_direct_loop_builds_the_same_outputs_as_nbclient(config: Config, tmp_path: Path) -> None:
    ours, ran_direct = run(ResilientExecute, CELLS, config, tmp_path)
    _, ran_nbclient = run(NbclientExecute, CELLS, config, tmp_path)
    assert hasattr(ours, "_direct_sockets"), "the direct loop was not used"
    for mine, theirs in zip(ran_direct.cells, ran_nbclient.cells, strict=True):
        assert mine.outputs == theirs.outputs, mine.source
        assert mine.execution_count == theirs.execution_count, mine.source
        assert sorted(mine.metadata.get("execution", {})) == sorted(theirs.metadata.get("execution", {}))
    displayed = ran_direct.cells[3].outputs[0]
    assert displayed["data"]["text/plain"] == "'second'"  # updated in place by the next cell
    assert [o.get("text") for o in ran_direct.cells[5].outputs] == ["kept\n"]
    assert ran_direct.cells[-1].outputs[-1]["ename"] == "ZeroDivisionError"


def test_a_flood_of_messages_does_not_hold_off_the_time_limit(config: Config, tmp_path: Path) -> None:
    """Messages sent as fast as the kernel can (faster than they are read): the loop must
    still see the deadline between them."""
    flood = (
        "k = get_ipython().kernel\n"
        "while True:\n"
        "    k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'x'}, parent=k.get_parent())"
    )
    cells = [flood, "print('next')"]
    done: list[Any] = []
    grade = lambda: done.append(run(ResilientExecute, cells, config, tmp_path))  # noqa: E731
    worker = threading.Thread(target=grade, daemon=True)
    worker.start()
    worker.join(120)
    assert done, "still running two minutes after the cell's time limit"
    assert done[0][0].cell_seconds < 10  # the limit (2 s), the interrupt and the backlog, not more
    flooded, after = done[0][1].cells
    assert any(o.get("ename") == "CellTimeoutError" for o in flooded.outputs)
    assert after.outputs[0]["text"] == "next\n"  # interrupted, not killed: the next cell ran


def test_a_kernel_that_dies_mid_cell_is_noticed_at_once(config: Config, tmp_path: Path) -> None:
    cells = ["print('before')", "import os\nos._exit(1)", "print('after')"]
    executor, ran = run(ResilientExecute, cells, config, tmp_path)
    assert executor.cell_seconds < 1.5  # well before the cell's time limit (2 s)
    before, dying, after = ran.cells
    assert before.outputs[0]["text"] == "before\n"
    assert dying.outputs[-1]["ename"] == "KernelDied"
    assert after.outputs[0]["ename"] == "KernelDied"


def test_options_the_loop_does_not_reproduce_go_to_nbclient(config: Config, tmp_path: Path) -> None:
    assert not direct.applies(ResilientExecute(config=config, coalesce_streams=True))
    assert not direct.applies(ResilientExecute(config=config, on_cell_start=print))
    two_messages = "print('a', flush=True); import time; time.sleep(0.3); print('b')"
    executor, ran = run(ResilientExecute, [two_messages], config, tmp_path, coalesce_streams=True)
    assert not hasattr(executor, "_direct_sockets")
    assert [o["text"] for o in ran.cells[0].outputs] == ["a\nb\n"]  # two messages, coalesced


def test_the_loops_kernel_alive_check_answers_as_jupyter_client_without_an_event_loop(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a reply is awaited the loop checks the kernel every 50 ms; for a kernel whose
    local process is at hand it asks that process itself instead of going through
    jupyter_client's coroutines (0.3 ms each on this machine). Same answer, alive or dead."""
    answers: list[tuple[bool, bool]] = []

    def compare() -> None:
        theirs = run_sync(executor.kc.is_alive)()
        with monkeypatch.context() as patched:
            patched.setattr(direct, "run_sync", lambda *_: pytest.fail("took jupyter_client's path"))
            answers.append((direct.kernel_alive(executor), theirs))

    class Checked(ResilientExecute):
        def execute_cell(self, *args: Any, **kwargs: Any) -> Any:
            cell = super().execute_cell(*args, **kwargs)
            compare()
            self.km.provisioner.process.kill()
            deadline = time.monotonic() + 10
            while run_sync(self.kc.is_alive)() and time.monotonic() < deadline:
                time.sleep(0.05)
            compare()
            return cell

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('alive')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = Checked(config=config)
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert answers == [(True, True), (False, False)]


def test_a_warm_kernel_is_asked_for_its_info_once_and_gets_only_the_channels_a_grader_uses(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply that showed the kernel ready also gives the notebook its language_info, and the
    client opens no stdin or heartbeat channel; input() still fails at once, as nbclient has it."""
    asked: list[str] = []
    clients: list[pool.QuickStartClient] = []
    ask, start = pool.QuickStartClient.kernel_info, pool.QuickStartClient.start_channels

    def counted(self: pool.QuickStartClient) -> str:
        asked.append("kernel_info")
        return ask(self)

    def kept(self: pool.QuickStartClient, *args: Any, **kwargs: Any) -> None:
        clients.append(self)
        start(self, *args, **kwargs)

    monkeypatch.setattr(pool.QuickStartClient, "kernel_info", counted)
    monkeypatch.setattr(pool.QuickStartClient, "start_channels", kept)
    _, ran = run(ResilientExecute, ["print('hello')", "input('your name? ')"], config, tmp_path)
    assert len(clients) == 1
    assert len(asked) == 1, "the kernel was asked for its info again"
    assert ran.metadata["language_info"]["name"] == "python"
    assert clients[0]._stdin_channel is None and clients[0]._hb_channel is None
    assert ran.cells[0].outputs[0]["text"] == "hello\n"
    assert ran.cells[1].outputs[-1]["ename"] == "StdinNotImplementedError"
