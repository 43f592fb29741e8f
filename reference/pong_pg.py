"""Policy gradients on Atari Pong from pixels, made fast on a small CPU.

The algorithm is the one of the Pong homework ("Pong from Pixels"), unchanged, and the maths comes
from the homework's reference solution (`solutions.homework_deep_rl.pong`): 80x80 difference
frames, a two-layer policy on plain tensors (200 hidden units), advantages = standardised
discounted returns (gamma 0.99, reset at every point), the gradient summed over BATCH_SIZE
finished episodes and an RMSProp *ascent* step (decay 0.99).

What this file adds is only engineering that keeps the CPU busy with Pong:

* ``num_envs`` games run in ALE's C++ vector environment, on its own threads. The agent acts for
  ``batch_envs`` of them at a time; with ``batch_envs = num_envs / 2`` the emulator plays one half
  of the games while Python and torch choose the moves of the other half.
* One forward pass per step for all games of a batch (one matrix product), and one table
  lookup that does the homework's `prepro` for all their frames.
* Difference frames are sparse (a few dozen of the 6400 pixels change from one step to the next),
  so they are stored as (pixel, value) pairs. The forward pass multiplies only the columns of W1
  of pixels that changed, and `policy_backward` gets the episode's inputs as a sparse COO
  tensor: the same sums, without the zeros. A dense episode input would take 25.6 kB per step.
* A game that ends is differentiated with `policy_backward` at once and its gradient goes into
  the gradient buffer; after every BATCH_SIZE finished episodes `rmsprop_step` updates the
  weights. (Games still running at an update finish their episode with the new weights, so a
  few of their steps come from the policy one update older.)

Run from the repository root, for example::

    python -m reference.pong_pg --num-envs 8 --max-minutes 120 \\
        --log docs/reference_pong/train_log.csv --checkpoint docs/reference_pong/checkpoint.pt \\
        --plot docs/reference_pong/learning_curve.png

It resumes from ``--checkpoint`` when that file exists (``--no-resume`` starts afresh).
"""

import argparse
import csv
import gc
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from ale_py.vector_env import AtariVectorEnv
from torch import Tensor
from tqdm import tqdm

from solutions.homework_deep_rl.pong import (
    BATCH_SIZE,
    DECAY_RATE,
    DOWN,
    GAMMA,
    UP,
    D,
    H,
    discount_rewards,
    policy_backward,
    policy_forward,
    rmsprop_step,
)

LOG_FIELDS: tuple[str, ...] = ("episode", "reward", "running_reward", "length", "env_steps", "wall_seconds")
# `prepro`'s rule for one pixel value of channel 0: nothing (0) and the background colours
# (144, 109) are 0.0, everything else (paddles, ball) is 1.0.
PIXEL_VALUE = np.ones(256, dtype=np.float32)
PIXEL_VALUE[[0, 109, 144]] = 0.0


@dataclass
class Args:
    """Command-line options (see `parse_args` for their help texts)."""

    num_envs: int = 8
    batch_envs: int | None = None  # None: num_envs // 2
    learning_rate: float = 1e-3
    batch_size: int = BATCH_SIZE
    gamma: float = GAMMA
    decay_rate: float = DECAY_RATE
    seed: int = 1
    max_minutes: float | None = None
    max_episodes: int | None = None
    max_steps: int | None = None
    log: Path | None = None
    checkpoint: Path | None = None
    checkpoint_every: int = 10
    plot: Path | None = None
    resume: bool = True
    env_threads: int = 0
    torch_threads: int = 1
    progress: bool = True


def parse_args(argv: list[str] | None = None) -> Args:
    """Parse the command line into `Args`."""
    defaults = Args()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--num-envs", type=int, default=defaults.num_envs, help="games played at once")
    add(
        "--batch-envs",
        type=int,
        default=None,
        help="games the agent acts for per step (default num_envs // 2; num_envs: lock-step)",
    )
    add("--learning-rate", type=float, default=defaults.learning_rate, help="RMSProp step size")
    add("--batch-size", type=int, default=defaults.batch_size, help="episodes per update")
    add("--gamma", type=float, default=defaults.gamma, help="discount factor")
    add("--decay-rate", type=float, default=defaults.decay_rate, help="RMSProp decay")
    add("--seed", type=int, default=defaults.seed, help="seed of the weights, the games and the actions")
    add("--max-minutes", type=float, default=None, help="stop at the first update after this many minutes")
    add("--max-episodes", type=int, default=None, help="stop at the first update after this many episodes")
    add("--max-steps", type=int, default=None, help="stop after this many env steps of this run")
    add("--log", type=Path, default=None, help="CSV file, one row per finished episode")
    add("--checkpoint", type=Path, default=None, help="checkpoint file, resumed from if present")
    add(
        "--checkpoint-every",
        type=int,
        default=defaults.checkpoint_every,
        help="write the checkpoint (and the plot) every this many updates",
    )
    add("--plot", type=Path, default=None, help="learning-curve PNG, redrawn from --log at every checkpoint")
    add("--no-resume", dest="resume", action="store_false", help="ignore an existing checkpoint")
    add("--env-threads", type=int, default=defaults.env_threads, help="emulator threads (0: one per core)")
    add("--torch-threads", type=int, default=defaults.torch_threads, help="torch intra-op threads")
    add("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return Args(**vars(parser.parse_args(argv)))


@dataclass
class TrainState:
    """Everything a run needs to go on: weights, RMSProp state, gradient buffer and counters."""

    model: dict[str, Tensor]
    rmsprop_cache: dict[str, Tensor]
    grad_buffer: dict[str, Tensor]
    episode: int = 0
    updates: int = 0
    env_steps: int = 0
    running_reward: float | None = None
    wall_seconds: float = 0.0  # summed over all runs that led to this state


@dataclass
class EpisodeBuffer:
    """What one game has seen and done since its episode began; one entry per step.

    A step's input and hidden activations stay where the batched forward pass put them: row
    `rows[t]` of that step's batch tensors, which the other games of the batch share. So a step
    costs a few list appends; the episode's (T, D) inputs are put together once, at its end."""

    pixels: list[Tensor] = field(default_factory=list)  # the batch's changed pixels, (k_t,)
    inputs_at: list[Tensor] = field(default_factory=list)  # the batch's x on them, (N_t, k_t)
    hidden_at: list[Tensor] = field(default_factory=list)  # the batch's hidden activations, (N_t, H)
    rows: list[int] = field(default_factory=list)  # this game's row in those
    dlogps: list[float] = field(default_factory=list)  # y_t - p_t = d log pi(a_t | x_t) / d logit
    rewards: list[float] = field(default_factory=list)

    def inputs(self) -> Tensor:
        """The episode's inputs as a sparse (T, D) tensor (rows are time steps)."""
        values = torch.cat([x[row] for x, row in zip(self.inputs_at, self.rows, strict=True)])
        pixels = torch.cat(self.pixels)
        counts = torch.tensor([len(p) for p in self.pixels])
        steps = torch.repeat_interleave(torch.arange(len(self.pixels)), counts)
        keep = values != 0  # a pixel that changed in another game of the batch only
        indices = torch.stack([steps[keep], pixels[keep]])
        shape = (len(self.pixels), D)
        return torch.sparse_coo_tensor(indices, values[keep], shape, check_invariants=True).coalesce()

    def hidden(self) -> Tensor:
        """The episode's hidden activations, (T, H)."""
        return torch.stack([h[row] for h, row in zip(self.hidden_at, self.rows, strict=True)])


def make_envs(num_envs: int, batch_envs: int, num_threads: int) -> AtariVectorEnv:
    """`num_envs` Pong games as `ALE/Pong-v5` plays them: 4 frames per step, sticky actions with
    probability 0.25, raw 210x160 RGB frames, full games to 21 points. `step` takes the actions of
    the `batch_envs` games returned last and returns the next `batch_envs` games that are ready;
    `info["env_id"]` says which.

    SAME_STEP autoreset: on the step that ends a game, the environment already returns the first
    frame of the next game (reward and terminated still belong to the game that ended). So every
    step is a real decision of the agent, and no step has to be thrown away."""
    return AtariVectorEnv(
        "pong",
        num_envs,
        batch_size=batch_envs,
        num_threads=num_threads,
        img_height=210,
        img_width=160,
        grayscale=False,
        stack_num=1,
        maxpool=False,
        frameskip=4,
        repeat_action_probability=0.25,
        noop_max=0,
        reward_clipping=False,
        use_fire_reset=False,
        autoreset_mode="SameStep",
    )


def prepro_batch(obs: np.ndarray) -> Tensor:
    """(N, 1, 210, 160, 3) uint8 observations -> (N, D) float32: `prepro` of every frame.

    The same crop (rows 35..194), every second row and column of channel 0, and the same rule
    per pixel value (0 and the background values 144 and 109 become 0, the rest 1), done for all
    N frames with one table lookup on the uint8 pixels: four times faster than `prepro` on the
    frames stacked along a last axis. `benchmarks.bench_pong` and the tests check it equals
    `prepro` frame by frame."""
    pixels = obs[:, 0, 35:195:2, ::2, 0]  # (N, 80, 80), a view
    return torch.from_numpy(np.take(PIXEL_VALUE, pixels).reshape(len(obs), D))


def batched_policy_forward(w1_t: Tensor, w2: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """`policy_forward` for N difference frames at once, x (N, D); w1_t is W1 transposed, (D, H).

    Only the pixels that changed in some game (k ~ 100 of 6400) take part: h = relu(W1 @ x) needs
    just those columns of W1, which are rows of w1_t. Returns p (N,), h (N, H), the indices of
    those pixels (k,) and x restricted to them (N, k)."""
    active = torch.from_numpy(np.flatnonzero(x.numpy().any(axis=0)))
    x_active = x[:, active]
    p, h = policy_forward({"W1": w1_t[active].T, "W2": w2}, x_active.T)  # (H, k) @ (k, N)
    return p, h.T, active, x_active


def record_step(
    buffers: list[EpisodeBuffer],
    ids: np.ndarray,
    active: Tensor,
    x_active: Tensor,
    h: Tensor,
    dlogps: list[float],
) -> None:
    """Append one step to the episode buffers of the games `ids` (row j is game ids[j]);
    the batch tensors are kept, not copied."""
    for j, env_id in enumerate(ids.tolist()):
        buf = buffers[env_id]
        buf.pixels.append(active)
        buf.inputs_at.append(x_active)
        buf.hidden_at.append(h)
        buf.rows.append(j)
        buf.dlogps.append(dlogps[j])


def init_model(seed: int) -> dict[str, Tensor]:
    """Xavier-like initialisation, as in the homework notebook."""
    g = torch.Generator().manual_seed(seed)
    return {"W1": torch.randn(H, D, generator=g) / D**0.5, "W2": torch.randn(H, generator=g) / H**0.5}


def new_state(seed: int) -> TrainState:
    """A fresh state: random weights, zero RMSProp cache and gradient buffer."""
    model = init_model(seed)
    return TrainState(
        model=model,
        rmsprop_cache={name: torch.zeros_like(w) for name, w in model.items()},
        grad_buffer={name: torch.zeros_like(w) for name, w in model.items()},
    )


def save_checkpoint(state: TrainState, path: Path) -> None:
    """Atomic save: a temporary file first, then `os.replace`. Only called right after an update,
    when the gradient buffer is zero, so the buffer is not stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": state.model,
        "rmsprop_cache": state.rmsprop_cache,
        "episode": state.episode,
        "updates": state.updates,
        "env_steps": state.env_steps,
        "running_reward": state.running_reward,
        "wall_seconds": state.wall_seconds,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> TrainState:
    """Load a checkpoint written by `save_checkpoint` (tensors and numbers only)."""
    payload = torch.load(path, weights_only=True)
    model: dict[str, Tensor] = payload["model"]
    return TrainState(
        model=model,
        rmsprop_cache=payload["rmsprop_cache"],
        grad_buffer={name: torch.zeros_like(w) for name, w in model.items()},
        episode=payload["episode"],
        updates=payload["updates"],
        env_steps=payload["env_steps"],
        running_reward=payload["running_reward"],
        wall_seconds=payload["wall_seconds"],
    )


def open_log(path: Path, keep_episodes: int) -> tuple[TextIO, "csv.DictWriter[str]"]:
    """Open the CSV log. The rows of the first `keep_episodes` episodes are kept, later ones (played
    after the checkpoint we resume from) are dropped; `keep_episodes=0` starts a new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    if keep_episodes > 0 and path.exists():
        with path.open(newline="") as f:
            complete = (row for row in csv.DictReader(f) if all(row.get(k) for k in LOG_FIELDS))
            rows = [row for row in complete if int(row["episode"]) <= keep_episodes]
    f = path.open("w", newline="", buffering=1)  # line-buffered: every episode reaches the disk
    writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return f, writer


def episode_gradient(model: dict[str, Tensor], buf: EpisodeBuffer, gamma: float) -> dict[str, Tensor]:
    """Policy gradient of one finished episode: standardised discounted returns times y - p,
    backpropagated with `policy_backward`."""
    returns = discount_rewards(torch.tensor(buf.rewards), gamma)
    advantages = (returns - returns.mean()) / (returns.std(correction=0) + 1e-8)
    return policy_backward(model, buf.inputs(), buf.hidden(), torch.tensor(buf.dlogps) * advantages)


def train(args: Args) -> TrainState:
    """Play and learn until one of the limits in `args` is reached; return the final state."""
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.torch_threads)
    if args.resume and args.checkpoint is not None and args.checkpoint.exists():
        state = load_checkpoint(args.checkpoint)
        print(
            f"resumed from {args.checkpoint}: episode {state.episode}, update {state.updates}, "
            f"running reward {state.running_reward}",
            flush=True,
        )
    else:
        state = new_state(args.seed)
    wall_before = state.wall_seconds
    w1_t = state.model["W1"].T.contiguous()  # for the forward pass; refreshed after every update

    # A resumed run gets new seeds, so that it does not replay the games of the first run.
    sampler = torch.Generator().manual_seed(args.seed + state.episode)
    n = args.num_envs
    envs = make_envs(n, args.batch_envs or max(n // 2, 1), args.env_threads)
    obs, info = envs.reset(seed=args.seed + state.episode)  # game i gets seed + i
    log_file, writer = open_log(args.log, state.episode) if args.log is not None else (None, None)
    # What exists now lives for the whole run (torch, the model, the emulators): keep it out of
    # the garbage collector's full passes, which otherwise walk it again and again (undone at
    # the end, for a caller that goes on).
    gc.collect()
    gc.freeze()
    start = time.perf_counter()  # after the set-up (about a second), so steps/s measure the loop

    buffers = [EpisodeBuffer() for _ in range(n)]
    prev_frames: list[Tensor | None] = [None] * n  # last prepro frame of each game; None: a new episode
    waiting = np.zeros(n, dtype=bool)  # an action was sent and its reward has not come back yet
    run_steps = 0
    stop = False
    progress = tqdm(
        total=args.max_episodes,
        initial=state.episode,
        unit="ep",
        disable=not args.progress,
        mininterval=1.0 if sys.stderr.isatty() else 60.0,
        dynamic_ncols=True,
    )
    try:
        while not stop:
            # Act for the games of this batch. At the first step of an episode, x is all zeros.
            ids = info["env_id"]
            cur = prepro_batch(obs)
            prev = []
            for env_id, frame in zip(ids, cur.unbind(0), strict=True):
                prev.append(frame if prev_frames[env_id] is None else prev_frames[env_id])
                prev_frames[env_id] = frame
            x = cur - torch.stack(prev)

            p, h, active, x_active = batched_policy_forward(w1_t, state.model["W2"], x)
            up = torch.rand(len(ids), generator=sampler) < p
            envs.send(np.where(up.numpy(), UP, DOWN))
            dlogps = (up.to(torch.float32) - p).tolist()  # y - p, with y = 1 for UP

            record_step(buffers, ids, active, x_active, h, dlogps)  # while the emulator plays
            waiting[ids] = True
            run_steps += len(ids)
            state.env_steps += len(ids)

            # Rewards and episode ends of the next batch of games.
            obs, rewards, terminated, truncated, info = envs.recv()
            for j, env_id in enumerate(info["env_id"]):
                if not waiting[env_id]:  # its first observation after `reset`, nothing to record
                    continue
                waiting[env_id] = False
                buf = buffers[env_id]
                buf.rewards.append(float(rewards[j]))
                if not (terminated[j] or truncated[j]):
                    continue

                grads = episode_gradient(state.model, buf, args.gamma)
                for name, g in grads.items():
                    state.grad_buffer[name] += g
                buffers[env_id] = EpisodeBuffer()
                prev_frames[env_id] = None  # obs[j] is already the first frame of the next game

                state.episode += 1
                reward = sum(buf.rewards)
                if state.running_reward is None:
                    state.running_reward = reward
                else:
                    state.running_reward = 0.99 * state.running_reward + 0.01 * reward
                state.wall_seconds = wall_before + time.perf_counter() - start
                if writer is not None:
                    writer.writerow(
                        {
                            "episode": state.episode,
                            "reward": reward,
                            "running_reward": round(state.running_reward, 4),
                            "length": len(buf.rewards),
                            "env_steps": state.env_steps,
                            "wall_seconds": round(state.wall_seconds, 2),
                        }
                    )
                progress.update(1)
                progress.set_postfix(
                    reward=reward,
                    running=f"{state.running_reward:.2f}",
                    steps_per_s=f"{run_steps / (time.perf_counter() - start):.0f}",
                    refresh=False,
                )

                if state.episode % args.batch_size == 0:
                    rmsprop_step(
                        state.model,
                        state.grad_buffer,
                        state.rmsprop_cache,
                        args.learning_rate,
                        args.decay_rate,
                    )
                    w1_t = state.model["W1"].T.contiguous()
                    state.updates += 1
                    out_of_time = (
                        args.max_minutes is not None
                        and time.perf_counter() - start >= 60.0 * args.max_minutes
                    )
                    out_of_episodes = args.max_episodes is not None and state.episode >= args.max_episodes
                    if out_of_time or out_of_episodes:
                        stop = True  # games that ended in the same step are dropped, like running ones
                        break
                    if state.updates % args.checkpoint_every == 0:
                        write_outputs(state, args, run_steps, time.perf_counter() - start)
            if args.max_steps is not None and run_steps >= args.max_steps:
                stop = True
    finally:
        gc.unfreeze()
        progress.close()
        envs.close()
        if log_file is not None:
            log_file.close()
    state.wall_seconds = wall_before + time.perf_counter() - start
    write_outputs(state, args, run_steps, time.perf_counter() - start)
    return state


def write_outputs(state: TrainState, args: Args, run_steps: int, run_seconds: float) -> None:
    """Checkpoint (only right after an update, when no episode of a batch is pending),
    learning-curve PNG and one status line."""
    if args.checkpoint is not None and state.episode % args.batch_size == 0:
        save_checkpoint(state, args.checkpoint)
    if args.plot is not None and args.log is not None:
        from benchmarks.plot_learning_curve import plot_learning_curve  # matplotlib only when needed

        try:
            plot_learning_curve(args.log, args.plot)
        except Exception as error:  # a plot must never stop a training run
            print(f"could not draw {args.plot}: {error!r}", flush=True)
    running = float("nan") if state.running_reward is None else state.running_reward
    print(
        f"[{time.strftime('%H:%M:%S')}] episode {state.episode} update {state.updates} "
        f"running reward {running:.2f} env steps {state.env_steps} "
        f"({run_steps / max(run_seconds, 1e-9):.0f}/s in this run)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse the options, train, print a summary."""
    args = parse_args(argv)
    print("options:", {k: str(v) for k, v in asdict(args).items()}, flush=True)
    state = train(args)
    print(
        f"done: {state.episode} episodes, {state.updates} updates, {state.env_steps} env steps, "
        f"running reward {state.running_reward}, {state.wall_seconds / 60:.1f} minutes in all",
        flush=True,
    )


if __name__ == "__main__":
    main()
