"""td_targets(rewards, next_q_target, dones, gamma) -> y, the DQN regression targets.

rewards (B,), next_q_target (B, A) = Q_target(s', .) for every action, dones (B,) float with
1.0 where the episode ended at s' (terminal: no bootstrap), gamma a float.
y = rewards + gamma * (1 - dones) * max_a' next_q_target[:, a'], shape (B,).

The target is a constant for the loss: y must not require grad (nor carry a grad_fn), also
when next_q_target does. `unpack` records that as the output `graph` (1: it does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("rewards", "next_q_target", "dones", "gamma")
OUT = "y"
GRAPH = "graph"


def targets(
    case: Case, done_rule: str = "right", reduce: str = "max", gamma_on_reward: bool = False
) -> Tensor:
    """The targets in float64; the keyword arguments describe typical slips."""
    r, q, d, gamma = as64(case.args)
    best = {"max": q.max(dim=1).values, "mean": q.mean(dim=1), "first": q[:, 0], "sum": q.sum(dim=1)}[reduce]
    mask = {"right": 1.0 - d, "none": torch.ones_like(d), "inverted": d}[done_rule]
    base = gamma * r if gamma_on_reward else r
    return base + gamma * mask * best


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: targets(case), GRAPH: torch.tensor(0.0, dtype=torch.float64)}


def _only(name: str, value: Tensor) -> dict[str, Tensor]:
    return {name: value}


BUGS = (
    BugModel(
        "no_terminal_mask",
        "bootstraps from terminal transitions: where dones is 1 the episode is over and the target is just "
        "the reward. Multiply the bootstrap term by (1 - dones).",
        lambda c: _only(OUT, targets(c, done_rule="none")),
    ),
    BugModel(
        "no_terminal_mask",
        "multiplies the bootstrap term by dones instead of (1 - dones): terminal transitions bootstrap, and "
        "the others do not.",
        lambda c: _only(OUT, targets(c, done_rule="inverted")),
    ),
    BugModel(
        "not_max",
        "averages Q_target(s', .) over the actions: the Q-learning target takes the best next action, "
        "next_q_target.max(dim=1).values.",
        lambda c: _only(OUT, targets(c, reduce="mean")),
    ),
    BugModel(
        "not_max",
        "uses the value of action 0 (next_q_target[:, 0]): take the maximum over the actions, "
        "next_q_target.max(dim=1).values.",
        lambda c: _only(OUT, targets(c, reduce="first")),
    ),
    BugModel(
        "not_max",
        "sums Q_target(s', .) over the actions: take the maximum, next_q_target.max(dim=1).values.",
        lambda c: _only(OUT, targets(c, reduce="sum")),
    ),
    BugModel(
        "gamma_misapplied",
        "discounts the reward too: y = r + gamma * (1 - done) * max Q_target(s', a'); the reward of this "
        "step is not discounted.",
        lambda c: _only(OUT, targets(c, gamma_on_reward=True)),
    ),
    BugModel(
        "gradient_into_target",
        "is 1: your targets require grad (they carry a graph back into next_q_target), so the loss would "
        "push the target network too and the target would move with every step. Compute the target under "
        "torch.no_grad() or call .detach() on it.",
        lambda c: _only(GRAPH, torch.tensor(1.0, dtype=torch.float64)),
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if isinstance(returned, tuple | list):
        raise ReturnError(f"returned {describe(returned)}, expected a single tensor of targets")
    tracks = isinstance(returned, Tensor) and (returned.requires_grad or returned.grad_fn is not None)
    return {OUT: returned, GRAPH: torch.tensor(1.0 if tracks else 0.0, dtype=torch.float64)}


def make_case(
    seed: int,
    id: str,
    kind: str,
    B: int,
    A: int,
    gamma: float,
    about: str = "",
    p_done: float = 0.2,
    grad: bool = False,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    rewards = rng.choice([rng.normal(B), torch.ones(B, dtype=torch.float64)])
    q = rng.normal(B, A, std=3.0) + 5.0
    dones = rng.bernoulli(B, p=p_done)
    if 0.0 < p_done < 1.0 and B >= 3:  # at least one of each
        dones[0], dones[1] = 1.0, 0.0
    q = q.to(dtype).requires_grad_(grad)
    args = (rewards.to(dtype), q, dones.to(dtype), gamma)
    text = about or f"B={B}, A={A}, gamma={gamma:g}"
    if grad and not about:
        text += ", next_q_target requires grad"
    return Case(id, kind, args, text, {"B": B, "A": A, "gamma": gamma})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(11000 + i)
        sizes = rng.distinct_sizes("BA", 2, 12)
        gamma = rng.choice([0.9, 0.95, 0.99, 0.5])
        cases.append(make_case(11050 + i, f"random-{i:02d}", RANDOM, sizes["B"], sizes["A"], gamma))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        r, q, d, gamma = base.args
        value: Any = {
            "rewards": rng.normal(*r.shape) + 2.0,
            "next_q_target": rng.normal(*q.shape, std=3.0) - 4.0,
            "dones": 1.0 - d,
            "gamma": 0.6 if gamma != 0.6 else 0.7,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(11100, "edge-all-done", EDGE, 6, 3, 0.99, "every transition terminal", p_done=1.0),
        make_case(11101, "edge-none-done", EDGE, 6, 3, 0.99, "no terminal transition", p_done=0.0),
        make_case(11102, "edge-gamma0", EDGE, 5, 4, 0.0, "gamma = 0: y = r"),
        make_case(11103, "edge-gamma1", EDGE, 5, 4, 1.0, "gamma = 1"),
        make_case(11104, "edge-B1", EDGE, 1, 3, 0.9, "a batch of one transition"),
        make_case(11105, "edge-A1", EDGE, 7, 1, 0.9, "a single action"),
        make_case(11106, "edge-float32", EDGE, 8, 2, 0.99, "float32 tensors", dtype=torch.float32),
        make_case(11107, "edge-grad-1", EDGE, 8, 2, 0.99, grad=True),
        make_case(11108, "edge-grad-2", EDGE, 5, 6, 0.9, grad=True),
        make_case(
            11109,
            "edge-grad-3",
            EDGE,
            12,
            3,
            0.95,
            "float32, next_q_target requires grad",
            grad=True,
            dtype=torch.float32,
        ),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _new(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=11500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(11200, "visible-1", VISIBLE, 4, 2, 0.9),
        make_case(
            11201, "visible-2", VISIBLE, 6, 3, 0.99, "B=6, A=3, next_q_target requires grad", grad=True
        ),
    ]


SPEC = Spec(
    name="td_targets",
    params=PARAMS,
    outputs=(OUT, GRAPH),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    labels={OUT: "the targets y", GRAPH: "whether y is attached to the autograd graph (1: yes)"},
    probe_outputs=frozenset({OUT}),
    hints={
        "wrong_values": "y = rewards + gamma * (1 - dones) * next_q_target.max(dim=1).values.",
        "wrong_shape": "One target per transition: shape (B,). Take the maximum over dim=1 (the actions) "
        "and do not keep that dimension.",
        "scaled": "y = rewards + gamma * (1 - dones) * max_a' Q_target(s', a'): only the bootstrap term is "
        "multiplied by gamma.",
    },
)
