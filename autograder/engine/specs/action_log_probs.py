"""action_log_probs(logits, actions) -> Tensor: log pi(a_n | s_n) of a categorical policy head.

logits (N, A) from a policy network, actions (N,) int64 in 0..A-1. Returns the (N,) tensor
log softmax(logits[n])[actions[n]], finite for logits of any size (e.g. +-1000).
"""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg

PARAMS = ("logits", "actions")


def _args(case: Case) -> tuple[Tensor, Tensor]:
    logits, actions = case.args
    return as64(logits), actions.long()


def pick(values: Tensor, actions: Tensor) -> Tensor:
    return values.gather(1, actions[:, None]).squeeze(1)


def reference(case: Case) -> dict[str, Tensor]:
    logits, actions = _args(case)
    return {"log_probs": pick(torch.log_softmax(logits, dim=1), actions)}


def _log_softmax_dim0(case: Case) -> dict[str, Tensor]:
    logits, actions = _args(case)
    return {"log_probs": pick(torch.log_softmax(logits, dim=0), actions)}


def _probabilities(case: Case) -> dict[str, Tensor]:
    logits, actions = _args(case)
    return {"log_probs": pick(torch.softmax(logits, dim=1), actions)}


def _raw_logits(case: Case) -> dict[str, Tensor]:
    logits, actions = _args(case)
    return {"log_probs": pick(logits, actions)}


BUGS = (
    BugModel(
        "softmax_over_batch",
        "normalises over the batch (dim 0): the softmax of a policy runs over the actions of each state, "
        "dim=1 (or dim=-1).",
        _log_softmax_dim0,
    ),
    BugModel(
        "missing_log",
        "is the probability pi(a | s), not its logarithm: take the log (better: use log_softmax).",
        _probabilities,
    ),
    BugModel(
        "missing_softmax",
        "is the raw logit of the action: subtract the log-sum-exp over the actions (log_softmax).",
        _raw_logits,
    ),
)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    N: int,
    A: int,
    about: str = "",
    scale: float = 2.0,
    dtype: torch.dtype = torch.float64,
) -> Case:
    logits = rng.normal(N, A, std=scale).to(dtype)
    actions = torch.from_numpy(rng.np.integers(0, A, size=N)).to(torch.int64)
    return Case(id, kind, (logits, actions), about or f"N={N}, A={A}", {"N": N, "A": A})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(18000 + i)
        sizes = rng.distinct_sizes("NA", 2, 12)
        cases.append(make_case(rng, f"random-{i:02d}", RANDOM, sizes["N"], sizes["A"]))
    return cases


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        logits, actions = base.args
        if name == "actions":
            new = (actions + 1) % logits.shape[1]
        else:
            new = rng.normal(*logits.shape, std=2.0).to(logits.dtype)
        return replace_arg(base.args, PARAMS, name, new)

    return make


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, A: int, **kw: object) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, A, about, **kw)  # type: ignore[arg-type]

    return [
        make(18100, "huge-logits", "logits of size ~1000: exp overflows", 6, 4, scale=1000.0),
        make(18101, "N1", "a single state (N=1)", 1, 5),
        make(18102, "A2", "two actions (CartPole), N=9", 9, 2),
        make(18103, "float32", "float32 logits", 8, 3, dtype=torch.float32),
        make(18104, "float32-huge", "float32 logits of size ~100", 5, 6, scale=100.0, dtype=torch.float32),
        make(18105, "atari", "18 actions (Atari), N=32", 32, 18),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {p: _fresh(p) for p in PARAMS}, seed=18500) + edge_cases()


def visible() -> list[Case]:
    f64 = torch.float64
    hand = (torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 2.0]], dtype=f64), torch.tensor([0, 0, 1]))
    return [
        Case("visible-1", VISIBLE, hand, "three states, two actions", {"N": 3, "A": 2}),
        make_case(Rng(18200), "visible-2", VISIBLE, 5, 4),
        make_case(Rng(18201), "visible-3", VISIBLE, 4, 3, dtype=torch.float32),
    ]


SPEC = Spec(
    name="action_log_probs",
    params=PARAMS,
    outputs=("log_probs",),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single("log_probs"),
    dtypes={"log_probs": "same:logits"},
    loose_shape=frozenset(),
    bug_models=BUGS,
    labels={"log_probs": "log pi(a | s)"},
    hints={
        "wrong_shape": "Return one number per state, shape (N,): pick the entry of the chosen action in "
        "every row, e.g. log_probs.gather(1, actions[:, None]).squeeze(1).",
        "not_finite": "torch.log(torch.softmax(...)) underflows to log(0) = -inf for large logits; "
        "torch.log_softmax computes the same thing stably.",
        "wrong_dtype": "Keep the dtype of the logits.",
        "wrong_values": "log pi(a | s) = logits[n, a] - logsumexp over the actions of logits[n]; "
        "torch.log_softmax(logits, dim=1) then pick the column actions[n] of row n.",
    },
)
