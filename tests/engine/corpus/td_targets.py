"""td_targets: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "td_targets"


# ---------------------------------------------------------------- correct


def no_grad_max(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * (1.0 - dones) * next_q_target.max(dim=1).values


def detach_amax(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    best = next_q_target.detach().amax(dim=1)
    return rewards + gamma * (1 - dones) * best


def where_terminal(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    best = next_q_target.max(1)[0]
    y = torch.where(dones.bool(), rewards, rewards + gamma * best)
    return y.detach()


def keepdim_then_squeeze(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        best = next_q_target.max(dim=-1, keepdim=True).values.squeeze(-1)
        not_done = dones.logical_not().to(rewards.dtype)
        return rewards.clone().add_(gamma * not_done * best)


def python_loop(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    out = torch.empty_like(rewards)
    for i in range(len(rewards)):
        bootstrap = 0.0 if float(dones[i]) == 1.0 else gamma * float(next_q_target[i].max())
        out[i] = float(rewards[i]) + bootstrap
    return out


CORRECT = [no_grad_max, detach_amax, where_terminal, keepdim_then_squeeze, python_loop]


# ---------------------------------------------------------------- buggy


def forgets_done(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * next_q_target.max(dim=1).values


def done_mask_inverted(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * dones * next_q_target.max(dim=1).values


def gradient_flows(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    return rewards + gamma * (1 - dones) * next_q_target.max(dim=1).values


def mean_over_actions(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target.mean(dim=1)


def max_over_batch(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target.max(dim=0).values


def keeps_dim(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target.max(dim=1, keepdim=True).values


def discounts_reward(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return gamma * (rewards + (1 - dones) * next_q_target.max(dim=1).values)


def action_zero(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target[:, 0]


def fixed_gamma(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    with torch.no_grad():
        return rewards + 0.99 * (1 - dones) * next_q_target.max(dim=1).values


BUGGY = [
    (forgets_done, "no_terminal_mask"),
    (done_mask_inverted, "no_terminal_mask"),
    (gradient_flows, "gradient_into_target"),
    (mean_over_actions, "not_max"),
    (max_over_batch, "wrong_shape"),
    (keeps_dim, "wrong_shape"),
    (discounts_reward, "gamma_misapplied"),
    (action_zero, "not_max"),
    (fixed_gamma, "ignores_argument"),
]
