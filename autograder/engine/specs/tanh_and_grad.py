"""tanh_and_grad(z) -> (value, grad): tanh(z) and its derivative 1 - tanh(z)^2, elementwise;
shape and dtype of z; finite for |z| up to 1000."""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import Case
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.elementwise import (
    OUTPUTS,
    SAME_DTYPE,
    apply,
    edge_cases,
    label_all,
    random_cases,
    value_and_grad,
    visible_cases,
)

PARAMS = ("z",)


def reference(case: Case) -> dict[str, Tensor]:
    return value_and_grad(torch.tanh, case)


def _z(case: Case) -> Tensor:
    return case.args[0].detach().to(torch.float64)


BUGS = (
    BugModel(
        "tanh_grad_square",
        "is 1 - tanh(z): the square is missing; the derivative is 1 - tanh(z)^2.",
        lambda c: {"grad": 1.0 - apply(torch.tanh, c)},
    ),
    BugModel(
        "tanh_grad_square",
        "is 1 - z^2: square tanh(z), not z; the derivative is 1 - tanh(z)^2.",
        lambda c: {"grad": 1.0 - _z(c) ** 2},
    ),
    BugModel(
        "tanh_grad_square",
        "is tanh(z)^2 - 1: the sign is flipped; the derivative is 1 - tanh(z)^2 (tanh is increasing).",
        lambda c: {"grad": apply(torch.tanh, c) ** 2 - 1.0},
    ),
    BugModel(
        "tanh_is_sigmoid",
        "is sigmoid(z), not tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)) = 2 sigmoid(2z) - 1.",
        lambda c: {"value": torch.sigmoid(_z(c))},
    ),
)


def hidden() -> list[Case]:
    return random_cases(5200) + edge_cases(5300)


SPEC = Spec(
    name="tanh_and_grad",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible_cases,
    reference=reference,
    unpack=unpack_tuple(*OUTPUTS),
    by_hand=True,
    dtypes=SAME_DTYPE,
    bug_models=BUGS,
    labels=label_all("tanh(z)", "tanh'(z)"),
    hints={
        "not_finite": "(exp(z) - exp(-z)) / (exp(z) + exp(-z)) is inf / inf = NaN once exp overflows "
        "(|z| > 709 in float64, > 88 in float32): use torch.tanh, or 2 * sigmoid(2z) - 1 with a stable "
        "sigmoid.",
        "wrong_dtype": "Compute in the dtype of z (no .double() / .float()): float32 in, float32 out.",
        "wrong_shape": "tanh acts entry by entry: both results have the shape of z.",
        "wrong_values": "tanh'(z) = 1 - tanh(z)^2.",
    },
)
