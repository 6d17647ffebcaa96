"""A local three-node (or N-node) KRaft Kafka cluster: every node a broker and a controller."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agents.broker import BrokerError, LocalBroker, _cluster_id, cache_root

# Three JVMs on a small machine: a small fixed heap, one GC and compiler thread each.
NODE_HEAP = "384m"
NODE_JVM_OPTIONS = (
    "-XX:+UseSerialGC",
    "-XX:CICompilerCount=2",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:ReservedCodeCacheSize=64m",
    "-Xss512k",
)


@dataclass(frozen=True)
class LocalCluster:
    """Nodes listening on ``ports`` (each node's controller on the port after it).

    All nodes are voters of one KRaft quorum and share one cluster id, kept in the
    cluster's folder so that a node whose storage is gone is formatted into the same
    cluster. Topics get one copy per node (at most three) and writes need two
    (``min.insync.replicas``), so the cluster rides out the loss of any one node.
    """

    ports: tuple[int, ...]
    state_dir: Path | None = None
    heap: str = NODE_HEAP

    def __post_init__(self) -> None:
        if len(self.ports) < 2:
            raise BrokerError("a cluster needs at least two nodes; use LocalBroker for one")
        taken = {p for port in self.ports for p in (port, port + 1)}
        if len(taken) != 2 * len(self.ports):
            raise BrokerError(
                f"ports {self.ports} overlap: each node also uses the port after its own"
            )

    @classmethod
    def from_base(cls, port: int, nodes: int, state_dir: Path | None = None) -> LocalCluster:
        """Nodes on ``port``, ``port + 2``, ... (their controllers on the odd ports between)."""
        return cls(ports=tuple(port + 2 * index for index in range(nodes)), state_dir=state_dir)

    @classmethod
    def recorded(cls, port: int) -> LocalCluster | None:
        """The cluster that ``broker start --nodes N --port PORT`` made, if there is one."""
        home = cache_root() / f"cluster-{port}"
        try:
            ports = tuple(int(p) for p in (home / "ports").read_text().split())
        except (FileNotFoundError, ValueError):
            return None
        return cls(ports=ports) if len(ports) > 1 else None

    @property
    def home(self) -> Path:
        return self.state_dir or cache_root() / f"cluster-{self.ports[0]}"

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    @property
    def voters(self) -> str:
        return ",".join(
            f"{node_id}@127.0.0.1:{port + 1}" for node_id, port in self.node_ports().items()
        )

    def node_ports(self) -> dict[int, int]:
        """Node id -> plaintext port; ids count from 1."""
        return {index + 1: port for index, port in enumerate(self.ports)}

    @property
    def brokers(self) -> tuple[LocalBroker, ...]:
        return tuple(self.node(node_id) for node_id in self.node_ports())

    def node(self, node_id: int) -> LocalBroker:
        """The broker with this node id (1, 2, ...)."""
        port = self.node_ports()[node_id]
        return LocalBroker(
            port=port,
            state_dir=self.home / f"node-{node_id}",
            heap=self.heap,
            node_id=node_id,
            voters=self.voters,
            replicas=min(3, len(self.ports)),
            cluster_id=self._cluster_id(),
            jvm_options=NODE_JVM_OPTIONS,
        )

    def start(self, *, timeout_s: float = 180.0) -> None:
        """Start every node that is not running and wait until all of them are ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "ports").write_text(" ".join(str(port) for port in self.ports) + "\n")
        launched = []
        try:
            for broker in self.brokers:
                process = broker.launch()
                if process is not None:
                    launched.append((broker, process))
            deadline = time.monotonic() + timeout_s
            for broker, process in launched:
                broker.await_ready(process, deadline=deadline)
        except BrokerError:
            self.stop()
            raise

    def stop(self) -> int:
        """Stop every node cleanly, all at once; the number that were running.

        One at a time, the last nodes would wait for a quorum that is already gone.
        """
        with ThreadPoolExecutor(max_workers=len(self.ports)) as pool:
            return sum(pool.map(lambda broker: broker.stop(), self.brokers))

    def _cluster_id(self) -> str:
        """One id for all nodes, drawn once and kept beside their folders."""
        path = self.home / "cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_cluster_id())
        return path.read_text().strip()
