"""greedy_epsilon_action(q_values, epsilon, generator) -> Tensor: epsilon-greedy actions for a batch.

q_values (B, A) float (it may require grad), epsilon in [0, 1], generator a torch.Generator.
Every row independently explores with probability epsilon: its action is then drawn uniformly
from ALL A actions (so it can be the greedy action by chance); otherwise it is the greedy action
argmax_a q_values[row, a]. All randomness comes from `generator` (never from torch's, numpy's or
Python's global random state). Returns int64 actions of shape (B,); q_values is left unchanged.

The draws are random, so the result is judged by statistics over B = 10,000 rows (the q-values
are continuous, so there are no ties). `unpack` records:
  action_range: [smallest, largest] action returned, in the returned dtype (int64 expected);
  non_greedy: the share of rows whose action is not the greedy one; right: epsilon * (A - 1) / A;
  shares: for each action k, the share of rows that chose k among the rows where k is not greedy;
    right: epsilon / A for every k (uniform exploration over all actions);
  rng: [generator used, global random state untouched]; right: [1, 1].
A statistic within 5 standard deviations of the right value is recorded as exactly that value;
otherwise as the nearest value of a typical mistake within 5 standard deviations (so that the
report can name the mistake), otherwise as measured. With epsilon = 0 the actions must be the
argmax exactly; with epsilon = 0 the generator need not be used.

"Global random state untouched" compares torch's, numpy's and Python's global random states
before and after the call. The runner calls the cases in order and then in reverse order, with
nothing in between, so the state recorded at the end of one call is the state at the start of
the next. The first call of a run has no such record: every case list starts with an epsilon = 0
case, where the random state is not judged at all.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, GeneratorSeed, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("q_values", "epsilon", "generator")
RANGE, NON_GREEDY, SHARES, RNG = "action_range", "non_greedy", "shares", "rng"
OUTPUTS = (RANGE, NON_GREEDY, SHARES, RNG)
ROWS = 10_000
SIGMAS = 5.0
F64 = torch.float64

# ---------------------------------------------------------------- expected statistics
# A "rule" is a way of choosing actions: the right one and typical mistakes. Each gives the
# expected non-greedy share and the expected per-action shares for a case's q-values.


def _greedy(q: Tensor) -> Tensor:
    return q.detach().to(F64).argmax(dim=1)


def _least(q: Tensor) -> Tensor:
    return q.detach().to(F64).argmin(dim=1)


def _explore_probs(rule: str, A: int) -> Tensor:
    """The distribution of an exploring draw over the actions 0 .. A (A = one past the last)."""
    p = torch.zeros(A + 1, dtype=F64)
    if rule == "randint_a_minus_1" and A > 1:  # torch.randint(A - 1, ...): never the last action
        p[: A - 1] = 1.0 / (A - 1)
    elif rule == "randint_1_a" and A > 1:  # torch.randint(1, A, ...): never action 0
        p[1:A] = 1.0 / (A - 1)
    elif rule == "randint_a_plus_1":  # torch.randint(A + 1, ...): sometimes the action A
        p[:] = 1.0 / (A + 1)
    else:
        p[:A] = 1.0 / A
    return p


def expected(q: Tensor, epsilon: float, rule: str = "right") -> dict[str, Tensor]:
    """Expected (non_greedy, shares) of a rule, in float64."""
    B, A = q.shape
    g = _greedy(q)
    eps = {"reversed": 1.0 - epsilon, "never": 0.0, "always": 1.0}.get(rule, epsilon)
    base = _least(q) if rule == "argmin" else g  # the action taken when not exploring
    onehot_base = torch.nn.functional.one_hot(base, A + 1).to(F64)  # (B, A + 1)
    if rule == "other_only":  # explores uniformly among the A - 1 non-greedy actions
        explore = torch.full((B, A + 1), 1.0 / max(A - 1, 1), dtype=F64)
        explore[torch.arange(B), g] = 0.0
        explore[:, A] = 0.0
        if A == 1:
            explore[:, 0] = 1.0
    else:
        explore = _explore_probs(rule, A).expand(B, A + 1)
    probs = (1.0 - eps) * onehot_base + eps * explore  # (B, A + 1): the chance of every action
    non_greedy = 1.0 - probs[torch.arange(B), g]
    shares = torch.zeros(A, dtype=F64)
    for k in range(A):
        rows = g != k
        shares[k] = probs[rows, k].mean() if bool(rows.any()) else 0.0
    return {NON_GREEDY: non_greedy.mean(), SHARES: shares}


MISTAKES = ("other_only", "reversed", "never", "always", "randint_a_minus_1", "randint_1_a", "argmin")
MISTAKES += ("randint_a_plus_1",)


def _z(observed: float, n: int, p: float) -> float:
    """How many standard deviations of a share over n rows `observed` is away from p."""
    sd = math.sqrt(max(p * (1.0 - p), 0.0) / max(n, 1))
    gap = abs(observed - p)
    if gap <= 1e-9:
        return 0.0
    return gap / sd if sd > 0 else math.inf


def _snap(observed: list[tuple[float, int]], right: list[float], wrong: list[list[float]]) -> list[float]:
    """The right statistics if every one is within SIGMAS standard deviations of them; else the
    statistics of the typical mistake that fits them all best, if it fits within SIGMAS; else, one
    by one, the right value where it fits and the measured value (4 decimals) where it does not."""

    def worst(values: list[float]) -> float:
        return max(_z(x, n, p) for (x, n), p in zip(observed, values, strict=True))

    if worst(right) <= SIGMAS:
        return right
    fits = [(worst(w), w) for w in wrong]
    fits = [(z, w) for z, w in fits if z <= SIGMAS]
    if fits:
        return min(fits, key=lambda item: item[0])[1]
    return [p if _z(x, n, p) <= SIGMAS else round(x, 4) for (x, n), p in zip(observed, right, strict=True)]


def _flat(stats: dict[str, Tensor]) -> list[float]:
    return [float(stats[NON_GREEDY]), *(float(v) for v in stats[SHARES])]


def reference(case: Case) -> dict[str, Tensor]:
    q, epsilon, _ = case.args
    g = _greedy(q)
    return {
        RANGE: torch.tensor([float(g.min()), float(g.max())], dtype=F64),
        **expected(q, epsilon),
        RNG: torch.ones(2, dtype=F64),
    }


def _rule(rule: str) -> Callable[[Case], dict[str, Tensor]]:
    def compute(case: Case) -> dict[str, Tensor]:
        q, epsilon, _ = case.args
        return expected(q, epsilon, rule)

    return compute


BUGS = (
    BugModel(
        "explores_other_actions",
        "matches exploration among the OTHER actions only: an exploring row draws uniformly from all A "
        "actions, torch.randint(A, (B,), generator=generator), which may give the greedy action too.",
        _rule("other_only"),
    ),
    BugModel(
        "reversed_epsilon",
        "matches exploring with probability 1 - epsilon: a row explores when its uniform number is BELOW "
        "epsilon, torch.rand(B, generator=generator) < epsilon.",
        _rule("reversed"),
        near_miss=False,
    ),
    BugModel(
        "never_explores",
        "shows no exploration at all: draw one uniform number per row, torch.rand(B, generator=generator), "
        "and explore where it is below epsilon (a single coin for the whole batch, or a comparison that is "
        "never true, gives this).",
        _rule("never"),
        near_miss=False,
    ),
    BugModel(
        "always_explores",
        "shows every row exploring: draw one uniform number per row and explore only where it is below "
        "epsilon (a single coin for the whole batch explores all rows at once).",
        _rule("always"),
        near_miss=False,
    ),
    BugModel(
        "off_by_one",
        "shows that the last action is never drawn when exploring: torch.randint(high, ...) excludes "
        "`high`, so use torch.randint(A, (B,), generator=generator) for the actions 0 .. A - 1.",
        _rule("randint_a_minus_1"),
    ),
    BugModel(
        "off_by_one",
        "shows that action 0 is never drawn when exploring: torch.randint(A, (B,), generator=generator) "
        "draws 0 .. A - 1; torch.randint(1, A, ...) leaves out 0.",
        _rule("randint_1_a"),
    ),
    BugModel(
        "argmin",
        "matches a greedy action that MINIMISES Q: the greedy action is q_values.argmax(dim=1), the action "
        "with the highest value.",
        _rule("argmin"),
        near_miss=False,
    ),
    BugModel(
        "out_of_range",
        "reaches the action A, which does not exist: exploring actions are 0 .. A - 1, "
        "torch.randint(A, (B,), generator=generator).",
        lambda c: {
            RANGE: torch.tensor([float(_greedy(c.args[0]).min()), c.args[0].shape[1]], dtype=F64),
            **_rule("randint_a_plus_1")(c),
        },
        near_miss=False,
    ),
    BugModel(
        "ignores_generator",
        "shows that `generator` was never used: draw every random number with it (torch.rand(..., "
        "generator=generator), torch.randint(..., generator=generator)), so that a seeded generator makes "
        "the actions reproducible.",
        lambda c: {RNG: torch.tensor([0.0, 1.0], dtype=F64)},
        near_miss=False,
    ),
    BugModel(
        "global_rng",
        "shows that the function draws from a global random state (torch.rand / torch.randint without "
        "generator=..., np.random, random.random) instead of `generator`: pass generator=generator to "
        "every torch random call.",
        lambda c: {RNG: torch.tensor([0.0, 0.0], dtype=F64)},
        near_miss=False,
    ),
    BugModel(
        "global_rng",
        "shows that part of the randomness comes from a global random state: pass generator=generator to "
        "EVERY random call (the coin and the random action).",
        lambda c: {RNG: torch.tensor([1.0, 0.0], dtype=F64)},
        near_miss=False,
    ),
)


# ---------------------------------------------------------------- observing the student's actions


@lru_cache(maxsize=1)
def _positions() -> dict[int, tuple[str, int, int]]:
    """Generator seed -> (case list, position in it, length of the list)."""
    found: dict[int, tuple[str, int, int]] = {}
    for name, cases in (("hidden", hidden()), ("visible", visible())):
        for i, case in enumerate(cases):
            found[case.args[2].seed] = (name, i, len(cases))
    return found


@lru_cache(maxsize=1)
def _cases() -> dict[int, Tensor]:
    """Generator seed -> the case's q_values."""
    return {case.args[2].seed: case.args[0] for case in hidden() + visible()}


def _global_states() -> tuple[Tensor, Any, Any]:
    return torch.random.get_rng_state(), np.random.get_state(), random.getstate()


def _same_states(one: tuple[Tensor, Any, Any], two: tuple[Tensor, Any, Any]) -> bool:
    t1, n1, p1 = one
    t2, n2, p2 = two
    numpy_same = n1[0] == n2[0] and np.array_equal(n1[1], n2[1]) and tuple(n1[2:]) == tuple(n2[2:])
    return bool(torch.equal(t1, t2)) and numpy_same and p1 == p2


_LAST: dict[str, Any] = {}  # the position of the previous call and the global states after it


def _global_untouched(seed: int) -> float:
    """1.0 if the global random states did not change since the end of the previous call of the
    same run (or there is no such call), else 0.0; then records the states for the next call."""
    where = _positions().get(seed)
    previous = _LAST.get("where")
    untouched = 1.0
    if where is not None and previous is not None and where[0] == previous[0]:
        _, i, n = where
        j = previous[1]
        consecutive = i in (j + 1, j - 1) or i == j == n - 1  # forward, reverse, or the turn
        if consecutive and not _same_states(_LAST["states"], _global_states()):
            untouched = 0.0
    _LAST["where"], _LAST["states"] = where, _global_states()
    return untouched


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    q, epsilon, generator = args
    seed = generator.initial_seed() if isinstance(generator, torch.Generator) else -1
    untouched = _global_untouched(seed)
    q = _cases().get(seed, q)  # the q-values as given (the student's code may have changed them)
    B, A = q.shape
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if not isinstance(returned, Tensor):
        raise ReturnError(f"returned {describe(returned)}, expected a tensor of {B} actions")
    if tuple(returned.shape) != (B,):
        raise ReturnError(
            f"returned a tensor of shape {tuple(returned.shape)}, expected ({B},): one action per row of "
            "q_values (argmax(dim=1), not keepdim)"
        )
    values = returned.detach().to("cpu")
    if values.dtype.is_floating_point or values.dtype.is_complex:
        acts = values.real.round().to(torch.int64) if values.dtype.is_complex else values.round().long()
    else:
        acts = values.to(torch.int64)
    g = _greedy(q)
    observed = [(float((acts != g).double().mean()), B)]
    for k in range(A):
        rows = g != k
        n = int(rows.sum())
        observed.append((float((acts[rows] == k).double().mean()) if n else 0.0, n))
    right = _flat(expected(q, epsilon))
    snapped = _snap(observed, right, [_flat(expected(q, epsilon, rule)) for rule in MISTAKES])
    used = 1.0
    if isinstance(generator, torch.Generator):
        fresh = torch.Generator().manual_seed(seed).get_state()
        used = 0.0 if torch.equal(generator.get_state(), fresh) else 1.0
    if epsilon == 0:  # no randomness needed: not judged (and the first case of every list, see above)
        used, untouched = 1.0, 1.0
    return {
        RANGE: torch.tensor([int(acts.min()), int(acts.max())]).to(values.dtype),
        NON_GREEDY: torch.tensor(snapped[0], dtype=F64),
        SHARES: torch.tensor(snapped[1:], dtype=F64),
        RNG: torch.tensor([used, untouched], dtype=F64),
    }


# ---------------------------------------------------------------- cases


def make_case(
    seed: int,
    id: str,
    kind: str,
    A: int,
    epsilon: float,
    B: int = ROWS,
    about: str = "",
    grad: bool = False,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    q = (rng.normal(B, A, std=2.0) + rng.choice([0.0, 5.0, -3.0])).to(dtype).requires_grad_(grad)
    text = about or f"B={B}, A={A}, epsilon={epsilon:g}"
    if grad and not about:
        text += ", q_values requires grad"
    return Case(id, kind, (q, epsilon, GeneratorSeed(seed)), text, {"A": A, "epsilon": epsilon})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(24000 + i)
        A = rng.integer(2, 6)
        epsilon = rng.choice([0.1, 0.2, 0.3, 0.5, 0.7, 0.9])
        cases.append(make_case(24050 + i, f"random-{i:02d}", RANDOM, A, epsilon))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        q, epsilon, seed = base.args
        value = 0.4 if abs(epsilon - 0.4) > 0.15 else 0.85
        args = replace_arg(base.args, PARAMS, "epsilon", value)
        return replace_arg(args, PARAMS, "generator", GeneratorSeed(seed.seed + 700))

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(24100, "edge-eps0", EDGE, 4, 0.0, about="epsilon = 0: exactly the greedy actions"),
        make_case(24101, "edge-eps1", EDGE, 3, 1.0, about="epsilon = 1: uniformly random actions"),
        make_case(24102, "edge-B1", EDGE, 5, 0.0, B=1, about="a single row, epsilon = 0"),
        make_case(24103, "edge-A1", EDGE, 1, 0.5, about="a single action: always action 0"),
        make_case(24104, "edge-grad", EDGE, 2, 0.3, grad=True),
        make_case(24105, "edge-float32", EDGE, 3, 0.2, about="float32 q_values", dtype=torch.float32),
        make_case(24106, "edge-atari", EDGE, 18, 0.5, about="18 actions (Atari), epsilon = 0.5"),
        make_case(24107, "edge-small-eps", EDGE, 2, 0.02, about="epsilon = 0.02"),
    ]


def hidden() -> list[Case]:
    """An epsilon = 0 case first: see `_global_untouched`."""
    randoms = random_cases()
    first, *edges = edge_cases()
    return [first, *randoms, *add_probes(randoms[:2], {"epsilon": _new("epsilon")}, seed=24500), *edges]


def visible() -> list[Case]:
    return [
        make_case(24200, "visible-greedy", VISIBLE, 3, 0.0, B=200, about="epsilon = 0 (B=200, A=3)"),
        make_case(24201, "visible-explore", VISIBLE, 4, 0.5),
    ]


SPEC = Spec(
    name="greedy_epsilon_action",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    bug_models=BUGS,
    dtypes={RANGE: torch.int64},
    probe_outputs=frozenset({NON_GREEDY, SHARES}),
    labels={
        RANGE: "the smallest and largest action returned",
        NON_GREEDY: "the share of rows whose action is not the greedy one (expected epsilon * (A - 1) / A)",
        SHARES: "the share of rows choosing action k among the rows where k is not greedy (expected "
        "epsilon / A for every k)",
        RNG: "[generator used, global random state untouched] (1: yes)",
    },
    hints={
        "wrong_values": "explore = torch.rand(B, generator=generator) < epsilon; random_actions = "
        "torch.randint(A, (B,), generator=generator); actions = torch.where(explore, random_actions, "
        "q_values.argmax(dim=1)).",
        "wrong_dtype": "Return int64 actions (argmax and torch.randint give int64; .long() converts).",
        "mutates_input": "Leave q_values unchanged: choose the actions without writing into it.",
    },
)
