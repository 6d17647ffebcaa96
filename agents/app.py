"""The Faust app: topics and the agent that turns raw articles into enriched events."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, cast

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

from agents.health import BrokerProbe, Health
from agents.metrics import AGENT, Metrics
from agents.publishing import publish_each, publish_transactionally
from agents.security import faust_credentials
from agents.settings import Settings
from agents.sightings import SightingsBook, load_counts, sightings_topic
from agents.transactions import IdempotentSender, TransactionalPublisher
from pipeline.breaker import ModelBreaker
from pipeline.cleaning.memory import LineMemory
from pipeline.enrichment import Enricher, Received
from pipeline.outputs import Destination, OutputRecord, output_record

log = logging.getLogger(__name__)

# Exit status when the model breaker opens (EX_TEMPFAIL): the articles are not committed.
BREAKER_EXIT = 75
DASHBOARD = (resources.files("agents") / "dashboard.html").read_text()


def create_app(
    settings: Settings,
    enricher: Enricher,
    metrics: Metrics | None = None,
    *,
    max_record_bytes: int,
) -> faust.App:
    """Build the app with its topics, the ``enrich_articles`` agent and its web pages.

    ``max_record_bytes`` is the output limit that ``agents.limits`` checked against the
    broker: no record the worker sends is larger. The per-source line counts are read here
    from the app's sightings topic, which ``ensure_topics`` creates.
    """
    metrics = metrics or Metrics()
    enricher.max_record_bytes = max_record_bytes
    if settings.metrics_enabled:
        enricher.on_model_batch = metrics.observe_model
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.data_dir / settings.app_id),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        producer_max_request_size=max_record_bytes,
        consumer_max_fetch_size=max(max_record_bytes, settings.max_payload_bytes),
        producer_acks=-1,
        # A killed worker leaves the group after 10 s rather than a minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        autodiscover=False,
    )
    raw_articles = app.topic(
        settings.input_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    # Per-source line counts: loaded from their compacted topic before the worker joins
    # the group, written back as they grow (see agents/sightings.py for why not a table).
    sightings = app.topic(sightings_topic(settings), key_serializer="raw", value_serializer="raw")
    book = SightingsBook(load_counts(settings), max_keys=settings.sightings_max_keys)
    memory = enricher.memory = LineMemory(
        book.counts, threshold=settings.boilerplate_threshold, autocommit=False
    )
    # One thread: the models use both cores themselves, and order within a batch is kept.
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrich")
    guard = AckGuard()
    names = {
        Destination.ENRICHED: settings.output_topic,
        Destination.DEAD_LETTER: settings.dlq_topic,
    }
    sender = IdempotentSender(settings, max_request_size=max_record_bytes)
    health = Health(
        models=[stage.model_name for stage in (enricher.entities, enricher.stance) if stage],
        input_topic=settings.input_topic,
    )

    async def send(record: OutputRecord) -> Any:
        return await sender.send(names[record.destination], record)

    def retried(exc: BaseException) -> None:
        metrics.publish_retries.labels(type(exc).__name__).inc()

    exactly_once = settings.processing_guarantee == "exactly_once"
    committed_in_transactions: dict[tuple[str, int], int] = {}  # Faust never sees these
    transactions = (
        TransactionalPublisher(settings, max_request_size=max_record_bytes)
        if exactly_once
        else None
    )

    async def publish(batch: Sequence[Received], records: list[OutputRecord]) -> None:
        """Publish every record; return once the broker has acknowledged all of them.

        At-least-once: the batch's offsets are acknowledged to Faust only after this
        returns, so an offset is never committed before its output is safely in Kafka.
        Exactly-once: the records and the batch's next offsets commit in one transaction.
        """
        if transactions is None:
            await publish_each(batch, records, send, retried, max_bytes=max_record_bytes)
            return
        offsets: dict[tuple[str, int], int] = {}
        for received in batch:
            assert received.topic is not None and received.partition is not None
            place = (received.topic, received.partition)
            offsets[place] = max(offsets.get(place, 0), (received.offset or 0) + 1)

        async def commit(shaped: list[OutputRecord]) -> None:
            assert transactions is not None
            await transactions.publish([(names[r.destination], r) for r in shaped], offsets)

        await publish_transactionally(batch, records, commit, retried, max_bytes=max_record_bytes)
        committed_in_transactions.update(offsets)

    async def open_breaker(breaker: ModelBreaker) -> None:
        """Stop taking work, say why on /metrics and in the log, then exit uncommitted."""
        stage = breaker.stage.value if breaker.stage else "unknown"
        metrics.breaker_open.labels(stage, breaker.error_type or "unknown").set(1)
        health.breaker = f"{stage}: {breaker.reason}"
        log.critical(
            "model breaker open: %s. This worker takes no more work and exits in %.0f s with "
            "status %d; the batch in hand is not committed, so it is read again once the "
            "model works (a fixed install, a restart).",
            breaker.reason,
            settings.breaker_exit_delay_s,
            BREAKER_EXIT,
        )
        await asyncio.sleep(settings.breaker_exit_delay_s)
        os._exit(BREAKER_EXIT)

    async def enrich_batch(events: Sequence[faust.EventT[Any]]) -> None:
        """Enrich one micro-batch and publish every result before returning."""
        batch = [
            Received(
                payload=event.value if isinstance(event.value, bytes) else b"",
                key=event.key if isinstance(event.key, bytes) else None,
                topic=event.message.topic,
                partition=event.message.partition,
                offset=event.message.offset,
            )
            for event in events
        ]
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(model_thread, enricher.enrich_batch, batch)
            if enricher.breaker.open:
                await open_breaker(enricher.breaker)
            # The counts are written on the event loop only, after the batch's thread is done.
            for key, value in book.record(memory.drain()):
                await sightings.send(key=key, value=value)
            started = time.perf_counter()
            records = [
                output_record(received, result, max_bytes=max_record_bytes)
                for received, result in zip(batch, results, strict=True)
            ]
            await publish(batch, records)
            if transactions is None:
                guard.published(events)  # exactly-once: Faust never commits
            if settings.metrics_enabled:
                metrics.observe_publish(time.perf_counter() - started, len(batch))
                metrics.observe_batch([r.result for r in records], published_at=time.time())
        except Exception:
            # Faust acknowledges a batch even when the agent raises, so carrying on would
            # lose it. Exit without committing instead: a restarted worker re-reads it.
            metrics.agent_errors.labels(AGENT).inc()
            log.critical("unexpected failure enriching a batch; exiting", exc_info=True)
            os._exit(70)

    @app.agent(raw_articles, name="enrich_articles")
    async def enrich_articles(stream: faust.StreamT[Any]) -> None:
        guard.install(app.consumer)
        # take_events is on the Stream implementation, not on faust's StreamT interface.
        async for events in cast(faust.Stream[Any], stream).take_events(
            settings.batch_size, within=settings.batch_window_s
        ):
            in_flight = asyncio.ensure_future(enrich_batch(events))
            try:
                await asyncio.shield(in_flight)
            except asyncio.CancelledError:
                # Shutting down mid-batch. Faust acknowledges the batch's offsets as this loop
                # unwinds, so the batch must be published first or it would be lost.
                await in_flight
                raise

    add_health_pages(app, health, BrokerProbe(settings))
    if not settings.metrics_enabled:
        return app

    @app.page("/metrics")
    async def prometheus_metrics(view: View, request: Request) -> Response:
        # aiohttp wants the charset out of content_type, so the header is set whole.
        return view.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/dashboard")
    async def dashboard(view: View, request: Request) -> Response:
        return view.html(DASHBOARD)

    @app.page("/dashboard.json")
    async def dashboard_figures(view: View, request: Request) -> Response:
        return view.json(metrics.summary())

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]  # faust leaves it untyped
    async def measure_lag() -> None:
        consumer = app.consumer
        committed = getattr(consumer, "_committed_offset", {})  # no public accessor in faust
        lags = []
        for tp in consumer.assignment():
            if tp.topic != settings.input_topic:
                continue
            highwater = consumer.highwater(tp) or 0
            done = (
                committed_in_transactions.get((tp.topic, tp.partition))
                if exactly_once
                else committed.get(tp)
            )
            lags.append((tp.topic, tp.partition, max(0, highwater - (done or 0))))
        metrics.set_lag(lags)

    return app


def add_health_pages(app: faust.App, health: Health, probe: BrokerProbe) -> None:
    """``/healthz`` (the event loop turns) and ``/readyz`` (joined, models in, broker up)."""

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # faust leaves it untyped
    async def tick() -> None:
        health.tick()

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def probe_broker() -> None:
        await probe.check(health)

    async def assigned(sender: Any, partitions: set[Any], **kwargs: Any) -> None:
        health.assigned(partitions)

    async def revoked(sender: Any, partitions: set[Any], **kwargs: Any) -> None:
        health.revoked()

    # faust's receiver type wants a positional-only sender; these take what it passes.
    app.on_partitions_assigned.connect(cast(Any, assigned), weak=False)
    app.on_partitions_revoked.connect(cast(Any, revoked), weak=False)

    async def close_probe(sender: Any, **kwargs: Any) -> None:
        await probe.close()

    app.on_before_shutdown.connect(cast(Any, close_probe), weak=False)

    @app.page("/healthz")
    async def healthz(view: View, request: Request) -> Response:
        alive, state = health.liveness()
        return view.json({"alive": alive, **state}, status=200 if alive else 503)

    @app.page("/readyz")
    async def readyz(view: View, request: Request) -> Response:
        ready, state = health.readiness()
        return view.json({"ready": ready, **state}, status=200 if ready else 503)


class AckGuard:
    """Lets Faust commit an input offset only after that article's result is in Kafka.

    Faust also acknowledges messages it *skips*: those fetched before a rebalance, or while
    a rebalance or shutdown has paused the flow. Committing such an offset loses the
    article when its partition moves to another worker (seen in the rebalance test). The
    guard refuses every acknowledgement except those of published articles, so a skipped
    message stays uncommitted and is read again after the rebalance's seek.
    """

    def __init__(self) -> None:
        self._published: set[tuple[Any, int]] = set()

    def published(self, events: Sequence[faust.EventT[Any]]) -> None:
        self._published.update((event.message.tp, event.message.offset) for event in events)

    def install(self, consumer: Any) -> None:
        if getattr(consumer.ack, "__self__", None) is self:
            return
        self._ack = consumer.ack
        consumer.ack = self.ack

    def ack(self, message: Any) -> bool:
        key = (message.tp, message.offset)
        if key not in self._published:
            return False
        self._published.discard(key)
        return bool(self._ack(message))
