"""A local KRaft Kafka node on 127.0.0.1, alone or in a cluster; jars from Maven Central once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"


# Brokers this process started, kept so that stop() can reap them as their parent.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(Exception):
    """The local broker could not be fetched, started or stopped; the message says why."""


def cache_root() -> Path:
    """Where jars and broker state live: $STANCEWIRE_CACHE, else ~/.cache/stancewire."""
    return Path(os.environ.get("STANCEWIRE_CACHE", Path.home() / ".cache" / "stancewire"))


@dataclass(frozen=True)
class SecureListener:
    """A SASL_SSL listener beside the plaintext one: TLS with SCRAM user names and passwords.

    ``keystore_pem`` holds the broker's unencrypted PKCS#8 private key followed by its
    certificate chain. Users are created when the storage is first formatted.
    """

    port: int
    keystore_pem: Path
    users: tuple[tuple[str, str], ...]
    mechanism: str = "SCRAM-SHA-256"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class LocalBroker:
    """One local broker: its port, its controller port and its state folder.

    With ``secure`` it also listens for SASL_SSL clients on ``secure.port``. Alone by
    default; ``agents.cluster.LocalCluster`` makes several, each with its own ``node_id``,
    the same ``voters`` (the KRaft quorum, every node a controller too), the same
    ``cluster_id`` and ``replicas`` copies of every topic.
    """

    port: int = 9092
    state_dir: Path | None = None
    heap: str = "512m"
    secure: SecureListener | None = None
    node_id: int = 1
    voters: str = ""  # controller.quorum.voters; empty: this node alone
    replicas: int = 1
    cluster_id: str = ""  # drawn at the first format when empty
    jvm_options: tuple[str, ...] = ()

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def home(self) -> Path:
        return self.state_dir or cache_root() / f"broker-{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    def pid(self) -> int | None:
        """The broker's process id if it is running, else None."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        except PermissionError:
            return pid
        return pid

    def start(self, *, timeout_s: float = 90.0) -> None:
        """Fetch Kafka if needed, format storage once, start the broker and wait for it."""
        process = self.launch()
        if process is not None:
            self.await_ready(process, deadline=time.monotonic() + timeout_s)

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Format storage once and start the broker process without waiting for it.

        None when this broker already runs. A node of a cluster cannot get ready alone (its
        quorum needs a majority), so a cluster launches every node before waiting.
        """
        if self.pid() is not None:
            if _answers(self.port):
                return None
            raise BrokerError(f"broker process {self.pid()} exists but port {self.port} is dead")
        if _answers(self.port):
            raise BrokerError(
                f"port {self.port} is already taken by another program; choose another with --port"
            )
        java = _require("java", "install a Java 17+ runtime (Debian: openjdk-17-jre-headless)")
        libs = fetch_kafka()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        properties = self.home / "server.properties"
        properties.write_text(self._properties())
        classpath = f"{libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            users: list[str] = []  # SCRAM credentials are stored in the cluster metadata
            if self.secure is not None:
                for name, password in self.secure.users:
                    users += [
                        "--add-scram",
                        f"{self.secure.mechanism}=[name={name},password={password}]",
                    ]
            _run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster_id or _cluster_id(),
                    "-c",
                    str(properties),
                    *users,
                ],
                what="formatting KRaft storage",
            )
        if self.log_file.exists():  # a fresh log, so the readiness check sees this start only
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        log4j = resources.files("agents") / "log4j2.properties"
        with (self.home / "logs" / "stdout.log").open("ab") as stdout:
            process = subprocess.Popen(
                [
                    java,
                    f"-Xmx{self.heap}",
                    f"-Xms{self.heap}",
                    *self.jvm_options,
                    f"-Dlog4j2.configurationFile={log4j}",
                    f"-Dkafka.logs.dir={self.home / 'logs'}",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(properties),
                ],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the broker outlives the command that started it
            )
        _STARTED[process.pid] = process
        self.pid_file.write_text(str(process.pid))
        return process

    def await_ready(self, process: subprocess.Popen[bytes], *, deadline: float) -> None:
        """Wait until the launched broker answers and logged its start; stop it on failure."""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrokerError(
                    f"broker exited with code {process.returncode}:\n{self._log_tail()}"
                )
            if self.ready():
                return
            time.sleep(0.3)
        self.stop()
        raise BrokerError(
            f"broker on port {self.port} did not get ready in the time allowed:\n{self._log_tail()}"
        )

    def ready(self) -> bool:
        """True once the broker answers on its port and has logged that it started."""
        return _answers(self.port) and _ready_line_logged(self.log_file)

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL); False if none was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        if pid in _STARTED:
            _STARTED.pop(pid).wait(timeout=10)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """``kill -9`` the broker: no clean shutdown, as when its machine dies."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        if pid in _STARTED:
            _STARTED.pop(pid).wait(timeout=10)
        else:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _properties(self) -> str:
        replicas = str(self.replicas)
        # With three copies a write needs two of them: one node may die without loss.
        min_isr = str(min(2, self.replicas))
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters
            or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "4",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            # Internal topics get as many copies as there are nodes.
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            # Room for the oversize-payload tests: the worker, not the broker, enforces limits.
            "message.max.bytes": str(16 * 1024 * 1024),
            "replica.fetch.max.bytes": str(16 * 1024 * 1024),
        }
        if self.replicas > 1:
            settings |= {
                # Three JVMs share two cores here: few threads each.
                "num.network.threads": "2",
                "num.io.threads": "2",
                "num.replica.fetchers": "1",
                "background.threads": "2",
                "log.cleaner.threads": "1",
                "num.recovery.threads.per.data.dir": "1",
                "offsets.topic.num.partitions": "12",
                "transaction.state.log.num.partitions": "12",
                # A dead node is fenced, and leaves the ISRs, after 6 s instead of 9.
                "broker.session.timeout.ms": "6000",
                "broker.heartbeat.interval.ms": "1000",
            }
        if self.secure is not None:
            listener = f"SASL_SSL://127.0.0.1:{self.secure.port}"
            mechanism = self.secure.mechanism
            settings["listeners"] += "," + listener
            settings["advertised.listeners"] += "," + listener
            settings["listener.security.protocol.map"] += ",SASL_SSL:SASL_SSL"
            settings["sasl.enabled.mechanisms"] = mechanism
            settings[f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
            settings["ssl.keystore.type"] = "PEM"
            settings["ssl.keystore.location"] = str(self.secure.keystore_pem)
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _log_tail(self, lines: int = 30) -> str:
        texts = []
        for log in (self.home / "logs" / "stdout.log", self.log_file):
            if log.exists():
                texts += log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts) or "(the broker wrote no log)"


def fetch_kafka(version: str = KAFKA_VERSION) -> Path:
    """The folder of Kafka's jars, downloaded with Maven from Maven Central on first use."""
    libs = cache_root() / f"kafka-{version}" / "libs"
    if (libs / f"kafka_2.13-{version}.jar").exists():
        return libs
    mvn = _require("mvn", "install Maven (Debian: maven) so the broker jars can be fetched")
    project = libs.parent / "fetch"
    project.mkdir(parents=True, exist_ok=True)
    (project / "pom.xml").write_text(_pom(version))
    partial = libs.parent / "libs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    _run(
        [
            mvn,
            "-B",
            "-f",
            str(project / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        what=f"fetching Apache Kafka {version} from Maven Central",
        show=True,
    )
    partial.rename(libs)  # only a complete download ever counts as cached
    return libs


def _pom(version: str) -> str:
    dependencies = [
        ("org.apache.kafka", "kafka_2.13", version),
        ("org.slf4j", "slf4j-api", SLF4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j2-impl", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
    ]
    body = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in dependencies
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>stancewire</groupId><artifactId>kafka-fetch</artifactId><version>1</version>"
        f"<dependencies>{body}</dependencies></project>\n"
    )


def _cluster_id() -> str:
    """A base64url-encoded random 16-byte UUID without padding, as KRaft wants. One in 64
    starts with "-", which the storage tool reads as an option (seen in CI: "argument
    --cluster-id/-t: expected one argument"); Kafka's own generator draws again, so do we."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _require(program: str, advice: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise BrokerError(f"'{program}' was not found on PATH: {advice}")
    return path


def _run(command: list[str], *, what: str, show: bool = False) -> None:
    """Run a set-up command; with ``show`` its output goes to stderr as it comes (downloads)."""
    if not show:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-3000:]
            raise BrokerError(f"{what} failed (exit {result.returncode}):\n{output}")
        return
    print(f"stancewire: {what} (once; cached in {cache_root()})", file=sys.stderr, flush=True)
    returncode = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if returncode.returncode != 0:
        raise BrokerError(f"{what} failed (exit {returncode.returncode}); its output is above")


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _ready_line_logged(log: Path) -> bool:
    return log.exists() and "Kafka Server started" in log.read_text(errors="replace")


def _alive(pid: int) -> bool:
    if pid in _STARTED:
        return _STARTED[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
