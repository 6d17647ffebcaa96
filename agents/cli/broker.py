"""``stancewire broker``: a local Kafka (one node or a cluster) for development and tests."""

from __future__ import annotations

import sys

import click

from agents.broker import BrokerError, LocalBroker
from agents.cli.common import main
from agents.cluster import LocalCluster

# --- broker -------------------------------------------------------------------------------


@main.group()
def broker() -> None:
    """Run a local Kafka broker, or a cluster of them (fetched from Maven Central once)."""


_port = click.option(
    "--port",
    default=9092,
    show_default=True,
    help="broker port on 127.0.0.1 (a cluster's first node; the others on +2, +4, ...)",
)
_nodes = click.option(
    "--nodes",
    type=click.IntRange(min=1),
    default=None,
    help="1: a single broker; 3: a KRaft cluster, replication factor 3, min.insync.replicas 2 "
    "[default: 1 to start; stop and status find a cluster started on --port]",
)


def _local_kafka(port: int, nodes: int | None) -> LocalBroker | LocalCluster:
    """The single broker or the cluster on ``port``, as started with ``--nodes``."""
    if nodes is None:
        return LocalCluster.recorded(port) or LocalBroker(port=port)
    return LocalBroker(port=port) if nodes == 1 else LocalCluster.from_base(port, nodes)


@broker.command("start")
@_port
@_nodes
def broker_start(port: int, nodes: int | None) -> None:
    """Start the broker (or every node) and wait until it answers."""
    local = _local_kafka(port, nodes or 1)
    try:
        local.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    if isinstance(local, LocalCluster):
        pids = ", ".join(str(node.pid()) for node in local.brokers)
        click.echo(
            f"{len(local.ports)}-node cluster running on {local.bootstrap} "
            f"(pids {pids}, state in {local.home})"
        )
    else:
        click.echo(
            f"broker running on {local.bootstrap} (pid {local.pid()}, state in {local.home})"
        )


@broker.command("stop")
@_port
@_nodes
def broker_stop(port: int, nodes: int | None) -> None:
    """Stop the broker (or every node) cleanly."""
    local = _local_kafka(port, nodes)
    stopped = int(local.stop())
    if isinstance(local, LocalCluster):
        click.echo(f"{stopped} of {len(local.ports)} nodes stopped")
    else:
        click.echo("broker stopped" if stopped else "no broker was running")


@broker.command("status")
@_port
@_nodes
def broker_status(port: int, nodes: int | None) -> None:
    """Say whether the broker (every node) runs; exit code 1 when one does not."""
    local = _local_kafka(port, nodes)
    if isinstance(local, LocalCluster):
        down = 0
        for node_id, node in enumerate(local.brokers, start=1):
            pid, ready = node.pid(), node.ready()
            down += pid is None or not ready
            state = "not running" if pid is None else f"pid {pid}" + ("" if ready else ", silent")
            click.echo(f"node {node_id} on {node.bootstrap}: {state}")
        if down:
            click.echo(f"{down} of {len(local.ports)} nodes down")
            sys.exit(1)
        return
    pid = local.pid()
    if pid is None:
        click.echo(f"no broker running on port {port}")
        sys.exit(1)
    click.echo(f"broker running on {local.bootstrap} (pid {pid})")
