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


def test_a_cluster_is_one_quorum_of_nodes_with_three_copies(tmp_path: Path) -> None:
    from agents.cluster import LocalCluster

    cluster = LocalCluster.from_base(29092, 3, state_dir=tmp_path)
    assert cluster.bootstrap == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    nodes = cluster.brokers
    texts = [node._properties() for node in nodes]
    voters = "controller.quorum.voters=1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    for node_id, (node, text) in enumerate(zip(nodes, texts, strict=True), start=1):
        assert f"node.id={node_id}\n" in text
        assert voters in text
        assert f"log.dirs={tmp_path / f'node-{node_id}' / 'data'}\n" in text
        for setting in (
            "default.replication.factor=3",
            "min.insync.replicas=2",
            "offsets.topic.replication.factor=3",
            "transaction.state.log.replication.factor=3",
            "transaction.state.log.min.isr=2",
        ):
            assert setting + "\n" in text
        assert node.pid_file.parent == tmp_path / f"node-{node_id}"
    # One cluster id for all, drawn once and kept: a re-formatted node joins the same cluster.
    assert len({node.cluster_id for node in nodes}) == 1
    assert LocalCluster.from_base(29092, 3, state_dir=tmp_path).node(2).cluster_id == (
        nodes[0].cluster_id
    )


def test_a_single_broker_keeps_one_copy_of_everything(tmp_path: Path) -> None:
    text = LocalBroker(port=29092, state_dir=tmp_path)._properties()
    assert "controller.quorum.voters=1@127.0.0.1:29093\n" in text
    assert "min.insync.replicas=1\n" in text
    assert "transaction.state.log.replication.factor=1\n" in text


def test_cluster_ports_must_leave_room_for_the_controllers() -> None:
    from agents.cluster import LocalCluster

    with pytest.raises(BrokerError, match="overlap"):
        LocalCluster(ports=(29092, 29093, 29096))
    with pytest.raises(BrokerError, match="at least two nodes"):
        LocalCluster(ports=(29092,))
