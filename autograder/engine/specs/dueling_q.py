"""dueling_q(value, advantages) -> Q, the mean-centred dueling combination.

value (B, 1) state values, advantages (B, A). Q = value + advantages - advantages.mean(dim=1, keepdim=True),
shape (B, A): the mean is over the actions of each state, so Q.mean(dim=1) == value[:, 0].

`unpack` records Q and the gradients of L = sum(W * Q) with respect to value and advantages
(autograd of the returned Q, for a fixed weight matrix W that depends only on (B, A)). The
reference gradients are autograd of the float64 formula: dL/dvalue[i] = sum_a W[i, a] and
dL/dadvantages[i, b] = W[i, b] - mean_a W[i, a]. In cases whose inputs do not require grad both
gradients are recorded as zeros (there is no graph to differentiate); those cases check that the
inputs are left unchanged (an in-place update of an input that requires grad raises in torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("value", "advantages")
Q = "Q"
GRAD_V = "dL/dvalue"
GRAD_A = "dL/dadvantages"
OUTPUTS = (Q, GRAD_V, GRAD_A)

Combine = Callable[[Tensor, Tensor], Tensor]


def weights(B: int, A: int) -> Tensor:
    """The fixed weights W of L = sum(W * Q), float64 (B, A)."""
    return Rng(32900 + 1009 * B + A).normal(B, A)


def _mean(v: Tensor, a: Tensor) -> Tensor:
    return v + a - a.mean(dim=1, keepdim=True)


RULES: dict[str, Combine] = {
    "mean": _mean,
    "none": lambda v, a: v + a,
    "max": lambda v, a: v + a - a.max(dim=1, keepdim=True).values,
    "batch_mean": lambda v, a: v + a - a.mean(dim=0, keepdim=True),
    # (B, A) - (B,) broadcasts along the last axis: the mean of row j is subtracted from column j
    "mean_no_keepdim": lambda v, a: v + a - a.mean(dim=1)[None, :],
    # a value squeezed to (B,) is added along the last axis: V[j] goes to column j
    "value_squeezed": lambda v, a: v[:, 0][None, :] + a - a.mean(dim=1, keepdim=True),
}
SQUARE_ONLY = frozenset({"mean_no_keepdim", "value_squeezed"})


def values(case: Case, rule: str = "mean") -> dict[str, Tensor]:
    """Q and the gradients of sum(W * Q) in float64 for a combination rule; {} when the rule
    needs B == A and the case is not square."""
    v0, a0 = case.args
    B, A = a0.shape
    if rule in SQUARE_ONLY and B != A:
        return {}
    combine = RULES[rule]
    v = v0.detach().to(torch.float64).requires_grad_(True)
    a = a0.detach().to(torch.float64).requires_grad_(True)
    with torch.enable_grad():
        q = combine(v, a)
        gv, ga = torch.autograd.grad((weights(B, A) * q).sum(), (v, a))
    if not (v0.requires_grad or a0.requires_grad):
        gv, ga = torch.zeros_like(gv), torch.zeros_like(ga)
    return {Q: q.detach(), GRAD_V: gv, GRAD_A: ga}


def reference(case: Case) -> dict[str, Tensor]:
    return values(case)


BUGS = (
    BugModel(
        "no_centering",
        "is value + advantages, without subtracting the mean advantage: then value + c and advantages - c "
        "give the same Q for any c, so the two heads are not identifiable. Subtract "
        "advantages.mean(dim=1, keepdim=True).",
        lambda c: values(c, "none"),
    ),
    BugModel(
        "max_not_mean",
        "subtracts the largest advantage of each state instead of the mean. That is a legitimate variant "
        "from the dueling-network paper (it makes V the value of the greedy action), but this lesson asks "
        "for the mean-centred version: subtract advantages.mean(dim=1, keepdim=True).",
        lambda c: values(c, "max"),
    ),
    BugModel(
        "mean_over_batch",
        "subtracts the mean over the batch (dim=0) instead of over the actions of each state (dim=1): one "
        "state's Q-values would then depend on the other states in the batch. Use "
        "advantages.mean(dim=1, keepdim=True).",
        lambda c: values(c, "batch_mean"),
    ),
    BugModel(
        "broadcast",
        "subtracts advantages.mean(dim=1) of shape (B,) from a (B, A) tensor: broadcasting lines it up with "
        "the LAST axis, so the mean of state j is subtracted from action j of every state (with B != A it "
        "raises). Keep the dimension: advantages.mean(dim=1, keepdim=True) has shape (B, 1).",
        lambda c: values(c, "mean_no_keepdim"),
    ),
    BugModel(
        "broadcast",
        "adds a value of shape (B,) to the (B, A) advantages: broadcasting adds the value of state j to "
        "action "
        "j of every state (with B != A it raises). Keep value as a (B, 1) column so that it broadcasts over "
        "the actions.",
        lambda c: values(c, "value_squeezed"),
    ),
    BugModel(
        "detached",
        "is zero: Q is not attached to this input (a .detach(), torch.no_grad() or a new tensor built from "
        "its values), so no gradient would reach that head of the network. Compute Q with tensor operations "
        "on the inputs themselves.",
        lambda c: {
            GRAD_V: torch.zeros_like(values(c)[GRAD_V]),
            GRAD_A: torch.zeros_like(values(c)[GRAD_A]),
        },
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if not isinstance(returned, Tensor):
        raise ReturnError(f"returned {describe(returned)}, expected a tensor of Q-values of shape (B, A)")
    value, advantages = args
    if isinstance(advantages, Tensor) and tuple(returned.shape) != tuple(advantages.shape):
        raise ReturnError(
            f"returned Q of shape {tuple(returned.shape)} for value of shape {tuple(value.shape)} and "
            "advantages "
            f"of shape {tuple(advantages.shape)}; expected the shape of advantages, (B, A): value (B, 1) "
            "broadcasts over the actions, and the mean advantage must keep its dimension, (B, 1)"
        )
    grad_v, grad_a = torch.zeros_like(value), torch.zeros_like(advantages)
    wants_grad = (
        isinstance(value, Tensor)
        and isinstance(advantages, Tensor)
        and (value.requires_grad or advantages.requires_grad)
    )
    if wants_grad and returned.grad_fn is not None:
        w = weights(*advantages.shape).to(returned.dtype)
        with torch.enable_grad():
            gv, ga = torch.autograd.grad((w * returned).sum(), (value, advantages), allow_unused=True)
        grad_v = gv if gv is not None else grad_v
        grad_a = ga if ga is not None else grad_a
    return {Q: returned, GRAD_V: grad_v, GRAD_A: grad_a}


def make_case(
    seed: int,
    id: str,
    kind: str,
    B: int,
    A: int,
    about: str = "",
    grad: bool = True,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    value = (rng.normal(B, 1, std=3.0) + 2.0).to(dtype).requires_grad_(grad)
    advantages = (rng.normal(B, A, std=2.0) + rng.normal(B, 1, std=2.0)).to(dtype).requires_grad_(grad)
    text = about or f"B={B}, A={A}"
    if not grad and not about:
        text += ", inputs do not require grad"
    return Case(id, kind, (value, advantages), text, {"B": B, "A": A})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        sizes = Rng(32000 + i).distinct_sizes("BA", 2, 12)
        cases.append(make_case(32050 + i, f"random-{i:02d}", RANDOM, sizes["B"], sizes["A"], grad=i % 3 != 2))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        v, a = base.args
        value: Any = {
            "value": (rng.normal(*v.shape, std=3.0) - 5.0).requires_grad_(v.requires_grad),
            "advantages": (rng.normal(*a.shape, std=2.0) + 1.0).requires_grad_(a.requires_grad),
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(32100, "edge-B1", EDGE, 1, 4, "a batch of one state"),
        make_case(32101, "edge-A1", EDGE, 6, 1, "a single action: Q = value"),
        make_case(32102, "edge-square-1", EDGE, 4, 4, "B = A = 4"),
        make_case(32103, "edge-square-2", EDGE, 5, 5, "B = A = 5, inputs do not require grad", grad=False),
        make_case(32104, "edge-float32", EDGE, 8, 3, "float32 tensors", dtype=torch.float32),
        make_case(32105, "edge-no-grad", EDGE, 7, 3, "inputs do not require grad", grad=False),
        make_case(32106, "edge-lunar", EDGE, 128, 4, "a batch of 128 LunarLander states, 4 actions"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=32500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(32200, "visible-1", VISIBLE, 3, 2),
        make_case(32201, "visible-2", VISIBLE, 4, 4, "B = A = 4, inputs do not require grad", grad=False),
        make_case(32202, "visible-3", VISIBLE, 5, 3),
    ]


SPEC = Spec(
    name="dueling_q",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    probe_outputs=frozenset({Q}),
    labels={
        Q: "the Q-values",
        GRAD_V: "the gradient of sum(W * Q) with respect to value",
        GRAD_A: "the gradient of sum(W * Q) with respect to advantages",
    },
    hints={
        "wrong_values": "Q = value + advantages - advantages.mean(dim=1, keepdim=True).",
        "wrong_shape": "Q has one entry per state and action, shape (B, A): value (B, 1) broadcasts over the "
        "actions, and the mean advantage must keep its dimension, (B, 1).",
        "mutates_input": "Build Q as a new tensor (value + advantages - ...): an in-place -= or .sub_() on "
        "advantages overwrites the network's output (and raises when it requires grad).",
    },
)
