"""dropout_forward(x, p, training, generator) -> Tensor: inverted dropout.

In training mode every entry is dropped (set to 0) independently with probability p and the
kept entries are divided by 1 - p, so that E[out] = x; in evaluation mode the output is x.
The mask is drawn with `generator` (a fresh, seeded torch.Generator in every call).

The mask is random, so the result is judged by statistics that a correct dropout meets on
these sizes with certainty (x has 40,000 entries, none of them 0). `unpack` turns the
returned tensor into two observations:
  dropped: the share of entries set to 0, rounded to a multiple of 0.05 (every p of the cases is
    a multiple of 0.05; the share of a correct dropout has a standard deviation of at most
    0.0025 here, so a rounding edge is 10 standard deviations away);
  kept_scale: the mean of out / x over the kept entries (1 / (1 - p) for every entry of a
    correct dropout, 1 in evaluation mode).
Both are tensors in the dtype of the returned tensor, so the dtype rule still applies.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, GeneratorSeed, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("x", "p", "training", "generator")
OUTPUTS = ("dropped", "kept_scale")
GRID = 0.05


def rounded(share: float) -> float:
    return round(share / GRID) * GRID


def stats(dropped: float, scale: float) -> dict[str, Tensor]:
    f64 = torch.float64
    return {
        "dropped": torch.tensor(rounded(dropped), dtype=f64),
        "kept_scale": torch.tensor(scale, dtype=f64),
    }


def reference(case: Case) -> dict[str, Tensor]:
    _, p, training, _ = case.args
    return stats(p, 1.0 / (1.0 - p)) if training else stats(0.0, 1.0)


def _train(case: Case, dropped: float, scale: float) -> dict[str, Tensor]:
    """A bug that shows in training mode only (evaluation mode as the reference)."""
    return stats(dropped, scale) if case.args[2] else reference(case)


def _eval(case: Case, dropped: float, scale: float) -> dict[str, Tensor]:
    """A bug that shows in evaluation mode only."""
    return reference(case) if case.args[2] else stats(dropped, scale)


def _p(case: Case) -> float:
    return float(case.args[1])


BUGS = (
    BugModel(
        "no_rescale",
        "is 1: the kept entries are not rescaled. Inverted dropout divides them by 1 - p, so that the "
        "expected output equals x and nothing has to change at evaluation time.",
        lambda c: {"kept_scale": _train(c, _p(c), 1.0)["kept_scale"]},
    ),
    BugModel(
        "wrong_rescale",
        "is 1 - p: the kept entries are multiplied by the keep probability instead of divided by it "
        "(out = x * mask / (1 - p)).",
        lambda c: {"kept_scale": _train(c, _p(c), 1.0 - _p(c))["kept_scale"]},
    ),
    BugModel(
        "wrong_rescale",
        "is 1 / p: divide the kept entries by the keep probability 1 - p, not by the drop probability p.",
        lambda c: {"kept_scale": _train(c, _p(c), 1.0 / _p(c) if _p(c) > 0 else float("inf"))["kept_scale"]},
    ),
    BugModel(
        "p_is_keep_probability",
        "is about 1 - p: p is the probability to DROP an entry. Keep an entry where a uniform random "
        "number is >= p (torch.rand(...) >= p), which happens with probability 1 - p.",
        lambda c: {"dropped": _train(c, 1.0 - _p(c), 1.0)["dropped"]},
    ),
    BugModel(
        "dropout_in_eval",
        "is not 0 in evaluation mode (training=False): dropout is only active during training; at "
        "evaluation time it returns x unchanged.",
        lambda c: {"dropped": _eval(c, _p(c), 1.0)["dropped"]},
    ),
    BugModel(
        "scaled_in_eval",
        "is not 1 in evaluation mode: with inverted dropout the scaling happens during training, so "
        "evaluation returns x itself (multiplying by 1 - p there is the old, non-inverted dropout).",
        lambda c: {"kept_scale": _eval(c, 0.0, 1.0 - _p(c))["kept_scale"]},
    ),
)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    x = args[0]
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if not isinstance(returned, Tensor):
        raise ReturnError(f"returned {describe(returned)}, expected a tensor shaped like x")
    if tuple(returned.shape) != tuple(x.shape):
        raise ReturnError(
            f"returned a tensor of shape {tuple(returned.shape)}, expected the shape of x {tuple(x.shape)}"
        )
    out = returned.detach().to("cpu", torch.float64)
    x64 = x.detach().to(torch.float64)
    kept = out != 0
    share = 1.0 - float(kept.double().mean())
    scale = float((out[kept] / x64[kept]).mean()) if bool(kept.any()) else 0.0
    dtype = returned.dtype if returned.dtype.is_floating_point else torch.float64
    return {
        "dropped": torch.tensor(rounded(share), dtype=dtype),
        "kept_scale": torch.tensor(scale, dtype=dtype),
    }


def make_case(
    seed: int,
    id: str,
    kind: str,
    shape: tuple[int, ...],
    p: float,
    training: bool,
    about: str = "",
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    signs = torch.where(rng.bernoulli(*shape) > 0, 1.0, -1.0).to(torch.float64)
    x = (signs * rng.uniform(*shape, low=0.2, high=2.0)).to(dtype)  # no zeros
    mode = "training" if training else "evaluation"
    text = about or f"x {tuple(shape)}, p={p:g}, {mode} mode"
    return Case(id, kind, (x, p, training, GeneratorSeed(seed)), text, {"p": p})


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(15000 + i)
        p = rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.6, 0.7, 0.75, 0.8])
        shape = rng.choice([(200, 200), (100, 400), (40, 1000), (50, 40, 20)])
        cases.append(make_case(15050 + i, f"random-{i:02d}", RANDOM, shape, p, training=i % 4 != 3))
    return cases


def edge_cases() -> list[Case]:
    return [
        make_case(
            15100, "edge-p0", EDGE, (200, 200), 0.0, True, "p = 0 in training mode: nothing is dropped"
        ),
        make_case(15101, "edge-eval", EDGE, (200, 200), 0.5, False, "evaluation mode, p = 0.5"),
        make_case(15102, "edge-float32", EDGE, (200, 200), 0.3, True, "float32 x", dtype=torch.float32),
        make_case(15103, "edge-N1", EDGE, (1, 40000), 0.5, True, "a single row (1, 40000), p = 0.5"),
        make_case(15104, "edge-p09", EDGE, (200, 200), 0.9, True, "p = 0.9: most entries dropped"),
        make_case(15105, "edge-1d", EDGE, (40000,), 0.2, True, "a 1-dimensional x"),
        make_case(15106, "edge-eval-p0", EDGE, (200, 200), 0.0, False, "evaluation mode, p = 0"),
    ]


def hidden() -> list[Case]:
    return random_cases() + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(15200, "visible-1", VISIBLE, (200, 200), 0.5, True),
        make_case(15201, "visible-2", VISIBLE, (200, 200), 0.2, True, dtype=torch.float32),
        make_case(15202, "visible-3", VISIBLE, (200, 200), 0.5, False),
    ]


SPEC = Spec(
    name="dropout_forward",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    dtypes={"dropped": "same:x", "kept_scale": "same:x"},
    bug_models=BUGS,
    labels={
        "dropped": "the share of entries set to 0 (rounded to 0.05)",
        "kept_scale": "the factor out / x on the kept entries",
    },
    hints={
        "wrong_dtype": "Keep the dtype of x: build the mask as a bool tensor and use "
        "torch.where(mask, x / (1 - p), 0) or x * mask.to(x.dtype) / (1 - p).",
        "wrong_values": "In training mode: keep = torch.rand(x.shape, generator=generator) >= p, then "
        "out = x * keep / (1 - p); in evaluation mode return x.",
        "not_finite": "p = 0 keeps everything: divide by 1 - p (never by p).",
        "mutates_input": "Leave x unchanged: compute the output as a new tensor (no x.mul_(...), "
        "no x[mask] = 0).",
    },
)
