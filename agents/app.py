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

from agents.metrics import AGENT, Metrics
from agents.security import faust_credentials
from agents.settings import Settings
from agents.sightings import encode_count, load_counts, sightings_topic
from agents.transactions import TransactionalPublisher
from pipeline.boilerplate import LineMemory
from pipeline.enrichment import Enricher, Received, dead_letter
from pipeline.errors import StageFailed
from schemas import DeadLetter, EnrichedEvent, Stage, encode

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DASHBOARD = (resources.files("agents") / "dashboard.html").read_text()


def create_app(settings: Settings, enricher: Enricher, metrics: Metrics | None = None) -> faust.App:
    """Build the app with its topics, the ``enrich_articles`` agent and its web pages.

    The per-source line counts are read here from the app's sightings topic, which
    ``ensure_topics`` creates.
    """
    metrics = metrics or Metrics()
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
        producer_max_request_size=MAX_MESSAGE_BYTES,
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
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
    enriched = app.topic(settings.output_topic, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(settings.dlq_topic, key_serializer="raw", value_serializer="raw")
    # Per-source line counts: loaded from their compacted topic before the worker joins
    # the group, written back as they grow (see agents/sightings.py for why not a table).
    sightings = app.topic(sightings_topic(settings), key_serializer="raw", value_serializer="raw")
    line_counts = load_counts(settings)
    memory = enricher.memory = LineMemory(
        line_counts, threshold=settings.boilerplate_threshold, autocommit=False
    )
    # One thread: the models use both cores themselves, and order within a batch is kept.
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrich")
    guard = AckGuard()

    async def send_until_acknowledged(topic: faust.TopicT, key: bytes | None, value: bytes) -> None:
        """Send to the dead-letter topic, retrying while Kafka is unavailable.

        Blocking here holds the batch (and its offsets) back until the broker is reachable
        again, which is how an outage delays dead letters without losing any.
        """
        delay = 0.5
        while True:
            try:
                await (await topic.send(key=key, value=value))
                return
            except Exception as exc:
                log.error("dead-letter send failed, retrying in %.1f s: %r", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def publish(
        batch: Sequence[Received], results: Sequence[EnrichedEvent | DeadLetter]
    ) -> None:
        """Send every result and wait for the broker's acknowledgement of each.

        The batch's offsets are acknowledged to Faust only after this returns, so an
        offset is never committed before its output is safely in Kafka. An event the
        broker refuses (too large, say) is dead-lettered in its place.
        """
        pending = []
        for received, result in zip(batch, results, strict=True):
            topic = enriched if isinstance(result, EnrichedEvent) else dead_letters
            key = _output_key(received, result)
            pending.append((received, result, key, await topic.send(key=key, value=encode(result))))
        for received, result, key, delivery in pending:
            try:
                await delivery
                continue
            except Exception as exc:
                if isinstance(result, EnrichedEvent):
                    log.warning("publishing %s failed, dead-lettering it: %r", result.id, exc)
                    result = dead_letter(
                        received, StageFailed(Stage.PUBLISH, exc), article_id=result.id
                    )
            await send_until_acknowledged(dead_letters, key, encode(result))

    exactly_once = settings.processing_guarantee == "exactly_once"
    committed_in_transactions: dict[tuple[str, int], int] = {}  # Faust never sees these
    transactions = (
        TransactionalPublisher(settings, max_request_size=MAX_MESSAGE_BYTES)
        if exactly_once
        else None
    )

    async def publish_in_transaction(
        batch: Sequence[Received], results: Sequence[EnrichedEvent | DeadLetter]
    ) -> None:
        """Exactly-once: the results and the batch's next offsets commit together."""
        assert transactions is not None
        messages = []
        for received, result in zip(batch, results, strict=True):
            value = encode(result)
            if isinstance(result, EnrichedEvent) and len(value) > MAX_MESSAGE_BYTES:
                too_big = ValueError(f"event is {len(value)} bytes, over {MAX_MESSAGE_BYTES}")
                result = dead_letter(
                    received, StageFailed(Stage.PUBLISH, too_big), article_id=result.id
                )
                value = encode(result)
            topic = (
                settings.output_topic if isinstance(result, EnrichedEvent) else settings.dlq_topic
            )
            key = _output_key(received, result)
            messages.append((topic, key, value))
        offsets: dict[tuple[str, int], int] = {}
        for received in batch:
            assert received.topic is not None and received.partition is not None
            place = (received.topic, received.partition)
            offsets[place] = max(offsets.get(place, 0), (received.offset or 0) + 1)
        await transactions.publish(messages, offsets)
        committed_in_transactions.update(offsets)

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
            # The counts are written on the event loop only, after the batch's thread is done.
            for key, seen in memory.drain().items():
                line_counts[key] = line_counts.get(key, 0) + seen
                await sightings.send(key=key.encode(), value=encode_count(line_counts[key]))
            started = time.perf_counter()
            if transactions is not None:
                await publish_in_transaction(batch, results)  # Faust never commits
            else:
                await publish(batch, results)
                guard.published(events)
            if settings.metrics_enabled:
                metrics.observe_publish(time.perf_counter() - started, len(batch))
                metrics.observe_batch(results, published_at=time.time())
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


def _output_key(received: Received, result: EnrichedEvent | DeadLetter) -> bytes | None:
    """The input message's key, or else the article id: results keep their article's key."""
    if received.key is not None:
        return received.key
    identity = result.id if isinstance(result, EnrichedEvent) else result.article_id
    return identity.encode() if identity else None
