"""Run a notebook's code cells in a lean host process instead of a Jupyter kernel.

A cell host is a job of the zygote (`autograder.zygote`), isolated exactly as a kernel job
is, that runs the cells a worker sends it in IPython's shell: the same `ZMQInteractiveShell`
ipykernel runs, with its display hook, display publisher, traceback formatting, magics and
payloads. What it sends back is what a kernel would publish on IOPub (status, execute_input,
streams, displays, results, errors) and its execute reply, as length-prefixed JSON frames on
one Unix socket. What it leaves out is a kernel's transport: five ZeroMQ sockets, three
threads with event loops of their own, a signature on every message, and on the worker's
side a client with channels. Measured on the activations lesson's 17 code cells (stop 27,
in forked processes outside the sandbox): a kernel spent 609 ms of CPU on its main thread and
74 ms on its other threads, and its client 59 ms, per notebook; the same cells run in a
forked shell without that transport took 597 ms in all. A whole grading run of 100 of
those notebooks on 2 cores (stop 29, `benchmarks.grading_cpu`, twice each way): 31 s and
0.58 CPU-s per submission with cell hosts, 39 s and 0.72 CPU-s with kernels.

    host -> worker  {"msg_type": "kernel_info_reply", "content": {...}}     once it is connected
    worker -> host  {"msg_id": M, "code": "...", "store_history": true}    one cell
    host -> worker  {"msg_id": M, "msg_type": T, "content": {...}, "metadata": {...}}
                    T: status (busy), execute_input, the outputs, execute_reply, status (idle)

A worker interrupts a cell with SIGINT through the zygote (its "interrupt" request); the host
turns it into KeyboardInterrupt only while a cell runs. What the cells write to the file
descriptors 1 and 2 (C code, child processes) reaches the worker as stdout and stderr, as a
kernel's captured output does. The worker's side is `CellHostClient` and `wait_for_cell`.
"""

from __future__ import annotations

import builtins
import codecs
import datetime
import functools
import getpass
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import types
import uuid
from typing import Any

from jupyter_client.session import Session
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

SOCKET_NAME = "cells.sock"  # in the job's connection folder
HEADER = struct.Struct("!I")  # a frame's length
MAX_FRAME = 512 * 2**20  # a longer frame means the stream is corrupt
STREAM_CHUNK = 8 * 2**20  # a stream is sent once this much text has gathered...
STREAM_INTERVAL_S = 0.2  # ...or this long after its first unsent write (ipykernel's flush interval)
CAPTURE_RESET = 2**20  # a captured descriptor's file is emptied once this much was read
CAPTURE_LIMIT = 16 * 2**20  # the most a captured descriptor's read takes


def pack(message: dict[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, default=str)
    try:  # as a kernel's Session packs: a lone surrogate of an undecodable byte is that byte again
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # any other lone surrogate: escaped
        data = json.dumps(message, default=str).encode()
    return HEADER.pack(len(data)) + data


def unpack(data: bytes) -> dict[str, Any] | None:
    """A frame's message (bytes that are not UTF-8 read as U+FFFD, as a kernel's client
    reads them); None if it is not a JSON object."""
    try:
        message = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


# -- the host's side (in the job's process) ---------------------------------------------------


class Publisher(Session):
    """Stands in for a kernel's Session and IOPub socket where the shell's display hook,
    display publisher and traceback send their messages: each becomes a frame to the worker.
    Frames are sent whole under a lock, so that threads of the cells cannot interleave them."""

    def __init__(self, connection: socket.socket) -> None:
        super().__init__()
        self.connection = connection
        self.request_id: str | None = None  # the request being run
        self.lock = threading.Lock()

    def msg(self, msg_type: str, content: dict | None = None, parent: Any = None, **_: Any) -> dict:
        """A message as `Session.msg` shapes it, as far as the shell reads it."""
        return {
            "header": {"msg_type": msg_type},
            "msg_type": msg_type,
            "content": content or {},
            "metadata": {},
        }

    def send(
        self, _socket: Any, msg_or_type: dict | str, content: dict | None = None, *_: Any, **__: Any
    ) -> None:
        msg = msg_or_type if isinstance(msg_or_type, dict) else self.msg(msg_or_type, content)
        self.publish(msg["msg_type"], msg["content"], msg.get("metadata") or {})

    def publish(self, msg_type: str, content: dict, metadata: dict | None = None) -> None:
        frame = pack(
            {"msg_id": self.request_id, "msg_type": msg_type, "content": content, "metadata": metadata or {}}
        )
        # An interrupt (KeyboardInterrupt, in the main thread) waits until the frame is out:
        # a frame cut short would end the host.
        main = threading.current_thread() is threading.main_thread()
        with self.lock:
            if main:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                self.connection.sendall(frame)
            finally:
                if main:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class Capture:
    """File descriptor `fd` (1 or 2) redirected into a memory file, read back as text. Beyond
    `CAPTURE_LIMIT` a read skips ahead (the worker keeps far less of a cell's output)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.read_at = fd, 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        memory = os.memfd_create(f"fd{fd}")
        os.dup2(memory, fd)
        os.close(memory)

    def take(self) -> str:
        try:
            end = os.fstat(self.fd).st_size
            data = (
                os.pread(self.fd, min(end - self.read_at, CAPTURE_LIMIT), self.read_at)
                if end > self.read_at
                else b""
            )
            self.read_at = max(end, self.read_at)
            if self.read_at >= CAPTURE_RESET:  # the writers share the offset: they go on from 0
                os.ftruncate(self.fd, 0)
                os.lseek(self.fd, 0, os.SEEK_SET)
                self.read_at = 0
        except OSError:  # the cells closed or replaced the descriptor: nothing more to read
            return ""
        return self.decoder.decode(data)


class CellStream(io.TextIOBase):
    """`sys.stdout` or `sys.stderr` of a cell host: text goes to the worker as "stream"
    messages when flushed: by the cell's end, by a display or an error, by `Flusher` within
    `STREAM_INTERVAL_S` of the first unsent write, or once `STREAM_CHUNK` has gathered. What
    was written to the descriptor underneath (`capture`) goes with it."""

    def __init__(self, name: str, publisher: Publisher, capture: Capture, flusher: Flusher) -> None:
        super().__init__()
        self._name, self.publisher, self.capture, self.flusher = name, publisher, capture, flusher
        self.parts: list[str] = []
        self.size = 0
        self.flushing = threading.Lock()

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "UTF-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.capture.fd

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not self.parts:
            self.flusher.wake.set()
        self.parts.append(text)
        self.size += len(text)
        if self.size >= STREAM_CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        with self.flushing:  # the flusher's and the cell's flushes, one at a time, in order
            parts, self.parts, self.size = self.parts, [], 0
            text = self.capture.take() + "".join(parts)
            if text:
                self.publisher.publish("stream", {"name": self._name, "text": text})


class Flusher(threading.Thread):
    """Sends what the streams gathered `STREAM_INTERVAL_S` after a first unsent write, as a
    kernel's streams do: output printed before a cell hangs still reaches the worker."""

    def __init__(self) -> None:
        super().__init__(name="rlgrade-flusher", daemon=True)
        self.wake = threading.Event()
        self.streams: list[CellStream] = []

    def run(self) -> None:
        try:
            while self.wake.wait():
                time.sleep(STREAM_INTERVAL_S)
                self.wake.clear()
                for stream in self.streams:
                    stream.flush()
        except Exception:  # noqa: BLE001 - the worker hung up: the main loop ends the host
            return


class NoKernel:
    """A cell host shell's `kernel`: there is none, but the shell's exit() looks at it."""

    eventloop = None


class CellHost:
    """The host's loop: read a cell, run it in `shell`, send what it published."""

    def __init__(self, connection: socket.socket, shell: Any, language_info: dict) -> None:
        from ipykernel.kernelbase import Kernel

        self.connection, self.shell = connection, shell
        self.publisher = publisher = Publisher(connection)
        flusher = Flusher()
        self.streams = flusher.streams = [
            CellStream(name, publisher, Capture(fd), flusher) for name, fd in (("stdout", 1), ("stderr", 2))
        ]
        flusher.start()
        for hook in (shell.displayhook, shell.display_pub):
            hook.session, hook.pub_socket = publisher, None
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # but while a cell runs (`run`)

        # ipykernel's own functions, on a stand-in kernel that allows no input: the same error,
        # with the same traceback, as a kernel whose client allows none
        no_stdin = types.SimpleNamespace(_allow_stdin=False)
        builtins.input = functools.partial(Kernel.raw_input, no_stdin)
        getpass.getpass = functools.partial(Kernel.getpass, no_stdin)
        sys.stdout, sys.stderr = self.streams
        publisher.publish("kernel_info_reply", {"status": "ok", "language_info": language_info})

    def serve(self) -> None:
        reader = self.connection.makefile("rb")
        while (header := reader.read(HEADER.size)) and len(header) == HEADER.size:
            (size,) = HEADER.unpack(header)
            request = unpack(reader.read(size)) if size <= MAX_FRAME else None
            if request is None:  # not a worker's request: the stream cannot be trusted any more
                return
            self.run(request)
            if self.shell.exit_now:  # exit(): a kernel stops once the cell is done; so does the host
                return

    def run(self, request: dict[str, Any]) -> None:
        shell, publisher = self.shell, self.publisher
        publisher.request_id = request.get("msg_id")
        code = request.get("code", "")
        publisher.publish("status", {"execution_state": "busy"})
        publisher.publish("execute_input", {"code": code, "execution_count": shell.execution_count})
        result = None
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a worker's interrupt: KeyboardInterrupt
        try:
            result = shell.run_cell(
                code, store_history=bool(request.get("store_history", True)), silent=False
            )
        except KeyboardInterrupt:  # arrived in IPython's own steps, around the cell's code
            shell.showtraceback()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late one, after its cell ended, is dropped
        for stream in self.streams:
            stream.flush()
        publisher.publish("execute_reply", self.reply(result))
        publisher.publish("status", {"execution_state": "idle"})

    def reply(self, result: Any) -> dict[str, Any]:
        """The content of a kernel's execute reply (ipykernel's `do_execute`)."""
        shell = self.shell
        if (
            result is not None
            and result.success
            and not getattr(shell, "_last_traceback_during_displayhook", False)
        ):
            content: dict[str, Any] = {"status": "ok", "user_expressions": {}}
        else:
            error = (
                KeyboardInterrupt() if result is None else result.error_before_exec or result.error_in_exec
            )
            content = {  # a failed display has no error of the cell's own: "NoneType", as a kernel says
                "status": "error",
                "traceback": shell._last_traceback or [],
                "ename": type(error).__name__,
                "evalue": str(error),
                "user_expressions": {},
            }
        content["execution_count"] = shell.execution_count - 1
        content["payload"] = shell.payload_manager.read_payload()
        shell.payload_manager.clear_payload()
        return content


def host(path: str, listening: int, app: Any) -> None:
    """Be the cell host of this (already isolated) job on the Unix socket `path`: `app` is the
    zygote's prepared kernel app, whose shell runs the cells. Writes a byte to `listening`
    once the socket listens; returns when the worker hangs up."""
    from ipykernel.ipkernel import IPythonKernel

    shell = app.prepared_shell  # tied to this process as a kernel ties it (zygote.undebuggable_kernel)
    app.init_profile_dir()  # under this job's HOME
    shell.ipython_dir, shell.profile_dir = app.ipython_dir, app.profile_dir
    shell.starting_dir = os.getcwd()
    shell.init_environment()
    shell.init_encoding()
    shell.kernel = NoKernel()
    app.shell = shell
    app.init_pdb()
    app.init_path()
    app.init_extensions()
    app.init_code()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    os.write(listening, b"1")
    os.close(listening)
    connection, _ = listener.accept()
    listener.close()
    CellHost(connection, shell, dict(IPythonKernel.language_info)).serve()


# -- the worker's side ---------------------------------------------------------------------------


class CellHostClient:
    """What nbclient and `ResilientExecute` use of a kernel client, for a cell host: connect,
    take the host's kernel_info (`ready_reply`), send cells, read what comes back."""

    allow_stdin = False

    def __init__(self, path: str, parent: Any = None) -> None:
        self.path, self.parent = path, parent
        self.ready_reply: dict[str, Any] | None = None
        self.connection: socket.socket | None = None
        self.buffer = bytearray()

    def start_channels(self, *_: Any, **__: Any) -> None:
        self.connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.connection.connect(self.path)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        try:
            reply = self.receive(timeout)
        except DeadKernelError:
            raise RuntimeError("the cell host ended before it said it was ready") from None
        if reply is None or reply["msg_type"] != "kernel_info_reply":
            raise RuntimeError(f"the cell host did not say it was ready within {timeout} s")
        self.ready_reply = reply

    def stop_channels(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def execute(self, code: str, store_history: bool = True, **_: Any) -> str:
        """Send one cell; returns its request's id."""
        msg_id = uuid.uuid4().hex
        assert self.connection is not None
        try:
            self.connection.sendall(pack({"msg_id": msg_id, "code": code, "store_history": store_history}))
        except OSError:
            pass  # the host is gone: the first read says so
        return msg_id

    def receive(self, timeout: float | None) -> dict[str, Any] | None:
        """The host's next message, shaped as nbclient reads a kernel's; None if none came
        within `timeout` seconds. Raises DeadKernelError once the host is gone (or sent
        something that is not a frame)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (message := self._next_frame()) is None:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            assert self.connection is not None
            if not select.select([self.connection], [], [], wait)[0]:
                return None
            try:
                chunk = self.connection.recv(1 << 20)
            except ConnectionError:  # the host ended with a request unread
                chunk = b""
            if not chunk:
                raise DeadKernelError("Kernel died")
            self.buffer += chunk
        header = {"msg_type": message.get("msg_type"), "date": datetime.datetime.now(datetime.UTC)}
        return {
            "header": header,
            "msg_type": header["msg_type"],
            "parent_header": {"msg_id": message.get("msg_id")},
            "metadata": message.get("metadata") or {},
            "content": message.get("content") or {},
        }

    def _next_frame(self) -> dict[str, Any] | None:
        if len(self.buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self.buffer)
        if size > MAX_FRAME:
            raise DeadKernelError("the cell host sent a malformed frame")
        if len(self.buffer) < HEADER.size + size:
            return None
        data = bytes(self.buffer[HEADER.size : HEADER.size + size])
        del self.buffer[: HEADER.size + size]
        message = unpack(data)
        if message is None:
            raise DeadKernelError("the cell host sent a malformed frame")
        return message


def wait_for_cell(client: NotebookClient, cell: NotebookNode, cell_index: int, msg_id: str) -> dict[str, Any]:
    """`autograder.direct.wait_for_cell` for a cell host: collect the request's outputs into
    `cell` until the host is idle again; returns the execute reply (or nbclient's stand-in
    when the cell timed out). Timeouts and interrupts follow nbclient's rules."""
    from autograder.direct import replied, timed_out

    kc: CellHostClient = client.kc  # type: ignore[assignment]
    timeout = client._get_timeout(cell)
    deadline = None if timeout is None else time.monotonic() + timeout
    reply: dict[str, Any] | None = None
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        message = kc.receive(wait) if wait is None or wait > 0 else None
        if message is None:  # the deadline passed
            if reply is not None:
                if client.raise_on_iopub_timeout:
                    raise CellTimeoutError.error_from_timeout_and_cell(
                        "Timeout waiting for IOPub output", client.iopub_timeout, cell
                    )
                client.log.warning("Timeout waiting for IOPub output")
                return reply
            assert timeout is not None
            reply = timed_out(client, cell, timeout)
            if reply is None:  # interrupted, no stand-in reply: wait as long again
                deadline = time.monotonic() + timeout
            else:
                reply["parent_header"] = {"msg_id": msg_id}
                replied(client, cell, reply)
                deadline = time.monotonic() + client.iopub_timeout
            continue
        if message["parent_header"]["msg_id"] != msg_id:
            continue
        if message["msg_type"] == "execute_reply":
            if reply is None:
                reply = message
                replied(client, cell, reply)
                deadline = time.monotonic() + client.iopub_timeout
            continue
        try:
            client.process_message(message, cell, cell_index)
        except CellExecutionComplete:
            if reply is not None:
                return reply
