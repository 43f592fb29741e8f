"""sigmoid_and_grad: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

STUB = "sigmoid_and_grad"


# ---------------------------------------------------------------- correct


def torch_builtin(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sigmoid(z)
    return s, s * (1 - s)


def one_over(z: Tensor) -> tuple[Tensor, Tensor]:
    """exp(-z) may be inf for very negative z, but 1 / (1 + inf) = 0 is right."""
    s = 1.0 / (1.0 + torch.exp(-z))
    return s, s * (1.0 - s)


def two_branches(z: Tensor) -> tuple[Tensor, Tensor]:
    """The textbook stable form: exp of a non-positive number only."""
    e = torch.exp(-z.abs())
    s = torch.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return s, s * (1 - s)


def via_tanh(z: Tensor) -> tuple[Tensor, Tensor]:
    s = 0.5 * (torch.tanh(0.5 * z) + 1)
    return s, s - s * s


def sigmoid_of_minus(z: Tensor) -> tuple[Tensor, Tensor]:
    """s(z) (1 - s(z)) = s(z) s(-z), accurate also where s is close to 1."""
    s = torch.sigmoid(z)
    return s, s * torch.sigmoid(-z)


def numpy_stable(z: Tensor) -> tuple[Tensor, Tensor]:
    a = z.numpy()
    s = np.asarray(np.exp(-np.logaddexp(0.0, -a)), dtype=a.dtype)  # a 0-d input gives a numpy scalar
    return torch.from_numpy(s), torch.from_numpy(np.asarray(s * (1 - s)))


CORRECT = [torch_builtin, one_over, two_branches, via_tanh, sigmoid_of_minus, numpy_stable]


# ---------------------------------------------------------------- buggy


def overflows(z: Tensor) -> tuple[Tensor, Tensor]:
    """exp(z) / (1 + exp(z)) is inf / inf = NaN for large z."""
    e = torch.exp(z)
    s = e / (1 + e)
    return s, s * (1 - s)


def grad_from_exp(z: Tensor) -> tuple[Tensor, Tensor]:
    """exp(-z) / (1 + exp(-z))^2 is inf / inf = NaN for very negative z."""
    e = torch.exp(-z)
    return 1 / (1 + e), e / (1 + e) ** 2


def missing_one_minus(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sigmoid(z)
    return s, s


def only_one_minus(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sigmoid(z)
    return s, 1 - s


def sign_flipped(z: Tensor) -> tuple[Tensor, Tensor]:
    s = 1 / (1 + torch.exp(z))
    return s, s * (1 - s)


def upcasts(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sigmoid(z.double())
    return s, s * (1 - s)


def uses_autograd(z: Tensor) -> tuple[Tensor, Tensor]:
    leaf = z.detach().requires_grad_(True)
    s = torch.sigmoid(leaf)
    s.sum().backward()
    return s.detach(), leaf.grad


def python_loop(z: Tensor) -> tuple[Tensor, Tensor]:
    """math.exp raises OverflowError for z < -709."""
    flat = [1 / (1 + math.exp(-float(v))) for v in z.reshape(-1)]
    s = torch.tensor(flat, dtype=z.dtype).reshape(z.shape)
    return s, s * (1 - s)


def returns_grad_first(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sigmoid(z)
    return s * (1 - s), s


BUGGY = [
    (overflows, "not_finite"),
    (grad_from_exp, "not_finite"),
    (missing_one_minus, "sigmoid_grad_factor"),
    (only_one_minus, "sigmoid_grad_factor"),
    (sign_flipped, "sigmoid_sign"),
    (upcasts, "wrong_dtype"),
    (uses_autograd, "uses_autograd"),
    (python_loop, "raised"),
    (returns_grad_first, "wrong_values"),
]
