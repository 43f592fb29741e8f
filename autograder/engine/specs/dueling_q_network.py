"""DuelingQNetwork(obs_dim, n_actions, hidden) -> nn.Module: a dueling Q-network.

A shared trunk Linear(obs_dim, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU, a value head
Linear(hidden, 1) and an advantage head Linear(hidden, n_actions); forward(obs (N, obs_dim)) returns
Q (N, n_actions) = V + A - mean_a A.

The graded "function" is the class: calling it builds a network. `unpack` finds the four nn.Linear
layers by their shapes (the cases keep obs_dim, hidden and n_actions distinct and n_actions > 1),
gives them fixed weights, runs the network on a fixed batch and records:
  q: the Q-values returned by forward;
  value: the value head's output V (N,), read with a forward hook on the Linear(hidden, 1) layer;
  q_mean: Q.mean(dim=1), whose reference is the value head's output V: the mean-centred
    combination makes the mean Q-value of a state equal to its value;
  grad_value_head, grad_advantage_head: the gradients of sum(W * Q) (W fixed) with respect to
    the weights of the two heads (zeros where no gradient arrives);
  n_params: the number of parameters of the network.
The reference builds the specified network with the same weights in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("obs_dim", "n_actions", "hidden")
OUTPUTS = ("q", "value", "q_mean", "grad_value_head", "grad_advantage_head", "n_params")
BATCH = 7


def _seed(obs_dim: int, n_actions: int, hidden: int) -> int:
    return 33000 + 7919 * obs_dim + 104729 * n_actions + 13 * hidden


def layer_shapes(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of the four layers."""
    return {
        "trunk1": (obs_dim, hidden),
        "trunk2": (hidden, hidden),
        "value": (hidden, 1),
        "advantage": (hidden, n_actions),
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


def fixed_loss_weights(obs_dim: int, n_actions: int, hidden: int) -> Tensor:
    return Rng(_seed(obs_dim, n_actions, hidden) + 2).normal(BATCH, n_actions)


def forward(
    case: Case, act: str = "relu", trunk_relu2: bool = True, combine: str = "mean", detach: str = ""
) -> dict[str, Tensor]:
    """float64 outputs of the specified network; the keyword arguments describe typical slips."""
    obs_dim, n_actions, hidden = case.args
    w = {
        k: (wt.clone().requires_grad_(True), b)
        for k, (wt, b) in fixed_weights(obs_dim, n_actions, hidden).items()
    }
    x = fixed_input(obs_dim, n_actions, hidden)
    f = {"relu": torch.relu, "tanh": torch.tanh, "none": lambda t: t}[act]

    def lin(name: str, t: Tensor) -> Tensor:
        weight, bias = w[name]
        return t @ weight.T + bias

    with torch.enable_grad():
        h = f(lin("trunk1", x))
        h = lin("trunk2", h)
        h = f(h) if trunk_relu2 else h
        value = lin("value", h)
        adv = lin("advantage", h)
        if detach == "value":
            value = value.detach()
        if detach == "advantage":
            adv = adv.detach()
        if combine == "mean":
            q = value + adv - adv.mean(dim=1, keepdim=True)
        elif combine == "max":
            q = value + adv - adv.max(dim=1, keepdim=True).values
        else:
            q = value + adv
        loss = (fixed_loss_weights(obs_dim, n_actions, hidden) * q).sum()
        gv, ga = torch.autograd.grad(loss, (w["value"][0], w["advantage"][0]), allow_unused=True)
    gv = torch.zeros_like(w["value"][0]) if gv is None else gv
    ga = torch.zeros_like(w["advantage"][0]) if ga is None else ga
    n_params = sum(b * (a + 1) for a, b in layer_shapes(obs_dim, n_actions, hidden).values())
    return {
        "q": q.detach(),
        "value": value[:, 0].detach(),
        "q_mean": q.mean(dim=1).detach(),
        "grad_value_head": gv.detach(),
        "grad_advantage_head": ga.detach(),
        "n_params": torch.tensor(float(n_params), dtype=torch.float64),
    }


def reference(case: Case) -> dict[str, Tensor]:
    out = forward(case)
    out["q_mean"] = out["value"]  # the property the combination must have
    return out


def _without_count(values: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v for k, v in values.items() if k != "n_params"}


BUGS = (
    BugModel(
        "no_centering",
        "matches Q = V + A without subtracting the mean advantage: the value and advantage heads are then "
        "not "
        "identifiable (V + c and A - c give the same Q). Combine the heads with dueling_q, "
        "V + A - A.mean(dim=1, keepdim=True).",
        lambda c: _without_count(forward(c, combine="none")),
    ),
    BugModel(
        "max_not_mean",
        "matches Q = V + A - max_a A: a legitimate variant from the dueling-network paper, but this lesson "
        "asks for the mean-centred combination (your dueling_q).",
        lambda c: _without_count(forward(c, combine="max")),
    ),
    BugModel(
        "missing_relu",
        "matches a trunk without a ReLU after its second layer: Linear -> ReLU -> Linear -> ReLU.",
        lambda c: _without_count(forward(c, trunk_relu2=False)),
    ),
    BugModel(
        "missing_relu",
        "matches a trunk without any ReLU: the two trunk layers then collapse into one linear map.",
        lambda c: _without_count(forward(c, act="none")),
    ),
    BugModel(
        "wrong_activation",
        "matches a trunk with tanh: this network uses ReLU.",
        lambda c: _without_count(forward(c, act="tanh")),
    ),
    BugModel(
        "detached",
        "is zero: no gradient reaches the value head (its output is detached, or computed under "
        "torch.no_grad()), so V(s) would never be trained. Use the head's output as it is.",
        lambda c: {"grad_value_head": forward(c, detach="value")["grad_value_head"]},
        near_miss=False,
    ),
    BugModel(
        "detached",
        "is zero: no gradient reaches the advantage head (its output is detached, or computed under "
        "torch.no_grad()), so A(s, a) would never be trained. Use the head's output as it is.",
        lambda c: {"grad_advantage_head": forward(c, detach="advantage")["grad_advantage_head"]},
        near_miss=False,
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
            f"expected exactly {want} (a shared trunk of two layers, a value head and an advantage head)"
        )
    weights = fixed_weights(obs_dim, n_actions, hidden)
    by_shape = {shape: name for name, shape in shapes.items()}
    layer = {by_shape[(m.in_features, m.out_features)]: m for m in linears}
    dtype = linears[0].weight.dtype
    with torch.no_grad():
        for name, m in layer.items():
            weight, bias = weights[name]
            m.weight.copy_(weight)
            if m.bias is not None:
                m.bias.copy_(bias)
    seen: list[Tensor] = []
    hook = layer["value"].register_forward_hook(lambda module, inputs, output: seen.append(output))
    x = fixed_input(obs_dim, n_actions, hidden).to(dtype)
    try:
        with torch.enable_grad():
            q = returned(x)
    except Exception as exc:
        raise ReturnError(
            f"raised {type(exc).__name__}: {str(exc)[:200]} when called on a batch obs of shape "
            f"({BATCH}, {obs_dim})"
        ) from None
    finally:
        hook.remove()
    if not isinstance(q, Tensor):
        raise ReturnError(f"forward returned {describe(q)}; expected a tensor of Q-values (N, n_actions)")
    if tuple(q.shape) != (BATCH, n_actions):
        raise ReturnError(
            f"forward returned Q of shape {tuple(q.shape)} for a batch of {BATCH} observations; expected "
            f"({BATCH}, {n_actions}) = (N, n_actions)"
        )
    if not seen or not isinstance(seen[-1], Tensor) or tuple(seen[-1].shape) != (BATCH, 1):
        raise ReturnError(
            f"forward did not use the value head Linear({hidden}, 1) on the batch of {BATCH} observations "
            "(expected V = value_head(trunk(obs)) of shape (N, 1))"
        )
    value_out = seen[-1]
    grads: list[Tensor] = [
        torch.zeros_like(layer["value"].weight),
        torch.zeros_like(layer["advantage"].weight),
    ]
    if q.grad_fn is not None:
        w = fixed_loss_weights(obs_dim, n_actions, hidden).to(q.dtype)
        with torch.enable_grad():
            found_grads = torch.autograd.grad(
                (w * q).sum(), (layer["value"].weight, layer["advantage"].weight), allow_unused=True
            )
        grads = [g if g is not None else zero for g, zero in zip(found_grads, grads, strict=True)]
    n_params = sum(p.numel() for p in returned.parameters())
    return {
        "q": q.detach(),
        "value": value_out[:, 0].detach(),
        "q_mean": q.mean(dim=1).detach(),
        "grad_value_head": grads[0],
        "grad_advantage_head": grads[1],
        "n_params": torch.tensor(float(n_params), dtype=torch.float64),
    }


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
    rng = Rng(33900)
    obs, acts, hid = (int(v) for v in rng.np.choice(np.arange(2, 30), size=3, replace=False))
    cases.append(make_case(f"random-{len(cases):02d}", RANDOM, obs, max(acts, 2), hid))
    return cases


def edge_cases() -> list[Case]:
    return [
        make_case("edge-cartpole", EDGE, 4, 2, 64, "CartPole sizes: 4 observations, 2 actions, hidden=64"),
        make_case("edge-lunar", EDGE, 8, 4, 128, "LunarLander sizes: 8 observations, 4 actions, hidden=128"),
        make_case(
            "edge-atari-ram", EDGE, 128, 18, 256, "Atari RAM: 128 observations, 18 actions, hidden=256"
        ),
        make_case("edge-obs1", EDGE, 1, 3, 5, "a single observation feature"),
        make_case("edge-wide-head", EDGE, 3, 40, 6, "more actions than hidden units"),
    ]


def hidden() -> list[Case]:
    return random_cases() + edge_cases()


def visible() -> list[Case]:
    return [make_case("visible-1", VISIBLE, 4, 2, 8), make_case("visible-2", VISIBLE, 3, 5, 6)]


SPEC = Spec(
    name="DuelingQNetwork",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    bug_models=BUGS,
    labels={
        "q": "the Q-values",
        "value": "the value head's output V",
        "q_mean": "Q.mean(dim=1) (it must equal the value head's output V)",
        "grad_value_head": "the gradient of sum(W * Q) with respect to the value head's weight",
        "grad_advantage_head": "the gradient of sum(W * Q) with respect to the advantage head's weight",
        "n_params": "the number of parameters",
    },
    hints={
        "wrong_shape": "forward returns Q of shape (N, n_actions).",
        "wrong_values": "forward: h = relu(trunk2(relu(trunk1(obs)))); return dueling_q(value_head(h), "
        "advantage_head(h)). Both heads read the same h.",
        "scaled": "Count the parameters: every Linear(a, b) has a * b weights and b biases.",
    },
)
