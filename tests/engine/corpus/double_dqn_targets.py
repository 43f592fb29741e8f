"""double_dqn_targets: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "double_dqn_targets"


# ---------------------------------------------------------------- correct


def no_grad_gather(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1.0 - dones) * next_q_target.gather(1, best).squeeze(1)


def detach_arange_index(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    best = next_q_online.detach().argmax(dim=1)
    value = next_q_target.detach()[torch.arange(len(rewards)), best]
    return rewards + gamma * (1 - dones) * value


def one_hot_mask(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        picked = F.one_hot(next_q_online.argmax(-1), next_q_online.shape[-1]).to(next_q_target.dtype)
        value = (next_q_target * picked).sum(-1)
        return torch.where(dones.bool(), rewards, rewards + gamma * value)


def take_along_dim(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    best = torch.argmax(next_q_online, dim=-1, keepdim=True)
    value = torch.take_along_dim(next_q_target, best, dim=-1).squeeze(-1)
    not_done = dones.logical_not().to(rewards.dtype)
    return (rewards + gamma * not_done * value).detach()


def python_loop(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    out = torch.empty_like(rewards)
    for i in range(len(rewards)):
        a = int(next_q_online[i].argmax())
        bootstrap = 0.0 if float(dones[i]) == 1.0 else gamma * float(next_q_target[i, a])
        out[i] = float(rewards[i]) + bootstrap
    return out


CORRECT = [no_grad_gather, detach_arange_index, one_hot_mask, take_along_dim, python_loop]


# ---------------------------------------------------------------- buggy


def argmax_from_target(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_target.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - dones) * next_q_target.gather(1, best).squeeze(1)


def evaluates_online(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - dones) * next_q_online.gather(1, best).squeeze(1)


def roles_swapped(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_target.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - dones) * next_q_online.gather(1, best).squeeze(1)


def forgets_done(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * next_q_target.gather(1, best).squeeze(1)


def done_mask_inverted(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * dones * next_q_target.gather(1, best).squeeze(1)


def gradient_flows(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    best = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + gamma * (1 - dones) * next_q_target.gather(1, best).squeeze(1)


def argmax_over_batch(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=0)
        return rewards + gamma * (1 - dones) * next_q_target[torch.arange(len(rewards)), best]


def gather_not_squeezed(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - dones) * next_q_target.gather(1, best)


def fixed_gamma(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + 0.99 * (1 - dones) * next_q_target.gather(1, best).squeeze(1)


BUGGY = [
    (argmax_from_target, "plain_dqn_target"),
    (evaluates_online, "evaluates_with_online"),
    (roles_swapped, "evaluates_with_online"),
    (forgets_done, "no_terminal_mask"),
    (done_mask_inverted, "no_terminal_mask"),
    (gradient_flows, "gradient_into_target"),
    (argmax_over_batch, "argmax_wrong_dim"),
    (gather_not_squeezed, "wrong_shape"),
    (fixed_gamma, "ignores_argument"),
]
