"""Warm, isolated kernels: the grader's side of `autograder.zygote`.

`KernelPool` starts one zygote (a Python that already imported torch, in the bubblewrap
sandbox of `autograder.sandbox`) and asks it to fork one kernel per notebook; every kernel
is used for exactly one notebook and then discarded. `PooledKernelManager` is the Jupyter
kernel manager nbgrader's Execute uses with it: everything else (connection over Unix
sockets, interrupts over the control channel, timeouts, kernel death) works as for
`SandboxedKernelManager`, whose isolation it keeps; only the start costs milliseconds
instead of a fresh interpreter and `import torch`.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import multiprocessing.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, List, Type, Unicode

from autograder.judging import SOCKET_NAME as JUDGE_SOCKET
from autograder.sandbox import SandboxedKernelManager, require_sandbox, sandbox_command
from autograder.zygote import COURSE_MODULES

START_TIMEOUT_S = 120.0
HARD_KILL_AFTER_S = 2.0
THREADS_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
DIRECT_CAPS = ("CAP_SYS_ADMIN", "CAP_CHOWN")  # a root zygote's, to fork jobs into new namespaces


class QuickStartClient(AsyncKernelClient):
    """jupyter_client's client, minus its fixed waits of 0.2 s (for IOPub to connect, then
    for late IOPub messages): a forked kernel answers within milliseconds, so ask again
    at short intervals instead. Late IOPub messages (the status of the kernel_info request)
    are left in the queue: nbclient skips every message that is not about its own request.

    It opens only the channels a grader uses: no stdin (nbclient never allows input) and no
    heartbeat (its kernel manager tells whether the kernel lives), each a socket, and the
    heartbeat a thread with an event loop of its own, for every notebook. `ready_reply` keeps
    the kernel_info reply that showed the kernel ready, so that the executor need not ask again
    (`autograder.preprocessors.ResilientExecute`)."""

    ready_reply: dict[str, Any] | None = None

    def start_channels(
        self,
        shell: bool = True,
        iopub: bool = True,
        stdin: bool = False,
        hb: bool = False,
        control: bool = True,
    ) -> None:
        """The channels asked for, but never stdin or the heartbeat (see the class doc)."""
        super().start_channels(shell=shell, iopub=iopub, stdin=False, hb=False, control=control)

    def stop_channels(self) -> None:
        # jupyter_client's version makes every channel it never started (a socket each) to ask
        # whether it runs; these are the only ones that can
        for channel in (self._shell_channel, self._iopub_channel, self._control_channel):
            if channel is not None and channel.is_alive():
                channel.stop()
        if self._created_context and not self.context.closed:
            self.context.destroy(linger=100)

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or START_TIMEOUT_S)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=0.5)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once it carries the status of such a request
                    await self.iopub_channel.get_msg(timeout=0.02)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    self.ready_reply = reply
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready


class PoolError(RuntimeError):
    """The zygote could not be started or stopped answering."""


class ForkedKernel:
    """A kernel forked by the zygote, with the parts of `subprocess.Popen` that
    jupyter_client's provisioner uses (poll, wait, kill, terminate, send_signal)."""

    stdin = stdout = stderr = None

    def __init__(self, pool: KernelPool, job: str) -> None:
        self.pool, self.job, self.pid = pool, job, None
        self.returncode: int | None = None

    def poll(self) -> int | None:
        self.returncode = self.pool.exit_status(self.job)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.job}", timeout or 0)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        # Interrupts travel over the control channel (interrupt_mode "message"); any
        # other signal ends the job, as it would end a kernel process.
        self.kill()

    def kill(self) -> None:
        self.pool.kill(self.job)

    terminate = kill


class KernelPool:
    """A zygote and the kernels it forked for this process. Thread-safe; started on first use.

    A pool either starts its own zygote (optionally `shared`: other processes may then use
    it, at `address`) or, given the `address` of another process's zygote, uses that one;
    if that zygote is gone, or was started with other limits, it starts its own."""

    def __init__(
        self,
        threads: int = 1,
        address: str | None = None,
        shared: bool = False,
        preload: tuple[str, ...] = COURSE_MODULES,
        direct: bool = True,
        **limits: int,
    ) -> None:
        self.threads = threads
        # As root, our own zygote forks each job straight into namespaces of its own (False:
        # each job makes them and forks a middle process, as without root; for tests)
        self.direct = direct
        self.limits = limits
        self.preload = preload  # what our own zygote imports before it forks (its `--preload`)
        self.shared = shared
        self.address = address  # of a zygote another process started; None once given up
        self.jobs_root = Path(address).parent if address else self._new_root()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._process: subprocess.Popen | None = None  # our own zygote
        self._connection: socket.socket | None = None  # to another process's zygote
        self._ready = False
        self._exits: dict[str, int] = {}
        self._started: set[str] = set()
        self._mine: set[str] = set()  # reserved or running, not yet ended
        self._reserved: dict[int, tuple[str, int | None]] = {}  # request ref -> (job, uid)
        self._refs = itertools.count()
        self.starts = 0  # zygotes this pool started: 1 unless one died (a restart costs seconds)
        self._hello_limits: dict[str, int] | None = None

    @staticmethod
    def _new_root() -> Path:
        # Not under /tmp: each kernel mounts its own /tmp over that of the zygote.
        base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
        remove_abandoned_pools(Path(base or tempfile.gettempdir()))
        root = Path(tempfile.mkdtemp(prefix=POOL_PREFIX, dir=base))
        os.chmod(root, 0o755)
        (root / OWNER_FILE).write_text(process_identity(os.getpid()))
        return root

    # -- zygote -------------------------------------------------------------------
    def _zygote_env(self) -> dict[str, str]:
        env = {name: str(self.threads) for name in THREADS_ENV}
        env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger, imported ahead
        if os.environ.get("RLGRADE_SMALL_PAGES"):  # benchmarks: the zygote without 2 MiB pages
            env["RLGRADE_SMALL_PAGES"] = "1"
        return env

    def _alive(self) -> bool:
        if self._connection is not None:
            return True
        return self._process is not None and self._process.poll() is None

    def _ensure_zygote(self) -> None:
        """A zygote that answers (connected to, started, or started again after it died).
        Caller holds the lock."""
        if not self._alive() and self.address is not None:
            try:
                self._connect(self.address)
                return
            except (OSError, PoolError) as exc:
                print(
                    f"rlgrade: the shared kernel zygote is not usable ({exc}); starting one here",
                    file=sys.stderr,
                )
                self.address = None
                self.jobs_root = self._new_root()
        if not self._alive():
            self._launch()
        self._wait_ready()

    def _connect(self, address: str) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(address)
        self._connection, self._ready = connection, False
        threading.Thread(
            target=self._read_events, args=(connection.makefile("rb"), connection), daemon=True
        ).start()
        self._wait_ready()
        if self._hello_limits != self.limits:
            self._drop_connection()
            raise PoolError(
                f"it runs with limits {self._hello_limits}, this grading run asks for {self.limits}"
            )

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:  # at once, also for the events reader still holding a file of the socket
                self._connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._connection.close()
            self._connection = None

    def _listen(self, name: str) -> socket.socket:
        """A listening Unix socket in the jobs folder, for the zygote to take over."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = self.jobs_root / name
        path.unlink(missing_ok=True)
        old_mask = os.umask(0o177)  # only this user may connect
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_mask)
        listener.listen(64)
        return listener

    def _launch(self) -> None:
        """Start our own zygote, without waiting for it. Caller holds the lock."""
        require_sandbox()
        empty = self.jobs_root.parent / f"{self.jobs_root.name}-empty"
        empty.mkdir(exist_ok=True)
        inner = [sys.executable, "-m", "autograder.zygote", "--jobs", str(self.jobs_root)]
        inner += [f"--{k.replace('_', '-')}={v}" for k, v in self.limits.items()]
        inner += ["--preload", *self.preload]
        listener = self._listen(SOCKET_NAME) if self.shared else None
        if listener is not None:
            inner.append(f"--listen-fd={listener.fileno()}")
        judges = self._listen(JUDGE_SOCKET)  # this process's workers judge there (autograder.judging)
        inner.append(f"--judge-fd={judges.fileno()}")
        direct = self.direct and os.geteuid() == 0
        # A job that mounts its /proc in a user namespace of its own needs the host's complete
        # /proc in sight (bwrap's has read-only parts); one that mounts it as root does not.
        cmd = sandbox_command(
            inner, self.jobs_root, empty, self._zygote_env(), self.limits["scratch_mb"], own_proc=direct
        )
        if os.geteuid() == 0:  # the zygote gives each job its own uid, and kills jobs
            # with SYS_ADMIN and CHOWN it forks each job straight into new namespaces, where the
            # job mounts its folders and /proc as root and then drops root and every capability
            # (autograder.zygote.PidNamespaces): one fork per kernel instead of two
            caps = ["CAP_SETUID", "CAP_SETGID", "CAP_KILL", *(DIRECT_CAPS if direct else ())]
            cmd[1:1] = ["--cap-drop", "ALL", *(arg for cap in caps for arg in ("--cap-add", cap))]
        try:
            with open(self.log_path, "ab") as log:
                self._process = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=self.jobs_root,
                    pass_fds=[judges.fileno(), *([listener.fileno()] if listener else [])],
                )
        finally:  # the zygote's copies stay: with them gone, clients hear so
            judges.close()
            if listener is not None:
                listener.close()
        self._ready = False
        self.starts += 1
        assert self._process.stdout is not None
        threading.Thread(target=self._read_events, args=(self._process.stdout, None), daemon=True).start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready:
            if not self._alive():
                if self._process is not None and self._process.poll() is not None:
                    raise PoolError(
                        f"the kernel zygote exited with status {self._process.returncode}: {self.log_tail()}"
                    )
                raise PoolError("the kernel zygote went away")
            if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise PoolError(f"the kernel zygote did not start within {START_TIMEOUT_S:.0f} s")

    def launch(self) -> str | None:
        """Start our own zygote now, without waiting for it; returns the address other
        processes reach it at (when `shared`)."""
        with self._lock:
            if not self._alive():
                self._launch()
        return str(self.jobs_root / SOCKET_NAME) if self.shared else None

    @property
    def log_path(self) -> Path:
        """The zygote's stderr (start-up problems, jobs that could not isolate themselves)."""
        return self.jobs_root.with_name(f"{self.jobs_root.name}.log")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-600:].strip() or "(no message)"
        except OSError:
            return "(no log)"

    def _read_events(self, stream: Any, connection: socket.socket | None) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                # e.g. a library that printed: the zygote's own events are one JSON object a line
                print(
                    f"rlgrade: the kernel zygote sent a line that is no event: {line[:200]!r}",
                    file=sys.stderr,
                )
                continue
            with self._lock:
                kind = event["event"]
                if kind in ("ready", "hello"):
                    self._ready = True
                    self._hello_limits = event.get("limits")
                elif kind == "reserved":
                    self._reserved[event["ref"]] = (event["job"], event["uid"])
                elif kind == "exited":
                    self._exits[event["job"]] = int(event["status"])
                    self._mine.discard(event["job"])
                elif kind == "listening":
                    self._started.add(event["job"])
                self._changed.notify_all()
        with self._lock:  # the zygote is gone, and with it every kernel it forked for us
            for job in self._mine:
                self._exits.setdefault(job, -9)
            self._mine.clear()
            if connection is not None and self._connection is connection:
                self._connection = None
            self._changed.notify_all()

    def _send(self, request: dict) -> None:
        data = (json.dumps(request) + "\n").encode()
        if self._connection is not None:
            self._connection.sendall(data)
        else:
            assert self._process is not None and self._process.stdin is not None
            self._process.stdin.write(data)
            self._process.stdin.flush()

    # -- jobs -----------------------------------------------------------------------
    def new_job(self) -> tuple[str, Path, int | None]:
        """A job (named by the zygote), its folder (to fill with conn/ and work/) and the uid
        it will run as (None when not grading as root)."""
        with self._lock:
            self._ensure_zygote()
            ref = next(self._refs)
            self._send({"op": "reserve", "ref": ref})
            deadline = time.monotonic() + START_TIMEOUT_S
            while ref not in self._reserved:
                if not self._alive() or not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise PoolError("the kernel zygote did not answer")
            job, uid = self._reserved.pop(ref)
            self._mine.add(job)
        return job, self.jobs_root / job, uid

    def release(self, job: str) -> None:
        """Give back a job that will not be started."""
        with self._lock:
            if job in self._mine and self._alive():
                self._mine.discard(job)
                self._send({"op": "release", "job": job})

    def start(self, job: str, env: dict[str, str], cell_host: bool = False) -> ForkedKernel:
        self.ask_to_start(job, env, cell_host)
        return self.started(job)

    def ask_to_start(self, job: str, env: dict[str, str], cell_host: bool = False) -> None:
        """Have the zygote fork the job's kernel (or cell host, `autograder.cellhost`),
        without waiting for it (see `started`)."""
        with self._lock:
            if job not in self._mine or not self._alive():
                raise PoolError(f"the kernel zygote that {job} was reserved from is gone")
            self._send({"op": "start", "job": job, "env": env, **({"host": "cells"} if cell_host else {})})

    def interrupt(self, job: str) -> None:
        """Interrupt the running cell of the job's cell host (SIGINT, sent by the zygote)."""
        with self._lock:
            if job not in self._exits and self._alive():
                self._send({"op": "interrupt", "job": job})

    def started(self, job: str) -> ForkedKernel:
        """The job's kernel, once it listens (or has ended) after `ask_to_start`."""
        with self._lock:
            deadline = time.monotonic() + START_TIMEOUT_S
            while job not in self._started and job not in self._exits:
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise PoolError(f"the kernel zygote did not fork {job}")
        return ForkedKernel(self, job)

    def exit_status(self, job: str) -> int | None:
        with self._lock:
            return self._exits.get(job)

    def kill(self, job: str) -> None:
        """End the job's sandbox (all its processes) without waiting for it: the zygote
        reports the end, and only then gives the job's uid to another job. A job still
        there `HARD_KILL_AFTER_S` later is ended the hard way."""
        with self._lock:
            if job in self._exits or not self._alive():
                return
            self._send({"op": "kill", "job": job})
        timer = threading.Timer(HARD_KILL_AFTER_S, self._kill_hard, args=(job,))
        timer.daemon = True
        timer.start()

    def _kill_hard(self, job: str) -> None:
        with self._lock:
            if job not in self._exits and self._alive():
                self._send({"op": "kill", "job": job, "hard": True})

    def close(self) -> None:
        with self._lock:
            self._drop_connection()  # the zygote ends whatever of ours still runs
            if self._process is not None:
                if self._process.stdin:
                    self._process.stdin.close()  # the zygote kills its jobs and exits
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None
        if self.address is None:  # the folders are ours
            remove_pool_folder(self.jobs_root)


POOL_PREFIX, OWNER_FILE, SOCKET_NAME = "rlgrade-pool-", "owner", "zygote.sock"


def process_identity(pid: int) -> str:
    """pid and start time: names one process for good (a pid alone is reused)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return f"{pid} {stat[stat.rindex(')') + 2 :].split()[19]}"


def remove_pool_folder(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(root.parent / f"{root.name}-empty", ignore_errors=True)
    root.with_name(f"{root.name}.log").unlink(missing_ok=True)


def remove_abandoned_pools(base: Path) -> None:
    """Remove the folders of pools whose grading process is gone without cleaning up
    (killed with SIGKILL, or the machine lost power)."""
    for root in base.glob(f"{POOL_PREFIX}*"):
        if not root.is_dir() or root.name.endswith("-empty"):
            continue
        try:
            owner = (root / OWNER_FILE).read_text()
        except OSError:
            continue  # being made right now, or not ours to judge
        if owner and process_identity(int(owner.split()[0])) != owner:
            remove_pool_folder(root)


_POOL: KernelPool | None = None
_POOL_LOCK = threading.Lock()
_ZYGOTE_ADDRESS: str | None = None  # of the zygote this process's pool should use


def limits_of(manager: SandboxedKernelManager) -> dict[str, int]:
    names = ("memory_mb", "cpu_seconds", "processes", "file_mb", "scratch_mb")
    return {name: getattr(manager, name) for name in names}


def shared_pool(manager: SandboxedKernelManager, shared: bool = False) -> KernelPool:
    """The process's pool, made with the manager's limits on first use (using the zygote
    at `use_zygote_at`'s address, if one was given)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            # Stop the zygote and remove its folder when this process ends, also when it is a
            # multiprocessing worker (those skip atexit and run their Finalize hooks instead).
            atexit.register(close_shared_pool)
            multiprocessing.util.Finalize(None, close_shared_pool, exitpriority=10)
            preload = tuple(getattr(manager, "preload", COURSE_MODULES))
            _POOL = KernelPool(address=_ZYGOTE_ADDRESS, shared=shared, preload=preload, **limits_of(manager))
        return _POOL


def zygote_folder() -> Path | None:
    """The jobs folder of the zygote this process's kernels come from (its judge listens
    there, see autograder.judging), or None before the first warm kernel."""
    pool = _POOL
    return None if pool is None else pool.jobs_root


def use_zygote_at(address: str | None) -> None:
    """Make this process's pool use the zygote another process shares at `address`
    (the initializer of local grading workers)."""
    global _ZYGOTE_ADDRESS
    _ZYGOTE_ADDRESS = address


def share_zygote(manager: SandboxedKernelManager) -> str | None:
    """Start this process's zygote now, in the background, open to other processes (the
    grading process, for its workers: one zygote, started once, serves them all); returns
    the address to give them."""
    return shared_pool(manager, shared=True).launch()


def close_shared_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None


class PooledKernelManager(SandboxedKernelManager):
    """A kernel forked from the warm zygote, isolated as a sandboxed kernel is."""

    client_class = DottedObjectName("autograder.pool.QuickStartClient")
    client_factory = Type(QuickStartClient, klass=AsyncKernelClient)
    preload = List(
        Unicode(),
        default_value=list(COURSE_MODULES),
        help="Modules the zygote imports once, before it forks kernels: what the notebooks import "
        "(autograde sets it from the assignment's source notebooks). 'torch.optim' also takes a first "
        "optimizer step there, and any matplotlib module draws a first plot.",
    ).tag(config=True)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        pool = shared_pool(self)
        self._job, runtime, uid = pool.new_job()
        try:
            kernel_cmd, kw, env = await self._prepare_runtime(
                runtime, os.getuid() if uid is None else uid, **kw
            )
        except BaseException:
            pool.release(self._job)
            raise
        env.pop("JPY_PARENT_PID", None)  # the kernel is PID 1 of its own namespace
        env.update(pool._zygote_env())
        env.setdefault("MPLBACKEND", "Agg")
        env.setdefault("HOME", "/tmp")
        env.setdefault("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
        self._kernel_env = env
        return kernel_cmd, kw

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self.provisioner is not None
        provisioner: Any = self.provisioner
        pool = shared_pool(self)
        if self._asked is None:  # not asked for ahead (`_ask`)
            pool.ask_to_start(self._job, self._kernel_env, self.cell_host)
        self._asked = None
        provisioner.process = pool.started(self._job)
        provisioner.pid = provisioner.pgid = None
        self._reconcile_connection_info(provisioner.connection_info)

    # Run the cells in a cell host (autograder.cellhost), not a kernel: set by ResilientExecute.
    cell_host = False

    def client(self, **kwargs: Any) -> Any:
        if not self.cell_host:
            return super().client(**kwargs)
        from autograder.cellhost import SOCKET_NAME, CellHostClient

        return CellHostClient(str(Path(self.runtime_dir) / "conn" / SOCKET_NAME), parent=self)

    async def _async_interrupt_kernel(self) -> None:
        if not self.cell_host:
            return await super()._async_interrupt_kernel()
        shared_pool(self).interrupt(self._job)

    interrupt_kernel = _async_interrupt_kernel

    # set by `start_kernel` while `only_ask` is True: the kernel is asked for, not yet waited for
    _asked: tuple[list[str], dict[str, Any]] | None = None
    only_ask = False  # `start_kernel` only asks the zygote for the kernel (see `_start`)

    # jupyter_client's start and shutdown pause 10 ms each after their work (its
    # `in_pending_state` decorator sleeps so that its own tests can observe the pending
    # state): 20 ms a notebook in which its worker has nothing to do. These run the same
    # steps undecorated and keep the `ready` future as the decorator does.
    async def start_kernel(self, **kw: Any) -> None:
        if self.only_ask:
            await self._ask(**kw)
        else:
            await self._settle(self._start(**kw))

    async def _ask(self, **kw: Any) -> None:
        """The first half of jupyter_client's start: prepare the kernel's folder and have the
        zygote fork it, without waiting. A worker does this for its next notebook while the
        current one runs (autograder.parallel.NotebookRun); the next `start_kernel` finishes."""
        self._attempted_start = True
        kernel_cmd, kw = await self._async_pre_start_kernel(**kw)
        try:
            shared_pool(self).ask_to_start(self._job, self._kernel_env, self.cell_host)
        except BaseException:
            shared_pool(self).release(self._job)
            raise
        self._asked = (kernel_cmd, kw)

    async def _start(self, **kw: Any) -> None:
        if self._asked is None:
            self._attempted_start = True
            kernel_cmd, kw = await self._async_pre_start_kernel(**kw)
        else:
            kernel_cmd, kw = self._asked
        await self._async_launch_kernel(kernel_cmd, **kw)
        await self._async_post_start_kernel(**kw)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        await self._settle(AsyncKernelManager._async_shutdown_kernel.__wrapped__(self, now, restart))

    async def _settle(self, step: Coroutine[Any, Any, None]) -> None:
        if self._attempted_start or not self._ready:
            self._ready = asyncio.get_running_loop().create_future()
        try:
            await step
        except Exception as exc:
            self._ready.set_exception(exc)
            raise
        if self.owns_kernel:
            self._ready.set_result(None)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        """End the kernel's sandbox and go on: the zygote reaps it in the meantime (jupyter_client
        would check every 0.1 s until it is gone, ~60 ms a notebook)."""
        provisioner: Any = self.provisioner
        if provisioner is not None and provisioner.process is not None:
            provisioner.process.kill()
            provisioner.process = None
        elif self._asked is not None:  # asked for (`_ask`), never waited for
            shared_pool(self).kill(self._job)
            self._asked = None
