"""reinforce_loss: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "reinforce_loss"


# ---------------------------------------------------------------- correct


def mean_form(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    advantages = returns.detach()
    if normalize:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return -(log_probs * advantages).mean()


def no_grad_block(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    with torch.no_grad():
        a = returns.clone()
        if normalize:
            a = (a - a.mean()) / (a.std(unbiased=True) + 1e-8)
    return -torch.mean(log_probs * a)


def dot_product(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach().to(log_probs.dtype)
    if normalize:
        g = (g - g.mean()) / (torch.std(g) + 1e-8)
    return -torch.dot(log_probs, g) / log_probs.numel()


def sum_over_len(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        mu, sigma = g.mean(), g.std()
        g = (g - mu) / (sigma + 1e-8)
    terms = [-lp * a for lp, a in zip(log_probs, g, strict=True)]
    return torch.stack(terms).sum() / len(terms)


def correction_kwarg(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std(correction=1) + 1e-8)
    return (-log_probs * g).mean()


CORRECT = [mean_form, no_grad_block, dot_product, sum_over_len, correction_kwarg]


# ---------------------------------------------------------------- buggy


def ascent_sign(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std() + 1e-8)
    return (log_probs * g).mean()


def summed(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std() + 1e-8)
    return -(log_probs * g).sum()


def no_eps(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / g.std()
    return -(log_probs * g).mean()


def population_std(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std(unbiased=False) + 1e-8)
    return -(log_probs * g).mean()


def only_centred(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = g - g.mean()
    return -(log_probs * g).mean()


def always_normalised(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    g = (g - g.mean()) / (g.std() + 1e-8)
    return -(log_probs * g).mean()


def never_normalised(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    return -(log_probs * returns.detach()).mean()


def not_detached(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns
    if normalize:
        g = (g - g.mean()) / (g.std() + 1e-8)
    return -(log_probs * g).mean()


def item_loss(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std() + 1e-8)
    return torch.tensor(-(log_probs * g).mean().item())


def per_step(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    g = returns.detach()
    if normalize:
        g = (g - g.mean()) / (g.std() + 1e-8)
    return -(log_probs * g)


BUGGY = [
    (ascent_sign, "gradient_ascent_sign"),
    (summed, "scaled"),
    (no_eps, "not_finite"),
    (population_std, "normalisation"),
    (only_centred, "normalisation"),
    (always_normalised, "ignores_normalize"),
    (never_normalised, "ignores_normalize"),
    (not_detached, "gradient_into_returns"),
    (item_loss, "detached"),
    (per_step, "bad_return"),
]
