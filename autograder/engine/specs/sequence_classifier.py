"""SequenceClassifier(kind, hidden_size=128, num_layers=2): an nn.Module; model(x) -> logits.

x (B, L) int64 with entries in {-1, 0..9} -> logits (B, 19) float32. kind "rnn": nn.RNN (tanh),
kind "lstm": nn.LSTM; `num_layers` layers of `hidden_size` units, batch_first, input the
one-hot vector of x + 1 (11 entries); an nn.Linear maps the top layer's state after the last
token to 19 logits. Any other kind raises ValueError.

The stub is a class: a case constructs it with the case's arguments, and `unpack` observes
the model. To make the observations deterministic (the model's initial weights come from
the global random state), `unpack` first overwrites every parameter with values drawn from
generators seeded by the case's arguments, the parameter's name inside its module (e.g.
`weight_hh_l0`), the module's type and the shape; the reference builds float64 modules and
fills them the same way. Then it records:
  recurrent_layers   how many nn.RNN / nn.LSTM / nn.GRU modules the model has
  recurrent_sizes    (input_size, hidden_size, num_layers) of its recurrent module
  parameter_count    the number of scalar parameters
  logits             model(x) for batches of lengths 2, 5 and 30 (compared with the reference)
  rows_independent   1 if each row's logits are the same alone and in its batch
  first_token_matters  1 if changing the first token changes the logits
  unknown_kinds_rejected  for kinds 'gru' and 'transformer': 1 ValueError, 0 accepted,
                     -1 another exception (judged in the cases whose id contains 'kinds')
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, probe
from autograder.engine.runner import describe_exception
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("kind", "hidden_size", "num_layers")
NUM_TOKENS, NUM_CLASSES = 11, 19
DEFAULT_HIDDEN, DEFAULT_LAYERS = 128, 2
LENGTHS = (2, 5, 30)  # a batch of BATCH sequences of each length
BATCH = 4
APART_LENGTHS = (5, 30)  # rows compared alone and in their batch
EARLY_LENGTH = 3  # the first token is changed in sequences of this length
UNKNOWN_KINDS = ("gru", "transformer")
APART_TOL = 1e-4  # |alone - in batch| <= APART_TOL * (1 + max |logit|)
EARLY_MIN = 1e-5  # the smallest change of a logit that counts (the reference's is >= 1e-4)

RECURRENT = "recurrent_layers"
SIZES = "recurrent_sizes"
COUNT = "parameter_count"
LOGITS = "logits"
APART = "rows_independent"
EARLY = "first_token_matters"
KINDS = "unknown_kinds_rejected"
OUTPUTS = (RECURRENT, SIZES, COUNT, LOGITS, APART, EARLY, KINDS)
LAYER_TYPES: tuple[type[nn.RNNBase], ...] = (nn.RNN, nn.LSTM, nn.GRU)


# ---------------------------------------------------------------- inputs and weights


def sizes_of(args: tuple[Any, ...] | list[Any]) -> tuple[str, int, int]:
    kind = args[0]
    hidden = args[1] if len(args) > 1 else DEFAULT_HIDDEN
    layers = args[2] if len(args) > 2 else DEFAULT_LAYERS
    return kind, hidden, layers


def _seed(args: tuple[Any, ...] | list[Any], *parts: object) -> int:
    return zlib.crc32(repr((tuple(args), *parts)).encode())


def tokens(length: int, seed: int) -> Tensor:
    """BATCH marker-sum sequences of `length` (digits, one -1 before the last position)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(BATCH, length))
    x[np.arange(BATCH), rng.integers(0, length - 1, size=BATCH)] = -1
    return torch.from_numpy(x).to(torch.int64)


def batches(args: tuple[Any, ...] | list[Any]) -> list[Tensor]:
    return [tokens(length, _seed(args, "x", length)) for length in LENGTHS]


def changed_first(x: Tensor) -> Tensor:
    """x with a different first token in every row."""
    out = x.clone()
    out[:, 0] = torch.where(x[:, 0] == 5, 6, 5)
    return out


def _type_name(module: nn.Module) -> str:
    for base in (*LAYER_TYPES, nn.Linear):
        if isinstance(module, base):
            return base.__name__
    return type(module).__name__


def fill(model: nn.Module, args: tuple[Any, ...] | list[Any]) -> None:
    """Overwrite every parameter with seeded values: uniform in +-1/sqrt(fan-in) for weights,
    +-0.1 for biases. The values are float64 before they are copied (and rounded to the
    parameter's dtype)."""
    with torch.no_grad():
        for module in model.modules():
            for name, p in module.named_parameters(recurse=False):
                generator = torch.Generator().manual_seed(
                    _seed(args, _type_name(module), name, tuple(p.shape))
                )
                scale = p.shape[-1] ** -0.5 if p.dim() >= 2 and p.shape[-1] > 0 else 0.1
                values = (torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * scale
                p.copy_(values.to(torch.float32).to(p.dtype))


# ---------------------------------------------------------------- reference


def reference_model(
    args: tuple[Any, ...] | list[Any], kind: str | None = None, nonlinearity: str = "tanh"
) -> tuple[nn.RNNBase, nn.Linear]:
    """The float64 recurrent layer and head, filled as `fill` fills a student's model."""
    own_kind, hidden, layers = sizes_of(args)
    kind = kind or own_kind
    if kind == "lstm":
        recurrent: nn.RNNBase = nn.LSTM(NUM_TOKENS, hidden, layers, batch_first=True, dtype=torch.float64)
    else:
        recurrent = nn.RNN(
            NUM_TOKENS, hidden, layers, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64
        )
    head = nn.Linear(hidden, NUM_CLASSES, dtype=torch.float64)
    fill(nn.ModuleList([recurrent, head]), args)
    return recurrent, head


def one_hot(x: Tensor, marker_last: bool = False) -> Tensor:
    index = x % NUM_TOKENS if marker_last else x + 1
    return F.one_hot(index, NUM_TOKENS).to(torch.float64)


ReadOut = Callable[[nn.RNNBase, nn.Linear, Tensor], Tensor]


def last_state(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    outputs, _ = recurrent(inputs)
    return head(outputs[:, -1])


def reference_logits(
    args: tuple[Any, ...] | list[Any],
    read_out: ReadOut = last_state,
    kind: str | None = None,
    nonlinearity: str = "tanh",
    marker_last: bool = False,
) -> Tensor:
    recurrent, head = reference_model(args, kind, nonlinearity)
    with torch.no_grad():
        return torch.cat([read_out(recurrent, head, one_hot(x, marker_last)) for x in batches(args)])


def count(kind: str, hidden: int, layers: int) -> int:
    blocks = 4 if kind == "lstm" else 3 if kind == "gru" else 1
    total = sum(
        blocks * (hidden * (NUM_TOKENS if i == 0 else hidden) + hidden * hidden + 2 * hidden)
        for i in range(layers)
    )
    return total + hidden * NUM_CLASSES + NUM_CLASSES


def _f64(values: Any) -> Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def reference(case: Case) -> dict[str, Tensor]:
    kind, hidden, layers = sizes_of(case.args)
    return {
        RECURRENT: _f64([1.0 if kind == "rnn" else 0.0, 1.0 if kind == "lstm" else 0.0, 0.0]),
        SIZES: _f64([NUM_TOKENS, hidden, layers]),
        COUNT: _f64(count(kind, hidden, layers)),
        LOGITS: reference_logits(case.args),
        APART: _f64(1.0),
        EARLY: _f64(1.0),
        KINDS: torch.ones(len(UNKNOWN_KINDS), dtype=torch.float64),
    }


def view(case: Case, name: str, value: Tensor) -> Tensor:
    """Unknown kinds are judged only in the cases made for them (a missing ValueError costs
    one edge case, not every case)."""
    if name == KINDS and "kinds" not in case.id:
        return torch.zeros_like(value)
    return value


# ---------------------------------------------------------------- observing the student's model


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    try:
        logits = model(x)
    except Exception as exc:
        raise ReturnError(
            f"model(x) raised {describe_exception(exc, type(model).forward)} for x of shape {tuple(x.shape)}"
        ) from None
    if not isinstance(logits, Tensor):
        raise ReturnError(f"model(x) returned {describe(logits)}, expected a tensor of logits")
    if tuple(logits.shape) != (x.shape[0], NUM_CLASSES):
        raise ReturnError(
            f"model(x) returned logits of shape {tuple(logits.shape)} for x of shape {tuple(x.shape)}; "
            f"expected (B, {NUM_CLASSES}): one row of {NUM_CLASSES} class scores per sequence, from the top "
            "layer's state after the last token"
        )
    return logits.detach()


def _rejects(cls: type, kind: str, args: list[Any]) -> float:
    try:
        cls(kind, *args[1:])
    except ValueError:
        return 1.0
    except Exception:
        return -1.0
    return 0.0


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if not isinstance(returned, nn.Module):
        raise ReturnError(f"SequenceClassifier(...) gave {describe(returned)}, expected an nn.Module")
    model = returned
    recurrent = [m for m in model.modules() if isinstance(m, LAYER_TYPES)]
    layers = [float(sum(type(m) is t for m in recurrent)) for t in LAYER_TYPES]
    sizes = [0.0, 0.0, 0.0]
    if len(recurrent) == 1:
        r = recurrent[0]
        sizes = [float(r.input_size), float(r.hidden_size), float(r.num_layers)]
    fill(model, args)
    model.eval()
    with torch.no_grad():
        logits = [_forward(model, x) for x in batches(args)]
        worst = 0.0
        for x, batch in zip(batches(args), logits, strict=True):
            if x.shape[1] in APART_LENGTHS:
                for i in (0, BATCH - 1):
                    alone = _forward(model, x[i : i + 1])
                    bound = APART_TOL * (1.0 + float(batch.abs().max()))
                    worst = max(worst, float((alone[0] - batch[i]).abs().max()) / bound)
        short = tokens(EARLY_LENGTH, _seed(args, "early"))
        change = float((_forward(model, changed_first(short)) - _forward(model, short)).abs().max())
    return {
        RECURRENT: _f64(layers),
        SIZES: _f64(sizes),
        COUNT: _f64(float(sum(p.numel() for p in model.parameters()))),
        LOGITS: torch.cat(logits),
        APART: _f64(1.0 if worst <= 1.0 else 0.0),
        EARLY: _f64(1.0 if change > EARLY_MIN else 0.0),
        KINDS: _f64([_rejects(type(model), kind, args) for kind in UNKNOWN_KINDS]),
    }


# ---------------------------------------------------------------- typical mistakes


def _other_kind(case: Case) -> dict[str, Tensor]:
    kind = sizes_of(case.args)[0]
    return {RECURRENT: _f64([0.0, 1.0, 0.0] if kind == "rnn" else [1.0, 0.0, 0.0])}


def _sizes(case: Case, input_size: int) -> dict[str, Tensor]:
    _, hidden, layers = sizes_of(case.args)
    return {SIZES: _f64([input_size, hidden, layers])}


def _logits_bug(**kw: Any) -> Callable[[Case], dict[str, Tensor]]:
    return lambda case: {LOGITS: reference_logits(case.args, **kw)}


def _lstm_only(read_out: ReadOut) -> Callable[[Case], dict[str, Tensor]]:
    def compute(case: Case) -> dict[str, Tensor]:
        if sizes_of(case.args)[0] != "lstm":
            return {}
        return {LOGITS: reference_logits(case.args, read_out)}

    return compute


def _first_layer(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    _, state = recurrent(inputs)
    h = state[0] if isinstance(state, tuple) else state
    return head(h[0])


def _cell_state(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    _, (_, c) = recurrent(inputs)
    return head(c[-1])


def _first_step(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    outputs, _ = recurrent(inputs)
    return head(outputs[:, 0])


def _time_major(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    """A layer without batch_first given (B, L, 11): dimension 0 is read as time."""
    outputs, _ = recurrent(inputs.transpose(0, 1))
    return head(outputs.transpose(0, 1)[:, -1])


def _softmax(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    return torch.softmax(last_state(recurrent, head, inputs), dim=-1)


def _log_softmax(recurrent: nn.RNNBase, head: nn.Linear, inputs: Tensor) -> Tensor:
    return torch.log_softmax(last_state(recurrent, head, inputs), dim=-1)


BATCH_FIRST = (
    "Create the recurrent layer with batch_first=True: without it PyTorch reads dimension 0 of the "
    "(B, L, 11) input as time, so it runs across the sequences of a batch and each row sees one token."
)

BUGS = (
    BugModel(
        "layer_kind",
        "shows the other kind of layer: kind 'rnn' needs one nn.RNN and kind 'lstm' one nn.LSTM.",
        _other_kind,
    ),
    BugModel(
        "layer_kind",
        "shows an nn.GRU: kind 'rnn' needs one nn.RNN and kind 'lstm' one nn.LSTM.",
        lambda case: {RECURRENT: _f64([0.0, 0.0, 1.0])},
    ),
    BugModel(
        "input_size",
        "shows input_size 1: each token must enter as the one-hot vector of x + 1 with NUM_TOKENS = 11 "
        "entries (F.one_hot(x + 1, NUM_TOKENS).float()), not as a single number.",
        lambda case: _sizes(case, 1),
    ),
    BugModel(
        "input_size",
        "shows input_size 10: the one-hot vector has 11 entries, index 0 for the marker -1 and index d + 1 "
        "for the digit d.",
        lambda case: _sizes(case, 10),
    ),
    BugModel(
        "batch_first",
        f"match a layer without batch_first. {BATCH_FIRST}",
        _logits_bug(read_out=_time_major),
        near_miss=False,
    ),
    BugModel(
        "read_out",
        "come from the first layer's final state (h_n[0]): use the top layer's, outputs[:, -1] or h_n[-1].",
        _logits_bug(read_out=_first_layer),
    ),
    BugModel(
        "read_out",
        "come from the LSTM's cell state c_n: use the hidden state, outputs[:, -1] or h_n[-1].",
        _lstm_only(_cell_state),
    ),
    BugModel(
        "read_out",
        "come from the state after the first token (outputs[:, 0]): use the state after the last token, "
        "outputs[:, -1].",
        _logits_bug(read_out=_first_step),
        near_miss=False,
    ),
    BugModel(
        "not_logits",
        "are probabilities (a softmax at the end): return the raw scores; F.cross_entropy applies the "
        "softmax itself.",
        _logits_bug(read_out=_softmax),
    ),
    BugModel(
        "not_logits",
        "are log-probabilities (log_softmax at the end): return the raw scores of the Linear layer; "
        "F.cross_entropy applies log_softmax itself.",
        _logits_bug(read_out=_log_softmax),
    ),
    BugModel(
        "nonlinearity",
        "match an nn.RNN with ReLU: kind 'rnn' uses the default tanh nonlinearity.",
        lambda case: (
            {LOGITS: reference_logits(case.args, nonlinearity="relu")}
            if sizes_of(case.args)[0] == "rnn"
            else {}
        ),
    ),
    BugModel(
        "one_hot",
        "match inputs that encode the marker -1 as index 10 (x % 11): use the one-hot vector of x + 1, "
        "where the marker is index 0 and the digit d is index d + 1.",
        _logits_bug(marker_last=True),
    ),
    BugModel(
        "batch_first",
        f"is 0: a row's logits change with the other rows of its batch. {BATCH_FIRST}",
        lambda case: {APART: _f64(0.0)},
        near_miss=False,
    ),
    BugModel(
        "ignores_early_tokens",
        "is 0: changing the first token of every sequence left the logits as they were. Read the whole "
        "sequence (batch_first=True) and use the top layer's state after the last token.",
        lambda case: {EARLY: _f64(0.0)},
        near_miss=False,
    ),
    BugModel(
        "no_value_error",
        "shows that SequenceClassifier('gru') and SequenceClassifier('transformer') build a model: raise "
        "ValueError for any kind other than 'rnn' and 'lstm'.",
        lambda case: {KINDS: _f64([0.0, 0.0])},
    ),
    BugModel(
        "no_value_error",
        "shows another exception than ValueError for the kinds 'gru' and 'transformer' (a KeyError from a "
        "dict lookup, say): check the kind yourself and raise ValueError.",
        lambda case: {KINDS: _f64([-1.0, -1.0])},
    ),
    BugModel(
        "no_value_error",
        "shows that SequenceClassifier('gru') builds a model: only 'rnn' and 'lstm' are allowed; raise "
        "ValueError for every other kind.",
        lambda case: {KINDS: _f64([0.0, 1.0])},
    ),
    BugModel(
        "no_value_error",
        "shows that SequenceClassifier('gru') builds a model and 'transformer' raises another exception than "
        "ValueError: raise ValueError for every kind other than 'rnn' and 'lstm'.",
        lambda case: {KINDS: _f64([0.0, -1.0])},
    ),
)


# ---------------------------------------------------------------- cases


def _case(id: str, kind: str, args: tuple[Any, ...], about: str = "") -> Case:
    name, hidden, layers = sizes_of(args)
    shown = ", ".join(repr(a) for a in args)
    text = f"SequenceClassifier({shown})"
    return Case(id, kind, args, f"{text}: {about}" if about else text, {"H": hidden, "layers": layers})


def hidden() -> list[Case]:
    cases = [
        _case("random-rnn", RANDOM, ("rnn",), "the default sizes"),
        _case("random-lstm", RANDOM, ("lstm",), "the default sizes"),
        _case("random-rnn-small", RANDOM, ("rnn", 16, 1)),
        _case("random-lstm-small", RANDOM, ("lstm", 16, 1)),
        _case("random-rnn-deep", RANDOM, ("rnn", 32, 3)),
        _case("random-lstm-mid", RANDOM, ("lstm", 24, 2)),
    ]
    for base in cases[2:4]:
        kind, hidden_size, layers = base.args
        other = "lstm" if kind == "rnn" else "rnn"
        cases += [
            probe(base, "kind", (other, hidden_size, layers), f"{base.about}; only kind changed"),
            probe(
                base,
                "hidden_size",
                (kind, hidden_size + 4, layers),
                f"{base.about}; only hidden_size changed",
            ),
            probe(
                base, "num_layers", (kind, hidden_size, layers + 1), f"{base.about}; only num_layers changed"
            ),
        ]
    cases += [
        _case("edge-unknown-kinds", EDGE, ("lstm", 8, 1), "'gru' and 'transformer' must raise ValueError"),
        _case("edge-hidden-1", EDGE, ("rnn", 1, 1), "one hidden unit"),
        _case("edge-deep-narrow", EDGE, ("lstm", 5, 4), "four layers of five units"),
        _case("edge-lstm-1", EDGE, ("lstm", 1, 1), "one hidden unit"),
        _case("edge-rnn-deep", EDGE, ("rnn", 7, 6), "six layers of seven units"),
    ]
    return cases


def visible() -> list[Case]:
    return [
        _case("visible-rnn", VISIBLE, ("rnn",), "the default sizes"),
        _case("visible-lstm", VISIBLE, ("lstm",), "the default sizes"),
        _case("visible-kinds", VISIBLE, ("rnn", 8, 1), "'gru' and 'transformer' must raise ValueError"),
    ]


SPEC = Spec(
    name="SequenceClassifier",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    dtypes={LOGITS: torch.float32},
    bug_models=BUGS,
    view=view,
    labels={
        RECURRENT: "the number of nn.RNN, nn.LSTM and nn.GRU modules in the model",
        SIZES: "(input_size, hidden_size, num_layers) of the recurrent layer",
        COUNT: "the number of parameters",
        LOGITS: "the logits, computed with the test's weights in every layer (rows 0-3: sequences of length "
        "2, rows 4-7: length 5, rows 8-11: length 30),",
        APART: "whether each sequence gets the same logits alone and in a batch (1: yes)",
        EARLY: "whether the first token of a sequence affects its logits (1: yes)",
        KINDS: "whether other kinds raise ValueError",
    },
    hints={
        "wrong_dtype": "Return float32 logits: F.one_hot(...).float() makes the input float32, like the "
        "weights.",
        "wrong_values": "Build exactly one nn.RNN (kind 'rnn') or nn.LSTM (kind 'lstm') with input_size "
        "NUM_TOKENS, hidden_size and num_layers from the arguments and batch_first=True, and one "
        "nn.Linear(hidden_size, NUM_CLASSES) on the top layer's state after the last token.",
    },
    probe_outputs=frozenset({RECURRENT, SIZES, COUNT}),
)
