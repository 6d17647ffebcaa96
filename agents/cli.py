"""The ``stancewire`` command line: broker, worker, produce, consume, enrich and the demo."""

from __future__ import annotations

import atexit
import faulthandler
import gc
import importlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
import orjson
from pydantic import ValidationError

from agents.broker import BrokerError, LocalBroker
from agents.cluster import LocalCluster
from agents.settings import Settings

JSON_PRETTY = orjson.OPT_INDENT_2
# OpenMP threads that spin while idle starve the broker and the event loop on a small shared
# machine (15x slower inference measured here); passive waiting costs little when idle.
# It must be set before torch loads the OpenMP runtime, hence here at import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@click.group()
@click.version_option(package_name="stancewire")
@click.option(
    "--verbose",
    is_flag=True,
    help="show the libraries' own model load reports and progress bars",
)
def main(verbose: bool) -> None:
    """stancewire: news articles in on Kafka, entities and stance out."""
    if verbose:
        from agents.bootstrap import VERBOSE_VARIABLE

        os.environ[VERBOSE_VARIABLE] = "1"  # the worker processes a command starts inherit it


def load_settings() -> Settings:
    """The settings from the environment, or a clear error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"STANCEWIRE_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise click.ClickException(f"invalid configuration: {problems}") from exc


def _client_options(settings: Settings) -> dict[str, Any]:
    """kafka-python options from the settings, or a clear error naming what is missing."""
    from agents.security import LastConnectionProblem, SecurityConfigError, client_options

    LastConnectionProblem.watch()
    try:
        return client_options(settings)
    except SecurityConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def _unreachable(settings: Settings, exc: Exception, doing: str) -> click.ClickException:
    """The error for a broker that cannot be reached or refuses the credentials."""
    hint = (
        "Start one with 'stancewire broker start' or set STANCEWIRE_BOOTSTRAP_SERVERS."
        if settings.security_protocol == "PLAINTEXT"
        else "Check STANCEWIRE_SECURITY_PROTOCOL, STANCEWIRE_SASL_USERNAME/PASSWORD and "
        "STANCEWIRE_SSL_CAFILE: a refused login or certificate looks like this too."
    )
    from agents.security import LastConnectionProblem

    cause = LastConnectionProblem.watch().message
    return click.ClickException(
        f"cannot reach Kafka at {settings.bootstrap_servers} to {doing}: {exc!r}"
        + (f" (cause: {cause})" if cause else "")
        + f". {hint}"
    )


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
    _client_options(settings)  # a clear error for incomplete security settings, up front
    try:
        created = ensure_topics(settings)
    except Exception as exc:
        raise _unreachable(settings, exc, "create topics") from exc
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
        raise _unreachable(settings, exc, "read the topics' size limits") from exc
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
    from pipeline.inputs import InputError, iter_paths, read_articles

    settings = load_settings()
    try:
        articles = (
            _stdin_articles()
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
        producer = make_producer(_client_options(settings))
        with tqdm(total=len(articles), unit="article", file=sys.stderr, disable=None) as progress:
            for _ in produce_articles(producer, target, articles):
                sent += 1
                progress.update()
        producer.close()
    except KafkaError as exc:
        raise _unreachable(settings, exc, f"send articles ({sent} sent)") from exc
    elapsed = time.monotonic() - started
    click.echo(f"sent {sent} article(s) to {target} in {elapsed:.2f} s", err=True)


def _stdin_articles() -> list[Any]:
    from pipeline.inputs import article_from_text

    data = sys.stdin.buffer.read()
    try:
        document = orjson.loads(data)
        return document if isinstance(document, list) else [document]
    except orjson.JSONDecodeError:
        pass
    lines = [line for line in data.splitlines() if line.strip()]
    try:
        return [orjson.loads(line) for line in lines]
    except orjson.JSONDecodeError:
        return [article_from_text(data.decode("utf-8", "replace"))]


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
            _client_options(settings),
            source,
            from_beginning=from_beginning,
            follow=follow,
            limit=limit,
        ):
            click.echo(orjson.dumps(event).decode() if as_json else render_event(event) + "\n")
    except KafkaError as exc:
        raise _unreachable(settings, exc, f"read {source}") from exc


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
    options = _client_options(settings)
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
        raise _unreachable(settings, exc, "replay dead letters") from exc
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


# --- offline ------------------------------------------------------------------------------


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--compact", is_flag=True, help="one JSON line per article")
def enrich(path: Path, compact: bool) -> None:
    """Run the whole pipeline on the articles of one file, without Kafka."""
    from agents.bootstrap import build_enricher
    from pipeline.enrichment import Received
    from pipeline.inputs import InputError, read_articles
    from schemas import encode

    try:
        articles = list(read_articles(path))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    enricher = build_enricher(load_settings())
    results = enricher.enrich_batch([Received(payload=orjson.dumps(a)) for a in articles])
    for result in results:
        data = encode(result)
        click.echo(data if compact else orjson.dumps(orjson.loads(data), option=JSON_PRETTY))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="one JSON line per article (the default)")
@click.option("--summary", is_flag=True, help="a readable summary per article instead of JSON")
def clean(paths: tuple[Path, ...], as_json: bool, summary: bool) -> None:
    """Run the cleaning stage alone (no models, no Kafka) and print kept and removed blocks.

    Articles of one source teach each other their boilerplate, as in the worker.
    """
    from pipeline.boilerplate import LineMemory
    from pipeline.cleaning import clean_article
    from pipeline.errors import PipelineError
    from pipeline.inputs import InputError, iter_paths, read_articles
    from schemas import RawArticle

    settings = load_settings()
    memory = LineMemory({}, threshold=settings.boilerplate_threshold)
    try:
        for path in iter_paths(list(paths)):
            for article in read_articles(path):
                try:
                    cleaned = clean_article(RawArticle.model_validate(article), memory=memory)
                except (PipelineError, ValueError) as exc:
                    click.echo(orjson.dumps({"path": str(path), "error": str(exc)}))
                    continue
                record = {
                    "path": str(path),
                    "title": cleaned.title,
                    "kept": [b.model_dump(mode="json") for b in cleaned.blocks],
                    "removed": [r.model_dump(mode="json") for r in cleaned.removed],
                }
                if summary and not as_json:
                    click.echo(f"{path}: {cleaned.title}")
                    for block in cleaned.blocks:
                        click.echo(f"  + {block.type.value:<10} {block.text[:90]}")
                    for removed in cleaned.removed:
                        click.echo(f"  - {removed.reason:<20} {removed.text[:80]}")
                else:
                    click.echo(orjson.dumps(record))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group("eval")
def evaluate() -> None:
    """Measure the pipeline's stages on public benchmark data."""


@main.group()
def train() -> None:
    """Train the models the package ships (seeded; uses CUDA when present)."""


def _pass_through(group: click.Group, name: str, module: str, action: str, help: str) -> None:
    """A sub-command that hands its arguments to ``module.main([action, ...])``.

    The training modules parse their own options (with ``--help``), so that parsing lives
    in one place and works with ``python -m`` too.
    """

    @group.command(
        name,
        help=help,
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        sys.exit(importlib.import_module(module).main([action, *args]))


_pass_through(
    evaluate,
    "ner",
    "training.ner_training",
    "eval",
    "Entity-level P/R/F1 on a CoNLL-2003 file: --data FILE [--model M] [--json] "
    "[--predictions OUT] [--precision P] [--attention blocked|fused].",
)
_pass_through(
    evaluate,
    "stance",
    "training.stance_eval",
    "eval",
    "Stance scores on a data set file in its own format: --format fnc1 --stances CSV "
    "--bodies CSV | --format semeval2016 --data DIR --split val | --format "
    "pstance|newsmtsc|directed|gwsd|vast|emergent|persent --data FILE; [--json] "
    "[--predictions OUT] [--precision P] [--attention blocked|fused].",
)
_pass_through(
    evaluate,
    "holders",
    "training.holders_eval",
    "eval",
    "Holder (source) precision, recall and F1 on attribution relations: --data DIR "
    "(PolNeAR: dev/ and train/) [--format polnear] [--split dev] [--cache FILE] [--errors N] "
    "[--json].",
)
_pass_through(
    train,
    "ner",
    "training.ner_training",
    "train",
    "Train the entity model: --data DIR (CoNLL-2003 train.txt, valid.txt) --out DIR.",
)
_pass_through(
    train,
    "stance",
    "training.stance_training",
    "train",
    "Train the stance model: --data DIR (the stance data sets) --out DIR [--init DIR ...].",
)


_pass_through(
    train,
    "cleaning",
    "training.cleaning_training",
    "train",
    "Train the text line classifier: --data DIR (ScrapingHub pages) [--stories DIR (BBC)] "
    "[--out FILE].",
)


@evaluate.command("cleaning")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="folder with html/*.html.gz and ground-truth.json",
)
@click.option(
    "--as-text",
    is_flag=True,
    help="score the text path on the pages rendered as a crawler copies them (cross-validated)",
)
@click.option(
    "--stories",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="with --as-text: the clean stories (BBC) the classifier also trains on",
)
@click.option(
    "--outputs", type=click.Path(path_type=Path), help="with --as-text: write each page's kept text"
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line of the scores")
def evaluate_cleaning(
    data_dir: Path, as_text: bool, stories: Path | None, outputs: Path | None, as_json: bool
) -> None:
    """HTML extraction, or with --as-text the text path, beside trafilatura on the same pages."""
    from training.cleaning_eval import evaluate_as_text, evaluate_extraction

    if not (data_dir / "ground-truth.json").exists():
        raise click.ClickException(f"{data_dir} has no ground-truth.json (ScrapingHub layout)")
    if as_text:
        result = evaluate_as_text(data_dir, stories_dir=stories)
        kept = result.pop("outputs")
        if outputs:
            outputs.write_bytes(orjson.dumps(kept, option=JSON_PRETTY))
        click.echo(
            f"{result['pages']} pages rendered as text, {result['folds']}-fold cross-validated by "
            "site, token 4-gram shingles (ScrapingHub benchmark scoring)"
        )
        names: tuple[str, ...] = (
            "text_cross_validated",
            "text_rules_only",
            "keep_everything",
            "trafilatura_html",
            "line_labels_ceiling",
        )
    else:
        result = evaluate_extraction(data_dir)
        click.echo(f"{result['pages']} pages, token 4-gram shingles (ScrapingHub scoring)")
        names = ("stancewire", "trafilatura")
    for name in names:
        scores = result[name]
        click.echo(
            f"  {name:<22} precision {scores['precision']:.4f}  recall {scores['recall']:.4f}"
            f"  F1 {scores['f1']:.4f}"
        )
    if as_json:
        click.echo(orjson.dumps(result))


@evaluate.command("boilerplate")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="folder of clean .txt articles (first line the title)",
)
@click.option("--limit", type=int, default=None, help="use at most this many articles")
@click.option("--seed", type=int, default=13, show_default=True)
@click.option(
    "--unseen", is_flag=True, help="inject kinds and languages nothing in the cleaner was built on"
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line of the scores")
def evaluate_boilerplate_lines(
    data_dir: Path, limit: int | None, seed: int, unseen: bool, as_json: bool
) -> None:
    """Synthetic text benchmark: inject boilerplate lines into clean articles, score removal."""
    from training.cleaning_eval import evaluate_boilerplate

    result = evaluate_boilerplate(data_dir, limit=limit, seed=seed, unseen=unseen)
    lines = result["lines"]
    click.echo(
        f"{result['articles']} articles, {result['paragraphs']} story paragraphs: boilerplate "
        f"lines precision {lines['precision']:.4f} recall {lines['recall']:.4f} "
        f"F1 {lines['f1']:.4f}; paragraph loss {100 * result['paragraph_loss']:.3f} %"
    )
    for kind, recall in result["recall_by_kind"].items():
        click.echo(f"  recall {kind:<18} {recall:.4f}")
    if as_json:
        click.echo(orjson.dumps(result))


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
            _client_options(settings), [settings.output_topic, settings.dlq_topic]
        )
        samples = resources.files("agents") / "samples"
        articles = [
            article
            for sample in sorted(samples.iterdir(), key=lambda p: p.name)
            for article in read_articles(Path(str(sample)))
        ]
        producer = make_producer(_client_options(settings))
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


if __name__ == "__main__":
    main()
