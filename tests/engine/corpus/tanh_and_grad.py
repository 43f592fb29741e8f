"""tanh_and_grad: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "tanh_and_grad"


# ---------------------------------------------------------------- correct


def torch_builtin(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z)
    return t, 1 - t**2


def method_calls(z: Tensor) -> tuple[Tensor, Tensor]:
    t = z.tanh()
    return t, 1.0 - t * t


def from_sigmoid(z: Tensor) -> tuple[Tensor, Tensor]:
    t = 2 * torch.sigmoid(2 * z) - 1
    return t, (1 - t) * (1 + t)


def stable_exp(z: Tensor) -> tuple[Tensor, Tensor]:
    """exp of a non-positive number only."""
    e = torch.exp(-2 * z.abs())
    t = torch.sign(z) * (1 - e) / (1 + e)
    return t, 1 - t.pow(2)


def numpy_tanh(z: Tensor) -> tuple[Tensor, Tensor]:
    t = np.asarray(np.tanh(z.numpy()))  # a 0-d input gives a numpy scalar
    return torch.from_numpy(t), torch.from_numpy(np.asarray(1 - t**2))


CORRECT = [torch_builtin, method_calls, from_sigmoid, stable_exp, numpy_tanh]


# ---------------------------------------------------------------- buggy


def naive_exp(z: Tensor) -> tuple[Tensor, Tensor]:
    """(e^z - e^-z) / (e^z + e^-z) is inf / inf = NaN for large |z|."""
    a, b = torch.exp(z), torch.exp(-z)
    t = (a - b) / (a + b)
    return t, 1 - t**2


def missing_square(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z)
    return t, 1 - t


def squares_input(z: Tensor) -> tuple[Tensor, Tensor]:
    return torch.tanh(z), 1 - z**2


def flipped_sign(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z)
    return t, t**2 - 1


def sigmoid_instead(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z)
    return torch.sigmoid(z), 1 - t**2


def to_float32(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z.float())
    return t, 1 - t**2


def autograd_grad(z: Tensor) -> tuple[Tensor, Tensor]:
    leaf = z.detach().requires_grad_(True)
    t = torch.tanh(leaf)
    (grad,) = torch.autograd.grad(t.sum(), leaf)
    return t.detach(), grad


def sech_squared(z: Tensor) -> tuple[Tensor, Tensor]:
    """1 / cosh(z)^2 is right, but forgets to return the value."""
    return 1 / torch.cosh(z) ** 2  # type: ignore[return-value]


BUGGY = [
    (naive_exp, "not_finite"),
    (missing_square, "tanh_grad_square"),
    (squares_input, "tanh_grad_square"),
    (flipped_sign, "tanh_grad_square"),
    (sigmoid_instead, "tanh_is_sigmoid"),
    (to_float32, "wrong_dtype"),
    (autograd_grad, "uses_autograd"),
    (sech_squared, "bad_return"),
]
