"""Numerical comparison of a student's tensor with the float64 reference.

Every comparison is elementwise with a bound that mixes a relative part (per entry) and
an absolute part measured against the *scale* of the expected tensor (its largest
magnitude), so that entries that cancel to almost zero are not judged by a relative
error they cannot meet in float32.

Dtype policy. The reference is always computed in float64. Cases give float64 inputs
wherever the signature allows (apply_mask: float32 images like MNIST; prepro: uint8
frames), plus one float32 edge case per stub. Results may be float32 or float64 unless
the stub's docstring fixes the dtype (prepro: float32; apply_mask: the dtype of x).
A result is judged with the tolerance of its own dtype; a float64 result that only meets
the float32 tolerance still passes, with a note, because computing in float32 on purpose
(the course's default dtype) is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Tolerance:
    """|got - expected| <= rtol * |expected| + atol * scale, scale = max |expected|."""

    rtol: float
    atol: float


# float64 results: float64 code on our sizes (sums of at most a few thousand terms) is
# accurate to ~1e-13 of the scale; 1e-9 leaves a margin of 1e4 (measured on the test
# corpus: correct float64 code uses at most 1/40000 of this bound) and still notices a
# float32 step hidden inside float64 code (errors ~1e-7), which is then only mentioned.
FLOAT64 = Tolerance(rtol=1e-9, atol=1e-9)
# float32 results (float32 inputs, or code that computes in float32 on purpose):
# eps32 = 1.2e-7 and our sums have at most ~2000 terms with random signs, so round-off
# stays below ~1e-5 of the scale (measured: correct float32 code uses at most 1/15 of
# this bound, rmsprop's small parameter changes being the tightest), while every bug the
# engine looks for moves some entry by at least 1% of the scale, 100 times the bound.
FLOAT32 = Tolerance(rtol=1e-4, atol=1e-5)
# float16 / bfloat16 results are always flagged as a wrong dtype; this bound only lets
# the report say whether the values were right otherwise (eps16 ~ 1e-3).
FLOAT16 = Tolerance(rtol=1e-2, atol=1e-2)


def tolerance_for(dtype: str) -> Tolerance:
    """The pass/fail tolerance for a result of this dtype (a str like 'torch.float64')."""
    if dtype.endswith("float64") or dtype.endswith("double"):
        return FLOAT64
    if dtype.endswith("float16") or dtype.endswith("bfloat16") or dtype.endswith("half"):
        return FLOAT16
    return FLOAT32


ZERO_SCALE = 1e-12  # scale of an all-zero expectation: results must then be zero up to round-off


def scale_of(expected: Tensor) -> float:
    """The largest finite magnitude of `expected` (ZERO_SCALE when it has none above zero).
    An infinite entry must not set the scale: the absolute part of every bound would be inf."""
    if expected.numel() == 0:
        return ZERO_SCALE
    s = float(expected.abs().max())
    if not math.isfinite(s):
        finite = expected[torch.isfinite(expected)]
        s = float(finite.abs().max()) if finite.numel() else 0.0
    return s if s > 0.0 else ZERO_SCALE


def bound(expected: Tensor, tol: Tolerance, scale: float | None = None) -> Tensor:
    """The allowed absolute error of every entry."""
    s = scale_of(expected) if scale is None else scale
    return tol.rtol * expected.abs() + tol.atol * s


def close_mask(expected: Tensor, got: Tensor, tol: Tolerance, scale: float | None = None) -> Tensor:
    """Boolean tensor: entries of `got` within tolerance of `expected` (same shape, float64).
    Where `expected` is infinite only the same infinity is close (its bound would be inf)."""
    ok = (got - expected).abs() <= bound(expected, tol, scale)
    return (ok & torch.isfinite(expected)) | (got == expected)


def allclose(expected: Tensor, got: Tensor, tol: Tolerance, scale: float | None = None) -> bool:
    """True when shapes agree and every entry is within tolerance."""
    if expected.shape != got.shape:
        return False
    return bool(close_mask(expected, got, tol, scale).all())


def same_result(one: Tensor, two: Tensor, tol: Tolerance, scale: float) -> bool:
    """Two results of the same code agree: NaN in the same places, the rest within tolerance."""
    if one.shape != two.shape:
        return False
    nan_one, nan_two = torch.isnan(one), torch.isnan(two)
    if not torch.equal(nan_one, nan_two):
        return False
    return bool(close_mask(one.masked_fill(nan_one, 0.0), two.masked_fill(nan_two, 0.0), tol, scale).all())


def worst_index(expected: Tensor, got: Tensor, tol: Tolerance) -> tuple[int, ...]:
    """Index of the entry with the largest error relative to its allowed error."""
    err = (got - expected).abs() / bound(expected, tol).clamp_min(1e-300)
    err = torch.nan_to_num(err, nan=float("inf")).masked_fill(got == expected, 0.0)  # inf == inf: no error
    flat = int(torch.argmax(err.reshape(-1))) if err.numel() else 0
    index: list[int] = []
    for size in reversed(expected.shape):  # row-major, as reshape(-1) flattened it
        flat, entry = divmod(flat, size) if size else (0, 0)
        index.append(entry)
    return tuple(reversed(index))


def fmt_number(value: float) -> str:
    """A short, exact-enough rendering of one number."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.6g}"


def fmt_index(name: str, index: tuple[int, ...]) -> str:
    """`W1[2, 0]`, or just `p` for a 0-dimensional result."""
    return f"{name}[{', '.join(str(i) for i in index)}]" if index else name


def fmt_entry(name: str, expected: Tensor, got: Tensor, index: tuple[int, ...]) -> str:
    """`W1[2, 0]: expected 0.5, got -0.5`."""
    e, g = float(expected[index]), float(got[index])
    return f"{fmt_index(name, index)}: expected {fmt_number(e)}, got {fmt_number(g)}"


def fmt_shape(shape: tuple[int, ...] | list[int], names: dict[str, float] | None = None) -> str:
    """`(3, 4)`, followed by `= (D, H)` when every size matches exactly one named size."""
    text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if not names or not shape:
        return text
    labels: list[str] = []
    for size in shape:
        matches = [k for k, v in names.items() if len(k) <= 2 and v == size]
        if len(matches) != 1:
            return text
        labels.append(matches[0])
    return f"{text} = ({', '.join(labels)}{',' if len(labels) == 1 else ''})"
