"""The commands of the running stream: the worker, produce, consume, replay and top."""

from __future__ import annotations

import atexit
import faulthandler
import gc
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from agents.cli.common import checked_client_options, load_settings, main, unreachable

# --- worker -------------------------------------------------------------------------------


@main.command()
def worker() -> None:
    """Run the Faust worker that enriches articles (settings from STANCEWIRE_* variables)."""
    import faust

    from agents.app import create_app
    from agents.bootstrap import build_enricher
    from agents.limits import LimitsError, output_limit, topic_message_limits
    from agents.topics import ensure_topics

    settings = load_settings()
    checked_client_options(settings)  # a clear error for incomplete security settings, up front
    try:
        created = ensure_topics(settings)
    except Exception as exc:
        raise unreachable(settings, exc, "create topics") from exc
    if created:
        click.echo(f"created topics {', '.join(created)}", err=True)
    # `kill -USR1 <pid>` prints every thread's stack to the log: how to see where a stuck
    # worker waits, without stopping it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    try:
        limit = output_limit(settings, topic_message_limits(settings))
    except LimitsError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        raise unreachable(settings, exc, "read the topics' size limits") from exc
    app = create_app(settings, build_enricher(settings), max_record_bytes=limit)
    # The models, tokenizers and libraries are loaded for good: freezing them keeps the
    # garbage collector from walking their ~470,000 objects, a 0.2 s pause in the middle of
    # a batch every few batches. Unfrozen at exit, where the final collection runs their
    # finalisers (frozen, triton's bindings report leaks as the interpreter ends).
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


# --- produce / consume --------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--topic", default=None, help="topic to send to [default: the input topic]")
def produce(paths: tuple[Path, ...], topic: str | None) -> None:
    """Send articles from files (.json, .jsonl, .txt, .html), folders, or stdin ('-' or none)."""
    from tqdm import tqdm

    from agents.clients import make_producer, produce_articles
    from pipeline.inputs import InputError, iter_paths, read_articles, read_unnamed

    settings = load_settings()
    try:
        articles = (
            read_unnamed(sys.stdin.buffer.read())
            if not paths or paths == (Path("-"),)
            else [article for path in iter_paths(list(paths)) for article in read_articles(path)]
        )
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    target = topic or settings.input_topic
    from kafka.errors import KafkaError

    started = time.monotonic()
    sent = 0
    try:
        producer = make_producer(checked_client_options(settings))
        with tqdm(total=len(articles), unit="article", file=sys.stderr, disable=None) as progress:
            for _ in produce_articles(producer, target, articles):
                sent += 1
                progress.update()
        producer.close()
    except KafkaError as exc:
        raise unreachable(settings, exc, f"send articles ({sent} sent)") from exc
    elapsed = time.monotonic() - started
    click.echo(f"sent {sent} article(s) to {target} in {elapsed:.2f} s", err=True)


@main.command()
@click.option("--topic", default=None, help="topic to read [default: the enriched topic]")
@click.option("--dlq", is_flag=True, help="read the dead-letter topic instead")
@click.option("--from-beginning", is_flag=True, help="start at the oldest event")
@click.option("--follow", "-f", is_flag=True, help="keep waiting for new events")
@click.option("--limit", type=int, default=None, help="stop after this many events")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines instead of summaries")
def consume(
    topic: str | None,
    dlq: bool,
    from_beginning: bool,
    follow: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Print enriched events (or dead letters) from Kafka."""
    from agents.clients import consume_events
    from agents.display import render_event

    settings = load_settings()
    source = topic or (settings.dlq_topic if dlq else settings.output_topic)
    from kafka.errors import KafkaError

    try:
        for event in consume_events(
            checked_client_options(settings),
            source,
            from_beginning=from_beginning,
            follow=follow,
            limit=limit,
        ):
            click.echo(orjson.dumps(event).decode() if as_json else render_event(event) + "\n")
    except KafkaError as exc:
        raise unreachable(settings, exc, f"read {source}") from exc


@main.command()
@click.option("--stage", default=None, help="only dead letters of this stage (decode, validate...)")
@click.option("--error-type", default=None, help="only this error type (SchemaViolation...)")
@click.option("--id", "ids", multiple=True, help="only this article id or message key (repeatable)")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="only dead letters that failed at or after this time (UTC unless given)",
)
@click.option("--limit", type=int, default=None, help="replay at most this many")
@click.option("--dry-run", is_flag=True, help="list what would be replayed and send nothing")
@click.option(
    "--payload",
    "payload_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="send this file's bytes instead of the stored payload (one dead letter only)",
)
@click.option("--force", is_flag=True, help="replay dead letters that were replayed before")
def replay(
    stage: str | None,
    error_type: str | None,
    ids: tuple[str, ...],
    since: datetime | None,
    limit: int | None,
    dry_run: bool,
    payload_file: Path | None,
    force: bool,
) -> None:
    """Send dead letters back to the input topic, with their key and where they came from."""
    from kafka.errors import KafkaError

    from agents.replay import ReplayError, Selection, plan
    from agents.replay import replay as send_again

    settings = load_settings()
    options = checked_client_options(settings)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    selection = Selection(stage, error_type, frozenset(ids), since, limit)
    try:
        planned = plan(options, settings, selection)
        for item in planned:
            letter = item.letter
            before = "  (replayed before)" if item.replayed_before else ""
            click.echo(
                f"{'would replay' if dry_run else 'replaying'} {item.place} "
                f"{letter.article_id or letter.key or '-'}: {letter.stage.value} "
                f"{letter.error_type}, {letter.payload_size} bytes{before}"
            )
        if not planned:
            click.echo("no dead letter matches", err=True)
        if dry_run or not planned:
            return
        sent = send_again(options, settings, planned, payload_file=payload_file, force=force)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from exc
    except KafkaError as exc:
        raise unreachable(settings, exc, "replay dead letters") from exc
    click.echo(f"replayed {len(sent)} dead letters to {settings.input_topic}", err=True)


@main.command()
@click.option("--url", default=None, help="worker web address [default: from the settings]")
@click.option("--interval", default=2.0, show_default=True, help="seconds between refreshes")
@click.option("--once", is_flag=True, help="print the figures once and exit")
def top(url: str | None, interval: float, once: bool) -> None:
    """A terminal view of a running worker: throughput, latency, lag, dead letters, entities."""
    import urllib.request

    from agents.display import render_summary

    settings = load_settings()
    base = url or f"http://{settings.web_host}:{settings.web_port}"
    while True:
        try:
            with urllib.request.urlopen(f"{base}/dashboard.json", timeout=5) as response:
                figures = orjson.loads(response.read())
        except OSError as exc:
            raise click.ClickException(f"no worker answers at {base}: {exc}") from exc
        screen = render_summary(figures, source=base)
        if once:
            click.echo(screen)
            return
        click.clear()
        click.echo(screen)
        time.sleep(interval)
