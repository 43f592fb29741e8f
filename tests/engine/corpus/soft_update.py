"""soft_update: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "soft_update"
State = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def mul_add(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k, t in target.items():
            t.mul_(1.0 - tau).add_(tau * online[k])


def lerp(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            target[k].lerp_(online[k], tau)


def copy_formula(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            target[k].copy_(tau * online[k] + (1 - tau) * target[k])


def cleanrl_style(target: State, online: State, tau: float) -> None:
    for name, target_param in target.items():
        target_param.data.copy_(tau * online[name].data + (1.0 - tau) * target_param.data)


def foreach(target: State, online: State, tau: float) -> None:
    keys = list(target)
    with torch.no_grad():
        ts = [target[k] for k in keys]
        torch._foreach_mul_(ts, 1.0 - tau)
        torch._foreach_add_(ts, [online[k] for k in keys], alpha=tau)


CORRECT = [mul_add, lerp, copy_formula, cleanrl_style, foreach]


# ---------------------------------------------------------------- buggy


def tau_swapped(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            target[k].copy_((1 - tau) * online[k] + tau * target[k])


def no_decay(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            target[k].add_(tau * online[k])


def ignores_tau(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            target[k].copy_(online[k])


def rebinds_loop_variable(target: State, online: State, tau: float) -> None:
    for k, t in target.items():
        t = tau * online[k] + (1 - tau) * t  # noqa: PLW2901


def replaces_tensors(target: State, online: State, tau: float) -> None:
    for k in target:
        target[k] = tau * online[k].detach() + (1 - tau) * target[k].detach()


def lerps_online(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for k in target:
            online[k].lerp_(target[k], 1 - tau)
            target[k].copy_(online[k])


def zip_values(target: State, online: State, tau: float) -> None:
    with torch.no_grad():
        for t, o in zip(target.values(), online.values(), strict=True):
            t.lerp_(o, tau)


def no_no_grad(target: State, online: State, tau: float) -> None:
    for k in target:
        target[k].mul_(1 - tau).add_(tau * online[k])


def aliases_then_mixes(target: State, online: State, tau: float) -> None:
    for k in target:
        target[k].data = (tau * online[k] + (1 - tau) * target[k]).data
        target[k] = online[k]


BUGGY = [
    (tau_swapped, "swapped_tau"),
    (no_decay, "polyak_formula"),
    (ignores_tau, "polyak_formula"),
    (rebinds_loop_variable, "unchanged"),
    (replaces_tensors, "not_in_place"),
    (lerps_online, "mutates_input"),
    (zip_values, "key_order"),
    (no_no_grad, "raised"),
    (aliases_then_mixes, "aliased"),
]
