"""Phase 1 of grading: run the student's function and record what happened.

This is the only module that calls student code. It returns plain data (`Outcome`), so
it can move into a sandbox process without changing `judge`.
"""

from __future__ import annotations

import dis
import functools
import inspect
import io
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from autograder.engine.cases import Case, copy_arg
from autograder.engine.outcome import Call, Mutation, Outcome, Recorded
from autograder.engine.spec import ReturnError, Spec, describe

MAX_TEXT = 300  # characters kept of an exception message or a warning
MAX_WARNINGS = 3

_AUTOGRAD_CALLS: dict[Any, str] = {
    torch.Tensor.backward: "calls .backward()",
    torch.autograd.backward: "calls torch.autograd.backward",
    # torch.func.grad/vjp/jacrev and torch.autograd.functional.* end up here too
    torch.autograd.grad: "calls torch.autograd.grad (perhaps via torch.func or torch.autograd.functional)",
}
_TRACKING = "computes with tensors that require grad (autograd records a graph)"
_RETURNS_GRAPH = "returns tensors that require grad or carry a grad_fn"


def run_student(spec: Spec, fn: Callable[..., Any], cases: list[Case]) -> list[Outcome]:
    """Call `fn` on copies of every case, twice: all cases in order, then in reverse order.

    A function without hidden state gives the same result both times.
    """
    reads = global_data_reads(fn)
    first = [call_once(spec, fn, case) for case in cases]
    again = {case.id: call_once(spec, fn, case) for case in reversed(cases)}
    return [Outcome(case.id, call, again[case.id], reads) for case, call in zip(cases, first, strict=True)]


def call_once(spec: Spec, fn: Callable[..., Any], case: Case) -> Call:
    """One call on fresh copies of the case's arguments; `case.args` stay untouched."""
    given = [copy_arg(a) for a in case.args]
    params = spec.params[: len(given)]
    held = {
        p: dict(v) for p, v in zip(params, given, strict=True) if p in spec.in_place and isinstance(v, dict)
    }
    call = Call()
    spy = _AutogradSpy() if spec.by_hand else None
    returned: Any = None
    with _quiet(call.warnings):
        try:
            if spy is None:
                returned = fn(*given)
            else:
                with spy:
                    returned = fn(*given)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: B036 (a student's sys.exit() must not end grading)
            call.error = describe_exception(exc, fn)
        if not call.error:
            _read_outputs(spec, returned, given, call)
    if spy is not None:
        call.autograd.extend(spy.used)
        if any(r.tracks_grad for r in call.outputs.values()):
            call.autograd.append(_RETURNS_GRAPH)
    for p, before, after in zip(params, case.args, given, strict=True):
        if p not in spec.mutable:
            call.mutations.extend(find_mutations(p, before, after))
    for p, entries in held.items():
        after = given[params.index(p)]
        call.replaced.extend(f"{p}[{k!r}]" for k, v in entries.items() if after.get(k) is not v)
    return call


def _read_outputs(spec: Spec, returned: Any, given: list[Any], call: Call) -> None:
    try:
        raw = spec.unpack(returned, given)
        call.outputs = {name: record(value) for name, value in raw.items()}
    except ReturnError as exc:
        call.return_error = str(exc)
    except Exception as exc:
        call.return_error = f"its result could not be read: {type(exc).__name__}: {exc}"[:MAX_TEXT]


def record(value: Any) -> Recorded:
    """A detached CPU copy of one output, with its type, dtype, device and shape."""
    if value is None:
        return Recorded("none", "None", "", "", [], False, None)
    if isinstance(value, Tensor):
        tracks = bool(value.requires_grad or value.grad_fn is not None)
        data = None if value.device.type == "meta" else value.detach().to("cpu").clone()
        return Recorded(
            "tensor", "torch.Tensor", str(value.dtype), value.device.type, list(value.shape), tracks, data
        )
    if isinstance(value, np.ndarray):
        try:
            data = torch.from_numpy(np.array(value, copy=True)) if value.dtype.kind in "biuf" else None
        except (TypeError, ValueError):
            data = None
        return Recorded(
            "array", "numpy.ndarray", f"numpy.{value.dtype}", "cpu", list(value.shape), False, data
        )
    try:
        array = np.asarray(value, dtype=np.float64)
        data, shape = torch.from_numpy(array.copy()), list(array.shape)
    except Exception:
        data, shape = None, []
    return Recorded("other", describe(value).removeprefix("a "), "", "cpu", shape, False, data)


def find_mutations(name: str, before: Any, after: Any) -> list[Mutation]:
    """How `after` (the argument as the function left it) differs from `before`."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found: list[Mutation] = []
        for key in before:
            where = f"{name}[{key!r}]"
            if key not in after:
                found.append(Mutation(name, where, "present", "removed", 1, 1))
            else:
                found.extend(find_mutations(where, before[key], after[key]))
        found.extend(
            Mutation(name, f"{name}[{k!r}]", "absent", "added", 1, 1) for k in after if k not in before
        )
        return [_with_arg(m, name) for m in found]
    if isinstance(before, Tensor) and isinstance(after, Tensor):
        return _array_change(name, before.detach().cpu().numpy(), after.detach().cpu().numpy())
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return _array_change(name, before, after)
    return []


def _with_arg(m: Mutation, arg: str) -> Mutation:
    return Mutation(arg, m.where, m.before, m.after, m.count, m.total)


def _array_change(name: str, before: np.ndarray, after: np.ndarray) -> list[Mutation]:
    if before.shape != after.shape or before.dtype != after.dtype:
        return [Mutation(name, name, f"{before.dtype} {before.shape}", f"{after.dtype} {after.shape}", 1, 1)]
    changed = before != after
    if before.dtype.kind == "f":
        changed &= ~(np.isnan(before) & np.isnan(after))
    count = int(changed.sum())
    if count == 0:
        return []
    index = tuple(int(i) for i in np.argwhere(changed)[0])
    where = f"{name}[{', '.join(map(str, index))}]" if index else name
    return [Mutation(name, where, _num(before[index]), _num(after[index]), count, int(before.size))]


def _num(value: Any) -> str:
    return f"{float(value):.6g}"


def describe_exception(exc: BaseException, fn: Callable[..., Any]) -> str:
    """`ValueError: ... (line 3 of prepro: I[I == 144] = 0)`, pointing into the student's code."""
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    code = _code_of(fn)
    if code is not None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == code.co_filename]
        if frames and frames[-1].line:
            last = frames[-1]
            text += f" (line {last.lineno} of {last.name}: {last.line.strip()})"
    return text


def global_data_reads(fn: Callable[..., Any]) -> list[str]:
    """Global variables holding data (tensors, arrays, dicts of them) that `fn` reads."""
    target = _target(fn)
    code = _code_of(fn)
    namespace = getattr(target, "__globals__", None)
    if code is None or not isinstance(namespace, dict):
        return []
    names: set[str] = set()
    pending = [code]
    while pending:
        c = pending.pop()
        names.update(i.argval for i in dis.get_instructions(c) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
        pending.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return [
        f"{n} ({describe(namespace[n])})" for n in sorted(names) if n in namespace and _is_data(namespace[n])
    ]


def _is_data(value: Any) -> bool:
    if isinstance(value, Tensor | np.ndarray):
        return True
    if isinstance(value, Mapping):
        return any(isinstance(v, Tensor | np.ndarray) for v in list(value.values())[:8])
    if isinstance(value, list | tuple):
        return any(isinstance(v, Tensor | np.ndarray) for v in value[:8])
    return False


def _target(fn: Callable[..., Any]) -> Any:
    """The Python function behind `fn` (through partials, decorators, callable objects)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn)
    if not inspect.isfunction(fn) and not inspect.ismethod(fn):
        call = type(fn).__dict__.get("__call__")
        if inspect.isfunction(call):
            return call
    return fn


def _code_of(fn: Callable[..., Any]) -> types.CodeType | None:
    code = getattr(_target(fn), "__code__", None)
    return code if isinstance(code, types.CodeType) else None


@contextmanager
def _quiet(sink: list[str]) -> Iterator[None]:
    """Student prints and warnings go nowhere visible (nbgrader zeroes cells that write to
    stderr); warnings are kept in `sink`."""
    buffer = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, redirect_stdout(buffer), redirect_stderr(buffer):
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"[:MAX_TEXT]
        if text not in sink and len(sink) < MAX_WARNINGS:
            sink.append(text)


class _AutogradSpy(TorchFunctionMode):
    """Notes every use of autograd while active: backward/grad calls (also those made by
    torch.func and torch.autograd.functional) and any tensor that requires grad."""

    def __init__(self) -> None:
        super().__init__()
        self.used: list[str] = []

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        try:
            what = _AUTOGRAD_CALLS.get(func)
        except TypeError:  # an unhashable callable
            what = None
        if what:
            self._note(what)
        out = func(*args, **(kwargs or {}))
        if _TRACKING not in self.used and _tracks_grad(out):
            self._note(_TRACKING)
        return out

    def _note(self, what: str) -> None:
        if what not in self.used:
            self.used.append(what)


def _tracks_grad(out: Any) -> bool:
    if isinstance(out, Tensor):
        return bool(out.requires_grad)
    if isinstance(out, tuple | list):
        return any(isinstance(o, Tensor) and o.requires_grad for o in out)
    return False
