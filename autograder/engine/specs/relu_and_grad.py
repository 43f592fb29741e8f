"""relu_and_grad(z) -> (value, grad): max(z, 0) and its derivative, 1 where z > 0 and 0 where
z <= 0 (the left-hand slope at 0, as PyTorch), elementwise; shape and dtype of z."""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import Case
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.elementwise import (
    OUTPUTS,
    SAME_DTYPE,
    edge_cases,
    label_all,
    random_cases,
    value_and_grad,
    visible_cases,
)

PARAMS = ("z",)


def reference(case: Case) -> dict[str, Tensor]:
    return value_and_grad(torch.relu, case)


def _z(case: Case) -> Tensor:
    return case.args[0].detach().to(torch.float64)


BUGS = (
    BugModel(
        "relu_grad_inactive",
        "is 1 also where the unit is inactive (z < 0): the ReLU passes no gradient there, its slope is 0.",
        lambda c: {"grad": torch.ones_like(_z(c))},
    ),
    BugModel(
        "relu_grad_inactive",
        "is relu(z), the value, not the slope: the derivative of max(z, 0) is 1 where z > 0 and 0 elsewhere.",
        lambda c: {"grad": torch.relu(_z(c))},
    ),
    BugModel(
        "relu_grad_inactive",
        "is 1 where z < 0 and 0 where z > 0: the mask is the wrong way round (1 where z > 0).",
        lambda c: {"grad": (_z(c) <= 0).double()},
    ),
    BugModel(
        "relu_value",
        "is |z|: negative inputs must become 0, not change sign (relu(z) = max(z, 0)).",
        lambda c: {"value": _z(c).abs()},
    ),
)


def hidden() -> list[Case]:
    return random_cases(5400) + edge_cases(5500)


SPEC = Spec(
    name="relu_and_grad",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible_cases,
    reference=reference,
    unpack=unpack_tuple(*OUTPUTS),
    by_hand=True,
    dtypes=SAME_DTYPE,
    bug_models=BUGS,
    labels=label_all("relu(z)", "relu'(z)"),
    hints={
        "wrong_dtype": "A comparison like z > 0 gives a bool tensor: convert it with .to(z.dtype).",
        "wrong_shape": "relu acts entry by entry: both results have the shape of z.",
        "wrong_values": "relu'(z) is 1 where z > 0 and 0 where z <= 0 (at z = 0 exactly we take 0, "
        "like PyTorch).",
    },
)
