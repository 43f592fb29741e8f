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

import atexit
import itertools
import json
import multiprocessing.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import DottedObjectName, Type

from autograder.sandbox import SandboxedKernelManager, require_sandbox, sandbox_command

START_TIMEOUT_S = 120.0
HARD_KILL_AFTER_S = 2.0
UID_BASE = 61000  # one unprivileged uid per running kernel when grading as root
THREADS_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class QuickStartClient(AsyncKernelClient):
    """jupyter_client's client, minus its fixed waits of 0.2 s (for IOPub to connect, then
    for late IOPub messages): a forked kernel answers within milliseconds, so ask again
    at short intervals instead; nbclient ignores messages that are not replies to its own
    requests anyway."""

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
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                return

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
    """One zygote and the kernels it forked. Thread-safe; started on first use."""

    def __init__(self, threads: int = 1, **limits: int) -> None:
        self.threads = threads
        self.limits = limits
        # Not under /tmp: each kernel mounts its own /tmp over that of the zygote.
        base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
        self.jobs_root = Path(tempfile.mkdtemp(prefix="rlgrade-pool-", dir=base))
        os.chmod(self.jobs_root, 0o755)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._process: subprocess.Popen | None = None
        self._ready = False
        self._exits: dict[str, int] = {}
        self._started: set[str] = set()
        self._free_uids: list[int] = []
        self._uid_of: dict[str, int] = {}
        self._next_uid = itertools.count(UID_BASE)
        self._ids = itertools.count()
        self.starts = 0  # zygotes started: 1 unless one died (a restart costs seconds)

    # -- zygote -------------------------------------------------------------------
    def _zygote_env(self) -> dict[str, str]:
        env = {name: str(self.threads) for name in THREADS_ENV}
        env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger, imported ahead
        if os.environ.get("RLGRADE_SMALL_PAGES"):  # benchmarks: the zygote without 2 MiB pages
            env["RLGRADE_SMALL_PAGES"] = "1"
        return env

    def _ensure_zygote(self) -> subprocess.Popen:
        """The running zygote (started, or started again after it died). Caller holds the lock."""
        if self._process is not None and self._process.poll() is None:
            return self._process
        require_sandbox()
        empty = self.jobs_root.parent / f"{self.jobs_root.name}-empty"
        empty.mkdir(exist_ok=True)
        inner = [sys.executable, "-m", "autograder.zygote", "--jobs", str(self.jobs_root)]
        inner += [f"--{k.replace('_', '-')}={v}" for k, v in self.limits.items()]
        cmd = sandbox_command(
            inner, self.jobs_root, empty, self._zygote_env(), self.limits["scratch_mb"], own_proc=False
        )
        if os.geteuid() == 0:  # the zygote only gives each job its own uid, and kills jobs
            caps = ["--cap-drop", "ALL"]
            caps += [arg for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL") for arg in ("--cap-add", cap)]
            cmd[1:1] = caps
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=self.jobs_root
            )
        self._ready = False
        self.starts += 1
        threading.Thread(target=self._read_events, args=(self._process,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready:
            if self._process.poll() is not None:
                raise PoolError(
                    f"the kernel zygote exited with status {self._process.returncode}: {self.log_tail()}"
                )
            if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise PoolError(f"the kernel zygote did not start within {START_TIMEOUT_S:.0f} s")
        return self._process

    @property
    def log_path(self) -> Path:
        """The zygote's stderr (start-up problems, jobs that could not isolate themselves)."""
        return self.jobs_root.with_name(f"{self.jobs_root.name}.log")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-600:].strip() or "(no message)"
        except OSError:
            return "(no log)"

    def _read_events(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            event = json.loads(line)
            with self._lock:
                if event["event"] == "ready":
                    self._ready = True
                elif event["event"] == "exited":
                    self._exits[event["job"]] = int(event["status"])
                    self._release_uid(event["job"])
                elif event["event"] == "listening":
                    self._started.add(event["job"])
                self._changed.notify_all()
        with self._lock:  # the zygote is gone, and with it every kernel it forked
            for job in list(self._uid_of):
                self._exits.setdefault(job, -9)
                self._release_uid(job)
            self._changed.notify_all()

    def _send(self, request: dict) -> None:
        process = self._ensure_zygote()
        assert process.stdin is not None
        process.stdin.write((json.dumps(request) + "\n").encode())
        process.stdin.flush()

    def _release_uid(self, job: str) -> None:
        uid = self._uid_of.pop(job, None)
        if uid is not None:
            self._free_uids.append(uid)

    # -- jobs -----------------------------------------------------------------------
    def new_job(self) -> tuple[str, Path, int]:
        """A job id, its folder (to fill with conn/ and work/) and the uid it will run as."""
        with self._lock:
            job = f"job{next(self._ids)}"
            uid = self._free_uids.pop() if self._free_uids else next(self._next_uid)
            self._uid_of[job] = uid
        return job, self.jobs_root / job, uid

    def start(self, job: str, env: dict[str, str]) -> ForkedKernel:
        with self._lock:
            uid = self._uid_of.get(job)
            self._send({"op": "start", "job": job, "uid": uid if os.geteuid() == 0 else None, "env": env})
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
        reports the end, and only then is the job's uid given to another job. A job still
        there `HARD_KILL_AFTER_S` later is ended the hard way."""
        with self._lock:
            if job in self._exits or self._process is None or self._process.poll() is not None:
                return
            self._send({"op": "kill", "job": job})
        timer = threading.Timer(HARD_KILL_AFTER_S, self._kill_hard, args=(job,))
        timer.daemon = True
        timer.start()

    def _kill_hard(self, job: str) -> None:
        with self._lock:
            if job not in self._exits and self._process is not None and self._process.poll() is None:
                self._send({"op": "kill", "job": job, "hard": True})

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                if self._process.stdin:
                    self._process.stdin.close()  # the zygote kills its jobs and exits
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None
        shutil.rmtree(self.jobs_root, ignore_errors=True)
        shutil.rmtree(self.jobs_root.parent / f"{self.jobs_root.name}-empty", ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


_POOL: KernelPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool(manager: SandboxedKernelManager) -> KernelPool:
    """The process's pool, made with the manager's limits on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            # Stop the zygote and remove its folder when this process ends, also when it is a
            # multiprocessing worker (those skip atexit and run their Finalize hooks instead).
            atexit.register(close_shared_pool)
            multiprocessing.util.Finalize(None, close_shared_pool, exitpriority=10)
            _POOL = KernelPool(
                memory_mb=manager.memory_mb,
                cpu_seconds=manager.cpu_seconds,
                processes=manager.processes,
                file_mb=manager.file_mb,
                scratch_mb=manager.scratch_mb,
            )
        return _POOL


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

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        pool = shared_pool(self)
        self._job, runtime, uid = pool.new_job()
        kernel_cmd, kw, env = await self._prepare_runtime(runtime, uid, **kw)
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
        provisioner.process = shared_pool(self).start(self._job, self._kernel_env)
        provisioner.pid = provisioner.pgid = None
        self._reconcile_connection_info(provisioner.connection_info)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        """End the kernel's sandbox and go on: the zygote reaps it in the meantime (jupyter_client
        would check every 0.1 s until it is gone, ~60 ms a notebook)."""
        provisioner: Any = self.provisioner
        if provisioner is not None and provisioner.process is not None:
            provisioner.process.kill()
            provisioner.process = None
