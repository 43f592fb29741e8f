"""tanh_and_grad(z) -> (value, grad): tanh(z) and its derivative 1 - tanh(z)^2, elementwise;
shape and dtype of z; finite for |z| up to 1000."""

from __future__ import annotations

import torch

from autograder.engine.spec import BugModel
from autograder.engine.specs.elementwise import activation_spec, apply, as_z, hidden_of, visible_cases

PARAMS = ("z",)


BUGS = (
    BugModel(
        "tanh_grad_square",
        "is 1 - tanh(z): the square is missing; the derivative is 1 - tanh(z)^2.",
        lambda c: {"grad": 1.0 - apply(torch.tanh, c)},
    ),
    BugModel(
        "tanh_grad_square",
        "is 1 - z^2: square tanh(z), not z; the derivative is 1 - tanh(z)^2.",
        lambda c: {"grad": 1.0 - as_z(c) ** 2},
    ),
    BugModel(
        "tanh_grad_square",
        "is tanh(z)^2 - 1: the sign is flipped; the derivative is 1 - tanh(z)^2 (tanh is increasing).",
        lambda c: {"grad": apply(torch.tanh, c) ** 2 - 1.0},
    ),
    BugModel(
        "tanh_is_sigmoid",
        "is sigmoid(z), not tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)) = 2 sigmoid(2z) - 1.",
        lambda c: {"value": torch.sigmoid(as_z(c))},
    ),
)


SPEC = activation_spec(
    name="tanh_and_grad",
    params=PARAMS,
    f=torch.tanh,
    hidden=hidden_of(5200, 5300),
    visible=visible_cases,
    bug_models=BUGS,
    labels=("tanh(z)", "tanh'(z)"),
    hints={
        "not_finite": "(exp(z) - exp(-z)) / (exp(z) + exp(-z)) is inf / inf = NaN once exp overflows "
        "(|z| > 709 in float64, > 88 in float32): use torch.tanh, or 2 * sigmoid(2z) - 1 with a stable "
        "sigmoid.",
        "wrong_dtype": "Compute in the dtype of z (no .double() / .float()): float32 in, float32 out.",
        "wrong_shape": "tanh acts entry by entry: both results have the shape of z.",
        "wrong_values": "tanh'(z) = 1 - tanh(z)^2.",
    },
)
