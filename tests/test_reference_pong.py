"""The reference Pong trainer (reference/pong_pg.py) on real ALE Pong: its fast path (batched
prepro, forward pass on the changed pixels, episode buffers that keep the batch tensors)
computes what the homework functions compute, and a run checkpoints and resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_pong import check_against_dense
from reference.pong_pg import D, EpisodeBuffer, H, load_checkpoint, parse_args, record_step, train


def test_fast_path_equals_the_homework_functions_on_real_pong() -> None:
    assert check_against_dense(num_envs=3, steps=150, seed=4) < 1e-5


def test_each_game_gets_its_own_row_of_a_batch_in_any_order() -> None:
    """Batches hold the games that are ready, in any order: row j belongs to game ids[j]."""
    buffers = [EpisodeBuffer() for _ in range(3)]
    steps = [np.array([2, 0]), np.array([0, 2, 1])]
    expected: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    hidden: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    for t, ids in enumerate(steps):
        active = torch.tensor([5 + t, 17, 300])
        x_active = torch.tensor([[1.0, 0.0, -1.0], [0.0, -1.0, 1.0], [1.0, 1.0, 0.0]])[: len(ids)]
        h = torch.randn(len(ids), H, generator=torch.Generator().manual_seed(t))
        record_step(buffers, ids, active, x_active, h, [0.5] * len(ids))
        for j, game in enumerate(ids.tolist()):
            dense = torch.zeros(D)
            dense[active] = x_active[j]
            expected[game].append(dense)
            hidden[game].append(h[j])
    for game, buf in enumerate(buffers):
        assert torch.equal(buf.inputs().to_dense(), torch.stack(expected[game])), f"inputs of game {game}"
        assert torch.equal(buf.hidden(), torch.stack(hidden[game])), f"hidden activations of game {game}"


def test_a_short_run_checkpoints_and_the_next_run_resumes(tmp_path: Path) -> None:
    checkpoint, log = tmp_path / "checkpoint.pt", tmp_path / "log.csv"
    argv = ["--num-envs", "4", "--max-steps", "1200", "--no-progress", "--checkpoint", str(checkpoint)]
    first = train(parse_args([*argv, "--log", str(log)]))
    assert first.env_steps >= 1200 and checkpoint.is_file()
    saved = load_checkpoint(checkpoint)
    assert saved.env_steps == first.env_steps
    assert all(torch.equal(saved.model[k], first.model[k]) for k in first.model)
    second = train(parse_args(argv))
    assert second.env_steps >= first.env_steps + 1200, "the second run starts where the first stopped"
