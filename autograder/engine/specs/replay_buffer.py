"""ReplayBuffer(capacity, obs_dim): the DQN experience-replay memory, a class.

    push(obs, action, reward, next_obs, done) -> None   the i-th push (from 0) goes to slot i % capacity
    len(buffer)                                         transitions held: min(pushes, capacity)
    sample(batch_size, generator) -> (obs, actions, rewards, next_obs, dones)
        idx = torch.randint(len(self), (batch_size,), generator=generator) (uniform, with replacement);
        obs, next_obs (B, obs_dim) float32, actions (B,) int64, rewards (B,) float32, dones (B,)
        float32 (1.0 for terminal transitions); batch_size > len(self) raises ValueError.

A case constructs the buffer from (capacity, obs_dim); `unpack` then drives it with
transitions generated from the case's arguments (numpy float32 observations as gymnasium
gives them, Python int / float / bool for action, reward, done) and records:
  errors    sample(1) on the empty buffer, and sample(n1 + 1) after n1 pushes: 1 ValueError,
            0 no exception, -1 another exception
  lengths   len(buffer) after 0, n1, capacity and 2 * capacity + capacity // 2 + 1 pushes
  obs, actions, rewards, next_obs, dones   the batches sampled at the three stages (n1 pushes,
            full, wrapped around), each with its own seeded generator, concatenated
  stored    per stage, 1 if every sampled observation is one the buffer should hold then
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case
from autograder.engine.runner import describe_exception
from autograder.engine.spec import BugModel, ReturnError, Spec, describe

PARAMS = ("capacity", "obs_dim")
ERRORS, LENGTHS, STORED = "errors", "lengths", "stored"
FIELDS = ("obs", "actions", "rewards", "next_obs", "dones")
OUTPUTS = (ERRORS, LENGTHS, *FIELDS, STORED)
NUM_ACTIONS = 4


@dataclass(frozen=True)
class Plan:
    capacity: int
    obs_dim: int
    n1: int  # pushes at stage 1
    total: int  # pushes in all
    stages: tuple[int, int, int]  # pushes before each sample
    batches: tuple[int, int, int]  # batch size of each sample


def plan_of(args: tuple[Any, ...] | list[Any]) -> Plan:
    capacity, obs_dim = int(args[0]), int(args[1])
    n1 = max(1, capacity // 2)
    total = 2 * capacity + capacity // 2 + 1
    return Plan(capacity, obs_dim, n1, total, (n1, capacity, total), (n1, capacity, max(1, capacity // 2)))


def _seed(args: tuple[Any, ...] | list[Any], *parts: object) -> int:
    return zlib.crc32(repr((tuple(int(a) for a in args), *parts)).encode())


def transitions(
    plan: Plan, args: tuple[Any, ...] | list[Any]
) -> list[tuple[np.ndarray, int, float, np.ndarray, bool]]:
    rng = np.random.default_rng(_seed(args, "transitions"))
    out = []
    for _ in range(plan.total):
        obs = rng.normal(size=plan.obs_dim).astype(np.float32)
        next_obs = rng.normal(size=plan.obs_dim).astype(np.float32)
        action = int(rng.integers(0, NUM_ACTIONS))
        reward = float(rng.choice([-1.0, 0.0, 0.5, 1.0, 2.25]))
        done = bool(rng.random() < 0.25)
        out.append((obs, action, reward, next_obs, done))
    return out


def generator(args: tuple[Any, ...] | list[Any], stage: int) -> torch.Generator:
    return torch.Generator().manual_seed(_seed(args, "sample", stage))


def _rows(items: list[tuple[np.ndarray, int, float, np.ndarray, bool]]) -> list[Tensor]:
    """The five fields of a list of transitions as float64 tensors."""
    if not items:
        return [torch.zeros(0, len(items[0][0]) if items else 0, dtype=torch.float64)] * 5
    return [
        torch.from_numpy(np.stack([t[0] for t in items]).astype(np.float64)),
        torch.tensor([t[1] for t in items], dtype=torch.float64),
        torch.tensor([t[2] for t in items], dtype=torch.float64),
        torch.from_numpy(np.stack([t[3] for t in items]).astype(np.float64)),
        torch.tensor([float(t[4]) for t in items], dtype=torch.float64),
    ]


Slots = Callable[[Plan, list[Any], int], list[Any]]  # (plan, transitions, pushes) -> slot contents


def circular(plan: Plan, data: list[Any], n: int) -> list[Any]:
    """Slot j holds the last push i < n with i % capacity == j."""
    held = min(n, plan.capacity)
    return [data[max(i for i in range(n) if i % plan.capacity == j)] for j in range(held)]


def oldest_first(plan: Plan, data: list[Any], n: int) -> list[Any]:
    """A deque(maxlen=capacity): the last min(n, capacity) pushes, oldest first."""
    return data[max(0, n - plan.capacity) : n]


def no_overwrite(plan: Plan, data: list[Any], n: int) -> list[Any]:
    """Stops storing once full."""
    return data[: min(n, plan.capacity)]


def observe(
    plan: Plan,
    args: tuple[Any, ...] | list[Any],
    slots: Slots = circular,
    draw: str = "randint",
    high: str = "len",
) -> dict[str, Tensor]:
    """What a buffer storing as `slots` and sampling as `draw` gives, in float64."""
    data = transitions(plan, args)
    fields: list[list[Tensor]] = [[] for _ in FIELDS]
    for stage, (n, batch) in enumerate(zip(plan.stages, plan.batches, strict=True)):
        held = slots(plan, data, n)
        g = generator(args, stage)
        size = plan.capacity if high == "capacity" else len(held)
        if draw == "randperm":
            idx = torch.randperm(size, generator=g)[:batch]
        else:
            idx = torch.randint(size, (batch,), generator=g)
        rows = _rows(held)
        if high == "capacity":  # empty slots read as zeros
            rows = [
                torch.cat([r, torch.zeros(plan.capacity - len(held), *r.shape[1:], dtype=r.dtype)])
                for r in rows
            ]
        for f, r in zip(fields, rows, strict=True):
            f.append(r[idx])
    out = {name: torch.cat(parts) for name, parts in zip(FIELDS, fields, strict=True)}
    out[LENGTHS] = torch.tensor([0.0, plan.n1, plan.capacity, plan.capacity], dtype=torch.float64)
    return out


def reference(case: Case) -> dict[str, Tensor]:
    plan = plan_of(case.args)
    return {
        ERRORS: torch.ones(2, dtype=torch.float64),
        **observe(plan, case.args),
        STORED: torch.ones(3, dtype=torch.float64),
    }


# ---------------------------------------------------------------- driving the student's buffer


def _error_code(buffer: Any, batch: int, args: list[Any]) -> float:
    try:
        buffer.sample(batch, generator(args, 99))
    except ValueError:
        return 1.0
    except Exception:
        return -1.0
    return 0.0


def _call(what: str, fn: Callable[[], Any], method: Any) -> Any:
    try:
        return fn()
    except Exception as exc:
        raise ReturnError(f"{what} raised {describe_exception(exc, method)}") from None


def _length(buffer: Any) -> float:
    return float(
        _call(
            "len(buffer)",
            lambda: len(buffer),
            type(buffer).__len__ if hasattr(type(buffer), "__len__") else buffer,
        )
    )


def _batch(buffer: Any, size: int, stage: int, args: list[Any]) -> list[Tensor]:
    method = getattr(type(buffer), "sample", None)
    got = _call(
        f"sample({size}, generator)", lambda: buffer.sample(size, generator(args, stage)), method or buffer
    )
    if not isinstance(got, tuple | list) or len(got) != 5:
        raise ReturnError(
            f"sample returned {describe(got)}, expected a tuple (obs, actions, rewards, next_obs, dones)"
        )
    for name, value in zip(FIELDS, got, strict=True):
        if not isinstance(value, Tensor):
            raise ReturnError(f"sample returned {describe(value)} as {name}, expected a torch.Tensor")
    return [v.detach().clone() for v in got]


def _held(plan: Plan, data: list[Any], n: int) -> set[bytes]:
    return {t[0].tobytes() for t in data[max(0, n - plan.capacity) : n]}


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    buffer = returned
    for method in ("push", "sample"):
        if not callable(getattr(buffer, method, None)):
            raise ReturnError(f"ReplayBuffer(...) gave {describe(buffer)} without a method {method}()")
    plan = plan_of(args)
    data = transitions(plan, args)
    errors = [_error_code(buffer, 1, args)]
    lengths = {0: _length(buffer)}
    parts: list[list[Tensor]] = [[] for _ in FIELDS]
    stored: list[float] = []
    pushed = 0
    for stage, (n, batch) in enumerate(zip(plan.stages, plan.batches, strict=True)):
        while pushed < n:
            _call(
                "push(obs, action, reward, next_obs, done)",
                lambda t=data[pushed]: buffer.push(t[0].copy(), t[1], t[2], t[3].copy(), t[4]),
                type(buffer).push,
            )
            pushed += 1
            if pushed in (plan.n1, plan.capacity, plan.total):
                lengths[pushed] = _length(buffer)
        if stage == 0:
            errors.append(_error_code(buffer, plan.n1 + 1, args))
        got = _batch(buffer, batch, stage, args)
        for p, value in zip(parts, got, strict=True):
            p.append(value)
        obs_rows = got[0]
        ok = obs_rows.dim() == 2 and obs_rows.shape[1] == plan.obs_dim
        if ok:
            held = _held(plan, data, n)
            rows = obs_rows.to(torch.float32).numpy()
            ok = all(row.tobytes() in held for row in rows)
        stored.append(1.0 if ok else 0.0)
    out: dict[str, Any] = {ERRORS: torch.tensor(errors, dtype=torch.float64)}
    out[LENGTHS] = torch.tensor(
        [lengths[k] for k in (0, plan.n1, plan.capacity, plan.total)], dtype=torch.float64
    )
    for name, p in zip(FIELDS, parts, strict=True):
        try:
            out[name] = torch.cat(p)
        except RuntimeError:
            shapes = ", ".join(str(tuple(t.shape)) for t in p)
            raise ReturnError(
                f"sample returned {name} of shapes {shapes} for batch sizes {plan.batches}"
            ) from None
    out[STORED] = torch.tensor(stored, dtype=torch.float64)
    return out


# ---------------------------------------------------------------- typical mistakes


def _batches(**kw: Any) -> Callable[[Case], dict[str, Tensor]]:
    def compute(case: Case) -> dict[str, Tensor]:
        found = observe(plan_of(case.args), case.args, **kw)
        found.pop(LENGTHS)
        return found

    return compute


def _off_by_one(plan: Plan, data: list[Any], n: int) -> list[Any]:
    """The write position moves before writing: push i goes to slot (i + 1) % capacity; slot 0 is
    empty (zeros) until the capacity-th push."""
    slots: list[Any] = [None] * plan.capacity
    for i in range(n):
        slots[(i + 1) % plan.capacity] = data[i]
    empty = (np.zeros(plan.obs_dim, np.float32), 0, 0.0, np.zeros(plan.obs_dim, np.float32), False)
    return [s if s is not None else empty for s in slots][: min(n, plan.capacity)]


BUGS = (
    BugModel(
        "slot_order",
        "match a buffer that keeps its transitions oldest first (a deque, or list.pop(0) then append): here "
        "the i-th push goes to slot i % capacity, so once the buffer is full a new transition takes the "
        "place of the oldest one, and sample() indexes those slots with idx = torch.randint(len(self), "
        "(batch_size,), generator=generator).",
        _batches(slots=oldest_first),
    ),
    BugModel(
        "off_by_one",
        "match a write position that moves BEFORE the transition is written (push i lands in slot "
        "(i + 1) % capacity): write into self.pos first, then self.pos = (self.pos + 1) % self.capacity.",
        _batches(slots=_off_by_one),
    ),
    BugModel(
        "no_overwrite",
        "match a buffer that stops storing when it is full: once len == capacity each push must overwrite "
        "the oldest transition (slot i % capacity), or the agent learns from old data only.",
        _batches(slots=no_overwrite),
        near_miss=False,
    ),
    BugModel(
        "sampling",
        "match sampling without replacement (randperm): draw idx = torch.randint(len(self), (batch_size,), "
        "generator=generator), uniformly with replacement.",
        _batches(draw="randperm"),
    ),
    BugModel(
        "sampling",
        "match indices drawn from range(capacity): before the buffer is full that samples empty slots "
        "(zeros). "
        "Draw from range(len(self)).",
        _batches(high="capacity"),
    ),
    BugModel(
        "length",
        "shows len(buffer) falling back after the buffer fills: len must count the transitions held, "
        "min(pushes, capacity), not the write position.",
        lambda c: {
            LENGTHS: torch.tensor(
                [0.0, plan_of(c.args).n1, 0.0, plan_of(c.args).total % plan_of(c.args).capacity],
                dtype=torch.float64,
            )
        },
    ),
    BugModel(
        "length",
        "shows len(buffer) growing past capacity: it counts pushes, but the buffer holds at most capacity "
        "transitions.",
        lambda c: {
            LENGTHS: torch.tensor(
                [0.0, plan_of(c.args).n1, plan_of(c.args).capacity, plan_of(c.args).total],
                dtype=torch.float64,
            )
        },
    ),
    BugModel(
        "no_value_error",
        "show that sampling more transitions than the buffer holds does not raise ValueError: check "
        "`if batch_size > len(self): raise ValueError(...)` first, with a message that says both numbers.",
        lambda c: {ERRORS: torch.zeros(2, dtype=torch.float64)},
    ),
    BugModel(
        "no_value_error",
        "show another exception than ValueError (torch.randint on an empty range raises RuntimeError): check "
        "`if batch_size > len(self): raise ValueError(...)` yourself.",
        lambda c: {ERRORS: torch.tensor([-1.0, 0.0], dtype=torch.float64)},
    ),
    BugModel(
        "no_value_error",
        "show another exception than ValueError: check `if batch_size > len(self): raise ValueError(...)` "
        "yourself.",
        lambda c: {ERRORS: torch.tensor([-1.0, -1.0], dtype=torch.float64)},
    ),
    BugModel(
        "no_value_error",
        "show that the empty buffer raises another exception than ValueError: check `if batch_size > "
        "len(self): raise ValueError(...)` before drawing.",
        lambda c: {ERRORS: torch.tensor([-1.0, 1.0], dtype=torch.float64)},
    ),
)


# ---------------------------------------------------------------- cases


def _case(id: str, kind: str, capacity: int, obs_dim: int, about: str = "") -> Case:
    text = f"ReplayBuffer({capacity}, {obs_dim})"
    return Case(
        id,
        kind,
        (capacity, obs_dim),
        f"{text}: {about}" if about else text,
        {"capacity": capacity, "obs_dim": obs_dim},
    )


def hidden() -> list[Case]:
    sizes = [(8, 4), (5, 3), (16, 2), (10, 6), (32, 4), (7, 5), (12, 3), (9, 2), (20, 4), (4, 7)]
    cases = [_case(f"random-{i:02d}", RANDOM, c, d) for i, (c, d) in enumerate(sizes)]
    return cases + [
        _case("edge-capacity-1", EDGE, 1, 4, "room for a single transition"),
        _case("edge-capacity-2", EDGE, 2, 3, "room for two transitions"),
        _case("edge-capacity-3", EDGE, 3, 2, "an odd capacity"),
        _case("edge-obs-1", EDGE, 6, 1, "one-number observations"),
        _case("edge-large", EDGE, 200, 8, "a larger buffer"),
    ]


def visible() -> list[Case]:
    return [_case("visible-1", VISIBLE, 4, 2), _case("visible-2", VISIBLE, 6, 4)]


SPEC = Spec(
    name="ReplayBuffer",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    dtypes={
        "obs": torch.float32,
        "actions": torch.int64,
        "rewards": torch.float32,
        "next_obs": torch.float32,
        "dones": torch.float32,
    },
    labels={
        ERRORS: "what sample() does when asked for more than the buffer holds (empty buffer; after n1 "
        "pushes: "
        "1 ValueError, 0 no error, -1 another exception)",
        LENGTHS: "len(buffer) after 0 pushes, n1 pushes, capacity pushes and after wrapping around",
        "obs": "the sampled obs (three samples concatenated: half full, full, wrapped around)",
        "actions": "the sampled actions",
        "rewards": "the sampled rewards",
        "next_obs": "the sampled next_obs",
        "dones": "the sampled dones",
        STORED: "whether every sampled transition is one the buffer holds at that time (1 per sample)",
    },
    hints={
        "wrong_dtype": "Store into preallocated tensors of the documented dtypes: float32 observations, "
        "rewards and dones, int64 actions (torch.zeros(capacity, dtype=torch.int64)).",
        "wrong_shape": "sample(B) returns obs and next_obs of shape (B, obs_dim) and actions, rewards, dones "
        "of shape (B,).",
        "wrong_values": "Write push i into slot i % capacity and sample idx = torch.randint(len(self), "
        "(batch_size,), generator=generator).",
    },
)
