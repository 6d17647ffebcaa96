"""The prepared device run (benchmarks/gpu_run.sh) as a CPU smoke test, on articles it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).parents[2]

ARTICLES = [
    (
        "Ministers back new sanctions on Russia",
        "Foreign ministers of the European Union agreed on Monday to widen sanctions on "
        "Russia, after talks in Brussels that ran late into the night. Kaja Kallas said "
        "the measures would stay until Moscow withdrew its troops.\n\nHungary had "
        "threatened to block the package but lifted its objection on Sunday.",
    ),
    (
        "NATO leaders meet in The Hague",
        "NATO leaders gathered in The Hague for a two-day summit. Mark Rutte told "
        "reporters that enlargement had made the alliance stronger, while critics in "
        "Berlin warned against raising spending targets again.",
    ),
    (
        "Senate debates military aid to Ukraine",
        "The US Senate opened a debate on a new package of military aid to Ukraine. "
        "Senator Chuck Schumer called the aid essential; several Republicans said "
        "Washington could not keep paying without a plan to end the war.",
    ),
    (
        "Talks on a Russia-US summit stall",
        "Officials in Moscow and Washington said preparations for a Russia-US summit had "
        "stalled. Sergei Lavrov blamed the American side, and the White House said no "
        "date had been set.",
    ),
]


@pytest.mark.slow
def test_the_device_run_on_the_cpu_measures_and_matches_its_reference(tmp_path: Path) -> None:
    data = tmp_path / "articles"
    data.mkdir()
    for number, (title, body) in enumerate(ARTICLES):
        (data / f"{number:03}.txt").write_text(f"{title}\n\n{body}\n")
    figures = tmp_path / "figures.json"
    command = ["bash", str(ROOT / "benchmarks" / "gpu_run.sh"), "--data", str(data)]
    command += ["--device", "cpu", "--limit", "4", "--batch-sizes", "2", "--repeats", "1"]
    command += ["--json", str(figures)]
    done = subprocess.run(
        command,
        env=os.environ | {"PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "batch 2: pass 1/1" in done.stderr  # progress while it runs
    result = orjson.loads(figures.read_bytes())
    assert result["articles"] == 4
    (setting,) = result["settings"]
    assert setting["batch_size"] == 2
    assert setting["articles_per_s"] > 0
    assert setting["tokens_per_s"] > 0
    assert setting["stance_labels"] > 0  # the models ran, so the comparison compared something
    assert setting["stance_labels_differing"] == 0
    assert setting["entity_spans_differing"] == 0
    assert setting["outcomes_differing"] == 0
    assert "0 of" in done.stdout and "articles/s" in done.stdout
