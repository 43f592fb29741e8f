"""n_step_returns: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "n_step_returns"


# ---------------------------------------------------------------- correct


def backward_loop(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


def no_grad_stack(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        rows: list[Tensor] = []
        running = next_value
        for r, d in zip(reversed(rewards), reversed(dones), strict=True):
            running = r + gamma * running * (1 - d)
            rows.append(running)
        return torch.stack(rows[::-1])


def not_done_mask(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    not_done = 1.0 - dones
    returns = torch.empty_like(rewards)
    future = next_value.detach().clone()
    for t in range(rewards.shape[0] - 1, -1, -1):
        future = rewards[t] + gamma * not_done[t] * future
        returns[t] = future
    return returns


def per_env_lists(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    T, N = rewards.shape
    out = torch.zeros(T, N, dtype=rewards.dtype)
    for i in range(N):
        g = float(next_value[i].detach())
        for t in reversed(range(T)):
            if dones[t, i] > 0.5:
                g = 0.0
            g = float(rewards[t, i]) + gamma * g
            out[t, i] = g
    return out


def where_reset(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    nxt = next_value.detach()
    for t in reversed(range(len(rewards))):
        nxt = torch.where(dones[t].bool(), torch.zeros_like(nxt), nxt)
        nxt = rewards[t] + gamma * nxt
        out[t] = nxt
    return out


CORRECT = [backward_loop, no_grad_stack, not_done_mask, per_env_lists, where_reset]


# ---------------------------------------------------------------- buggy


def ignores_dones(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def mask_from_next_step(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    # "dones[t + 1] says whether s_{t+1} is terminal" -- one step late
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    T = rewards.shape[0]
    for t in reversed(range(T)):
        mask = 1.0 - dones[t + 1] if t + 1 < T else torch.ones_like(dones[t])
        running = rewards[t] + gamma * mask * running
        out[t] = running
    return out


def masks_reward(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = (1.0 - dones[t]) * (rewards[t] + gamma * running)
        out[t] = running
    return out


def starts_at_zero(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


def forwards(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in range(rewards.shape[0]):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


def keeps_graph(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    rows: list[Tensor] = []
    running = next_value
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        rows.insert(0, running)
    return torch.stack(rows)


def inverted_mask(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * dones[t] * running
        out[t] = running
    return out


def discounts_reward(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = gamma * (rewards[t] + (1.0 - dones[t]) * running)
        out[t] = running
    return out


def time_major_mixup(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards.T)
    running = next_value.detach()
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[:, t] = running
    return out


BUGGY = [
    (ignores_dones, "no_done_mask"),
    (mask_from_next_step, "mask_off_by_one"),
    (masks_reward, "no_done_mask"),
    (starts_at_zero, "no_bootstrap"),
    (forwards, "forward_accumulation"),
    (keeps_graph, "gradient_into_target"),
    (inverted_mask, "no_done_mask"),
    (discounts_reward, "gamma_misapplied"),
    (time_major_mixup, "transposed"),
]
