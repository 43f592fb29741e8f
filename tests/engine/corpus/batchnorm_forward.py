"""batchnorm_forward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

STUB = "batchnorm_forward"


# ---------------------------------------------------------------- correct


def by_formula(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    mu = x.mean(dim=0)
    var = ((x - mu) ** 2).mean(dim=0)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def biased_var(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    mu = x.mean(0, keepdim=True)
    var = x.var(0, unbiased=False, keepdim=True)
    return (x - mu) * torch.rsqrt(var + eps) * gamma + beta


def var_mean(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    var, mu = torch.var_mean(x, dim=0, correction=0)
    return torch.addcmul(beta, gamma, (x - mu) / (var + eps).sqrt())


def functional(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return F.batch_norm(x, None, None, weight=gamma, bias=beta, training=True, eps=eps)


def module(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    bn = nn.BatchNorm1d(x.shape[1], eps=eps).to(x.dtype)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
    bn.train()
    return bn(x).detach()


def numpy_version(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    a = x.numpy()
    xhat = (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + eps)
    return torch.from_numpy((gamma.numpy() * xhat + beta.numpy()).astype(a.dtype))


CORRECT = [by_formula, biased_var, var_mean, functional, module, numpy_version]


# ---------------------------------------------------------------- buggy


def torch_var_default(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta


def eps_on_std(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return gamma * (x - x.mean(0)) / (x.std(0, unbiased=False) + eps) + beta


def per_example(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    """Statistics along the wrong dimension (this is layer norm)."""
    mu = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def forgets_gamma(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


def swapped(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return beta * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + gamma


def no_eps(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    return gamma * (x - x.mean(0)) / x.std(0, unbiased=False) + beta


def centres_in_place(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    x -= x.mean(0)
    x /= torch.sqrt((x**2).mean(0) + eps)
    return gamma * x + beta


def whole_batch_statistics(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    """One mean and one variance for the whole tensor."""
    return gamma * (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) + beta


def returns_cache(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Keeps what the backward pass needs, as in many lecture notes."""
    mu, var = x.mean(0), x.var(0, unbiased=False)
    xhat = (x - mu) / torch.sqrt(var + eps)
    return gamma * xhat + beta, xhat, var


BUGGY = [
    (torch_var_default, "unbiased_variance"),
    (eps_on_std, "eps_placement"),
    (per_example, "wrong_axis"),
    (forgets_gamma, "missing_gamma"),
    (swapped, "gamma_beta_swapped"),
    (no_eps, "not_finite"),
    (centres_in_place, "mutates_input"),
    (whole_batch_statistics, "wrong_values"),
    (returns_cache, "bad_return"),
]
