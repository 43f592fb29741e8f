"""policy_forward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "policy_forward"
Model = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def matmul(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(model["W1"] @ x)
    return torch.sigmoid(model["W2"] @ h), h


def mv_and_clamp(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.mv(model["W1"], x).clamp(min=0)
    logit = torch.dot(model["W2"], h)
    return 1.0 / (1.0 + torch.exp(-logit)), h


def einsum(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.einsum("hd,d->h", model["W1"], x).relu()
    return torch.einsum("h,h->", model["W2"], h).sigmoid().reshape(1), h


def numpy_round_trip(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    W1, W2, xn = model["W1"].numpy(), model["W2"].numpy(), x.numpy()
    h = np.maximum(W1 @ xn, 0)
    p = 1.0 / (1.0 + np.exp(-(W2 @ h)))
    return torch.as_tensor(p), torch.from_numpy(h)


def in_float32(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(model["W1"].float() @ x.float())
    return torch.sigmoid(model["W2"].float() @ h), h


def unit_loop(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    W1, W2 = model["W1"], model["W2"]
    h = torch.zeros(W1.shape[0], dtype=x.dtype)
    for i in range(W1.shape[0]):
        h[i] = max(float(W1[i] @ x), 0.0)
    return torch.sigmoid((W2 * h).sum()), h


CORRECT = [matmul, mv_and_clamp, einsum, numpy_round_trip, in_float32, unit_loop]


# ---------------------------------------------------------------- buggy


def no_relu(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = model["W1"] @ x
    return torch.sigmoid(model["W2"] @ h), h


def returns_logit(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(model["W1"] @ x)
    return model["W2"] @ h, h


def h_then_p(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(model["W1"] @ x)
    return h, torch.sigmoid(model["W2"] @ h)


def probability_of_down(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.relu(model["W1"] @ x)
    return torch.sigmoid(-(model["W2"] @ h)), h


_seeded = torch.Generator().manual_seed(0)
_notebook_model = {
    "W1": torch.randn(200, 6400, generator=_seeded) / 80.0,
    "W2": torch.randn(200, generator=_seeded),
}


def reads_global_model(m: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    """Uses the notebook's global model instead of its argument: raises on other sizes."""
    h = torch.relu(_notebook_model["W1"] @ x)
    return torch.sigmoid(_notebook_model["W2"] @ h), h


def tanh_hidden(model: Model, x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.tanh(model["W1"] @ x)
    return torch.sigmoid(model["W2"] @ h), h


def returns_numpy(model: Model, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    W1, W2 = model["W1"].numpy(), model["W2"].numpy()
    h = np.maximum(W1 @ x.numpy(), 0)
    return 1.0 / (1.0 + np.exp(-(W2 @ h))), h


def p_as_float(model: Model, x: Tensor) -> tuple[float, Tensor]:
    h = torch.relu(model["W1"] @ x)
    return float(torch.sigmoid(model["W2"] @ h)), h


BUGGY = [
    (no_relu, "missing_relu"),
    (returns_logit, "missing_sigmoid"),
    (h_then_p, "swapped_outputs"),
    (probability_of_down, "complement"),
    (reads_global_model, "raised"),
    (tanh_hidden, "wrong_values"),
    (returns_numpy, "not_tensor"),
    (p_as_float, "not_tensor"),
]
