"""epsilon_by_step(step, start, end, decay_steps) -> float: the exploration rate of an
epsilon-greedy agent at environment step `step` (0, 1, 2, ...): linear from `start` at step 0
to `end` at step `decay_steps`, then constant `end`:
    epsilon = end + (start - end) * max(0, 1 - step / decay_steps).
A Python float (a 0-d tensor is accepted).
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("step", "start", "end", "decay_steps")
OUT = "epsilon"


def eps(case: Case, rule: str = "right") -> dict[str, Tensor]:
    step, start, end, n = case.args
    frac = step / n
    value = {
        "right": lambda: end + (start - end) * max(0.0, 1.0 - frac),
        "no_clamp": lambda: end + (start - end) * (1.0 - frac),
        "reversed": lambda: start + (end - start) * max(0.0, 1.0 - frac),
        "off_by_one": lambda: end + (start - end) * max(0.0, 1.0 - (step + 1) / n),
        "exponential": lambda: (
            end + (start - end) * float(torch.exp(torch.tensor(-step / n, dtype=torch.float64)))
        ),
        "floor_div": lambda: end + (start - end) * max(0.0, 1.0 - step // n),
    }[rule]()
    return {OUT: torch.tensor(float(value), dtype=torch.float64)}


def reference(case: Case) -> dict[str, Tensor]:
    return eps(case)


BUGS = (
    BugModel(
        "no_clamp",
        "keeps decreasing after decay_steps (below `end`, even negative): after the decay epsilon stays at "
        "end, so clamp the fraction: max(0.0, 1.0 - step / decay_steps).",
        lambda c: eps(c, "no_clamp"),
    ),
    BugModel(
        "reversed",
        "goes from `end` to `start`: epsilon starts high (start, explore) and decays to end (exploit).",
        lambda c: eps(c, "reversed"),
    ),
    BugModel(
        "off_by_one",
        "is one step ahead: at step 0 epsilon is exactly `start`; use step / decay_steps, not (step + 1).",
        lambda c: eps(c, "off_by_one"),
    ),
    BugModel(
        "not_linear",
        "decays exponentially: this schedule is linear, "
        "end + (start - end) * max(0.0, 1.0 - step / decay_steps).",
        lambda c: eps(c, "exponential"),
    ),
    BugModel(
        "not_linear",
        "jumps from start to end at decay_steps: step // decay_steps is integer division; use step / "
        "decay_steps.",
        lambda c: eps(c, "floor_div"),
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if isinstance(returned, Tensor):
        if returned.numel() != 1:
            raise ReturnError(f"returned {describe(returned)}, expected one number")
        return {OUT: torch.tensor(float(returned), dtype=torch.float64)}
    try:
        return {
            OUT: torch.tensor(
                float(operator.index(returned) if isinstance(returned, int) else returned),
                dtype=torch.float64,
            )
        }
    except (TypeError, ValueError):
        raise ReturnError(f"returned {describe(returned)}, expected a float") from None


def make_case(id: str, kind: str, step: int, start: float, end: float, n: int, about: str = "") -> Case:
    text = about or f"step={step}, start={start:g}, end={end:g}, decay_steps={n}"
    return Case(
        id, kind, (step, start, end, n), text, {"step": step, "start": start, "end": end, "decay_steps": n}
    )


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(15000 + i)
        n = rng.choice([100, 500, 1000, 10000, 25000])
        start = rng.choice([1.0, 0.9, 0.5])
        end = rng.choice([0.05, 0.01, 0.1])
        step = rng.integer(1, n - 1) if i < 8 else rng.integer(n + 1, 3 * n)
        cases.append(make_case(f"random-{i:02d}", RANDOM, step, start, end, n))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        step, start, end, n = base.args
        value = {
            "step": step // 2 + 1,
            "start": 0.8 if start != 0.8 else 0.7,
            "end": 0.2,
            "decay_steps": 2 * n + 1,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case("edge-step0", EDGE, 0, 1.0, 0.05, 1000, "step 0: epsilon = start"),
        make_case("edge-at-end", EDGE, 1000, 1.0, 0.05, 1000, "step = decay_steps: epsilon = end"),
        make_case("edge-after", EDGE, 5000, 1.0, 0.05, 1000, "long after the decay: epsilon = end"),
        make_case("edge-one-before", EDGE, 999, 1.0, 0.05, 1000, "one step before the end"),
        make_case("edge-decay1", EDGE, 1, 0.5, 0.1, 1, "decay_steps = 1"),
        make_case("edge-flat", EDGE, 37, 0.1, 0.1, 100, "start = end"),
        make_case("edge-odd", EDGE, 3, 1.0, 0.0, 7, "a fraction that is not a round number: 3/7"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=15500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case("visible-start", VISIBLE, 0, 1.0, 0.05, 100),
        make_case("visible-middle", VISIBLE, 50, 1.0, 0.1, 100),
        make_case("visible-after", VISIBLE, 300, 1.0, 0.05, 100, "after the decay"),
    ]


SPEC = Spec(
    name="epsilon_by_step",
    params=PARAMS,
    outputs=(OUT,),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    hints={"wrong_values": "epsilon = end + (start - end) * max(0.0, 1.0 - step / decay_steps)."},
)
