"""relu_and_grad: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "relu_and_grad"


# ---------------------------------------------------------------- correct


def clamp_and_mask(z: Tensor) -> tuple[Tensor, Tensor]:
    return z.clamp(min=0), (z > 0).to(z.dtype)


def torch_where(z: Tensor) -> tuple[Tensor, Tensor]:
    zero = torch.zeros_like(z)
    return torch.where(z > 0, z, zero), torch.where(z > 0, torch.ones_like(z), zero)


def maximum(z: Tensor) -> tuple[Tensor, Tensor]:
    return torch.maximum(z, torch.zeros_like(z)), torch.heaviside(z, torch.zeros_like(z))


def multiply_by_mask(z: Tensor) -> tuple[Tensor, Tensor]:
    mask = (z > 0).type_as(z)
    return z * mask, mask


def numpy_version(z: Tensor) -> tuple[Tensor, Tensor]:
    a = z.numpy()
    value, grad = np.asarray(np.maximum(a, 0)), np.asarray(a > 0).astype(a.dtype)
    return torch.from_numpy(value), torch.from_numpy(grad)


CORRECT = [clamp_and_mask, torch_where, maximum, multiply_by_mask, numpy_version]


# ---------------------------------------------------------------- buggy


def ones_everywhere(z: Tensor) -> tuple[Tensor, Tensor]:
    return torch.relu(z), torch.ones_like(z)


def value_as_grad(z: Tensor) -> tuple[Tensor, Tensor]:
    r = torch.relu(z)
    return r, r


def mask_reversed(z: Tensor) -> tuple[Tensor, Tensor]:
    return torch.relu(z), (z <= 0).to(z.dtype)


def bool_mask(z: Tensor) -> tuple[Tensor, Tensor]:
    return torch.relu(z), z > 0


def one_at_zero(z: Tensor) -> tuple[Tensor, Tensor]:
    """The right-hand slope at 0: the docstring asks for the left-hand one (0)."""
    return torch.relu(z), (z >= 0).to(z.dtype)


def absolute_value(z: Tensor) -> tuple[Tensor, Tensor]:
    return z.abs(), (z > 0).to(z.dtype)


def in_place(z: Tensor) -> tuple[Tensor, Tensor]:
    grad = (z > 0).to(z.dtype)
    z[z < 0] = 0
    return z, grad


def float_literal(z: Tensor) -> tuple[Tensor, Tensor]:
    """torch.where with two Python numbers gives the default dtype (float32)."""
    return torch.relu(z), torch.where(z > 0, 1.0, 0.0)


BUGGY = [
    (ones_everywhere, "relu_grad_inactive"),
    (value_as_grad, "relu_grad_inactive"),
    (mask_reversed, "relu_grad_inactive"),
    (bool_mask, "wrong_dtype"),
    (one_at_zero, "wrong_values"),
    (absolute_value, "relu_value"),
    (in_place, "mutates_input"),
    (float_literal, "wrong_dtype"),
]
