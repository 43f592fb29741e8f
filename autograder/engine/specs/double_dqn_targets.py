"""double_dqn_targets(rewards, next_q_online, next_q_target, dones, gamma) -> y, the Double DQN targets.

rewards (B,), next_q_online (B, A) = Q_online(s', .), next_q_target (B, A) = Q_target(s', .),
dones (B,) float with 1.0 where the episode ended at s', gamma a float.
y = rewards + gamma * (1 - dones) * next_q_target[i, argmax_a next_q_online[i, a]], shape (B,):
the online network selects the next action, the target network evaluates it.

The target is a constant for the loss: y must not require grad (nor carry a grad_fn), also when
next_q_online or next_q_target do. `unpack` records that as the output `graph` (1: it does).

The cases are drawn so that the online and the target network disagree about the best action in
most rows, and so that no row has ties; the plain DQN target (max of the target values), the
max of the online values and the swapped roles then all differ from the reference.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("rewards", "next_q_online", "next_q_target", "dones", "gamma")
OUT = "y"
GRAPH = "graph"


def targets(case: Case, select: str = "online", evaluate: str = "target", done_rule: str = "right") -> Tensor:
    """The targets in float64; `select`/`evaluate` name the network that chooses / scores the
    next action ('online', 'target'; select 'online_dim0' is an argmax over the batch axis)."""
    r, q_on, q_tg, d, gamma = as64(case.args)
    nets = {"online": q_on, "target": q_tg}
    if select == "online_dim0":  # argmax over the batch for each action; index j picks action of column j
        best = q_on.argmax(dim=0)  # (A,), only meaningful as row indices when B == A
        value = nets[evaluate][torch.arange(len(r)), best]
    else:
        best = nets[select].argmax(dim=1, keepdim=True)
        value = nets[evaluate].gather(1, best).squeeze(1)
    mask = {"right": 1.0 - d, "none": torch.ones_like(d), "inverted": d}[done_rule]
    return r + gamma * mask * value


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: targets(case), GRAPH: torch.tensor(0.0, dtype=torch.float64)}


def _only(value: Tensor) -> dict[str, Tensor]:
    return {OUT: value}


def _square_only(case: Case) -> dict[str, Tensor]:
    """argmax over the batch axis only gives usable row indices when B == A."""
    q_on = case.args[1]
    return _only(targets(case, select="online_dim0")) if q_on.shape[0] == q_on.shape[1] else {}


BUGS = (
    BugModel(
        "plain_dqn_target",
        "is the plain DQN target max_a Q_target(s', a): the target network both selects and evaluates the "
        "action, which is exactly the overestimating target Double DQN replaces. Select the action with the "
        "ONLINE values, best = next_q_online.argmax(dim=1), and evaluate it with the target values, "
        "next_q_target.gather(1, best.unsqueeze(1)).squeeze(1).",
        lambda c: _only(targets(c, select="target", evaluate="target")),
    ),
    BugModel(
        "evaluates_with_online",
        "evaluates the chosen action with the online values (max_a Q_online(s', a)): then one network both "
        "selects and evaluates, and the bias is back. Score the online network's choice with next_q_target.",
        lambda c: _only(targets(c, select="online", evaluate="online")),
    ),
    BugModel(
        "evaluates_with_online",
        "has the roles swapped: the target network selects (argmax of next_q_target) and the online network "
        "evaluates. Double DQN selects with next_q_online and evaluates with next_q_target.",
        lambda c: _only(targets(c, select="target", evaluate="online")),
    ),
    BugModel(
        "no_terminal_mask",
        "bootstraps from terminal transitions: where dones is 1 the episode is over and the target is just "
        "the reward. Multiply the bootstrap term by (1 - dones).",
        lambda c: _only(targets(c, done_rule="none")),
    ),
    BugModel(
        "no_terminal_mask",
        "multiplies the bootstrap term by dones instead of (1 - dones): terminal transitions bootstrap, and "
        "the others do not.",
        lambda c: _only(targets(c, done_rule="inverted")),
    ),
    BugModel(
        "argmax_wrong_dim",
        "takes the argmax over dim=0 (over the batch, for each action) instead of over the actions of each "
        "next state: best = next_q_online.argmax(dim=1), one action index per row.",
        _square_only,
    ),
    BugModel(
        "gradient_into_target",
        "is 1: your targets require grad (they carry a graph back into next_q_online or next_q_target), "
        "so the "
        "loss would also push the networks through the target. Compute the target under torch.no_grad() or "
        "call .detach() on it.",
        lambda c: {GRAPH: torch.tensor(1.0, dtype=torch.float64)},
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


def _q_pair(rng: Rng, B: int, A: int) -> tuple[Tensor, Tensor]:
    """Online and target values with distinct entries per row, whose best actions differ in most
    rows (row 0 always), and where the target's value of the online choice is not its max."""
    q_on = rng.normal(B, A, std=3.0) + 5.0
    q_tg = q_on + rng.normal(B, A, std=2.0)
    if A >= 2:
        for i in range(B):
            if i == 0 or rng.np.random() < 0.7:
                a_on = int(q_on[i].argmax())
                others = [a for a in range(A) if a != a_on]
                a_tg = others[int(rng.np.integers(0, len(others)))]
                q_tg[i, a_tg] = q_tg[i].max() + 0.5 + float(rng.np.random())
    return q_on, q_tg


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
    q_on, q_tg = _q_pair(rng, B, A)
    dones = rng.bernoulli(B, p=p_done)
    if 0.0 < p_done < 1.0 and B >= 3:  # at least one of each
        dones[0], dones[1] = 0.0, 1.0
    q_on = q_on.to(dtype).requires_grad_(grad)
    q_tg = q_tg.to(dtype).requires_grad_(grad)
    args = (rewards.to(dtype), q_on, q_tg, dones.to(dtype), gamma)
    text = about or f"B={B}, A={A}, gamma={gamma:g}"
    if grad and not about:
        text += ", next_q_online and next_q_target require grad"
    return Case(id, kind, args, text, {"B": B, "A": A, "gamma": gamma})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(31000 + i)
        sizes = rng.distinct_sizes("BA", 2, 12)
        gamma = rng.choice([0.9, 0.95, 0.99, 0.5])
        cases.append(make_case(31050 + i, f"random-{i:02d}", RANDOM, sizes["B"], sizes["A"], gamma))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        r, q_on, q_tg, d, gamma = base.args
        value: Any = {
            "rewards": rng.normal(*r.shape) + 2.0,
            "next_q_online": rng.normal(*q_on.shape, std=3.0) - 1.0,
            "next_q_target": rng.normal(*q_tg.shape, std=3.0) - 4.0,
            "dones": 1.0 - d,
            "gamma": 0.6 if gamma != 0.6 else 0.7,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(31100, "edge-all-done", EDGE, 6, 3, 0.99, "every transition terminal", p_done=1.0),
        make_case(31101, "edge-none-done", EDGE, 6, 3, 0.99, "no terminal transition", p_done=0.0),
        make_case(31102, "edge-gamma0", EDGE, 5, 4, 0.0, "gamma = 0: y = r"),
        make_case(31103, "edge-gamma1", EDGE, 5, 4, 1.0, "gamma = 1"),
        make_case(31104, "edge-B1", EDGE, 1, 3, 0.9, "a batch of one transition"),
        make_case(31105, "edge-A1", EDGE, 7, 1, 0.9, "a single action"),
        make_case(31106, "edge-square-1", EDGE, 4, 4, 0.9, "B = A = 4"),
        make_case(31107, "edge-square-2", EDGE, 6, 6, 0.99, "B = A = 6"),
        make_case(31108, "edge-float32", EDGE, 8, 2, 0.99, "float32 tensors", dtype=torch.float32),
        make_case(31109, "edge-grad-1", EDGE, 8, 3, 0.99, grad=True),
        make_case(31110, "edge-grad-2", EDGE, 5, 5, 0.9, "B = A = 5, inputs require grad", grad=True),
        make_case(
            31111,
            "edge-grad-3",
            EDGE,
            12,
            4,
            0.95,
            "float32, inputs require grad",
            grad=True,
            dtype=torch.float32,
        ),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _new(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=31500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(31200, "visible-1", VISIBLE, 4, 3, 0.9),
        make_case(31201, "visible-2", VISIBLE, 3, 3, 0.99, "B = A = 3, inputs require grad", grad=True),
    ]


SPEC = Spec(
    name="double_dqn_targets",
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
        "wrong_values": "best = next_q_online.argmax(dim=1); y = rewards + gamma * (1 - dones) * "
        "next_q_target.gather(1, best.unsqueeze(1)).squeeze(1).",
        "wrong_shape": "One target per transition: shape (B,). Pick one entry per row of next_q_target and "
        "squeeze the (B, 1) column that gather returns.",
        "scaled": "y = rewards + gamma * (1 - dones) * Q_target(s', argmax_a Q_online(s', a)): only the "
        "bootstrap term is multiplied by gamma.",
    },
)
