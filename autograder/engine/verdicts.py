"""Findings: what the judge says about one call, each with a verdict code and a severity."""

from __future__ import annotations

from dataclasses import dataclass

# Severities, from worst to mildest:
NO_CREDIT = "no_credit"  # forbidden technique (autograd in a by-hand stub): the case earns nothing
FAIL = "fail"  # the values (or the structure) of the result are wrong
CONTRACT = "contract"  # the values are right, but a rule of the interface is broken
NOTE = "note"  # worth knowing, costs nothing
SEVERITIES = (NO_CREDIT, FAIL, CONTRACT, NOTE)

# Verdict codes that any stub can get. Specs add their own (see Spec.bug_models).
CODES: dict[str, str] = {
    "raised": "the function raised an exception (type, message and line are shown)",
    "bad_return": "the result does not have the documented structure (tuple, dict keys, None)",
    "swapped_outputs": "the outputs are right but returned in the wrong order",
    "not_tensor": "an output is not a torch.Tensor (numpy array, list, float)",
    "wrong_dtype": "an output has the wrong dtype",
    "wrong_device": "an output is on another device than the inputs",
    "wrong_shape": "an output has the wrong shape",
    "transposed": "an output is the transpose of the expected one",
    "not_finite": "an output contains NaN or inf",
    "opposite_sign": "an output has the opposite sign (points the opposite way)",
    "scaled": "an output is off by a constant factor (named: 'divided by T (=7)')",
    "wrong_values": "an output is wrong in a way the engine does not recognise",
    "hidden_state": "the same input gives different results on different calls",
    "ignores_argument": "the result does not change when an argument changes",
    "mutates_input": "the function changes an argument it must leave alone",
    "not_in_place": "tensors that must be updated in place were replaced by new ones",
    "uses_autograd": "a by-hand stub uses autograd: no credit for that case",
    "float32_precision": "a float64 result is only as accurate as float32 (a note)",
    "warning": "the function raised a warning (a note)",
}


@dataclass(frozen=True)
class Finding:
    """One problem (or note) found in one case.

    output: the output or argument concerned ('W1', 'frame'), or '' for the whole call.
    near_miss: a recognised single slip (sign, factor, transpose, missing mask, ...).
    """

    code: str
    severity: str
    output: str
    message: str
    case_id: str = ""
    near_miss: bool = False
