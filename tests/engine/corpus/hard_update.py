"""hard_update: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "hard_update"
State = dict[str, Tensor]


# ---------------------------------------------------------------- correct


def copy_under_no_grad(target: State, online: State) -> None:
    with torch.no_grad():
        for name, tensor in target.items():
            tensor.copy_(online[name])


@torch.no_grad()
def decorated(target: State, online: State) -> None:
    for name in target:
        target[name].copy_(online[name])


def foreach_copy(target: State, online: State) -> None:
    keys = list(target)
    with torch.no_grad():
        torch._foreach_copy_([target[k] for k in keys], [online[k] for k in keys])


def slice_assign(target: State, online: State) -> None:
    with torch.no_grad():
        for k, t in target.items():
            t[...] = online[k]


def via_data(target: State, online: State) -> None:
    for k in target:
        target[k].data.copy_(online[k].data)


CORRECT = [copy_under_no_grad, decorated, foreach_copy, slice_assign, via_data]


# ---------------------------------------------------------------- buggy


def aliases(target: State, online: State) -> None:
    for k in target:
        target[k] = online[k]


def dict_update(target: State, online: State) -> None:
    target.update(online)


def rebinds_name(target: State, online: State) -> None:
    target = {k: v.clone() for k, v in online.items()}  # noqa: F841


def copies_the_wrong_way(target: State, online: State) -> None:
    with torch.no_grad():
        for k in target:
            online[k].copy_(target[k])


def new_tensors(target: State, online: State) -> None:
    for k in target:
        target[k] = online[k].detach().clone()


def zip_values(target: State, online: State) -> None:
    with torch.no_grad():
        for t, o in zip(target.values(), online.values(), strict=True):
            t.copy_(o)


def weights_only(target: State, online: State) -> None:
    with torch.no_grad():
        for k in target:
            if k.endswith("weight"):
                target[k].copy_(online[k])


def no_no_grad(target: State, online: State) -> None:
    for k in target:
        target[k].copy_(online[k])


def shares_data(target: State, online: State) -> None:
    for k in target:
        target[k].data = online[k].data


def returns_early(target: State, online: State) -> None:
    with torch.no_grad():
        for k in target:
            target[k].copy_(online[k])
            return


BUGGY = [
    (aliases, "aliased"),
    (dict_update, "aliased"),
    (rebinds_name, "unchanged"),
    (copies_the_wrong_way, "mutates_input"),
    (new_tensors, "not_in_place"),
    (zip_values, "key_order"),
    (weights_only, "unchanged"),
    (no_no_grad, "raised"),
    (shares_data, "aliased"),
    (returns_early, "unchanged"),
]
