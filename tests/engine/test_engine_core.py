"""The engine's own properties: determinism, a pure judge, plain-data outcomes, the public
API's printing and return values, scoring policy, tolerances and speed."""

from __future__ import annotations

import contextlib
import importlib
import io
import pickle
import sys
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from autograder.engine import SPECS, cases_for, check, evaluate, get_spec, grade, judge, run_student
from autograder.engine.cases import EDGE, RANDOM, Case
from autograder.engine.compare import (
    FLOAT32,
    FLOAT64,
    ZERO_SCALE,
    allclose,
    scale_of,
    tolerance_for,
    worst_index,
)
from autograder.engine.outcome import Outcome
from autograder.engine.report import CaseResult, score
from autograder.engine.verdicts import CONTRACT, FAIL, NO_CREDIT, Finding
from tests.engine.corpus import MODULES

REFERENCE = {module.STUB: module.CORRECT[0] for module in MODULES}


def quiet(fn: Any, *args: Any) -> tuple[Any, str]:
    """Call fn, returning its result and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args)
    return result, out.getvalue()


# ---------------------------------------------------------------- determinism and purity


@pytest.mark.parametrize("stub", sorted(SPECS))
def test_cases_are_deterministic(stub: str) -> None:
    spec = get_spec(stub)
    one, two = spec.hidden(), spec.hidden()
    assert [c.id for c in one] == [c.id for c in two]
    assert len({c.id for c in one}) == len(one)
    for a, b in zip(one, two, strict=True):
        assert _same(a.args, b.args), a.id


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("stub", sorted(SPECS))
def test_same_report_twice(stub: str) -> None:
    buggy = next(fn for module in MODULES if module.STUB == stub for fn, _ in module.BUGGY)
    first, second = quiet(grade, stub, buggy, 1.0), quiet(grade, stub, buggy, 1.0)
    assert first == second


def test_judge_is_pure_and_needs_only_plain_data() -> None:
    """judge never calls student code, and gives the same report from outcomes that went
    through to_dict / pickle / from_dict (as they will from a sandbox process)."""
    spec = get_spec("policy_backward")
    cases = cases_for("policy_backward", visible=False)
    calls = 0
    reference = REFERENCE["policy_backward"]

    def counted(model: dict[str, Tensor], epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
        nonlocal calls
        calls += 1
        grads = reference(model, epx, eph, epdlogp)
        return {k: v * 1.5 for k, v in grads.items()}

    outcomes = run_student(spec, counted, cases)
    assert calls == 2 * len(cases)  # every case twice: in order, then in reverse order
    report = judge(spec, cases, outcomes)
    shipped = [Outcome.from_dict(d) for d in pickle.loads(pickle.dumps([o.to_dict() for o in outcomes]))]
    again = judge(spec, cases, shipped)
    assert calls == 2 * len(cases)
    assert report.text(points=1.0) == again.text(points=1.0)
    assert "scaled" in report.codes() and "halved" not in report.text()


def test_outcomes_hold_only_plain_data() -> None:
    spec = get_spec("rmsprop_step")
    outcomes = run_student(spec, REFERENCE["rmsprop_step"], cases_for("rmsprop_step", visible=True))
    for outcome in outcomes:
        _assert_plain(outcome.to_dict())


def _assert_plain(value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            _assert_plain(v)
    elif isinstance(value, list):
        for v in value:
            _assert_plain(v)
    else:
        assert value is None or isinstance(value, str | int | float | bool | Tensor), type(value)


def test_judge_does_not_change_cases_or_outcomes() -> None:
    spec = get_spec("discount_rewards")
    cases = cases_for("discount_rewards", visible=False)
    before = [c.args[0].clone() for c in cases]
    outcomes = run_student(spec, REFERENCE["discount_rewards"], cases)
    dumped = [Outcome.from_dict(o.to_dict()).to_dict() for o in outcomes]
    judge(spec, cases, outcomes)
    assert _same([o.to_dict() for o in outcomes], dumped)
    assert all(torch.equal(b, c.args[0]) for b, c in zip(before, cases, strict=True))


# ---------------------------------------------------------------- public API


def test_check_prints_one_ok_line(capsys: pytest.CaptureFixture[str]) -> None:
    check("apply_mask", REFERENCE["apply_mask"])
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 1 and "OK" in out


def test_check_raises_with_the_diagnosis() -> None:
    def no_mask(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.relu(x @ W1)
        dz2 = (torch.sigmoid(h @ W2.T).squeeze(-1) - y) / x.shape[0]
        return x.T @ (dz2[:, None] * W2), dz2[None, :] @ h

    with pytest.raises(AssertionError) as failure:
        check("backprop_by_hand", no_mask)
    message = str(failure.value)
    assert "missing_relu_mask" in message and "Worst entry dW1[" in message and "expected 0" in message


@pytest.mark.parametrize("points", [0.25, 1.0, 3.0])
def test_grade_returns_points_within_bounds(points: float) -> None:
    for stub, fn in REFERENCE.items():
        earned, _ = quiet(grade, stub, fn, points)
        assert earned == points
    earned, _ = quiet(grade, "discount_rewards", lambda r, gamma=0.99: r * 0.0, points)
    assert 0.0 <= earned <= 0.2 * points and earned == round(earned, 2)


def test_no_stderr_and_no_warnings_escape(capsys: pytest.CaptureFixture[str]) -> None:
    """A noisy student function: prints, writes to stderr, warns, and warns through torch."""

    def noisy(x: Tensor) -> Tensor:
        print("debug", x.shape)
        print("oops", file=sys.stderr)
        warnings.warn("student warning", stacklevel=1)
        torch.from_numpy(np.zeros(3)).T.T  # noqa: B018
        out = x.clone()
        out[..., : x.shape[-1] // 2] = 0
        return out

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        earned = grade("apply_mask", noisy, 1.0)
        check("apply_mask", noisy)
    out, err = capsys.readouterr()
    assert err == "" and not caught
    assert earned == 1.0 and "debug" not in out and "student warning" in out


WEIRD_RESULTS: dict[str, Any] = {
    "a string": "hello",
    "a generator": (i for i in range(3)),
    "a dict of junk": {"W1": "x", "W2": None},
    "an int64 tensor": torch.zeros(3, dtype=torch.int64),
    "a complex tensor": torch.zeros(6400, dtype=torch.complex64),
    "NaN pairs": (torch.full((2, 2), float("nan")), torch.full((2,), float("nan"))),
    "float16 pairs": (torch.zeros((), dtype=torch.float16), torch.zeros(3, dtype=torch.float16)),
    "an object array": np.array([object()]),
}


@pytest.mark.parametrize("stub", sorted(SPECS))
def test_weird_results_never_crash_grading(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    for what, value in WEIRD_RESULTS.items():
        earned = grade(stub, lambda *args, v=value: v, 1.0)
        assert 0.0 <= earned < 1.0, what
    assert capsys.readouterr().err == ""


def test_unknown_stub_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="known stubs"):
        grade("no_such_stub", lambda: None, 1.0)


def test_package_exports_check_and_grade() -> None:
    from autograder import check as top_check
    from autograder import grade as top_grade

    assert top_check is check and top_grade is grade


def test_student_exit_and_wrong_arity_do_not_stop_grading() -> None:
    def exits(x: Tensor) -> Tensor:
        raise SystemExit(3)

    def karpathy_signature(eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
        return {}

    assert "raised" in evaluate(get_spec("apply_mask"), exits, visible=False).codes()
    report = evaluate(get_spec("policy_backward"), karpathy_signature, visible=False)
    assert "Keep the signature policy_backward(model, epx, eph, epdlogp)" in report.text()


def test_wrong_device_is_reported() -> None:
    def on_meta(x: Tensor) -> Tensor:
        return torch.empty_like(x, device="meta")

    report = evaluate(get_spec("apply_mask"), on_meta, visible=False)
    assert {"wrong_device", "wrong_values"} <= report.codes() and report.fraction == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_results_on_the_gpu_are_a_wrong_device_with_readable_values() -> None:
    def on_gpu(x: Tensor) -> Tensor:
        out = x.cuda()
        out[..., : x.shape[-1] // 2] = 0
        return out

    report = evaluate(get_spec("apply_mask"), on_gpu, visible=False)
    assert report.codes() == {"wrong_device"} and report.fraction == 0.5


def test_rmsprop_in_place_and_returned_objects() -> None:
    """Replacing model tensors is a breach; reassigning the cache and grad buffer is not."""
    stub = "rmsprop_step"
    report = evaluate(get_spec(stub), REFERENCE[stub], visible=False)
    assert report.passed
    karpathy = next(
        fn for m in MODULES if m.STUB == stub for fn in m.CORRECT if fn.__name__ == "karpathy_style"
    )
    assert evaluate(get_spec(stub), karpathy, visible=False).passed


# ---------------------------------------------------------------- scoring and tolerances


def _results(typical: list[list[Finding]], edge: list[list[Finding]]) -> list[CaseResult]:
    rows = [CaseResult(f"r{i}", RANDOM, "", f) for i, f in enumerate(typical)]
    return rows + [CaseResult(f"e{i}", EDGE, "", f) for i, f in enumerate(edge)]


WRONG = Finding("wrong_values", FAIL, "x", "")
SLIP = Finding("scaled", FAIL, "x", "", near_miss=True)
BREACH = Finding("wrong_dtype", CONTRACT, "x", "")
BANNED = Finding("uses_autograd", NO_CREDIT, "", "")


@pytest.mark.parametrize(
    ("typical", "edge", "fraction"),
    [
        ([[]] * 10, [[]] * 5, 1.0),
        ([[]] * 10, [[WRONG]] + [[]] * 4, 0.9),  # one edge case costs a little
        ([[]] * 10, [[WRONG]] * 8, 0.5),  # but never below EDGE_FLOOR while typical cases are right
        ([[WRONG]] + [[]] * 9, [[]] * 5, 0.2 * 0.9),  # one wrong typical case: capped at 20%
        ([[WRONG]] * 10, [[]] * 5, 0.0),
        ([[SLIP]] * 10, [[]] * 5, 0.1),  # a recognised slip counts half within the cap
        ([[BREACH]] * 10, [[]] * 5, 0.5),  # right values, broken contract: halved
        ([[BREACH]] * 10, [[WRONG]] + [[]] * 4, 0.45),
        ([[BANNED]] * 10, [[BANNED]] * 5, 0.0),  # autograd in a by-hand stub: nothing
    ],
)
def test_partial_credit_policy(
    typical: list[list[Finding]], edge: list[list[Finding]], fraction: float
) -> None:
    got, reason = score(_results(typical, edge))
    assert got == pytest.approx(fraction) and reason


def test_tolerances() -> None:
    assert tolerance_for("torch.float64") is FLOAT64
    assert tolerance_for("torch.float32") is FLOAT32 and tolerance_for("") is FLOAT32
    eps64, eps32 = torch.finfo(torch.float64).eps, torch.finfo(torch.float32).eps
    assert 1e3 * eps64 < FLOAT64.rtol < eps32  # far above float64 round-off, below a float32 step
    assert 100 * eps32 < FLOAT32.rtol < 1e-2  # far above float32 round-off, below a 1% bug


def test_an_infinite_expected_entry_is_matched_only_by_the_same_infinity() -> None:
    """An infinite expected entry sets neither its own bound nor the scale of the others
    (both would be inf, and any finite result would pass)."""
    inf = float("inf")

    def t(*values: float) -> Tensor:
        return torch.tensor(values, dtype=torch.float64)

    expected = t(-inf, 2.0, 1.0)
    assert scale_of(expected) == 2.0 and scale_of(t(inf)) == ZERO_SCALE
    assert allclose(expected, expected.clone(), FLOAT64)
    assert not allclose(expected, t(-1e300, 2.0, 1.0), FLOAT64)
    assert not allclose(expected, t(inf, 2.0, 1.0), FLOAT64)
    assert not allclose(expected, t(-inf, 2.0, 1.5), FLOAT64)
    assert worst_index(expected, t(-inf, 2.0, 1.5), FLOAT64) == (2,)


def test_float64_result_with_float32_accuracy_passes_with_a_note() -> None:
    reference = REFERENCE["policy_forward"]

    def float32_inside(model: dict[str, Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
        p, h = reference({k: v.float() for k, v in model.items()}, x.float())
        return p.double(), h.double()

    report = evaluate(get_spec("policy_forward"), float32_inside, visible=False)
    assert report.fraction == 1.0 and "float32_precision" in report.codes()


# ---------------------------------------------------------------- speed


def test_every_reference_earns_full_marks_on_fresh_cases() -> None:
    """Every stub's hidden tests, cases generated from scratch, on correct implementations.
    (How long this takes is measured by benchmarks/bench_engine.py, not asserted here.)"""
    from autograder.engine import api

    api._cached_cases.cache_clear()
    for stub, fn in REFERENCE.items():
        earned, _ = quiet(grade, stub, fn, 1.0)
        assert earned == 1.0, stub


def test_case_counts() -> None:
    for stub in SPECS:
        hidden = cases_for(stub, visible=False)
        visible = cases_for(stub, visible=True)
        assert 2 <= len(visible) <= 4
        assert sum(c.kind == RANDOM for c in hidden) >= 10 and sum(c.kind == EDGE for c in hidden) >= 5
        assert all(isinstance(c, Case) for c in hidden)


@pytest.mark.parametrize("module", MODULES[:6], ids=lambda m: m.STUB)
def test_a_memo_shared_across_students_changes_no_report(module: Any) -> None:
    """A grading worker keeps reference and bug-model values between students (api's
    judging memo): every corpus implementation gets the report it gets with a fresh memo."""
    spec = get_spec(module.STUB)
    cases = cases_for(module.STUB, visible=False)
    memo: dict = {}
    for fn in [*module.CORRECT[:1], *(fn for fn, _ in module.BUGGY)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes = run_student(spec, fn, cases)
        alone = judge(spec, cases, outcomes).text(points=1.0)
        assert judge(spec, cases, outcomes, memo).text(points=1.0) == alone, fn.__name__
    assert any(key[1] == -1 for key in memo) and any(key[1] >= 0 for key in memo)


def test_same_call_tells_every_difference() -> None:
    """judge reuses the findings of a case's first call for its second one only when the
    two recorded exactly the same."""
    from autograder.engine.judge import same_call
    from autograder.engine.outcome import Call

    spec = get_spec("discount_rewards")
    one_case = cases_for("discount_rewards", visible=True)[:1]
    (outcome,) = run_student(spec, REFERENCE["discount_rewards"], one_case)
    first = outcome.first
    assert same_call(first, outcome.again)

    def changed(edit: Any) -> Call:
        call = Outcome.from_dict(outcome.to_dict()).again
        edit(call)
        return call

    (name,) = first.outputs
    value = first.outputs[name].value
    assert value is not None and value.numel() > 1
    nudged, nan = value.clone(), value.clone()
    nudged.view(-1)[-1] += 1e-6
    nan.view(-1)[0] = float("nan")
    differences = {
        "one entry": lambda c: setattr(c.outputs[name], "value", nudged),
        "no values": lambda c: setattr(c.outputs[name], "value", None),
        "another dtype": lambda c: setattr(c.outputs[name], "value", value.float()),
        "recorded dtype": lambda c: setattr(c.outputs[name], "dtype", "torch.float16"),
        "a warning": lambda c: c.warnings.append("RuntimeWarning: overflow"),
        "an error": lambda c: setattr(c, "error", "ValueError: no"),
        "autograd": lambda c: c.autograd.append("calls .backward()"),
    }
    for what, edit in differences.items():
        assert not same_call(first, changed(edit)), what
    with_nan = changed(lambda c: setattr(c.outputs[name], "value", nan))
    assert not same_call(with_nan, Call.from_dict(with_nan.to_dict()))  # NaN: judged twice, to be safe


@pytest.mark.parametrize("module", MODULES[:6], ids=lambda m: m.STUB)
def test_reusing_the_first_calls_findings_changes_no_report(
    module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every corpus implementation gets the report it gets when both calls of every case
    are judged on their own."""
    judging = importlib.import_module("autograder.engine.judge")  # the module, not the function
    spec = get_spec(module.STUB)
    cases = cases_for(module.STUB, visible=False)
    reused = 0
    same_call = judging.same_call

    def counted(one: Any, two: Any) -> bool:
        nonlocal reused
        same = same_call(one, two)
        reused += same
        return same

    for fn in [*module.CORRECT[:1], *(fn for fn, _ in module.BUGGY)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes = run_student(spec, fn, cases)
        monkeypatch.setattr(judging, "same_call", counted)
        shortcut = judge(spec, cases, outcomes).text(points=1.0)
        monkeypatch.setattr(judging, "same_call", lambda one, two: False)
        assert judge(spec, cases, outcomes).text(points=1.0) == shortcut, fn.__name__
    assert reused > 0
