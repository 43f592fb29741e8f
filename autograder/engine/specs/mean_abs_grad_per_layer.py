"""mean_abs_grad_per_layer(model, x, y) -> list[float]: the gradient-flow measurement.

For every nn.Linear layer of `model` (in the order of model.modules(), input to output):
the mean of |dL/dW| over its weight matrix, with
L = F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y). Gradients stored in the
parameters before the call must not count, and the parameters must not change.

The model argument of a case is a `CaseNet`: an nn.Sequential that the engine's argument
copy (cases.copy_arg, which rebuilds tuples) turns into a fresh deep copy for every call,
with the same weights and the same stale .grad values. So no call sees what an earlier call
did to its model, and the cases stay untouched. Its layers are built without touching
torch's global random generator (the student's notebook keeps its random state).

Outputs (computed by `unpack` from the returned list and the model after the call):
  values: the returned numbers as a tensor (L,), in the dtype of the model's parameters;
  parameters_kept: 1 if every parameter has the value it had before the call, else 0.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64, copy_arg
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg

PARAMS = ("model", "x", "y")
OUTPUTS = ("values", "parameters_kept")


class CaseNet(nn.Sequential, tuple):  # type: ignore[misc]
    """An nn.Sequential that copy_arg copies deeply: copying iterates over the layers and
    calls CaseNet(layers), which deep-copies them and their stale gradients."""

    __hash__ = object.__hash__  # a Module is hashed by identity (tuple would hash its contents)
    __eq__ = object.__eq__  # type: ignore[assignment]

    def __new__(cls, layers: Iterable[nn.Module] = ()) -> CaseNet:
        return tuple.__new__(cls)

    def __init__(self, layers: Iterable[nn.Module] = ()) -> None:
        originals = list(layers)
        super().__init__(*[copy.deepcopy(m) for m in originals])
        old = [p for m in originals for p in m.parameters()]
        for new, before in zip(self.parameters(), old, strict=True):
            new.grad = None if before.grad is None else before.grad.detach().clone()
        self.initial: list[Tensor] = [p.detach().clone() for p in self.parameters()]


class _ByValue:
    """Mixed into the layers of a case: two layers are equal when they have the same type,
    settings, parameters and stored gradients (so that cases can be compared for determinism);
    hashing stays by identity, as nn.Module needs."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other) or repr(self) != repr(other):
            return False
        mine, theirs = list(self.named_parameters()), list(other.named_parameters())  # type: ignore[attr-defined]
        return len(mine) == len(theirs) and all(
            n == m and torch.equal(p, q) and _same_grad(p.grad, q.grad)
            for (n, p), (m, q) in zip(mine, theirs, strict=True)
        )


def _same_grad(a: Tensor | None, b: Tensor | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))


_BY_VALUE: dict[type, type] = {}


def _compare_by_value(module: nn.Module) -> None:
    """Give every layer of `module` a subclass of its own class (same name) with _ByValue."""
    for m in module.modules():
        cls = type(m)
        if isinstance(m, CaseNet | _ByValue):
            continue
        if cls not in _BY_VALUE:
            _BY_VALUE[cls] = type(cls.__name__, (_ByValue, cls), {"__module__": cls.__module__})
        m.__class__ = _BY_VALUE[cls]


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def build(
    rng: Rng,
    sizes: Sequence[int],
    acts: Sequence[type[nn.Module]],
    dtype: torch.dtype = torch.float32,
    stale: bool = False,
    nest: bool = False,
) -> CaseNet:
    """Linear layers sizes[0] -> sizes[1] -> ... with acts[i] after layer i (none after the last);
    weights N(0, 1/fan_in), biases N(0, 0.1^2); stale gradients N(0, 0.5^2) when `stale`."""
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            linear = nn.Linear(a, b)
            with torch.no_grad():
                linear.weight.copy_(rng.normal(b, a, std=a**-0.5))
                linear.bias.copy_(rng.normal(b, std=0.1))
            block: list[nn.Module] = [linear]
            if i < len(sizes) - 2:
                block.append(acts[i % len(acts)]())
            layers += [nn.Sequential(*block)] if nest and i == 1 else block
    net = CaseNet(layers).to(dtype)
    _compare_by_value(net)
    if stale:
        for p in net.parameters():
            p.grad = rng.normal(*p.shape, std=0.5).to(dtype)
    net.initial = [p.detach().clone() for p in net.parameters()]
    return net


def weight_grads(case: Case, stale: bool = False) -> list[Tensor]:
    """dL/dW of every nn.Linear in float64 by autograd (plus the stale .grad when `stale`)."""
    model = copy_arg(case.args[0]).double()
    x, y = as64(case.args[1:])
    weights = [m.weight for m in linears(model)]
    with torch.enable_grad():
        loss = F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y)
        grads = [g.detach() for g in torch.autograd.grad(loss, weights)]
    if stale:
        grads = [g + (w.grad if w.grad is not None else 0.0) for g, w in zip(grads, weights, strict=True)]
    return grads


def values(grads: list[Tensor], how: str = "mean_abs") -> Tensor:
    fn = {
        "mean_abs": lambda g: g.abs().mean(),
        "mean": lambda g: g.mean(),
        "sum_abs": lambda g: g.abs().sum(),
        "norm": lambda g: g.norm(),
    }[how]
    return torch.stack([fn(g) for g in grads]) if grads else torch.zeros(0, dtype=torch.float64)


def reference(case: Case) -> dict[str, Tensor]:
    return {"values": values(weight_grads(case)), "parameters_kept": torch.tensor(1.0, dtype=torch.float64)}


def _values_bug(code: str, message: str, compute: Any) -> BugModel:
    return BugModel(code, message, lambda c: {"values": compute(c)})


BUGS = (
    _values_bug(
        "stale_gradients",
        "includes the gradients that were stored in the parameters before the call: PyTorch ADDS new "
        "gradients to .grad, so call model.zero_grad() before loss.backward().",
        lambda c: values(weight_grads(c, stale=True)),
    ),
    _values_bug(
        "reversed_layers",
        "lists the layers in reverse order: go from the input to the output, in the order of "
        "model.modules().",
        lambda c: values(weight_grads(c)).flip(0),
    ),
    _values_bug(
        "no_abs",
        "is the mean of dL/dW, not of |dL/dW|: positive and negative entries cancel; take .abs() first.",
        lambda c: values(weight_grads(c), "mean"),
    ),
    _values_bug(
        "sum_not_mean",
        "is the sum of |dL/dW| over the entries, not the mean: use .mean() so that layers of different "
        "sizes can be compared.",
        lambda c: values(weight_grads(c), "sum_abs"),
    ),
    _values_bug(
        "norm_not_mean",
        "is the norm of dL/dW, not the mean of its absolute values.",
        lambda c: values(weight_grads(c), "norm"),
    ),
    BugModel(
        "changes_parameters",
        "is 0: the parameters of the model changed during the call. Only measure the gradients: no "
        "optimizer step, no update of the weights.",
        lambda c: {"parameters_kept": torch.tensor(0.0, dtype=torch.float64)},
        near_miss=False,
    ),
)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if isinstance(returned, Tensor) and returned.dim() > 1:
        raise ReturnError(
            f"returned {describe(returned)}; expected a list with one float per nn.Linear layer"
        )
    if not isinstance(returned, list | tuple | Tensor):
        raise ReturnError(
            f"returned {describe(returned)}; expected a list with one float per nn.Linear layer"
        )
    numbers: list[float] = []
    for item in returned:
        if isinstance(item, Tensor) and item.numel() != 1:
            raise ReturnError(
                f"returned a list holding {describe(item)}; expected one number per layer (the mean of "
                "|dL/dW| over the layer's weight matrix, as a Python float: .mean().item())"
            )
        try:
            numbers.append(float(item))
        except (TypeError, ValueError):
            raise ReturnError(f"returned a list holding {describe(item)}; expected Python floats") from None
    model = args[0]
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    dtype = params[0].dtype if params and params[0].dtype in (torch.float32, torch.float64) else torch.float64
    initial = getattr(model, "initial", [])
    kept = len(initial) == len(params) and all(
        p.shape == q.shape and torch.equal(p.detach().to(q.dtype), q)
        for p, q in zip(params, initial, strict=True)
    )
    return {
        "values": torch.tensor(numbers, dtype=dtype),
        "parameters_kept": torch.tensor(1.0 if kept else 0.0, dtype=torch.float64),
    }


ACTS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    sizes: Sequence[int],
    acts: Sequence[type[nn.Module]],
    N: int,
    about: str = "",
    dtype: torch.dtype = torch.float32,
    stale: bool = False,
    nest: bool = False,
) -> Case:
    model = build(rng, sizes, acts, dtype, stale, nest)
    x = rng.normal(N, sizes[0]).to(dtype)
    y = rng.bernoulli(N).to(dtype)
    names = "-".join(map(str, sizes))
    text = about or f"{'/'.join(a.__name__ for a in acts)} net {names}, N={N}" + (
        ", stale gradients" if stale else ""
    )
    return Case(id, kind, (model, x, y), text, {"N": N, "L": len(sizes) - 1})


def random_cases() -> list[Case]:
    cases = []
    for i in range(8):
        rng = Rng(14000 + i)
        depth = rng.integer(1, 4)
        sizes = [rng.integer(2, 8)] + [rng.integer(2, 10) for _ in range(depth)] + [1]
        acts = [rng.choice(ACTS)]
        cases.append(
            make_case(rng, f"random-{i:02d}", RANDOM, sizes, acts, rng.integer(3, 16), stale=i % 2 == 1)
        )
    return cases


def _fresh_model(base: Case, rng: Rng) -> Args:
    model = base.args[0]
    sizes = [linears(model)[0].in_features] + [m.out_features for m in linears(model)]
    acts = [type(m) for m in model if not isinstance(m, nn.Linear)] or [nn.ReLU]
    dtype = linears(model)[0].weight.dtype
    return replace_arg(base.args, PARAMS, "model", build(rng, sizes, acts, dtype))


def _fresh_x(base: Case, rng: Rng) -> Args:
    x = base.args[1]
    return replace_arg(base.args, PARAMS, "x", rng.normal(*x.shape, std=2.0).to(x.dtype))


def _flipped_y(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "y", 1.0 - base.args[2])


PROBES: dict[str, ProbeMaker] = {"model": _fresh_model, "x": _fresh_x, "y": _flipped_y}


def edge_cases() -> list[Case]:
    def make(
        seed: int, id: str, sizes: list[int], acts: list[type[nn.Module]], N: int, about: str, **kw: Any
    ) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, sizes, acts, N, about, **kw)

    dead = make(
        14105, "dead-layer", [4, 6, 5, 1], [nn.ReLU], 8, "every unit of the second ReLU layer inactive"
    )
    with torch.no_grad():
        layer = linears(dead.args[0])[1]
        layer.bias.fill_(-50.0)
    dead.args[0].initial = [p.detach().clone() for p in dead.args[0].parameters()]
    return [
        make(
            14100, "deep-sigmoid", [3, 8, 8, 8, 8, 8, 1], [nn.Sigmoid], 12, "deep sigmoid net 3-8-8-8-8-8-1"
        ),
        make(
            14101,
            "nested",
            [4, 9, 5, 3, 1],
            [nn.Tanh, nn.LeakyReLU, nn.Sigmoid],
            12,
            "mixed activations, a nested nn.Sequential, stale gradients",
            stale=True,
            nest=True,
        ),
        make(14102, "one-layer-N1", [6, 1], [nn.ReLU], 1, "one layer 6-1, N=1"),
        make(
            14103,
            "float64",
            [2, 10, 6, 1],
            [nn.Tanh],
            12,
            "float64 tanh net 2-10-6-1 with stale gradients",
            dtype=torch.float64,
            stale=True,
        ),
        make(14104, "odd", [5, 7, 3, 1], [nn.ReLU], 9, "ReLU net 5-7-3-1, N=9, stale gradients", stale=True),
        dead,
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], PROBES, seed=14500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(Rng(14200), "visible-1", VISIBLE, [3, 4, 2, 1], [nn.Tanh, nn.ReLU], 6),
        make_case(Rng(14201), "visible-2", VISIBLE, [2, 5, 1], [nn.Sigmoid], 4, stale=True),
    ]


SPEC = Spec(
    name="mean_abs_grad_per_layer",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    mutable=frozenset({"model"}),
    bug_models=BUGS,
    labels={
        "values": "the list of mean |dL/dW| per layer",
        "parameters_kept": "'the parameters were left unchanged' (1 = yes)",
    },
    probe_outputs=frozenset({"values"}),
    hints={
        "wrong_shape": "Return one number per nn.Linear layer (its weight only, not its bias). Find the "
        "layers with model.modules(), which also looks inside nested nn.Sequential blocks.",
        "hidden_state": "PyTorch adds to .grad: call model.zero_grad() before loss.backward().",
        "wrong_values": "L = F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y); after "
        "model.zero_grad() and L.backward(), each layer's number is layer.weight.grad.abs().mean().item().",
    },
)
