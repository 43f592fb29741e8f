"""The result of judging: per-case findings, the score, and the text students read.

Partial-credit policy (`score`), as a fraction of the points:
  * Typical cases first. If any typical (random) case has wrong values, the function is
    not working, and it earns at most TYPICAL_CAP = 0.2: 0.2 x the share of typical cases
    it gets right, where a case whose only problems are recognised single slips (opposite
    sign, a constant factor, a transpose, a missing ReLU mask, ...) counts NEAR_MISS = half.
  * If every typical case is right, each edge case with wrong values costs EDGE_COST =
    0.1, and the score never drops below EDGE_FLOOR = 0.5 for that reason.
  * Breaking a rule of the interface while the values are right (not a tensor, wrong
    dtype or device, modifying an argument, replacing tensors that must be updated in
    place) halves the score once per kind of breach (CONTRACT_FACTOR = 0.5).
  * A case in which a by-hand stub uses autograd earns nothing, whatever its values.
  * Notes (float32 accuracy, warnings) cost nothing.
The points earned are points x fraction, rounded to 2 decimals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.engine.cases import EDGE, RANDOM, VISIBLE
from autograder.engine.verdicts import CONTRACT, FAIL, NO_CREDIT, NOTE, SEVERITIES, Finding

TYPICAL_CAP = 0.2
NEAR_MISS = 0.5
EDGE_COST = 0.1
EDGE_FLOOR = 0.5
CONTRACT_FACTOR = 0.5
MAX_GROUPS = 6  # problems shown in a report; the rest are counted

TAGS = {NO_CREDIT: "[NO CREDIT]", FAIL: "[WRONG]", CONTRACT: "[FIX]", NOTE: "[NOTE]"}


@dataclass
class CaseResult:
    """The findings of one case (both calls of it)."""

    case_id: str
    kind: str
    label: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        """'pass', 'contract' (values right), 'near_miss', 'fail' or 'no_credit'."""
        severities = {f.severity for f in self.findings}
        if NO_CREDIT in severities:
            return "no_credit"
        fails = [f for f in self.findings if f.severity == FAIL]
        if fails:
            return "near_miss" if all(f.near_miss for f in fails) else "fail"
        return "contract" if CONTRACT in severities else "pass"

    @property
    def values_right(self) -> bool:
        return self.status in ("pass", "contract")


@dataclass
class Report:
    """What `judge` found: one CaseResult per case, the fraction earned and its reason."""

    stub: str
    results: list[CaseResult]
    fraction: float
    reason: str
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No problem at all (notes allowed)."""
        return all(r.status == "pass" for r in self.results)

    def codes(self) -> set[str]:
        """Every verdict code found, notes included."""
        return {f.code for r in self.results for f in r.findings}

    def problems(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings if f.severity != NOTE]

    def text(self, points: float | None = None, title: str | None = None) -> str:
        """The readable report; with `points`, the first line shows the points earned."""
        lines = [title or self.headline(points)]
        lines += [f"  {line}" for line in self.summary()]
        lines += self.groups()
        lines += [f"  {TAGS[NOTE]} {note}" for note in self.notes]
        if points is not None:
            lines.append(f"  score: {self.reason}")
        return "\n".join(lines)

    def headline(self, points: float | None) -> str:
        if points is None:
            return f"{self.stub}: {'all right' if self.passed else 'problems found'}"
        earned = earned_points(self.fraction, points)
        return f"{self.stub}: {earned:g} / {points:g} points"

    def summary(self) -> list[str]:
        kinds = [k for k in (VISIBLE, RANDOM, EDGE) if any(r.kind == k for r in self.results)]
        parts = []
        for kind in kinds:
            mine = [r for r in self.results if r.kind == kind]
            parts.append(f"{sum(r.status == 'pass' for r in mine)} of {len(mine)} {kind}")
        return [f"cases passed: {', '.join(parts)}"]

    def groups(self) -> list[str]:
        """One paragraph per verdict code: how often, where first, and the first message."""
        grouped: dict[str, list[tuple[CaseResult, Finding]]] = {}
        for r in self.results:
            for f in r.findings:
                grouped.setdefault(f.code, []).append((r, f))
        order = sorted(
            grouped.items(), key=lambda item: (SEVERITIES.index(item[1][0][1].severity), -len(item[1]))
        )
        lines: list[str] = []
        for code, items in order[:MAX_GROUPS]:
            first_result, first = items[0]
            cases = list(dict.fromkeys(r.case_id for r, _ in items))
            outputs = list(dict.fromkeys(f.output for _, f in items if f.output))
            where = f" in {', '.join(outputs)}" if outputs else ""
            count = f"{len(cases)} case{'s' if len(cases) > 1 else ''}"
            lines.append(f"  {TAGS[first.severity]} {code}{where} ({count}, first: {first_result.label})")
            lines.append(f"      {first.message}")
        if len(order) > MAX_GROUPS:
            lines.append(f"  ... and {len(order) - MAX_GROUPS} more kind(s) of problem")
        return lines


def earned_points(fraction: float, points: float) -> float:
    return round(max(0.0, min(1.0, fraction)) * points, 2)


def score(results: list[CaseResult]) -> tuple[float, str]:
    """The fraction of the points earned, and a one-line reason (see the module docstring)."""
    typical = [r for r in results if r.kind != EDGE]
    edge = [r for r in results if r.kind == EDGE]
    wrong_typical = [r for r in typical if not r.values_right]
    if wrong_typical:
        credit = sum(
            1.0 if r.values_right else NEAR_MISS if r.status == "near_miss" else 0.0 for r in typical
        )
        base = TYPICAL_CAP * credit / len(typical)
        banned = sum(r.status == "no_credit" for r in typical)
        why = f" ({banned} of them use autograd)" if banned else ""
        reason = (
            f"wrong on {len(wrong_typical)} of {len(typical)} typical cases{why}: "
            f"at most {TYPICAL_CAP:.0%} of the points ({base:.0%})"
        )
    else:
        wrong_edge = sum(not r.values_right for r in edge)
        base = max(EDGE_FLOOR, 1.0 - EDGE_COST * wrong_edge) if wrong_edge else 1.0
        reason = "every typical case right" + (
            f"; {wrong_edge} edge case(s) wrong, -{EDGE_COST:.0%} each ({base:.0%})" if wrong_edge else ""
        )
    breaches = sorted({f.code for r in results for f in r.findings if f.severity == CONTRACT})
    fraction = base * CONTRACT_FACTOR ** len(breaches)
    if breaches:
        reason += f"; halved for each of: {', '.join(breaches)} ({fraction:.0%})"
    return fraction, reason
