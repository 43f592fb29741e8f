"""Diagnosis of one output of one call: type, device, dtype, shape, then values.

When values are wrong, the diagnosis tries, in order: the spec's bug models, a transpose,
a sign flip or a constant factor, a mostly-opposite direction; otherwise it says where and
how much the values are wrong. Every message about values shows the worst entry.
Generic findings get the spec's hint for their code; bug models carry their own advice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import Case
from autograder.engine.compare import (
    FLOAT32,
    FLOAT64,
    Tolerance,
    allclose,
    close_mask,
    fmt_entry,
    fmt_number,
    fmt_shape,
    scale_of,
    tolerance_for,
    worst_index,
)
from autograder.engine.outcome import Recorded
from autograder.engine.spec import FLOAT, Spec
from autograder.engine.verdicts import CONTRACT, FAIL, NOTE, Finding

MIN_SIGNIFICANT = 3  # entries needed before any factor is inferred (fewer: only -1 and named ones)
SIGNIFICANT = 1e-3  # an entry is significant when |e| > SIGNIFICANT * scale
OPPOSITE_SHARE = 0.9  # share of significant entries with flipped sign that means "the opposite way"
FACTOR_RTOL = 1e-5  # how close a fitted factor must be to -1 or to a named one (N, 1/T, gamma, ...)

# the bug models' outputs for one case, computed on demand: model index -> {output: tensor}
BugValues = Callable[[int], Mapping[str, Tensor]]


def generic(
    spec: Spec, code: str, severity: str, name: str, message: str, near_miss: bool = False
) -> Finding:
    """A finding of the engine's own diagnosis, with the spec's hint for `code` appended."""
    hint = spec.hints.get(code)
    return Finding(code, severity, name, f"{message} {hint}" if hint else message, near_miss=near_miss)


def diagnose_output(
    spec: Spec, case: Case, name: str, expected: Tensor, rec: Recorded, bugs: BugValues
) -> list[Finding]:
    """All findings about output `name` of one call (empty when it is right)."""
    label = spec.label(name)
    if rec.kind == "none":
        return [generic(spec, "bad_return", FAIL, name, f"{label} is None: did you forget to return it?")]
    found: list[Finding] = []
    if rec.kind != "tensor":
        found.append(
            generic(
                spec,
                "not_tensor",
                CONTRACT,
                name,
                f"{label} is a {rec.type_name}, expected a torch.Tensor "
                "(convert with torch.as_tensor / torch.from_numpy, or compute with torch).",
            )
        )
    device = expected_device(case)
    if rec.kind == "tensor" and rec.device != device:
        found.append(
            generic(
                spec,
                "wrong_device",
                CONTRACT,
                name,
                f"{label} is on device '{rec.device}' but the inputs are on '{device}': create new "
                "tensors on the inputs' device (device=x.device, or torch.zeros_like(x)).",
            )
        )
    problem = dtype_problem(spec, case, name, rec)
    if problem:
        found.append(generic(spec, "wrong_dtype", CONTRACT, name, problem))
    if rec.value is None:
        found.append(generic(spec, "wrong_values", FAIL, name, f"the values of {label} could not be read."))
        return found
    got = rec.value.to(torch.float64)
    if tuple(got.shape) != tuple(expected.shape):
        if name in spec.loose_shape and _same_but_size1(got.shape, expected.shape):
            got = got.reshape(expected.shape)
        else:
            return found + [shape_finding(spec, case, name, expected, got)]
    if spec.view is not None:
        expected, got = spec.view(case, name, expected), spec.view(case, name, got)
    return found + value_findings(spec, case, name, expected, got, tolerance_for(rec.dtype), bugs)


def value_findings(
    spec: Spec, case: Case, name: str, expected: Tensor, got: Tensor, tol: Tolerance, bugs: BugValues
) -> list[Finding]:
    """Findings about the values of a result that has the right shape."""
    label = spec.label(name)
    if allclose(expected, got, tol):
        return []
    if tol is FLOAT64 and allclose(expected, got, FLOAT32):
        entry = fmt_entry(name, expected, got, worst_index(expected, got, FLOAT64))
        return [
            Finding(
                "float32_precision",
                NOTE,
                name,
                f"{label} is float64 but agrees with the reference only to float32 precision ({entry}): "
                "fine if you compute in float32 on purpose; otherwise look for a float32 step or a small "
                "deviation from the formula.",
            )
        ]
    bad = ~torch.isfinite(got) & torch.isfinite(expected)
    if bool(bad.any()):
        first = tuple(int(i) for i in torch.argwhere(bad)[0])
        return [
            generic(
                spec,
                "not_finite",
                FAIL,
                name,
                f"{label} contains NaN or inf at {int(bad.sum())} of {got.numel()} entries, first at "
                f"{fmt_entry(name, expected, got, first)}. Look for log(0), 0/0 or an overflowing exp.",
            )
        ]
    return [wrong_values(spec, case, name, expected, got, bugs)]


def wrong_values(
    spec: Spec, case: Case, name: str, expected: Tensor, got: Tensor, bugs: BugValues
) -> Finding:
    """The single most specific explanation of wrong values."""
    label = spec.label(name)
    worst = worst_entry(name, expected, got)
    for i, model in enumerate(spec.bug_models):
        wrong = bugs(i).get(name)
        if wrong is None:
            continue
        if spec.view is not None:
            wrong = spec.view(case, name, wrong)
        if (
            wrong.shape == got.shape
            and allclose(wrong, got, FLOAT32)
            and not allclose(expected, wrong, FLOAT32)
        ):
            return Finding(
                model.code, FAIL, name, f"{label} {model.message} {worst}", near_miss=model.near_miss
            )
    if expected.dim() == 2 and expected.shape[0] == expected.shape[1] and allclose(expected.T, got, FLOAT32):
        return generic(
            spec, "transposed", FAIL, name, f"{label} is the transpose of the right result. {worst}", True
        )
    factor = factor_finding(spec, case, name, expected, got, worst)
    if factor is not None:
        return factor
    ok = close_mask(expected, got, FLOAT32)
    if not bool(got.any()):
        how = "is all zeros"
    elif bool(ok.any()):
        how = f"is wrong at {int((~ok).sum())} of {ok.numel()} entries"
    else:
        how = "is wrong at every entry"
    return generic(spec, "wrong_values", FAIL, name, f"{label} {how}. {worst}")


def factor_finding(
    spec: Spec, case: Case, name: str, expected: Tensor, got: Tensor, worst: str
) -> Finding | None:
    """opposite_sign or scaled when `got` is a constant multiple of `expected`, or points the
    opposite way. With fewer than MIN_SIGNIFICANT entries any wrong value is some multiple of
    the expected one, so there only -1 and named factors (N, 1/T, gamma, ...) count."""
    label = spec.label(name)
    significant = expected.abs() > SIGNIFICANT * scale_of(expected)
    n = int(significant.sum())
    if n == 0:
        return None
    factor = float((got * expected).sum() / (expected * expected).sum())
    if abs(factor) > FACTOR_RTOL and allclose(factor * expected, got, FLOAT32):
        if abs(factor + 1.0) < FACTOR_RTOL:
            message = f"{label} has the opposite sign of the right result. {worst}"
            return generic(spec, "opposite_sign", FAIL, name, message, near_miss=True)
        text = name_factor(factor, case.sizes)
        if n >= MIN_SIGNIFICANT or not text.startswith("scaled by"):
            message = f"{label} is {text} compared with the right result. {worst}"
            return generic(spec, "scaled", FAIL, name, message, near_miss=True)
    if n >= MIN_SIGNIFICANT:
        share = float(((torch.sign(got) == -torch.sign(expected)) & significant).sum()) / n
        if share >= OPPOSITE_SHARE:
            message = (
                f"{label} points the opposite way: {share:.0%} of its entries have the wrong sign "
                f"(and the sizes differ too). {worst}"
            )
            return generic(spec, "opposite_sign", FAIL, name, message)
    return None


def name_factor(factor: float, sizes: Mapping[str, float]) -> str:
    """'divided by T (=7)', 'multiplied by gamma (=0.9)', 'halved', or 'scaled by 0.37'."""
    candidates: list[tuple[float, str]] = [(2.0, "doubled"), (0.5, "halved")]
    for key, value in sizes.items():
        if value not in (0, 1, -1):
            shown = f"{key} (={fmt_number(float(value))})"
            candidates += [(float(value), f"multiplied by {shown}"), (1.0 / value, f"divided by {shown}")]
    candidates += [(-v, f"of opposite sign and {t}") for v, t in candidates]
    names = [t for v, t in candidates if abs(factor - v) <= FACTOR_RTOL * abs(v)]
    return " or ".join(dict.fromkeys(names)) if names else f"scaled by {factor:.4g}"


def shape_finding(spec: Spec, case: Case, name: str, expected: Tensor, got: Tensor) -> Finding:
    """wrong_shape (or transposed), saying whether the values would be right otherwise."""
    want, have = fmt_shape(tuple(expected.shape), case.sizes), fmt_shape(tuple(got.shape), case.sizes)
    text = f"{spec.label(name)} has shape {have}, expected {want}"
    if got.dim() == 2 and tuple(got.T.shape) == tuple(expected.shape):
        if allclose(expected, got.T, FLOAT32):
            return generic(
                spec, "transposed", FAIL, name, f"{text}: it is the transpose of the right result.", True
            )
        return generic(
            spec, "wrong_shape", FAIL, name, f"{text} (it looks transposed, and its values are wrong too)."
        )
    if got.numel() == expected.numel() and allclose(expected, got.reshape(expected.shape), FLOAT32):
        return generic(
            spec, "wrong_shape", FAIL, name, f"{text}; the values are right, only the shape is not.", True
        )
    return generic(spec, "wrong_shape", FAIL, name, f"{text}.")


def dtype_problem(spec: Spec, case: Case, name: str, rec: Recorded) -> str:
    """Why the dtype of `rec` breaks the spec's rule for this output ('' if it does not)."""
    if rec.kind not in ("tensor", "array"):
        return ""
    have = rec.dtype.split(".")[-1]
    rule = spec.dtypes.get(name, FLOAT)
    if rule == FLOAT:
        want, ok = "float32 or float64", have in ("float32", "float64")
    elif isinstance(rule, str) and rule.startswith("same:"):
        param = rule.removeprefix("same:")
        dtype = str(case.args[spec.params.index(param)].dtype).split(".")[-1]
        want, ok = f"{dtype} (the dtype of {param})", have == dtype
    else:
        want = str(rule).split(".")[-1]
        ok = have == want
    return "" if ok else f"{spec.label(name)} has dtype {have}, expected {want}."


def expected_device(case: Case) -> str:
    """The device of the first tensor among the arguments ('cpu' if there is none)."""
    for arg in case.args:
        for value in arg.values() if isinstance(arg, Mapping) else [arg]:
            if isinstance(value, Tensor):
                return value.device.type
    return "cpu"


def worst_entry(name: str, expected: Tensor, got: Tensor) -> str:
    """'Worst entry W1[0, 1]: expected ..., got ....' for two tensors of one shape."""
    return f"Worst entry {fmt_entry(name, expected, got, worst_index(expected, got, FLOAT32))}."


def _same_but_size1(a: Any, b: Any) -> bool:
    return [s for s in a if s != 1] == [s for s in b if s != 1]
