"""Shared test data (paths of the fixtures the project ships) and the run's measured figures.

Tests that measure something (articles lost, duplicates, seconds to recover) print one
line; those lines are gathered from the passing tests and printed together at the end of
the run, under "measured figures".
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def ceasefire_text() -> str:
    return (FIXTURES / "ceasefire-article.txt").read_text()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for line in report.capstdout.splitlines():
            if line.strip():
                _FIGURES.append((report.nodeid, line.strip()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("measured figures")
    for nodeid, line in _FIGURES:
        terminalreporter.write_line(f"{nodeid.split('::')[-1]}: {line}")
