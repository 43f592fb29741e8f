"""ActorCritic: correct implementations in several styles, and realistic bugs.

The graded object is the class (calling it builds the network), so every entry is a class
or a function that returns a module."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STUB = "ActorCritic"


# ---------------------------------------------------------------- correct


class SequentialTrunk(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.policy(h), self.value(h).squeeze(-1)


class FunctionalRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.pi = nn.Linear(hidden, n_actions)
        self.v = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.fc2(F.relu(self.fc1(x))))
        return self.pi(h), self.v(h)[:, 0]


class HeadsFirst(nn.Module):
    """Heads registered before the trunk, in a ModuleDict."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({"value": nn.Linear(hidden, 1), "policy": nn.Linear(hidden, n_actions)})
        self.body = nn.ModuleList([nn.Linear(obs_dim, hidden), nn.Linear(hidden, hidden)])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        for layer in self.body:
            x = torch.relu(layer(x))
        return self.heads["policy"](x), self.heads["value"](x).view(-1)


class InplaceRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.shared = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.actor = nn.Linear(hidden, n_actions)
        self.critic = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.shared(x)
        return self.actor(features), torch.flatten(self.critic(features))


class _Net(nn.Module):
    def __init__(self, trunk: nn.Module, policy: nn.Module, value: nn.Module) -> None:
        super().__init__()
        self.trunk, self.policy_head, self.value_head = trunk, policy, value

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.policy_head(h), self.value_head(h).squeeze(1)


def factory_function(obs_dim: int, n_actions: int, hidden: int) -> nn.Module:
    """A function that assembles the network from parts."""
    trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
    return _Net(trunk, nn.Linear(hidden, n_actions), nn.Linear(hidden, 1))


CORRECT = [SequentialTrunk, FunctionalRelu, HeadsFirst, InplaceRelu, factory_function]


# ---------------------------------------------------------------- buggy


class SoftmaxPolicy(SequentialTrunk):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return torch.softmax(self.policy(h), dim=-1), self.value(h).squeeze(-1)


class ReluValue(SequentialTrunk):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.policy(h), F.relu(self.value(h)).squeeze(-1)


class ValueNotSqueezed(SequentialTrunk):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.policy(h), self.value(h)


class OneRelu(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.policy(h), self.value(h).squeeze(-1)


class TanhTrunk(SequentialTrunk):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__(obs_dim, n_actions, hidden)
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )


class SeparateTrunks(nn.Module):
    """Two networks in one module: the trunk is not shared."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))
        self.critic = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.actor(x), self.critic(x).squeeze(-1)


class ValueFirst(SequentialTrunk):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return self.value(h).squeeze(-1), self.policy(h)


class ReturnsDict(SequentialTrunk):
    def forward(self, x: Tensor) -> dict[str, Tensor]:  # type: ignore[override]
        h = self.trunk(x)
        return {"logits": self.policy(h), "value": self.value(h).squeeze(-1)}


class FixedWidth(SequentialTrunk):
    """Ignores `hidden`: 64 units always."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__(obs_dim, n_actions, 64)


BUGGY = [
    (SoftmaxPolicy, "output_activation"),
    (ReluValue, "value_activation"),
    (ValueNotSqueezed, "wrong_shape"),
    (OneRelu, "missing_relu"),
    (TanhTrunk, "wrong_activation"),
    (SeparateTrunks, "bad_return"),
    (ValueFirst, "wrong_shape"),
    (ReturnsDict, "bad_return"),
    (FixedWidth, "bad_return"),
]
