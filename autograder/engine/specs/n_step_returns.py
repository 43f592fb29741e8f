"""n_step_returns(rewards, next_value, dones, gamma) -> bootstrapped returns of a rollout (lesson 5.6, A2C).

A rollout of T steps from N parallel environments: rewards (T, N), dones (T, N) float with
dones[t, i] = 1.0 when the episode of environment i ended at step t (the next observation
belongs to a new episode), next_value (N,) = V(s_T), the critic's value of the observation
after the last step. Backwards from R_T = next_value:
    R_t = rewards[t] + gamma * (1 - dones[t]) * R_{t+1},   shape (T, N).
The result is a regression target and a weight for the actor: it must not require grad (nor
carry a grad_fn), also when next_value does. `unpack` records that as `graph` (1: it does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("rewards", "next_value", "dones", "gamma")
OUT = "R"
GRAPH = "graph"


def rollout_returns(
    case: Case,
    mask: str = "right",
    bootstrap: bool = True,
    forward: bool = False,
    gamma_on_reward: bool = False,
    mask_all: bool = False,
) -> Tensor:
    """The returns in float64. mask: 'right' (1 - dones[t]), 'none', 'inverted' (dones[t]),
    'next' (1 - dones[t + 1], the mask one step late). mask_all: (1 - dones[t]) multiplies the
    reward too."""
    r, v, d, gamma = as64(case.args)
    T = r.shape[0]
    out = torch.zeros_like(r)
    running = v.clone() if bootstrap else torch.zeros_like(v)
    steps = range(T) if forward else reversed(range(T))
    for t in steps:
        if mask == "right":
            m = 1.0 - d[t]
        elif mask == "inverted":
            m = d[t]
        elif mask == "next":
            m = 1.0 - d[t + 1] if t + 1 < T else torch.ones_like(d[t])
        else:
            m = torch.ones_like(d[t])
        if gamma_on_reward:
            running = gamma * (r[t] + m * running)
        elif mask_all:
            running = m * (r[t] + gamma * running)
        else:
            running = r[t] + gamma * m * running
        out[t] = running
    return out


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: rollout_returns(case), GRAPH: torch.tensor(0.0, dtype=torch.float64)}


def _model(code: str, message: str, **kw: Any) -> BugModel:
    return BugModel(code, message, lambda c: {OUT: rollout_returns(c, **kw)})


BUGS = (
    _model(
        "no_done_mask",
        "runs across episode boundaries: where dones[t] is 1 the episode ended at step t, so nothing "
        "after it belongs to its return. Multiply the bootstrap term by (1 - dones[t]).",
        mask="none",
    ),
    _model(
        "no_done_mask",
        "multiplies by dones[t] instead of (1 - dones[t]): the return is cut where the episode goes on, and "
        "runs on where it ended.",
        mask="inverted",
    ),
    _model(
        "mask_off_by_one",
        "cuts the return one step late (it uses dones[t + 1] at step t): dones[t] = 1 means the episode "
        "ended AFTER step t, so R_t = rewards[t] + gamma * (1 - dones[t]) * R_{t+1}.",
        mask="next",
    ),
    _model(
        "no_done_mask",
        "also drops the reward of the last step of an episode ((1 - dones[t]) multiplies the reward too): "
        "the reward of step t always counts; only the bootstrap term is cut.",
        mask_all=True,
    ),
    _model(
        "no_bootstrap",
        "does not bootstrap: the rollout stops after T steps, but the episodes go on, so the return of the "
        "last step is rewards[T - 1] + gamma * (1 - dones[T - 1]) * next_value. Start the backward loop "
        "from R = next_value, not from 0.",
        bootstrap=False,
    ),
    _model(
        "forward_accumulation",
        "accumulates forwards in time: the return of step t sums what comes AFTER it, so loop from "
        "t = T - 1 down to 0, starting from next_value.",
        forward=True,
    ),
    _model(
        "gamma_misapplied",
        "discounts the reward of step t too: R_t = rewards[t] + gamma * (1 - dones[t]) * R_{t+1}.",
        gamma_on_reward=True,
    ),
    BugModel(
        "gradient_into_target",
        "is 1: your returns carry a graph back into next_value, so the value loss would push the critic's "
        "value of s_T as well and the target would move with every step. Compute the returns under "
        "torch.no_grad() or detach next_value.",
        lambda c: {GRAPH: torch.tensor(1.0, dtype=torch.float64)},
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if isinstance(returned, tuple | list):
        raise ReturnError(f"returned {describe(returned)}, expected a single (T, N) tensor of returns")
    tracks = isinstance(returned, Tensor) and (returned.requires_grad or returned.grad_fn is not None)
    return {OUT: returned, GRAPH: torch.tensor(1.0 if tracks else 0.0, dtype=torch.float64)}


def make_case(
    seed: int,
    id: str,
    kind: str,
    T: int,
    N: int,
    gamma: float,
    about: str = "",
    p_done: float = 0.2,
    grad: bool = False,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    rewards = rng.choice([rng.normal(T, N) + 0.5, torch.ones(T, N, dtype=torch.float64)])
    v = rng.normal(N, std=3.0) + 10.0
    dones = rng.bernoulli(T, N, p=p_done)
    if 0.0 < p_done < 1.0 and T >= 3:  # a done in the middle of some environment's rollout, one at the end
        dones[1, 0], dones[T - 1, N - 1] = 1.0, 1.0
        dones[T - 1, 0] = 0.0 if N > 1 else dones[T - 1, 0]
    args = (rewards.to(dtype), v.to(dtype).requires_grad_(grad), dones.to(dtype), gamma)
    text = about or f"T={T}, N={N}, gamma={gamma:g}"
    if grad and not about:
        text += ", next_value requires grad"
    return Case(id, kind, args, text, {"T": T, "N": N, "gamma": gamma})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(23000 + i)
        sizes = rng.distinct_sizes("TN", 2, 10)
        gamma = rng.choice([0.9, 0.95, 0.99, 0.5])
        cases.append(make_case(23050 + i, f"random-{i:02d}", RANDOM, sizes["T"], sizes["N"], gamma))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        r, v, d, gamma = base.args
        value: Any = {
            "rewards": rng.normal(*r.shape) - 1.0,
            "next_value": rng.normal(*v.shape, std=3.0) - 6.0,
            "dones": 1.0 - d,
            "gamma": 0.6 if gamma != 0.6 else 0.7,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(23100, "edge-no-done", EDGE, 6, 3, 0.99, "no episode ends in the rollout", p_done=0.0),
        make_case(23101, "edge-all-done", EDGE, 5, 2, 0.9, "every step ends an episode", p_done=1.0),
        make_case(23102, "edge-T1", EDGE, 1, 4, 0.9, "a rollout of one step", p_done=0.3),
        make_case(23103, "edge-N1", EDGE, 8, 1, 0.95, "one environment"),
        make_case(23104, "edge-gamma0", EDGE, 4, 3, 0.0, "gamma = 0: R = rewards"),
        make_case(23105, "edge-gamma1", EDGE, 5, 3, 1.0, "gamma = 1"),
        make_case(23106, "edge-float32", EDGE, 7, 4, 0.99, "float32 tensors", dtype=torch.float32),
        make_case(23107, "edge-grad-1", EDGE, 6, 2, 0.99, grad=True),
        make_case(
            23108,
            "edge-grad-2",
            EDGE,
            5,
            3,
            0.9,
            "float32, next_value requires grad",
            grad=True,
            dtype=torch.float32,
        ),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _new(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=23500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(23200, "visible-1", VISIBLE, 3, 1, 0.9, "T=3, N=1, gamma=0.9, no done", p_done=0.0),
        make_case(23201, "visible-2", VISIBLE, 5, 2, 0.9),
        make_case(23202, "visible-3", VISIBLE, 4, 3, 0.99, "T=4, N=3, next_value requires grad", grad=True),
    ]


SPEC = Spec(
    name="n_step_returns",
    params=PARAMS,
    outputs=(OUT, GRAPH),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    labels={OUT: "your R", GRAPH: "whether R is attached to the autograd graph (1: yes)"},
    probe_outputs=frozenset({OUT}),
    hints={
        "wrong_values": "Start from R = next_value and go backwards from t = T - 1: "
        "R = rewards[t] + gamma * (1 - dones[t]) * R; store it in row t.",
        "wrong_shape": "One return per step and environment: shape (T, N), like rewards.",
        "scaled": "R_t = rewards[t] + gamma * (1 - dones[t]) * R_{t+1}: only the bootstrap term is "
        "multiplied by gamma.",
        "transposed": "Rows are time steps and columns environments, as in rewards.",
    },
)
