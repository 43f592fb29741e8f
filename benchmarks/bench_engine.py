"""Benchmark of the grading engine: time of all hidden (and visible) checks of every stub,
and the corpus summary.

    .venv/bin/python benchmarks/bench_engine.py
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from autograder.engine import api, check, grade  # noqa: E402
from tests.engine.corpus import MODULES, entries, judge_entry, summary  # noqa: E402


def timed_checks() -> None:
    """Cases generated from scratch, then graded on one correct implementation per stub."""
    api._cached_cases.cache_clear()
    rows: list[tuple[str, float, float]] = []
    with contextlib.redirect_stdout(io.StringIO()):
        for module in MODULES:
            fn = module.CORRECT[0]
            start = time.perf_counter()
            check(module.STUB, fn)
            visible = time.perf_counter() - start
            start = time.perf_counter()
            grade(module.STUB, fn, 1.0)
            rows.append((module.STUB, visible, time.perf_counter() - start))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available")
    print(f"{'stub':18s} {'check (s)':>10s} {'grade (s)':>10s}")
    for stub, visible, hidden in rows:
        print(f"{stub:18s} {visible:10.3f} {hidden:10.3f}")
    print(f"{'all':18s} {sum(r[1] for r in rows):10.3f} {sum(r[2] for r in rows):10.3f}")


def corpus() -> None:
    start = time.perf_counter()
    verdicts = [judge_entry(e) for e in entries()]
    print(summary(verdicts))
    print(f"graded in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    timed_checks()
    corpus()
