"""confusion_matrix(predictions, labels, num_classes) -> Tensor: counts of (true, predicted) pairs.

predictions (N,), labels (N,) int64 in 0..num_classes-1. Returns an int64 (C, C) tensor M with
M[i, j] = the number of examples n with labels[n] = i and predictions[n] = j (rows: true
class, columns: predicted class); classes that never occur still get their row and column.
"""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg

PARAMS = ("predictions", "labels", "num_classes")


def counts(case: Case) -> Tensor:
    predictions, labels, c = case.args
    m = torch.zeros(c, c, dtype=torch.float64)
    m.index_put_(
        (labels.long(), predictions.long()), torch.ones(len(labels), dtype=torch.float64), accumulate=True
    )
    return m


def reference(case: Case) -> dict[str, Tensor]:
    return {"matrix": counts(case)}


def _once(case: Case) -> dict[str, Tensor]:
    predictions, labels, c = case.args
    m = torch.zeros(c, c, dtype=torch.float64)
    m[labels.long(), predictions.long()] = 1.0
    return {"matrix": m}


def _row_normalised(case: Case) -> dict[str, Tensor]:
    m = counts(case)
    return {"matrix": m / m.sum(dim=1, keepdim=True).clamp_min(1.0)}


BUGS = (
    BugModel(
        "no_accumulation",
        "counts every (true, predicted) pair at most once: with repeated index pairs, "
        "M[labels, predictions] += 1 adds 1 only once. Use M.index_put_((labels, predictions), ones, "
        "accumulate=True), torch.bincount, or a loop.",
        _once,
    ),
    BugModel(
        "normalised",
        "is normalised per row (fractions): return the counts; normalise only for plotting.",
        _row_normalised,
    ),
)


def make_case(
    rng: Rng, id: str, kind: str, N: int, C: int, about: str = "", accuracy: float = 0.7, absent: int = -1
) -> Case:
    """A classifier that is right with probability `accuracy` and otherwise guesses;
    class `absent` (if >= 0) never occurs as a label."""
    choices = [k for k in range(C) if k != absent]
    labels = torch.tensor([rng.choice(choices) for _ in range(N)], dtype=torch.int64)
    guesses = torch.from_numpy(rng.np.integers(0, C, size=N)).to(torch.int64)
    right = torch.from_numpy(rng.np.random(N) < accuracy)
    predictions = torch.where(right, labels, guesses)
    return Case(id, kind, (predictions, labels, C), about or f"N={N}, C={C}", {"N": N, "C": C})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(20000 + i)
        C = rng.integer(2, 10)
        cases.append(make_case(rng, f"random-{i:02d}", RANDOM, rng.integer(C + 5, 200), C))
    return cases


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        predictions, labels, c = base.args
        if name == "num_classes":
            return replace_arg(base.args, PARAMS, name, c + 2)
        new = torch.from_numpy(rng.np.integers(0, c, size=len(labels))).to(torch.int64)
        return replace_arg(base.args, PARAMS, name, new)

    return make


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, C: int, **kw: float) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, C, about, **kw)  # type: ignore[arg-type]

    return [
        make(20100, "N1", "a single example", 1, 4),
        make(20101, "absent-class", "class 3 never occurs as a label (its row is 0)", 40, 6, absent=3),
        make(20102, "perfect", "every prediction right: a diagonal matrix", 30, 5, accuracy=1.0),
        make(20103, "binary", "two classes", 50, 2),
        make(20104, "mnist", "10 classes, N=2000", 2000, 10, accuracy=0.9),
        make(20105, "C1", "a single class", 7, 1),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {p: _fresh(p) for p in PARAMS}, seed=20500) + edge_cases()


def visible() -> list[Case]:
    hand = (torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 1]), 3)
    return [
        Case("visible-1", VISIBLE, hand, "six examples, three classes", {"N": 6, "C": 3}),
        make_case(Rng(20200), "visible-2", VISIBLE, 25, 4),
    ]


SPEC = Spec(
    name="confusion_matrix",
    params=PARAMS,
    outputs=("matrix",),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single("matrix"),
    dtypes={"matrix": torch.int64},
    bug_models=BUGS,
    labels={"matrix": "the confusion matrix"},
    hints={
        "transposed": "Rows are the true classes (labels), columns the predicted classes: "
        "M[label, prediction].",
        "wrong_shape": "The matrix is (num_classes, num_classes), also when some classes never occur: use "
        "the argument num_classes, not the largest label.",
        "wrong_dtype": "Counts are integers: return an int64 tensor (torch.zeros(C, C, dtype=torch.int64)).",
        "wrong_values": "M[i, j] counts the examples with labels[n] = i and predictions[n] = j.",
    },
)
