"""How fast do the reference policy-gradient agents solve CartPole-v1?

For each seed, trains `reference.reinforce_cartpole` (Part 5.5) and `reference.a2c_cartpole`
(Part 5.6) until the mean return of the last 100 finished training episodes reaches the target
(default 475, CartPole-v1's "solved"), or the time limit per run (default 300 s), and prints the
episodes, environment steps and wall-clock seconds it took, then the medians over the seeds that
reached the target. One thread per run, runs one after the other. Run from the repository root
(needs `solutions/`, made by `rlgrade build`):

    .venv/bin/python -m benchmarks.bench_pg --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from typing import Any

import torch

from reference import a2c_cartpole, reinforce_cartpole


def run(algorithm: str, seed: int, target: float, max_seconds: float) -> Any:
    if algorithm == "REINFORCE":
        args = replace(reinforce_cartpole.Args(), seed=seed, solve_at=target, max_seconds=max_seconds)
        return reinforce_cartpole.train(args, verbose=False)
    args_a2c = replace(a2c_cartpole.Args(), seed=seed, solve_at=target, max_seconds=max_seconds)
    return a2c_cartpole.train(args_a2c, verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--algorithms", nargs="+", default=["REINFORCE", "A2C"], choices=["REINFORCE", "A2C"])
    options = parser.parse_args()
    print(
        f"torch {torch.__version__}, CartPole-v1, target = mean return >= {options.target:g} over the last "
        f"100 training episodes, at most {options.max_seconds:g} s per run, 1 thread"
    )
    print(
        f"{'algorithm':>9s} {'seed':>4s} {'reached':>7s} {'episodes':>8s} {'env steps':>9s} {'seconds':>8s}"
    )
    for algorithm in options.algorithms:
        results = []
        for seed in options.seeds:
            result = run(algorithm, seed, options.target, options.max_seconds)
            results.append(result)
            print(
                f"{algorithm:>9s} {seed:4d} {'yes' if result.solved else 'no':>7s} {result.episodes:8d} "
                f"{result.steps:9d} {result.seconds:8.1f}",
                flush=True,
            )
        reached = [r for r in results if r.solved]
        line = f"{algorithm:>9s} reached the target with {len(reached)} of {len(results)} seeds"
        if reached:
            line += (
                f"; median {statistics.median(r.episodes for r in reached):.0f} episodes, "
                f"{statistics.median(r.steps for r in reached):.0f} env steps, "
                f"{statistics.median(r.seconds for r in reached):.1f} s"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
