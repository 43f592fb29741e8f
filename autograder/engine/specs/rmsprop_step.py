"""rmsprop_step(model, grad_buffer, rmsprop_cache, learning_rate, decay_rate) -> None, in place:

cache = decay * cache + (1 - decay) * g**2; model += lr * g / (sqrt(cache) + 1e-5)
(gradient ASCENT on the expected reward); then the grad buffer is zeroed.

The outputs are the state of the three dicts after the call; a parameter is judged by its
change (after - before), which is small next to its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec
from autograder.engine.specs.common import ProbeMaker, add_probes, change_view, replace_arg

PARAMS = ("model", "grad_buffer", "rmsprop_cache", "learning_rate", "decay_rate")
KEYS = ("W1", "W2")
EPS = 1e-5
TORCH_EPS = 1e-8  # torch.optim.RMSprop's default eps


def update_of(key: str) -> str:
    return f"update of model[{key!r}]"


def cache_of(key: str) -> str:
    return f"rmsprop_cache[{key!r}]"


def grad_of(key: str) -> str:
    return f"grad_buffer[{key!r}]"


OUTPUTS = tuple(f(k) for f in (update_of, cache_of, grad_of) for k in KEYS)


def step(
    case: Case,
    sign: float = 1.0,
    cache_rule: str = "right",
    stale: bool = False,
    sqrt: bool = True,
    eps_inside: bool = False,
    zero_grad: bool = True,
) -> dict[str, Tensor]:
    """The state after one step, in float64; the keyword arguments describe typical slips."""
    model, grads, cache, lr, decay = as64(case.args)
    out: dict[str, Tensor] = {}
    for k in KEYS:
        g, c = grads[k], cache[k]
        right = decay * c + (1 - decay) * g**2
        stored = {
            "right": right,
            "no_square": decay * c + (1 - decay) * g,
            "swapped": (1 - decay) * c + decay * g**2,
            "no_weight": decay * c + g**2,
            "unchanged": c,
        }[cache_rule]
        used = c if stale else (right if cache_rule == "unchanged" else stored)
        denominator = (used + EPS).sqrt() if eps_inside else (used.sqrt() if sqrt else used) + EPS
        out[update_of(k)] = model[k] + sign * lr * g / denominator
        out[cache_of(k)] = stored
        out[grad_of(k)] = torch.zeros_like(g) if zero_grad else g
    return out


def torch_optimizer(case: Case) -> dict[str, Tensor]:
    """What a fresh torch.optim.RMSprop(alpha=decay_rate) does with the ascent gradient:
    it descends, from its own zero running average."""
    model, grads, _, lr, decay = as64(case.args)
    return {
        update_of(k): model[k] - lr * grads[k] / (((1 - decay) * grads[k] ** 2).sqrt() + TORCH_EPS)
        for k in KEYS
    }


def reference(case: Case) -> dict[str, Tensor]:
    return step(case)


def _cache_bug(rule: str, what: str) -> BugModel:
    return BugModel(
        "cache_formula",
        f"follows from a cache {what}; the rule is cache = decay_rate * cache + (1 - decay_rate) * g**2.",
        lambda c: step(c, cache_rule=rule),
    )


BUGS = (
    BugModel(
        "opposite_sign",
        "matches torch.optim.RMSprop given the ascent gradient: a torch optimizer descends (it subtracts "
        "the step) and keeps its own running average instead of rmsprop_cache. Write the rule by hand: "
        "model[k] += learning_rate * g / (sqrt(cache) + 1e-5).",
        torch_optimizer,
        near_miss=False,
    ),
    BugModel(
        "stale_cache",
        "uses the cache from before this step: update rmsprop_cache first, then divide by its square root.",
        lambda c: step(c, stale=True),
    ),
    BugModel(
        "update_formula", "divides by the cache instead of its square root.", lambda c: step(c, sqrt=False)
    ),
    BugModel(
        "update_formula",
        "puts 1e-5 inside the square root: the rule is g / (sqrt(cache) + 1e-5).",
        lambda c: step(c, eps_inside=True),
    ),
    BugModel(
        "cache_not_updated",
        "was not updated: store decay_rate * cache + (1 - decay_rate) * g**2 back into rmsprop_cache[k].",
        lambda c: step(c, cache_rule="unchanged"),
    ),
    _cache_bug("no_square", "computed with g instead of g**2"),
    _cache_bug("swapped", "with decay_rate and 1 - decay_rate swapped"),
    _cache_bug("no_weight", "without the factor (1 - decay_rate) on g**2"),
    BugModel(
        "grad_not_zeroed",
        "still holds the gradient: zero the grad buffer after the step (grad_buffer[k].zero_()).",
        lambda c: step(c, zero_grad=False),
    ),
)


# A parameter is judged by its change: value - its value before the call.
view = change_view(KEYS, update_of)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    out: dict[str, object] = {}
    for position, name, rename in (
        (0, "model", update_of),
        (2, "rmsprop_cache", cache_of),
        (1, "grad_buffer", grad_of),
    ):
        state = args[position]
        for k in KEYS:
            if not isinstance(state, Mapping) or k not in state:
                raise ReturnError(f"left {name} without the key {k!r}")
            out[rename(k)] = state[k]
    return {name: out[name] for name in OUTPUTS}


def make_case(
    seed: int,
    id: str,
    kind: str,
    D: int,
    H: int,
    lr: float,
    decay: float,
    about: str = "",
    dtype: torch.dtype = torch.float64,
    zero_cache: bool = False,
    sigma: float | None = None,
) -> Case:
    rng = Rng(seed)
    model = {"W1": rng.normal(H, D, std=D**-0.5), "W2": rng.normal(H, std=H**-0.5)}
    # gradients and cache well above 1e-5, so only the edge case "tiny" tells where 1e-5 goes
    s = float(rng.uniform(1, low=0.5, high=2.0)) if sigma is None else sigma
    grads = {k: rng.normal(*v.shape, std=s) for k, v in model.items()}
    cache = {
        k: torch.zeros_like(v) if zero_cache else s**2 * rng.uniform(*v.shape, low=0.2, high=2.0)
        for k, v in model.items()
    }
    args = tuple({k: v.to(dtype) for k, v in d.items()} for d in (model, grads, cache)) + (lr, decay)
    sizes = {"D": D, "H": H, "learning_rate": lr, "decay_rate": decay}
    return Case(id, kind, args, about or f"D={D}, H={H}, learning_rate={lr:g}, decay_rate={decay:g}", sizes)


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(9000 + i)
        sizes = rng.distinct_sizes("DH", 3, 20)
        lr, decay = rng.choice([1e-4, 1e-3, 1e-2]), rng.choice([0.9, 0.99, 0.999])
        cases.append(make_case(9050 + i, f"random-{i:02d}", RANDOM, sizes["D"], sizes["H"], lr, decay))
    return cases


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        state = base.args[PARAMS.index(name)]
        new = {
            k: v.abs().mean()
            * (rng.uniform(*v.shape, low=0.2, high=2.0) if name == "rmsprop_cache" else rng.normal(*v.shape))
            for k, v in state.items()
        }
        return replace_arg(base.args, PARAMS, name, new)

    return make


def _new_number(name: str, value: float) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        return replace_arg(base.args, PARAMS, name, value)

    return make


PROBES = {
    "learning_rate": _new_number("learning_rate", 0.05),
    "decay_rate": _new_number("decay_rate", 0.5),
    "grad_buffer": _fresh("grad_buffer"),
    "rmsprop_cache": _fresh("rmsprop_cache"),
}


def edge_cases() -> list[Case]:
    zero_grad = make_case(
        9101, "edge-zero-grad", EDGE, 6, 4, 1e-2, 0.99, "zero gradients in places (cache 0 there)"
    )
    model, grads, cache, lr, decay = zero_grad.args
    mask = {k: (torch.arange(v.numel()).reshape(v.shape) % 3 == 0) for k, v in grads.items()}
    grads = {k: v.masked_fill(mask[k], 0.0) for k, v in grads.items()}
    cache = {k: v.masked_fill(mask[k], 0.0) for k, v in cache.items()}
    zero_grad = replace(zero_grad, args=(model, grads, cache, lr, decay))
    return [
        make_case(
            9100, "edge-first-step", EDGE, 7, 5, 1e-3, 0.99, "the first step: cache = 0", zero_cache=True
        ),
        zero_grad,
        make_case(
            9102,
            "edge-tiny",
            EDGE,
            5,
            3,
            1e-2,
            0.99,
            "tiny gradients, cache = 0: where 1e-5 goes matters",
            zero_cache=True,
            sigma=1e-7,
        ),
        make_case(9103, "edge-decay0", EDGE, 6, 3, 1e-3, 0.0, "decay_rate = 0: cache = g**2"),
        make_case(9104, "edge-float32", EDGE, 8, 5, 1e-2, 0.9, "float32 tensors", dtype=torch.float32),
        make_case(9105, "edge-pong", EDGE, 6400, 8, 1e-4, 0.99, "Pong sizes D=6400 (H=8), lr=1e-4"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], PROBES, seed=9500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(9200, "visible-1", VISIBLE, 5, 3, 1e-2, 0.9),
        make_case(9201, "visible-2", VISIBLE, 4, 2, 1e-2, 0.99, "the first step: cache = 0", zero_cache=True),
    ]


SPEC = Spec(
    name="rmsprop_step",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    mutable=frozenset({"model", "grad_buffer", "rmsprop_cache"}),
    in_place=frozenset({"model"}),
    bug_models=BUGS,
    view=view,
    probe_outputs=frozenset(update_of(k) for k in KEYS),  # the update depends on every argument
    hints={
        "opposite_sign": "This is gradient ASCENT on the expected reward: model[k] += learning_rate * g / "
        "(sqrt(cache) + 1e-5). torch.optim optimizers always descend (unless maximize=True).",
        "not_in_place": "Update the model's tensors in place (model[k] += ... or model[k].add_(...)): the "
        "training loop and policy_forward keep using the same tensor objects.",
        "scaled": "model[k] += learning_rate * g / (sqrt(cache) + 1e-5).",
    },
)
