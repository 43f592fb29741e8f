"""discount_rewards: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "discount_rewards"


# ---------------------------------------------------------------- correct


def python_list(r: Tensor, gamma: float = 0.99) -> Tensor:
    rewards = r.tolist()
    returns = [0.0] * len(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        if rewards[t] != 0:
            running = 0.0
        running = running * gamma + rewards[t]
        returns[t] = running
    return torch.tensor(returns, dtype=r.dtype, device=r.device)


def tensor_loop(r: Tensor, gamma: float = 0.99) -> Tensor:
    out = torch.zeros_like(r)
    running = torch.zeros((), dtype=r.dtype)
    for t in range(r.shape[0] - 1, -1, -1):
        if r[t] != 0:
            running = torch.zeros((), dtype=r.dtype)
        running = running * gamma + r[t]
        out[t] = running
    return out


def numpy_round_trip(r: Tensor, gamma: float = 0.99) -> Tensor:
    rn = r.numpy()
    out = np.zeros_like(rn)
    running = 0.0
    for t in reversed(range(rn.size)):
        running = rn[t] if rn[t] != 0 else running * gamma + rn[t]
        out[t] = running
    return torch.from_numpy(out)


def per_rally(r: Tensor, gamma: float = 0.99) -> Tensor:
    """Each rally (ending at a non-zero reward) gets gamma ** (steps to its end) * reward."""
    out = torch.zeros_like(r)
    end, value = None, 0.0
    for t in reversed(range(len(r))):
        if r[t] != 0:
            end, value = t, float(r[t])
        if end is not None:
            out[t] = value * gamma ** (end - t)
    return out


def in_float32(r: Tensor, gamma: float = 0.99) -> Tensor:
    r32 = r.float()
    out = torch.empty_like(r32)
    running = 0.0
    for t in reversed(range(len(r32))):
        running = 0.0 if r32[t] != 0 else running
        running = running * gamma + float(r32[t])
        out[t] = running
    return out


CORRECT = [python_list, tensor_loop, numpy_round_trip, per_rally, in_float32]


# ---------------------------------------------------------------- buggy


def never_resets(r: Tensor, gamma: float = 0.99) -> Tensor:
    out = torch.zeros_like(r)
    running = 0.0
    for t in reversed(range(len(r))):
        running = running * gamma + float(r[t])
        out[t] = running
    return out


def forward_in_time(r: Tensor, gamma: float = 0.99) -> Tensor:
    out = torch.zeros_like(r)
    running = 0.0
    for t in range(len(r)):
        if r[t] != 0:
            running = 0.0
        running = running * gamma + float(r[t])
        out[t] = running
    return out


def standardises(r: Tensor, gamma: float = 0.99) -> Tensor:
    out = python_list(r, gamma)
    return (out - out.mean()) / out.std()


def fixed_gamma(r: Tensor, gamma: float = 0.99) -> Tensor:
    return python_list(r, 0.99)


def karpathy_numpy(r: Tensor, gamma: float = 0.99) -> np.ndarray:
    """np.zeros_like on a tensor gives a numpy array, and so does the whole function."""
    discounted = np.zeros_like(r)
    running = 0.0
    for t in reversed(range(0, r.shape[0])):
        if r[t] != 0:
            running = 0.0
        running = running * gamma + float(r[t])
        discounted[t] = running
    return discounted


def overwrites_r(r: Tensor, gamma: float = 0.99) -> Tensor:
    running = 0.0
    for t in reversed(range(len(r))):
        if r[t] != 0:
            running = 0.0
        running = running * gamma + float(r[t])
        r[t] = running
    return r.clone()


def discounts_the_reward_too(r: Tensor, gamma: float = 0.99) -> Tensor:
    out = torch.zeros_like(r)
    running = 0.0
    for t in reversed(range(len(r))):
        if r[t] != 0:
            running = 0.0
        running = gamma * (running + float(r[t]))
        out[t] = running
    return out


def no_default_gamma(r: Tensor, gamma: float) -> Tensor:
    return python_list(r, gamma)


_running_add = 0.0


def global_running_sum(r: Tensor, gamma: float = 0.99) -> Tensor:
    """The running sum lives in a global and starts each call where the last one ended."""
    global _running_add
    out = torch.zeros_like(r)
    for t in reversed(range(len(r))):
        if r[t] != 0:
            _running_add = 0.0
        _running_add = _running_add * gamma + float(r[t])
        out[t] = _running_add
    return out


BUGGY = [
    (never_resets, "no_reset"),
    (forward_in_time, "gamma_misapplied"),
    (standardises, "standardised"),
    (fixed_gamma, "ignores_argument"),
    (karpathy_numpy, "not_tensor"),
    (overwrites_r, "mutates_input"),
    (discounts_the_reward_too, "scaled"),
    (no_default_gamma, "raised"),
    (global_running_sum, "hidden_state"),
]
