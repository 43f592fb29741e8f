"""leaky_relu_and_grad(z, slope) -> (value, grad): z where z > 0 and slope * z elsewhere, and its
derivative, 1 where z > 0 and slope where z <= 0 (the left-hand slope at 0, as PyTorch),
elementwise; shape and dtype of z."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from autograder.engine.cases import Args, Case, Rng
from autograder.engine.spec import BugModel
from autograder.engine.specs.elementwise import (
    activation_spec,
    edge_cases,
    random_cases,
    slope_probes,
    visible_cases,
)

PARAMS = ("z", "slope")
NAMES = ("slope",)


def leaky(z: Tensor, slope: float) -> Tensor:
    return F.leaky_relu(z, slope)


def _z(case: Case) -> tuple[Tensor, float]:
    return case.args[0].detach().to(torch.float64), float(case.args[1])


def _grad(case: Case, negative: float | None = None, positive: float = 1.0) -> Tensor:
    z, slope = _z(case)
    return torch.where(z > 0, positive, slope if negative is None else negative).to(torch.float64)


BUGS = (
    BugModel(
        "leaky_slope",
        "is 0 where z <= 0, as for a plain ReLU: the leaky ReLU has slope `slope` there, not 0.",
        lambda c: {"grad": _grad(c, negative=0.0)},
    ),
    BugModel(
        "leaky_slope",
        "uses the slope on the wrong side: the leaky ReLU is z for z > 0 and slope * z for z <= 0.",
        lambda c: {
            "value": torch.where(_z(c)[0] > 0, _z(c)[1] * _z(c)[0], _z(c)[0]),
            "grad": _grad(c, negative=1.0, positive=_z(c)[1]),
        },
    ),
    BugModel(
        "leaky_slope",
        "uses the fixed slope 0.01 instead of the argument `slope`.",
        lambda c: {"value": F.leaky_relu(_z(c)[0], 0.01), "grad": _grad(c, negative=0.01)},
    ),
    BugModel(
        "leaky_slope",
        "is slope * z where z <= 0: that is the value; the derivative there is the constant slope.",
        lambda c: {"grad": torch.where(_z(c)[0] > 0, 1.0, _z(c)[1] * _z(c)[0]).to(torch.float64)},
    ),
)


def _slope(rng: Rng) -> Args:
    return (rng.choice([0.05, 0.1, 0.2, 0.3]),)


def hidden() -> list[Case]:
    randoms = random_cases(5600, _slope, NAMES)
    return randoms + slope_probes(randoms[:3], PARAMS, seed=5700) + edge_cases(5800, (0.1,), NAMES)


def visible() -> list[Case]:
    return visible_cases((0.1,), NAMES)


SPEC = activation_spec(
    name="leaky_relu_and_grad",
    params=PARAMS,
    f=leaky,
    hidden=hidden,
    visible=visible,
    bug_models=BUGS,
    labels=("leaky_relu(z, slope)", "leaky_relu'(z, slope)"),
    hints={
        "wrong_dtype": "A comparison like z > 0 gives a bool tensor, and torch.where with Python numbers may "
        "give another dtype: keep the dtype of z (e.g. torch.where(z > 0, 1.0, slope).to(z.dtype)).",
        "wrong_shape": "The leaky ReLU acts entry by entry: both results have the shape of z.",
        "wrong_values": "leaky_relu(z) is z where z > 0 and slope * z elsewhere; its derivative is 1 where "
        "z > 0 and slope where z <= 0.",
    },
)
