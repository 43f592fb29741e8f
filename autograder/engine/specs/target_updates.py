"""Cases and references shared by the target-network updates, in place on dicts of tensors:

    hard_update(target, online) -> None            target[k] <- online[k]
    soft_update(target, online, tau) -> None       target[k] <- tau * online[k] + (1 - tau) * target[k]

The dicts map parameter names to tensors, like dict(net.named_parameters()) of two copies of
one network. The target's tensors are updated in place (the network keeps using them) and
must not become the online network's tensors (the two would then move together); `online`
is left unchanged. Parameters that require grad are part of the cases: in-place updates of
them need torch.no_grad().

Outputs: the change of every target tensor (after - before: a soft update moves it by a
small fraction) and `shared`, 1 per key whose target tensor shares memory with the online one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, ReturnError, Spec
from autograder.engine.specs.common import add_probes, replace_arg

KEYS = ("0.weight", "0.bias", "2.weight", "2.bias")
SHARED = "shared"


def out(key: str) -> str:
    return f"target[{key!r}]"


OUTPUTS = (*(out(k) for k in KEYS), SHARED)


def updated(case: Case, tau: float | None = None, rule: str = "right") -> dict[str, Tensor]:
    """The target after the update in float64 (tau None: hard update); `rule` names slips."""
    target, online = as64(case.args[0]), as64(case.args[1])
    t = 1.0 if tau is None else tau
    online_by_position = dict(zip(target, online.values(), strict=True))
    result: dict[str, Tensor] = {}
    for k in KEYS:
        o, old = online[k], target[k]
        if rule == "by_position":
            o = online_by_position[k]
            if o.shape != old.shape:
                return {}
        result[out(k)] = _combine(rule, t, o, old)
    return result


def _combine(rule: str, t: float, o: Tensor, old: Tensor) -> Tensor:
    if rule in ("right", "by_position"):
        return t * o + (1 - t) * old
    if rule == "swapped":
        return (1 - t) * o + t * old
    if rule == "no_decay":
        return old + t * o
    return o if rule == "hard" else old


def tau_of(case: Case) -> float | None:
    return case.args[2] if len(case.args) > 2 else None


def reference(case: Case) -> dict[str, Tensor]:
    return {**updated(case, tau_of(case)), SHARED: torch.zeros(len(KEYS), dtype=torch.float64)}


def bug(code: str, message: str, rule: str, near_miss: bool = True) -> BugModel:
    return BugModel(code, message, lambda c: updated(c, tau_of(c), rule), near_miss)


COMMON_BUGS = (
    BugModel(
        "aliased",
        "is 1: after your update the target and the online network share their tensors (target[k] = "
        "online[k], target.update(online) or .data = ...), so every later step of the online network moves "
        "the target too and the target network is no target at all. Copy the values: "
        "target[k].copy_(online[k]) under torch.no_grad().",
        lambda c: {SHARED: torch.ones(len(KEYS), dtype=torch.float64)},
        near_miss=False,
    ),
    bug(
        "unchanged",
        "is zero: this tensor of the target was not updated. Update every key, in place "
        "(target[k].copy_(...), .mul_(), .add_()); assigning to the name `target` or to a loop variable "
        "inside the function does not change the caller's tensors.",
        "unchanged",
        near_miss=False,
    ),
    bug(
        "key_order",
        "pairs the tensors by position (zip over .values()): here `online` lists its keys in another order. "
        "Pair them by name: for k in target: ... online[k] ...",
        "by_position",
    ),
)


def view(case: Case, name: str, value: Tensor) -> Tensor:
    """A target tensor is judged by its change: value - its value before the call."""
    for k in KEYS:
        if name == out(k):
            before = case.args[0][k].detach().to(torch.float64)
            return value - before if value.shape == before.shape else value
    return value


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    target, online = args[0], args[1]
    if not isinstance(target, Mapping):
        raise ReturnError("left target as something other than a dict")
    found: dict[str, Any] = {}
    shared = []
    for k in KEYS:
        if k not in target:
            raise ReturnError(f"left target without the key {k!r}")
        t = target[k]
        found[out(k)] = t
        o = online.get(k) if isinstance(online, Mapping) else None
        same = (
            isinstance(t, Tensor)
            and isinstance(o, Tensor)
            and t.untyped_storage().data_ptr() == o.untyped_storage().data_ptr()
        )
        shared.append(1.0 if same else 0.0)
    found[SHARED] = torch.tensor(shared, dtype=torch.float64)
    return found


def network(rng: Rng, D: int, H: int, A: int, scale: float = 1.0) -> dict[str, Tensor]:
    return {
        "0.weight": rng.normal(H, D, std=scale * D**-0.5),
        "0.bias": rng.normal(H, std=0.1 * scale),
        "2.weight": rng.normal(A, H, std=scale * H**-0.5),
        "2.bias": rng.normal(A, std=0.1 * scale),
    }


def make_case(
    seed: int,
    id: str,
    kind: str,
    sizes: tuple[int, int, int],
    tau: float | None,
    about: str = "",
    grad: bool = False,
    reorder: bool = False,
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    D, H, A = sizes
    target = network(rng, D, H, A)
    online = {k: v + rng.normal(*v.shape, std=0.3) for k, v in target.items()}  # trained a little further
    if reorder:  # the layers swapped: zip over .values() pairs tensors of the same shapes but other layers
        online = {k: online[k] for k in ("2.weight", "2.bias", "0.weight", "0.bias")}
    target = {k: v.to(dtype).requires_grad_(grad) for k, v in target.items()}
    online = {k: v.to(dtype).requires_grad_(grad) for k, v in online.items()}
    args: Args = (target, online) if tau is None else (target, online, tau)
    text = about or (f"D={D}, H={H}, A={A}" + ("" if tau is None else f", tau={tau:g}"))
    named: dict[str, float] = {"D": D, "H": H, "A": A}
    if tau is not None:
        named["tau"] = tau
    return Case(id, kind, args, text, named)


def cases(seed: int, with_tau: bool) -> tuple[Callable[[], list[Case]], Callable[[], list[Case]]]:
    """(hidden, visible) case factories."""

    def tau(rng: Rng) -> float | None:
        return rng.choice([0.005, 0.01, 0.05, 0.1, 0.5]) if with_tau else None

    def random_cases() -> list[Case]:
        found = []
        for i in range(8):
            rng = Rng(seed + i)
            s = rng.distinct_sizes("DHA", 2, 16)
            found.append(
                make_case(seed + 50 + i, f"random-{i:02d}", RANDOM, (s["D"], s["H"], s["A"]), tau(rng))
            )
        return found

    def new_online(base: Case, rng: Rng) -> Args:
        online = {k: v.detach() + rng.normal(*v.shape, std=0.5) for k, v in base.args[1].items()}
        return replace_arg(base.args, ("target", "online", "tau"), "online", online)

    def new_tau(base: Case, rng: Rng) -> Args:
        return replace_arg(base.args, ("target", "online", "tau"), "tau", 0.3 if base.args[2] != 0.3 else 0.2)

    def hidden() -> list[Case]:
        randoms = random_cases()
        makers = {"online": new_online, **({"tau": new_tau} if with_tau else {})}

        def edge(offset: int, id: str, sizes: tuple[int, int, int], about: str, **kw: Any) -> Case:
            return make_case(seed + offset, f"edge-{id}", EDGE, sizes, tau(Rng(seed + offset)), about, **kw)

        edges = [
            edge(
                100,
                "requires-grad",
                (4, 8, 2),
                "parameters that require grad (use torch.no_grad())",
                grad=True,
            ),
            edge(101, "key-order", (5, 5, 5), "online lists its keys in another order", reorder=True),
            edge(102, "float32", (4, 6, 3), "float32 tensors", dtype=torch.float32),
            edge(103, "cartpole", (4, 64, 2), "CartPole sizes D=4, H=64, A=2"),
        ]
        edges.append(edge(106, "tiny", (1, 1, 1), "one unit in every layer"))
        if with_tau:
            edges += [
                make_case(seed + 104, "edge-tau1", EDGE, (3, 4, 2), 1.0, "tau = 1: a hard update"),
                make_case(seed + 105, "edge-tau0", EDGE, (3, 4, 2), 0.0, "tau = 0: no change"),
            ]
        return randoms + add_probes(randoms[:2], makers, seed=seed + 500) + edges

    def visible() -> list[Case]:
        t = 0.1 if with_tau else None
        return [
            make_case(seed + 200, "visible-1", VISIBLE, (3, 4, 2), t),
            make_case(
                seed + 201,
                "visible-2",
                VISIBLE,
                (4, 8, 2),
                t,
                grad=True,
                about="parameters that require grad (use torch.no_grad())",
            ),
        ]

    return hidden, visible


LABELS = {
    **{out(k): f"the change of target[{k!r}]" for k in KEYS},
    SHARED: "whether target and online share a tensor (one entry per key, 1: shared)",
}
HINTS = {
    "not_in_place": "Write into the target's tensors (target[k].copy_(...), .mul_(), .add_(), .lerp_()) "
    "under torch.no_grad(): the target network keeps using the same tensor objects.",
    "mutates_input": "Only the target changes: read online[k], never write into it.",
    "raised": "Parameters that require grad cannot be changed in place while autograd records: put the loop "
    "under `with torch.no_grad():`.",
}


def make_spec(
    name: str, params: tuple[str, ...], bugs: tuple[BugModel, ...], seed: int, hints: dict[str, str]
) -> Spec:
    hidden, visible = cases(seed, with_tau=len(params) == 3)
    return Spec(
        name=name,
        params=params,
        outputs=OUTPUTS,
        hidden=hidden,
        visible=visible,
        reference=reference,
        unpack=unpack,
        mutable=frozenset({"target"}),
        in_place=frozenset({"target"}),
        bug_models=COMMON_BUGS + bugs,
        view=view,
        labels=LABELS,
        hints={**HINTS, **hints},
        probe_outputs=frozenset(out(k) for k in KEYS),
    )
