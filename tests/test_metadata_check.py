"""`CheckCellMetadataOnce` (the grader's copy of nbgrader's metadata check, with its JSON
schema compiled once) accepts and refuses exactly what nbgrader's `CheckCellMetadata`
does, with the same error, for valid cells and for each way the metadata can be broken."""

from __future__ import annotations

from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata

from autograder.preprocessors import CheckCellMetadataOnce, _metadata_validator, faster_steps


def meta(**changes: Any) -> dict[str, Any]:
    base = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "t1",
        "points": 2,
        "schema_version": 3,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


SOLUTION = meta(grade=False, solution=True, locked=False, grade_id="s1", points=None)
CASES: dict[str, list[Any]] = {
    "valid": [
        new_code_cell("x = 1", metadata={"nbgrader": SOLUTION}),
        new_code_cell("assert x", metadata={"nbgrader": meta()}),
    ],
    "no nbgrader metadata": [new_code_cell("x = 1")],
    "no points": [new_code_cell("assert x", metadata={"nbgrader": meta(points=None)})],
    "points not a number": [new_code_cell("assert x", metadata={"nbgrader": meta(points="two")})],
    "no locked flag": [new_code_cell("assert x", metadata={"nbgrader": meta(locked=None)})],
    "empty grade id": [new_code_cell("assert x", metadata={"nbgrader": meta(grade_id="")})],
    "grade id not a string": [new_code_cell("assert x", metadata={"nbgrader": meta(grade_id=7)})],
    "unknown key": [new_code_cell("assert x", metadata={"nbgrader": meta(colour="red")})],
    "schema too old": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=2)})],
    "schema too new": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=4)})],
    "no schema version": [new_code_cell("assert x", metadata={"nbgrader": meta(schema_version=None)})],
    "duplicate ids": [
        new_code_cell("assert x", metadata={"nbgrader": meta()}),
        new_code_cell("assert y", metadata={"nbgrader": meta()}),
    ],
    "task in a code cell": [new_code_cell("", metadata={"nbgrader": meta(task=True, grade=False)})],
    "markdown grade cell, not a solution": [new_markdown_cell("?", metadata={"nbgrader": meta()})],
}


def outcome(check: Any) -> tuple[str, str]:
    """('ok', '') or (the exception's type, its message)."""
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - compared, type and text
        return type(exc).__name__, str(exc)
    return "ok", ""


@pytest.mark.parametrize("case", list(CASES))
def test_same_verdict_and_error_as_nbgrader(case: str) -> None:
    def notebook() -> Any:
        return new_notebook(cells=[cell.copy() for cell in CASES[case]])

    theirs = outcome(lambda: MetadataValidator().validate_nb(notebook()))
    ours = outcome(lambda: _metadata_validator().validate_nb(notebook()))
    assert ours == theirs
    assert outcome(lambda: CheckCellMetadataOnce()(notebook(), {})) == outcome(
        lambda: CheckCellMetadata()(notebook(), {})
    )
    if case != "valid" and case != "no nbgrader metadata":
        assert theirs[0] != "ok"  # the case really is broken, so the comparison means something


def test_only_the_exact_class_is_replaced() -> None:
    class Stricter(CheckCellMetadata):
        pass

    assert faster_steps([CheckCellMetadata, Stricter]) == [CheckCellMetadataOnce, Stricter]
