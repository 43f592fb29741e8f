"""perceptron_epoch(w, b, X, y) -> (w, b): one pass of the perceptron learning rule.

w (D,), b 0-d, X (N, D), y (N,) in {-1, +1}. For n = 0, ..., N-1 in order: if
y[n] * (X[n] @ w + b) <= 0 (a mistake; a point on the boundary counts as one), then
w <- w + y[n] X[n] and b <- b + y[n]. The new (w, b) keep the shapes and dtypes of w and b;
the arguments are left unchanged.

Cases with integer-valued inputs make every score exact, so a score of exactly 0 (the
boundary rule) is tested in float32 and float64 alike; random cases use normal entries.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg, seeded_cases

PARAMS = ("w", "b", "X", "y")
OUTPUTS = ("w", "b")


def run(
    case: Case,
    strict: bool = False,
    sign: float = 1.0,
    bias: bool = True,
    always: bool = False,
) -> dict[str, Tensor]:
    """The epoch in float64; the switches describe typical slips."""
    w, b, X, y = as64(case.args)
    w, b = w.clone(), b.clone()
    for n in range(X.shape[0]):
        score = float(y[n] * (X[n] @ w + b))
        mistake = score < 0 if strict else score <= 0
        if mistake or always:
            w = w + sign * y[n] * X[n]
            if bias:
                b = b + sign * y[n]
    return {"w": w, "b": b}


def batch(case: Case) -> dict[str, Tensor]:
    """Every mistake judged with the weights from the start of the pass, all added at once."""
    w, b, X, y = as64(case.args)
    wrong = (y * (X @ w + b) <= 0).to(torch.float64)
    return {"w": w + (wrong * y) @ X, "b": b + (wrong * y).sum()}


def reference(case: Case) -> dict[str, Tensor]:
    return run(case)


BUGS = (
    BugModel(
        "batch_update",
        "matches an update with all mistakes of the pass at once, judged with the weights from the start. "
        "The perceptron goes through the examples one by one: after each update, the next example is "
        "judged with the new w and b.",
        batch,
    ),
    BugModel(
        "boundary_not_mistake",
        "treats a point exactly on the boundary (y * (w . x + b) = 0) as correct. It counts as a mistake "
        "(use <= 0): with w = 0 and b = 0 at the start, nothing would ever be learned otherwise.",
        lambda c: run(c, strict=True),
    ),
    BugModel(
        "updates_every_example",
        "matches an update on every example, also the correctly classified ones: update only when "
        "y[n] * (X[n] @ w + b) <= 0.",
        lambda c: run(c, always=True),
    ),
    BugModel(
        "update_sign",
        "moves the boundary the wrong way: on a mistake, w <- w + y[n] * X[n] and b <- b + y[n] (the "
        "update pulls the score of the example towards its label).",
        lambda c: run(c, sign=-1.0),
    ),
    BugModel(
        "bias_not_updated",
        "never changes: on a mistake the bias moves too, b <- b + y[n].",
        lambda c: {"b": as64(c.args[1])},
    ),
)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    N: int,
    D: int,
    about: str = "",
    integer: bool = False,
    zero_start: bool = False,
    dtype: torch.dtype = torch.float64,
) -> Case:
    """A linear teacher with 20% of the labels flipped, so that some examples are mistakes."""
    if integer:
        X = torch.round(rng.uniform(N, D, low=-3.5, high=3.5))
        w = torch.round(rng.uniform(D, low=-2.5, high=2.5))
        b = torch.round(rng.uniform(low=-1.5, high=1.5))
    else:
        X = rng.normal(N, D)
        w = rng.normal(D, std=0.5)
        b = rng.normal(std=0.5)
    if zero_start:
        w, b = torch.zeros_like(w), torch.zeros_like(b)
    teacher = rng.normal(D)
    y = torch.where(X @ teacher + 0.1 >= 0, 1.0, -1.0).to(torch.float64)
    y = torch.where(rng.bernoulli(N, p=0.2) > 0, -y, y)
    args = tuple(a.to(dtype) for a in (w, b, X, y))
    return Case(id, kind, args, about or f"N={N}, D={D}", {"N": N, "D": D})


def random_cases() -> list[Case]:
    return seeded_cases(11000, lambda rng, id: make_case(rng, id, RANDOM, **rng.distinct_sizes("ND", 2, 15)))


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        old = base.args[PARAMS.index(name)]
        new = -old if name == "y" else old + rng.normal(*old.shape, std=2.0)
        return replace_arg(base.args, PARAMS, name, new)

    return make


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, D: int, **kw: object) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, D, about, **kw)  # type: ignore[arg-type]

    all_right = make(11105, "no-mistake", "every example already right: nothing changes", 6, 3)
    w, b, X, _ = all_right.args
    all_right = replace(all_right, args=(w, b, X, torch.where(X @ w + b > 0, 1.0, -1.0).to(w.dtype)))
    return [
        make(11100, "zero-start", "w = 0 and b = 0: the first score is exactly 0", 8, 3, zero_start=True),
        make(11101, "integers", "integer inputs: some scores are exactly 0", 12, 4, integer=True),
        make(11102, "N1", "a single example (N=1)", 1, 5),
        make(11103, "D1", "one feature (D=1)", 9, 1, integer=True),
        make(
            11104,
            "float32",
            "float32 integer inputs, w = 0 at the start",
            10,
            3,
            integer=True,
            zero_start=True,
            dtype=torch.float32,
        ),
        all_right,
        make(11106, "long", "a longer pass, N=60, D=7", 60, 7),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _fresh(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=11500) + edge_cases()


def visible() -> list[Case]:
    x_and = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y_and = torch.tensor([-1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
    zero_w, zero_b = torch.zeros(2, dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    return [
        Case("visible-1", VISIBLE, (zero_w, zero_b, x_and, y_and), "logical AND from w = 0, b = 0", {"N": 4}),
        make_case(Rng(11200), "visible-2", VISIBLE, 6, 3, integer=True),
        make_case(Rng(11201), "visible-3", VISIBLE, 5, 2, dtype=torch.float32),
    ]


SPEC = Spec(
    name="perceptron_epoch",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_tuple(*OUTPUTS),
    dtypes={"w": "same:w", "b": "same:b"},
    bug_models=BUGS,
    labels={"w": "the new weight vector w", "b": "the new bias b"},
    hints={
        "wrong_shape": "Return w with the shape (D,) of the w you were given, and b as a 0-d tensor like b.",
        "wrong_dtype": "Keep the dtypes of w and b (build new values from them: w + y[n] * X[n]).",
        "mutates_input": "Work on copies (w = w.clone()) or build new tensors (w = w + ...); `w += ...` "
        "changes the caller's tensor.",
        "wrong_values": "Go through the examples in order; on a mistake (y[n] * (X[n] @ w + b) <= 0) add "
        "y[n] * X[n] to w and y[n] to b.",
    },
)
