"""Plain `nbgrader autograde` against `rlgrade autograde` on the same batch, in one run.

Builds two identical courses in a temporary folder holding one real notebook of the course
(default: Module 3's activations lesson) and N submissions of it: the reference solution
(demo student ada), realistic bugs (ben), untouched stubs (fay), a correct solution that
also snoops on the course files, and two hostile ones (a wrong solution that patches
torch.allclose & co., and one that calls os._exit). Then grades one course with plain
nbgrader (its CLI, its default preprocessors, serial kernels) and the other with our
command (warm sandboxed kernels, all cores), compares every cell's score, and prints both
wall times, the ratio and the overhead per submission.

    .venv/bin/python -m benchmarks.bench_grading --submissions 200

Overhead per submission = (worker slots x wall time - time spent in code cells) / N: the
time a submission holds a worker without running its own code (plain nbgrader has one slot).
Two figures, as the code cells are timed in two ways:

* in the same run: cells that share the machine with other kernels and with the kernels
  being started ahead take longer, so this figure counts some of that work as the student's;
* one notebook at a time (a third copy of the batch graded with one worker, no other
  kernel running cells beside it): the student's own run time, and the stricter figure.
  It also counts as overhead what the hardware does to two processes at once (on a shared
  VM, two CPU-bound processes each run slower than one alone); the header prints that
  slowdown, measured with a plain CPU loop (`parallel_slowdown`), to read this figure by.

The speed of this shared machine drifts by 10 to 25 % over minutes, so a one-worker run
made after the all-workers run can land in a faster or slower phase. `--rounds K` grades
fresh copies of the batch K times each way, in the order AB BA AB ..., so that a steady
drift weighs on both sides alike, and prints every round beside the rounds' mean.

Needs `rlgrade build` to have generated demo/submitted/ (it is in git).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used, after autograder (which makes nbformat's import cheap)
    import nbformat

REPO = Path(__file__).resolve().parents[1]
KINDS = ("ada", "ada", "ada", "ada", "ben", "ben", "fay", "fay", "snoop", "hostile")
HOSTILE = ("patch", "exit")
PATCH = (
    "import torch\n"
    "torch.allclose = lambda *a, **k: True\n"
    "torch.equal = lambda *a, **k: True\n"
    "torch.testing.assert_close = lambda *a, **k: None\n"
)
SNOOP = (
    "import os\n"
    "for p in ['../../../gradebook.db', '../../../source', '/etc/shadow']:\n"
    "    try:\n"
    "        print(p, len(os.listdir(p)) if os.path.isdir(p) else len(open(p, 'rb').read()))\n"
    "    except OSError as e:\n"
    "        print(p, 'blocked', type(e).__name__)\n"
)


def make_course(
    root: Path, assignment: str, notebook: str, plain: bool, timeout: int, kernels: bool = False
) -> None:
    """A course at `root` holding one lesson notebook; `kernels` makes our command run its
    cells in real Jupyter kernels instead of cell hosts (see autograder/cellhost.py)."""
    (root / "source" / "bench").mkdir(parents=True)
    shutil.copy(REPO / "source" / assignment / f"{notebook}.ipynb", root / "source" / "bench")
    config = [
        "c = get_config()  # noqa: F821",
        'c.CourseDirectory.course_id = "bench"',
        f"c.Execute.timeout = {timeout}",
    ]
    if plain:
        config.append(
            'c.CourseDirectory.db_url = "sqlite:///" + __import__("os").path.abspath("gradebook.db")'
        )
    if kernels:
        config.append("c.ResilientExecute.cell_host = False")
    (root / "nbgrader_config.py").write_text("\n".join(config) + "\n")


def cells_run_in(kernels: bool) -> str:
    """What runs our command's cells, as `make_course(..., kernels=...)` sets it, for a header."""
    return "real Jupyter kernels" if kernels else "cell hosts"


def submission(kind: str, index: int, assignment: str, notebook: str) -> nbformat.NotebookNode:
    """The notebook of one submission of the given kind."""
    import nbformat

    base = {"snoop": "ada", "hostile": "ben"}.get(kind, kind)
    nb = nbformat.read(str(REPO / "demo" / "submitted" / base / assignment / f"{notebook}.ipynb"), 4)
    first_test = next(
        i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    )
    if kind == "snoop":
        nb.cells.insert(first_test, nbformat.v4.new_code_cell(SNOOP))
    elif kind == "hostile":
        attack = HOSTILE[index % len(HOSTILE)]
        cell = PATCH if attack == "patch" else "import os\nos._exit(0)\n"
        nb.cells.insert(first_test, nbformat.v4.new_code_cell(cell))
    return nb


def label(kind: str, index: int) -> str:
    return f"{HOSTILE[index % len(HOSTILE)]}" if kind == "hostile" else kind


def submit_all(root: Path, count: int, assignment: str, notebook: str) -> dict[str, str]:
    """Writes submitted/<student>/bench/; returns student -> kind."""
    import nbformat

    kinds: dict[str, str] = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}"
        folder = root / "submitted" / student / "bench"
        folder.mkdir(parents=True)
        nbformat.write(
            submission(kind, i // len(KINDS), assignment, notebook), str(folder / f"{notebook}.ipynb")
        )
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        kinds[student] = label(kind, i // len(KINDS))
    return kinds


def scores(db: Path) -> dict[str, dict[str, float | None]]:
    """student -> {cell: auto score} for every graded cell in the gradebook."""
    from nbgrader.api import Gradebook

    found: dict[str, dict[str, float | None]] = {}
    with Gradebook(f"sqlite:///{db}", "bench") as gb:
        for sub in gb.assignment_submissions("bench"):
            cells = found.setdefault(sub.student.id, {})
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.auto_score is not None or grade.cell.__class__.__name__ == "GradeCell":
                        cells[f"{nb.name}:{grade.name}"] = grade.auto_score
    return found


def grade_copy(pristine: Path, target: Path, workers: int | None) -> tuple[float, float, float, dict]:
    """Grade a fresh copy of the course `pristine` at `target` with our command; returns its
    wall time, its time in code cells, its time per notebook outside them and its scores."""
    from autograder.course import Course
    from autograder.grading import autograde

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(pristine, target)
    start = time.monotonic()
    results = autograde(Course(target), "bench", workers=workers, progress=False)
    wall = time.monotonic() - start
    cells = sum(r.cell_seconds for r in results)
    outside = sum(r.kernel_seconds for r in results) / len(results)
    return wall, cells, outside, scores(target / "gradebook.db")


# A fixed, single-threaded piece of CPU work, run in its own Python (`parallel_slowdown`).
CPU_PROBE = (
    "import time\nstart = time.monotonic()\nsum(i * i % 7 for i in range(3_000_000))\n"
    "print(time.monotonic() - start)"
)


def parallel_slowdown(tries: int = 5) -> list[float]:
    """How much longer a CPU-bound process takes while another one runs beside it, as a ratio
    to the same process alone, `tries` times (alternating). On a shared VM the two cores can be
    one physical core's two threads, or share it with other tenants: then two notebooks at
    once run slower than one alone with no grader in between, and the stricter overhead figure
    (cells timed alone) counts that slowdown as overhead."""

    def timed(count: int) -> float:
        probes = [
            subprocess.Popen([sys.executable, "-c", CPU_PROBE], stdout=subprocess.PIPE, text=True)
            for _ in range(count)
        ]
        return sum(float(p.communicate()[0]) for p in probes) / count

    return [timed(2) / timed(1) for _ in range(tries)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--notebook", default="module3_neural_networks/activations")
    parser.add_argument("--workers", type=int, default=None, help="our workers (default: one per core)")
    parser.add_argument("--timeout", type=int, default=60, help="per-cell time limit for both")
    parser.add_argument("--skip-plain", action="store_true", help="grade with our command only")
    parser.add_argument(
        "--skip-alone", action="store_true", help="do not time the cells one notebook at a time (see above)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="our runs each way, alternated (see above)")
    parser.add_argument("--kernels", action="store_true", help="ours in real Jupyter kernels, not cell hosts")
    opts = parser.parse_args()
    assignment, notebook = opts.notebook.split("/")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    workers = opts.workers or os.cpu_count() or 1

    if opts.rounds < 1:
        raise SystemExit("--rounds must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        plain, ours = Path(tmp, "plain"), Path(tmp, "ours")
        make_course(plain, assignment, notebook, plain=True, timeout=opts.timeout)
        make_course(ours, assignment, notebook, plain=False, timeout=opts.timeout, kernels=opts.kernels)
        from autograder.cli import main as rlgrade

        rlgrade(["--course", str(ours), "build", "bench"])
        subprocess.run(
            [bin_dir / "nbgrader", "generate_assignment", "bench", "--force"],
            cwd=plain,
            env=env,
            check=True,
            capture_output=True,
        )
        kinds = submit_all(plain, opts.submissions, assignment, notebook)
        shutil.copytree(plain / "submitted", ours / "submitted")
        print(
            f"{opts.submissions} submissions of {opts.notebook}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(Counter(kinds.values()).items()))
        )
        print(f"rlgrade runs cells in {cells_run_in(opts.kernels)}")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
        ratios = sorted(parallel_slowdown())
        print(
            f"machine: two CPU-bound processes at once each take x{ratios[len(ratios) // 2]:.2f} the time "
            f"of one alone (median of {', '.join(f'{r:.2f}' for r in ratios)})"
        )

        plain_wall = None
        if not opts.skip_plain:
            start = time.monotonic()
            done = subprocess.run(
                [bin_dir / "nbgrader", "autograde", "bench"],
                cwd=plain,
                env=env,
                capture_output=True,
                text=True,
            )
            plain_wall = time.monotonic() - start
            if done.returncode != 0:
                print(f"plain nbgrader exited with {done.returncode} (some submissions failed, as expected)")

        runs: dict[str, list[tuple[float, float, float]]] = {"all": [], "alone": []}
        ours_scores = None
        for round_ in range(opts.rounds):
            ways = ["all", "alone"] if round_ % 2 == 0 else ["alone", "all"]
            if opts.skip_alone:
                ways = ["all"]
            for way in ways:
                slots = opts.workers if way == "all" else 1
                wall, cells, outside, scored = grade_copy(ours, Path(tmp, way), slots)
                if ours_scores is not None and scored != ours_scores:
                    raise SystemExit(f"FAIL: round {round_ + 1} ({way}) scored unlike the first run")
                ours_scores = scored
                runs[way].append((wall, cells, outside))
        assert ours_scores is not None
        n = opts.submissions
        ours_wall = sum(r[0] for r in runs["all"]) / opts.rounds
        cell_seconds = sum(r[1] for r in runs["all"]) / opts.rounds
        kernel_fixed = sum(r[2] for r in runs["all"]) / opts.rounds
        alone_cells = sum(r[1] for r in runs["alone"]) / opts.rounds if runs["alone"] else None

        def row(label: str, plain_value: str, ours_value: str) -> None:
            print(f"{label:28s} {plain_value if plain_wall is not None else '-':>15s} {ours_value:>10s}")

        print()
        print(f"{'':28s} {'plain nbgrader':>15s} {'rlgrade':>10s}")
        row("wall time (s)", f"{plain_wall or 0:.1f}", f"{ours_wall:.1f}")
        row("per submission (s)", f"{(plain_wall or 0) / n:.3f}", f"{ours_wall / n:.3f}")
        row(
            "overhead per submission (s)",
            f"{((plain_wall or 0) - cell_seconds) / n:.3f}",
            f"{(workers * ours_wall - cell_seconds) / n:.3f}",
        )
        if alone_cells is not None:
            row(
                "  cells timed alone (s)",
                f"{((plain_wall or 0) - alone_cells) / n:.3f}",
                f"{(workers * ours_wall - alone_cells) / n:.3f}",
            )
        if plain_wall is not None:
            print(f"{'speed-up':28s} {'':15s} {plain_wall / ours_wall:9.1f}x")
        print(f"(time in code cells over all submissions, measured by rlgrade: {cell_seconds:.1f} s,")
        print(f" {workers} notebooks at a time", end="")
        print(f"; one at a time: {alone_cells:.1f} s)" if alone_cells is not None else ")")
        if opts.rounds > 1:
            print(f"(rlgrade's figures above: the mean of {opts.rounds} rounds)")
            for i, (wall, cells, _) in enumerate(runs["all"]):
                line = f"  round {i + 1}: wall {wall:.1f} s, overhead {(workers * wall - cells) / n:.3f} s"
                if runs["alone"]:
                    alone_i = runs["alone"][i][1]
                    line += f", {(workers * wall - alone_i) / n:.3f} s against cells alone ({alone_i:.1f} s)"
                print(line)
        print(
            "rlgrade's time per notebook outside its cells, in its worker (files, waiting for its "
            f"kernel, stopping it): {kernel_fixed:.3f} s"
        )
        if plain_wall is not None:
            plain_scores = scores(plain / "gradebook.db")
            print()
            same, differ = Counter(), Counter()
            examples: dict[str, str] = {}
            for student, kind in kinds.items():
                a, b = plain_scores.get(student), ours_scores.get(student)
                if a == b:
                    same[kind] += 1
                else:
                    differ[kind] += 1
                    examples.setdefault(kind, f"plain {json.dumps(a)} vs ours {json.dumps(b)}")
            for kind in sorted(set(kinds.values())):
                line = f"scores of {kind:8s}: identical for {same[kind]}/{same[kind] + differ[kind]}"
                if differ[kind]:
                    line += f"; e.g. {examples[kind]}"
                print(line)
            honest = [k for k in set(kinds.values()) if k not in HOSTILE]
            if any(differ[k] for k in honest):
                raise SystemExit("FAIL: honest submissions scored differently")
        by_kind: dict[str, Counter] = {}
        for student, kind in kinds.items():
            total = sum(v or 0 for v in ours_scores.get(student, {}).values())
            by_kind.setdefault(kind, Counter())[round(total, 2)] += 1
        for kind, totals in sorted(by_kind.items()):
            print(
                f"rlgrade totals of {kind:8s}: " + ", ".join(f"{t:g} x{n}" for t, n in sorted(totals.items()))
            )


if __name__ == "__main__":
    main()
