"""Inside the sandbox: set resource limits, drop root, then start the Jupyter kernel.

    python -m autograder.confine --memory-mb M --cpu-seconds S --processes P --file-mb F \\
        [--uid U] -- -m ipykernel_launcher -f CONNECTION_FILE

Runs as the sandbox's first Python process, so the kernel and everything it starts
inherit the limits. When started as root (bubblewrap without a user namespace), it
switches to the unprivileged `--uid` first: the kernel's limit on processes counts per
user, and root is exempt from it.
"""

from __future__ import annotations

import argparse
import os
import resource
import runpy
import sys

MB = 2**20


def set_limits(memory_mb: int, cpu_seconds: int, processes: int, file_mb: int) -> None:
    for limit, value in (
        (resource.RLIMIT_AS, memory_mb * MB),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_FSIZE, file_mb * MB),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def drop_root(uid: int) -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    split = args.index("--")
    p = argparse.ArgumentParser(prog="autograder.confine")
    for flag in ("--memory-mb", "--cpu-seconds", "--processes", "--file-mb", "--uid"):
        p.add_argument(flag, type=int, required=flag != "--uid")
    opts = p.parse_args(args[:split])
    command = args[split + 1 :]
    if command[:1] != ["-m"] or len(command) < 2:
        raise SystemExit("autograder.confine: expected `-- -m MODULE ARGS...`")
    set_limits(opts.memory_mb, opts.cpu_seconds, opts.processes, opts.file_mb)
    if opts.uid is not None:
        drop_root(opts.uid)
    sys.argv = [command[1], *command[2:]]
    runpy.run_module(command[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
