"""The fixed cost of one graded notebook: a warm sandboxed kernel for a one-line notebook.

Runs a notebook whose only cell is `x = 1 + 1` through `autograder.parallel.run_notebook`
(the zygote forks and isolates a kernel, the kernel starts, runs the cell, is killed), K
times in a row, and prints per notebook the wall time and the CPU time of this process (the
worker's side), of the zygote and of the kernels it forked. Everything a real notebook costs
beyond that is its cells. Compares, in rounds that alternate, the zygote on 2 MiB pages (the
default) with the zygote on ordinary 4 KiB pages (RLGRADE_SMALL_PAGES=1).

    .venv/bin/python -m benchmarks.kernel_overhead --kernels 40 --rounds 2

Linux only, needs bubblewrap. The machine is shared: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.bench_grading import make_course
from benchmarks.grading_cpu import read_process

VARIANTS = {"2 MiB pages (default)": None, "4 KiB pages": "1"}


def zygote_pid() -> int:
    """The pid of the zygote: the process running `autograder.zygote` whose parent does not
    (the jobs it forked run the same command line)."""
    found: dict[int, int] = {}  # pid -> parent pid
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"autograder.zygote" in cmd and not cmd[0].endswith(b"bwrap"):
            seen = read_process(int(entry.name))
            if seen is not None:
                found[int(entry.name)] = seen[0]
    roots = [pid for pid, parent in found.items() if parent not in found]
    if len(roots) != 1:
        raise RuntimeError(f"expected one zygote, found {len(roots)}")
    return roots[0]


def cpu_of(pid: int) -> tuple[float, float]:
    """(own CPU s, CPU s of the children it reaped)."""
    seen = read_process(pid)
    if seen is None:
        raise RuntimeError(f"the zygote {pid} is gone")
    return seen[1], seen[2]


def measure(text: str, config: object, kernels: int) -> dict[str, float]:
    """ms per notebook: wall, worker, zygote, kernels (a fresh zygote, warmed up first)."""
    from autograder.parallel import run_notebook
    from autograder.pool import close_shared_pool

    try:
        for _ in range(3):  # start the zygote; give it time to finish its start-up work
            run_notebook(text, {}, config, [])
        time.sleep(2.0)
        zygote = zygote_pid()
        (z_own, z_kids), mine, start = cpu_of(zygote), os.times(), time.monotonic()
        for _ in range(kernels):
            run_notebook(text, {}, config, [])
        wall = time.monotonic() - start
        time.sleep(1.0)  # the last kernel is reaped
        (z_own2, z_kids2), mine2 = cpu_of(zygote), os.times()
    finally:
        close_shared_pool()
    worker = mine2.user + mine2.system - mine.user - mine.system
    return {
        "wall": 1000 * wall / kernels,
        "worker": 1000 * worker / kernels,
        "zygote": 1000 * (z_own2 - z_own) / kernels,
        "kernels": 1000 * (z_kids2 - z_kids) / kernels,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kernels", type=int, default=40, help="notebooks per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    import nbformat  # after autograder, which makes its import cheap

    from autograder.cli import main as rlgrade
    from autograder.course import Course

    with tempfile.TemporaryDirectory(prefix="kernel-overhead-") as tmp:
        root = Path(tmp, "course")
        make_course(root, "module3_neural_networks", "activations", plain=False, timeout=60)
        rlgrade(["--course", str(root), "build", "bench"])
        config = Course(root).config
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("x = 1 + 1")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        text = nbformat.writes(nb)

        results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
        print(f"{opts.kernels} one-cell notebooks per row, {os.cpu_count()} cores; ms per notebook")
        print(f"{'zygote':24s} {'wall':>7s} {'worker':>7s} {'zygote':>7s} {'kernels':>7s} {'CPU sum':>8s}")
        for _ in range(opts.rounds):
            for name, flag in VARIANTS.items():
                if flag is None:
                    os.environ.pop("RLGRADE_SMALL_PAGES", None)
                else:
                    os.environ["RLGRADE_SMALL_PAGES"] = flag
                row = measure(text, config, opts.kernels)
                results[name].append(row)
                cpu = row["worker"] + row["zygote"] + row["kernels"]
                print(
                    f"{name:24s} {row['wall']:7.1f} {row['worker']:7.1f} {row['zygote']:7.1f} "
                    f"{row['kernels']:7.1f} {cpu:8.1f}"
                )
        os.environ.pop("RLGRADE_SMALL_PAGES", None)

    def median_cpu(name: str) -> float:
        return statistics.median(r["worker"] + r["zygote"] + r["kernels"] for r in results[name])

    def median_wall(name: str) -> float:
        return statistics.median(r["wall"] for r in results[name])

    huge, small = VARIANTS
    print(
        f"medians: CPU {median_cpu(huge):.1f} vs {median_cpu(small):.1f} ms "
        f"({100 * median_cpu(huge) / median_cpu(small):.0f} %), "
        f"wall {median_wall(huge):.1f} vs {median_wall(small):.1f} ms "
        f"({100 * median_wall(huge) / median_wall(small):.0f} %)"
    )


if __name__ == "__main__":
    main()
