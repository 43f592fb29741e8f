"""mean_abs_grad_per_layer: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STUB = "mean_abs_grad_per_layer"


def _loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y)


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# ---------------------------------------------------------------- correct


def zero_grad_first(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.abs().mean().item() for m in _linears(model)]


def autograd_grad(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """torch.autograd.grad never touches .grad at all."""
    weights = [m.weight for m in _linears(model)]
    grads = torch.autograd.grad(_loss(model, x, y), weights)
    return [float(g.abs().mean()) for g in grads]


def set_to_none(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    for p in model.parameters():
        p.grad = None
    loss = nn.BCEWithLogitsLoss()(model(x).view(-1), y)
    loss.backward()
    out: list[float] = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            out.append(module.weight.grad.abs().sum().item() / module.weight.numel())
    return out


def named_parameters_style(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Select the weight matrices by name and shape: every nn.Linear weight is 2-d."""
    model.zero_grad(set_to_none=True)
    _loss(model, x, y).backward()
    return [
        p.grad.abs().mean().item()
        for name, p in model.named_parameters()
        if name.endswith("weight") and p.dim() == 2
    ]


def optimizer_zero_grad(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """An optimizer only for its zero_grad(); no step is taken."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    _loss(model, x, y).backward()
    return [torch.mean(torch.abs(m.weight.grad)).item() for m in _linears(model)]


def manual_bce(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """The loss written out with logsigmoid (the same value, computed stably)."""
    model.zero_grad()
    z = model(x).squeeze(-1)
    loss = -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()
    loss.backward()
    return [m.weight.grad.abs().mean().item() for m in _linears(model)]


CORRECT = [
    zero_grad_first,
    autograd_grad,
    set_to_none,
    named_parameters_style,
    optimizer_zero_grad,
    manual_bce,
]


# ---------------------------------------------------------------- buggy


def never_zeroes(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    _loss(model, x, y).backward()
    return [m.weight.grad.abs().mean().item() for m in _linears(model)]


def output_first(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.abs().mean().item() for m in reversed(_linears(model))]


def signed_mean(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.mean().item() for m in _linears(model)]


def abs_sum(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.abs().sum().item() for m in _linears(model)]


def gradient_norm(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.norm().item() for m in _linears(model)]


def all_parameters(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Biases too: one number per parameter tensor instead of per layer."""
    model.zero_grad()
    _loss(model, x, y).backward()
    return [p.grad.abs().mean().item() for p in model.parameters()]


def top_level_only(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Iterates over the children of an nn.Sequential: misses layers nested one level deeper."""
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.abs().mean().item() for m in model.children() if isinstance(m, nn.Linear)]


def takes_a_step(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Copied from a training loop, optimizer.step() included."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    _loss(model, x, y).backward()
    opt.step()
    return [m.weight.grad.abs().mean().item() for m in _linears(model)]


def sum_reduction(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    model.zero_grad()
    F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y, reduction="sum").backward()
    return [m.weight.grad.abs().mean().item() for m in _linears(model)]


def returns_tensors(model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
    """The gradients themselves instead of one number per layer."""
    model.zero_grad()
    _loss(model, x, y).backward()
    return [m.weight.grad.abs() for m in _linears(model)]


BUGGY = [
    (never_zeroes, "stale_gradients"),
    (output_first, "reversed_layers"),
    (signed_mean, "no_abs"),
    (abs_sum, "sum_not_mean"),
    (gradient_norm, "norm_not_mean"),
    (all_parameters, "wrong_shape"),
    (top_level_only, "wrong_shape"),
    (takes_a_step, "changes_parameters"),
    (sum_reduction, "scaled"),
    (returns_tensors, "bad_return"),
]
