"""backprop_by_hand: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.autograd import grad as autograd_grad_fn

STUB = "backprop_by_hand"
Grads = tuple[Tensor, Tensor]


# ---------------------------------------------------------------- correct


def matrix_form(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """The chain rule with whole-batch matrix products."""
    z1 = x @ W1
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]
    dW2 = dz2.unsqueeze(0) @ h
    dz1 = (dz2.unsqueeze(1) @ W2) * (z1 > 0)
    return x.T @ dz1, dW2


def einsum_form(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    z1 = torch.einsum("nd,dh->nh", x, W1)
    h = z1.clamp(min=0)
    p = torch.sigmoid(torch.einsum("nh,oh->no", h, W2)[:, 0])
    dz2 = (p - y) / len(y)
    dW2 = torch.einsum("n,nh->h", dz2, h)[None, :]
    dz1 = torch.einsum("n,oh->nh", dz2, W2) * (z1 > 0).to(x.dtype)
    return torch.einsum("nd,nh->dh", x, dz1), dW2


def per_example_loop(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """One example at a time, accumulating the gradients."""
    dW1, dW2 = torch.zeros_like(W1), torch.zeros_like(W2)
    N = x.shape[0]
    for n in range(N):
        z1 = x[n] @ W1  # (H,)
        h = torch.relu(z1)
        p = torch.sigmoid(W2[0] @ h)
        dz2 = (p - y[n]) / N
        dW2[0] += dz2 * h
        dz1 = dz2 * W2[0] * (z1 > 0)
        dW1 += torch.outer(x[n], dz1)
    return dW1, dW2


def numpy_round_trip(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    xn, yn, w1, w2 = (t.numpy() for t in (x, y, W1, W2))
    z1 = xn @ w1
    h = np.maximum(z1, 0)
    p = 1 / (1 + np.exp(-(h @ w2.T)[:, 0]))
    dz2 = (p - yn) / len(yn)
    dz1 = np.outer(dz2, w2[0]) * (z1 > 0)
    return torch.from_numpy(xn.T @ dz1).to(W1.dtype), torch.from_numpy(dz2[None, :] @ h).to(W2.dtype)


def in_float32(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """Computes (and returns) float32, the course's default dtype."""
    x, y, W1, W2 = (t.float() for t in (x, y, W1, W2))
    z1 = x @ W1
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]
    return x.T @ ((dz2[:, None] * W2) * (z1 > 0).float()), dz2[None, :] @ h


def where_mask(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    z1 = torch.mm(x, W1)
    h = torch.where(z1 > 0, z1, torch.zeros_like(z1))
    z2 = torch.mm(h, W2.t())
    dz2 = (torch.sigmoid(z2) - y.view(-1, 1)) / x.size(0)  # (N, 1)
    dh = torch.mm(dz2, W2)
    dz1 = torch.where(z1 > 0, dh, torch.zeros_like(dh))
    return torch.mm(x.t(), dz1), torch.mm(dz2.t(), h)


CORRECT = [matrix_form, einsum_form, per_example_loop, numpy_round_trip, in_float32, where_mask]


# ---------------------------------------------------------------- buggy


def no_relu_mask(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    h = torch.relu(x @ W1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]
    return x.T @ (dz2[:, None] * W2), dz2[None, :] @ h


def transposed_dW1(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """dz1.T @ x instead of x.T @ dz1: shape (H, D)."""
    z1 = x @ W1
    h = torch.relu(z1)
    dz2 = (torch.sigmoid(h @ W2.T).squeeze(-1) - y) / x.shape[0]
    dz1 = (dz2[:, None] * W2) * (z1 > 0)
    return dz1.T @ x, dz2[None, :] @ h


def sum_not_mean(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    dW1, dW2 = matrix_form(x, y, W1, W2)
    return dW1 * x.shape[0], dW2 * x.shape[0]


def y_minus_p(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    dW1, dW2 = matrix_form(x, y, W1, W2)
    return -dW1, -dW2


def calls_backward(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    W1 = W1.clone().requires_grad_(True)
    W2 = W2.clone().requires_grad_(True)
    p = torch.sigmoid(torch.relu(x @ W1) @ W2.T).squeeze(-1)
    torch.nn.functional.binary_cross_entropy(p, y).backward()
    return W1.grad, W2.grad


def autograd_grad(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    W1, W2 = W1.detach().requires_grad_(), W2.detach().requires_grad_()
    z2 = (torch.relu(x @ W1) @ W2.T).squeeze(-1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z2, y)
    dW1, dW2 = torch.autograd.grad(loss, (W1, W2))
    return dW1, dW2


def func_grad(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    def loss(a: Tensor, b: Tensor) -> Tensor:
        z2 = (torch.relu(x @ a) @ b.T).squeeze(-1)
        return torch.nn.functional.binary_cross_entropy_with_logits(z2, y)

    return torch.func.grad(loss, argnums=(0, 1))(W1, W2)


def _bce(x: Tensor, y: Tensor, a: Tensor, b: Tensor) -> Tensor:
    z2 = (torch.relu(x @ a) @ b.T).squeeze(-1)
    return torch.nn.functional.binary_cross_entropy_with_logits(z2, y)


def imported_grad(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """`from torch.autograd import grad` at import time: the name is bound before grading."""
    a, b = W1.clone().requires_grad_(), W2.clone().requires_grad_()
    dW1, dW2 = autograd_grad_fn(_bce(x, y, a, b), (a, b))
    return dW1, dW2


def functional_jacobian(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    jac = torch.autograd.functional.jacobian(lambda a, b: _bce(x, y, a, b), (W1, W2))
    return jac[0], jac[1]


def func_vjp(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    _, pullback = torch.func.vjp(lambda a, b: _bce(x, y, a, b), W1, W2)
    return pullback(torch.ones((), dtype=x.dtype))


def returns_graph(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """By-hand formulas, but on inputs that track gradients: the results carry a grad_fn."""
    W1 = W1.clone().requires_grad_()
    return matrix_form(x, y, W1, W2)


def returns_numpy(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> tuple[np.ndarray, np.ndarray]:
    dW1, dW2 = matrix_form(x, y, W1, W2)
    return dW1.numpy(), dW2.numpy()


def sigmoid_derivative_again(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    z1 = x @ W1
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) * p * (1 - p) / x.shape[0]
    return x.T @ ((dz2[:, None] * W2) * (z1 > 0)), dz2[None, :] @ h


def via_dL_dp(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """dL/dp * dp/dz2: right in exact arithmetic, NaN once the sigmoid saturates to 1."""
    z1 = x @ W1
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dp = (-y / p + (1 - y) / (1 - p)) / x.shape[0]
    dz2 = dp * p * (1 - p)
    return x.T @ ((dz2[:, None] * W2) * (z1 > 0)), dz2[None, :] @ h


_running: dict[str, Tensor] = {}


def accumulates_globally(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """Adds into a module-level buffer that is never reset: right on the first call only."""
    dW1, dW2 = matrix_form(x, y, W1, W2)
    key = f"{tuple(W1.shape)}"
    _running[key] = _running.get(key, torch.zeros_like(dW1)) + dW1
    return _running[key], dW2


def dW2_flat(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    dW1, dW2 = matrix_form(x, y, W1, W2)
    return dW1, dW2.reshape(-1)


def swapped(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    dW1, dW2 = matrix_form(x, y, W1, W2)
    return dW2, dW1


def forgot_return(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> None:
    matrix_form(x, y, W1, W2)


def rows_as_units(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    """Treats W1 as (H, D): raises on non-square W1."""
    z1 = x @ W1.T
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]
    return ((dz2[:, None] * W2) * (z1 > 0)).T @ x, dz2[None, :] @ h


def reshapes_y_in_place(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Grads:
    y.unsqueeze_(1)  # changes the caller's y
    z1 = x @ W1
    h = torch.relu(z1)
    dz2 = (torch.sigmoid(h @ W2.T) - y) / x.shape[0]  # (N, 1)
    return x.T @ ((dz2 @ W2) * (z1 > 0)), dz2.T @ h


BUGGY = [
    (no_relu_mask, "missing_relu_mask"),
    (transposed_dW1, "transposed"),
    (sum_not_mean, "scaled"),
    (y_minus_p, "opposite_sign"),
    (calls_backward, "uses_autograd"),
    (autograd_grad, "uses_autograd"),
    (func_grad, "uses_autograd"),
    (imported_grad, "uses_autograd"),
    (functional_jacobian, "uses_autograd"),
    (func_vjp, "uses_autograd"),
    (returns_graph, "uses_autograd"),
    (returns_numpy, "not_tensor"),
    (sigmoid_derivative_again, "extra_sigmoid_derivative"),
    (via_dL_dp, "not_finite"),
    (accumulates_globally, "hidden_state"),
    (dW2_flat, "wrong_shape"),
    (swapped, "swapped_outputs"),
    (forgot_return, "bad_return"),
    (rows_as_units, "raised"),
    (reshapes_y_in_place, "mutates_input"),
]
