"""A corpus of student implementations, right and wrong, for every stub the engine grades.

Each module lists CORRECT functions (they must earn full credit and pass `check`) and
BUGGY (function, verdict code) pairs (they must earn less than full credit, and the
report must contain that code).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder.engine import check, evaluate, get_spec
from autograder.engine.report import Report, earned_points
from tests.engine.corpus import (
    action_log_probs,
    actor_critic,
    apply_mask,
    backprop_by_hand,
    batchnorm_backward,
    batchnorm_forward,
    confusion_matrix,
    discount_rewards,
    dqn_loss,
    dropout_forward,
    epsilon_by_step,
    hard_update,
    leaky_relu_and_grad,
    make_sequence_dataset,
    mean_abs_grad_per_layer,
    mlp_forward,
    parameter_counts,
    perceptron_epoch,
    policy_backward,
    policy_forward,
    prepro,
    relu_and_grad,
    replay_buffer,
    rmsprop_step,
    sequence_classifier,
    sgd_update,
    sigmoid_and_grad,
    soft_update,
    tanh_and_grad,
    td_targets,
)

MODULES = (
    backprop_by_hand,
    apply_mask,
    prepro,
    discount_rewards,
    policy_forward,
    policy_backward,
    rmsprop_step,
    sigmoid_and_grad,
    tanh_and_grad,
    relu_and_grad,
    leaky_relu_and_grad,
    perceptron_epoch,
    mlp_forward,
    sgd_update,
    parameter_counts,
    make_sequence_dataset,
    sequence_classifier,
    mean_abs_grad_per_layer,
    dropout_forward,
    batchnorm_forward,
    batchnorm_backward,
    action_log_probs,
    actor_critic,
    confusion_matrix,
    replay_buffer,
    td_targets,
    dqn_loss,
    hard_update,
    soft_update,
    epsilon_by_step,
)
POINTS = 1.0


@dataclass(frozen=True)
class Entry:
    """One implementation; `expected` is None for a correct one, else the verdict code."""

    stub: str
    fn: Callable[..., Any]
    expected: str | None

    @property
    def id(self) -> str:
        return f"{self.stub}:{self.fn.__name__}"


@dataclass(frozen=True)
class Verdict:
    """What the engine made of an entry, and whether that is right."""

    entry: Entry
    earned: float
    report: Report
    right: bool
    why: str


VERDICTS: list[Verdict] = []  # filled by the corpus tests, summarised at the end of the run


def entries() -> list[Entry]:
    found: list[Entry] = []
    for module in MODULES:
        found += [Entry(module.STUB, fn, None) for fn in module.CORRECT]
        found += [Entry(module.STUB, fn, code) for fn, code in module.BUGGY]
    return found


def judge_entry(entry: Entry) -> Verdict:
    """Grade an entry (hidden cases) silently and say whether the verdict is the expected one."""
    report = evaluate(get_spec(entry.stub), entry.fn, visible=False)
    earned = earned_points(report.fraction, POINTS)
    if entry.expected is None:
        right, why = earned == POINTS, f"a correct implementation earned {earned} of {POINTS}"
    else:
        found = entry.expected in report.codes()
        right = earned < POINTS and found
        seen = "found" if found else "missing"
        why = f"earned {earned} of {POINTS}; expected verdict {entry.expected!r} {seen}"
    return Verdict(entry, earned, report, right, why)


def check_passes(entry: Entry) -> tuple[bool, str]:
    """Whether `check` accepts the entry, and what it printed or raised."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            check(entry.stub, entry.fn)
    except AssertionError as exc:
        return False, str(exc)
    return True, out.getvalue()


def summary(verdicts: list[Verdict]) -> str:
    """'corpus: 120 implementations (41 correct, 79 buggy), verdicts right: 120/120'."""
    correct = sum(v.entry.expected is None for v in verdicts)
    right = sum(v.right for v in verdicts)
    total = len(verdicts)
    lines = [
        f"engine corpus: {total} implementations ({correct} correct, {total - correct} buggy), "
        f"verdicts right: {right}/{total}"
    ]
    lines += [f"  WRONG VERDICT {v.entry.id}: {v.why}" for v in verdicts if not v.right]
    return "\n".join(lines)
