"""mlp_forward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "mlp_forward"


# ---------------------------------------------------------------- correct


def two_lines(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    h = torch.relu(x @ W1 + b1)
    return h @ W2 + b2


def functional_linear(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """F.linear stores weights as (out, in): pass the transposes."""
    return F.linear(F.relu(F.linear(x, W1.T, b1)), W2.T, b2)


def addmm_and_clamp(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    h = torch.addmm(b1, x, W1).clamp(min=0)
    return torch.addmm(b2, h, W2)


def einsum_and_where(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    z1 = torch.einsum("nd,dh->nh", x, W1) + b1
    h = torch.where(z1 > 0, z1, torch.zeros_like(z1))
    return torch.einsum("nh,hc->nc", h, W2) + b2


def numpy_version(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    h = (x.numpy() @ W1.numpy() + b1.numpy()).clip(min=0)
    return torch.from_numpy(h @ W2.numpy() + b2.numpy())


def row_by_row(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    rows = [torch.relu(x_n @ W1 + b1) @ W2 + b2 for x_n in x]
    return torch.stack(rows)


CORRECT = [two_lines, functional_linear, addmm_and_clamp, einsum_and_where, numpy_version, row_by_row]


# ---------------------------------------------------------------- buggy


def linear_only(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return (x @ W1 + b1) @ W2 + b2


def sigmoid_hidden(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return torch.sigmoid(x @ W1 + b1) @ W2 + b2


def relu_everywhere(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return torch.relu(torch.relu(x @ W1 + b1) @ W2 + b2)


def softmax_output(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return F.softmax(torch.relu(x @ W1 + b1) @ W2 + b2, dim=1)


def bias_outside(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return (torch.relu(x @ W1) + b1) @ W2 + b2


def forgot_b2(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return torch.relu(x @ W1 + b1) @ W2


def weight_layout(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """nn.Linear's (out, in) habit: x @ W.T."""
    return torch.relu(x @ W1.T + b1) @ W2.T + b2


def returns_hidden_too(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(x @ W1 + b1)
    return h @ W2 + b2, h


# the notebook's demo weights, left in a global variable
W1_DEMO = torch.randn(4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def notebook_weights(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """Uses the global W1 from a notebook cell when the shapes allow, else the argument."""
    weights = W1_DEMO.to(x.dtype) if W1_DEMO.shape == W1.shape else W1
    return torch.relu(x @ weights + b1) @ W2 + b2


BUGGY = [
    (linear_only, "missing_relu"),
    (sigmoid_hidden, "wrong_activation"),
    (relu_everywhere, "output_activation"),
    (softmax_output, "output_activation"),
    (bias_outside, "bias_after_relu"),
    (forgot_b2, "missing_bias"),
    (weight_layout, "raised"),
    (returns_hidden_too, "bad_return"),
    (notebook_weights, "wrong_values"),
]
