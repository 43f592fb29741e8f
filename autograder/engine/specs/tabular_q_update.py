"""tabular_q_update(q_table, state, action, reward, next_state, done, alpha, gamma) -> float:
one Q-learning step on a table, in place.

q_table (S, A) float; state, action, next_state ints; reward, alpha, gamma floats; done a bool
(True: next_state is terminal, nothing is bootstrapped from it).
    target   = reward + gamma * (0 if done else max_a' q_table[next_state, a'])
    td_error = target - q_table[state, action]          (both read BEFORE the update)
    q_table[state, action] += alpha * td_error           (only this entry changes)
returns td_error as a Python float (a one-element tensor is accepted).

The outputs are the returned TD error and the table after the call, judged by its change
(after - before). Some cases have next_state == state, where the order of reading and
writing matters.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("q_table", "state", "action", "reward", "next_state", "done", "alpha", "gamma")
TD = "td_error"
TABLE = "q_table"
OUTPUTS = (TD, TABLE)


def step(
    case: Case,
    bootstrap: str = "max",
    done_rule: str = "right",
    returned: str = "before",
    update: str = "right",
) -> dict[str, Tensor]:
    """(td_error, table after) in float64; the keyword arguments describe typical slips."""
    q0, s, a, r, s2, done, alpha, gamma = case.args
    q = q0.detach().to(torch.float64).clone()
    terminal = {"right": bool(done), "ignored": False, "inverted": not bool(done)}[done_rule]
    row = q[s2]
    best = {"max": row.max(), "mean": row.mean(), "same_action": row[a], "min": row.min()}[bootstrap]
    target = r + (0.0 if terminal else gamma * float(best))
    td = target - float(q[s, a])
    if update == "right":
        q[s, a] += alpha * td
    elif update == "no_minus_q":  # q += alpha * target
        q[s, a] += alpha * target
    elif update == "whole_row":
        q[s] += alpha * td
    elif update == "assign_target":
        q[s, a] = target
    if returned == "after":  # the old target minus the updated entry: (1 - alpha) * td
        td = target - float(q[s, a])
    elif returned == "after_recomputed":  # target and entry both read from the updated table
        best_after = q[s2].max()
        td = r + (0.0 if terminal else gamma * float(best_after)) - float(q[s, a])
    return {TD: torch.tensor(td, dtype=torch.float64), TABLE: q}


def reference(case: Case) -> dict[str, Tensor]:
    return step(case)


def _view(case: Case, name: str, value: Tensor) -> Tensor:
    """The table is judged by its change."""
    if name == TABLE:
        before = case.args[0].detach().to(torch.float64)
        return value - before if value.shape == before.shape else value
    return value


BUGS = (
    BugModel(
        "terminal_bootstrap",
        "bootstraps from a terminal next state: when done is True the episode is over and the target is "
        "just the reward, target = reward + gamma * (0 if done else max(q_table[next_state])).",
        lambda c: step(c, done_rule="ignored"),
    ),
    BugModel(
        "terminal_bootstrap",
        "bootstraps exactly when it must not: done=True means next_state is terminal (no bootstrap), "
        "done=False means the episode goes on (bootstrap from max(q_table[next_state])).",
        lambda c: step(c, done_rule="inverted"),
    ),
    BugModel(
        "error_after_update",
        "is the TD error measured AFTER the update (it has already shrunk by the factor 1 - alpha): "
        "compute td_error = target - q_table[state, action] first, keep it, then update the table and "
        "return the value you kept.",
        lambda c: {TD: step(c, returned="after")[TD]},
    ),
    BugModel(
        "error_after_update",
        "is the TD error recomputed AFTER the update (target and q_table[state, action] read from the "
        "changed table): compute td_error once, before the update, and return that value.",
        lambda c: {TD: step(c, returned="after_recomputed")[TD]},
    ),
    BugModel(
        "not_max",
        "averages q_table[next_state] over the actions: Q-learning bootstraps from the BEST next action, "
        "q_table[next_state].max().",
        lambda c: step(c, bootstrap="mean"),
    ),
    BugModel(
        "not_max",
        "uses q_table[next_state, action] (the same action again, a SARSA-like target without the next "
        "action): Q-learning takes the maximum over the next state's actions, q_table[next_state].max().",
        lambda c: step(c, bootstrap="same_action"),
    ),
    BugModel(
        "not_max",
        "uses the minimum over q_table[next_state]: take the maximum, q_table[next_state].max().",
        lambda c: step(c, bootstrap="min"),
    ),
    BugModel(
        "update_form",
        "matches q_table[state, action] += alpha * target: the step is alpha times the TD error, "
        "alpha * (target - q_table[state, action]), which moves the entry a fraction alpha towards the "
        "target.",
        lambda c: {TABLE: step(c, update="no_minus_q")[TABLE]},
    ),
    BugModel(
        "update_form",
        "matches q_table[state, action] = target: the entry should move only a fraction alpha of the way, "
        "q_table[state, action] += alpha * td_error.",
        lambda c: {TABLE: step(c, update="assign_target")[TABLE]},
    ),
    BugModel(
        "wrong_entry",
        "changes the whole row q_table[state]: only the entry of the action taken, "
        "q_table[state, action], is updated.",
        lambda c: {TABLE: step(c, update="whole_row")[TABLE]},
    ),
    BugModel(
        "no_update",
        "is zero: the table was not changed in place. Write into it, q_table[state, action] += alpha * "
        "td_error; q_table = q_table.clone() or q = q_table + ... only changes a new tensor.",
        lambda c: {TABLE: step(c, update="none")[TABLE]},
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    q_table = args[0]
    if returned is None:
        raise ReturnError("returned None: did you forget to `return` the TD error?")
    if isinstance(returned, Tensor):
        if returned.numel() != 1:
            raise ReturnError(f"returned {describe(returned)}, expected one number (the TD error)")
        td = returned.detach().reshape(()).to("cpu")
        td = td if td.dtype.is_floating_point else td.to(torch.float64)
    elif isinstance(returned, bool | np.bool_) or not isinstance(returned, numbers.Real):
        raise ReturnError(f"returned {describe(returned)}, expected a float (the TD error)")
    elif isinstance(returned, np.floating):
        td = torch.from_numpy(np.asarray(returned))
    else:
        td = torch.tensor(float(returned), dtype=q_table.dtype if isinstance(q_table, Tensor) else None)
    if not isinstance(q_table, Tensor):
        raise ReturnError("left q_table as something that is not a tensor")
    return {TD: td, TABLE: q_table}


def make_case(
    seed: int,
    id: str,
    kind: str,
    S: int,
    A: int,
    about: str = "",
    done: bool = False,
    self_loop: bool = False,
    alpha: float | None = None,
    gamma: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    q = rng.normal(S, A, std=2.0) + rng.choice([0.0, 3.0, -2.0])
    s = rng.integer(0, S - 1)
    a = rng.integer(0, A - 1)
    s2 = s if self_loop else rng.choice([i for i in range(S) if i != s] or [s])
    if self_loop and A >= 2:  # the updated entry is the best of its row: the order of reading matters
        q[s, a] = q[s].max() + 1.0
    r = float(rng.choice([1.0, -1.0, 0.5, 2.0, float(rng.normal(1)[0])]))
    alpha = alpha if alpha is not None else float(rng.choice([0.1, 0.2, 0.5, 0.05]))
    gamma = gamma if gamma is not None else float(rng.choice([0.9, 0.99, 0.95, 0.8]))
    args = (q.to(dtype), s, a, r, s2, done, alpha, gamma)
    text = about or f"S={S}, A={A}, state={s}, action={a}, next_state={s2}, done={done}"
    return Case(id, kind, args, text, {"S": S, "A": A, "alpha": alpha, "gamma": gamma})


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        sizes = Rng(22000 + i).distinct_sizes("SA", 2, 9)
        cases.append(
            make_case(
                22050 + i,
                f"random-{i:02d}",
                RANDOM,
                sizes["S"],
                sizes["A"],
                done=i % 4 == 3,
                self_loop=i == 5,
            )
        )
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        q, s, a, r, s2, done, alpha, gamma = base.args
        S, A = q.shape
        value: Any = {
            "q_table": rng.normal(S, A, std=2.0) - 1.0,
            "state": (s + 1) % S if (s + 1) % S != s2 else (s + 2) % S,
            "action": (a + 1) % A,
            "reward": r + 1.75,
            "next_state": (s2 + 1) % S if (s2 + 1) % S != s else (s2 + 2) % S,
            "done": not done,
            "alpha": 0.3 if alpha != 0.3 else 0.4,
            "gamma": 0.5 if gamma != 0.5 else 0.6,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(22100, "edge-terminal", EDGE, 5, 3, "done=True: the target is the reward", done=True),
        make_case(22101, "edge-self-loop", EDGE, 4, 3, "next_state == state", self_loop=True),
        make_case(
            22102,
            "edge-self-loop-done",
            EDGE,
            4,
            2,
            "next_state == state, done=True",
            done=True,
            self_loop=True,
        ),
        make_case(22103, "edge-alpha1", EDGE, 6, 2, "alpha = 1: the entry becomes the target", alpha=1.0),
        make_case(22104, "edge-gamma0", EDGE, 5, 4, "gamma = 0: the target is the reward", gamma=0.0),
        make_case(22105, "edge-float32", EDGE, 7, 3, "a float32 table", dtype=torch.float32),
        make_case(22106, "edge-A1", EDGE, 5, 1, "a single action"),
        make_case(22107, "edge-S1", EDGE, 1, 3, "a single state (next_state == state)", self_loop=True),
        make_case(22108, "edge-large", EDGE, 500, 2, "a table of 500 states (a discretised CartPole)"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=22500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(22200, "visible-1", VISIBLE, 4, 2),
        make_case(22201, "visible-terminal", VISIBLE, 3, 3, "done=True", done=True),
    ]


SPEC = Spec(
    name="tabular_q_update",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    mutable=frozenset({"q_table"}),
    view=_view,
    probe_outputs=frozenset({TD}),
    dtypes={TABLE: "same:q_table"},
    labels={TD: "the returned TD error", TABLE: "the change of q_table"},
    hints={
        "wrong_values": "target = reward + gamma * (0 if done else q_table[next_state].max()); "
        "td_error = target - q_table[state, action]; q_table[state, action] += alpha * td_error; "
        "return td_error.",
        "opposite_sign": "The TD error is target - q_table[state, action] (how much the target exceeds the "
        "current estimate), not the other way round.",
        "scaled": "The TD error is target - q_table[state, action] read before the update; the table "
        "entry moves by alpha * td_error.",
        "wrong_dtype": "Update q_table in place: its dtype stays the same.",
    },
)
