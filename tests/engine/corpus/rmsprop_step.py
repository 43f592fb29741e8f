"""rmsprop_step: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "rmsprop_step"
State = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def in_place_ops(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k, w in model.items():
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g * g)
        w.add_(learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5))
        g.zero_()


def karpathy_style(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    """The original numpy loop: the cache and the buffer are reassigned, the model updated with +=."""
    for k, v in model.items():
        g = grad_buffer[k]
        rmsprop_cache[k] = decay_rate * rmsprop_cache[k] + (1 - decay_rate) * g**2
        model[k] += learning_rate * g / (torch.sqrt(rmsprop_cache[k]) + 1e-5)
        grad_buffer[k] = torch.zeros_like(v)


def addcdiv(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        cache = rmsprop_cache[k]
        cache.mul_(decay_rate).addcmul_(g, g, value=1 - decay_rate)
        model[k].addcdiv_(g, cache.sqrt().add_(1e-5), value=learning_rate)
        g.fill_(0.0)


def numpy_views(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    """numpy arrays that share memory with the tensors: updating them updates the tensors."""
    for k in model:
        w, g, c = model[k].numpy(), grad_buffer[k].numpy(), rmsprop_cache[k].numpy()
        c *= decay_rate
        c += (1 - decay_rate) * g**2
        w += learning_rate * g / (c**0.5 + 1e-5)
        g[...] = 0


def optimizer_done_right(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    """torch.optim.RMSprop with maximize=True, eps=1e-5 and our cache as its running average."""
    params = list(model.values())
    opt = torch.optim.RMSprop(params, lr=learning_rate, alpha=decay_rate, eps=1e-5, maximize=True)
    for k, p in model.items():
        p.grad = grad_buffer[k].clone()
        opt.state[p] = {"step": torch.tensor(0.0), "square_avg": rmsprop_cache[k]}
    opt.step()
    for k, p in model.items():
        p.grad = None
        grad_buffer[k].zero_()


CORRECT = [in_place_ops, karpathy_style, addcdiv, numpy_views, optimizer_done_right]


# ---------------------------------------------------------------- buggy


def descends(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g**2)
        model[k] -= learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)
        g.zero_()


def torch_rmsprop(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    """The course's real bug: torch.optim.RMSprop given the ascent gradient descends."""
    params = list(model.values())
    for k, p in model.items():
        p.grad = grad_buffer[k].clone()
    torch.optim.RMSprop(params, lr=learning_rate, alpha=decay_rate).step()
    for k, p in model.items():
        p.grad = None
        grad_buffer[k].zero_()


def rebinds_model(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k] = decay_rate * rmsprop_cache[k] + (1 - decay_rate) * g**2
        model[k] = model[k] + learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)
        grad_buffer[k] = torch.zeros_like(g)


def keeps_gradient(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g**2)
        model[k] += learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)


def cache_without_square(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g)
        model[k] += learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)
        g.zero_()


def cache_swapped(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(1 - decay_rate).add_(decay_rate * g**2)
        model[k] += learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)
        g.zero_()


def old_cache(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        model[k] += learning_rate * g / (rmsprop_cache[k].sqrt() + 1e-5)
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g**2)
        g.zero_()


def eps_in_sqrt(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g**2)
        model[k] += learning_rate * g / torch.sqrt(rmsprop_cache[k] + 1e-5)
        g.zero_()


def no_sqrt(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        rmsprop_cache[k].mul_(decay_rate).add_((1 - decay_rate) * g**2)
        model[k] += learning_rate * g / (rmsprop_cache[k] + 1e-5)
        g.zero_()


def fixed_learning_rate(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    in_place_ops(model, grad_buffer, rmsprop_cache, 1e-4, decay_rate)


def local_cache(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    for k in model:
        g = grad_buffer[k]
        cache = decay_rate * rmsprop_cache[k] + (1 - decay_rate) * g**2  # never stored back
        model[k] += learning_rate * g / (cache.sqrt() + 1e-5)
        g.zero_()


_cache: dict[str, Tensor] = {}


def global_cache(
    model: State, grad_buffer: State, rmsprop_cache: State, learning_rate: float, decay_rate: float
) -> None:
    """Keeps its own cache in a global, starting from the first call's cache."""
    for k in model:
        g = grad_buffer[k]
        if k not in _cache or _cache[k].shape != g.shape:
            _cache[k] = rmsprop_cache[k].clone()
        _cache[k] = decay_rate * _cache[k] + (1 - decay_rate) * g**2
        rmsprop_cache[k].copy_(_cache[k])
        model[k] += learning_rate * g / (_cache[k].sqrt() + 1e-5)
        g.zero_()


BUGGY = [
    (descends, "opposite_sign"),
    (torch_rmsprop, "opposite_sign"),
    (rebinds_model, "not_in_place"),
    (keeps_gradient, "grad_not_zeroed"),
    (cache_without_square, "cache_formula"),
    (cache_swapped, "cache_formula"),
    (old_cache, "stale_cache"),
    (eps_in_sqrt, "update_formula"),
    (no_sqrt, "update_formula"),
    (fixed_learning_rate, "ignores_argument"),
    (local_cache, "cache_not_updated"),
    (global_cache, "hidden_state"),
]
