"""The local broker launcher explains what is missing instead of failing obscurely."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agents import broker
from agents.broker import BrokerError, LocalBroker, _pom


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xF8 encodes to "-" in base64url: the storage tool would take the id for an option.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(range(16)))])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: next(drawn))
    assert broker._cluster_id() == "AAECAwQFBgcICQoLDA0ODw"


def test_missing_java_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither java nor mvn can be found
    with pytest.raises(BrokerError, match=r"'java' was not found on PATH: install a Java"):
        LocalBroker(port=1, state_dir=tmp_path).start(timeout_s=1)


def test_missing_maven_is_named_when_jars_must_be_fetched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANCEWIRE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    from agents.broker import fetch_kafka

    with pytest.raises(BrokerError, match=r"'mvn' was not found on PATH: install Maven"):
        fetch_kafka()


def test_properties_bind_loopback_and_allow_large_messages(tmp_path: Path) -> None:
    text = LocalBroker(port=29092, state_dir=tmp_path)._properties()
    assert "listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093" in text
    assert f"log.dirs={tmp_path / 'data'}" in text
    assert "message.max.bytes=16777216" in text
    assert "<artifactId>kafka_2.13</artifactId><version>4.1.1</version>" in _pom("4.1.1")
