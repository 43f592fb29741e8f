"""sigmoid_and_grad(z) -> (value, grad): the logistic sigmoid s = 1 / (1 + exp(-z)) and its
derivative s' = s (1 - s), elementwise; shape and dtype of z; finite for |z| up to 1000."""

from __future__ import annotations

import torch

from autograder.engine.spec import BugModel
from autograder.engine.specs.elementwise import activation_spec, apply, as_z, hidden_of, visible_cases

PARAMS = ("z",)


BUGS = (
    BugModel(
        "sigmoid_grad_factor",
        "is s = sigmoid(z) itself: the factor (1 - s) is missing; the derivative is s (1 - s).",
        lambda c: {"grad": apply(torch.sigmoid, c)},
    ),
    BugModel(
        "sigmoid_grad_factor",
        "is 1 - s: the factor s is missing; the derivative is s (1 - s).",
        lambda c: {"grad": 1.0 - apply(torch.sigmoid, c)},
    ),
    BugModel(
        "sigmoid_grad_factor",
        "is exp(-z) s: the derivative of 1 / (1 + exp(-z)) is exp(-z) / (1 + exp(-z))^2 = s (1 - s), "
        "a second factor s is missing.",
        lambda c: {"grad": torch.exp(-as_z(c)) * apply(torch.sigmoid, c)},
    ),
    BugModel(
        "sigmoid_sign",
        "is sigmoid(-z): the sign of z in exp(-z) is flipped (sigmoid(z) = 1 / (1 + exp(-z))).",
        lambda c: {"value": torch.sigmoid(-as_z(c))},
    ),
)


SPEC = activation_spec(
    name="sigmoid_and_grad",
    params=PARAMS,
    f=torch.sigmoid,
    hidden=hidden_of(5000, 5100),
    visible=visible_cases,
    bug_models=BUGS,
    labels=("sigmoid(z)", "sigmoid'(z)"),
    hints={
        "not_finite": "exp(z) overflows to inf for z > 709 (z > 88 in float32) and inf / inf is NaN: use "
        "1 / (1 + exp(-z)), which only ever sees exp of a large positive number in the denominator, or "
        "torch.sigmoid; compute the derivative from s as s * (1 - s).",
        "wrong_dtype": "Compute in the dtype of z (no .double() / .float()): float32 in, float32 out.",
        "wrong_shape": "sigmoid acts entry by entry: both results have the shape of z.",
        "wrong_values": "sigmoid(z) = 1 / (1 + exp(-z)) and sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)).",
    },
)
