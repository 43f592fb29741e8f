"""What happened when student code ran: plain data only (tensors, numbers, strings, bools).

These records are all that crosses from `run_student` (which may later run in a sandbox
process) to `judge`, so every class converts to and from a plain dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from torch import Tensor


def _plain(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict: lists copied, everything else (tensors) as it is.
    (`dataclasses.asdict` deep-copies every tensor: most of the time of encoding a record.)"""
    return {f.name: (list(v) if isinstance(v := getattr(obj, f.name), list) else v) for f in fields(obj)}


@dataclass
class Recorded:
    """One output of a call, as recorded right after the call.

    kind: 'tensor', 'array' (numpy), 'other' (list, float, ...) or 'none' (None).
    value: the values as a CPU tensor in their own dtype (None if they could not be read,
      e.g. a meta tensor or an object that is not numeric).
    """

    kind: str
    type_name: str
    dtype: str
    device: str
    shape: list[int]
    tracks_grad: bool
    value: Tensor | None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recorded:
        return cls(**data)


@dataclass
class Mutation:
    """An argument that the call changed: where, from what, to what, and how much of it."""

    arg: str
    where: str
    before: str
    after: str
    count: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mutation:
        return cls(**data)


@dataclass
class Call:
    """One call of the student's function on a copy of a case's arguments.

    error: 'TypeError: ... (line 3: ...)' if it raised, else ''.
    return_error: why the return value could not be read (wrong structure), else ''.
    outputs: the named outputs (see Spec.outputs).
    replaced: dict entries that were replaced by new tensors where in-place updates were due.
    autograd: the autograd features it used ('calls .backward()', ...).
    warnings: the warnings it raised (captured, never shown on stderr).
    """

    error: str = ""
    return_error: str = ""
    outputs: dict[str, Recorded] = field(default_factory=dict)
    mutations: list[Mutation] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    autograd: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data["outputs"] = {k: v.to_dict() for k, v in self.outputs.items()}
        data["mutations"] = [m.to_dict() for m in self.mutations]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        data = dict(data)
        data["outputs"] = {k: Recorded.from_dict(v) for k, v in data["outputs"].items()}
        data["mutations"] = [Mutation.from_dict(m) for m in data["mutations"]]
        return cls(**data)


@dataclass
class Outcome:
    """Both calls of one case: `first` in the first pass (cases in order) and `again` in
    the second pass (cases in reverse order), which exposes state kept between calls.

    global_reads: global variables holding data (tensors, arrays) that the function's code
      reads, e.g. `epx (tensor of shape (7, 10))`; the same for every case.
    """

    case_id: str
    first: Call
    again: Call
    global_reads: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "first": self.first.to_dict(),
            "again": self.again.to_dict(),
            "global_reads": list(self.global_reads),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            case_id=data["case_id"],
            first=Call.from_dict(data["first"]),
            again=Call.from_dict(data["again"]),
            global_reads=list(data["global_reads"]),
        )
