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


OPTIMIZER = re.compile(r"\boptim\b")


def imported_modules(nb: NotebookNode) -> list[str]:
    """The modules a notebook's code cells import (absolute imports; for `from a import b`
    both `a` and `a.b`, since `b` may be a module), plus "torch.optim" where the code uses an
    optimizer (`torch.optim.Adam(...)` imports nothing). Sorted; magics are read as IPython
    reads them, and a cell that is not Python is skipped."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    to_python = TransformerManager().transform_cell
    modules: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(to_python(cell.source))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
        if OPTIMIZER.search(cell.source):
            modules.add("torch.optim")
    return sorted(modules)
