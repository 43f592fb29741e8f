"""leaky_relu_and_grad: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "leaky_relu_and_grad"


# ---------------------------------------------------------------- correct


def torch_where(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    positive = z > 0
    return torch.where(positive, z, slope * z), torch.where(positive, 1.0, slope).to(z.dtype)


def functional(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    grad = torch.full_like(z, slope)
    grad[z > 0] = 1
    return F.leaky_relu(z, slope), grad


def mask_arithmetic(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    mask = (z > 0).to(z.dtype)
    grad = mask + slope * (1 - mask)
    return z * grad, grad


def max_and_min(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    zero = torch.zeros_like(z)
    value = torch.maximum(z, zero) + slope * torch.minimum(z, zero)
    return value, torch.where(z > 0, torch.ones_like(z), torch.full_like(z, slope))


def numpy_version(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    a = z.numpy()
    grad = np.where(a > 0, 1.0, slope).astype(a.dtype)
    return torch.from_numpy(np.asarray(a * grad)), torch.from_numpy(grad)


CORRECT = [torch_where, functional, mask_arithmetic, max_and_min, numpy_version]


# ---------------------------------------------------------------- buggy


def plain_relu_grad(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, slope), (z > 0).to(z.dtype)


def slope_on_wrong_side(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    negative = z <= 0
    return torch.where(negative, z, slope * z), torch.where(negative, 1.0, slope).to(z.dtype)


def fixed_slope(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, 0.01), torch.where(z > 0, 1.0, 0.01).to(z.dtype)


def value_as_grad(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, slope), torch.where(z > 0, torch.ones_like(z), slope * z)


def slope_at_zero_is_one(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, slope), torch.where(z >= 0, 1.0, slope).to(z.dtype)


def forgets_dtype(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, slope), torch.where(z > 0, 1.0, slope)


def no_slope_argument(z: Tensor) -> tuple[Tensor, Tensor]:
    return F.leaky_relu(z, 0.01), torch.where(z > 0, 1.0, 0.01).to(z.dtype)


def in_place_scaling(z: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    grad = torch.where(z > 0, 1.0, slope).to(z.dtype)
    z[z < 0] *= slope
    return z, grad


BUGGY = [
    (plain_relu_grad, "leaky_slope"),
    (slope_on_wrong_side, "leaky_slope"),
    (fixed_slope, "leaky_slope"),
    (value_as_grad, "leaky_slope"),
    (slope_at_zero_is_one, "wrong_values"),
    (forgets_dtype, "wrong_dtype"),
    (no_slope_argument, "raised"),
    (in_place_scaling, "mutates_input"),
]
