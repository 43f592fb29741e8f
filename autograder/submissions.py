"""Prepare a submission for autograding without ever modifying what was submitted.

`prepare` reads submitted/<student>/<assignment>/, repairs what a real batch
breaks, and writes the result to prepared/<student>/<assignment>/, which is what
nbgrader autogrades. Every repair is reported in words a TA can pass on:

* a notebook that is not valid JSON / nbformat is graded as an empty submission;
* a renamed notebook ("pong (1).ipynb") is matched to the expected one by its cells;
* a missing notebook is graded as not submitted (zero, recorded);
* deleted graded cells are restored from the release (so deleting a test cell
  cannot dodge it; a deleted answer cell is graded as unanswered).

Duplicated cells are left to nbgrader's DeduplicateIds (the first copy counts).
"""

from __future__ import annotations

import copy
import functools
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.reader import NotJSONError

from autograder import notebooks
from autograder.course import Course


@dataclass
class Prepared:
    student: str
    problems: list[str] = field(default_factory=list)
    # what was written to prepared/, by notebook name: grading goes on from these, not from
    # reading the files back
    notebooks: dict[str, NotebookNode] = field(default_factory=dict)


def read_or_explain(path: Path) -> tuple[NotebookNode | None, str | None]:
    """The notebook, or None and a one-line reason it cannot be read."""
    try:
        return nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4), None
    except UnicodeDecodeError as exc:
        return None, f"invalid JSON: {exc}"
    except NotJSONError as exc:
        return None, f"invalid JSON: {exc.__cause__ or exc}"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same case
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"not an nbformat 4 notebook: {reason[:160]}"


@functools.lru_cache(maxsize=16)
def _read_once(path: str, mtime_ns: int, size: int) -> NotebookNode:
    return notebooks.read(Path(path))


def released_notebook(path: Path) -> NotebookNode:
    """The released notebook, read from disk once per version of the file (every submission
    is checked against it); each caller gets its own copy to change."""
    stat = path.stat()
    return copy.deepcopy(_read_once(str(path), stat.st_mtime_ns, stat.st_size))


def restore_deleted_cells(submitted: NotebookNode, released: NotebookNode) -> list[str]:
    """Re-insert graded or locked cells of the release that the student deleted."""
    present = set(notebooks.cells_by_id(submitted))
    restored: list[str] = []
    position = 0
    for cell in released.cells:
        gid = notebooks.grade_id(cell)
        if gid is None:
            continue
        if gid in present:
            ids = [notebooks.grade_id(c) for c in submitted.cells]
            position = ids.index(gid) + 1
            continue
        if notebooks.is_graded(cell) or notebooks.meta(cell).get("locked") or notebooks.is_stub(cell):
            submitted.cells.insert(position, cell)
            position += 1
            restored.append(gid)
    return restored


def strip_unknown_cells(submitted: NotebookNode, released: NotebookNode) -> list[str]:
    """Remove nbgrader metadata naming cells the assignment does not have (a renamed
    grade_id): such a cell is graded as the student's ordinary code. Left in place,
    nbgrader would refuse the whole notebook as corrupted."""
    known = set(notebooks.cells_by_id(released))
    stripped: list[str] = []
    for cell in submitted.cells:
        gid = notebooks.grade_id(cell)
        if "nbgrader" in cell.get("metadata", {}) and gid not in known:
            del cell.metadata["nbgrader"]
            stripped.append(str(gid))
    return stripped


def match_renamed(expected: str, candidates: list[Path], released: NotebookNode) -> Path | None:
    """The unexpected notebook sharing the most cell ids with the released one."""
    wanted = set(notebooks.cells_by_id(released))
    best, best_overlap = None, 0
    for path in candidates:
        nb, _ = read_or_explain(path)
        if nb is None:
            continue
        overlap = len(wanted & set(notebooks.cells_by_id(nb)))
        if overlap > best_overlap:
            best, best_overlap = path, overlap
    return best


def prepare(course: Course, assignment: str, student: str) -> Prepared:
    source_dir = course.submitted / student / assignment
    target = course.prepared / student / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    result = Prepared(student)

    def save(name: str, nb: NotebookNode) -> None:
        """Write the notebook to prepared/ and keep that same notebook (nbformat's repairs
        while writing, such as duplicate cell ids, are made in place) for grading."""
        notebooks.write(nb, target / f"{name}.ipynb")
        result.notebooks[name] = nb

    for extra in source_dir.iterdir():
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy2(extra, target / extra.name)

    expected = course.notebooks(assignment)
    unexpected = sorted(p for p in source_dir.glob("*.ipynb") if p.stem not in expected)
    for name in expected:
        released = released_notebook(course.release / assignment / f"{name}.ipynb")
        path = source_dir / f"{name}.ipynb"
        if not path.exists():
            renamed = match_renamed(name, unexpected, released)
            if renamed is None:
                result.problems.append(f"{name}.ipynb missing: graded as not submitted (0 points)")
                save(name, released)
                continue
            unexpected.remove(renamed)
            result.problems.append(f"'{renamed.name}' graded as {name}.ipynb (renamed notebook)")
            path = renamed
        nb, error = read_or_explain(path)
        if nb is None:
            result.problems.append(
                f"{path.name} is not a readable notebook ({error}): graded as empty; "
                "ask the student to re-upload the file"
            )
            save(name, released)
            continue
        stripped = strip_unknown_cells(nb, released)
        if stripped:
            result.problems.append(
                f"{name}.ipynb: cells renamed to {', '.join(stripped)} are not cells of the assignment "
                "(graded as ordinary code)"
            )
        restored = restore_deleted_cells(nb, released)
        if restored:
            result.problems.append(f"{name}.ipynb: restored deleted cells {', '.join(restored)}")
        save(name, nb)
    for path in unexpected:
        result.problems.append(f"ignored extra notebook '{path.name}'")
    return result
