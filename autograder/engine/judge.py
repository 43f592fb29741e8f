"""Phase 2 of grading: compare recorded outcomes with the reference. Pure: it never calls
student code, and it reads nothing but the spec, the cases and the outcomes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields

import torch
from torch import Tensor

from autograder.engine.cases import Case
from autograder.engine.compare import FLOAT32, allclose, same_result, scale_of
from autograder.engine.diagnose import BugValues, diagnose_output
from autograder.engine.outcome import Call, Outcome, Recorded
from autograder.engine.report import CaseResult, Report, score
from autograder.engine.spec import Spec
from autograder.engine.verdicts import CONTRACT, FAIL, NO_CREDIT, NOTE, Finding

Memo = dict[tuple[str, int], Mapping[str, Tensor]]  # (case id, REFERENCE or bug model index) -> values


REFERENCE = -1  # memo key of a case's reference values; bug model i has key i


def judge(spec: Spec, cases: list[Case], outcomes: list[Outcome], memo: Memo | None = None) -> Report:
    """Findings for every case, the cross-case verdicts, and the score. `memo`: the reference
    and bug-model values of these cases from earlier calls (they depend on the case alone),
    filled as they are computed; judging never changes them."""
    memo = {} if memo is None else memo
    by_id = {o.case_id: o for o in outcomes}
    refs = {case.id: _memoized(memo, case, REFERENCE, spec.reference) for case in cases}
    results: list[CaseResult] = []
    for case in cases:
        outcome = by_id[case.id]
        bugs = _bug_values(spec, case, memo)
        findings = judge_call(spec, case, refs[case.id], outcome.first, bugs)
        # judge_call is a pure function of the call: a second call that recorded exactly the
        # same (the common case) has the same findings and shows no state kept between calls
        if not same_call(outcome.first, outcome.again):
            again = judge_call(spec, case, refs[case.id], outcome.again, bugs)
            findings = merge_calls(spec, case, refs[case.id], outcome, findings, again)
        results.append(CaseResult(case.id, case.kind, case.label(), [_at(f, case.id) for f in findings]))
    _add_ignored_arguments(spec, cases, refs, by_id, results)
    if any(f.severity in (FAIL, NO_CREDIT) for r in results for f in r.findings):
        # next to real errors, "close to float32 precision" is noise (often a saturated value)
        for r in results:
            r.findings = [f for f in r.findings if f.code != "float32_precision"]
    fraction, reason = score(results)
    report = Report(spec.name, results, fraction, reason)
    reads = outcomes[0].global_reads if outcomes else []
    if reads and report.problems():
        report.notes.append(
            f"{spec.name} reads global data: {', '.join(reads)}. "
            f"A function should use only its arguments, {', '.join(spec.params)}."
        )
    return report


def judge_call(
    spec: Spec, case: Case, expected: Mapping[str, Tensor], call: Call, bugs: BugValues
) -> list[Finding]:
    """Findings about one call."""
    found: list[Finding] = []
    if call.autograd and spec.by_hand:
        found.append(
            Finding(
                "uses_autograd",
                NO_CREDIT,
                "",
                f"{spec.name} {' and '.join(call.autograd)}. This exercise asks for the gradient computed "
                "by hand (the chain rule, written out), so a case that uses autograd earns no credit.",
            )
        )
    if call.error:
        hint = f" Keep the signature {spec.signature()}." if "argument" in call.error else ""
        return found + [Finding("raised", FAIL, "", f"raised {call.error}.{hint}")]
    for arg in dict.fromkeys(m.arg for m in call.mutations):
        m = next(m for m in call.mutations if m.arg == arg)
        found.append(
            Finding(
                "mutates_input",
                CONTRACT,
                arg,
                f"changed its argument {arg}: {m.where} was {m.before}, now {m.after} "
                f"({m.count} of {m.total} entries changed). {spec.hints.get('mutates_input', _KEEP_ARGS)}",
            )
        )
    if call.replaced:
        found.append(
            Finding(
                "not_in_place",
                CONTRACT,
                call.replaced[0].split("[")[0],
                f"replaced {', '.join(call.replaced)} with new tensor(s) instead of updating them in place, "
                "so code holding the old tensors never sees the update. "
                + spec.hints.get("not_in_place", "Use in-place operations such as += or .add_()."),
            )
        )
    if call.return_error:
        return found + [Finding("bad_return", FAIL, "", f"{spec.name} {call.return_error}.")]
    swapped = _swapped(spec, expected, call)
    if swapped is not None:
        return found + [swapped]
    for name in spec.outputs:
        found += diagnose_output(spec, case, name, expected[name], call.outputs[name], bugs)
    found += [Finding("warning", NOTE, "", f"{spec.name} raised a warning: {w}") for w in call.warnings]
    return found


_KEEP_ARGS = "Work on a copy (x.clone(), array.copy()) and leave the arguments as they were."


def merge_calls(
    spec: Spec,
    case: Case,
    expected: Mapping[str, Tensor],
    outcome: Outcome,
    first: list[Finding],
    again: list[Finding],
) -> list[Finding]:
    """The findings of both calls of a case, plus `hidden_state` if the two calls disagree."""
    sig_first, sig_again = _signature(first), _signature(again)
    if sig_first == sig_again and not _outputs_differ(expected, outcome.first, outcome.again):
        return first
    merged = first + [f for f in again if (f.code, f.output) not in sig_first]
    failing = [f for f in merged if f.severity == FAIL]
    if not _fails(first) and _fails(again):
        how = "was right the first time and wrong when called again with the same input, after other calls"
    elif _fails(first) and not _fails(again):
        how = "was wrong on one call and right on a later call with the same input"
    else:
        how = "gave two different results for the same input on two calls"
    detail = f" On the wrong call: {failing[0].message}" if failing else ""
    merged.append(
        Finding(
            "hidden_state",
            FAIL,
            "",
            f"{spec.name} {how}: it keeps state between calls (a global variable, a mutable default "
            f"argument, or an object it updates). Compute everything from the arguments.{detail}",
        )
    )
    return merged


def _add_ignored_arguments(
    spec: Spec,
    cases: list[Case],
    refs: Mapping[str, Mapping[str, Tensor]],
    outcomes: Mapping[str, Outcome],
    results: list[CaseResult],
) -> None:
    """`ignores_argument` when, for every usable probe of an argument, some outputs stay the
    same while the right result changes. Probes where a call raised or returned a wrong
    shape do not vote; one probe with a result that follows the argument clears it."""
    by_id = {c.id: c for c in cases}
    result_of = {r.case_id: r for r in results}
    votes: dict[str, list[tuple[Case, Case, list[str]]]] = {}
    for probe in cases:
        base = by_id.get(probe.variant_of or "")
        if base is None or probe.varied is None:
            continue
        deaf = _deaf_outputs(spec, base, probe, refs, outcomes[base.id].first, outcomes[probe.id].first)
        if deaf is not None:
            votes.setdefault(probe.varied, []).append((base, probe, deaf))
    for arg, items in votes.items():
        common = [n for n in spec.outputs if all(n in deaf for _, _, deaf in items)]
        if not common:
            continue
        labels = ", ".join(spec.label(n) for n in common)
        for base, probe, _ in items:
            reads = outcomes[probe.id].global_reads
            why = f" It reads the global variable(s) {', '.join(reads)}: use the argument." if reads else ""
            result_of[probe.id].findings.append(
                Finding(
                    "ignores_argument",
                    FAIL,
                    arg,
                    f"{labels} did not change when only the argument `{arg}` changed (cases {base.id} "
                    f"and {probe.id}), but the right result does: your result does not depend on `{arg}` "
                    f"(does it use a global variable or a fixed value instead?).{why}",
                    case_id=probe.id,
                )
            )


def _deaf_outputs(
    spec: Spec,
    base: Case,
    probe: Case,
    refs: Mapping[str, Mapping[str, Tensor]],
    base_call: Call,
    probe_call: Call,
) -> list[str] | None:
    """Outputs that stay the same between base and probe although the right ones differ;
    None when no output of the pair can be compared."""
    deaf: list[str] = []
    usable = False
    for name in spec.outputs:
        if spec.probe_outputs is not None and name not in spec.probe_outputs:
            continue
        rb, rp = base_call.outputs.get(name), probe_call.outputs.get(name)
        if rb is None or rp is None or rb.value is None or rp.value is None:
            continue
        eb, ep = refs[base.id][name], refs[probe.id][name]
        gb, gp = rb.value.double(), rp.value.double()
        if gb.shape != eb.shape or gp.shape != ep.shape:
            continue
        usable = True
        if spec.view is not None:
            eb, ep = spec.view(base, name, eb), spec.view(probe, name, ep)
            gb, gp = spec.view(base, name, gb), spec.view(probe, name, gp)
        if not allclose(eb, ep, FLOAT32) and same_result(gb, gp, FLOAT32, scale_of(eb)):
            deaf.append(name)
    return deaf if usable else None


def _swapped(spec: Spec, expected: Mapping[str, Tensor], call: Call) -> Finding | None:
    """Two outputs returned in the wrong order."""
    if len(spec.outputs) != 2:
        return None
    a, b = spec.outputs
    ra, rb = call.outputs[a], call.outputs[b]
    if ra.value is None or rb.value is None:
        return None
    ga, gb = ra.value.double(), rb.value.double()
    if ga.shape == expected[b].shape and gb.shape == expected[a].shape and ga.shape != gb.shape:
        if allclose(expected[b], ga, FLOAT32) and allclose(expected[a], gb, FLOAT32):
            return Finding(
                "swapped_outputs", FAIL, "", f"returned ({b}, {a}) instead of ({a}, {b}).", near_miss=True
            )
    return None


# what `same_call` compares besides the output values, derived once (it runs for every case)
_CALL_FIELDS = tuple(f.name for f in fields(Call) if f.name != "outputs")
_RECORD_FIELDS = tuple(f.name for f in fields(Recorded) if f.name != "value")


def same_call(one: Call, two: Call) -> bool:
    """True when two calls recorded exactly the same: every field, and outputs with equal
    values entry for entry (NaN never equals NaN here, so such calls count as different)."""
    if any(getattr(one, name) != getattr(two, name) for name in _CALL_FIELDS):
        return False
    if one.outputs.keys() != two.outputs.keys():
        return False
    return all(_same_record(r, two.outputs[name]) for name, r in one.outputs.items())


def _same_record(one: Recorded, two: Recorded) -> bool:
    if any(getattr(one, name) != getattr(two, name) for name in _RECORD_FIELDS):
        return False
    if one.value is None or two.value is None:
        return one.value is None and two.value is None
    return one.value.dtype == two.value.dtype and torch.equal(one.value, two.value)


def _outputs_differ(expected: Mapping[str, Tensor], one: Call, two: Call) -> bool:
    for name, r1 in one.outputs.items():
        r2 = two.outputs.get(name)
        if r2 is None or r1.value is None or r2.value is None or name not in expected:
            continue
        if not same_result(r1.value.double(), r2.value.double(), FLOAT32, scale_of(expected[name])):
            return True
    return False


def _signature(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.code, f.output) for f in findings if f.severity != NOTE}


def _fails(findings: list[Finding]) -> bool:
    return any(f.severity in (FAIL, NO_CREDIT) for f in findings)


def _at(finding: Finding, case_id: str) -> Finding:
    return Finding(
        finding.code, finding.severity, finding.output, finding.message, case_id, finding.near_miss
    )


def _bug_values(spec: Spec, case: Case, memo: Memo) -> BugValues:
    """Bug model outputs for one case, each computed at most once."""

    def values(index: int) -> Mapping[str, Tensor]:
        return _memoized(memo, case, index, spec.bug_models[index].compute)

    return values


def _memoized(
    memo: Memo, case: Case, key: int, compute: Callable[[Case], Mapping[str, Tensor]]
) -> Mapping[str, Tensor]:
    if (case.id, key) not in memo:
        memo[(case.id, key)] = compute(case)
    return memo[(case.id, key)]
