"""Play whole games of gymnasium's ALE/Pong-v5 (the notebook's environment) with a checkpoint
of `reference.pong_pg`, actions sampled from the policy as in training.

    python -m benchmarks.eval_pong docs/reference_pong/checkpoint.pt --games 5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ale_py
import gymnasium as gym
import torch

from reference.pong_pg import DOWN, UP, load_checkpoint
from solutions.homework_deep_rl.pong import policy_forward, prepro


def play(model: dict[str, torch.Tensor], env: gym.Env, seed: int) -> float:
    """One game; returns points won minus points lost (-21 .. 21)."""
    obs, _ = env.reset(seed=seed)
    previous: torch.Tensor | None = None
    total, done = 0.0, False
    while not done:
        frame = prepro(obs)
        x = frame - previous if previous is not None else torch.zeros_like(frame)
        previous = frame
        p_up, _ = policy_forward(model, x)
        obs, reward, terminated, truncated, _ = env.step(UP if torch.rand(()) < p_up else DOWN)
        total += float(reward)
        done = terminated or truncated
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--games", type=int, default=5)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    gym.register_envs(ale_py)
    torch.manual_seed(args.seed)
    model = load_checkpoint(args.checkpoint).model
    env = gym.make("ALE/Pong-v5")
    scores = [play(model, env, args.seed + game) for game in range(args.games)]
    print(
        f"{args.games} games of ALE/Pong-v5: {', '.join(f'{s:+.0f}' for s in scores)}; "
        f"mean {sum(scores) / len(scores):+.1f}"
    )


if __name__ == "__main__":
    main()
