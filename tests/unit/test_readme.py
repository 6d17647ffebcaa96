"""The README documents every setting with its real default, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from agents.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_configuration_table_matches_the_settings() -> None:
    rows = dict(re.findall(r"^\| `(STANCEWIRE_[A-Z_]+)` \| `([^`]*)` \|", README, re.MULTILINE))
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        variable = f"STANCEWIRE_{name.upper()}"
        assert variable in rows, f"README lacks {variable}"
        assert rows[variable] == str(getattr(defaults, name)), variable
    assert set(rows) == {f"STANCEWIRE_{name.upper()}" for name in Settings.model_fields}


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"^(bash scripts/test\.sh)", README, re.MULTILINE)
    assert command, "README must give the test command"
    assert command.group(1) in (ROOT / ".ci" / "run").read_text()
