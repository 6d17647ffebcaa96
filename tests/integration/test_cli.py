"""The command line and an independent client (kcat) against the real broker and worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Pipeline, free_port

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2] / "agents" / "samples"


def stancewire(
    pipeline: Pipeline, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        env=pipeline.env(web_port=free_port()),
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_produce_files_and_stdin_then_consume_and_read_with_kcat(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start_worker()
    produced = stancewire(pipeline, "produce", str(SAMPLES))
    assert b"sent 3 article(s)" in produced.stderr
    piped = stancewire(
        pipeline,
        "produce",
        "-",
        stdin=b'{"id": "from-stdin", "title": "Pipe test", "body": "Sent through standard input."}',
    )
    assert b"sent 1 article(s)" in piped.stderr

    consumed = stancewire(pipeline, "consume", "--from-beginning", "--limit", "4", "--json")
    events = [orjson.loads(line) for line in consumed.stdout.splitlines()]
    assert {e["id"] for e in events} >= {"sample-gas-deal", "from-stdin"}
    assert len(events) == 4
    pretty = stancewire(pipeline, "consume", "--from-beginning", "--limit", "4")
    assert b"Hungary signs new gas deal" in pretty.stdout

    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "kcat is needed for this test: apt-get install kcat"
    raw = subprocess.run(
        [
            kcat,
            "-C",
            "-b",
            pipeline.broker.bootstrap,
            "-t",
            pipeline.settings.output_topic,
            "-o",
            "beginning",
            "-c",
            "4",
            "-e",
            "-q",
            "-f",
            "%k\t%s\n",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    rows = [line.split(b"\t", 1) for line in raw.stdout.splitlines() if line]
    assert len(rows) == 4
    for key, value in rows:
        assert orjson.loads(value)["id"] == key.decode()


def test_dead_letters_are_readable_with_consume_dlq(pipeline: Pipeline) -> None:
    pipeline.start_worker()
    stancewire(pipeline, "produce", "-", stdin=b'{"id": "no-body", "title": "Headline only"}')
    out = stancewire(pipeline, "consume", "--dlq", "--from-beginning", "--limit", "1")
    assert b"DEAD LETTER  no-body" in out.stdout
    assert b"needs a 'body'" in out.stdout


def test_enrich_runs_the_pipeline_without_kafka(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agents.cli", "enrich", str(SAMPLES / "01-arctic-talks.txt")],
        capture_output=True,
        timeout=120,
        check=True,
        env=os.environ | {"STANCEWIRE_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
    )
    (event,) = [orjson.loads(result.stdout)]
    assert event["title"].startswith("Stoltenberg warns Moscow")
    assert [r["reason"] for r in event["removed"]].count("ad-placeholder") == 3
