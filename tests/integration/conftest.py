"""Integration tooling: the project's own Kafka broker and real worker processes.

The broker is started once per test session on a private port. If it cannot start, every
integration test fails with the broker's own error: they are never skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents.broker import LocalBroker
from agents.clients import TopicWatcher, make_producer
from agents.cluster import LocalCluster
from agents.security import client_options
from agents.settings import Settings
from agents.topics import ensure_topics

BROKER_PORT = int(os.environ.get("STANCEWIRE_TEST_BROKER_PORT", "19092"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pairs(count: int) -> tuple[int, ...]:
    """``count`` free ports, each with the port after it free too (a node's controller)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if any(abs(port - other) < 2 for other in ports) or port >= 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        ports.append(port)
    return tuple(ports)


def security_env(settings: Settings) -> dict[str, str]:
    """The STANCEWIRE_* variables that give a client process the same credentials."""
    env = {
        "STANCEWIRE_SECURITY_PROTOCOL": settings.security_protocol,
        "STANCEWIRE_SASL_MECHANISM": settings.sasl_mechanism,
        "STANCEWIRE_SASL_USERNAME": settings.sasl_username,
        "STANCEWIRE_SASL_PASSWORD": settings.sasl_password.get_secret_value(),
    }
    if settings.ssl_cafile is not None:
        env["STANCEWIRE_SSL_CAFILE"] = str(settings.ssl_cafile)
    return env


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    local = LocalBroker(port=BROKER_PORT, state_dir=tmp_path_factory.mktemp("broker"))
    local.start(timeout_s=120)  # raises BrokerError with the broker's log: the test fails
    yield local
    local.stop()


@dataclass
class Pipeline:
    """One isolated set of topics and a consumer group, with worker processes on it."""

    broker: LocalBroker | LocalCluster
    workdir: Path
    settings: Settings
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    web_ports: list[int] = field(default_factory=list)

    def env(self, web_port: int) -> dict[str, str]:
        s = self.settings
        return (
            os.environ
            | {
                "STANCEWIRE_BOOTSTRAP_SERVERS": s.bootstrap_servers,
                "STANCEWIRE_APP_ID": s.app_id,
                "STANCEWIRE_INPUT_TOPIC": s.input_topic,
                "STANCEWIRE_OUTPUT_TOPIC": s.output_topic,
                "STANCEWIRE_DLQ_TOPIC": s.dlq_topic,
                "STANCEWIRE_WEB_PORT": str(web_port),
                "STANCEWIRE_DATA_DIR": str(self.workdir / f"data-{web_port}"),
                "STANCEWIRE_BATCH_WINDOW_S": "0.2",
                "STANCEWIRE_MAX_PAYLOAD_BYTES": str(s.max_payload_bytes),
                "PYTHONUNBUFFERED": "1",
            }
            | security_env(s)
            | self.extra_env
        )

    def spawn_worker(self) -> tuple[subprocess.Popen[bytes], Path]:
        """Start ``stancewire worker`` without waiting; its web port is ``web_ports[-1]``."""
        web_port = free_port()
        self.web_ports.append(web_port)
        log_path = self.workdir / f"worker-{web_port}-{len(self.workers)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "agents.cli", "worker"],
                env=self.env(web_port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process, log_path

    def start_worker(self, *, ready_timeout_s: float = 120) -> subprocess.Popen[bytes]:
        """Start ``stancewire worker`` and wait until it has joined its consumer group."""
        process, log_path = self.spawn_worker()
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if process.poll() is not None:
                pytest.fail(f"worker exited with {process.returncode}:\n{text[-4000:]}")
            if "[^Worker]: Ready" in text:
                return process
            time.sleep(0.3)
        pytest.fail(f"worker not ready in {ready_timeout_s} s:\n{log_path.read_text()[-4000:]}")

    def watcher(self, *, from_start: bool = False, read_committed: bool = False) -> TopicWatcher:
        return TopicWatcher(
            client_options(self.settings),
            [self.settings.output_topic, self.settings.dlq_topic],
            from_start=from_start,
            read_committed=read_committed,
        )

    def produce(self, messages: list[tuple[bytes, bytes]]) -> None:
        producer = make_producer(client_options(self.settings))
        for key, value in messages:
            producer.send(self.settings.input_topic, key=key, value=value)
        producer.flush(timeout=60)
        producer.close()

    def stop_workers(self, sig: int = signal.SIGTERM) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(sig)
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def worker_logs(self) -> str:
        """The end of each worker's log, with the stacks of those still running."""
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGUSR1)  # faulthandler dumps every thread
        time.sleep(1)
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-6000:]
            for p in sorted(self.workdir.glob("worker-*.log"))
        )


def fresh_settings(bootstrap: str, **extra: Any) -> Settings:
    """Settings with topics and a consumer group of their own, created on the broker."""
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        bootstrap_servers=bootstrap,
        app_id=f"stancewire-test-{run}",
        input_topic=f"raw-{run}",
        output_topic=f"enriched-{run}",
        dlq_topic=f"dlq-{run}",
        max_payload_bytes=256 * 1024,
        **extra,
    )
    ensure_topics(settings)
    return settings


@pytest.fixture
def pipeline(broker: LocalBroker, tmp_path: Path) -> Iterator[Pipeline]:
    """Fresh topics and group per test, so tests never see each other's messages."""
    settings = fresh_settings(broker.bootstrap)
    harness = Pipeline(broker=broker, workdir=tmp_path, settings=settings)
    yield harness
    harness.stop_workers(signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three KRaft nodes (brokers and controllers), replication factor 3, min ISR 2.

    Module-scoped: tests that kill a node restart it and wait for it to rejoin.
    """
    local = LocalCluster(ports=free_port_pairs(3), state_dir=tmp_path_factory.mktemp("cluster"))
    local.start(timeout_s=180)  # raises BrokerError with the nodes' logs: the test fails
    yield local
    local.stop()


@pytest.fixture
def cluster_pipeline(cluster: LocalCluster, tmp_path: Path) -> Iterator[Pipeline]:
    """Fresh topics with three copies on the cluster; workers know every node."""
    settings = fresh_settings(cluster.bootstrap, replication_factor=3)
    harness = Pipeline(broker=cluster, workdir=tmp_path, settings=settings)
    harness.extra_env["STANCEWIRE_REPLICATION_FACTOR"] = "3"
    yield harness
    harness.stop_workers(signal.SIGKILL)
