"""sgd_update: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "sgd_update"
Params = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def minus_equals(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        params[k] -= lr * grads[k]


def sub_underscore(params: Params, grads: Params, lr: float) -> None:
    for p, g in zip(params.values(), (grads[k] for k in params), strict=True):
        p.sub_(g, alpha=lr)


def add_negative(params: Params, grads: Params, lr: float) -> None:
    for name, value in params.items():
        value.add_(-lr * grads[name])


def copy_into(params: Params, grads: Params, lr: float) -> None:
    """Compute the new value, then copy it into the existing tensor."""
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(p - lr * grads[k])


def torch_sgd(params: Params, grads: Params, lr: float) -> None:
    """torch.optim.SGD on the same tensors, given the gradients."""
    keys = list(params)
    for k in keys:
        params[k].grad = grads[k].clone()
    torch.optim.SGD([params[k] for k in keys], lr=lr).step()
    for k in keys:
        params[k].grad = None


def foreach(params: Params, grads: Params, lr: float) -> None:
    keys = list(params)
    torch._foreach_add_([params[k] for k in keys], [grads[k] for k in keys], alpha=-lr)


CORRECT = [minus_equals, sub_underscore, add_negative, copy_into, torch_sgd, foreach]


# ---------------------------------------------------------------- buggy


def rebinds_loop_variable(params: Params, grads: Params, lr: float) -> None:
    for k, p in params.items():
        p = p - lr * grads[k]  # noqa: PLW2901 (the bug)


def new_tensors(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        params[k] = params[k] - lr * grads[k]


def ascent(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        params[k] += lr * grads[k]


def returns_new_dict(params: Params, grads: Params, lr: float) -> Params:
    return {k: p - lr * grads[k] for k, p in params.items()}


def weights_only(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        if k.startswith("W"):
            params[k] -= lr * grads[k]


def scales_the_gradient(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        grads[k] *= lr
        params[k] -= grads[k]


def zeroes_the_gradient(params: Params, grads: Params, lr: float) -> None:
    """The habit from autograd (p.grad.zero_()), applied to an argument it must leave alone."""
    for k in params:
        params[k] -= lr * grads[k]
        grads[k].zero_()


def fixed_learning_rate(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        params[k] -= 0.1 * grads[k]


def no_learning_rate(params: Params, grads: Params, lr: float) -> None:
    for k in params:
        params[k] -= grads[k]


BUGGY = [
    (rebinds_loop_variable, "no_update"),
    (new_tensors, "not_in_place"),
    (ascent, "opposite_sign"),
    (returns_new_dict, "no_update"),
    (weights_only, "skips_biases"),
    (scales_the_gradient, "mutates_input"),
    (zeroes_the_gradient, "mutates_input"),
    (fixed_learning_rate, "ignores_argument"),
    (no_learning_rate, "scaled"),
]
