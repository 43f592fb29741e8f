"""A Spec says everything the engine knows about one stub: how to call it, how to read
its result, the reference answer, and the typical wrong answers worth recognising.

Adding a stub = writing one module in `autograder/engine/specs/` that builds a `Spec`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import Case
from autograder.engine.verdicts import CODES

# How the dtype of an output is judged:
#   FLOAT: any float32 or float64 tensor (students may compute in float32);
#   "same:<param>": the dtype of that argument (e.g. apply_mask keeps x's dtype);
#   a torch.dtype: exactly that dtype (e.g. prepro returns float32).
FLOAT = "float"
DtypeRule = str | torch.dtype


class ReturnError(Exception):
    """The return value does not have the documented structure."""


@dataclass(frozen=True)
class BugModel:
    """A typical wrong answer: if an output matches `compute(case)[output]` (and that
    differs from the reference), the diagnosis is `code` with `message`.

    near_miss: a recognised single slip; on typical cases it earns half the credit of a
    correct case within the small share such functions can get (see report.score).
    """

    code: str
    message: str
    compute: Callable[[Case], dict[str, Tensor]]
    near_miss: bool = True


@dataclass(frozen=True)
class Spec:
    """How to grade one stub.

    params: argument names, in call order (cases pass arguments positionally).
    outputs: names of the results that are compared, e.g. ('dW1', 'dW2').
    hidden / visible: deterministic case lists for `grade` and `check`.
    reference: the expected outputs of a case, as float64 tensors (never student code).
    unpack: (returned value, the arguments after the call) -> {output name: object};
      raises ReturnError when the structure is wrong.
    by_hand: autograd is forbidden (gradients must be computed by hand).
    mutable: arguments the stub is meant to change (not reported as mutated).
    in_place: dict arguments whose tensors must be updated in place, not replaced.
    dtypes: per-output DtypeRule; outputs not listed use FLOAT.
    loose_shape: outputs whose shape may differ from the reference by size-1 dims.
    bug_models: recognised wrong answers, tried in order.
    view: maps an output tensor before comparison (both student's and reference), e.g.
      the change of a parameter instead of its new value.
    labels: how an output is called in sentences ('the update of model['W1']').
    hints: one sentence of advice per verdict code.
    probe_outputs: the outputs that argument probes look at (None: all of them); leave out
      outputs that legitimately ignore some arguments.
    """

    name: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    hidden: Callable[[], list[Case]]
    visible: Callable[[], list[Case]]
    reference: Callable[[Case], dict[str, Tensor]]
    unpack: Callable[[Any, list[Any]], dict[str, Any]]
    by_hand: bool = False
    mutable: frozenset[str] = frozenset()
    in_place: frozenset[str] = frozenset()
    dtypes: Mapping[str, DtypeRule] = field(default_factory=dict)
    loose_shape: frozenset[str] = frozenset()
    bug_models: tuple[BugModel, ...] = ()
    view: Callable[[Case, str, Tensor], Tensor] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    probe_outputs: frozenset[str] | None = None

    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)})"

    def label(self, output: str) -> str:
        return self.labels.get(output, output)

    def codes(self) -> set[str]:
        """Every verdict code this stub's reports can contain."""
        return set(CODES) | {model.code for model in self.bug_models}


def describe(value: Any) -> str:
    """A short description of a value for messages: 'a tensor of shape (3, 4)', 'None'."""
    if value is None:
        return "None"
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    if isinstance(value, Mapping):
        return f"a dict with keys {sorted(map(str, value))}"
    return f"a {type(value).__module__}.{type(value).__name__}".replace("builtins.", "")


def unpack_single(name: str) -> Callable[[Any, list[Any]], dict[str, Any]]:
    """The function returns one value."""

    def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
        if returned is None:
            raise ReturnError("returned None: did you forget the `return` statement?")
        if isinstance(returned, tuple | list) and len(returned) and isinstance(returned[0], Tensor):
            raise ReturnError(f"returned {describe(returned)}, expected a single tensor")
        return {name: returned}

    return unpack


def unpack_tuple(*names: str) -> Callable[[Any, list[Any]], dict[str, Any]]:
    """The function returns a tuple with one item per name."""

    def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
        if not isinstance(returned, tuple | list) or len(returned) != len(names):
            hint = " (did you forget the `return` statement?)" if returned is None else ""
            raise ReturnError(f"returned {describe(returned)}{hint}, expected a tuple ({', '.join(names)})")
        return dict(zip(names, returned, strict=True))

    return unpack


def unpack_dict(*keys: str) -> Callable[[Any, list[Any]], dict[str, Any]]:
    """The function returns a dict with (at least) these keys."""

    def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
        if not isinstance(returned, Mapping):
            hint = " (did you forget the `return` statement?)" if returned is None else ""
            raise ReturnError(f"returned {describe(returned)}{hint}, expected a dict with keys {list(keys)}")
        missing = [k for k in keys if k not in returned]
        if missing:
            raise ReturnError(f"returned a dict without the key(s) {missing}; expected keys {list(keys)}")
        return {k: returned[k] for k in keys}

    return unpack
