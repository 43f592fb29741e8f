"""Engine tests: the repository root on sys.path (for `tests.engine.corpus`), and the
corpus summary at the end of the run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.engine.corpus import VERDICTS, summary

    if VERDICTS:
        terminalreporter.write_line(summary(VERDICTS))
