"""backprop_by_hand(x, y, W1, W2) -> (dW1, dW2): gradients of a two-layer net, by hand.

x (N, D), y (N,) in {0, 1}, W1 (D, H), W2 (1, H); z1 = x @ W1, h = relu(z1),
z2 = h @ W2.T (N, 1), p = sigmoid(z2).squeeze(-1), L = mean binary cross-entropy.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.common import ProbeMaker, add_probes, gradients, replace_arg

PARAMS = ("x", "y", "W1", "W2")


def loss(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> Tensor:
    """The forward computation of the docstring; BCE on logits is the same loss, computed stably."""
    z2 = (torch.relu(x @ W1) @ W2.T).squeeze(-1)
    return F.binary_cross_entropy_with_logits(z2, y)


def reference(case: Case) -> dict[str, Tensor]:
    x, y, W1, W2 = as64(case.args)
    dW1, dW2 = gradients(lambda a, b: loss(x, y, a, b), W1, W2)
    return {"dW1": dW1, "dW2": dW2}


def by_hand(case: Case, relu_mask: bool = True, sigmoid_again: bool = False) -> dict[str, Tensor]:
    """The chain rule written out, with switches for two typical slips."""
    x, y, W1, W2 = as64(case.args)
    z1 = x @ W1
    h = torch.relu(z1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]  # (N,)
    if sigmoid_again:
        dz2 = dz2 * p * (1 - p)
    dh = dz2[:, None] * W2  # (N, H)
    dz1 = dh * (z1 > 0) if relu_mask else dh
    return {"dW1": x.T @ dz1, "dW2": dz2[None, :] @ h}


BUGS = (
    BugModel(
        "missing_relu_mask",
        "is right where the hidden unit is active but not zero where the ReLU is inactive (z1 <= 0): "
        "the gradient must pass through the ReLU derivative (1 where z1 > 0, else 0).",
        lambda c: {"dW1": by_hand(c, relu_mask=False)["dW1"]},
    ),
    BugModel(
        "extra_sigmoid_derivative",
        "is multiplied by the sigmoid derivative p(1 - p) once too often: for the cross-entropy of a "
        "sigmoid output, dL/dz2 is already (p - y) / N.",
        lambda c: by_hand(c, sigmoid_again=True),
    ),
)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    about: str,
    N: int,
    D: int,
    H: int,
    dtype: torch.dtype = torch.float64,
) -> Case:
    x = rng.normal(N, D)
    y = rng.bernoulli(N)
    W1 = rng.normal(D, H, std=D**-0.5)
    W2 = rng.normal(1, H, std=H**-0.5)
    args = tuple(a.to(dtype) for a in (x, y, W1, W2))
    return Case(id, kind, args, about or f"N={N}, D={D}, H={H}", {"N": N, "D": D, "H": H})


def by_hand_example(id: str, kind: str, y: float, as_printed: bool) -> Case:
    """The course's by-hand numbers: x = [2, 1], W1 = [[0.2, -0.3], [0.5, 0.4]], W2 = [0.6, -0.7].

    The course writes W1 with one row per hidden unit; the fixed signature wants (D, H),
    so the faithful case uses its transpose. `as_printed` reads the rows as (D, H) instead,
    which makes the second hidden unit inactive (z1 = [0.9, -0.2]): a ReLU mask check.
    """
    W1 = torch.tensor([[0.2, -0.3], [0.5, 0.4]], dtype=torch.float64)
    args = (
        torch.tensor([[2.0, 1.0]], dtype=torch.float64),
        torch.tensor([y], dtype=torch.float64),
        W1 if as_printed else W1.T.contiguous(),
        torch.tensor([[0.6, -0.7]], dtype=torch.float64),
    )
    about = f"the by-hand example, y={y:g}" + (", W1 read as (D, H): unit 2 inactive" if as_printed else "")
    return Case(id, kind, args, about, {"N": 1, "D": 2, "H": 2})


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(1000 + i)
        sizes = rng.distinct_sizes("NDH", 2, 12)
        cases.append(make_case(rng, f"random-{i:02d}", RANDOM, "", **sizes))
    return cases


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        old = base.args[PARAMS.index(name)]
        new = 1.0 - old if name == "y" else rng.normal(*old.shape, std=float(old.std()))
        return replace_arg(base.args, PARAMS, name, new)

    return make


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, D: int, H: int, **kw: torch.dtype) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, about, N, D, H, **kw)

    dead = make(2001, "dead-unit", "hidden unit 0 inactive for every example", 6, 4, 3)
    x, y, W1, W2 = dead.args
    W1 = W1.clone()
    W1[:, 0] = -W1[:, 0].abs() - 0.1
    dead = replace(dead, args=(x.abs(), y, W1, W2))

    sat = make(2002, "saturated", "saturated sigmoid, |z2| up to ~40", 8, 3, 4)
    x, y, W1, W2 = sat.args
    z2 = torch.relu(x @ W1) @ W2.T
    sat = replace(sat, args=(x, y, W1, W2 * 40.0 / float(z2.abs().max())))

    zeros = make(2003, "all-y-0", "every label y = 0", 5, 3, 4)
    ones = make(2004, "all-y-1", "every label y = 1", 5, 3, 4)
    return [
        make(2000, "N1", "a single example (N=1)", 1, 4, 3),
        make(2005, "odd", "odd widths N=7, D=3, H=5", 7, 3, 5),
        dead,
        sat,
        replace(zeros, args=replace_arg(zeros.args, PARAMS, "y", torch.zeros(5, dtype=torch.float64))),
        replace(ones, args=replace_arg(ones.args, PARAMS, "y", torch.ones(5, dtype=torch.float64))),
        make(2006, "float32", "float32 inputs", 6, 5, 4, dtype=torch.float32),
        make(2007, "large-N", "a larger batch N=64, D=10, H=8", 64, 10, 8),
        by_hand_example("edge-by-hand", EDGE, 0.0, as_printed=False),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _fresh(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=3000) + edge_cases()


def visible() -> list[Case]:
    return [
        by_hand_example("visible-1", VISIBLE, 0.0, as_printed=False),
        by_hand_example("visible-2", VISIBLE, 1.0, as_printed=True),
        make_case(Rng(7), "visible-3", VISIBLE, "", N=4, D=3, H=5),
    ]


SPEC = Spec(
    name="backprop_by_hand",
    params=PARAMS,
    outputs=("dW1", "dW2"),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_tuple("dW1", "dW2"),
    by_hand=True,
    bug_models=BUGS,
    hints={
        "scaled": "L is the mean over the N examples, so dL/dz2 = (p - y) / N.",
        "opposite_sign": "For the cross-entropy of a sigmoid output, dL/dz2 = (p - y) / N, not (y - p) / N.",
        "transposed": "Each gradient has the shape of its parameter: dW1 (D, H), dW2 (1, H).",
        "wrong_shape": "Each gradient has the shape of its parameter: dW1 (D, H), dW2 (1, H).",
        "not_finite": "When the sigmoid saturates, p rounds to 0 or 1; use dL/dz2 = (p - y) / N instead of "
        "dividing by p(1 - p).",
        "wrong_values": "Check each chain-rule step against autograd on a small example: dL/dz2, dW2, "
        "dL/dh, the ReLU, dW1.",
    },
)
