"""How fast does the reference Double + Dueling DQN (`reference.double_dqn_lunarlander`) learn
LunarLander-v3?

For each seed, trains until the mean return of the last 100 training episodes (epsilon-greedy,
epsilon 0.1 after the first 12,000 steps) reaches --solve-at (default 200, LunarLander's solved
threshold), or until the run has used --max-cpu-seconds of CPU time (default 480: 8 minutes of one
thread; on a shared machine the wall time is longer) or --total-steps. Prints, per seed and for each
milestone (mean of the last 100 episodes >= -100, 0, 100, 200), the training episodes, environment
steps, wall-clock seconds and CPU seconds at which it was first reached, then the median over the
seeds that reached it. One thread per run, runs one after the other. Run from the repository root
(needs `solutions/`, made by `rlgrade build`):

    .venv/bin/python -m benchmarks.bench_lunarlander --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch

from reference.double_dqn_lunarlander import Args, Result, train

MILESTONES = (-100.0, 0.0, 100.0, 200.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--total-steps", type=int, default=Args.total_steps)
    parser.add_argument("--max-cpu-seconds", type=float, default=Args.max_cpu_seconds)
    parser.add_argument("--solve-at", type=float, default=Args.solve_at)
    options = parser.parse_args()
    print(
        f"torch {torch.__version__}, LunarLander-v3, Double + Dueling DQN, one thread; target: mean return "
        f"of the last 100 training episodes >= {options.solve_at:g}; "
        f"limit {options.max_cpu_seconds:g} CPU s per seed",
        flush=True,
    )
    print(
        f"{'seed':>4s} {'mean >=':>8s} {'episodes':>8s} {'env steps':>9s} {'seconds':>8s} {'CPU s':>8s}",
        flush=True,
    )
    results: list[Result] = []
    for seed in options.seeds:
        args = replace(
            Args(),
            seed=seed,
            total_steps=options.total_steps,
            max_cpu_seconds=options.max_cpu_seconds,
            solve_at=options.solve_at,
        )
        result = train(args, milestones=MILESTONES, verbose=False)
        results.append(result)
        for m in result.milestones:
            print(
                f"{seed:4d} {m.level:8.0f} {m.episodes:8d} {m.steps:9d} {m.seconds:8.1f} "
                f"{m.cpu_seconds:8.1f}",
                flush=True,
            )
        print(
            f"{seed:4d} end: {'reached' if result.solved else 'not reached'} {options.solve_at:g}; "
            f"{result.episodes} episodes, {result.steps} env steps, {result.seconds:.1f} s "
            f"({result.cpu_seconds:.1f} CPU s), best mean over 100 episodes {result.best_mean:.1f}",
            flush=True,
        )
    for level in MILESTONES:
        hits = [m for r in results for m in r.milestones if m.level == level]
        if hits:
            print(
                f"mean >= {level:g}: reached by {len(hits)} of {len(results)} seeds; median "
                f"{statistics.median(m.episodes for m in hits):.0f} episodes, "
                f"{statistics.median(m.steps for m in hits):.0f} env steps, "
                f"{statistics.median(m.seconds for m in hits):.1f} s, "
                f"{statistics.median(m.cpu_seconds for m in hits):.1f} CPU s"
            )
        else:
            print(f"mean >= {level:g}: reached by 0 of {len(results)} seeds")


if __name__ == "__main__":
    main()
