"""Learn Reinforcement Learning with PyTorch: the grading engine and `rlgrade`.

Notebooks import `check` (visible tests) and `grade` (hidden tests) from here.
They are loaded lazily so that `rlgrade` starts without importing torch.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["check", "grade"]

# Set in a kernel while the sandboxed grader runs its notebook: `grade` then records, and
# the grading process judges (see autograder.engine.api). Here, so that the grading side
# can name it without importing torch.
RECORD_ENV = "RLGRADE_RECORD"


def _skip_unused_iri_checker() -> None:
    """jsonschema checks the "iri" string format with rfc3987_syntax when it is installed
    (nbformat's dependencies install it), and importing that builds some 35 Lark parsers:
    2 s of CPU in every process that reads a notebook. No notebook or nbgrader schema uses
    that format, so the grading side's processes let jsonschema go without it (a None entry
    in sys.modules makes the import fail, which jsonschema expects and handles). Left as is
    in a kernel or a student's Jupyter (IPython already loaded), and once jsonschema is in."""
    if "IPython" not in sys.modules and "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


_skip_unused_iri_checker()


def __getattr__(name: str) -> Any:
    if name in __all__:
        from autograder import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
