"""discounted_returns(rewards, gamma) -> the returns-to-go of ONE episode (lesson 5.5, REINFORCE).

rewards (T,): the rewards r_0 .. r_{T-1} of one whole episode; gamma a float.
G_t = sum_{k=t}^{T-1} gamma**(k - t) * r_k, computed backwards: G_{T-1} = r_{T-1},
G_t = r_t + gamma * G_{t+1}. Shape (T,), the dtype of rewards.

Unlike the Pong homework's `discount_rewards` (spec `discount_rewards`), the running sum is
never restarted inside the episode: a CartPole episode is one single game.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("rewards", "gamma")
OUT = "G"


def returns(
    case: Case,
    forward: bool = False,
    exclude_current: bool = False,
    gamma_on_reward: bool = False,
    reverse_output: bool = False,
    reset: bool = False,
    standardise: bool = False,
) -> Tensor:
    """Returns-to-go in float64; the switches describe typical slips."""
    r = case.args[0].detach().to(torch.float64)
    gamma = float(case.args[1])
    T = len(r)
    out = torch.zeros_like(r)
    running = 0.0
    steps = range(T) if forward else reversed(range(T))
    for t in steps:
        if reset and float(r[t]) != 0.0:
            running = 0.0
        if exclude_current:
            out[t] = running
            running = running * gamma + float(r[t])
        elif gamma_on_reward:
            running = gamma * (running + float(r[t]))
            out[t] = running
        else:
            running = running * gamma + float(r[t])
            out[t] = running
    if reverse_output:
        out = out.flip(0)
    if standardise and T > 1:
        out = (out - out.mean()) / (out.std() + 1e-8)
    return out


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: returns(case)}


def _model(code: str, message: str, near_miss: bool = True, **kw: bool) -> BugModel:
    return BugModel(code, message, lambda c: {OUT: returns(c, **kw)}, near_miss=near_miss)


BUGS = (
    _model(
        "forward_accumulation",
        "accumulates forwards in time (G_t sums the rewards BEFORE t, discounted the wrong way): the return "
        "at step t sums the rewards from t to the end, so loop from t = T - 1 down to 0.",
        forward=True,
    ),
    _model(
        "excludes_reward",
        "leaves out the reward of step t itself (off by one: G_t starts with r_{t+1}): set "
        "running = r[t] + gamma * running first, then store it in G[t].",
        exclude_current=True,
    ),
    _model(
        "gamma_misapplied",
        "discounts the reward of step t too (running = gamma * (running + r[t])): "
        "G_t = r_t + gamma * G_{t+1}, the first reward counts in full.",
        gamma_on_reward=True,
    ),
    _model(
        "reversed_output",
        "is in reverse order (G[0] holds the return of the last step): when you fill a list backwards, "
        "reverse it before returning, or write G[t] directly.",
        reverse_output=True,
    ),
    _model(
        "reversed_output",
        "accumulates forwards and returns the result reversed: loop from t = T - 1 down to 0 and store G[t].",
        forward=True,
        reverse_output=True,
    ),
    _model(
        "reset_inside_episode",
        "restarts the running sum at every non-zero reward, like the Pong homework's discount_rewards: a "
        "CartPole episode is one game, so the running sum is never reset inside it.",
        reset=True,
    ),
    _model(
        "standardised",
        "is standardised (mean 0, std 1): return the raw returns-to-go; reinforce_loss standardises them "
        "when asked to.",
        near_miss=False,
        standardise=True,
    ),
)


def case_of(id: str, kind: str, r: list[float] | Tensor, gamma: float, about: str = "") -> Case:
    r = torch.as_tensor(r, dtype=torch.float64) if not isinstance(r, Tensor) else r
    return Case(id, kind, (r, gamma), about or f"T={len(r)}, gamma={gamma:g}", {"T": len(r), "gamma": gamma})


def draw_rewards(rng: Rng, T: int) -> Tensor:
    """Random rewards (positive and negative), or CartPole's +1 per step."""
    if rng.np.random() < 0.3:
        return torch.ones(T, dtype=torch.float64)
    return rng.normal(T, std=1.5) + 0.3


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(21000 + i)
        T = rng.integer(3, 40)
        gamma = rng.choice([0.5, 0.8, 0.9, 0.95, 0.99])
        cases.append(case_of(f"random-{i:02d}", RANDOM, draw_rewards(rng, T), gamma))
    return cases


def _new_gamma(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "gamma", 0.7 if base.args[1] != 0.7 else 0.6)


def _new_rewards(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "rewards", rng.normal(len(base.args[0]), std=2.0) - 0.5)


def edge_cases() -> list[Case]:
    f32 = case_of("edge-float32", EDGE, Rng(21108).normal(9).tolist(), 0.95, "float32 rewards")
    long32 = case_of(
        "edge-cartpole-500", EDGE, [1.0] * 500, 0.99, "a full CartPole episode: 500 rewards of 1"
    )
    return [
        case_of("edge-T1", EDGE, [2.5], 0.9, "one step"),
        case_of("edge-T2", EDGE, [1.0, -2.0], 0.5, "two steps"),
        case_of("edge-gamma0", EDGE, [1.0, -2.0, 3.0, 0.5], 0.0, "gamma = 0: G = r"),
        case_of(
            "edge-gamma1", EDGE, [1.0, 0.0, -2.0, 3.0, 0.5], 1.0, "gamma = 1: sums of the remaining rewards"
        ),
        case_of("edge-zeros", EDGE, [0.0] * 6, 0.9, "no reward at all"),
        case_of("edge-sparse", EDGE, [0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0], 0.9, "sparse rewards (no reset!)"),
        replace(f32, args=(f32.args[0].float(), f32.args[1])),
        replace(long32, args=(long32.args[0].float(), long32.args[1]), about="500 rewards of 1, float32"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    probes = add_probes(randoms[:2], {"rewards": _new_rewards, "gamma": _new_gamma}, seed=21500)
    return randoms + probes + edge_cases()


def visible() -> list[Case]:
    return [
        case_of("visible-1", VISIBLE, [1.0, 1.0, 1.0], 0.9, "three rewards of 1, gamma=0.9"),
        case_of("visible-2", VISIBLE, [0.0, 2.0, 0.0, -1.0], 0.5, "T=4, gamma=0.5"),
        case_of("visible-3", VISIBLE, draw_rewards(Rng(21600), 10), 0.99),
    ]


SPEC = Spec(
    name="discounted_returns",
    params=PARAMS,
    outputs=(OUT,),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single(OUT),
    bug_models=BUGS,
    dtypes={OUT: "same:rewards"},
    labels={OUT: "the returns-to-go G"},
    hints={
        "wrong_values": "Going backwards from t = T - 1: running = rewards[t] + gamma * running; "
        "G[t] = running.",
        "scaled": "G_t = r_t + gamma * G_{t+1}: gamma multiplies only the return of the next step.",
        "wrong_shape": "One return per time step: shape (T,), like rewards.",
        "wrong_dtype": "Create the result with torch.zeros_like(rewards) (or .to(rewards.dtype)).",
    },
)
