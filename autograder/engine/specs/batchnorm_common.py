"""Case helpers shared by the batch-norm stubs (batchnorm_forward, batchnorm_backward)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from autograder.engine.cases import RANDOM, Args, Case, Rng
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg, seeded_cases

EPSILONS = [1e-5, 1e-3, 0.1, 0.5]


def features_and_gamma(rng: Rng, N: int, D: int, spread: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """x (N, D) whose features have different means and spreads (within `spread`), and a gamma (D,) with some
    negative entries."""
    loc = rng.normal(D, std=3.0)
    scale = rng.uniform(D, low=spread[0], high=spread[1])
    x = loc + scale * rng.normal(N, D)
    gamma = rng.uniform(D, low=0.5, high=2.0) * torch.where(rng.bernoulli(D, p=0.2) > 0, -1.0, 1.0)
    return x, gamma


def batch_case(id: str, kind: str, args: Args, about: str, N: int, D: int, eps: float) -> Case:
    return Case(id, kind, args, about or f"N={N}, D={D}, eps={eps:g}", {"N": N, "D": D, "eps": eps})


MakeCase = Callable[..., Case]  # make_case(rng, id, kind, N, D, eps, ...)


def random_cases(make_case: MakeCase, seed: int, max_size: int) -> list[Case]:
    def draw(rng: Rng, id: str) -> Case:
        sizes = rng.distinct_sizes("ND", 3, max_size)
        eps = rng.choice(EPSILONS)
        return make_case(rng, id, RANDOM, sizes["N"], sizes["D"], eps)

    return seeded_cases(seed, draw)


def fresh(params: tuple[str, ...], name: str) -> ProbeMaker:
    """A probe maker for argument `name`: eps becomes 2.0, a tensor is drawn anew."""

    def make(base: Case, rng: Rng) -> Args:
        if name == "eps":
            return replace_arg(base.args, params, "eps", 2.0)
        old = base.args[params.index(name)]
        return replace_arg(base.args, params, name, rng.normal(*old.shape, std=2.0) + 1.0)

    return make


def hidden_cases(randoms: list[Case], params: tuple[str, ...], seed: int, edges: list[Case]) -> list[Case]:
    makers = {name: fresh(params, name) for name in params}
    return randoms + add_probes(randoms[:2], makers, seed=seed) + edges
