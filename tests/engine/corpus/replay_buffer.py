"""ReplayBuffer: correct classes in several styles, and realistic bugs."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import numpy as np
import torch
from torch import Tensor

STUB = "ReplayBuffer"
Batch = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]


# ---------------------------------------------------------------- correct


class Preallocated:
    """The reference: one preallocated tensor per field and a write position."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.obs = torch.zeros(capacity, obs_dim)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.actions = torch.zeros(capacity, dtype=torch.int64)
        self.rewards = torch.zeros(capacity)
        self.dones = torch.zeros(capacity)
        self.pos = 0
        self.size = 0

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        self.obs[self.pos] = torch.as_tensor(obs)
        self.next_obs[self.pos] = torch.as_tensor(next_obs)
        self.actions[self.pos] = action
        self.rewards[self.pos] = reward
        self.dones[self.pos] = float(done)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} transitions from a buffer holding {self.size}")
        idx = torch.randint(self.size, (batch_size,), generator=generator)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


class ListOfTuples:
    """A Python list of transitions, overwritten at pushes % capacity."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.data: list[tuple[Any, ...]] = []
        self.pushes = 0

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        item = (
            np.asarray(obs, dtype=np.float32),
            action,
            reward,
            np.asarray(next_obs, dtype=np.float32),
            done,
        )
        if len(self.data) < self.capacity:
            self.data.append(item)
        else:
            self.data[self.pushes % self.capacity] = item
        self.pushes += 1

    def __len__(self) -> int:
        return len(self.data)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > len(self):
            raise ValueError(f"batch_size {batch_size} > {len(self)} stored transitions")
        idx = torch.randint(len(self), (batch_size,), generator=generator).tolist()
        obs, actions, rewards, next_obs, dones = zip(*(self.data[i] for i in idx), strict=True)
        return (
            torch.from_numpy(np.stack(obs)),
            torch.tensor(actions, dtype=torch.int64),
            torch.tensor(rewards, dtype=torch.float32),
            torch.from_numpy(np.stack(next_obs)),
            torch.tensor(dones, dtype=torch.float32),
        )


class NumpyArrays:
    """numpy storage (as many RL libraries do), converted when sampling."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity, self.ptr, self.full = capacity, 0, False
        self.o = np.zeros((capacity, obs_dim), np.float32)
        self.o2 = np.zeros((capacity, obs_dim), np.float32)
        self.a = np.zeros(capacity, np.int64)
        self.r = np.zeros(capacity, np.float32)
        self.d = np.zeros(capacity, np.float32)

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        self.o[self.ptr], self.a[self.ptr], self.r[self.ptr] = obs, action, reward
        self.o2[self.ptr], self.d[self.ptr] = next_obs, done
        self.ptr += 1
        if self.ptr == self.capacity:
            self.ptr, self.full = 0, True

    def __len__(self) -> int:
        return self.capacity if self.full else self.ptr

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        n = len(self)
        if batch_size > n:
            raise ValueError(f"asked for {batch_size} transitions, only {n} in the buffer")
        i = torch.randint(0, n, (batch_size,), generator=generator).numpy()
        return tuple(torch.from_numpy(x[i]) for x in (self.o, self.a, self.r, self.o2, self.d))  # type: ignore[return-value]


class OneMatrix:
    """A single (capacity, 2 * obs_dim + 3) float table, split when sampling."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.table = torch.zeros(capacity, 2 * obs_dim + 3)
        self.capacity, self.obs_dim, self.count = capacity, obs_dim, 0

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        row = torch.cat(
            [
                torch.as_tensor(obs),
                torch.tensor([action, reward]),
                torch.as_tensor(next_obs),
                torch.tensor([done]),
            ]
        )
        self.table[self.count % self.capacity] = row
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > len(self):
            raise ValueError(f"sample({batch_size}) from a buffer of {len(self)} transitions")
        rows = self.table[torch.randint(len(self), (batch_size,), generator=generator)]
        d = self.obs_dim
        return rows[:, :d], rows[:, d].long(), rows[:, d + 1], rows[:, d + 2 : 2 * d + 2], rows[:, -1]


class DictOfLists:
    """Per-field Python lists, stacked when sampling."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.fields: dict[str, list[Any]] = {k: [] for k in ("o", "a", "r", "o2", "d")}
        self.next = 0

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        for key, value in zip(
            self.fields, (torch.tensor(obs), action, reward, torch.tensor(next_obs), done), strict=True
        ):
            column = self.fields[key]
            if len(column) < self.capacity:
                column.append(value)
            else:
                column[self.next] = value
        self.next = (self.next + 1) % self.capacity

    def __len__(self) -> int:
        return len(self.fields["a"])

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if not 0 < batch_size <= len(self):
            raise ValueError(f"batch_size must be between 1 and {len(self)}, got {batch_size}")
        idx = torch.randint(len(self), (batch_size,), generator=generator)
        f = self.fields
        return (
            torch.stack([f["o"][i] for i in idx]),
            torch.tensor([f["a"][i] for i in idx]),
            torch.tensor([f["r"][i] for i in idx], dtype=torch.float32),
            torch.stack([f["o2"][i] for i in idx]),
            torch.tensor([f["d"][i] for i in idx], dtype=torch.float32),
        )


CORRECT = [Preallocated, ListOfTuples, NumpyArrays, OneMatrix, DictOfLists]


# ---------------------------------------------------------------- buggy


class Deque(Preallocated):
    """collections.deque(maxlen=capacity): oldest first, not slot i % capacity."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        super().__init__(capacity, obs_dim)
        self.memory: deque[tuple[Any, ...]] = deque(maxlen=capacity)

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        self.memory.append((obs, action, reward, next_obs, done))
        self.size = len(self.memory)
        self.obs = torch.tensor(np.stack([m[0] for m in self.memory]))
        self.next_obs = torch.tensor(np.stack([m[3] for m in self.memory]))
        self.actions = torch.tensor([m[1] for m in self.memory])
        self.rewards = torch.tensor([m[2] for m in self.memory], dtype=torch.float32)
        self.dones = torch.tensor([float(m[4]) for m in self.memory])


class MovesBeforeWriting(Preallocated):
    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        self.pos = (self.pos + 1) % self.capacity
        self.obs[self.pos] = torch.as_tensor(obs)
        self.next_obs[self.pos] = torch.as_tensor(next_obs)
        self.actions[self.pos] = action
        self.rewards[self.pos] = reward
        self.dones[self.pos] = float(done)
        self.size = min(self.size + 1, self.capacity)


class StopsWhenFull(ListOfTuples):
    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        if len(self.data) < self.capacity:
            super().push(obs, action, reward, next_obs, done)


class WithoutReplacement(Preallocated):
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} from {self.size}")
        idx = torch.randperm(self.size, generator=generator)[:batch_size]
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


class FromCapacity(Preallocated):
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} from {self.size}")
        idx = torch.randint(self.capacity, (batch_size,), generator=generator)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


class LengthIsPosition(Preallocated):
    def __len__(self) -> int:
        return self.pos

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        return super().sample(min(batch_size, self.size), generator)


class NoCheck(Preallocated):
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(self.size, (batch_size,), generator=generator)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


class FloatActions(Preallocated):
    def __init__(self, capacity: int, obs_dim: int) -> None:
        super().__init__(capacity, obs_dim)
        self.actions = torch.zeros(capacity)


class BoolDones(Preallocated):
    def __init__(self, capacity: int, obs_dim: int) -> None:
        super().__init__(capacity, obs_dim)
        self.dones = torch.zeros(capacity, dtype=torch.bool)

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        pos = self.pos
        super().push(obs, action, reward, next_obs, done)
        self.dones[pos] = done


class ColumnActions(Preallocated):
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        obs, actions, rewards, next_obs, dones = super().sample(batch_size, generator)
        return obs, actions.unsqueeze(1), rewards, next_obs, dones


class GlobalRandom(ListOfTuples):
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size > len(self):
            raise ValueError("not enough transitions")
        idx = [random.randrange(len(self)) for _ in range(batch_size)]
        obs, actions, rewards, next_obs, dones = zip(*(self.data[i] for i in idx), strict=True)
        return (
            torch.from_numpy(np.stack(obs)),
            torch.tensor(actions),
            torch.tensor(rewards, dtype=torch.float32),
            torch.from_numpy(np.stack(next_obs)),
            torch.tensor(dones, dtype=torch.float32),
        )


class SharedStorage(ListOfTuples):
    """A class attribute: every buffer shares one list."""

    data: list[tuple[Any, ...]] = []  # noqa: RUF012

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity, self.pushes = capacity, 0


BUGGY = [
    (Deque, "slot_order"),
    (MovesBeforeWriting, "off_by_one"),
    (StopsWhenFull, "no_overwrite"),
    (WithoutReplacement, "sampling"),
    (FromCapacity, "sampling"),
    (LengthIsPosition, "length"),
    (NoCheck, "no_value_error"),
    (FloatActions, "wrong_dtype"),
    (BoolDones, "wrong_dtype"),
    (ColumnActions, "wrong_shape"),
    (GlobalRandom, "hidden_state"),
    (SharedStorage, "hidden_state"),
]
