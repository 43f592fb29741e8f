"""discount_rewards(r, gamma=0.99) -> discounted returns, backwards through time, with the
running sum restarted at every non-zero reward (a Pong point ends a rally). r: (T,)."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("r", "gamma")
OUT = "discount_rewards(r)"  # the name of the result in messages
DEFAULT_GAMMA = 0.99


def discounted(case: Case, reset: bool = True, forward: bool = False, standardise: bool = False) -> Tensor:
    """Returns in float64; the switches describe typical slips."""
    r = case.args[0].detach().to(torch.float64)
    gamma = case.args[1] if len(case.args) > 1 else DEFAULT_GAMMA
    steps = range(len(r)) if forward else reversed(range(len(r)))
    out = torch.zeros_like(r)
    running = 0.0
    for t in steps:
        if reset and float(r[t]) != 0.0:
            running = 0.0
        running = running * gamma + float(r[t])
        out[t] = running
    if standardise and len(out) > 1:
        out = (out - out.mean()) / out.std()
    return out


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: discounted(case)}


BUGS = (
    BugModel(
        "no_reset",
        "does not restart the running sum at non-zero rewards: going backwards, set it to 0 whenever "
        "r[t] != 0, because a point ends a rally and the next rally's rewards must not leak into it.",
        lambda c: {OUT: discounted(c, reset=False)},
    ),
    BugModel(
        "gamma_misapplied",
        "discounts forward in time: the return at step t sums the rewards that come after t, so loop "
        "from t = T - 1 down to 0.",
        lambda c: {OUT: discounted(c, forward=True)},
    ),
    BugModel(
        "gamma_misapplied",
        "discounts forward in time and does not restart at non-zero rewards.",
        lambda c: {OUT: discounted(c, reset=False, forward=True)},
    ),
    BugModel(
        "standardised",
        "is standardised (mean 0, std 1): return the raw discounted returns and standardise them "
        "outside, in the training loop.",
        lambda c: {OUT: discounted(c, standardise=True)},
        near_miss=False,
    ),
)


def pong_rewards(rng: Rng, T: int) -> Tensor:
    """Mostly zeros, with +-1 where a rally ends; usually the last step ends one."""
    r = torch.zeros(T, dtype=torch.float64)
    ends = {rng.integer(0, T - 1) for _ in range(rng.integer(1, 4))}
    if rng.np.random() < 0.7:
        ends.add(T - 1)
    for t in ends:
        r[t] = rng.choice([-1.0, 1.0])
    return r


def case_of(id: str, kind: str, r: list[float] | Tensor, gamma: float | None, about: str = "") -> Case:
    r = torch.as_tensor(r, dtype=torch.float64) if not isinstance(r, Tensor) else r
    args = (r,) if gamma is None else (r, gamma)
    g = DEFAULT_GAMMA if gamma is None else gamma
    return Case(id, kind, args, about or f"T={len(r)}, gamma={g:g}", {"T": len(r), "gamma": g})


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(6000 + i)
        T = rng.integer(5, 60)
        gamma = rng.choice([0.5, 0.8, 0.9, 0.95, 0.98, 0.99])
        cases.append(case_of(f"random-{i:02d}", RANDOM, pong_rewards(rng, T), gamma))
    return cases


def _new_gamma(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "gamma", 0.7 if base.args[1] != 0.7 else 0.6)


def _new_rewards(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "r", pong_rewards(rng, len(base.args[0])) * 2.0)


def edge_cases() -> list[Case]:
    cases = [
        case_of("edge-T1", EDGE, [1.0], 0.9, "one step, reward 1"),
        case_of("edge-T1-zero", EDGE, [0.0], 0.9, "one step, reward 0"),
        case_of("edge-zeros", EDGE, [0.0] * 10, 0.9, "no reward at all"),
        case_of("edge-last", EDGE, [0.0] * 7 + [-1.0], 0.9, "a single reward at the end"),
        case_of(
            "edge-several", EDGE, [0, 0, 1, -1, 1, 0, 0, -1], 0.9, "several consecutive non-zero rewards"
        ),
        case_of("edge-sizes", EDGE, [0, 0, 2.5, 0, 0, -0.5, 0, 3.0], 0.8, "rewards other than +-1"),
        case_of("edge-open", EDGE, [0, 0, 1, 0, 0, 0], 0.9, "the episode stops in the middle of a rally"),
        case_of("edge-gamma1", EDGE, [0, 0, 0, 1, 0, 0, -1], 1.0, "gamma = 1"),
        case_of("edge-gamma0", EDGE, [0, 0, 0, 1, 0, 0, -1], 0.0, "gamma = 0"),
        case_of("edge-default", EDGE, [0, 0, 0, 0, 1, 0, -1], None, "gamma not passed: the default 0.99"),
    ]
    f32 = case_of("edge-float32", EDGE, [0, 0, 1, 0, 0, 0, 0, -1], 0.95, "float32 rewards")
    return cases + [replace(f32, args=(f32.args[0].float(), f32.args[1]))]


def hidden() -> list[Case]:
    randoms = random_cases()
    probes = add_probes(randoms[:2], {"gamma": _new_gamma, "r": _new_rewards}, seed=6500)
    return randoms + probes + edge_cases()


def visible() -> list[Case]:
    return [
        case_of("visible-1", VISIBLE, [0.0, 0.0, 1.0], 0.9),
        case_of("visible-2", VISIBLE, [0.0, 1.0, 0.0, 0.0, -1.0], 0.5, "two rallies, gamma=0.5"),
        case_of("visible-3", VISIBLE, pong_rewards(Rng(6600), 12), 0.99),
    ]


SPEC = Spec(
    name="discount_rewards",
    params=PARAMS,
    outputs=(OUT,),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single(OUT),
    bug_models=BUGS,
    hints={
        "wrong_values": "Going backwards from t = T - 1: running = running * gamma + r[t], with running "
        "reset to 0 whenever r[t] != 0.",
        "scaled": "Going backwards: running = running * gamma + r[t] (gamma scales only the running sum).",
        "wrong_shape": "The result has one return per time step: shape (T,).",
    },
)
