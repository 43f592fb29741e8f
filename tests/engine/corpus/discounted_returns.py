"""discounted_returns: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "discounted_returns"


# ---------------------------------------------------------------- correct


def backward_loop(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def list_then_reverse(rewards: Tensor, gamma: float) -> Tensor:
    g, out = 0.0, []
    for r in reversed(rewards.tolist()):
        g = r + gamma * g
        out.append(g)
    out.reverse()
    return torch.tensor(out, dtype=rewards.dtype)


def insert_front(rewards: Tensor, gamma: float) -> Tensor:
    g = torch.zeros((), dtype=rewards.dtype)
    out: list[Tensor] = []
    for r in rewards.flip(0):
        g = r + gamma * g
        out.insert(0, g)
    return torch.stack(out)


def discount_matrix(rewards: Tensor, gamma: float) -> Tensor:
    T = len(rewards)
    t = torch.arange(T, dtype=torch.float64)
    power = (t[None, :] - t[:, None]).clamp(min=0)
    mask = (t[None, :] >= t[:, None]).to(torch.float64)
    weights = mask * torch.pow(torch.tensor(gamma, dtype=torch.float64), power)
    return (weights @ rewards.to(torch.float64)).to(rewards.dtype)


def index_countdown(rewards: Tensor, gamma: float) -> Tensor:
    returns = rewards.clone()
    for t in range(len(rewards) - 2, -1, -1):
        returns[t] = rewards[t] + gamma * returns[t + 1]
    return returns


CORRECT = [backward_loop, list_then_reverse, insert_front, discount_matrix, index_countdown]


# ---------------------------------------------------------------- buggy


def forwards(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def excludes_current(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        out[t] = running
        running = rewards[t] + gamma * running
    return out


def gamma_on_reward(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = gamma * (running + rewards[t])
        out[t] = running
    return out


def not_reversed_back(rewards: Tensor, gamma: float) -> Tensor:
    g, out = 0.0, []
    for r in reversed(rewards.tolist()):
        g = r + gamma * g
        out.append(g)
    return torch.tensor(out, dtype=rewards.dtype)


def pong_reset(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        if rewards[t] != 0:
            running = 0.0
        running = running * gamma + rewards[t]
        out[t] = running
    return out


def standardised_inside(rewards: Tensor, gamma: float) -> Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    if len(out) > 1:
        out = (out - out.mean()) / (out.std() + 1e-8)
    return out


def undiscounted(rewards: Tensor, gamma: float) -> Tensor:
    return rewards.flip(0).cumsum(0).flip(0)


def float_list(rewards: Tensor, gamma: float) -> Tensor:
    g, out = 0.0, []
    for r in reversed(rewards.tolist()):
        g = r + gamma * g
        out.insert(0, g)
    return torch.tensor(out, dtype=torch.float32 if rewards.dtype == torch.float64 else torch.float64)


BUGGY = [
    (forwards, "forward_accumulation"),
    (excludes_current, "excludes_reward"),
    (gamma_on_reward, "gamma_misapplied"),
    (not_reversed_back, "reversed_output"),
    (pong_reset, "reset_inside_episode"),
    (standardised_inside, "standardised"),
    (undiscounted, "ignores_argument"),
    (float_list, "wrong_dtype"),
]
