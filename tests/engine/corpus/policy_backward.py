"""policy_backward: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from autograder.engine import cases_for

STUB = "policy_backward"
Model = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def outer_form(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dW2 = eph.T @ epdlogp
    dh = torch.outer(epdlogp, model["W2"]) * (eph > 0)
    return {"W1": dh.T @ epx, "W2": dW2}


def einsum_form(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dh = torch.einsum("t,h->th", epdlogp, model["W2"]) * (eph > 0)
    return {"W1": torch.einsum("th,td->hd", dh, epx), "W2": torch.einsum("th,t->h", eph, epdlogp)}


def step_loop(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dW1, dW2 = torch.zeros_like(model["W1"]), torch.zeros_like(model["W2"])
    for t in range(epx.shape[0]):
        dW2 += epdlogp[t] * eph[t]
        dh = epdlogp[t] * model["W2"] * (eph[t] > 0)
        dW1 += torch.outer(dh, epx[t])
    return {"W1": dW1, "W2": dW2}


def karpathy_numpy(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """The original numpy code, with tensors converted at both ends."""
    x, h, d, W2 = epx.numpy(), eph.numpy(), epdlogp.numpy(), model["W2"].numpy()
    dW2 = np.dot(h.T, d).ravel()
    dh = np.outer(d, W2)
    dh[h <= 0] = 0
    dW1 = np.dot(dh.T, x)
    return {"W1": torch.from_numpy(dW1), "W2": torch.from_numpy(dW2)}


def in_float32(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    x, h, d = epx.float(), eph.float(), epdlogp.float()
    dh = torch.outer(d, model["W2"].float()) * (h > 0)
    return {"W1": dh.T @ x, "W2": h.T @ d}


def recomputes_h(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """Recomputes the hidden layer from the inputs instead of trusting eph."""
    z = epx @ model["W1"].T
    h = torch.relu(z)
    dh = epdlogp[:, None] * model["W2"][None, :] * (z > 0)
    return {"W1": dh.T @ epx, "W2": h.T @ epdlogp}


CORRECT = [outer_form, einsum_form, step_loop, karpathy_numpy, in_float32, recomputes_h]


# ---------------------------------------------------------------- buggy

_seeded = torch.Generator().manual_seed(0)
# left over from the notebook's training loop: the last episode, with Pong-sized frames
epx = torch.randn(37, 6400, generator=_seeded)


def global_epx(model: Model, ep_x: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """The course's real bug: the frames come from the global `epx`, not the argument."""
    dh = torch.outer(epdlogp, model["W2"]) * (eph > 0)
    return {"W1": dh.T @ epx, "W2": eph.T @ epdlogp}


# the same bug, where the global happens to have the size of a hidden case's episode
_first = cases_for(STUB, visible=False)[0].args[1]
episode_x = torch.randn(*_first.shape, generator=_seeded, dtype=torch.float64)


def global_epx_same_size(model: Model, ep_x: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dh = torch.outer(epdlogp, model["W2"]) * (eph > 0)
    return {"W1": dh.T @ episode_x, "W2": eph.T @ epdlogp}


def no_relu_mask(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dh = torch.outer(epdlogp, model["W2"])
    return {"W1": dh.T @ epx, "W2": eph.T @ epdlogp}


def transposed_W1(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    dh = torch.outer(epdlogp, model["W2"]) * (eph > 0)
    return {"W1": epx.T @ dh, "W2": eph.T @ epdlogp}


def mean_over_T(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    grads = outer_form(model, epx, eph, epdlogp)
    return {k: v / epx.shape[0] for k, v in grads.items()}


def minus_sign(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    return {k: -v for k, v in outer_form(model, epx, eph, epdlogp).items()}


def uses_backward(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    W1 = model["W1"].detach().clone().requires_grad_()
    W2 = model["W2"].detach().clone().requires_grad_()
    (epdlogp * (torch.relu(epx @ W1.T) @ W2)).sum().backward()
    return {"W1": W1.grad, "W2": W2.grad}


def returns_numpy(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in outer_form(model, epx, eph, epdlogp).items()}


_total: dict[str, Tensor] = {}


def accumulates(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """Keeps a running sum of all gradients ever computed (meant as the grad buffer)."""
    for k, v in outer_form(model, epx, eph, epdlogp).items():
        _total[k] = _total[k] + v if k in _total and _total[k].shape == v.shape else v
    return dict(_total)


def reuses_eph(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """Right values, but eph is overwritten with dh (the caller's hidden states are lost)."""
    dW2 = eph.T @ epdlogp
    dh = eph
    dh.copy_(torch.outer(epdlogp, model["W2"]) * (eph > 0))
    return {"W1": dh.T @ epx, "W2": dW2}


def wrong_keys(model: Model, epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    grads = outer_form(model, epx, eph, epdlogp)
    return {"dW1": grads["W1"], "dW2": grads["W2"]}


BUGGY = [
    (global_epx, "raised"),
    (global_epx_same_size, "ignores_argument"),
    (no_relu_mask, "missing_relu_mask"),
    (transposed_W1, "transposed"),
    (mean_over_T, "scaled"),
    (minus_sign, "opposite_sign"),
    (uses_backward, "uses_autograd"),
    (returns_numpy, "not_tensor"),
    (accumulates, "hidden_state"),
    (reuses_eph, "mutates_input"),
    (wrong_keys, "bad_return"),
]
