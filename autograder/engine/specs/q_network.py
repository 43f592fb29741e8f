"""QNetwork(obs_dim, n_actions, hidden=128) -> nn.Module: the DQN Q-network, an MLP.

Linear(obs_dim, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU -> Linear(hidden, n_actions),
no activation on the output (Q-values can be any real number); forward(obs (B, obs_dim))
returns Q(obs, .) of shape (B, n_actions).

The graded "function" is the class: calling it builds a network. `unpack` finds the three
nn.Linear layers by their shapes (the cases keep obs_dim, hidden and n_actions distinct), gives
them fixed weights, runs the network on a fixed batch and records:
  q: forward of the batch;
  n_params: the number of parameters of the network (an MLP of exactly these layers);
  grad_flow: 1 if every parameter tensor receives a non-zero gradient from a weighted sum of q;
  batch_independent: 1 if every row of q equals forward of that row alone (a batch of one),
    so the Q-values of one state do not depend on the other states in the batch.
A case with two arguments checks the default hidden=128.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("obs_dim", "n_actions", "hidden")
Q, N_PARAMS, GRAD_FLOW, INDEPENDENT = "q", "n_params", "grad_flow", "batch_independent"
OUTPUTS = (Q, N_PARAMS, GRAD_FLOW, INDEPENDENT)
BATCH = 9
DEFAULT_HIDDEN = 128


def _sizes(args: tuple[Any, ...] | list[Any]) -> tuple[int, int, int]:
    obs_dim, n_actions = int(args[0]), int(args[1])
    hidden = int(args[2]) if len(args) > 2 else DEFAULT_HIDDEN
    return obs_dim, n_actions, hidden


def _seed(obs_dim: int, n_actions: int, hidden: int) -> int:
    return 23000 + 7919 * obs_dim + 104729 * n_actions + 13 * hidden


def layer_shapes(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of the three layers."""
    return {"fc1": (obs_dim, hidden), "fc2": (hidden, hidden), "out": (hidden, n_actions)}


def fixed_weights(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[Tensor, Tensor]]:
    """Deterministic (weight (out, in), bias (out,)) per layer, float64; the output layer's bias
    is negative on average, so that some Q-values are negative."""
    rng = Rng(_seed(obs_dim, n_actions, hidden))
    out: dict[str, tuple[Tensor, Tensor]] = {}
    for name, (a, b) in layer_shapes(obs_dim, n_actions, hidden).items():
        shift = -0.5 if name == "out" else 0.1
        out[name] = (rng.normal(b, a, std=1.5 * a**-0.5), rng.normal(b, std=0.3) + shift)
    return out


def fixed_input(obs_dim: int, n_actions: int, hidden: int) -> Tensor:
    return Rng(_seed(obs_dim, n_actions, hidden) + 1).normal(BATCH, obs_dim)


def forward(case: Case, act: str = "relu", relu2: bool = True, head: str = "none") -> dict[str, Tensor]:
    """float64 outputs of the specified network; switches for typical slips."""
    obs_dim, n_actions, hidden = _sizes(case.args)
    w = fixed_weights(obs_dim, n_actions, hidden)
    x = fixed_input(obs_dim, n_actions, hidden)
    f = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "none": lambda t: t}[act]

    def lin(name: str, t: Tensor) -> Tensor:
        weight, bias = w[name]
        return t @ weight.T + bias

    h = f(lin("fc1", x))
    h = lin("fc2", h)
    h = f(h) if relu2 else h
    q = lin("out", h)
    if head == "relu":
        q = torch.relu(q)
    elif head == "softmax":
        q = torch.softmax(q, dim=-1)
    n_params = sum(b * (a + 1) for a, b in layer_shapes(obs_dim, n_actions, hidden).values())
    f64 = torch.float64
    return {
        Q: q,
        N_PARAMS: torch.tensor(float(n_params), dtype=f64),
        GRAD_FLOW: torch.tensor(1.0, dtype=f64),
        INDEPENDENT: torch.tensor(1.0, dtype=f64),
    }


def reference(case: Case) -> dict[str, Tensor]:
    return forward(case)


def _q(case: Case, **kw: Any) -> dict[str, Tensor]:
    return {Q: forward(case, **kw)[Q]}


BUGS = (
    BugModel(
        "output_activation",
        "are never negative: a ReLU on the output layer. Q-values are expected returns and can be "
        "negative; the last layer is a plain Linear(hidden, n_actions).",
        lambda c: _q(c, head="relu"),
    ),
    BugModel(
        "output_activation",
        "are probabilities (a softmax on the output): a Q-network returns one unbounded value per action, "
        "not a distribution. Remove the softmax.",
        lambda c: _q(c, head="softmax"),
    ),
    BugModel(
        "missing_relu",
        "match a network without a ReLU after its second layer: Linear -> ReLU -> Linear -> ReLU -> Linear.",
        lambda c: _q(c, relu2=False),
    ),
    BugModel(
        "missing_relu",
        "match a network without any ReLU: the three layers then collapse into one linear map, which "
        "cannot represent the Q-values of CartPole.",
        lambda c: _q(c, act="none"),
    ),
    BugModel(
        "wrong_activation",
        "match a network with tanh between the layers: this network uses ReLU.",
        lambda c: _q(c, act="tanh"),
    ),
    BugModel(
        "wrong_activation",
        "match a network with sigmoid between the layers: this network uses ReLU.",
        lambda c: _q(c, act="sigmoid"),
    ),
    BugModel(
        "no_gradient",
        "is 0: some parameters get no gradient from the Q-values (a .detach(), torch.no_grad() or "
        ".item() inside forward, or a layer that forward does not use), so training cannot change them.",
        lambda c: {GRAD_FLOW: torch.tensor(0.0, dtype=torch.float64)},
        near_miss=False,
    ),
    BugModel(
        "batch_dependent",
        "is 0: the Q-values of a state change with the other states in the batch (a normalisation over "
        "dim 0, a BatchNorm, a softmax over the batch). forward must treat every row on its own.",
        lambda c: {INDEPENDENT: torch.tensor(0.0, dtype=torch.float64)},
        near_miss=False,
    ),
)


def _call(module: nn.Module, x: Tensor, what: str) -> Tensor:
    try:
        result = module(x)
    except Exception as exc:
        raise ReturnError(
            f"raised {type(exc).__name__}: {str(exc)[:200]} when called on {what} of shape {tuple(x.shape)}"
        ) from None
    if not isinstance(result, Tensor):
        raise ReturnError(f"forward returned {describe(result)}; expected a tensor of Q-values")
    return result


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    obs_dim, n_actions, hidden = _sizes(args)
    if not isinstance(returned, nn.Module):
        raise ReturnError(f"built {describe(returned)}, expected an nn.Module")
    shapes = layer_shapes(obs_dim, n_actions, hidden)
    linears = [m for m in returned.modules() if isinstance(m, nn.Linear)]
    found = sorted((m.in_features, m.out_features) for m in linears)
    if found != sorted(shapes.values()):
        want = ", ".join(f"Linear{s}" for s in shapes.values())
        have = ", ".join(f"Linear{s}" for s in found) or "none"
        given = f"obs_dim={obs_dim}, n_actions={n_actions}" + (
            f", hidden={hidden}" if len(args) > 2 else f" (hidden left at its default, {DEFAULT_HIDDEN})"
        )
        raise ReturnError(
            f"built, for {given}, the layers {have}; expected exactly {want} (two hidden layers of "
            "`hidden` units and an output layer with one unit per action)"
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
    params = list(returned.parameters())
    for p in params:
        p.grad = None
    with torch.enable_grad():
        q = _call(returned, x, "a batch obs")
        flowing = 0
        if q.requires_grad and params:
            # a weighted sum: q.sum() has no gradient at all through a softmax over the actions
            mix = Rng(_seed(obs_dim, n_actions, hidden) + 2).uniform(*q.shape, low=0.5, high=1.5)
            grads = torch.autograd.grad((q * mix.to(q.dtype)).sum(), params, allow_unused=True)
            flowing = sum(g is not None and bool(g.abs().sum() > 0) for g in grads)
    with torch.no_grad():
        rows = [_call(returned, x[i : i + 1], "a batch of one observation") for i in range(BATCH)]
    independent = 0.0
    if all(r.shape == q[i : i + 1].shape for i, r in enumerate(rows)) and q.dim() == 2:
        together = q.detach().double()
        alone = torch.cat([r.double() for r in rows])
        scale = float(together.abs().max()) if together.numel() else 1.0
        independent = 1.0 if bool(((together - alone).abs() <= 1e-4 * max(scale, 1e-12)).all()) else 0.0
    f64 = torch.float64
    return {
        Q: q.detach(),
        N_PARAMS: torch.tensor(float(sum(p.numel() for p in params)), dtype=f64),
        GRAD_FLOW: torch.tensor(1.0 if params and flowing == len(params) else 0.0, dtype=f64),
        INDEPENDENT: torch.tensor(independent, dtype=f64),
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
    (4, 3, 64),
]


def make_case(id: str, kind: str, sizes: tuple[int, ...], about: str = "") -> Case:
    obs_dim, n_actions, hidden = _sizes(sizes)
    text = about or f"obs_dim={obs_dim}, n_actions={n_actions}, hidden={hidden}"
    return Case(id, kind, tuple(sizes), text, {"B": BATCH})


def hidden() -> list[Case]:
    cases = [make_case(f"random-{i:02d}", RANDOM, sizes) for i, sizes in enumerate(SIZES_RANDOM)]
    return cases + [
        make_case("edge-cartpole", EDGE, (4, 2), "CartPole sizes with the default hidden=128"),
        make_case(
            "edge-lunar", EDGE, (8, 4, 256), "LunarLander sizes: 8 observations, 4 actions, hidden=256"
        ),
        make_case("edge-obs1", EDGE, (1, 3, 5), "a single observation feature"),
        make_case("edge-one-action", EDGE, (3, 1, 6), "a single action"),
        make_case("edge-wide-head", EDGE, (3, 40, 6), "more actions than hidden units"),
    ]


def visible() -> list[Case]:
    return [make_case("visible-1", VISIBLE, (4, 2, 8)), make_case("visible-2", VISIBLE, (3, 5, 6))]


SPEC = Spec(
    name="QNetwork",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    bug_models=BUGS,
    labels={
        Q: "the Q-values",
        N_PARAMS: "the number of parameters",
        GRAD_FLOW: "whether every parameter gets a gradient from the Q-values (1: yes)",
        INDEPENDENT: "whether each row of the Q-values depends on its own observation only (1: yes)",
    },
    hints={
        "wrong_shape": "forward returns one Q-value per action for every observation: shape (B, n_actions).",
        "wrong_values": "forward: h = relu(fc1(obs)); h = relu(fc2(h)); return out(h) (no activation on "
        "the output).",
        "scaled": "Count the parameters: every Linear(a, b) has a * b weights and b biases.",
    },
)
