"""Commands that start a broker and workers of their own: bench, soak and the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import click
import orjson

from agents.broker import BrokerError, LocalBroker
from agents.cli.common import JSON_PRETTY, checked_client_options, load_settings, main


@main.command()
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="folder of articles (.txt, .json, .jsonl, .html)",
)
@click.option("--limit", default=200, show_default=True, help="articles per contender")
@click.option(
    "--naive-limit", default=40, show_default=True, help="articles for the slow naive baseline"
)
@click.option(
    "--rounds",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="runs of stancewire and of its fused-attention twin, taking turns (median reported)",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    default=Path("bench.json"),
    show_default=True,
)
@click.option(
    "--plot",
    "plot_out",
    type=click.Path(path_type=Path),
    default=Path("bench.png"),
    show_default=True,
)
def bench(
    data_dir: Path, limit: int, naive_limit: int, rounds: int, json_out: Path, plot_out: Path
) -> None:
    """Throughput and latency of stancewire against the transport ceiling, the naive
    baseline and the arithmetic bound, through a real broker and real workers."""
    from benchmarks.bench import plot, run_bench

    result = run_bench(data_dir, limit=limit, naive_limit=naive_limit, rounds=rounds)
    json_out.write_bytes(orjson.dumps(result, option=JSON_PRETTY))
    plot(result, plot_out)
    for name in ("passthrough", "naive", "stancewire", "bound"):
        run = result[name]
        latency = (
            f"p50 {run['p50_ms']} p95 {run['p95_ms']} p99 {run['p99_ms']} ms"
            if "p50_ms" in run
            else ""
        )
        click.echo(f"{name:<12} {run['articles_per_s']!s:>8} articles/s  {latency}")
    ours = result["stancewire"]
    click.echo(
        f"stancewire is {result['speedup_over_naive']}x the naive baseline; end to end "
        f"{ours['fraction_of_bound']} of the bound, model stages alone "
        f"{ours['model_fraction_of_bound']}; details in {json_out}, plot in {plot_out}"
    )


@main.command()
@click.option("--articles", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.01),
    default=20.0,
    show_default=True,
    help="articles produced per second",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="seconds between samples of memory, throughput and p99 latency",
)
@click.option(
    "--data",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="article files or folders to cycle through [default: the packaged samples]",
)
@click.option(
    "--models/--no-models",
    default=True,
    show_default=True,
    help="run the entity and stance models, or only cleaning and language",
)
@click.option(
    "--max-growth",
    type=float,
    default=0.10,
    show_default=True,
    help="fail when memory grows more than this from the second to the last quarter",
)
@click.option(
    "--port",
    default=9092,
    show_default=True,
    help="local broker port; the broker is started if it does not run",
)
@click.option("--bootstrap", default=None, help="use this Kafka instead of a local broker")
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    default=None,
    help="also write the samples and totals here",
)
def soak(
    articles: int,
    rate: float,
    interval: float,
    data: tuple[Path, ...],
    models: bool,
    max_growth: float,
    port: int,
    bootstrap: str | None,
    json_out: Path | None,
) -> None:
    """Feed one worker at a steady rate and watch its memory; exit 1 if it grows or loses."""
    from benchmarks.soak import SoakError, SoakPlan, run_soak

    settings = load_settings()
    local = None
    if bootstrap is None:
        local = LocalBroker(port=port)
        started_here = local.pid() is None
        try:
            local.start()
        except BrokerError as exc:
            raise click.ClickException(str(exc)) from exc
        bootstrap = local.bootstrap
        if not started_here:
            local = None  # someone else's broker: left running
    settings = settings.model_copy(update={"bootstrap_servers": bootstrap})
    plan = SoakPlan(articles, rate, interval, models, data, max_growth)
    workdir = Path(".stancewire") / f"soak-{time.strftime('%Y%m%dT%H%M%S')}"
    try:
        report = run_soak(settings, plan, workdir, echo=click.echo)
    except SoakError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if local is not None:
            local.stop()
    if json_out is not None:
        json_out.write_bytes(report.to_json())
    growth = "n/a" if report.rss_growth is None else f"{100 * report.rss_growth:+.1f} %"
    click.echo(
        f"soak: in {articles} / enriched {report.enriched} / dead-lettered "
        f"{report.dead_lettered} / duplicates {report.duplicates} / lost {report.lost} in "
        f"{report.seconds:.0f} s; p99 {report.p99_ms} ms; peak RSS {report.peak_rss_mb} MB; "
        f"RSS growth from the second to the last quarter {growth} "
        f"(allowed {100 * max_growth:.0f} %)"
    )
    if report.worker_exit is not None:
        click.echo(f"the worker exited with {report.worker_exit}; see {workdir / 'worker.log'}")
    if not report.passed:
        sys.exit(1)


# --- demo ---------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=9092, show_default=True, help="port of the local broker")
@click.option("--timeout", default=180.0, show_default=True, help="seconds to wait for events")
def demo(port: int, timeout: float) -> None:
    """Start a broker and a worker, produce the sample articles, print their enriched events."""
    from agents.clients import TopicWatcher, make_producer, produce_articles
    from agents.display import render_event
    from agents.topics import ensure_topics
    from pipeline.inputs import read_articles

    local = LocalBroker(port=port)
    click.echo(f"starting Kafka on {local.bootstrap} (first run downloads it with Maven)...")
    try:
        local.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = load_settings().model_copy(update={"bootstrap_servers": local.bootstrap})
    ensure_topics(settings)
    env = os.environ | {"STANCEWIRE_BOOTSTRAP_SERVERS": local.bootstrap}
    click.echo("starting the worker (logs in .stancewire/demo-worker.log)...")
    Path(".stancewire").mkdir(exist_ok=True)
    with Path(".stancewire/demo-worker.log").open("wb") as log:
        worker_process = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker"], env=env, stdout=log, stderr=log
        )
    try:
        watcher = TopicWatcher(
            checked_client_options(settings), [settings.output_topic, settings.dlq_topic]
        )
        samples = resources.files("agents") / "samples"
        articles = [
            article
            for sample in sorted(samples.iterdir(), key=lambda p: p.name)
            for article in read_articles(Path(str(sample)))
        ]
        producer = make_producer(checked_client_options(settings))
        keys = set(produce_articles(producer, settings.input_topic, articles))
        producer.close()
        click.echo(f"produced {len(keys)} sample articles to {settings.input_topic}\n")
        arrived = watcher.collect(keys, timeout_s=timeout)
        watcher.close()
        for key in sorted(arrived):
            for topic, value in arrived[key]:
                click.echo(f"[{topic}] " + render_event(value) + "\n")
        missing = keys - arrived.keys()
        if missing:
            raise click.ClickException(
                f"{len(missing)} article(s) did not come out within {timeout:.0f} s: "
                f"{sorted(missing)}; see .stancewire/demo-worker.log"
            )
    finally:
        worker_process.send_signal(signal.SIGTERM)
        try:
            worker_process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker_process.kill()
    click.echo(
        f"all {len(keys)} articles came out. The broker keeps running on {local.bootstrap}: "
        "try 'stancewire consume --from-beginning', and 'stancewire broker stop' when done."
    )
