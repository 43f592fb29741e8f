"""batchnorm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta): the backward pass of
batch normalisation in training mode, by hand.

Forward (as batchnorm_forward): mu = mean over N, var = biased variance over N,
x_hat = (x - mu) / sqrt(var + eps), out = gamma * x_hat + beta. Given dout = dL/dout (N, D),
return dL/dx (N, D), dL/dgamma (D,), dL/dbeta (D,). The mean and the variance depend on x, so
dx has three paths: dx = gamma / (N * s) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat)),
sums over the batch, s = sqrt(var + eps).
"""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, VISIBLE, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.batchnorm_common import (
    batch_case,
    features_and_gamma,
    hidden_cases,
    random_cases,
)
from autograder.engine.specs.common import gradients

PARAMS = ("dout", "x", "gamma", "eps")
OUTPUTS = ("dx", "dgamma", "dbeta")


def forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> Tensor:
    mu = x.mean(dim=0)
    var = ((x - mu) ** 2).mean(dim=0)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def reference(case: Case) -> dict[str, Tensor]:
    dout, x, gamma, eps = as64(case.args)
    beta = torch.zeros_like(gamma)
    dx, dgamma, dbeta = gradients(lambda a, g, b: (forward(a, g, b, eps) * dout).sum(), x, gamma, beta)
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}


def by_hand(
    case: Case, mean_path: bool = True, var_path: bool = True, correction: int = 0
) -> dict[str, Tensor]:
    """The backward pass written out, with switches for the typical slips."""
    dout, x, gamma, eps = as64(case.args)
    n = x.shape[0]
    mu = x.mean(dim=0)
    var = x.var(dim=0, correction=correction)
    s = torch.sqrt(var + eps)
    xhat = (x - mu) / s
    dxhat = dout * gamma
    dx = dxhat
    if mean_path:
        dx = dx - dxhat.mean(dim=0)
    if var_path:
        dx = dx - xhat * (dxhat * xhat).sum(dim=0) / (n - correction)
    return {"dx": dx / s, "dgamma": (dout * xhat).sum(dim=0), "dbeta": dout.sum(dim=0)}


BUGS = (
    BugModel(
        "constant_statistics",
        "treats the batch mean and variance as constants (dx = dout * gamma / sqrt(var + eps)). They are "
        "computed from x, so every x[n] also moves mu and var: dx = gamma / (N s) * (N dout - sum(dout) - "
        "x_hat * sum(dout * x_hat)).",
        lambda c: {"dx": by_hand(c, mean_path=False, var_path=False)["dx"]},
    ),
    BugModel(
        "missing_variance_path",
        "leaves out the path through the variance: subtract x_hat * mean over the batch of (dout * gamma "
        "* x_hat) as well.",
        lambda c: {"dx": by_hand(c, var_path=False)["dx"]},
    ),
    BugModel(
        "missing_mean_path",
        "leaves out the path through the mean: subtract the batch mean of dout * gamma as well.",
        lambda c: {"dx": by_hand(c, mean_path=False)["dx"]},
    ),
    BugModel(
        "unbiased_variance",
        "follows from the unbiased variance (divided by N - 1): the forward pass uses the biased one.",
        lambda c: by_hand(c, correction=1),
    ),
    BugModel(
        "dgamma_uses_x",
        "is sum(dout * x): gamma multiplies the normalised x_hat, so dgamma = sum over the batch of "
        "dout * x_hat.",
        lambda c: {"dgamma": (as64(c.args[0]) * as64(c.args[1])).sum(dim=0)},
    ),
)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    N: int,
    D: int,
    eps: float,
    about: str = "",
    dtype: torch.dtype = torch.float64,
) -> Case:
    x, gamma = features_and_gamma(rng, N, D, spread=(0.3, 3.0))
    dout = rng.normal(N, D)
    args = (dout.to(dtype), x.to(dtype), gamma.to(dtype), eps)
    return batch_case(id, kind, args, about, N, D, eps)


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, D: int, eps: float, **kw: torch.dtype) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, D, eps, about, **kw)

    const = make(17101, "constant-feature", "feature 1 is constant over the batch (variance 0)", 6, 3, 1e-3)
    dout, x, gamma, eps = const.args
    x = x.clone()
    x[:, 1] = -1.5
    const = Case(const.id, const.kind, (dout, x, gamma, eps), const.about, const.sizes)
    one = make(17105, "one-example", "dout is zero except for example 0", 5, 4, 1e-5)
    dout, x, gamma, eps = one.args
    sparse = torch.zeros_like(dout)
    sparse[0] = dout[0]
    one = Case(one.id, one.kind, (sparse, x, gamma, eps), one.about, one.sizes)
    return [
        make(17100, "N2", "the smallest batch, N=2", 2, 4, 1e-5),
        const,
        make(17102, "float32", "float32 inputs", 12, 5, 1e-5, dtype=torch.float32),
        make(17103, "D1", "a single feature, D=1", 7, 1, 1e-5),
        make(17104, "large-eps", "eps = 1", 6, 3, 1.0),
        one,
        make(17106, "large", "N=96, D=24", 96, 24, 1e-5),
    ]


def hidden() -> list[Case]:
    return hidden_cases(random_cases(make_case, 17000, 16), PARAMS, 17500, edge_cases())


def visible() -> list[Case]:
    return [
        make_case(Rng(17200), "visible-1", VISIBLE, 4, 2, 1e-5),
        make_case(Rng(17201), "visible-2", VISIBLE, 6, 3, 0.1),
        make_case(Rng(17202), "visible-3", VISIBLE, 5, 3, 1e-5, dtype=torch.float32),
    ]


SPEC = Spec(
    name="batchnorm_backward",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_tuple(*OUTPUTS),
    by_hand=True,
    bug_models=BUGS,
    labels={"dx": "dL/dx", "dgamma": "dL/dgamma", "dbeta": "dL/dbeta"},
    probe_outputs=frozenset({"dx", "dgamma"}),
    hints={
        "scaled": "dgamma and dbeta are sums over the batch (every example contributes), not means.",
        "wrong_shape": "dx has the shape (N, D) of x; dgamma and dbeta have the shape (D,) of gamma.",
        "opposite_sign": "Check the signs of the two correction terms: dx = gamma / (N s) * (N dout - "
        "sum(dout) - x_hat * sum(dout * x_hat)).",
        "wrong_values": "Recompute mu, var, s = sqrt(var + eps) and x_hat from x; then dbeta = sum(dout), "
        "dgamma = sum(dout * x_hat), dx = gamma / (N s) * (N dout - sum(dout) - x_hat * sum(dout * x_hat)), "
        "sums over the batch (dim 0).",
    },
)
