"""Build small but real nbgrader courses in a temporary folder.

Used by tests that need one nbgrader behaviour in isolation (stderr in a graded
cell, a kernel that dies, a cell that never ends) without the cost of the full
course.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]


def nbgrader_meta(grade_id: str, **flags: object) -> dict:
    base = {"schema_version": 3, "grade_id": grade_id, "locked": False, "solution": False, "grade": False}
    return {"nbgrader": {**base, "task": False, **flags}}


def stub_cell(grade_id: str, solution_body: str, signature: str) -> nbformat.NotebookNode:
    source = f"{signature}\n    ### BEGIN SOLUTION\n{solution_body}\n    ### END SOLUTION"
    return new_code_cell(source, metadata=nbgrader_meta(grade_id, solution=True))


def graded_cell(grade_id: str, source: str, points: float) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata=nbgrader_meta(grade_id, grade=True, locked=True, points=points))


def write_notebook(path: Path, cells: list) -> None:
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), str(path))


def make_course(root: Path, cell_timeout: int = 30) -> Path:
    """A course with one assignment `mini` and one notebook `add.ipynb` (3 points)."""
    root.mkdir(parents=True, exist_ok=True)
    config = (REPO / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {cell_timeout}\n")
    cells = [
        new_markdown_cell("# Adding numbers"),
        new_code_cell("import sys\nimport warnings", metadata={"tags": ["export"]}),
        stub_cell("add", "    return a + b", 'def add(a: int, b: int) -> int:\n    """a + b."""'),
        graded_cell(
            "grade_add",
            "# hidden tests, 2 points\n"
            "warnings.warn('a harmless library warning')\n"
            "print('noise on stderr', file=sys.stderr)\n"
            "### BEGIN HIDDEN TESTS\n"
            "assert add(40, 2) == 42, 'add(40, 2) should be 42'\n"
            "### END HIDDEN TESTS",
            points=2,
        ),
        graded_cell("grade_add_partial", "1.0 if add(-1, 1) == 0 else 0.25", points=1),
    ]
    write_notebook(root / "source" / "mini" / "add.ipynb", cells)
    return root


def submit(root: Path, student: str, body: str, notebook: str = "add") -> None:
    """Submit the released notebook with the stub's body replaced by `body`."""
    released = nbformat.read(str(root / "release" / "mini" / f"{notebook}.ipynb"), as_version=4)
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
            cell.source = 'def add(a: int, b: int) -> int:\n    """a + b."""\n' + body
    folder = root / "submitted" / student / "mini"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nbformat.write(released, str(folder / f"{notebook}.ipynb"))
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")


RELU_SIGNATURE = (
    "def relu_and_grad(z: Tensor) -> tuple[Tensor, Tensor]:\n"
    '    """relu(z) and its derivative, elementwise."""'
)


def make_engine_course(root: Path, cell_timeout: int = 20) -> Path:
    """A course with one assignment `gate` whose notebook `relu.ipynb` is graded by the
    gradient engine (`grade("relu_and_grad", ...)`, 1 point), as every real assignment is."""
    root.mkdir(parents=True, exist_ok=True)
    config = (REPO / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {cell_timeout}\n")
    cells = [
        new_markdown_cell("# ReLU"),
        new_code_cell(
            "import torch\nfrom torch import Tensor\n\nfrom autograder import check, grade",
            metadata={"tags": ["export"]},
        ),
        stub_cell("relu_and_grad", "    return torch.relu(z), (z > 0).to(z.dtype)", RELU_SIGNATURE),
        graded_cell(
            "grade_relu_and_grad",
            "# hidden tests (1 point)\n### BEGIN HIDDEN TESTS\n"
            'grade("relu_and_grad", relu_and_grad, points=1.0)\n### END HIDDEN TESTS',
            points=1,
        ),
    ]
    write_notebook(root / "source" / "gate" / "relu.ipynb", cells)
    return root


def submit_engine(root: Path, student: str, body: str, extra_cells: tuple[str, ...] = ()) -> Path:
    """Submit `gate/relu.ipynb` with the stub's body replaced by `body` and `extra_cells`
    (student code cells) inserted right after the stub. Returns the notebook's path."""
    released = nbformat.read(str(root / "release" / "gate" / "relu.ipynb"), as_version=4)
    for index, cell in enumerate(released.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu_and_grad":
            cell.source = RELU_SIGNATURE + "\n" + body
            for offset, source in enumerate(extra_cells, start=1):
                released.cells.insert(index + offset, new_code_cell(source))
            break
    folder = root / "submitted" / student / "gate"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nbformat.write(released, str(folder / "relu.ipynb"))
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
    return folder / "relu.ipynb"
