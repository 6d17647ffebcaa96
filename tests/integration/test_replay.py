"""A dead-lettered article is fixed and replayed with `stancewire replay`, once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Pipeline, free_port

pytestmark = pytest.mark.integration

BROKEN = {
    "id": "harbour-7",
    "title": "Harbour dredging to start in spring",
    "body": "The port authority approved the dredging plan on Friday.",
    "section": "local",  # not a field of the article schema: dead-lettered at validate
}


def stancewire(pipeline: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        env=pipeline.env(web_port=free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_fixed_payload_is_replayed_enriched_and_a_second_replay_is_refused(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start_worker()
    watcher = pipeline.watcher()
    pipeline.produce([(b"harbour-7", orjson.dumps(BROKEN))])
    arrived = watcher.collect({"harbour-7"}, timeout_s=60)
    topic, letter = arrived["harbour-7"][0]
    assert topic == pipeline.settings.dlq_topic and letter["error_type"] == "SchemaViolation"

    # Any Kafka tool sees why it failed, without decoding the JSON.
    kcat = shutil.which("kcat")
    assert kcat, "kcat is needed for this test: apt-get install kcat"
    headers = subprocess.run(
        [kcat, "-C", "-b", pipeline.settings.bootstrap_servers, "-t",
         pipeline.settings.dlq_topic, "-o", "beginning", "-e", "-q", "-f", "%h\n"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "stancewire-stage=validate" in headers
    assert "stancewire-error-type=SchemaViolation" in headers

    listed = stancewire(pipeline, "replay", "--error-type", "SchemaViolation", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert "would replay" in listed.stdout and "harbour-7" in listed.stdout

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(orjson.dumps({k: v for k, v in BROKEN.items() if k != "section"}))
    sent = stancewire(pipeline, "replay", "--id", "harbour-7", "--payload", str(fixed))
    assert sent.returncode == 0, sent.stderr
    assert "replayed 1 dead letters" in sent.stderr
    again = watcher.collect({"harbour-7"}, timeout_s=60)
    topic, event = again["harbour-7"][0]
    assert topic == pipeline.settings.output_topic, event
    assert event["id"] == "harbour-7" and "dredging plan" in event["text"]

    refused = stancewire(pipeline, "replay", "--id", "harbour-7", "--payload", str(fixed))
    assert refused.returncode == 1
    assert "was replayed before; pass --force" in refused.stderr
    forced = stancewire(pipeline, "replay", "--id", "harbour-7", "--payload", str(fixed), "--force")
    assert forced.returncode == 0, forced.stderr
    watcher.close()
    print("\nreplay: 1 dead letter fixed and enriched; second replay refused, --force accepted")
