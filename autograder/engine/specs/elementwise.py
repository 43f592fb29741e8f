"""Cases and references shared by the activation stubs `<name>_and_grad(z, ...) -> (value, grad)`.

An activation f acts entry by entry: value = f(z) and grad = f'(z) have the shape and the
dtype of z. The reference takes the derivative by autograd in float64 (d/dz of sum f(z)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.common import add_probes, gradients, replace_arg

OUTPUTS = ("value", "grad")
SAME_DTYPE = {"value": "same:z", "grad": "same:z"}
Activation = Callable[..., Tensor]  # f(z, *extra) -> f(z), elementwise

# Inputs where a naive formula overflows: exp(710) is inf in float64, exp(89) in float32.
EXTREME = (-1000.0, -710.0, -100.0, -30.0, -0.5, 0.5, 30.0, 100.0, 710.0, 1000.0)


def value_and_grad(f: Activation, case: Case) -> dict[str, Tensor]:
    """f(z) and f'(z) of a case (args: z, then the extra arguments of f) in float64."""
    z, *extra = as64(case.args)
    with torch.no_grad():
        value = f(z, *extra)
    (grad,) = gradients(lambda t: f(t, *extra).sum(), z)
    return {"value": value, "grad": grad}


def apply(f: Activation, case: Case) -> Tensor:
    """f on the float64 arguments of a case (for bug models)."""
    z, *extra = as64(case.args)
    return f(z, *extra)


def case_of(id: str, kind: str, z: Tensor, about: str, extra: Args = (), names: tuple[str, ...] = ()) -> Case:
    sizes: dict[str, float] = {"N": z.numel()} if z.dim() == 1 else {}
    sizes.update({n: float(v) for n, v in zip(names, extra, strict=True)})
    return Case(id, kind, (z, *extra), about, sizes)


def random_cases(
    seed: int, extra: Callable[[Rng], Args] = lambda rng: (), names: tuple[str, ...] = ()
) -> list[Case]:
    """Ten typical inputs: normal entries with std 3 (some saturate), shapes of 1 to 3 dims."""
    cases = []
    for i in range(10):
        rng = Rng(seed + i)
        shape = rng.choice(
            [(rng.integer(3, 12),), (rng.integer(2, 6), rng.integer(2, 6)), (2, 3, rng.integer(2, 5))]
        )
        z = rng.normal(*shape, std=3.0)
        more = extra(rng)
        about = f"shape {shape}" + "".join(f", {n}={v:g}" for n, v in zip(names, more, strict=True))
        cases.append(case_of(f"random-{i:02d}", RANDOM, z, about, more, names))
    return cases


def edge_cases(seed: int, extra: Args = (), names: tuple[str, ...] = ()) -> list[Case]:
    rng = Rng(seed)
    f64 = torch.float64
    zero = torch.tensor([-2.0, 0.0, 1.5, 0.0, -0.25], dtype=f64)
    return [
        case_of(
            "edge-extreme",
            EDGE,
            torch.tensor(EXTREME, dtype=f64),
            "z up to +-1000 (exp overflows)",
            extra,
            names,
        ),
        case_of("edge-extreme-float32", EDGE, torch.tensor(EXTREME), "float32 z up to +-1000", extra, names),
        case_of("edge-zero", EDGE, zero, "z = 0 exactly (the left-hand slope)", extra, names),
        case_of("edge-scalar", EDGE, torch.tensor(0.7, dtype=f64), "a 0-dimensional tensor", extra, names),
        case_of(
            "edge-single", EDGE, torch.tensor([-1.3], dtype=f64), "a single entry, shape (1,)", extra, names
        ),
        case_of(
            "edge-float32",
            EDGE,
            rng.normal(3, 4, std=2.0).float(),
            "float32 z: the dtype is kept",
            extra,
            names,
        ),
        case_of(
            "edge-4d",
            EDGE,
            rng.normal(2, 3, 2, 5, std=2.0),
            "a 4-dimensional batch (2, 3, 2, 5)",
            extra,
            names,
        ),
        case_of("edge-tiny", EDGE, rng.normal(6, std=1e-6), "entries of size ~1e-6 around 0", extra, names),
    ]


def visible_cases(extra: Args = (), names: tuple[str, ...] = ()) -> list[Case]:
    return [
        case_of(
            "visible-1",
            VISIBLE,
            torch.linspace(-4.0, 4.0, 9, dtype=torch.float64),
            "z = -4, -3, ..., 4",
            extra,
            names,
        ),
        case_of("visible-2", VISIBLE, Rng(5900).normal(2, 3, std=2.0), "shape (2, 3)", extra, names),
        case_of(
            "visible-3",
            VISIBLE,
            torch.tensor([-2.0, -0.5, 0.5, 2.0]),
            "float32 z: the dtype is kept",
            extra,
            names,
        ),
    ]


def slope_probes(bases: list[Case], params: tuple[str, ...], seed: int) -> list[Case]:
    """Probes that change only the slope argument (the `ignores_argument` check)."""

    def new_slope(base: Case, rng: Rng) -> Args:
        old = float(base.args[params.index("slope")])
        return replace_arg(
            base.args, params, "slope", round(old + rng.uniform(1, low=0.05, high=0.2).item(), 3)
        )

    return [_with_sizes(p, params) for p in add_probes(bases, {"slope": new_slope}, seed)]


def _with_sizes(case: Case, params: tuple[str, ...]) -> Case:
    sizes = dict(case.sizes)
    sizes["slope"] = float(case.args[params.index("slope")])
    return replace(case, sizes=sizes)


def label_all(name: str, derivative: str) -> dict[str, Any]:
    return {"value": f"the value {name}", "grad": f"the derivative {derivative}"}


def as_z(case: Case) -> Tensor:
    """The first argument z of a case in float64 (for bug models)."""
    return case.args[0].detach().to(torch.float64)


def hidden_of(random_seed: int, edge_seed: int) -> Callable[[], list[Case]]:
    """The hidden cases of a one-argument activation: random cases, then edge cases."""

    def hidden() -> list[Case]:
        return random_cases(random_seed) + edge_cases(edge_seed)

    return hidden


def activation_spec(
    name: str,
    params: tuple[str, ...],
    f: Activation,
    hidden: Callable[[], list[Case]],
    visible: Callable[[], list[Case]],
    bug_models: tuple[BugModel, ...],
    labels: tuple[str, str],
    hints: dict[str, str],
) -> Spec:
    """The Spec of an activation stub: value and grad by hand, in the dtype of z;
    `labels` names the value and the derivative (see label_all)."""
    return Spec(
        name=name,
        params=params,
        outputs=OUTPUTS,
        hidden=hidden,
        visible=visible,
        reference=lambda case: value_and_grad(f, case),
        unpack=unpack_tuple(*OUTPUTS),
        by_hand=True,
        dtypes=SAME_DTYPE,
        bug_models=bug_models,
        labels=label_all(*labels),
        hints=hints,
    )
