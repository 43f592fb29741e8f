"""dqn_loss: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "dqn_loss"


# ---------------------------------------------------------------- correct


def gather_mse(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return F.mse_loss(q_sa, targets)


def arange_index(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online[torch.arange(q_online.shape[0]), actions]
    return ((q_sa - targets) ** 2).mean()


def one_hot_mask(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    mask = F.one_hot(actions, q_online.shape[1]).to(q_online.dtype)
    q_sa = (q_online * mask).sum(dim=1)
    return torch.mean(torch.square(targets - q_sa))


def take_along(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = torch.take_along_dim(q_online, actions[:, None], dim=1)[:, 0]
    err = q_sa - targets.detach()
    return err.pow(2).sum() / len(err)


def mse_on_columns(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.view(-1, 1))
    return F.mse_loss(q_sa, targets.view(-1, 1))


CORRECT = [gather_mse, arange_index, one_hot_mask, take_along, mse_on_columns]


# ---------------------------------------------------------------- buggy


def broadcasts(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1))  # (B, 1) - (B,) -> (B, B)
    return ((q_sa - targets) ** 2).mean()


def max_not_taken(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    return F.mse_loss(q_online.max(dim=1).values, targets)


def rows_indexed(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    return ((q_online[actions] - targets[:, None]) ** 2).mean()


def summed(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return ((q_sa - targets) ** 2).sum()


def half_mse(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return 0.5 * ((q_sa - targets) ** 2).mean()


def l1(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return F.l1_loss(q_sa, targets)


def not_squared(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return (q_sa - targets).mean()


def item_loss(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return torch.tensor(((q_sa - targets) ** 2).mean().item())


def detached_q(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.detach().gather(1, actions.unsqueeze(1)).squeeze(1)
    return F.mse_loss(q_sa, targets)


def per_sample(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    q_sa = q_online.gather(1, actions.unsqueeze(1)).squeeze(1)
    return (q_sa - targets) ** 2


BUGGY = [
    (broadcasts, "broadcast"),
    (max_not_taken, "not_taken_action"),
    (rows_indexed, "not_taken_action"),
    (summed, "scaled"),
    (half_mse, "scaled"),
    (l1, "loss_form"),
    (not_squared, "loss_form"),
    (item_loss, "detached"),
    (detached_q, "detached"),
    (per_sample, "bad_return"),
]
