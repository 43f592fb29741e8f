"""relu_and_grad(z) -> (value, grad): max(z, 0) and its derivative, 1 where z > 0 and 0 where
z <= 0 (the left-hand slope at 0, as PyTorch), elementwise; shape and dtype of z."""

from __future__ import annotations

import torch

from autograder.engine.spec import BugModel
from autograder.engine.specs.elementwise import activation_spec, as_z, hidden_of, visible_cases

PARAMS = ("z",)


BUGS = (
    BugModel(
        "relu_grad_inactive",
        "is 1 also where the unit is inactive (z < 0): the ReLU passes no gradient there, its slope is 0.",
        lambda c: {"grad": torch.ones_like(as_z(c))},
    ),
    BugModel(
        "relu_grad_inactive",
        "is relu(z), the value, not the slope: the derivative of max(z, 0) is 1 where z > 0 and 0 elsewhere.",
        lambda c: {"grad": torch.relu(as_z(c))},
    ),
    BugModel(
        "relu_grad_inactive",
        "is 1 where z < 0 and 0 where z > 0: the mask is the wrong way round (1 where z > 0).",
        lambda c: {"grad": (as_z(c) <= 0).double()},
    ),
    BugModel(
        "relu_value",
        "is |z|: negative inputs must become 0, not change sign (relu(z) = max(z, 0)).",
        lambda c: {"value": as_z(c).abs()},
    ),
)


SPEC = activation_spec(
    name="relu_and_grad",
    params=PARAMS,
    f=torch.relu,
    hidden=hidden_of(5400, 5500),
    visible=visible_cases,
    bug_models=BUGS,
    labels=("relu(z)", "relu'(z)"),
    hints={
        "wrong_dtype": "A comparison like z > 0 gives a bool tensor: convert it with .to(z.dtype).",
        "wrong_shape": "relu acts entry by entry: both results have the shape of z.",
        "wrong_values": "relu'(z) is 1 where z > 0 and 0 where z <= 0 (at z = 0 exactly we take 0, "
        "like PyTorch).",
    },
)
