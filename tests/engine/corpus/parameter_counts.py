"""parameter_counts: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

STUB = "parameter_counts"


# ---------------------------------------------------------------- correct


def by_formula(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    head = hidden_size * num_classes + num_classes
    mlp = length * vocab_size * hidden_size + hidden_size + head
    rnn = vocab_size * hidden_size + hidden_size * hidden_size + 2 * hidden_size + head
    return mlp, rnn


def linear_helper(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    def linear(n: int, m: int) -> int:
        return n * m + m

    mlp = linear(length * vocab_size, hidden_size) + linear(hidden_size, num_classes)
    rnn = (
        linear(vocab_size, hidden_size) + linear(hidden_size, hidden_size) + linear(hidden_size, num_classes)
    )
    return mlp, rnn


def builds_modules(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    mlp = nn.Sequential(
        nn.Flatten(),
        nn.Linear(length * vocab_size, hidden_size),
        nn.ReLU(),
        nn.Linear(hidden_size, num_classes),
    )
    rnn = nn.ModuleList([nn.RNN(vocab_size, hidden_size), nn.Linear(hidden_size, num_classes)])
    return sum(p.numel() for p in mlp.parameters()), sum(p.numel() for p in rnn.parameters())


def meta_modules(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    with torch.device("meta"):
        layers = [nn.Linear(length * vocab_size, hidden_size), nn.Linear(hidden_size, num_classes)]
        rnn = nn.RNN(vocab_size, hidden_size, batch_first=True)
    mlp_count = sum(p.numel() for layer in layers for p in layer.parameters())
    rnn_count = sum(p.numel() for p in rnn.parameters()) + sum(p.numel() for p in layers[1].parameters())
    return mlp_count, rnn_count


def from_shapes(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    mlp_shapes = [
        (hidden_size, length * vocab_size),
        (hidden_size,),
        (num_classes, hidden_size),
        (num_classes,),
    ]
    rnn_shapes = [(hidden_size, vocab_size), (hidden_size, hidden_size), (hidden_size,), (hidden_size,)]
    rnn_shapes += mlp_shapes[2:]
    return sum(math.prod(s) for s in mlp_shapes), sum(math.prod(s) for s in rnn_shapes)


def numpy_ints(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> list[np.int64]:
    """A list of numpy integers is accepted as well."""
    sizes = np.array([length * vocab_size, hidden_size, num_classes], dtype=np.int64)
    mlp = sizes[0] * sizes[1] + sizes[1] + sizes[1] * sizes[2] + sizes[2]
    rnn = vocab_size * sizes[1] + sizes[1] ** 2 + 2 * sizes[1] + sizes[1] * sizes[2] + sizes[2]
    return [mlp, rnn]


CORRECT = [by_formula, linear_helper, builds_modules, meta_modules, from_shapes, numpy_ints]


# ---------------------------------------------------------------- buggy


def one_rnn_bias(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    """The demo student's bug: PyTorch's nn.RNN has two bias vectors."""
    head = hidden_size * num_classes + num_classes
    mlp = length * vocab_size * hidden_size + hidden_size + head
    rnn = vocab_size * hidden_size + hidden_size * hidden_size + hidden_size + head
    return mlp, rnn


def no_biases(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    mlp = length * vocab_size * hidden_size + hidden_size * num_classes
    rnn = vocab_size * hidden_size + hidden_size * hidden_size + hidden_size * num_classes
    return mlp, rnn


def swapped(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    mlp, rnn = by_formula(length, vocab_size, hidden_size, num_classes)
    return rnn, mlp


def one_token_mlp(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    head = hidden_size * num_classes + num_classes
    return vocab_size * hidden_size + hidden_size + head, by_formula(
        length, vocab_size, hidden_size, num_classes
    )[1]


def unrolled_rnn(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    head = hidden_size * num_classes + num_classes
    step = vocab_size * hidden_size + hidden_size * hidden_size + 2 * hidden_size
    return by_formula(length, vocab_size, hidden_size, num_classes)[0], length * step + head


def no_recurrent_matrix(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    head = hidden_size * num_classes + num_classes
    mlp = length * vocab_size * hidden_size + hidden_size + head
    return mlp, vocab_size * hidden_size + 2 * hidden_size + head


def no_head_in_rnn(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    mlp = by_formula(length, vocab_size, hidden_size, num_classes)[0]
    return mlp, vocab_size * hidden_size + hidden_size * hidden_size + 2 * hidden_size


def true_division(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[float, float]:
    """Right values, but floats: the per-unit count is written with /."""
    per_hidden_unit = (length * vocab_size * hidden_size + hidden_size) / hidden_size
    mlp = per_hidden_unit * hidden_size + hidden_size * num_classes + num_classes
    return mlp, float(by_formula(length, vocab_size, hidden_size, num_classes)[1])


def input_is_length(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    head = hidden_size * num_classes + num_classes
    return length * hidden_size + hidden_size + head, by_formula(
        length, vocab_size, hidden_size, num_classes
    )[1]


def hard_coded_course(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    """Right for the sizes of Part 2 only."""
    return 1408 * length + 2579, 20499


def returns_a_dict(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> dict[str, int]:
    mlp, rnn = by_formula(length, vocab_size, hidden_size, num_classes)
    return {"mlp": mlp, "rnn": rnn}


BUGGY = [
    (one_rnn_bias, "missing_bias"),
    (no_biases, "missing_bias"),
    (swapped, "swapped_outputs"),
    (one_token_mlp, "input_size"),
    (input_is_length, "input_size"),
    (unrolled_rnn, "weights_per_step"),
    (no_recurrent_matrix, "missing_layer"),
    (no_head_in_rnn, "missing_layer"),
    (true_division, "wrong_dtype"),
    (hard_coded_course, "ignores_argument"),
    (returns_a_dict, "bad_return"),
]
