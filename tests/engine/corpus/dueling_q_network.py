"""DuelingQNetwork: correct implementations in several styles, and realistic bugs.

The graded object is the class (calling it builds the network), so every entry is a class
or a function that returns a module."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STUB = "DuelingQNetwork"


def _combine(value: Tensor, advantages: Tensor) -> Tensor:
    return value + advantages - advantages.mean(dim=1, keepdim=True)


# ---------------------------------------------------------------- correct


class SequentialTrunk(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.value_head = nn.Linear(hidden, 1)
        self.advantage_head = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return _combine(self.value_head(h), self.advantage_head(h))


class FunctionalRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, 1)
        self.a = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        h = F.relu(self.fc2(F.relu(self.fc1(obs))))
        a = self.a(h)
        return self.v(h) + (a - a.mean(-1, keepdim=True))


class HeadsInModuleDict(nn.Module):
    """Heads registered before the trunk, in a ModuleDict; the combination written inline."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({"adv": nn.Linear(hidden, n_actions), "val": nn.Linear(hidden, 1)})
        self.body = nn.ModuleList([nn.Linear(obs_dim, hidden), nn.Linear(hidden, hidden)])

    def forward(self, obs: Tensor) -> Tensor:
        x = obs
        for layer in self.body:
            x = torch.relu(layer(x))
        adv = self.heads["adv"](x)
        centred = adv - adv.sum(dim=1, keepdim=True) / adv.shape[1]
        return self.heads["val"](x).expand_as(adv) + centred


class InplaceReluStreams(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.value_stream = nn.Linear(hidden, 1)
        self.advantage_stream = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        f = self.features(obs)
        v, a = self.value_stream(f), self.advantage_stream(f)
        q = a.clone()
        q -= a.mean(dim=1, keepdim=True)
        return q + v


class _Net(nn.Module):
    def __init__(self, trunk: nn.Module, value: nn.Module, advantage: nn.Module) -> None:
        super().__init__()
        self.trunk, self.value, self.advantage = trunk, value, advantage

    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return _combine(self.value(h), self.advantage(h))


def factory_function(obs_dim: int, n_actions: int, hidden: int = 128) -> nn.Module:
    """A function that assembles the network from parts."""
    trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
    return _Net(trunk, nn.Linear(hidden, 1), nn.Linear(hidden, n_actions))


CORRECT = [SequentialTrunk, FunctionalRelu, HeadsInModuleDict, InplaceReluStreams, factory_function]


# ---------------------------------------------------------------- buggy


class NoCentering(SequentialTrunk):
    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return self.value_head(h) + self.advantage_head(h)


class MaxCentering(SequentialTrunk):
    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        a = self.advantage_head(h)
        return self.value_head(h) + a - a.max(dim=1, keepdim=True).values


class OneRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.value_head = nn.Linear(hidden, 1)
        self.advantage_head = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return _combine(self.value_head(h), self.advantage_head(h))


class TanhTrunk(SequentialTrunk):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__(obs_dim, n_actions, hidden)
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )


class ValueDetached(SequentialTrunk):
    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return _combine(self.value_head(h).detach(), self.advantage_head(h))


class ReturnsBothHeads(SequentialTrunk):
    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        h = self.trunk(obs)
        return self.value_head(h), self.advantage_head(h)


class SeparateStreams(nn.Module):
    """Two separate networks: the trunk is not shared."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.value = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.advantage = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, obs: Tensor) -> Tensor:
        return _combine(self.value(obs), self.advantage(obs))


class ValueHeadPerAction(nn.Module):
    """The value head has n_actions outputs (a copy-paste of the advantage head)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.value_head = nn.Linear(hidden, n_actions)
        self.advantage_head = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return _combine(self.value_head(h), self.advantage_head(h))


class FixedWidth(SequentialTrunk):
    """Ignores `hidden`: 128 units always (the default)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__(obs_dim, n_actions, 128)


BUGGY = [
    (NoCentering, "no_centering"),
    (MaxCentering, "max_not_mean"),
    (OneRelu, "missing_relu"),
    (TanhTrunk, "wrong_activation"),
    (ValueDetached, "detached"),
    (ReturnsBothHeads, "bad_return"),
    (SeparateStreams, "bad_return"),
    (ValueHeadPerAction, "bad_return"),
    (FixedWidth, "bad_return"),
]
