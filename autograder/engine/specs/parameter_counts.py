"""parameter_counts(length, vocab_size, hidden_size, num_classes) -> (mlp_count, rnn_count).

MLP: Linear(length * vocab_size, hidden_size), an activation, Linear(hidden_size, num_classes).
RNN: nn.RNN(vocab_size, hidden_size) (weight_ih, weight_hh, bias_ih, bias_hh), then
Linear(hidden_size, num_classes). Biases included; two Python ints.

The counts are recorded as int64 tensors (a float count as float64, which the dtype rule
flags). int64 results are compared with the float32 tolerance (rtol 1e-4); every case with a
count below ~9,000 is therefore compared exactly, and every recognised mistake is larger than
the tolerance on every case (checked in tests/engine/corpus/parameter_counts.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("length", "vocab_size", "hidden_size", "num_classes")
MLP, RNN = "mlp_count", "rnn_count"


def counts(length: int, vocab: int, hidden: int, classes: int) -> tuple[int, int]:
    """The right (mlp_count, rnn_count)."""
    head = hidden * classes + classes
    mlp = length * vocab * hidden + hidden + head
    rnn = vocab * hidden + hidden * hidden + 2 * hidden + head
    return mlp, rnn


def _t(value: float) -> Tensor:
    return torch.tensor(float(value), dtype=torch.float64)


def reference(case: Case) -> dict[str, Tensor]:
    mlp, rnn = counts(*case.args)
    return {MLP: _t(mlp), RNN: _t(rnn)}


def _mlp_bug(code: str, message: str, wrong: Callable[[int, int, int, int, int], int]) -> BugModel:
    """A wrong MLP count: wrong(L, V, H, C, right count)."""
    return BugModel(code, message, lambda c: {MLP: _t(wrong(*c.args, counts(*c.args)[0]))})


def _rnn_bug(code: str, message: str, wrong: Callable[[int, int, int, int, int], int]) -> BugModel:
    """A wrong RNN count: wrong(L, V, H, C, right count)."""
    return BugModel(code, message, lambda c: {RNN: _t(wrong(*c.args, counts(*c.args)[1]))})


def _head(H: int, C: int) -> int:
    return H * C + C


BUGS = (
    BugModel(
        "swapped_outputs",
        "is the RNN's count and the RNN count the MLP's: return (mlp_count, rnn_count), the MLP first.",
        lambda c: {MLP: _t(counts(*c.args)[1]), RNN: _t(counts(*c.args)[0])},
    ),
    _mlp_bug(
        "missing_bias",
        "leaves out the biases: nn.Linear(n, m) has m biases besides its n * m weights.",
        lambda L, V, H, C, right: right - H - C,
    ),
    _mlp_bug(
        "missing_bias",
        "leaves out the hidden layer's biases: nn.Linear(length * vocab_size, hidden_size) has hidden_size "
        "biases.",
        lambda L, V, H, C, right: right - H,
    ),
    _mlp_bug(
        "missing_bias",
        "leaves out the output layer's biases: nn.Linear(hidden_size, num_classes) has num_classes biases.",
        lambda L, V, H, C, right: right - C,
    ),
    _mlp_bug(
        "input_size",
        "counts the input of one token only: the flattened input has length * vocab_size entries.",
        lambda L, V, H, C, right: V * H + H + _head(H, C),
    ),
    _mlp_bug(
        "input_size",
        "counts length inputs: the flattened input has length * vocab_size entries (one one-hot vector of "
        "vocab_size entries per token).",
        lambda L, V, H, C, right: L * H + H + _head(H, C),
    ),
    _mlp_bug(
        "missing_layer",
        "leaves out the output layer nn.Linear(hidden_size, num_classes).",
        lambda L, V, H, C, right: L * V * H + H,
    ),
    _rnn_bug(
        "missing_bias",
        "is hidden_size too small: one bias vector is missing. nn.RNN has two, bias_ih and bias_hh, of "
        "hidden_size entries each.",
        lambda L, V, H, C, right: right - H,
    ),
    _rnn_bug(
        "missing_bias",
        "leaves out the RNN's biases: nn.RNN has bias_ih and bias_hh, hidden_size entries each.",
        lambda L, V, H, C, right: right - 2 * H,
    ),
    _rnn_bug(
        "missing_bias",
        "leaves out all biases: bias_ih and bias_hh of nn.RNN, and the num_classes biases of the head.",
        lambda L, V, H, C, right: right - 2 * H - C,
    ),
    _rnn_bug(
        "missing_layer",
        "leaves out the recurrent matrix weight_hh (hidden_size x hidden_size).",
        lambda L, V, H, C, right: right - H * H,
    ),
    _rnn_bug(
        "missing_layer",
        "leaves out the linear head nn.Linear(hidden_size, num_classes).",
        lambda L, V, H, C, right: right - _head(H, C),
    ),
    _rnn_bug(
        "weights_per_step",
        "counts the RNN's weights once per time step: the RNN uses the same weights at every step, so its "
        "count does not depend on the length.",
        lambda L, V, H, C, right: L * (right - _head(H, C)) + _head(H, C),
    ),
)


def _count(value: Any, which: str) -> Any:
    """An int (or an integer tensor) as an int64 tensor, a float as a float64 tensor (the
    dtype rule then asks for an int); anything else is not a count."""
    if isinstance(value, bool):
        raise ReturnError(f"returned {value!r} as {which}, expected a Python int")
    try:
        return torch.tensor(operator.index(value), dtype=torch.int64)
    except TypeError:
        pass
    if isinstance(value, float):
        return torch.tensor(value, dtype=torch.float64)
    if isinstance(value, Tensor):
        return value.detach().reshape(()) if value.numel() == 1 else value.detach()
    raise ReturnError(f"returned {describe(value)} as {which}, expected a Python int")


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        hint = " (did you forget the `return` statement?)" if returned is None else ""
        raise ReturnError(f"returned {describe(returned)}{hint}, expected a tuple (mlp_count, rnn_count)")
    return {MLP: _count(returned[0], "the MLP count"), RNN: _count(returned[1], "the RNN count")}


def _case(id: str, kind: str, sizes: tuple[int, int, int, int], about: str = "") -> Case:
    L, V, H, C = sizes
    text = f"length={L}, vocab_size={V}, hidden_size={H}, num_classes={C}"
    return Case(id, kind, sizes, f"{about}: {text}" if about else text, {"L": L, "V": V, "H": H, "C": C})


COURSE = (11, 128, 19)  # the vocabulary, hidden size and classes of Part 2


def _probe_maker(name: str, delta: int) -> Callable[[Case, Rng], tuple[Any, ...]]:
    def make(base: Case, rng: Rng) -> tuple[Any, ...]:
        value = base.args[PARAMS.index(name)] + delta
        return replace_arg(base.args, PARAMS, name, value)

    return make


def hidden() -> list[Case]:
    cases = [
        _case(f"random-course-{L:02d}", RANDOM, (L, *COURSE), "the sizes of Part 2") for L in (5, 10, 13, 30)
    ]
    cases += [
        _case("random-00", RANDOM, (7, 26, 32, 18)),
        _case("random-01", RANDOM, (12, 2, 3, 5)),
    ]
    for i in range(4):
        sizes = Rng(7300 + i).distinct_sizes("LVHC", 3, 40)
        cases.append(_case(f"random-{i + 2:02d}", RANDOM, (sizes["L"], sizes["V"], sizes["H"], sizes["C"])))
    bases = [cases[4], cases[5]]
    cases += add_probes(bases, {name: _probe_maker(name, 3) for name in PARAMS}, seed=7400)
    cases += [
        _case("edge-length-1", EDGE, (1, 3, 4, 6), "a single token"),
        _case("edge-vocab-1", EDGE, (3, 1, 5, 4), "a vocabulary of one symbol"),
        _case("edge-hidden-1", EDGE, (4, 5, 1, 7), "one hidden unit"),
        _case("edge-classes-1", EDGE, (6, 4, 9, 1), "one class"),
        _case("edge-long", EDGE, (100, 30, 64, 40), "100 tokens"),
    ]
    return cases


def visible() -> list[Case]:
    return [
        _case("visible-1", VISIBLE, (3, 4, 5, 2)),
        _case("visible-2", VISIBLE, (30, 4, 5, 2), "a longer sequence"),
        _case("visible-3", VISIBLE, (5, *COURSE), "the sizes of Part 2"),
    ]


SPEC = Spec(
    name="parameter_counts",
    params=PARAMS,
    outputs=(MLP, RNN),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    dtypes={MLP: torch.int64, RNN: torch.int64},
    bug_models=BUGS,
    labels={MLP: "the MLP count", RNN: "the RNN count"},
    hints={
        "wrong_dtype": "Return Python ints: a count is a whole number (use // instead of /, and int(...) "
        "around anything that gives a float).",
        "wrong_shape": "Return two single numbers (Python ints), not lists or tensors of several values.",
        "wrong_values": "Count every weight and bias: nn.Linear(n, m) has n * m + m parameters, a layer "
        "nn.RNN(I, H) has H * I + H * H + 2 * H.",
    },
)
