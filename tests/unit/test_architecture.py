"""ARCHITECTURE.md names only paths that exist, and the layout rules it states hold."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("pipeline", "agents", "schemas", "training")


def test_every_path_the_architecture_page_names_exists() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(
        re.findall(r"`((?:schemas|pipeline|training|agents|benchmarks|tests)/[^`\s]*)`", text)
    )
    assert len(named) > 20
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == []


def test_no_module_of_the_layers_passes_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for layer in LAYERS
        for path in (ROOT / layer).rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_the_streaming_path_imports_neither_agents_nor_training() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipeline").rglob("*.py")
        if re.search(r"^\s*(from|import) (agents|training|benchmarks)\b", path.read_text(), re.M)
    ]
    assert offenders == []
