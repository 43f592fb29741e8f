"""make_sequence_dataset: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "make_sequence_dataset"


# ---------------------------------------------------------------- correct


def fancy_indexing(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randint(0, 10, (n, length), generator=generator)
    p = torch.randint(0, length - 1, (n,), generator=generator)
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def markers_first(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Draws the positions before the digits, and places the marker with a mask."""
    p = torch.randint(0, length - 1, (n, 1), generator=generator)
    digits = torch.randint(0, 10, (n, length), generator=generator)
    columns = torch.arange(length).unsqueeze(0)
    x = torch.where(columns == p, torch.full_like(digits, -1), digits)
    y = digits.gather(1, p + 1).squeeze(1) + digits[:, -1]
    return x, y


def row_loop(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    xs, ys = [], []
    for _ in range(n):
        row = torch.randint(0, 10, (length,), generator=generator)
        p = int(torch.randint(0, length - 1, (1,), generator=generator))
        label = int(row[p + 1]) + int(row[-1])
        row[p] = -1
        xs.append(row)
        ys.append(label)
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)


def multinomial_and_rand(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    weights = torch.ones(length - 1)
    p = torch.multinomial(weights.expand(n, -1), 1, replacement=True, generator=generator).squeeze(1)
    x = (torch.rand(n, length, generator=generator) * 10).long().clamp(max=9)
    y = x[torch.arange(n), p + 1] + x[:, -1]
    x = x.scatter(1, p.unsqueeze(1), -1)
    return x, y


def one_hot_mask(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randint(0, 10, (n, length), generator=generator, dtype=torch.int64)
    p = torch.randint(0, length - 1, (n,), generator=generator)
    mask = torch.nn.functional.one_hot(p, length).bool()
    after = torch.nn.functional.one_hot(p + 1, length).bool()
    y = x[after] + x[:, length - 1]
    x = x.masked_fill(mask, -1)
    return x, y


def randperm_positions(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A uniform position as the first entry of a random permutation of 0 .. length - 2."""
    p = torch.stack([torch.randperm(length - 1, generator=generator)[0] for _ in range(n)])
    x = torch.randint(10, (n, length), generator=generator)
    y = x[torch.arange(n), p + 1] + x[:, -1]
    x[torch.arange(n), p] = -1
    return x, y


CORRECT = [fancy_indexing, markers_first, row_loop, multinomial_and_rand, one_hot_mask, randperm_positions]


# ---------------------------------------------------------------- buggy


def global_random_state(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randint(0, 10, (n, length))
    p = torch.randint(0, length - 1, (n,))
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def own_generator(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    return fancy_indexing(n, length, torch.Generator().manual_seed(0))


def numpy_random(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(generator.initial_seed())
    x = rng.integers(0, 10, size=(n, length))
    p = rng.integers(0, length - 1, size=n)
    y = x[np.arange(n), p + 1] + x[:, -1]
    x[np.arange(n), p] = -1
    return torch.from_numpy(x), torch.from_numpy(y)


def digits_from_one(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randint(1, 10, (n, length), generator=generator)
    p = torch.randint(0, length - 1, (n,), generator=generator)
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def digits_to_eight(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randint(0, 9, (n, length), generator=generator)
    p = torch.randint(0, length - 1, (n,), generator=generator)
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def marker_never_first(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """1-based thinking: p from 1 .. length - 2."""
    x = torch.randint(0, 10, (n, length), generator=generator)
    p = torch.randint(1, length - 1, (n,), generator=generator)
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def marker_anywhere(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The marker may land on the last position, where no digit follows it."""
    x = torch.randint(0, 10, (n, length), generator=generator)
    p = torch.randint(0, length, (n,), generator=generator)
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1
    return x, y


def digit_at_marker(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Labels with the digit the marker overwrites instead of the one after it."""
    x, p = _draw(n, length, generator)
    rows = torch.arange(n)
    y = x[rows, p] + x[:, -1]
    x[rows, p] = -1
    return x, y


def forgets_last_digit(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x, p = _draw(n, length, generator)
    rows = torch.arange(n)
    y = x[rows, p + 1].clone()
    x[rows, p] = -1
    return x, y


def float_sequences(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x, p = _draw(n, length, generator)
    x = x.float()
    rows = torch.arange(n)
    y = x[rows, p + 1] + x[:, -1]
    x[rows, p] = -1.0
    return x, y


def time_major(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x, y = fancy_indexing(n, length, generator)
    return x.T, y


def label_after_marker_placed(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Places the marker first, then reads the label at the marker's position: -1 + last digit."""
    x, p = _draw(n, length, generator)
    rows = torch.arange(n)
    x[rows, p] = -1
    return x, x[rows, p] + x[:, -1]


# The functions above marker_anywhere keep their own draws: the reports of the ones that raise
# quote the line. The later ones share this helper.


def _draw(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Digits x (n, length) from 0 .. 9, then marker positions p from 0 .. length - 2."""
    x = torch.randint(0, 10, (n, length), generator=generator)
    p = torch.randint(0, length - 1, (n,), generator=generator)
    return x, p


BUGGY = [
    (global_random_state, "not_from_generator"),
    (own_generator, "not_from_generator"),
    (numpy_random, "not_from_generator"),
    (digits_from_one, "digit_range"),
    (digits_to_eight, "digit_range"),
    (marker_never_first, "marker_position"),
    (marker_anywhere, "raised"),
    (digit_at_marker, "wrong_values"),
    (forgets_last_digit, "wrong_values"),
    (float_sequences, "wrong_dtype"),
    (time_major, "bad_return"),
    (label_after_marker_placed, "wrong_values"),
]
