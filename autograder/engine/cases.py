"""Test cases: the inputs of one call of a stub, generated deterministically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

VISIBLE, RANDOM, EDGE = "visible", "random", "edge"
Args = tuple[Any, ...]  # the positional arguments of one call


@dataclass(frozen=True)
class Case:
    """One call of a stub.

    args: the positional arguments (tensors, numpy arrays, numbers, dicts of tensors); the
      engine never hands these objects to student code, only copies of them.
    kind: VISIBLE (the easy cases of `check`), RANDOM (typical inputs) or EDGE.
    sizes: named sizes and constants of this case ({'N': 5, 'gamma': 0.9}); they name
      shapes and constant factors in messages ("divided by N (=5)").
    variant_of / varied: for an argument probe, the base case and the one argument that
      differs from it; used to find functions that ignore an argument.
    """

    id: str
    kind: str
    args: Args
    about: str = ""
    sizes: Mapping[str, float] = field(default_factory=dict)
    variant_of: str | None = None
    varied: str | None = None

    def label(self) -> str:
        """`random-03 (N=5, D=3, H=4)`."""
        return f"{self.id} ({self.about})" if self.about else self.id


@dataclass(frozen=True)
class GeneratorSeed:
    """A torch.Generator argument as plain data: every call gets a new generator seeded with
    `seed`, so the calls of a case draw the same numbers."""

    seed: int


def copy_arg(value: Any) -> Any:
    """A deep copy of one argument; tensors keep requires_grad (as leaves), numpy arrays
    their writeable flag; a GeneratorSeed becomes a new torch.Generator."""
    if isinstance(value, Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.flags.writeable = value.flags.writeable
        return copy
    if isinstance(value, GeneratorSeed):
        return torch.Generator().manual_seed(value.seed)
    if isinstance(value, Mapping):
        return {k: copy_arg(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(copy_arg(v) for v in value)
    return value


def as64(value: Any) -> Any:
    """Tensors and arrays (also inside dicts, lists, tuples) as float64 tensors; other
    values unchanged."""
    if isinstance(value, Tensor):
        return value.detach().to(torch.float64)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.astype(np.float64))
    if isinstance(value, Mapping):
        return {k: as64(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(as64(v) for v in value)
    return value


def probe(base: Case, varied: str, args: Args, about: str) -> Case:
    """A copy of `base` with new `args` that differ from it only in argument `varied`
    (and in what depends on it, like hidden activations computed from an input)."""
    return replace(base, id=f"{base.id}~{varied}", args=args, about=about, variant_of=base.id, varied=varied)


class Rng:
    """A seeded numpy generator that hands out float64 torch tensors.

    numpy's PCG64 stream is stable across platforms and versions, so cases are the same
    on every machine.
    """

    def __init__(self, seed: int) -> None:
        self.np = np.random.default_rng(seed)

    def normal(self, *shape: int, std: float = 1.0) -> Tensor:
        return torch.from_numpy(self.np.normal(0.0, std, size=shape))

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
        return torch.from_numpy(self.np.uniform(low, high, size=shape))

    def integer(self, low: int, high: int) -> int:
        """An int in [low, high] (both included)."""
        return int(self.np.integers(low, high + 1))

    def choice(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[int(self.np.integers(0, len(options)))]

    def bernoulli(self, *shape: int, p: float = 0.5) -> Tensor:
        return torch.from_numpy((self.np.random(size=shape) < p).astype(np.float64))

    def sparse_sign(self, *shape: int, density: float = 0.3) -> Tensor:
        """Entries in {-1, 0, 1}, non-zero with probability `density` (a difference frame)."""
        signs = self.np.choice([-1.0, 1.0], size=shape)
        return torch.from_numpy(signs * (self.np.random(size=shape) < density))

    def distinct_sizes(self, names: str, low: int, high: int) -> dict[str, int]:
        """Different sizes for each one-letter name, so messages can name a size unambiguously."""
        values = self.np.choice(np.arange(low, high + 1), size=len(names), replace=False)
        return {n: int(v) for n, v in zip(names, values, strict=True)}
