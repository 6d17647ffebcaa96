"""Shared test data: paths of the fixtures the project ships."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def ceasefire_text() -> str:
    return (FIXTURES / "ceasefire-article.txt").read_text()
