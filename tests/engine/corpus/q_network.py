"""QNetwork: correct implementations in several styles, and realistic bugs.

The graded object is the class (calling it builds the network)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STUB = "QNetwork"


# ---------------------------------------------------------------- correct


class SequentialNet(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_actions),
        )

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)


class FunctionalRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(obs)))))


class ModuleListLoop(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        sizes = [obs_dim, hidden, hidden, n_actions]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def forward(self, obs: Tensor) -> Tensor:
        x = obs
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class InplaceReluFloatCast(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.body(obs.to(self.head.weight.dtype)))


def build_sequential(obs_dim: int, n_actions: int, hidden: int = 128) -> nn.Module:
    """A factory function instead of a class."""
    return nn.Sequential(
        nn.Linear(obs_dim, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_actions),
    )


CORRECT = [SequentialNet, FunctionalRelu, ModuleListLoop, InplaceReluFloatCast, build_sequential]


# ---------------------------------------------------------------- buggy


class ReluOnOutput(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_actions),
            nn.ReLU(),
        )

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)


class SoftmaxHead(FunctionalRelu):
    def forward(self, obs: Tensor) -> Tensor:
        return F.softmax(super().forward(obs), dim=-1)


class ForgetsSecondRelu(FunctionalRelu):
    def forward(self, obs: Tensor) -> Tensor:
        return self.fc3(self.fc2(F.relu(self.fc1(obs))))


class TanhNet(FunctionalRelu):
    def forward(self, obs: Tensor) -> Tensor:
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(obs)))))


class OneHiddenLayer(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)


class Default64(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = SequentialNet(obs_dim, n_actions, hidden).net

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)


class DetachedBody(FunctionalRelu):
    def forward(self, obs: Tensor) -> Tensor:
        with torch.no_grad():
            h = F.relu(self.fc2(F.relu(self.fc1(obs))))
        return self.fc3(h)


class NormalisesBatch(FunctionalRelu):
    def forward(self, obs: Tensor) -> Tensor:
        obs = (obs - obs.mean(dim=0)) / (obs.std(dim=0) + 1e-8)
        return super().forward(obs)


class SkipsForward(nn.Module):
    """forward misspelt: nn.Module's own forward raises NotImplementedError."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = SequentialNet(obs_dim, n_actions, hidden).net

    def foward(self, obs: Tensor) -> Tensor:
        return self.net(obs)


BUGGY = [
    (ReluOnOutput, "output_activation"),
    (SoftmaxHead, "output_activation"),
    (ForgetsSecondRelu, "missing_relu"),
    (TanhNet, "wrong_activation"),
    (OneHiddenLayer, "bad_return"),
    (Default64, "bad_return"),
    (DetachedBody, "no_gradient"),
    (NormalisesBatch, "batch_dependent"),
    (SkipsForward, "bad_return"),
]
