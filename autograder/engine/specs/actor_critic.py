"""ActorCritic(obs_dim, n_actions, hidden) -> nn.Module: a policy-and-value network.

A shared trunk Linear(obs_dim, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU, a policy
head Linear(hidden, n_actions) (logits, no activation) and a value head Linear(hidden, 1);
forward(x (N, obs_dim)) returns (logits (N, n_actions), value (N,)).

The graded "function" is the class: calling it builds a network. `unpack` finds the four
nn.Linear layers by their shapes (the cases keep obs_dim, hidden and n_actions distinct and
n_actions > 1), gives them fixed weights, runs the network on a fixed batch and records:
  logits, value: the two results of forward;
  n_params: the number of parameters of the network.
The reference builds the specified network with the same weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("obs_dim", "n_actions", "hidden")
OUTPUTS = ("logits", "value", "n_params")
BATCH = 7


def _seed(obs_dim: int, n_actions: int, hidden: int) -> int:
    return 19000 + 7919 * obs_dim + 104729 * n_actions + 13 * hidden


def layer_shapes(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of the four layers."""
    return {
        "trunk1": (obs_dim, hidden),
        "trunk2": (hidden, hidden),
        "policy": (hidden, n_actions),
        "value": (hidden, 1),
    }


def fixed_weights(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[Tensor, Tensor]]:
    """Deterministic (weight (out, in), bias (out,)) per layer, float64."""
    rng = Rng(_seed(obs_dim, n_actions, hidden))
    out: dict[str, tuple[Tensor, Tensor]] = {}
    for name, (a, b) in layer_shapes(obs_dim, n_actions, hidden).items():
        out[name] = (rng.normal(b, a, std=a**-0.5), rng.normal(b, std=0.3))
    return out


def fixed_input(obs_dim: int, n_actions: int, hidden: int) -> Tensor:
    return Rng(_seed(obs_dim, n_actions, hidden) + 1).normal(BATCH, obs_dim)


def forward(
    case: Case, act: str = "relu", trunk_relu2: bool = True, head: str = "none", value_relu: bool = False
) -> dict[str, Tensor]:
    """float64 (logits, value, n_params) of the specified network; switches for typical slips."""
    obs_dim, n_actions, hidden = case.args
    w = fixed_weights(obs_dim, n_actions, hidden)
    x = fixed_input(obs_dim, n_actions, hidden)
    f = {"relu": torch.relu, "tanh": torch.tanh, "none": lambda t: t}[act]

    def lin(name: str, t: Tensor) -> Tensor:
        weight, bias = w[name]
        return t @ weight.T + bias

    h = f(lin("trunk1", x))
    h = lin("trunk2", h)
    h = f(h) if trunk_relu2 else h
    logits = lin("policy", h)
    if head == "softmax":
        logits = torch.softmax(logits, dim=-1)
    elif head == "log_softmax":
        logits = torch.log_softmax(logits, dim=-1)
    value = lin("value", h).squeeze(-1)
    if value_relu:
        value = torch.relu(value)
    n_params = sum(b * (a + 1) for a, b in layer_shapes(obs_dim, n_actions, hidden).values())
    return {"logits": logits, "value": value, "n_params": torch.tensor(float(n_params), dtype=torch.float64)}


def reference(case: Case) -> dict[str, Tensor]:
    return forward(case)


BUGS = (
    BugModel(
        "output_activation",
        "are probabilities (a softmax on the policy head): the policy head returns raw logits; the "
        "softmax belongs to the loss or the action distribution (Categorical(logits=...)).",
        lambda c: {"logits": forward(c, head="softmax")["logits"]},
    ),
    BugModel(
        "output_activation",
        "are log-probabilities (log_softmax on the policy head): return the raw logits.",
        lambda c: {"logits": forward(c, head="log_softmax")["logits"]},
    ),
    BugModel(
        "value_activation",
        "is never negative: a ReLU on the value head. Values (returns) can be negative; the value head is "
        "a plain Linear(hidden, 1).",
        lambda c: {"value": forward(c, value_relu=True)["value"]},
    ),
    BugModel(
        "missing_relu",
        "matches a trunk without a ReLU after its second layer: Linear -> ReLU -> Linear -> ReLU.",
        lambda c: {k: v for k, v in forward(c, trunk_relu2=False).items() if k != "n_params"},
    ),
    BugModel(
        "missing_relu",
        "matches a trunk without any ReLU: the two trunk layers then collapse into one linear map.",
        lambda c: {k: v for k, v in forward(c, act="none").items() if k != "n_params"},
    ),
    BugModel(
        "wrong_activation",
        "matches a trunk with tanh: this network uses ReLU.",
        lambda c: {k: v for k, v in forward(c, act="tanh").items() if k != "n_params"},
    ),
)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    obs_dim, n_actions, hidden = args
    if not isinstance(returned, nn.Module):
        raise ReturnError(f"built {describe(returned)}, expected an nn.Module")
    shapes = layer_shapes(obs_dim, n_actions, hidden)
    linears = [m for m in returned.modules() if isinstance(m, nn.Linear)]
    found = sorted((m.in_features, m.out_features) for m in linears)
    if found != sorted(shapes.values()):
        want = ", ".join(f"Linear{s}" for s in shapes.values())
        have = ", ".join(f"Linear{s}" for s in found) or "none"
        raise ReturnError(
            f"built, for obs_dim={obs_dim}, n_actions={n_actions}, hidden={hidden}, the layers {have}; "
            f"expected exactly {want} (a shared trunk of two layers, a policy head and a value head)"
        )
    weights = fixed_weights(obs_dim, n_actions, hidden)
    by_shape = {shape: name for name, shape in shapes.items()}
    dtype = linears[0].weight.dtype
    with torch.no_grad():
        for m in linears:
            weight, bias = weights[by_shape[(m.in_features, m.out_features)]]
            m.weight.copy_(weight)
            if m.bias is not None:
                m.bias.copy_(bias)
        x = fixed_input(obs_dim, n_actions, hidden).to(dtype)
        try:
            result = returned(x)
        except Exception as exc:
            raise ReturnError(
                f"raised {type(exc).__name__}: {str(exc)[:200]} when called on a batch x of shape "
                f"({BATCH}, {obs_dim})"
            ) from None
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise ReturnError(f"forward returned {describe(result)}; expected a tuple (logits, value)")
    logits, value = result
    n_params = sum(p.numel() for p in returned.parameters())
    return {"logits": logits, "value": value, "n_params": torch.tensor(float(n_params), dtype=torch.float64)}


SIZES_RANDOM = [
    (4, 2, 16),
    (8, 4, 32),
    (6, 3, 10),
    (3, 5, 7),
    (2, 3, 12),
    (10, 6, 8),
    (5, 2, 9),
    (7, 4, 3),
    (12, 9, 20),
]


def make_case(id: str, kind: str, obs_dim: int, n_actions: int, hidden: int, about: str = "") -> Case:
    text = about or f"obs_dim={obs_dim}, n_actions={n_actions}, hidden={hidden}"
    return Case(id, kind, (obs_dim, n_actions, hidden), text, {"N": BATCH})


def random_cases() -> list[Case]:
    cases = [make_case(f"random-{i:02d}", RANDOM, *sizes) for i, sizes in enumerate(SIZES_RANDOM)]
    rng = Rng(19900)
    obs, acts, hid = (int(v) for v in rng.np.choice(np.arange(2, 30), size=3, replace=False))
    cases.append(make_case(f"random-{len(cases):02d}", RANDOM, obs, max(acts, 2), hid))
    return cases


def edge_cases() -> list[Case]:
    return [
        make_case("edge-cartpole", EDGE, 4, 2, 64, "CartPole sizes: 4 observations, 2 actions, hidden=64"),
        make_case(
            "edge-atari-ram", EDGE, 128, 18, 256, "Atari RAM: 128 observations, 18 actions, hidden=256"
        ),
        make_case("edge-obs1", EDGE, 1, 3, 5, "a single observation feature"),
        make_case("edge-wide-head", EDGE, 3, 40, 6, "more actions than hidden units"),
        make_case("edge-lunar", EDGE, 8, 4, 128, "LunarLander sizes: 8 observations, 4 actions"),
    ]


def hidden() -> list[Case]:
    return random_cases() + edge_cases()


def visible() -> list[Case]:
    return [make_case("visible-1", VISIBLE, 4, 2, 8), make_case("visible-2", VISIBLE, 3, 5, 6)]


SPEC = Spec(
    name="ActorCritic",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    bug_models=BUGS,
    labels={
        "logits": "the policy logits",
        "value": "the value",
        "n_params": "the number of parameters",
    },
    hints={
        "wrong_shape": "forward returns logits of shape (N, n_actions) and the value of shape (N,): "
        "squeeze the last dimension of the value head's (N, 1) output.",
        "wrong_values": "forward: h = relu(trunk2(relu(trunk1(x)))); return policy(h), value(h).squeeze(-1). "
        "Both heads read the same h.",
        "scaled": "Count the parameters: every Linear(a, b) has a * b weights and b biases.",
    },
)
