"""How much of the emulator's speed does the Pong training loop keep?

Prints, in one run (about a minute on 2 cores):

* raw vector-environment steps/s: random UP/DOWN actions, the same environment set-up as
  `reference.pong_pg` (same num_envs, batch_envs and threads), no learning;
* the training loop's env steps/s: `reference.pong_pg.train` itself for a fixed number of steps;
* their ratio (the goal is 70 % or more);
* one gymnasium `ALE/Pong-v5` environment, stepped from Python, for comparison.

Other programs on a shared machine change the speed from one minute to the next, so the
measurements alternate: raw, training, raw, training, ..., raw (`--rounds` training runs).
Each training run is compared with the mean of the raw runs just before and after it, and
the table gives every round's ratio and their median. Run from the repository root:

    python -m benchmarks.bench_pong --num-envs 8 --steps 12000 --rounds 3
"""

import argparse
import os
import statistics
import time

import ale_py
import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from reference.pong_pg import (
    DOWN,
    UP,
    Args,
    EpisodeBuffer,
    batched_policy_forward,
    init_model,
    make_envs,
    prepro_batch,
    record_step,
    train,
)
from solutions.homework_deep_rl.pong import policy_backward, policy_forward, prepro


def check_against_dense(num_envs: int, steps: int, seed: int) -> float:
    """Largest difference between the fast path of `reference.pong_pg` (batched `prepro`, forward
    pass over the changed pixels, sparse episode inputs) and the plain homework functions
    (`prepro`, `policy_forward`, `policy_backward` on dense inputs) over `steps` real steps."""
    model = init_model(seed)
    w1_t = model["W1"].T.contiguous()
    envs = make_envs(num_envs, num_envs, 1)
    obs, _ = envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    buffers = [EpisodeBuffer() for _ in range(num_envs)]
    dense_xs: list[list[Tensor]] = [[] for _ in range(num_envs)]
    dense_hs: list[list[Tensor]] = [[] for _ in range(num_envs)]
    prev = prepro_batch(obs)
    worst = 0.0
    for _ in range(steps):
        cur = prepro_batch(obs)
        x = cur - prev
        prev = cur
        p, h, active, x_active = batched_policy_forward(w1_t, model["W2"], x)
        record_step(buffers, np.arange(num_envs), active, x_active, h, (1.0 - p).tolist())
        for i in range(num_envs):
            p_ref, h_ref = policy_forward(model, x[i])
            worst = max(
                worst,
                float((cur[i] - prepro(obs[i, 0])).abs().max()),
                float((p[i] - p_ref).abs()),
                float((h[i] - h_ref).abs().max()),
            )
            dense_xs[i].append(x[i].clone())
            dense_hs[i].append(h_ref)
        obs, *_ = envs.step(rng.choice(np.array([UP, DOWN]), size=num_envs))
    envs.close()
    delta = torch.randn(steps, generator=torch.Generator().manual_seed(seed))
    for buf, xs, hs in zip(buffers, dense_xs, dense_hs, strict=True):
        epx, eph = torch.stack(xs), torch.stack(hs)
        worst = max(worst, float((buf.inputs().to_dense() - epx).abs().max()))
        worst = max(worst, float((buf.hidden() - eph).abs().max()))
        sparse_grads = policy_backward(model, buf.inputs(), eph, delta)
        dense_grads = policy_backward(model, epx, eph, delta)
        for name in model:
            worst = max(worst, float((sparse_grads[name] - dense_grads[name]).abs().max()))
    return worst


def raw_vector_steps_per_s(
    num_envs: int, batch_envs: int, env_threads: int, steps: int, seed: int
) -> tuple[float, float]:
    """Env steps per second of the vector environment with random actions (no agent), and the
    CPU time of this process (all threads, set-up included) per 1000 env steps, in seconds."""
    cpu_start = time.process_time()
    envs = make_envs(num_envs, batch_envs, env_threads)
    rng = np.random.default_rng(seed)
    _, info = envs.reset(seed=seed)
    done = 0
    start = time.perf_counter()
    while done < steps:
        batch = len(info["env_id"])
        envs.send(rng.choice(np.array([UP, DOWN]), size=batch))
        _, _, _, _, info = envs.recv()
        done += batch
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    envs.close()
    return done / elapsed, 1000 * cpu / done


def training_steps_per_s(
    num_envs: int, batch_envs: int, env_threads: int, torch_threads: int, steps: int, seed: int
) -> tuple[float, float, int]:
    """Env steps per second of the real training loop (`train`) for `steps` env steps, the CPU
    time per 1000 env steps (set-up included, as for the raw env) and the episodes it ended."""
    args = Args(
        num_envs=num_envs,
        batch_envs=batch_envs,
        env_threads=env_threads,
        torch_threads=torch_threads,
        max_steps=steps,
        seed=seed,
        resume=False,
        progress=False,
    )
    cpu_start = time.process_time()
    state = train(args)
    cpu = time.process_time() - cpu_start
    return state.env_steps / state.wall_seconds, 1000 * cpu / state.env_steps, state.episode


def gym_single_steps_per_s(steps: int, seed: int) -> float:
    """Env steps per second of one `ALE/Pong-v5` environment stepped from Python (random actions)."""
    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.choice([UP, DOWN])))
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description="Benchmark the Pong training loop against the raw emulator.")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--batch-envs", type=int, default=None, help="default num_envs // 2, as in pong_pg")
    parser.add_argument("--env-threads", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12_000, help="env steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="training runs, each between two raw runs")
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    batch_envs = a.batch_envs or max(a.num_envs // 2, 1)

    print(
        f"machine: {os.cpu_count()} CPU cores, load average before {os.getloadavg()[0]:.2f}; "
        f"torch {torch.__version__}, ale-py {ale_py.__version__}, gymnasium {gym.__version__}",
        flush=True,
    )
    print(
        f"set-up: num_envs={a.num_envs}, batch_envs={batch_envs}, env_threads={a.env_threads}, "
        f"torch_threads={a.torch_threads}, {a.steps} env steps per measurement, {a.rounds} rounds",
        flush=True,
    )
    worst = check_against_dense(a.num_envs, 300, a.seed)
    print(f"fast path vs homework functions on 300 real steps: largest difference {worst:.2e}", flush=True)
    env_setup = (a.num_envs, batch_envs, a.env_threads)
    raws = [raw_vector_steps_per_s(*env_setup, a.steps, a.seed)]
    loops: list[tuple[float, float, int]] = []
    for r in range(a.rounds):
        loops.append(training_steps_per_s(*env_setup, a.torch_threads, a.steps, a.seed + r))
        raws.append(raw_vector_steps_per_s(*env_setup, a.steps, a.seed + r + 1))
    single = gym_single_steps_per_s(a.steps // 4, a.seed)

    print()
    print(f"{'measurement':<52}{'env steps/s':>12}{'CPU s / 1000 steps':>20}{'ratio':>8}")
    print(f"{'':<52}{'(wall clock)':>12}{'(all threads)':>20}")
    ratios = []
    for r, (loop, loop_cpu, episodes) in enumerate(loops):
        raw = (raws[r][0] + raws[r + 1][0]) / 2
        ratios.append(loop / raw)
        print(f"{'raw vector env, random actions':<52}{raws[r][0]:>12.0f}{raws[r][1]:>20.3f}")
        label = f"training loop (pong_pg.train, {episodes} episodes ended)"
        print(f"{label:<52}{loop:>12.0f}{loop_cpu:>20.3f}{100 * loop / raw:>7.1f}%")
    print(f"{'raw vector env, random actions':<52}{raws[-1][0]:>12.0f}{raws[-1][1]:>20.3f}")
    print(
        f"{'ratio training / raw (raw: mean of the runs around)':<52}"
        + ", ".join(f"{100 * q:.1f}%" for q in ratios)
    )
    print(f"{'median ratio':<52}{100 * statistics.median(ratios):>11.1f}%")
    raw_cpu = statistics.mean(cpu for _, cpu in raws)
    loop_cpu = statistics.mean(cpu for _, cpu, _ in loops)
    print(f"{'CPU per env step, raw / training (load-independent)':<52}{100 * raw_cpu / loop_cpu:>11.1f}%")
    loop_median = statistics.median(loop for loop, _, _ in loops)
    print(f"{'one gymnasium ALE/Pong-v5 env, Python loop':<52}{single:>12.0f}")
    print(f"{'training loop (median) / one gymnasium env':<52}{loop_median / single:>11.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
