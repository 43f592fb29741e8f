"""Helpers shared by the stub specs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import Args, Case, Rng, probe


def gradients(loss: Callable[..., Tensor], *params: Tensor) -> tuple[Tensor, ...]:
    """d loss / d params by autograd, in float64, whatever the caller's grad mode."""
    leaves = [p.detach().to(torch.float64).requires_grad_(True) for p in params]
    with torch.enable_grad():
        return tuple(g.detach() for g in torch.autograd.grad(loss(*leaves), leaves))


def seeded_cases(seed: int, draw: Callable[[Rng, str], Case], count: int = 10) -> list[Case]:
    """`count` random cases: case i is drawn from Rng(seed + i) and called random-ii."""
    return [draw(Rng(seed + i), f"random-{i:02d}") for i in range(count)]


# A probe maker: (base case, rng) -> the base's arguments with one argument changed.
ProbeMaker = Callable[[Case, Rng], Args]


def add_probes(bases: list[Case], makers: dict[str, ProbeMaker], seed: int) -> list[Case]:
    """For every base case and every argument in `makers`, a probe case that varies only
    that argument (see judge: a result that does not follow it ignores the argument)."""
    probes: list[Case] = []
    for i, base in enumerate(bases):
        for j, (name, make) in enumerate(makers.items()):
            args = make(base, Rng(seed + 100 * i + j))
            probes.append(probe(base, name, args, f"{base.about}; only {name} changed"))
    return probes


def replace_arg(args: Args, params: tuple[str, ...], name: str, value: Any) -> Args:
    """`args` with the argument called `name` replaced by `value`."""
    out = list(args)
    out[params.index(name)] = value
    return tuple(out)


def change_view(
    keys: tuple[str, ...], output_of: Callable[[str], str]
) -> Callable[[Case, str, Tensor], Tensor]:
    """A Spec view that judges parameter `k` (output `output_of(k)`) by its change: the
    returned value minus the value of args[0][k] before the call."""

    def view(case: Case, name: str, value: Tensor) -> Tensor:
        for k in keys:
            if name == output_of(k):
                before = case.args[0][k].detach().to(torch.float64)
                return value - before if value.shape == before.shape else value
        return value

    return view
