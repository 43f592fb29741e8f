"""Run one code cell over the kernel's sockets directly, without an event loop.

nbclient runs each cell as three asyncio tasks (wait for the reply, collect the outputs,
watch the kernel) over zmq's asyncio sockets. For a kernel that answers within
milliseconds, that machinery costs more than the messages it carries: about 5 ms of the
grader's CPU per code cell. `execute_cell` does the same work in one loop that polls the
client's own two sockets (shell and IOPub), and hands every message to nbclient's own
`process_message`, so outputs, display updates, `clear_output` and execution counts are
built exactly as before. Timeouts, interrupts, the IOPub grace period and kernel death
follow nbclient's rules (`_async_poll_for_reply`); `applies` says when a client uses
anything this loop does not reproduce (hooks, stream coalescing), and nbclient runs the
cell then.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import zmq
from jupyter_client.adapter import adapt
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.client import timestamp
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

ALIVE_CHECK_S = 0.05  # how often a running cell's kernel is checked for death (nbclient: 1 s)
HOOKS = ("on_cell_start", "on_cell_execute", "on_cell_complete", "on_cell_error")


def applies(client: NotebookClient) -> bool:
    """True when this loop reproduces everything `client` would do for a cell."""
    return not client.coalesce_streams and all(getattr(client, hook) is None for hook in HOOKS)


class _Sockets:
    """Blocking views of a kernel client's shell and IOPub sockets (same connections)."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.shell = zmq.Socket.shadow(kc.shell_channel.socket.underlying)
        self.iopub = zmq.Socket.shadow(kc.iopub_channel.socket.underlying)

    def receive(self, socket: zmq.Socket) -> dict[str, Any] | None:
        """The next message waiting on `socket`, or None. As `Session.deserialize` reads it,
        except that only the header's own date is parsed (jupyter_client tries every string
        of both headers as a date with dateutil: a third of the time of reading a message)."""
        try:
            frames = socket.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        session = self.kc.session
        _, frames = session.feed_identities(frames)
        if len(frames) < 5:
            raise TypeError("malformed message from the kernel: fewer than 5 parts")
        if session.auth is not None and not hmac.compare_digest(frames[0], session.sign(frames[1:5])):
            raise ValueError("message from the kernel with an invalid signature")
        header = json.loads(frames[1])
        if isinstance(header.get("date"), str):
            header["date"] = datetime.fromisoformat(header["date"])
        message = {
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
            "parent_header": json.loads(frames[2]),
            "metadata": json.loads(frames[3]),
            "content": json.loads(frames[4]),
            "buffers": [memoryview(frame) for frame in frames[5:]],
        }
        return adapt(message)


def sockets(client: NotebookClient) -> _Sockets:
    """The blocking views of `client.kc`'s sockets, made once per kernel client."""
    views = getattr(client, "_direct_sockets", None)
    if views is None or views.kc is not client.kc:
        views = _Sockets(client.kc)
        client._direct_sockets = views  # type: ignore[attr-defined]
    return views


def execute_cell(
    client: NotebookClient,
    cell: NotebookNode,
    cell_index: int,
    execution_count: int | None,
    store_history: bool,
    wait: Callable[[NotebookClient, NotebookNode, int, str], dict[str, Any]] | None = None,
) -> NotebookNode:
    """nbclient's `execute_cell`, as one polling loop (see the module doc). `wait` collects
    the outputs and returns the reply (by default `wait_for_cell` on the kernel's sockets)."""
    if cell.cell_type != "code" or not cell.source.strip():
        return cell
    if client.skip_cells_with_tag in cell.metadata.get("tags", []):
        return cell
    if client.record_timing:
        cell["metadata"]["execution"] = {}
    tagged = "raises-exception" in cell.metadata.get("tags", [])
    allows_errors = not client.force_raise_errors and (client.allow_errors or tagged)
    if wait is None:
        views = sockets(client)
        wait = lambda client, cell, cell_index, msg_id: wait_for_cell(client, views, cell, cell_index, msg_id)  # noqa: E731
    # jupyter_client's own request; its Session sends on a blocking view of the asyncio socket
    msg_id = client.kc.execute(cell.source, store_history=store_history, stop_on_error=not allows_errors)
    client.code_cells_executed += 1
    cell.outputs = []
    client.clear_before_next_output = False

    reply = wait(client, cell, cell_index, msg_id)
    if execution_count:
        cell["execution_count"] = execution_count
    if client.on_cell_executed is not None:
        client.on_cell_executed(cell=cell, cell_index=cell_index, execute_reply=reply)
    failure = reply["content"]
    if failure["status"] == "error" and not (
        allows_errors or (not client.force_raise_errors and failure.get("ename") in client.allow_error_names)
    ):
        raise CellExecutionError.from_cell_and_msg(cell, failure)
    client.nb["cells"][cell_index] = cell
    return cell


def wait_for_cell(
    client: NotebookClient, views: _Sockets, cell: NotebookNode, cell_index: int, msg_id: str
) -> dict[str, Any]:
    """Collect the request's outputs into `cell` until the kernel is idle again; returns the
    execute reply (or the error reply nbclient stands in when the cell timed out)."""
    timeout = client._get_timeout(cell)
    reply_deadline = None if timeout is None else time.monotonic() + timeout
    reply: dict[str, Any] | None = None
    idle = False
    outputs_deadline = 0.0  # once the reply is in: how long the outputs may still take
    next_alive_check = time.monotonic() + ALIVE_CHECK_S
    poller = zmq.Poller()
    poller.register(views.shell, zmq.POLLIN)
    poller.register(views.iopub, zmq.POLLIN)
    shell_open = True
    while reply is None or not idle:
        now = time.monotonic()
        if reply is not None and shell_open:  # the reply just came in (or was stood in)
            poller.unregister(views.shell)  # later replies are for no one: never spin on them
            shell_open = False
            outputs_deadline = now + client.iopub_timeout
        if reply is None:
            if now >= next_alive_check or (reply_deadline is not None and now >= reply_deadline):
                if not kernel_alive(client):
                    raise DeadKernelError("Kernel died")
                next_alive_check = now + ALIVE_CHECK_S
            if reply_deadline is not None and now >= reply_deadline:
                reply = timed_out(client, cell, timeout)  # type: ignore[arg-type]
                if reply is None:  # interrupted, no stand-in reply: wait as long again
                    reply_deadline = time.monotonic() + timeout  # type: ignore[operator]
                else:
                    reply["parent_header"] = {"msg_id": msg_id}
                    replied(client, cell, reply)
                continue
            deadline = next_alive_check if reply_deadline is None else min(next_alive_check, reply_deadline)
        elif now >= outputs_deadline:
            if client.raise_on_iopub_timeout:
                raise CellTimeoutError.error_from_timeout_and_cell(
                    "Timeout waiting for IOPub output", client.iopub_timeout, cell
                )
            client.log.warning("Timeout waiting for IOPub output")
            break
        else:
            deadline = outputs_deadline
        ready = dict(poller.poll(max(0.0, deadline - time.monotonic()) * 1000))
        # One message per socket and turn, so that a flood of output cannot hold off the deadlines.
        if views.iopub in ready and (msg := views.receive(views.iopub)) is not None:
            if msg["parent_header"].get("msg_id") == msg_id:
                try:
                    client.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    idle = True
        if views.shell in ready and (msg := views.receive(views.shell)) is not None:
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg
                replied(client, cell, reply)
    return reply


def kernel_alive(client: NotebookClient) -> bool:
    """`client.kc.is_alive()` without an event loop, where all it would do is ask a local
    provisioner's process (the case of every kernel this grader starts): the same `poll`."""
    km, provisioner = client.km, getattr(client.km, "provisioner", None)
    if (
        client.kc.parent is km
        and type(client.kc).is_alive is AsyncKernelClient.is_alive
        and type(km)._async_is_alive is KernelManager._async_is_alive
        and isinstance(provisioner, LocalProvisioner)
        and type(provisioner).poll is LocalProvisioner.poll
    ):
        if not km.owns_kernel:
            return True
        return provisioner.process is not None and provisioner.process.poll() is None
    return run_sync(client.kc.is_alive)()


def replied(client: NotebookClient, cell: NotebookNode, reply: dict[str, Any]) -> None:
    if client.record_timing:
        cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(reply)


def timed_out(client: NotebookClient, cell: NotebookNode, timeout: int) -> dict[str, Any] | None:
    """nbclient's `_async_handle_timeout`: interrupt the kernel and stand in an error reply
    (None: interrupted, no stand-in configured), or raise CellTimeoutError."""
    client.log.error("Timeout waiting for execute reply (%is).", timeout)
    if not client.interrupt_on_timeout:
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
    client.log.error("Interrupting kernel")
    run_sync(client.km.interrupt_kernel)()
    if not client.error_on_timeout:
        return None
    return {"content": {**client.error_on_timeout, "status": "error"}}
