"""Outcomes on the wire: from the student's (sandboxed) kernel to the grading process.

The kernel only runs the student's function and records what happened; the grading
process decodes that record and judges it. The format is JSON with tensors as raw
little-endian bytes in base64 and an allow-listed dtype, so decoding never unpickles
and never runs code. Anything malformed raises `WireError`; the caller scores it 0.

A record is a small envelope {"version", "stub", "outcomes"} whose outcomes are one JSON
text, not nested JSON: on its way from the kernel the record passes Jupyter's message
layer, nbclient and nbformat, and each of them walks every object of a nested payload
(hundreds of cases make tens of thousands of objects); a string they pass along whole.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import torch

from autograder.engine.cases import Case
from autograder.engine.outcome import Call, Outcome

MIME = "application/vnd.rlgrade.outcomes+json"
VERSION = 2
MAX_BYTES = 64 * 2**20  # a payload larger than this is refused, not decoded

_DTYPES: dict[str, np.dtype] = {
    str(t): np.dtype(n).newbyteorder("<")
    for t, n in (
        (torch.float64, "f8"),
        (torch.float32, "f4"),
        (torch.float16, "f2"),
        (torch.int64, "i8"),
        (torch.int32, "i4"),
        (torch.int16, "i2"),
        (torch.int8, "i1"),
        (torch.uint8, "u1"),
        (torch.bool, "?"),
    )
}


class WireError(ValueError):
    """A payload that is not a well-formed record of this stub's cases."""


def encode(stub: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """A JSON-safe record of `outcomes` (tensors as base64 bytes, the outcomes as JSON text)."""
    text = json.dumps([_tensors_out(o.to_dict()) for o in outcomes], separators=(",", ":"))
    return {"version": VERSION, "stub": stub, "outcomes": text}


def decode(payload: Any, stub: str, cases: list[Case]) -> list[Outcome]:
    """Outcomes in the order of `cases`; a case the record lacks gets an error call."""
    if isinstance(payload, str | bytes):
        payload = _json(payload)
    if not isinstance(payload, dict) or payload.get("version") != VERSION or payload.get("stub") != stub:
        raise WireError(f"the recorded result is not a version-{VERSION} record of {stub}")
    if not isinstance(payload.get("outcomes"), str):
        raise WireError("the recorded result has no outcomes text")
    outcomes = _json(payload["outcomes"], tensors=True)
    if not isinstance(outcomes, list):
        raise WireError("the recorded outcomes are not a list")
    try:
        recorded = [Outcome.from_dict(o) for o in outcomes]
    except WireError:
        raise
    except Exception as exc:  # any structural mismatch is the same: unreadable
        raise WireError(f"the recorded result is malformed ({type(exc).__name__}: {exc})"[:300]) from None
    by_id = {o.case_id: o for o in recorded}
    missing = Call(error="RecordMissing: no result was recorded for this case")
    return [by_id.get(c.id) or Outcome(c.id, missing, missing) for c in cases]


def _json(text: str | bytes, tensors: bool = False) -> Any:
    """Parsed JSON text; with `tensors`, every encoded tensor in it decoded as it is parsed."""
    if len(text) > MAX_BYTES:
        raise WireError(f"the recorded result is larger than {MAX_BYTES // 2**20} MB")
    try:
        return json.loads(text, object_hook=_tensor_in if tensors else None)
    except WireError:
        raise
    except ValueError as exc:
        raise WireError(f"the recorded result is not JSON: {exc}") from None
    except Exception as exc:  # e.g. nesting too deep, an unhashable dtype name
        raise WireError(f"the recorded result is malformed ({type(exc).__name__}: {exc})"[:300]) from None


def _tensors_out(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        if str(t.dtype) not in _DTYPES:
            t = t.to(torch.float64)  # e.g. bfloat16 or complex parts: values only
        array = np.ascontiguousarray(t.numpy().astype(_DTYPES[str(t.dtype)], copy=False))
        data = base64.b64encode(array.tobytes()).decode("ascii")
        return {"__tensor__": str(t.dtype), "shape": list(t.shape), "data": data}
    if isinstance(value, dict):
        return {k: _tensors_out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tensors_out(v) for v in value]
    return value


def _tensor_in(value: dict[str, Any]) -> Any:
    """A JSON object as it is parsed: an encoded tensor becomes the tensor, anything else stays."""
    if "__tensor__" not in value:
        return value
    dtype = _DTYPES.get(value["__tensor__"])
    shape = value.get("shape")
    if dtype is None or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise WireError(f"the recorded result has an unreadable tensor ({value['__tensor__']!r})")
    try:
        raw = base64.b64decode(value["data"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise WireError("the recorded result has a tensor whose data is not base64") from None
    if len(raw) != math.prod(shape) * dtype.itemsize:  # exact: a huge shape cannot overflow
        raise WireError("the recorded result has a tensor whose data does not match its shape")
    # astype copies (into native byte order): the tensor owns writable memory, not `raw`'s
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return torch.from_numpy(array)
