"""apply_mask: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "apply_mask"


# ---------------------------------------------------------------- correct


def clone_and_slice(x: Tensor) -> Tensor:
    out = x.clone()
    out[..., : x.shape[-1] // 2] = 0
    return out


def multiply_by_mask(x: Tensor) -> Tensor:
    W = x.shape[-1]
    keep = (torch.arange(W, device=x.device) >= W // 2).to(x.dtype)
    return x * keep


def where_columns(x: Tensor) -> Tensor:
    columns = torch.arange(x.shape[-1])
    return torch.where(columns < x.shape[-1] // 2, torch.zeros((), dtype=x.dtype), x)


def concatenate(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat([torch.zeros_like(x[..., :half]), x[..., half:]], dim=-1)


def numpy_round_trip(x: Tensor) -> Tensor:
    a = x.detach().numpy().copy()
    a[..., : a.shape[-1] // 2] = 0
    return torch.from_numpy(a)


def index_fill(x: Tensor) -> Tensor:
    return x.index_fill(-1, torch.arange(x.shape[-1] // 2), 0.0)


CORRECT = [clone_and_slice, multiply_by_mask, where_columns, concatenate, numpy_round_trip, index_fill]


# ---------------------------------------------------------------- buggy


def in_place(x: Tensor) -> Tensor:
    """The course's real bug: the original image is the target, and it gets masked too."""
    x[..., : x.shape[-1] // 2] = 0
    return x


def top_half(x: Tensor) -> Tensor:
    out = x.clone()
    out[..., : x.shape[-2] // 2, :] = 0
    return out


def right_half(x: Tensor) -> Tensor:
    out = x.clone()
    out[..., x.shape[-1] // 2 :] = 0
    return out


def rounds_up(x: Tensor) -> Tensor:
    out = x.clone()
    out[..., : (x.shape[-1] + 1) // 2] = 0
    return out


def returns_numpy(x: Tensor) -> np.ndarray:
    a = x.numpy().copy()
    a[..., : a.shape[-1] // 2] = 0
    return a


def as_float64(x: Tensor) -> Tensor:
    mask = torch.ones(x.shape[-1], dtype=torch.float64)
    mask[: x.shape[-1] // 2] = 0
    return x * mask


def forgets_to_mask(x: Tensor) -> Tensor:
    return x.clone()


def hard_coded_mnist(x: Tensor) -> Tensor:
    out = x.clone()
    out[..., :14] = 0
    return out


_mask: Tensor | None = None


def caches_mask(x: Tensor) -> Tensor:
    """Builds the mask for the first image size it sees and reuses it: breaks on other sizes."""
    global _mask
    if _mask is None:
        _mask = torch.ones(x.shape[-2:], dtype=x.dtype)
        _mask[:, : x.shape[-1] // 2] = 0
    return x * _mask


def leaks_gradient(x: Tensor) -> Tensor:
    """Right values, but the masked pixels stay in the autograd graph (x - x.detach() is 0 with slope 1)."""
    left = (torch.arange(x.shape[-1]) < x.shape[-1] // 2).to(x.dtype)
    return x - x.detach() * left


BUGGY = [
    (in_place, "mutates_input"),
    (top_half, "mask_region"),
    (right_half, "mask_region"),
    (rounds_up, "mask_region"),
    (returns_numpy, "not_tensor"),
    (as_float64, "wrong_dtype"),
    (forgets_to_mask, "unchanged"),
    (hard_coded_mnist, "wrong_values"),
    (caches_mask, "raised"),
    (leaks_gradient, "masked_gradient"),
]
