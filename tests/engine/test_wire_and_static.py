"""The record that crosses from the sandboxed kernel to the grader, and the source check
for autograd use: both run in the grading process on data the student controls."""

from __future__ import annotations

import base64
import json

import pytest
import torch

from autograder.engine import api, get_spec, wire
from autograder.engine.api import judge_record, record
from autograder.engine.static import autograd_uses
from tests.engine.corpus import MODULES

STUB = "policy_backward"
W1 = "grad['W1']"  # the name of an output of policy_backward in a record


def correct(stub: str):
    return next(m for m in MODULES if m.STUB == stub).CORRECT[0]


def buggy(stub: str):
    return next(m for m in MODULES if m.STUB == stub).BUGGY[0][0]


def shipped(stub: str, fn) -> str:
    """What the kernel emits, as the grader reads it (JSON text)."""
    return json.dumps(wire.encode(stub, record(get_spec(stub), fn)))


@pytest.mark.parametrize("stub", ["policy_backward", "rmsprop_step", "prepro", "apply_mask", "relu_and_grad"])
def test_judging_a_record_equals_judging_in_process(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    for fn in (correct(stub), buggy(stub)):
        text, earned = judge_record(stub, 1.0, shipped(stub, fn), [])
        assert earned == api.grade(stub, fn, 1.0)
        assert text.strip() == capsys.readouterr().out.strip()


def test_decoded_tensors_keep_dtype_shape_and_values() -> None:
    outcomes = record(get_spec("apply_mask"), correct("apply_mask"))
    cases = api.cases_for("apply_mask", visible=False)
    back = wire.decode(shipped("apply_mask", correct("apply_mask")), "apply_mask", cases)
    for sent, got in zip(outcomes, back, strict=True):
        name = get_spec("apply_mask").outputs[0]
        a, b = sent.first.outputs[name].value, got.first.outputs[name].value
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def edited(edit) -> dict:
    """A record of the correct policy_backward after `edit(envelope, outcomes)`."""
    payload = json.loads(shipped(STUB, correct(STUB)))
    text = payload["outcomes"]
    outcomes = json.loads(text)
    edit(payload, outcomes)
    if payload["outcomes"] is text:  # not replaced by the edit: the edited outcomes, as text
        payload["outcomes"] = json.dumps(outcomes)
    return payload


def test_missing_cases_are_errors_not_passes() -> None:
    payload = edited(lambda p, o: o.__delitem__(slice(3, None)))
    text, earned = judge_record(STUB, 1.0, payload, [])
    assert earned < 0.5 and "RecordMissing" in text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p, o: p.update(stub="apply_mask"),
        lambda p, o: p.update(version=99),
        lambda p, o: o[0]["first"]["outputs"][W1]["value"].update(__tensor__="object"),
        lambda p, o: o[0]["first"]["outputs"][W1]["value"].update(shape=[10**6]),
        lambda p, o: o[0]["first"]["outputs"][W1]["value"].update(data="not base64!"),
        lambda p, o: o[0]["first"].update(unexpected=1),
        lambda p, o: p.update(outcomes=o),  # nested JSON, not JSON text
        lambda p, o: p.update(outcomes="{not json"),
        lambda p, o: p.update(outcomes=json.dumps({"a": o})),
        lambda p, o: p.update(outcomes=json.dumps([{"__tensor__": ["torch.float64"]}])),
        lambda p, o: p.update(outcomes="[" * 100_000 + "]" * 100_000),
    ],
    ids=[
        "other stub",
        "version",
        "dtype",
        "shape",
        "data",
        "extra field",
        "nested",
        "not JSON",
        "not a list",
        "dtype not a name",
        "too deep",
    ],
)
def test_malformed_records_are_refused(tamper) -> None:
    payload = edited(tamper)
    with pytest.raises(wire.WireError):
        wire.decode(payload, STUB, api.cases_for(STUB, visible=False))


def test_a_pickle_in_the_record_is_never_loaded() -> None:
    evil = base64.b64encode(b"cos\nsystem\n(S'echo pwned'\ntR.").decode()
    payload = edited(
        lambda p, o: o[0]["first"]["outputs"][W1]["value"].update(
            __tensor__="torch.float64", shape=[3], data=evil
        )
    )
    with pytest.raises(wire.WireError, match="does not match its shape"):
        wire.decode(payload, STUB, api.cases_for(STUB, visible=False))


def test_a_shape_whose_size_overflows_int64_is_refused_as_not_matching_its_data() -> None:
    """2**32 x 2**32 entries wrap to 0 in int64 arithmetic, which an empty payload would match."""
    payload = edited(
        lambda p, o: o[0]["first"]["outputs"][W1]["value"].update(
            __tensor__="torch.float64", shape=[2**32, 2**32], data=""
        )
    )
    with pytest.raises(wire.WireError, match="does not match its shape"):
        wire.decode(payload, STUB, api.cases_for(STUB, visible=False))


def test_oversized_records_are_refused() -> None:
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode(" " * (wire.MAX_BYTES + 1), STUB, [])
    envelope = {"version": wire.VERSION, "stub": STUB, "outcomes": " " * (wire.MAX_BYTES + 1)}
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode(envelope, STUB, [])


BY_HAND = '''
def helper(t):
    return t.sum()

def policy_backward(model, epx, eph, epdlogp):
    """Backward pass: the docstring may say .backward() and autograd."""
    # a comment about torch.autograd.grad is fine too
    dW2 = eph.T @ epdlogp
    return {"W1": model["W1"] * 0, "W2": dW2}
'''


@pytest.mark.parametrize(
    "line, found",
    [
        ("    loss.backward()", "calls .backward()"),
        ("    g = torch.autograd.grad(loss, [w])", "calls torch.autograd.grad"),
        ("    g = torch.func.grad(f)(w)", "calls torch.func.grad"),
        ("    w = torch.zeros(3, requires_grad=True)", "creates tensors with requires_grad=True"),
        ("    w = w.detach().requires_grad_()", "calls .requires_grad_()"),
        ("    out, vjp_fn = vjp(f, w)", "calls vjp (imported from torch.autograd / torch.func)"),
    ],
)
def test_autograd_in_the_source_is_found(line: str, found: str) -> None:
    source = BY_HAND.replace("    dW2 = eph.T @ epdlogp", line + "\n    dW2 = eph.T @ epdlogp")
    assert autograd_uses(["from torch.func import vjp", source], "policy_backward") == [found]


def test_comments_docstrings_and_other_functions_are_not_autograd() -> None:
    other = "def helper2(x):\n    x.backward()\n"
    assert autograd_uses([BY_HAND, other, "this is ( not python"], "policy_backward") == []
    assert autograd_uses([BY_HAND], "missing_function") == []


def test_the_last_definition_counts() -> None:
    first = "def policy_backward(model, epx, eph, epdlogp):\n    loss.backward()\n"
    assert autograd_uses([first, BY_HAND], "policy_backward") == []
    assert autograd_uses([BY_HAND, first], "policy_backward") == ["calls .backward()"]


def test_source_autograd_costs_the_credit_even_when_the_record_is_clean() -> None:
    source = BY_HAND.replace("    dW2 = eph.T @ epdlogp", "    loss.backward()\n    dW2 = eph.T @ epdlogp")
    clean = shipped(STUB, correct(STUB))
    assert judge_record(STUB, 1.0, clean, [BY_HAND])[1] == 1.0
    text, earned = judge_record(STUB, 1.0, clean, [source])
    assert earned == 0.0 and "uses_autograd" in text


def graded_cell_with(outputs: list[dict]) -> tuple[object, object]:
    from nbformat import from_dict
    from nbformat.v4 import new_code_cell, new_notebook

    from autograder.preprocessors import JudgeOutsideKernel

    cell = new_code_cell(
        f'### BEGIN HIDDEN TESTS\ngrade("{STUB}", {STUB}, points=2.0)\n### END HIDDEN TESTS',
        metadata={"nbgrader": {"grade": True, "grade_id": "grade_it", "points": 2.0, "locked": True}},
    )
    cell.outputs = [from_dict(o) for o in outputs]
    nb = new_notebook(cells=[cell])
    nb, _ = JudgeOutsideKernel().preprocess(nb, {})
    return nb.cells[0], nb


def display(payload: object) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {wire.MIME: payload}}


def result_of(cell) -> list[str]:
    return [o["data"]["text/plain"] for o in cell.outputs if o["output_type"] == "execute_result"]


def test_the_grader_writes_report_and_points_into_the_test_cell() -> None:
    record_ = json.loads(shipped(STUB, buggy(STUB)))
    forged_number = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": "2.0"},
    }
    cell, _ = graded_cell_with([display(record_), forged_number])
    expected = api.judge_record(STUB, 2.0, record_, [])[1]
    assert result_of(cell) == [repr(expected)] and expected < 2.0
    assert not any(wire.MIME in o.get("data", {}) for o in cell.outputs)


@pytest.mark.parametrize("copies", [0, 2])
def test_no_record_or_a_second_record_scores_zero(copies: int) -> None:
    record_ = json.loads(shipped(STUB, correct(STUB)))
    cell, _ = graded_cell_with([display(record_)] * copies)
    assert result_of(cell) == []
    assert [o["ename"] for o in cell.outputs if o["output_type"] == "error"] == ["GradingError"]
