"""Each graded notebook's kernel runs in its own bubblewrap sandbox.

What the kernel (student code) sees:
* a fresh root with the system (/usr, /etc), the Python installation and the course's
  virtual environment read-only, and the `autograder` package (the engine; no course
  files): no source/, solutions/, release/, gradebook.db, exchange or other students;
* a writable, size-capped scratch folder holding a copy of the student's own
  submission (the working directory) and a private /tmp; nothing is written back;
* no network (a new network namespace with only a down loopback), new PID, IPC and UTS
  namespaces; it dies with the grader;
* limits on memory (address space), CPU seconds, processes, file size (autograder.confine),
  and, as root, an unprivileged user id.

The kernel talks to the grader over Unix sockets in a private folder (ZeroMQ's `ipc`
transport) because TCP on the grader's loopback is unreachable from the new network
namespace.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode

import autograder
from autograder import RECORD_ENV

PACKAGE_DIR = Path(autograder.__file__).resolve().parent
WORKDIR = "/home/student/work"
# Variables a kernel may see; everything else of the grader's environment is dropped.
PASSED_ENV = (
    "LANG",
    "LC_ALL",
    "NBGRADER_EXECUTION",
    "JPY_PARENT_PID",
    "JPY_SESSION_NAME",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; `./course setup` does it as root), "
    "or pass --no-sandbox to grade without isolation (only for submissions you trust)"
)


class SandboxError(RuntimeError):
    """The sandbox cannot be used here; the message says what to do."""


@cache
def unavailable_reason() -> str | None:
    """None when a bubblewrap sandbox starts here, else why not (checked once per process)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (`bwrap`) is not installed"
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "w").mkdir()
        cmd = sandbox_command([sys.executable, "-c", "pass"], Path(scratch), Path(scratch) / "w", {})
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
    if done.returncode != 0:
        return f"bubblewrap could not start a sandbox here: {done.stderr.strip()[:300]}"
    return None


def require_sandbox() -> None:
    reason = unavailable_reason()
    if reason:
        raise SandboxError(f"cannot grade in a sandbox: {reason}. To fix: {INSTALL_HINT}.")


def readable_roots() -> list[Path]:
    """Folders the kernel needs read-only: the interpreter, the venv, the engine."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), PACKAGE_DIR}
    roots.add(Path(sys.executable).resolve().parent.parent)
    # drop roots inside other roots and the system folders bound anyway
    ordered = sorted(roots, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in ordered:
        if root.parts[:2] in (("/", "usr"),) or any(root.is_relative_to(k) for k in kept):
            continue
        kept.append(root)
    return kept


def sandbox_command(
    inner: list[str],
    runtime: Path,
    work: Path,
    env: dict[str, str],
    scratch_mb: int = 512,
    own_proc: bool = True,
) -> list[str]:
    """bwrap arguments that run `inner` with cwd WORKDIR (bound to `work`, read-write) and
    `runtime` (the connection file and sockets) read-write at the same path. With
    `own_proc` False the host's /proc is bound instead of a new one: for the zygote
    (autograder.zygote), whose kernels each mount their own /proc, which the kernel allows
    only where a complete proc mount is visible (bwrap's own has read-only parts over it)."""
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.geteuid() != 0:
        cmd.append("--unshare-user")
    cmd += ["--die-with-parent", "--clearenv", "--hostname", "sandbox"]
    cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    cmd += ["--proc", "/proc"] if own_proc else ["--bind", "/proc", "/proc"]
    cmd += ["--dev", "/dev"]
    cmd += ["--perms", "1777", "--size", str(scratch_mb * 2**20), "--tmpfs", "/tmp"]
    made = {Path("/"), Path("/tmp"), Path("/proc"), Path("/dev")}
    readable = readable_roots()
    for root in [*readable, runtime, Path(WORKDIR)]:
        for parent in reversed(root.parents):
            if parent not in made and not parent.is_relative_to("/usr"):
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for root in readable:
        cmd += ["--ro-bind", str(root), str(root)]
    cmd += ["--bind", str(runtime), str(runtime), "--bind", str(work), WORKDIR, "--chdir", WORKDIR]
    base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "MPLBACKEND": "Agg"}
    for key, value in {**base, **env}.items():
        cmd += ["--setenv", key, value]
    return [*cmd, *inner]


class SandboxedKernelManager(AsyncKernelManager):
    """A Jupyter kernel manager whose kernels run in a bubblewrap sandbox (see module doc)."""

    memory_mb = Integer(6144, help="Address-space limit of the kernel, in MiB.").tag(config=True)
    cpu_seconds = Integer(600, help="CPU-time limit of each process of the kernel, in seconds.").tag(
        config=True
    )
    processes = Integer(256, help="Most processes and threads the sandbox user may have.").tag(config=True)
    file_mb = Integer(64, help="Largest file the kernel may write, in MiB.").tag(config=True)
    scratch_mb = Integer(512, help="Size of the kernel's /tmp, in MiB.").tag(config=True)
    sandbox_uid = Integer(65534, help="User id the kernel runs as when grading as root.").tag(config=True)
    copy_limit_mb = Integer(200, help="Most MiB of the submission folder copied into the sandbox.").tag(
        config=True
    )
    runtime_dir = Unicode("", help="Private folder of this kernel (set at start).")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        require_sandbox()
        runtime = Path(tempfile.mkdtemp(prefix="rlgrade-kernel-"))
        kernel_cmd, kw, env = await self._prepare_runtime(runtime, self.sandbox_uid, **kw)
        confine = [
            sys.executable,
            "-m",
            "autograder.confine",
            f"--memory-mb={self.memory_mb}",
            f"--cpu-seconds={self.cpu_seconds}",
            f"--processes={self.processes}",
            f"--file-mb={self.file_mb}",
        ]
        if os.geteuid() == 0:
            confine.append(f"--uid={self.sandbox_uid}")
        inner = [*confine, "--", *module_command(kernel_cmd)]
        kw["env"] = dict(os.environ)  # bwrap's own environment; the kernel's is set by --setenv
        kw["cwd"] = str(runtime)
        return sandbox_command(inner, runtime / "conn", runtime / "work", env, self.scratch_mb), kw

    async def _prepare_runtime(
        self, runtime: Path, uid: int, **kw: Any
    ) -> tuple[list[str], dict[str, Any], dict[str, str]]:
        """Make `runtime` the kernel's private folder: conn/ (connection file, Unix sockets)
        and work/ (a copy of the submission's own files), owned by `uid` when grading as
        root. Returns the kernel command, the launch arguments and the kernel's environment."""
        self.runtime_dir = str(runtime)
        (runtime / "conn").mkdir(parents=True)
        (runtime / "work").mkdir()
        self.transport = "ipc"
        self.cache_ports = False
        self.ip = str(runtime / "conn" / "kernel")
        self.connection_file = str(runtime / "conn" / "kernel.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        copy_submission(Path(kw.get("cwd") or os.getcwd()), runtime / "work", self.copy_limit_mb)
        if os.geteuid() == 0:
            for folder in (runtime / "conn", runtime / "work"):
                for path in (folder, *folder.rglob("*")):
                    os.chown(path, uid, uid, follow_symlinks=False)
        env = {k: v for k, v in (kw.get("env") or os.environ).items() if k in PASSED_ENV}
        env[RECORD_ENV] = "1"
        return kernel_cmd, kw, env

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt over the control channel: a SIGINT to the process group would reach
        bwrap itself (and end the sandbox), and pid 1 of the sandbox ignores it."""
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel  # as in AsyncKernelManager

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.runtime_dir and not restart:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = ""


def module_command(kernel_cmd: list[str]) -> list[str]:
    """`-m ipykernel_launcher -f FILE ...` from a kernelspec command line."""
    if "-m" not in kernel_cmd:
        raise SandboxError(f"the kernel command {kernel_cmd} does not start a Python module")
    return kernel_cmd[kernel_cmd.index("-m") :]


def copy_submission(source: Path, target: Path, limit_mb: int) -> None:
    """Copy the student's own files into the sandbox, but not the notebooks: the one being
    graded already holds the hidden tests (nbgrader put them back), the kernel gets its
    cells over the wire."""
    for path in own_files(source, limit_mb * 2**20)[0]:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def own_files(folder: Path, budget: int, ignore: tuple[str, ...] = ()) -> tuple[list[Path], int]:
    """The plain files below `folder` a kernel may get: no notebooks, no symlinks, no path
    part matching an `ignore` pattern, each file only while it fits in `budget` bytes.
    Returns them (in sorted order) and the budget left."""
    chosen: list[Path] = []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        parts = path.relative_to(folder).parts
        if (
            path.is_symlink()
            or not path.is_file()
            or path.suffix == ".ipynb"
            or any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ignore)
        ):
            continue
        size = path.stat().st_size
        if size <= budget:
            budget -= size
            chosen.append(path)
    return chosen, budget
