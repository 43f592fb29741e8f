"""batchnorm_forward(x, gamma, beta, eps) -> Tensor: batch normalisation in training mode.

x (N, D) with N >= 2, gamma (D,), beta (D,): every feature (column) is normalised with the
statistics of the batch, mu = mean over N and var = mean over N of (x - mu)**2 (the biased
variance, as nn.BatchNorm1d uses for normalising), then scaled and shifted:
out = gamma * (x - mu) / sqrt(var + eps) + beta, shape (N, D). The same as
nn.BatchNorm1d(D, eps=eps) in training mode with weight gamma and bias beta.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, VISIBLE, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.batchnorm_common import (
    batch_case,
    features_and_gamma,
    hidden_cases,
    random_cases,
)

PARAMS = ("x", "gamma", "beta", "eps")


def normalise(
    case: Case,
    correction: int = 0,
    eps_outside: bool = False,
    dim: int = 0,
    scale: bool = True,
    shift: bool = True,
    swap: bool = False,
    use_eps: bool = True,
) -> Tensor:
    """float64 batch norm; the switches describe typical slips."""
    x, gamma, beta, eps = as64(case.args)
    eps = eps if use_eps else 0.0
    mu = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, keepdim=True, correction=correction)
    xhat = (x - mu) / (var.sqrt() + eps) if eps_outside else (x - mu) / (var + eps).sqrt()
    if swap:
        gamma, beta = beta, gamma
    return xhat * (gamma if scale else 1.0) + (beta if shift else 0.0)


def reference(case: Case) -> dict[str, Tensor]:
    return {"out": normalise(case)}


def _bug(code: str, message: str, **switches: object) -> BugModel:
    return BugModel(code, message, lambda c: {"out": normalise(c, **switches)})  # type: ignore[arg-type]


BUGS = (
    _bug(
        "unbiased_variance",
        "uses the unbiased variance (divided by N - 1): batch norm normalises with the biased one, the "
        "mean of (x - mu)**2 over the batch. torch.var divides by N - 1 unless you pass "
        "unbiased=False (or correction=0).",
        correction=1,
    ),
    _bug(
        "eps_placement",
        "adds eps to the standard deviation: it belongs inside the square root, (x - mu) / sqrt(var + eps).",
        eps_outside=True,
    ),
    _bug(
        "wrong_axis",
        "normalises every example (row) over its features: batch norm normalises every feature (column) "
        "over the batch, mean and variance along dim 0.",
        dim=1,
    ),
    _bug(
        "wrong_axis",
        "normalises every example (row) with the unbiased variance: batch norm normalises every feature "
        "(column) over the batch, with the biased variance along dim 0.",
        dim=1,
        correction=1,
    ),
    _bug("missing_gamma", "is not scaled by gamma: out = gamma * x_hat + beta.", scale=False),
    _bug("missing_beta", "is not shifted by beta: out = gamma * x_hat + beta.", shift=False),
    _bug("gamma_beta_swapped", "swaps gamma and beta: gamma scales, beta shifts.", swap=True),
    _bug("missing_eps", "ignores eps: divide by sqrt(var + eps).", use_eps=False),
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
    """Features with different means and spreads, so that per-feature statistics matter."""
    x, gamma = features_and_gamma(rng, N, D, spread=(0.2, 4.0))
    beta = rng.normal(D)
    args = (x.to(dtype), gamma.to(dtype), beta.to(dtype), eps)
    return batch_case(id, kind, args, about, N, D, eps)


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, D: int, eps: float, **kw: torch.dtype) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, D, eps, about, **kw)

    const = make(16101, "constant-feature", "feature 1 is constant over the batch (variance 0)", 6, 3, 1e-5)
    x, gamma, beta, eps = const.args
    x = x.clone()
    x[:, 1] = 2.5
    const = replace(const, args=(x, gamma, beta, eps))

    small = make(16103, "small-variance", "a feature with variance ~1e-6, eps = 1e-3", 8, 4, 1e-3)
    x, gamma, beta, eps = small.args
    x = x.clone()
    x[:, 2] = 1.0 + 1e-3 * x[:, 2] / x[:, 2].std()
    small = replace(small, args=(x, gamma, beta, eps))
    return [
        make(16100, "N2", "the smallest batch, N=2", 2, 5, 1e-5),
        const,
        make(16102, "float32", "float32 inputs", 16, 6, 1e-5, dtype=torch.float32),
        small,
        make(16104, "D1", "a single feature, D=1", 9, 1, 1e-5),
        make(16105, "large-eps", "eps = 1 (large next to the variances)", 7, 4, 1.0),
        make(16106, "large", "N=128, D=32", 128, 32, 1e-5),
    ]


def hidden() -> list[Case]:
    return hidden_cases(random_cases(make_case, 16000, 20), PARAMS, 16500, edge_cases())


def visible() -> list[Case]:
    f64 = torch.float64
    hand = (
        torch.tensor([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0], [7.0, 60.0]], dtype=f64),
        torch.tensor([1.0, 2.0], dtype=f64),
        torch.tensor([0.0, -1.0], dtype=f64),
        1e-5,
    )
    return [
        Case("visible-1", VISIBLE, hand, "a batch of 4 with 2 features", {"N": 4, "D": 2, "eps": 1e-5}),
        make_case(Rng(16200), "visible-2", VISIBLE, 5, 3, 0.1),
        make_case(Rng(16201), "visible-3", VISIBLE, 8, 4, 1e-5, dtype=torch.float32),
    ]


SPEC = Spec(
    name="batchnorm_forward",
    params=PARAMS,
    outputs=("out",),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single("out"),
    dtypes={"out": "same:x"},
    bug_models=BUGS,
    labels={"out": "the normalised batch"},
    hints={
        "wrong_shape": "The output has the shape (N, D) of x; the statistics have one entry per feature "
        "(D,).",
        "not_finite": "With a constant feature the variance is 0: eps inside the square root keeps the "
        "division finite, sqrt(var + eps).",
        "wrong_dtype": "Keep the dtype of x.",
        "wrong_values": "Per feature (column): mu = x.mean(dim=0), var = ((x - mu)**2).mean(dim=0), "
        "out = gamma * (x - mu) / sqrt(var + eps) + beta.",
    },
)
