"""Small, pure helpers over nbformat notebooks and nbgrader cell metadata."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

SOLUTION_REGION = re.compile(
    r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(?P<body>.*?)^[ \t]*### END SOLUTION[ \t]*\n?",
    re.DOTALL | re.MULTILINE,
)


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: Path) -> None:
    """Write a notebook atomically (a killed run never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(path)


def meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str | None:
    return meta(cell).get("grade_id")


def is_stub(cell: NotebookNode) -> bool:
    """An autograded answer: code the student writes, graded by test cells."""
    m = meta(cell)
    return cell.cell_type == "code" and bool(m.get("solution")) and not m.get("grade")


def is_export(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and "export" in cell.get("metadata", {}).get("tags", [])


def is_graded(cell: NotebookNode) -> bool:
    m = meta(cell)
    return bool(m.get("grade") or m.get("task"))


def unwrap_solution(source: str) -> str:
    """The instructor's version of a cell with the solution markers removed."""
    return SOLUTION_REGION.sub(lambda m: m.group("body"), source)


def cells_by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {gid: cell for cell in nb.cells if (gid := grade_id(cell))}
