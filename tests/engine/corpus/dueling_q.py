"""dueling_q: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "dueling_q"


# ---------------------------------------------------------------- correct


def mean_keepdim(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.mean(dim=1, keepdim=True)


def centred_first(value: Tensor, advantages: Tensor) -> Tensor:
    centred = advantages - advantages.mean(-1, keepdim=True)
    return centred + value


def sum_over_count(value: Tensor, advantages: Tensor) -> Tensor:
    n_actions = advantages.shape[1]
    return value.expand_as(advantages) + advantages - advantages.sum(dim=1, keepdim=True) / n_actions


def unsqueeze_mean(value: Tensor, advantages: Tensor) -> Tensor:
    mean = advantages.mean(dim=1).unsqueeze(1)
    return value.view(-1, 1) + (advantages - mean)


def new_tensor_then_inplace(value: Tensor, advantages: Tensor) -> Tensor:
    q = advantages.clone()
    q -= advantages.mean(dim=1, keepdim=True)
    q += value
    return q


CORRECT = [mean_keepdim, centred_first, sum_over_count, unsqueeze_mean, new_tensor_then_inplace]


# ---------------------------------------------------------------- buggy


def no_mean(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages


def max_centred(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.max(dim=1, keepdim=True).values


def mean_over_batch(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.mean(dim=0, keepdim=True)


def mean_without_keepdim(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.mean(dim=1)


def value_squeezed(value: Tensor, advantages: Tensor) -> Tensor:
    v = value.squeeze(-1)
    return v + (advantages - advantages.mean(dim=1, keepdim=True))


def in_place_on_input(value: Tensor, advantages: Tensor) -> Tensor:
    advantages -= advantages.mean(dim=1, keepdim=True)
    return value + advantages


def under_no_grad(value: Tensor, advantages: Tensor) -> Tensor:
    with torch.no_grad():
        return value + advantages - advantages.mean(dim=1, keepdim=True)


def global_mean(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.mean()


def value_detached(value: Tensor, advantages: Tensor) -> Tensor:
    return value.detach() + advantages - advantages.mean(dim=1, keepdim=True)


BUGGY = [
    (no_mean, "no_centering"),
    (max_centred, "max_not_mean"),
    (mean_over_batch, "mean_over_batch"),
    (mean_without_keepdim, "broadcast"),
    (value_squeezed, "broadcast"),
    (in_place_on_input, "mutates_input"),
    (under_no_grad, "detached"),
    (global_mean, "wrong_values"),
    (value_detached, "detached"),
]
