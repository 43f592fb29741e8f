"""Every corpus implementation gets the verdict it deserves: full credit for the correct
ones, less than full credit and the named verdict code for the buggy ones."""

from __future__ import annotations

import pytest

from autograder.engine import SPECS, get_spec, grade
from tests.engine.corpus import POINTS, VERDICTS, Entry, check_passes, entries, judge_entry

ENTRIES = entries()
CORRECT = [e for e in ENTRIES if e.expected is None]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_grade_verdict(entry: Entry) -> None:
    verdict = judge_entry(entry)
    VERDICTS.append(verdict)
    assert verdict.right, f"{verdict.why}\n{verdict.report.text(points=POINTS)}"
    assert verdict.report.codes() <= get_spec(entry.stub).codes()  # every code is documented


@pytest.mark.parametrize("entry", CORRECT, ids=[e.id for e in CORRECT])
def test_check_accepts_correct(entry: Entry) -> None:
    ok, text = check_passes(entry)
    assert ok, text
    assert text.count("\n") == 1 and text.startswith(f"check {entry.stub}: OK")


def test_corpus_covers_every_stub_with_several_styles_and_bugs() -> None:
    """Every registered spec (autograder/engine/specs) has a corpus module, and no corpus
    module names a stub the engine does not know."""
    stubs = {e.stub for e in ENTRIES}
    assert stubs == set(SPECS)
    for stub in stubs:
        assert sum(e.stub == stub and e.expected is None for e in ENTRIES) >= 5
        assert sum(e.stub == stub and e.expected is not None for e in ENTRIES) >= 8


@pytest.mark.parametrize("stub", ["policy_backward", "rmsprop_step", "prepro", "apply_mask"])
def test_course_bugs_fail_check_with_a_readable_message(stub: str) -> None:
    """The real student bugs of the course are caught already by the visible check."""
    bug = {
        "policy_backward": "global_epx",
        "rmsprop_step": "torch_rmsprop",
        "prepro": "karpathy_view",
        "apply_mask": "in_place",
    }[stub]
    [entry] = [e for e in ENTRIES if e.stub == stub and e.fn.__name__ == bug]
    ok, text = check_passes(entry)
    assert not ok
    assert text.startswith(f"check {stub}: failed")
    assert entry.expected in text or "raised" in text


def test_grade_prints_the_report_and_returns_the_points(capsys: pytest.CaptureFixture[str]) -> None:
    [entry] = [e for e in ENTRIES if e.fn.__name__ == "descends"]
    earned = grade(entry.stub, entry.fn, points=0.5)
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"rmsprop_step: {earned:g} / 0.5 points")
    assert "opposite_sign" in out and "ASCENT" in out
    assert 0 < earned < 0.5
