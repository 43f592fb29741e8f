"""How fast does the reference DQN (`reference.dqn_cartpole`) solve CartPole-v1?

For each seed, trains until CartPole-v1 is solved (a mean return of 475 over 100 episodes: the
last 100 training episodes, or 100 greedy evaluation episodes; see reference.dqn_cartpole) or
the step limit, and prints how it was solved, the training episodes, environment steps, gradient
steps and wall-clock seconds (evaluation included), then the median over the seeds. One thread
per run, runs one after the other. Run from the repository root (needs `solutions/`, made by `rlgrade build`):

    .venv/bin/python -m benchmarks.bench_dqn --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch

from reference.dqn_cartpole import Args, Result, train


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--total-steps", type=int, default=Args.total_steps)
    options = parser.parse_args()
    print(f"torch {torch.__version__}, CartPole-v1, solved = mean return >= 475 over 100 episodes")
    print(
        f"{'seed':>4s} {'solved':>6s} {'episodes':>8s} {'env steps':>9s} {'grad steps':>10s} {'seconds':>8s}"
    )
    results: list[Result] = []
    for seed in options.seeds:
        result = train(replace(Args(), seed=seed, total_steps=options.total_steps), verbose=False)
        results.append(result)
        print(
            f"{seed:4d} {result.how or 'no':>8s} {result.episodes:8d} {result.steps:9d} "
            f"{result.gradient_steps:10d} {result.seconds:8.1f}"
        )
    solved = [r for r in results if r.solved]
    print(f"solved {len(solved)} of {len(results)} seeds")
    if solved:
        print(
            f"median over solved seeds: {statistics.median(r.episodes for r in solved):.0f} episodes, "
            f"{statistics.median(r.steps for r in solved):.0f} env steps, "
            f"{statistics.median(r.seconds for r in solved):.1f} s"
        )


if __name__ == "__main__":
    main()
