"""Where a grading run's CPU time goes, per submission and per kind of process.

Builds the batch of `benchmarks.bench_grading` (one real lesson notebook, N submissions of
every kind), grades it with our command only, and prints the CPU seconds per submission of
the grading process, its worker processes (and the fork server they come from), the
zygotes (their own start-up and forks) and the kernels and judges (everything the
zygotes' children used), next to the whole machine's busy and idle time from /proc/stat
over the same run. A sampler thread reads /proc every 0.5 s (its own CPU is left out of the grading
process's row); a zygote's children are counted when it reaps them (cutime), so no
kernel is missed however short it lives.

    .venv/bin/python -m benchmarks.grading_cpu --submissions 60

Linux only. The machine is shared: compare runs made back to back, and prefer ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_grading import cells_run_in, make_course, submit_all

TICK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.5


@dataclass
class Seen:
    parent: int
    command: str
    own: float = 0.0  # CPU seconds of the process itself (user + system)
    children: float = 0.0  # CPU seconds of its children it has reaped


def read_process(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU s, reaped children's CPU s), or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(x) / TICK for x in fields[11:15])
    return int(fields[1]), utime + stime, cutime + cstime


def machine_times() -> list[int]:
    """The first line of /proc/stat: user nice system idle iowait irq softirq steal (ticks)."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


class Sampler(threading.Thread):
    """Keeps the largest CPU figures seen for every process of the machine."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, Seen] = {}
        self.stop = threading.Event()
        self.own_cpu = 0.0  # this thread's CPU seconds, not the grading process's work

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.thread_time()
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                pid = int(name)
                found = read_process(pid)
                if found is None:
                    continue
                if pid not in self.seen:
                    try:
                        command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
                    except OSError:
                        continue
                    self.seen[pid] = Seen(found[0], command)
                entry = self.seen[pid]
                entry.own, entry.children = max(entry.own, found[1]), max(entry.children, found[2])
            self.own_cpu += time.thread_time() - started
            time.sleep(SAMPLE_S)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--notebook", default="module3_neural_networks/activations")
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--kernels", action="store_true", help="real Jupyter kernels, not cell hosts")
    opts = parser.parse_args()
    assignment, notebook = opts.notebook.split("/")
    from autograder.cli import main as rlgrade
    from autograder.course import Course
    from autograder.grading import autograde

    with tempfile.TemporaryDirectory(prefix="grading-cpu-") as tmp:
        root = Path(tmp, "course")
        make_course(root, assignment, notebook, plain=False, timeout=60, kernels=opts.kernels)
        rlgrade(["--course", str(root), "build", "bench"])
        submit_all(root, opts.submissions, assignment, notebook)
        sampler = Sampler()
        sampler.start()
        before, mine_before, start = machine_times(), os.times(), time.monotonic()
        autograde(Course(root), "bench", progress=False, workers=opts.workers)
        wall = time.monotonic() - start
        after, mine_after = machine_times(), os.times()
        sampler.stop.set()
        sampler.join()

    n = opts.submissions
    delta = [(b - a) / 100 for a, b in zip(before, after, strict=True)]
    busy, idle = delta[0] + delta[1] + delta[2] + delta[5] + delta[6], delta[3]
    me = os.getpid()
    grading = (
        (mine_after.user + mine_after.system) - (mine_before.user + mine_before.system) - sampler.own_cpu
    )
    seen = sampler.seen

    def descends_from_me(entry: Seen) -> bool:
        hops = 0
        while entry.parent != me and entry.parent in seen and hops < 16:
            entry, hops = seen[entry.parent], hops + 1
        return entry.parent == me

    # the fork server and the workers forked from it (all run multiprocessing's command line)
    workers = [s for s in seen.values() if "multiprocessing" in s.command and descends_from_me(s)]
    zygotes = [
        s
        for s in seen.values()
        if "autograder.zygote" in s.command
        and not s.command.startswith("bwrap")
        and seen.get(s.parent, Seen(0, "")).command.startswith("bwrap")
    ]
    rows = [
        ("grading process", grading),
        (f"workers and fork server ({len(workers)})", sum(s.own for s in workers)),
        (f"zygotes, own ({len(zygotes)})", sum(s.own for s in zygotes)),
        ("kernels, judges (zygotes' children)", sum(s.children for s in zygotes)),
    ]
    print(
        f"{n} submissions of {opts.notebook}, graded in {wall:.1f} s on {os.cpu_count()} cores "
        f"({cells_run_in(opts.kernels)})"
    )
    print(f"{'CPU per submission':34s} {'ms':>7s}")
    for label, seconds in rows:
        print(f"{label:34s} {1000 * seconds / n:7.0f}")
    print(f"{'sum':34s} {1000 * sum(s for _, s in rows) / n:7.0f}")
    print(f"{'machine, busy (/proc/stat)':34s} {1000 * busy / n:7.0f}")
    print(
        f"machine busy {100 * busy / (busy + idle):.0f} % of the run "
        f"(idle {idle:.1f} CPU-s, steal {delta[7]:.1f})"
    )


if __name__ == "__main__":
    main()
