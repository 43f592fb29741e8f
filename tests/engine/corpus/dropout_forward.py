"""dropout_forward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "dropout_forward"


# ---------------------------------------------------------------- correct


def rand_mask(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype) >= p
    return x * keep / (1 - p)


def bernoulli_mask(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x.clone()
    mask = torch.bernoulli(torch.full_like(x, 1 - p), generator=generator)
    return mask * x / (1 - p)


def where_style(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if training:
        keep = torch.rand(x.shape, generator=generator) >= p
        x = torch.where(keep, x / (1 - p), torch.zeros_like(x))
    return x


def scale_first(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training or p == 0:
        return x
    scaled = x * (1.0 / (1.0 - p))
    u = torch.empty(x.shape, dtype=x.dtype).uniform_(0, 1, generator=generator)
    return scaled.masked_fill(u < p, 0.0)


def numpy_mask(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x
    u = torch.rand(x.shape, generator=generator).numpy()
    return torch.from_numpy(np.where(u >= p, x.numpy() / (1 - p), 0.0).astype(x.numpy().dtype))


def functional_dropout(
    x: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """PyTorch's own dropout: the statistics are right, though it draws from the global generator
    instead of `generator` (which the statistics cannot tell)."""
    return F.dropout(x, p, training)


CORRECT = [rand_mask, bernoulli_mask, where_style, scale_first, numpy_mask, functional_dropout]


# ---------------------------------------------------------------- buggy


def no_rescale(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x
    return x * (torch.rand(x.shape, generator=generator) >= p)


def times_keep(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x
    return x * (torch.rand(x.shape, generator=generator) >= p) * (1 - p)


def divides_by_p(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if not training:
        return x
    return x * (torch.rand(x.shape, generator=generator) >= p) / p


def keep_probability(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    """Reads p as the probability to keep (as in some old papers)."""
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) < p
    return x * keep / p


def always_on(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep / (1 - p)


def classic_eval(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    """Inverted scaling in training AND the old evaluation-time scaling."""
    if not training:
        return x * (1 - p)
    return x * (torch.rand(x.shape, generator=generator) >= p) / (1 - p)


def in_place(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    if training:
        keep = torch.rand(x.shape, generator=generator) >= p
        x.mul_(keep).div_(1 - p)
    return x


def float_habit(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    """.float() everywhere: a float64 x comes back as float32."""
    if not training:
        return x.float()
    keep = (torch.rand(x.shape, generator=generator) >= p).float()
    return x.float() * keep / (1 - p)


def returns_mask_too(
    x: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    keep = torch.rand(x.shape, generator=generator) >= p
    if not training:
        keep = torch.ones_like(keep)
    return x * keep / (1 - p if training else 1), keep


BUGGY = [
    (no_rescale, "no_rescale"),
    (times_keep, "wrong_rescale"),
    (divides_by_p, "wrong_rescale"),
    (keep_probability, "p_is_keep_probability"),
    (always_on, "dropout_in_eval"),
    (classic_eval, "scaled_in_eval"),
    (in_place, "mutates_input"),
    (float_habit, "wrong_dtype"),
    (returns_mask_too, "bad_return"),
]
