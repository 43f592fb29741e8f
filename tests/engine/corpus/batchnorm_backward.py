"""batchnorm_backward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "batchnorm_backward"
Grads = tuple[Tensor, Tensor, Tensor]


# ---------------------------------------------------------------- correct


def compact_formula(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    n = x.shape[0]
    mu = x.mean(0)
    s = torch.sqrt(((x - mu) ** 2).mean(0) + eps)
    xhat = (x - mu) / s
    dx = gamma / (n * s) * (n * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def step_by_step(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    """The computational graph backwards, one node at a time (the classic staged derivation)."""
    n = x.shape[0]
    mu = x.mean(0)
    xmu = x - mu
    var = (xmu**2).mean(0)
    std = torch.sqrt(var + eps)
    inv = 1.0 / std
    xhat = xmu * inv
    dbeta = dout.sum(0)
    dgamma = (dout * xhat).sum(0)
    dxhat = dout * gamma
    dinv = (dxhat * xmu).sum(0)
    dxmu1 = dxhat * inv
    dstd = -dinv / std**2
    dvar = 0.5 * dstd / std
    dsq = torch.ones_like(x) * dvar / n
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(0)
    dx2 = torch.ones_like(x) * dmu / n
    return dx1 + dx2, dgamma, dbeta


def mean_form(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    var, mu = torch.var_mean(x, dim=0, correction=0)
    rstd = torch.rsqrt(var + eps)
    xhat = (x - mu) * rstd
    g = dout * gamma
    dx = rstd * (g - g.mean(0) - xhat * (g * xhat).mean(0))
    return dx, torch.einsum("nd,nd->d", dout, xhat), dout.sum(dim=0)


def numpy_version(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    d, a, g = dout.numpy(), x.numpy(), gamma.numpy()
    n = a.shape[0]
    xhat = (a - a.mean(0)) / np.sqrt(a.var(0) + eps)
    inv = 1 / np.sqrt(a.var(0) + eps)
    dx = (g * inv / n) * (n * d - d.sum(0) - xhat * (d * xhat).sum(0))
    return torch.from_numpy(dx), torch.from_numpy((d * xhat).sum(0)), torch.from_numpy(d.sum(0))


def per_feature_loop(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    n, features = x.shape
    dx = torch.empty_like(x)
    dgamma = torch.empty_like(gamma)
    dbeta = torch.empty_like(gamma)
    for j in range(features):
        col, dcol = x[:, j], dout[:, j]
        s = torch.sqrt(col.var(unbiased=False) + eps)
        xhat = (col - col.mean()) / s
        dbeta[j] = dcol.sum()
        dgamma[j] = (dcol * xhat).sum()
        dx[:, j] = gamma[j] / s * (dcol - dcol.mean() - xhat * (dcol * xhat).mean())
    return dx, dgamma, dbeta


CORRECT = [compact_formula, step_by_step, mean_form, numpy_version, per_feature_loop]


# ---------------------------------------------------------------- buggy


def constant_statistics(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    s = torch.sqrt(x.var(0, unbiased=False) + eps)
    xhat = (x - x.mean(0)) / s
    return dout * gamma / s, (dout * xhat).sum(0), dout.sum(0)


def only_mean_path(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    s = torch.sqrt(x.var(0, unbiased=False) + eps)
    xhat = (x - x.mean(0)) / s
    g = dout * gamma
    return (g - g.mean(0)) / s, (dout * xhat).sum(0), dout.sum(0)


def only_variance_path(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    s = torch.sqrt(x.var(0, unbiased=False) + eps)
    xhat = (x - x.mean(0)) / s
    g = dout * gamma
    return (g - xhat * (g * xhat).mean(0)) / s, (dout * xhat).sum(0), dout.sum(0)


def unbiased(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    """torch.var's default (N - 1) in the backward pass too."""
    n = x.shape[0]
    s = torch.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / s
    g = dout * gamma
    dx = (g - g.mean(0) - xhat * (g * xhat).sum(0) / (n - 1)) / s
    return dx, (dout * xhat).sum(0), dout.sum(0)


def dgamma_from_x(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    dx, _, dbeta = compact_formula(dout, x, gamma, eps)
    return dx, (dout * x).sum(0), dbeta


def means_not_sums(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    dx, dgamma, dbeta = compact_formula(dout, x, gamma, eps)
    return dx, dgamma / x.shape[0], dout.mean(0)


def autograd_inside(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    x = x.clone().requires_grad_(True)
    g = gamma.clone().requires_grad_(True)
    b = torch.zeros_like(gamma, requires_grad=True)
    out = F.batch_norm(x, None, None, g, b, training=True, eps=eps)
    dx, dgamma, dbeta = torch.autograd.grad(out, (x, g, b), dout)
    return dx, dgamma, dbeta


def forgets_gamma(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    n = x.shape[0]
    s = torch.sqrt(x.var(0, unbiased=False) + eps)
    xhat = (x - x.mean(0)) / s
    dx = 1 / (n * s) * (n * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def wrong_order(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> Grads:
    dx, dgamma, dbeta = compact_formula(dout, x, gamma, eps)
    return dx, dbeta, dgamma


BUGGY = [
    (constant_statistics, "constant_statistics"),
    (only_mean_path, "missing_variance_path"),
    (only_variance_path, "missing_mean_path"),
    (unbiased, "unbiased_variance"),
    (dgamma_from_x, "dgamma_uses_x"),
    (means_not_sums, "scaled"),
    (autograd_inside, "uses_autograd"),
    (forgets_gamma, "wrong_values"),
    (wrong_order, "wrong_values"),
]
