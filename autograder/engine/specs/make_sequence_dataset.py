"""make_sequence_dataset(n, length, generator) -> (x, y): n marker-sum sequences and their labels.

x (n, length) int64: digits 0..9 drawn uniformly, except one position p, uniform on
0 .. length - 2, which holds the marker -1; y (n,) int64: x[p + 1] + x[length - 1].
All randomness comes from `generator`.

The data are random, and a correct implementation may draw its numbers in any order, so
the dataset itself cannot be compared with a reference. `unpack` turns it into
observations that every correct implementation shares: one marker per row, the label
rule, entries in range, whether the generator was drawn from, and on large samples the
distribution of marker positions, digits and labels (each clipped, so that a correct
sample lands on exactly the reference value; the margins are 8 standard deviations or
more). `x` and `y` themselves are kept (their first rows) for their dtype and for the
comparison of the two calls of a case: the same generator state must give the same data.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, GeneratorSeed
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("n", "length", "generator")
X, Y = "x", "y"
MARKERS = "markers_per_row"
LABELS = "label_errors"
RANGE = "entries_out_of_range"
USES = "draws_from_generator"
POSITIONS = "marker_positions"
DIGITS = "digit_shares"
SEEN = "labels_seen"
OUTPUTS = (X, Y, MARKERS, LABELS, RANGE, USES, POSITIONS, DIGITS, SEEN)

KEEP_ROWS = 64  # rows of x and y that are recorded as they are
POSITION_SHARE = 0.5  # a position holds the marker in >= half of its uniform share -> 1
DIGIT_SHARE = 0.7  # a digit makes up >= 70 % of its uniform share -> 1
MIN_PER_POSITION = 300  # expected markers per position before positions are judged
MIN_PER_DIGIT = 1500  # expected entries per digit before digits are judged
MIN_FOR_LABELS = 2000  # sequences before the set of labels seen is judged


def judges_positions(n: int, length: int) -> bool:
    return length >= 2 and n / (length - 1) >= MIN_PER_POSITION


def judges_digits(n: int, length: int) -> bool:
    return n * (length - 1) / 10 >= MIN_PER_DIGIT


def judges_labels(n: int) -> bool:
    return n >= MIN_FOR_LABELS


def _f64(values: Any) -> Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def possible_labels(length: int) -> Tensor:
    """1 for every label that occurs with positive probability: all of 0..18, except for
    length 2, where the marker is always first and y = 2 * x[1] is even."""
    if length == 2:
        return _f64([1.0 if k % 2 == 0 else 0.0 for k in range(19)])
    return torch.ones(19, dtype=torch.float64)


def reference(case: Case) -> dict[str, Tensor]:
    n, length = case.args[0], case.args[1]
    rows = min(n, KEEP_ROWS)
    empty = torch.zeros(0, dtype=torch.float64)
    positions = torch.ones(length, dtype=torch.float64)
    positions[-1] = 0.0
    return {
        X: torch.zeros(rows, length, dtype=torch.float64),
        Y: torch.zeros(rows, dtype=torch.float64),
        MARKERS: torch.ones(n, dtype=torch.float64),
        LABELS: torch.zeros(n, dtype=torch.float64),
        RANGE: _f64(0.0),
        USES: _f64(1.0),
        POSITIONS: positions if judges_positions(n, length) else empty,
        DIGITS: torch.ones(10, dtype=torch.float64) if judges_digits(n, length) else empty,
        SEEN: possible_labels(length) if judges_labels(n) else empty,
    }


def view(case: Case, name: str, value: Tensor) -> Tensor:
    """x and y are recorded for their dtype and to compare the two calls of a case; their
    values are judged through the observations only."""
    if name in (X, Y):
        return torch.zeros((), dtype=torch.float64)
    return value


def generator_used(generator: Any) -> bool:
    """Whether numbers were drawn from `generator` (its state moved on from its seed)."""
    if not isinstance(generator, torch.Generator):
        return False
    fresh = torch.Generator(device=generator.device).manual_seed(generator.initial_seed())
    return not torch.equal(fresh.get_state(), generator.get_state())


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    n, length, generator = args
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        hint = " (did you forget the `return` statement?)" if returned is None else ""
        raise ReturnError(f"returned {describe(returned)}{hint}, expected a tuple (x, y) of two tensors")
    x, y = returned
    for name, value in ((X, x), (Y, y)):
        if not isinstance(value, Tensor):
            raise ReturnError(f"returned {describe(value)} as {name}, expected a torch.Tensor")
    if tuple(x.shape) != (n, length):
        raise ReturnError(
            f"returned x of shape {tuple(x.shape)} for n={n}, length={length}; expected (n, length) = "
            f"{(n, length)}: one row per sequence"
        )
    if tuple(y.shape) != (n,):
        raise ReturnError(f"returned y of shape {tuple(y.shape)} for n={n}; expected (n,) = ({n},)")
    xs, ys = x.detach().cpu().to(torch.float64), y.detach().cpu().to(torch.float64)
    marked = xs == -1
    first = marked.to(torch.int64).argmax(dim=1)  # the first marker (0 in a row without one)
    after = (first + 1).clamp(max=length - 1)
    rows = torch.arange(n)
    digits = xs[~marked]
    out_of_range = (digits != digits.round()) | (digits < 0) | (digits > 9)
    observed: dict[str, Any] = {
        X: x[:KEEP_ROWS],
        Y: y[:KEEP_ROWS],
        MARKERS: marked.sum(dim=1).to(torch.float32),  # small whole numbers: float32 is exact and small
        LABELS: (ys - (xs[rows, after] + xs[:, -1])).to(torch.float32),
        RANGE: _f64(float(out_of_range.sum())),
        USES: _f64(1.0 if generator_used(generator) else 0.0),
    }
    empty = torch.zeros(0, dtype=torch.float64)
    observed[POSITIONS] = empty
    if judges_positions(n, length):
        counts = torch.bincount(first[marked.any(dim=1)], minlength=length).to(torch.float64)
        share = counts * (length - 1) / n
        observed[POSITIONS] = (share / POSITION_SHARE).clamp(max=1.0)
    observed[DIGITS] = empty
    if judges_digits(n, length):
        valid = digits[~out_of_range].to(torch.int64)
        counts = torch.bincount(valid, minlength=10)[:10].to(torch.float64)
        share = counts * 10 / max(digits.numel(), 1)
        observed[DIGITS] = (share / DIGIT_SHARE).clamp(max=1.0)
    observed[SEEN] = empty
    if judges_labels(n):
        labels = ys[(ys == ys.round()) & (ys >= 0) & (ys <= 18)].to(torch.int64)
        observed[SEEN] = (torch.bincount(labels, minlength=19)[:19] > 0).to(torch.float64)
    return observed


def _positions(case: Case, first: bool = True, last: bool = False) -> Tensor:
    length = case.args[1]
    positions = torch.ones(length, dtype=torch.float64)
    positions[0] = 1.0 if first else 0.0
    positions[-1] = 1.0 if last else 0.0
    return positions


def _digits(missing: int) -> Tensor:
    shares = torch.ones(10, dtype=torch.float64)
    shares[missing] = 0.0
    return shares


BUGS = (
    BugModel(
        "not_from_generator",
        "is 0: the generator you were given was never used. Draw every random number from it: "
        "torch.randint(..., generator=generator) (also torch.randperm, torch.rand); the global random "
        "state (torch.manual_seed, random, numpy) makes the data depend on what ran before.",
        lambda c: {USES: _f64(0.0)},
        near_miss=False,
    ),
    BugModel(
        "marker_position",
        "shows the marker on the last position too: p is uniform on 0 .. length - 2 "
        "(torch.randint(0, length - 1, ...), whose upper end is excluded), so that a digit follows it.",
        lambda c: {POSITIONS: _positions(c, last=True)},
    ),
    BugModel(
        "marker_position",
        "shows that the marker is never on position 0: p is uniform on 0 .. length - 2 (0-based), "
        "torch.randint(0, length - 1, ...).",
        lambda c: {POSITIONS: _positions(c, first=False)},
    ),
    BugModel(
        "marker_position",
        "shows that the marker is never on position 0 but can be on the last one: positions are 0-based, "
        "p is uniform on 0 .. length - 2.",
        lambda c: {POSITIONS: _positions(c, first=False, last=True)},
    ),
    BugModel(
        "digit_range",
        "shows that the digit 0 never occurs: the digits are 0..9, torch.randint(0, 10, ...).",
        lambda c: {DIGITS: _digits(0)},
    ),
    BugModel(
        "digit_range",
        "shows that the digit 9 never occurs: torch.randint(low, high) excludes high, so the digits 0..9 "
        "come from torch.randint(0, 10, ...).",
        lambda c: {DIGITS: _digits(9)},
    ),
)


def _case(id: str, kind: str, n: int, length: int, seed: int, about: str = "") -> Case:
    text = f"n={n}, length={length}, a generator seeded with {seed}"
    return Case(
        id,
        kind,
        (n, length, GeneratorSeed(seed)),
        f"{about}: {text}" if about else text,
        {"n": n, "L": length},
    )


def hidden() -> list[Case]:
    return [
        _case("random-00", RANDOM, 50, 2, 0),
        _case("random-01", RANDOM, 7, 13, 1),
        _case("random-02", RANDOM, 9000, 30, 2, "a large sample"),
        _case("random-03", RANDOM, 500, 10, 3),
        _case("random-04", RANDOM, 4000, 5, 4, "a large sample"),
        _case("random-05", RANDOM, 3000, 12, 5, "a large sample"),
        _case("random-06", RANDOM, 64, 30, 6),
        _case("random-07", RANDOM, 1000, 4, 11),
        _case("random-08", RANDOM, 250, 25, 12),
        _case("random-09", RANDOM, 3000, 8, 13, "a large sample"),
        _case("edge-one-row", EDGE, 1, 6, 7, "a single sequence"),
        _case("edge-length-2", EDGE, 3000, 2, 8, "length 2: the marker is always first, y = 2 * x[1]"),
        _case("edge-length-40", EDGE, 200, 40, 9, "long sequences"),
        _case("edge-length-3", EDGE, 3000, 3, 10, "length 3, a large sample"),
        _case("edge-two-rows", EDGE, 2, 3, 14, "two short sequences"),
    ]


def visible() -> list[Case]:
    return [
        _case("visible-1", VISIBLE, 6, 5, 0),
        _case("visible-2", VISIBLE, 10, 2, 1),
        _case("visible-3", VISIBLE, 3000, 6, 2, "a large sample"),
    ]


SPEC = Spec(
    name="make_sequence_dataset",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    dtypes={X: torch.int64, Y: torch.int64},
    bug_models=BUGS,
    view=view,
    labels={
        X: "x",
        Y: "y",
        MARKERS: "the number of -1 markers in each row (must be exactly 1)",
        LABELS: "y minus the right label x[p + 1] + x[-1] (p: the marker's position)",
        RANGE: "the number of entries of x that are neither -1 nor a digit 0..9",
        USES: "whether numbers were drawn from `generator` (1: yes)",
        POSITIONS: "the share of rows with the marker at each position, clipped to 1 at half of the "
        "uniform share,",
        DIGITS: "the share of each digit 0..9 among the entries, clipped to 1 at 70 % of the uniform share,",
        SEEN: "which labels 0..18 occur in a large sample",
    },
    hints={
        "wrong_dtype": "Return int64 tensors: torch.randint gives int64 by default; avoid float arithmetic "
        "on x and y.",
        "mutates_input": "Leave n and length as they are.",
    },
)
