"""sgd_update(params, grads, lr) -> None: one step of gradient descent, in place.

params and grads are dicts with the same keys and shapes; for every key,
params[k] <- params[k] - lr * grads[k], updating the very tensor objects in `params`
(the training loop keeps using them). grads is left unchanged.

The outputs are the parameters after the call, judged by their change (after - before).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec
from autograder.engine.specs.common import ProbeMaker, add_probes, change_view, replace_arg

PARAMS = ("params", "grads", "lr")
KEYS = ("W1", "b1", "W2", "b2")


def step_of(key: str) -> str:
    return f"update of params[{key!r}]"


OUTPUTS = tuple(step_of(k) for k in KEYS)


def step(
    case: Case, sign: float = -1.0, keys: tuple[str, ...] = KEYS, use_lr: bool = True
) -> dict[str, Tensor]:
    params, grads, lr = as64(case.args)
    factor = sign * (lr if use_lr else 1.0)
    return {step_of(k): params[k] + factor * grads[k] if k in keys else params[k] for k in KEYS}


def reference(case: Case) -> dict[str, Tensor]:
    return step(case)


BUGS = (
    BugModel(
        "no_update",
        "did not change. Rebinding a name (p = p - lr * g, or params = {...}) makes a new tensor and "
        "leaves the caller's tensor as it was: update in place, params[k] -= lr * grads[k] "
        "(or p.sub_(lr * g)).",
        lambda c: {name: v for name, v in step(c, keys=()).items() if "'W" in name},
    ),
    BugModel(
        "skips_biases",
        "did not change: every entry of params is a parameter, the biases b1 and b2 too.",
        lambda c: {name: v for name, v in step(c, keys=()).items() if "'b" in name},
    ),
    BugModel(
        "opposite_sign",
        "goes uphill: gradient DESCENT subtracts the gradient, params[k] -= lr * grads[k].",
        lambda c: step(c, sign=1.0),
        near_miss=False,
    ),
)


# A parameter is judged by its change: value - its value before the call.
view = change_view(KEYS, step_of)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    params = args[0]
    if not isinstance(params, Mapping):
        raise ReturnError("left params as something that is not a dict")
    missing = [k for k in KEYS if k not in params]
    if missing:
        raise ReturnError(f"left params without the key(s) {missing}")
    return {step_of(k): params[k] for k in KEYS}


def make_case(
    seed: int,
    id: str,
    kind: str,
    D: int,
    H: int,
    C: int,
    lr: float,
    about: str = "",
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    params = {k: rng.normal(*s).to(dtype) for k, s in shapes.items()}
    grads = {k: rng.normal(*s, std=0.3).to(dtype) for k, s in shapes.items()}
    sizes = {"D": D, "H": H, "C": C, "lr": lr}
    return Case(id, kind, (params, grads, lr), about or f"D={D}, H={H}, C={C}, lr={lr:g}", sizes)


def random_cases() -> list[Case]:
    cases = []
    for i in range(8):
        rng = Rng(13000 + i)
        sizes = rng.distinct_sizes("DHC", 2, 10)
        lr = rng.choice([0.5, 0.1, 0.05, 0.01])
        cases.append(make_case(13050 + i, f"random-{i:02d}", RANDOM, sizes["D"], sizes["H"], sizes["C"], lr))
    return cases


def _fresh_grads(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "grads", {k: rng.normal(*v.shape) for k, v in base.args[1].items()})


def _new_lr(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "lr", 0.3 if base.args[2] != 0.3 else 0.2)


PROBES: dict[str, ProbeMaker] = {"grads": _fresh_grads, "lr": _new_lr}


def edge_cases() -> list[Case]:
    return [
        make_case(13100, "edge-lr1", EDGE, 3, 4, 2, 1.0, "lr = 1"),
        make_case(13101, "edge-lr-tiny", EDGE, 4, 3, 2, 1e-4, "a tiny learning rate 1e-4"),
        make_case(13102, "edge-float32", EDGE, 5, 6, 3, 0.1, "float32 tensors", dtype=torch.float32),
        make_case(13103, "edge-ones", EDGE, 1, 1, 1, 0.5, "D = H = C = 1"),
        make_case(13104, "edge-big", EDGE, 64, 32, 10, 0.01, "D=64, H=32, C=10"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], PROBES, seed=13500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(13200, "visible-1", VISIBLE, 2, 3, 2, 0.1),
        make_case(13201, "visible-2", VISIBLE, 3, 2, 4, 0.5, dtype=torch.float32),
    ]


SPEC = Spec(
    name="sgd_update",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    mutable=frozenset({"params"}),
    in_place=frozenset({"params"}),
    dtypes={step_of(k): "float" for k in KEYS},
    bug_models=BUGS,
    view=view,
    hints={
        "opposite_sign": "Gradient DESCENT subtracts the gradient: params[k] -= lr * grads[k].",
        "scaled": "The step is lr * grads[k]: use the argument lr, once.",
        "not_in_place": "Update the tensors in place (params[k] -= lr * grads[k], or .sub_()): the training "
        "loop and the forward pass keep using the same tensor objects.",
        "mutates_input": "Only params change: compute lr * grads[k] as a new tensor instead of scaling "
        "grads[k] in place.",
        "wrong_values": "For every key: params[k] -= lr * grads[k].",
    },
)
