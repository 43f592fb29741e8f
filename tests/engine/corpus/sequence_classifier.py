"""SequenceClassifier: correct classes in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

STUB = "SequenceClassifier"
NUM_TOKENS, NUM_CLASSES, HIDDEN_SIZE, NUM_LAYERS = 11, 19, 128, 2


# ---------------------------------------------------------------- correct


class DictOfLayers(nn.Module):
    """The reference: a dict from kind to layer class, outputs[:, -1]."""

    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        layers: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM}
        if kind not in layers:
            raise ValueError(f"unknown kind {kind!r}")
        self.recurrent = layers[kind](NUM_TOKENS, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.recurrent(F.one_hot(x + 1, NUM_TOKENS).float())
        return self.head(outputs[:, -1])


class FinalHiddenState(nn.Module):
    """if/elif, the head defined first, and h_n[-1] of the returned state."""

    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        self.classifier = nn.Linear(hidden_size, NUM_CLASSES)
        self.kind = kind
        if kind == "rnn":
            self.rnn: nn.RNNBase = nn.RNN(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        elif kind == "lstm":
            self.rnn = nn.LSTM(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        else:
            raise ValueError("kind must be 'rnn' or 'lstm'")

    def forward(self, x: Tensor) -> Tensor:
        _, state = self.rnn(F.one_hot(x + 1, num_classes=NUM_TOKENS).to(torch.float32))
        h_n = state[0] if self.kind == "lstm" else state
        return self.classifier(h_n[-1])


class TimeMajor(nn.Module):
    """No batch_first: transposes to (L, B, 11) itself and takes the last time step."""

    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        if kind not in ("rnn", "lstm"):
            raise ValueError(kind)
        layer = nn.LSTM if kind == "lstm" else nn.RNN
        self.recurrent = layer(input_size=NUM_TOKENS, hidden_size=hidden_size, num_layers=num_layers)
        self.out = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        inputs = F.one_hot(x.T + 1, NUM_TOKENS).float()  # (L, B, 11)
        outputs, _ = self.recurrent(inputs)
        return self.out(outputs[-1])


class EyeLookup(nn.Module):
    """One-hot rows of an identity matrix kept as a buffer (not a parameter), getattr on nn."""

    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        if kind.lower() not in {"rnn", "lstm"}:
            raise ValueError(f"kind must be 'rnn' or 'lstm', got {kind!r}")
        self.register_buffer("eye", torch.eye(NUM_TOKENS))
        self.core = getattr(nn, kind.upper())(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.core(self.eye[x + 1])[0][:, -1, :])


class SequentialHead(nn.Module):
    """The head inside an nn.Sequential with a Dropout (off in eval mode), scatter one-hot."""

    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        match kind:
            case "rnn":
                self.seq = nn.RNN(NUM_TOKENS, hidden_size, num_layers, nonlinearity="tanh", batch_first=True)
            case "lstm":
                self.seq = nn.LSTM(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
            case _:
                raise ValueError(f"unsupported kind {kind}")
        self.head = nn.Sequential(nn.Dropout(0.0), nn.Linear(hidden_size, NUM_CLASSES))

    def forward(self, x: Tensor) -> Tensor:
        onehot = torch.zeros(*x.shape, NUM_TOKENS, device=x.device)
        onehot.scatter_(-1, (x + 1).unsqueeze(-1), 1.0)
        out, _ = self.seq(onehot)
        return self.head(out[:, x.shape[1] - 1])


CORRECT = [DictOfLayers, FinalHiddenState, TimeMajor, EyeLookup, SequentialHead]


# ---------------------------------------------------------------- buggy


class _Base(nn.Module):
    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        if kind not in ("rnn", "lstm"):
            raise ValueError(kind)
        self.kind = kind
        self.recurrent = self.layer(kind, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, NUM_CLASSES)

    def layer(self, kind: str, hidden_size: int, num_layers: int) -> nn.RNNBase:
        layer = nn.LSTM if kind == "lstm" else nn.RNN
        return layer(NUM_TOKENS, hidden_size, num_layers, batch_first=True)

    def inputs(self, x: Tensor) -> Tensor:
        return F.one_hot(x + 1, NUM_TOKENS).float()

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.recurrent(self.inputs(x))
        return self.head(outputs[:, -1])


class NoBatchFirst(_Base):
    def layer(self, kind: str, hidden_size: int, num_layers: int) -> nn.RNNBase:
        return (nn.LSTM if kind == "lstm" else nn.RNN)(NUM_TOKENS, hidden_size, num_layers)


class FirstLayerState(_Base):
    def forward(self, x: Tensor) -> Tensor:
        _, state = self.recurrent(self.inputs(x))
        h_n = state[0] if isinstance(state, tuple) else state
        return self.head(h_n[0])


class CellState(_Base):
    def forward(self, x: Tensor) -> Tensor:
        _, state = self.recurrent(self.inputs(x))
        h_n = state[1] if isinstance(state, tuple) else state  # (h, c)[1] is the cell state
        return self.head(h_n[-1])


class FirstStep(_Base):
    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.recurrent(self.inputs(x))
        return self.head(outputs[:, 0])


class SoftmaxAtTheEnd(_Base):
    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(super().forward(x), dim=1)


class AcceptsAnyKind(nn.Module):
    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__()
        layer = nn.LSTM if kind == "lstm" else nn.RNN
        self.recurrent = layer(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.recurrent(F.one_hot(x + 1, NUM_TOKENS).float())
        return self.head(outputs[:, -1])


class KeyErrorForOtherKinds(_Base):
    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        nn.Module.__init__(self)
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM}[kind]
        self.recurrent = layer(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, NUM_CLASSES)


class SwappedKinds(_Base):
    def layer(self, kind: str, hidden_size: int, num_layers: int) -> nn.RNNBase:
        layer = nn.RNN if kind == "lstm" else nn.LSTM
        return layer(NUM_TOKENS, hidden_size, num_layers, batch_first=True)


class HardCodedSizes(_Base):
    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__(kind, HIDDEN_SIZE, NUM_LAYERS)


class ReluRNN(_Base):
    def layer(self, kind: str, hidden_size: int, num_layers: int) -> nn.RNNBase:
        if kind == "lstm":
            return nn.LSTM(NUM_TOKENS, hidden_size, num_layers, batch_first=True)
        return nn.RNN(NUM_TOKENS, hidden_size, num_layers, nonlinearity="relu", batch_first=True)


class MarkerAsLastIndex(_Base):
    def inputs(self, x: Tensor) -> Tensor:
        return F.one_hot(x % NUM_TOKENS, NUM_TOKENS).float()


class TokenAsNumber(_Base):
    def layer(self, kind: str, hidden_size: int, num_layers: int) -> nn.RNNBase:
        return (nn.LSTM if kind == "lstm" else nn.RNN)(1, hidden_size, num_layers, batch_first=True)

    def inputs(self, x: Tensor) -> Tensor:
        return x.float().unsqueeze(-1)


class DoublePrecision(_Base):
    def __init__(self, kind: str, hidden_size: int = HIDDEN_SIZE, num_layers: int = NUM_LAYERS) -> None:
        super().__init__(kind, hidden_size, num_layers)
        self.double()

    def inputs(self, x: Tensor) -> Tensor:
        return F.one_hot(x + 1, NUM_TOKENS).double()


class RawTokensInOneHot(_Base):
    """F.one_hot(x) fails on the marker -1."""

    def inputs(self, x: Tensor) -> Tensor:
        return F.one_hot(x, NUM_TOKENS).float()


BUGGY = [
    (NoBatchFirst, "batch_first"),
    (FirstLayerState, "read_out"),
    (CellState, "read_out"),
    (FirstStep, "read_out"),
    (SoftmaxAtTheEnd, "not_logits"),
    (AcceptsAnyKind, "no_value_error"),
    (KeyErrorForOtherKinds, "no_value_error"),
    (SwappedKinds, "layer_kind"),
    (HardCodedSizes, "ignores_argument"),
    (ReluRNN, "nonlinearity"),
    (MarkerAsLastIndex, "one_hot"),
    (TokenAsNumber, "input_size"),
    (DoublePrecision, "wrong_dtype"),
    (RawTokensInOneHot, "bad_return"),
]
