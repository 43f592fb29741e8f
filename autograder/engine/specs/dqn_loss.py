"""dqn_loss(q_online, actions, targets) -> the mean squared TD error, a 0-d tensor.

q_online (B, A): the online network's Q(s, .) (requires grad: the loss is backpropagated),
actions (B,) int64: the actions taken, targets (B,): the TD targets y (constants).
L = mean_i (q_online[i, actions[i]] - targets[i])**2.

`unpack` records the loss and its gradient with respect to q_online (autograd of the
returned loss; zeros when the loss is not attached to q_online, with `graph` = 0). The
reference gradient is autograd of the float64 loss: 2 (Q(s_i, a_i) - y_i) / B in column a_i.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, gradients, replace_arg

PARAMS = ("q_online", "actions", "targets")
LOSS = "loss"
GRAD = "dloss/dq_online"
GRAPH = "graph"
OUTPUTS = (LOSS, GRAD, GRAPH)


def _chosen(q: Tensor, a: Tensor, rule: str) -> Tensor:
    if rule == "max":
        return q.max(dim=1).values
    if rule == "broadcast":  # (B, 1) - (B,) -> (B, B)
        return q.gather(1, a[:, None])
    if rule == "index_rows":  # q[actions] picks rows, not entries
        return q[a]
    return q.gather(1, a[:, None]).squeeze(1)


def loss_fn(case: Case, rule: str = "right", power: int = 2, reduce: str = "mean", half: bool = False):
    """A function q -> loss in float64 (the targets and actions fixed by the case)."""
    _, a, y = case.args
    a = a.to(torch.int64)
    y = y.detach().to(torch.float64)

    def loss(q: Tensor) -> Tensor:
        diff = _chosen(q, a, rule) - (y if rule != "index_rows" else y[:, None])
        err = diff**2 if power == 2 else diff.abs() if power == 1 else diff
        value = err.mean() if reduce == "mean" else err.sum()
        return 0.5 * value if half else value

    return loss


def values(case: Case, **kw: Any) -> dict[str, Tensor]:
    q = case.args[0].detach().to(torch.float64)
    f = loss_fn(case, **kw)
    with torch.no_grad():
        loss = f(q)
    (grad,) = gradients(f, q)
    return {LOSS: loss, GRAD: grad}


def reference(case: Case) -> dict[str, Tensor]:
    return {**values(case), GRAPH: torch.tensor(1.0, dtype=torch.float64)}


BUGS = (
    BugModel(
        "broadcast",
        "matches (Q(s, a) - y) computed between a (B, 1) column and a (B,) vector: broadcasting makes a "
        "(B, B) matrix of every pair. Squeeze the gathered values to shape (B,) first: "
        "q_online.gather(1, actions.unsqueeze(1)).squeeze(1).",
        lambda c: values(c, rule="broadcast"),
    ),
    BugModel(
        "not_taken_action",
        "uses max_a Q(s, a) instead of the Q-value of the action that was taken: pick "
        "q_online.gather(1, actions.unsqueeze(1)).squeeze(1), one entry per row.",
        lambda c: values(c, rule="max"),
    ),
    BugModel(
        "not_taken_action",
        "matches q_online[actions], which picks whole rows: pick one entry per row, "
        "q_online[torch.arange(B), actions] or q_online.gather(1, actions.unsqueeze(1)).squeeze(1).",
        lambda c: values(c, rule="index_rows") if int(c.args[1].max()) < c.args[0].shape[0] else {},
    ),
    BugModel(
        "loss_form",
        "is the mean absolute error: the DQN loss of this lesson is the mean of the squared TD errors.",
        lambda c: values(c, power=1),
    ),
    BugModel(
        "loss_form",
        "is the mean TD error, not squared: square it, or the loss is unbounded below and minimising it "
        "drives Q down forever.",
        lambda c: values(c, power=0),
    ),
    BugModel(
        "detached",
        "is 0: the loss is not attached to q_online (a .item(), .detach(), torch.tensor(...) or "
        "torch.no_grad() in the way), so loss.backward() cannot train the network.",
        lambda c: {GRAPH: torch.tensor(0.0, dtype=torch.float64)},
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if not isinstance(returned, Tensor):
        raise ReturnError(
            f"returned {describe(returned)}, expected a 0-dimensional tensor (.item() turns the loss into a "
            "number that cannot be backpropagated)"
        )
    q = args[0]
    grad = torch.zeros_like(q)
    attached = returned.requires_grad and returned.grad_fn is not None
    if attached:
        if returned.numel() != 1:
            raise ReturnError(f"returned {describe(returned)}, expected a single number (a 0-d tensor)")
        with torch.enable_grad():
            (g,) = torch.autograd.grad(returned.sum(), q, allow_unused=True)
        if g is not None:
            grad = g
        else:
            attached = False
    return {
        LOSS: returned.detach(),
        GRAD: grad,
        GRAPH: torch.tensor(1.0 if attached else 0.0, dtype=torch.float64),
    }


def make_case(
    seed: int, id: str, kind: str, B: int, A: int, about: str = "", dtype: torch.dtype = torch.float64
) -> Case:
    rng = Rng(seed)
    q = (rng.normal(B, A, std=2.0) + 3.0).to(dtype).requires_grad_(True)
    actions = torch.from_numpy(rng.np.integers(0, A, size=B)).to(torch.int64)
    if A >= 2 and B >= 2:
        actions[0], actions[1] = 0, A - 1  # so the max rule and the taken action differ
    y = (rng.normal(B, std=2.0) + 3.0).to(dtype)
    return Case(id, kind, (q, actions, y), about or f"B={B}, A={A}", {"B": B, "A": A})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        sizes = Rng(12000 + i).distinct_sizes("BA", 2, 12)
        cases.append(make_case(12050 + i, f"random-{i:02d}", RANDOM, sizes["B"], sizes["A"]))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        q, a, y = base.args
        A = q.shape[1]
        value: Any = {
            "q_online": (rng.normal(*q.shape, std=2.0) - 1.0).requires_grad_(True),
            "actions": (a + 1) % A,
            "targets": rng.normal(*y.shape, std=2.0) - 2.0,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(12100, "edge-B1", EDGE, 1, 3, "a batch of one transition"),
        make_case(12101, "edge-A1", EDGE, 6, 1, "a single action"),
        make_case(12102, "edge-float32", EDGE, 8, 2, "float32 tensors", dtype=torch.float32),
        make_case(12103, "edge-large", EDGE, 128, 4, "a batch of 128, A=4"),
        make_case(12104, "edge-square", EDGE, 4, 4, "B = A = 4"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=12500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(12200, "visible-1", VISIBLE, 3, 2),
        make_case(12201, "visible-2", VISIBLE, 5, 3),
    ]


SPEC = Spec(
    name="dqn_loss",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    loose_shape=frozenset({LOSS}),
    probe_outputs=frozenset({LOSS, GRAD}),
    labels={
        LOSS: "the loss",
        GRAD: "the gradient of your loss with respect to q_online",
        GRAPH: "whether the loss is attached to q_online (1: yes)",
    },
    hints={
        "wrong_values": "L = mean over the batch of (q_online[i, actions[i]] - targets[i])**2.",
        "scaled": "Take the mean over the batch (not the sum), of the squared error without a factor 1/2.",
        "opposite_sign": "The TD error is Q(s, a) - y, and the loss is its square: a gradient of the "
        "opposite sign comes from a loss that is maximised, not minimised.",
        "wrong_shape": "Return a single number: a 0-dimensional tensor (the mean over the batch).",
    },
)
