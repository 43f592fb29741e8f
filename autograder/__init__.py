"""Learn Reinforcement Learning with PyTorch: the grading engine and `rlgrade`.

Notebooks import `check` (visible tests) and `grade` (hidden tests) from here.
They are loaded lazily so that `rlgrade` starts without importing torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "grade"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from autograder import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
