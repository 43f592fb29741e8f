"""A warm kernel factory: imports torch & co. once, then forks one isolated kernel per notebook.

    python -m autograder.zygote --jobs ROOT --memory-mb M --cpu-seconds S --processes P \\
        --file-mb F --scratch-mb T [--preload torch torch.optim ...]

It runs inside the bubblewrap sandbox of `autograder.sandbox` (no course files, no network)
and speaks JSON lines with its clients: the grading process that started it (requests on
stdin, events on stdout) and, with --listen-fd, any process that connects to the Unix
socket its owner made (the workers of a local grading run: one zygote serves them all).

    (on connecting)                                -> {"event": "hello", "pid": P, "limits": {...}}
    {"op": "reserve", "ref": R}                    -> {"event": "reserved", "ref": R, "job": "J", "uid": U}
    {"op": "start", "job": "J", "env": {...}[, "host": "cells"]}
                                                   -> {"event": "listening", "job": "J"}
    {"op": "interrupt", "job": "J"}                (SIGINT to a cell host: its running cell)
    {"op": "kill", "job": "J"[, "hard": true]}      (ends the job's whole sandbox)
                                                   -> {"event": "exited", "job": "J", "status": N}
    {"op": "release", "job": "J"}                  (a reserved job that will not start)

A client sees and ends only its own jobs. The zygote names the jobs and hands out the uids
(one per job, reused only once the job has ended), so clients never collide. A client that
goes away takes its jobs with it; the owner going away ends the zygote and every job.

For each job a fresh process is forked; before it runs any student code it isolates itself
from the zygote and from every other job (`isolate`):
* new mount, PID, network, IPC and UTS namespaces: other jobs' processes can be neither
  seen nor signalled;
* private /tmp and working folder (tmpfs), the job's own files copied in; the folder of all
  jobs is covered, only this job's connection folder is put back; a /proc of its own;
* as root it becomes the job's own unprivileged uid (the process limit counts per user, so
  one job's fork bomb cannot starve another), in a user namespace of its own;
* resource limits (autograder.confine), every capability dropped, no_new_privs;
* then ipykernel's IPython kernel (less its debugger) starts on the job's connection file,
  over Unix sockets; or, asked with "host": "cells", a cell host (`autograder.cellhost`):
  the same IPython shell, sent cells over one Unix socket, without a kernel's transport.
The kernel is PID 1 of its PID namespace: when it ends, Linux ends every process of the job.
A zygote running as root forks it straight into a new PID namespace (`PidNamespaces`);
otherwise the job makes its own namespaces and forks once more, and that middle process
relays the kernel's exit status (killing it kills the whole job).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import gc
import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

from autograder.confine import set_limits
from autograder.sandbox import readable_roots

WORKDIR = "/home/student/work"
# What ipykernel imports while it starts (its debugger alone takes a third of a second) and
# what every graded kernel runs: always imported.
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.history",
    # imported while the kernel initialises (its debugger, inspector and completer)
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.core.logger",
    "faulthandler",
    "tornado.platform.asyncio",
    "autograder.engine",
    "autograder.cellhost",
)
# What a course notebook imports, for a zygote not told what its notebooks import
# (`--preload`). "torch.optim" also takes the first optimizer step (`warm_up`).
COURSE_MODULES = (
    "torch",
    "torch.optim",
    "numpy",
    "matplotlib.pyplot",
    "gymnasium",
    "gymnasium.envs.classic_control",
    "torchvision",
)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
JOB_NAMESPACES = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS  # besides its PID and user ones
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
SYS_CAPSET = 126  # x86_64
LAST_CAP = 63
MADV_COLLAPSE, HUGE_PAGE = 25, 2 << 20  # Linux 6.1+; 2 MiB pages on x86_64
UID_BASE = 61000  # one unprivileged uid per running job when the zygote runs as root
JUDGE_UID = UID_BASE - 1  # the judges' (autograder.judging), when the zygote runs as root

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _drop_capabilities() -> None:
    for cap in range(LAST_CAP + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last cap: ignored
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2 words: all zero
    _check(_libc.syscall(SYS_CAPSET, header, data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def private_folders(own: Path, jobs: Path, scratch_mb: int, owner: int | None = None) -> None:
    """A fresh /tmp and working folder (with a copy of the job's files), the folder of all jobs
    covered with only this job's conn/ put back. What must stay visible and lies below a folder
    that gets covered (the course's venv or this package under /tmp, conn/) is first bound to
    a staging area, then moved back into place. `owner`: the uid the working folder and its
    files are given (made here by real root, for a job that gives up root afterwards)."""
    keep = [root for root in readable_roots() if root.is_relative_to("/tmp") or root.is_relative_to(jobs)]
    stage = Path(WORKDIR)  # a throw-away tmpfs while the mounts are moved around
    tmpfs = MS_NOSUID | MS_NODEV
    _mount("tmpfs", str(stage), "tmpfs", tmpfs, "size=1m,mode=0700")
    moves = [(own / "conn", False), (own / "work", False), *((root, True) for root in keep)]
    for k, (path, _) in enumerate(moves):
        (stage / str(k)).mkdir()
        _mount(str(path), str(stage / str(k)), None, MS_BIND | MS_REC)
    _mount("tmpfs", str(jobs), "tmpfs", tmpfs, "size=1m,mode=0755")
    _mount("tmpfs", "/tmp", "tmpfs", tmpfs, f"size={scratch_mb}m,mode=1777")
    work_copy = Path("/tmp/.rlgrade-work")
    for k, (path, read_only) in enumerate(moves):
        target = work_copy if path == own / "work" else path
        target.mkdir(parents=True, exist_ok=True)
        _mount(str(stage / str(k)), str(target), None, MS_MOVE)
        if read_only and not os.statvfs(target).f_flag & os.ST_RDONLY:
            _mount(None, str(target), None, MS_REMOUNT | MS_BIND | MS_RDONLY | tmpfs)
    _check(_libc.umount2(str(stage).encode(), 0), "umount staging")
    _mount("tmpfs", WORKDIR, "tmpfs", tmpfs, f"size={scratch_mb}m,mode=0755")
    shutil.copytree(work_copy, WORKDIR, dirs_exist_ok=True, symlinks=True)
    if owner is not None:
        os.chown(WORKDIR, owner, owner)
        for folder, dirs, files in os.walk(WORKDIR):
            for name in (*dirs, *files):
                os.lchown(os.path.join(folder, name), owner, owner)
    _check(_libc.umount2(str(work_copy).encode(), 0), "umount work copy")
    work_copy.rmdir()


class PidNamespaces:
    """Forks each job straight into a PID namespace of its own, where it is PID 1.

    Only a zygote with CAP_SYS_ADMIN can (grading as root, the pool gives it that): it unshares a
    PID namespace for its next child, forks, and goes back to its own with setns. A job
    forked so needs no middle process (see `isolate`): a second copy of the zygote's address
    space fewer, made and torn down, for every kernel. Without the capability, `fork` is a
    plain fork and each job makes its own namespaces."""

    def __init__(self) -> None:
        self.own: int | None = None  # a descriptor of the zygote's PID namespace
        if os.geteuid() != 0:
            return
        try:
            fd = os.open("/proc/self/ns/pid", os.O_RDONLY)
        except OSError:
            return
        if _libc.setns(fd, CLONE_NEWPID) == 0:  # allowed back into its own: it can do the rest
            self.own = fd
        else:
            os.close(fd)

    @property
    def direct(self) -> bool:
        return self.own is not None

    def fork(self) -> int:
        """os.fork(); with `direct`, the child is PID 1 of a new PID namespace."""
        if self.own is None:
            return os.fork()
        _check(_libc.unshare(CLONE_NEWPID), "unshare a PID namespace")
        try:
            pid = os.fork()
        except BaseException:
            self._back()
            raise
        if pid:
            self._back()
        return pid

    def _back(self) -> None:
        _check(_libc.setns(self.own, CLONE_NEWPID), "setns back to the zygote's PID namespace")


def become(uid: int | None) -> None:
    """As root: become the job's own unprivileged uid (no groups); every capability goes."""
    if uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # a uid change made /proc/self root's


def map_root_to_self(namespaces: int) -> None:
    """unshare `namespaces` (CLONE_NEWUSER among them), mapping root in the new user
    namespace to this process's own uid and gid outside it."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(namespaces), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {outer_uid} 1")
    _write("/proc/self/gid_map", f"0 {outer_gid} 1")


def enclose(jobs: Path, job: str, limits: dict[str, int], owner: int | None = None) -> None:
    """The job's own view of the files (`private_folders`) and of the processes (/proc)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    private_folders(jobs / job, jobs, limits["scratch_mb"], owner)
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)  # this job's processes only
    except OSError as exc:  # fail closed: no /proc rather than the zygote's (it shows the host's)
        os.write(2, f"rlgrade zygote: job {job}: no /proc of its own ({exc}); /proc left empty\n".encode())
        _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0555")


def isolate(jobs: Path, job: str, uid: int | None, limits: dict[str, int], pid_one: bool = False) -> None:
    """Turn this freshly forked process into the job's sandboxed kernel process (see the module doc).

    `pid_one`: it already is PID 1 of a new PID namespace, with root's capabilities
    (`PidNamespaces`): it makes its folders and /proc as root, then gives root up. Otherwise
    it gives root up first, makes its namespaces in a user namespace of its own and forks
    once more: the caller continues as the kernel (PID 1 of the new namespace)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if pid_one:
        _check(_libc.unshare(JOB_NAMESPACES), "unshare")
        enclose(jobs, job, limits, owner=uid)
        become(uid)
        map_root_to_self(CLONE_NEWUSER)
    else:
        become(uid)
        map_root_to_self(CLONE_NEWUSER | CLONE_NEWPID | JOB_NAMESPACES)
        kernel = os.fork()
        if kernel:  # the middle process: relay the kernel's end, die with the zygote
            # SIGTERM here kills the kernel, PID 1 of the job's namespace: Linux then ends every
            # process of the namespace before the kernel counts as exited, so the job is reported
            # ended only once nothing of it is left.
            signal.signal(signal.SIGTERM, lambda *_: os.kill(kernel, signal.SIGKILL))
            signal.signal(signal.SIGINT, lambda *_: os.kill(kernel, signal.SIGINT))
            for fd in range(3, 256):
                try:
                    os.close(fd)
                except OSError:
                    pass
            os._exit(exit_code(os.waitpid(kernel, 0)[1]))
        enclose(jobs, job, limits)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # again: a change of credentials clears it
    set_limits(limits["memory_mb"], limits["cpu_seconds"], limits["processes"], limits["file_mb"])
    _drop_capabilities()
    os.chdir(WORKDIR)


def exit_code(wait_status: int) -> int:
    """A process's exit status as a shell reports it (128 + N after signal N)."""
    code = os.waitstatus_to_exitcode(wait_status)
    return code if code >= 0 else 128 - code


def enter_job_process(env: dict[str, str], argv: list[str], silenced: tuple[int, ...]) -> None:
    """Give this job process its environment and command line, the descriptors `silenced`
    pointing at /dev/null."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in silenced:
        os.dup2(devnull, fd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv


def run_kernel(connection_file: str, env: dict[str, str], listening: int) -> None:
    """Start IPython's kernel (`undebuggable_kernel`) in this (already isolated) process; never returns.
    Writes a byte to `listening` once its sockets are bound."""
    enter_job_process(env, ["ipykernel_launcher", "-f", connection_file], silenced=(0, 1, 2))
    try:
        app = prepared_kernel_app()
        app.connection_file = connection_file
        app.initialize([])
        os.write(listening, b"1")
        os.close(listening)
        app.start()
    finally:
        os._exit(0)


def run_cell_host(socket_path: str, env: dict[str, str], listening: int) -> None:
    """Be a cell host (`autograder.cellhost`) in this (already isolated) process, listening
    on `socket_path`; never returns. Writes a byte to `listening` once it listens."""
    from autograder import cellhost

    enter_job_process(env, ["rlgrade-cell-host"], silenced=(0,))  # 1 and 2: the host captures them
    log = os.dup(2)  # the zygote's log: the host captures 2 for the cells
    try:
        cellhost.host(socket_path, listening, prepared_kernel_app())
    except BaseException:  # noqa: BLE001 - to the zygote's log (once the host runs: its worker sees it end)
        import traceback

        os.write(log, f"rlgrade zygote: a cell host stopped:\n{traceback.format_exc()}".encode())
        os._exit(70)
    os._exit(0)


@functools.cache
def kernel_app() -> type:
    """The kernel app, configured by `prepared_kernel_app` rather than from a command line
    (parsing one builds a parser of every option IPython has: 13 ms a kernel). Made once, in
    the zygote."""
    from ipykernel.kernelapp import IPKernelApp
    from IPython.core.application import ENV_CONFIG_DIRS, SYSTEM_CONFIG_DIRS

    class ConfiguredKernelApp(IPKernelApp):
        modules_at_start: set[str] | None = None  # sys.modules' names once the zygote is ready

        def parse_command_line(self, argv: object = None) -> None:
            pass

        def init_code(self) -> None:
            """IPython's step, but the names in sys.modules it keeps (for `%reset aggressive`)
            are the zygote's, listed once: listing them in each kernel touches 3,000 names
            inherited from the zygote (~10 ms of copy-on-write faults). Anything configured
            to run at start goes through IPython's own step."""
            if self.modules_at_start is None or self.has_start_code():
                return super().init_code()
            self.shell.user_ns_hidden.update(self.shell.user_ns)
            self.shell._sys_modules_keys = self.modules_at_start

        def has_start_code(self) -> bool:
            """Whether IPython's `init_code` would run anything (a graded kernel has a fresh
            HOME and no such settings, but the machine's IPython folders may hold startup files)."""
            folders = [self.profile_dir.startup_dir] + [
                f"{d}/startup" for d in ENV_CONFIG_DIRS + SYSTEM_CONFIG_DIRS
            ]
            scripts = [
                n for d in folders if os.path.isdir(d) for n in os.listdir(d) if n.endswith((".py", ".ipy"))
            ]
            configured = (
                self.exec_lines,
                self.exec_files,
                self.code_to_run,
                self.file_to_run,
                self.module_to_run,
            )
            startup = self.exec_PYTHONSTARTUP and os.environ.get("PYTHONSTARTUP")
            return bool(scripts or startup or any(configured))

    return ConfiguredKernelApp


@functools.cache
def prepared_kernel_app() -> object:
    """The kernel app every kernel runs, with its IPython shell already built (30 traitlets
    objects, magics, formatters: ~30 ms a kernel). Made once, in the zygote, so each forked
    kernel starts from its own copy. What belongs to one kernel is set up after the fork:
    sockets and threads (`initialize`), the profile folder under the kernel's HOME, and the
    shell's ties to its kernel and environment (`undebuggable_kernel`)."""
    import contextlib

    from IPython.core.profiledir import ProfileDir
    from traitlets.config import Config

    kernel_class = undebuggable_kernel()
    settings = Config({"IPKernelApp": {"kernel_class": kernel_class}, "HistoryManager": {"enabled": False}})
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the zygote's events
        app = kernel_app().instance(config=settings)
        app.prepared_shell = kernel_class.shell_class.default_value.instance(
            parent=app,
            ipython_dir="",  # the kernel's, under its own HOME, replaces it (see the kernel)
            profile_dir=ProfileDir(),
            compiler_class=kernel_class.compiler_class.default_value,
        )
    app.modules_at_start = set(sys.modules)
    return app


@functools.cache
def undebuggable_kernel() -> type:
    """ipykernel's IPythonKernel without its debugger. Its constructor lists the file of every
    loaded module for the debugger, attached or not: in a forked kernel that touches the
    ~3,000 module objects inherited from the zygote, and the copy-on-write faults cost about
    17 ms a kernel. No one attaches a debugger to a graded kernel, so this constructor skips
    the list and the debugger and wires up the rest (shell, display, comms) as IPythonKernel's
    does; a debug request is answered with an error."""
    import comm
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelbase import Kernel

    class UndebuggableKernel(IPythonKernel):
        def __init__(self, **kwargs: object) -> None:
            Kernel.__init__(self, **kwargs)  # not IPythonKernel.__init__: that builds the list
            self.shell = self.shell_class.instance(
                parent=self,
                profile_dir=self.profile_dir,
                user_module=self.user_module,
                user_ns=self.user_ns,
                kernel=self,
                compiler_class=self.compiler_class,
            )
            if self.shell.kernel is not self:  # built in the zygote (`prepared_kernel_app`)
                self.adopt_shell()
            for publisher in (self.shell.displayhook, self.shell.display_pub):
                publisher.session, publisher.pub_socket = self.session, self.iopub_socket
            self.shell.displayhook.topic = self._topic("execute_result")
            self.comm_manager = comm.get_comm_manager()
            self.shell.configurables.append(self.comm_manager)
            for msg_type in ("comm_open", "comm_msg", "comm_close"):
                self.shell_handlers[msg_type] = getattr(self.comm_manager, msg_type)

        def adopt_shell(self) -> None:
            """Tie the shell the zygote built to this kernel, its profile folder (under the
            kernel's HOME) and this process's working folder and environment, as if the
            shell had been built here."""
            shell = self.shell
            shell.kernel = shell.parent = self
            shell.ipython_dir, shell.profile_dir = self.parent.ipython_dir, self.profile_dir
            shell.starting_dir = os.getcwd()
            shell.init_environment()  # TERM, PAGER & co.: set in the zygote's environment
            shell.init_encoding()

        @property
        def kernel_info(self) -> dict:
            info = super().kernel_info
            info["supported_features"] = [f for f in info.get("supported_features", []) if f != "debugger"]
            return info

        async def do_debug_request(self, msg: dict) -> dict:
            return {
                "type": "response",
                "request_seq": msg.get("seq"),
                "command": msg.get("command"),
                "success": False,
                "message": "graded kernels have no debugger",
            }

        def dispatch_debugpy(self, msg: object) -> None:
            pass  # no debugger to hand it to

        async def poll_stopped_queue(self) -> None:
            pass

    return UndebuggableKernel


def leave_the_loop(private: list[int]) -> None:
    """In a child just forked from the zygote: close the zygote's own descriptors (`private`)
    and undo its signal set-up, so that nothing of its request loop goes on here."""
    for fd in private:
        os.close(fd)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def start_job(
    job: str,
    uid: int | None,
    env: dict[str, str],
    jobs: Path,
    limits: dict[str, int],
    private: list[int],
    namespaces: PidNamespaces,
    cell_host: bool = False,
) -> tuple[int, int]:
    """Fork the job's process; returns its pid (in the zygote) and the read end of the pipe
    on which the kernel (or the cell host) says it listens. `private`: the zygote's own
    descriptors (its clients' sockets, other jobs' pipes), closed in the job before anything
    else."""
    ready_r, ready_w = os.pipe()
    pid = namespaces.fork()
    if pid:
        os.close(ready_w)
        return pid, ready_r
    try:
        leave_the_loop([ready_r, *private])
        isolate(jobs, job, uid, limits, pid_one=namespaces.direct)
        if cell_host:
            from autograder.cellhost import SOCKET_NAME

            run_cell_host(str(jobs / job / "conn" / SOCKET_NAME), env, ready_w)
        run_kernel(str(jobs / job / "conn" / "kernel.json"), env, ready_w)
    except BaseException as exc:  # noqa: BLE001 - report and leave; never return into the zygote loop
        try:
            os.write(2, f"rlgrade zygote: job {job} failed to start: {exc}\n".encode())
        finally:
            os._exit(70)
    os._exit(0)


def run_judge(connection: socket.socket, private: list[int]) -> None:
    """Judge the records a worker sends on `connection` (autograder.judging) in this freshly
    forked process, as an unprivileged uid without capabilities; never returns. `private`:
    the zygote's own descriptors, closed first."""
    try:
        leave_the_loop(private)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(2, 1)  # stdout carries the zygote's events
        become(JUDGE_UID)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _drop_capabilities()
        from autograder.judging import serve as judge

        judge(connection)
    except BaseException as exc:  # noqa: BLE001 - report and leave; never return into the zygote loop
        os.write(2, f"rlgrade zygote: a judge stopped: {exc!r}\n".encode())
    finally:
        os._exit(0)


class Client:
    """A process that asks the zygote for jobs: its owner (stdin/stdout) or a connection."""

    def __init__(self, fd: int, send: Callable[[bytes], object]) -> None:
        self.fd, self.send, self.buffer = fd, send, b""
        self.jobs: set[str] = set()  # reserved or running, not yet reported ended

    def emit(self, event: dict) -> None:
        try:
            self.send((json.dumps(event) + "\n").encode())
        except OSError:  # gone: noticed when its socket reads as closed
            pass


class Jobs:
    """The jobs of all clients: names, uids, processes; the zygote's side of the protocol."""

    def __init__(self, root: Path, limits: dict[str, int]) -> None:
        self.root, self.limits = root, limits
        self.names = (f"job{n}" for n in count())
        self.uids = count(UID_BASE)
        self.free_uids: list[int] = []
        self.uid_of: dict[str, int | None] = {}
        self.owner_of: dict[str, Client] = {}
        self.pid_of: dict[str, int] = {}
        self.job_of: dict[int, str] = {}  # pid -> job
        self.listening: dict[int, str] = {}  # read end of a job's pipe -> job
        self.namespaces = PidNamespaces()

    def handle(self, client: Client, request: dict, private: list[int]) -> None:
        """One request of `client`; `private`: the descriptors a new job must close."""
        op, job = request.get("op"), request.get("job")
        if op == "reserve":
            job = next(self.names)
            uid = (self.free_uids.pop() if self.free_uids else next(self.uids)) if os.geteuid() == 0 else None
            self.uid_of[job], self.owner_of[job] = uid, client
            client.jobs.add(job)
            client.emit({"event": "reserved", "ref": request.get("ref"), "job": job, "uid": uid})
        elif job not in client.jobs:
            return  # not this client's job (or ended already): nothing to do
        elif op == "start" and job not in self.pid_of:
            pid, pipe = start_job(
                job,
                self.uid_of[job],
                request.get("env", {}),
                self.root,
                self.limits,
                [*private, *self.listening],
                self.namespaces,
                cell_host=request.get("host") == "cells",
            )
            self.pid_of[job], self.job_of[pid], self.listening[pipe] = pid, job, job
        elif op == "kill" and job in self.pid_of:
            # A kernel forked as PID 1 gets only the signals it handles from outside its
            # namespace, SIGKILL always; a middle process turns SIGTERM into that SIGKILL.
            hard = request.get("hard") or self.namespaces.direct
            self.signal(job, signal.SIGKILL if hard else signal.SIGTERM)
        elif op == "interrupt" and job in self.pid_of:
            self.signal(job, signal.SIGINT)  # a middle process hands it on to the job
        elif op == "release" and job not in self.pid_of:
            self.forget(job)

    def signal(self, job: str, sig: int) -> None:
        try:
            os.kill(self.pid_of[job], sig)
        except OSError as exc:  # gone already; anything else is logged, never fatal
            if not isinstance(exc, ProcessLookupError):
                os.write(2, f"rlgrade zygote: cannot stop {job}: {exc}\n".encode())

    def forget(self, job: str) -> None:
        uid = self.uid_of.pop(job, None)
        if uid is not None:
            self.free_uids.append(uid)
        client = self.owner_of.pop(job, None)
        if client is not None:
            client.jobs.discard(job)

    def drop(self, client: Client) -> None:
        """A client went away: end its running jobs, free its reserved ones."""
        for job in list(client.jobs):
            if job in self.pid_of:
                self.signal(job, signal.SIGKILL)
            else:
                self.forget(job)

    def started(self, pipe: int) -> None:
        said = os.read(pipe, 1)  # nothing: the job ended before its kernel listened
        os.close(pipe)
        job = self.listening.pop(pipe)
        if said and job in self.owner_of:
            self.owner_of[job].emit({"event": "listening", "job": job})

    def start_judge(self, connection: socket.socket, private: list[int]) -> None:
        """Fork a judge for a client that connected to the judges' socket (`run_judge`)."""
        if os.fork() == 0:
            run_judge(connection, [*private, *self.listening])
        connection.close()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job = self.job_of.pop(pid, None)
            if job is None:
                continue  # a judge
            self.pid_of.pop(job, None)
            for fd in [fd for fd, j in self.listening.items() if j == job]:
                del self.listening[fd]
                os.close(fd)
            client = self.owner_of.get(job)
            self.forget(job)  # the uid is free only now that nothing of the job is left
            if client is not None:
                client.emit({"event": "exited", "job": job, "status": exit_code(status)})


def serve(
    jobs: Path,
    limits: dict[str, int],
    idle_work: Iterator[object] | None = None,
    listener: socket.socket | None = None,
    judges: socket.socket | None = None,
) -> None:
    """The request loop; SIGCHLD wakes it up (through a pipe) to report ended jobs at once.
    `idle_work` advances one step whenever no request is waiting, until it is exhausted.
    `listener`: a listening Unix socket whose connections are clients too. `judges`: one
    whose connections each get a judge (`run_judge`)."""
    state = Jobs(jobs, limits)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stdout = sys.stdout.fileno()
    owner = Client(sys.stdin.fileno(), lambda data: os.write(stdout, data))
    clients: dict[int, Client] = {owner.fd: owner}
    hello = {"event": "hello", "pid": os.getpid(), "limits": limits}
    connections: dict[int, socket.socket] = {}

    listening = [s.fileno() for s in (listener, judges) if s is not None]
    namespace = [] if state.namespaces.own is None else [state.namespaces.own]

    def own_fds() -> list[int]:
        """What a job must not inherit (stdin and stdout it replaces itself)."""
        return [wake_r, wake_w, *connections, *listening, *namespace]

    while True:
        try:
            timeout = 0.0 if idle_work is not None else 1.0
            ready, _, _ = select.select([wake_r, *clients, *listening, *state.listening], [], [], timeout)
        except InterruptedError:
            ready = []
        if idle_work is not None and not ready:
            if next(idle_work, None) is None:
                idle_work = None
        for fd in ready:
            if fd == wake_r:
                os.read(wake_r, 4096)
            elif fd in state.listening:
                state.started(fd)
            elif judges is not None and fd == judges.fileno():
                state.start_judge(judges.accept()[0], own_fds())
            elif listener is not None and fd == listener.fileno():
                connection, _ = listener.accept()
                connections[connection.fileno()] = connection
                client = clients[connection.fileno()] = Client(connection.fileno(), connection.sendall)
                client.emit(hello)
            elif fd in clients:
                client = clients[fd]
                chunk = os.read(fd, 65536)
                if not chunk:
                    if client is owner:  # the grader is gone: take every job down with us
                        for pid in state.job_of:
                            os.kill(pid, signal.SIGKILL)
                        return
                    state.drop(clients.pop(fd))
                    connections.pop(fd).close()
                    continue
                client.buffer += chunk
                while b"\n" in client.buffer:
                    line, client.buffer = client.buffer.split(b"\n", 1)
                    state.handle(client, json.loads(line), own_fds())
        state.reap()


def warm_up(modules: list[str]) -> None:
    """Run once what torch, matplotlib and IPython otherwise set up in every kernel on first
    use, for what the kernels will use (`modules`, as given to `preload`): the first optimizer
    step alone costs seconds (it loads torch._dynamo); the first plot builds matplotlib's
    math-text parser (log-axis tick labels are math text) and fills its font lookup cache,
    about a tenth of a plotting notebook's run time."""
    import io

    if "torch.optim" in modules:
        import torch

        weight = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.Adam([weight], lr=0.1)
        (weight * 2.0).sum().backward()
        optimizer.step()

    if any(module.split(".")[0] == "matplotlib" for module in modules):
        import matplotlib_inline.backend_inline  # noqa: F401 - what `%matplotlib inline` loads
        from matplotlib.figure import Figure  # not pyplot: the kernel chooses its own backend

        figure = Figure()
        axis = figure.subplots()
        axis.semilogy([1.0, 2.0, 3.0], [1e-3, 1e-1, 10.0], label="warm-up")
        axis.set_title("warm-up")
        axis.set_xlabel("x")
        axis.legend()
        figure.tight_layout()
        figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")

    # The first traceback IPython formats (a failing check, a stub's NotImplementedError)
    # imports its syntax highlighter and compiles the highlighter's patterns: 0.1 s a kernel.
    from IPython.core.ultratb import AutoFormattedTB

    try:
        raise ValueError("warm-up")
    except ValueError:
        AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info())


def preload(modules: list[str]) -> None:
    """Import `modules` (beside `KERNEL_MODULES`) and warm them up, once, for every kernel to
    inherit. Best effort: a module that cannot load here (the instructor's own, beside the
    notebook) is imported by the kernel, if at all. Whatever they print goes to stderr:
    stdout carries the zygote's events."""
    events = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    try:
        for module in (*KERNEL_MODULES, *modules):
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - see above
                pass
        try:
            warm_up(modules)
        except Exception:  # noqa: BLE001 - an optimisation only
            pass
        sys.stdout.flush()
    finally:
        os.dup2(events, 1)
        os.close(events)
    threads = len(os.listdir("/proc/self/task"))
    if threads > 1:  # a fork copies only the forking thread: a lock another one held stays held
        os.write(
            2,
            f"rlgrade zygote: the preloaded modules left {threads - 1} thread(s) running; kernels may "
            "hang on their locks: leave such modules out of c.PooledKernelManager.preload\n".encode(),
        )


def huge_pages(chunk: int = 8 * 2**20) -> Iterator[int]:
    """Move the zygote's private memory (torch & co., about 400 MiB) onto 2 MiB pages where
    Linux can (MADV_COLLAPSE, Linux 6.1+): every fork then copies one page-table entry per
    2 MiB instead of 512, and a kernel's start and exit get about 30 ms cheaper. Moving costs
    about 3 ms of CPU per MiB, so it is done `chunk` bytes per step (yields the MiB moved so
    far), between requests. Best effort: a region, or a Linux, that refuses keeps its pages."""
    _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    moved = 0
    for fields in regions:
        perms, name = fields[1], fields[5] if len(fields) > 5 else ""
        if "w" not in perms or "p" not in perms or name not in ("", "[heap]"):
            continue  # only private writable memory that no file backs
        start, end = (int(x, 16) for x in fields[0].split("-"))
        start = -(-start // HUGE_PAGE) * HUGE_PAGE
        end = end // HUGE_PAGE * HUGE_PAGE
        for at in range(start, end, chunk):
            size = min(chunk, end - at)
            if _libc.madvise(at, size, MADV_COLLAPSE) == 0:
                moved += size >> 20
            yield moved


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="autograder.zygote")
    p.add_argument("--jobs", type=Path, required=True)
    for flag in ("--memory-mb", "--cpu-seconds", "--processes", "--file-mb", "--scratch-mb"):
        p.add_argument(flag, type=int, required=True)
    p.add_argument(
        "--preload", nargs="*", default=list(COURSE_MODULES), help="what the notebooks import (see `preload`)"
    )
    p.add_argument("--listen-fd", type=int, default=None, help="a listening Unix socket for more clients")
    p.add_argument("--judge-fd", type=int, default=None, help="a listening Unix socket for judges")
    opts = p.parse_args(argv)
    limits = {k: getattr(opts, k) for k in ("memory_mb", "cpu_seconds", "processes", "file_mb", "scratch_mb")}
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]  # kernels import what a student's Python imports (see autograder)
    # The imports make millions of objects and hardly any garbage: without the collector's
    # passes over them they take about a tenth less CPU (measured: 5.4 vs 6.0 s).
    gc.disable()
    preload(opts.preload)
    try:
        prepared_kernel_app()  # made once here, not in every kernel
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
    # Everything loaded so far lives as long as the zygote: keep it out of the garbage
    # collector's sight, or every kernel's first full collection walks (and so copies,
    # page by page) the whole inherited heap. No collection first: it took 0.3 to 0.5 s of
    # the start-up (450,000 objects walked) to free about 39,000 cycles (a few MiB, no open
    # files among them) that, frozen, no kernel ever touches.
    gc.freeze()
    gc.enable()  # kernels collect garbage as any Python does
    os.write(sys.stdout.fileno(), (json.dumps({"event": "ready", "pid": os.getpid()}) + "\n").encode())
    listener = None if opts.listen_fd is None else socket.socket(fileno=opts.listen_fd)
    judges = None if opts.judge_fd is None else socket.socket(fileno=opts.judge_fd)
    idle_work = None if os.environ.get("RLGRADE_SMALL_PAGES") else huge_pages()
    serve(opts.jobs, limits, idle_work, listener, judges)
    os._exit(0)  # nothing to flush or save; tearing down torch & co. would only delay the grader


if __name__ == "__main__":
    main()
