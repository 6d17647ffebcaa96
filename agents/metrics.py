"""Prometheus metrics of the worker and the figures its dashboard and `stancewire top` show."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Iterable, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from schemas import DeadLetter, EnrichedEvent

AGENT = "enrich_articles"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
# The dashboard's entity league is kept in memory; bounded so a long run cannot grow it.
MAX_TRACKED_ENTITIES = 2000


class Metrics:
    """All of the worker's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process CPU seconds, memory, open fds
        r = self.registry
        self.events_in = Counter(
            "stancewire_events_in", "Messages consumed by an agent", ["agent"], registry=r
        )
        self.events_out = Counter(
            "stancewire_events_out",
            "Records published by an agent, by kind",
            ["agent", "kind"],
            registry=r,
        )
        self.agent_errors = Counter(
            "stancewire_agent_errors", "Batches an agent failed to process", ["agent"], registry=r
        )
        self.stage_seconds = Histogram(
            "stancewire_stage_duration_seconds",
            "Time per article spent in each stage",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.end_to_end = Histogram(
            "stancewire_end_to_end_latency_seconds",
            "From the worker receiving an article to its event being acknowledged by Kafka",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "stancewire_model_batch_size",
            "Articles per model call",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "stancewire_model_inference_seconds",
            "Wall time of one batched model call",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_cpu = Counter(
            "stancewire_model_cpu_seconds",
            "CPU time of model calls (the calling thread and the models' own threads)",
            ["model"],
            registry=r,
        )
        self.model_tokens = Counter(
            "stancewire_model_tokens", "Tokens run through a model", ["model"], registry=r
        )
        self.dead_letters = Counter(
            "stancewire_dead_letters",
            "Dead-lettered messages by stage and error type",
            ["stage", "error_type"],
            registry=r,
        )
        self.publish_retries = Counter(
            "stancewire_publish_retries",
            "Sends or transactions retried after a transient failure, by error type",
            ["error_type"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "stancewire_breaker_open",
            "1 once a model failed on so many articles in a row that the worker stopped taking "
            "work and is about to exit; the labels say which model and the last error",
            ["stage", "error_type"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "stancewire_consumer_lag_messages",
            "High watermark minus committed offset of each assigned input partition",
            ["topic", "partition"],
            registry=r,
        )
        self.stances = Counter(
            "stancewire_stances", "Stance results by label", ["label"], registry=r
        )
        self.entities = Counter(
            "stancewire_entities", "Entities found by type", ["type"], registry=r
        )
        self.started = time.time()
        self._recent: deque[tuple[float, float]] = deque(maxlen=5000)  # (done at, latency s)
        self._mentions: Tally[str] = Tally()
        self._stance_mix: dict[str, Tally[str]] = {}

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def observe_batch(
        self,
        results: Sequence[EnrichedEvent | DeadLetter],
        *,
        published_at: float,
    ) -> None:
        """Account one published batch: counts, stage timings, latency, labels."""
        self.events_in.labels(AGENT).inc(len(results))
        for result in results:
            if isinstance(result, DeadLetter):
                self.events_out.labels(AGENT, "dead_letter").inc()
                self.dead_letters.labels(result.stage.value, result.error_type).inc()
                continue
            self.events_out.labels(AGENT, "enriched").inc()
            for stage, milliseconds in result.processing.timings_ms.items():
                if stage != "total":
                    self.stage_seconds.labels(stage).observe(milliseconds / 1000)
            latency = published_at - result.processing.received_at.timestamp()
            self.end_to_end.observe(latency)
            self._recent.append((published_at, latency))
            self._count_labels(result)

    def observe_publish(self, seconds: float, articles: int) -> None:
        for _ in range(articles):
            self.stage_seconds.labels("publish").observe(seconds)

    def observe_model(
        self, model: str, articles: int, seconds: float, cpu_seconds: float, tokens: int
    ) -> None:
        self.batch_size.labels(model).observe(articles)
        self.inference_seconds.labels(model).observe(seconds)
        self.model_cpu.labels(model).inc(cpu_seconds)
        self.model_tokens.labels(model).inc(tokens)

    def _count_labels(self, event: EnrichedEvent) -> None:
        for entity in event.entities:
            self.entities.labels(entity.type.value).inc()
            self._mentions[entity.name] += entity.count
        for stance in event.stances:
            self.stances.labels(stance.label.value).inc()
            self._stance_mix.setdefault(stance.target, Tally())[stance.label.value] += 1
        if len(self._mentions) > MAX_TRACKED_ENTITIES:
            for name, _ in self._mentions.most_common()[MAX_TRACKED_ENTITIES // 2 :]:
                del self._mentions[name]
                self._stance_mix.pop(name, None)

    def set_lag(self, lags: Iterable[tuple[str, int, int]]) -> None:
        for topic, partition, lag in lags:
            self.consumer_lag.labels(topic, str(partition)).set(lag)

    def summary(self, window_s: float = 60.0) -> dict[str, object]:
        """The dashboard's figures: rates and latency percentiles over the last minute."""
        now = time.time()
        recent = sorted(latency for done, latency in self._recent if now - done <= window_s)
        span = min(window_s, max(now - self.started, 1e-9))

        def percentile(q: float) -> float | None:
            return (
                round(recent[min(len(recent) - 1, int(q * len(recent)))] * 1000, 1)
                if recent
                else None
            )

        dead = {
            f"{labels['stage']}/{labels['error_type']}": value
            for labels, value in _samples(self.dead_letters, "stancewire_dead_letters_total")
        }
        lag = {
            f"{labels['topic']}[{labels['partition']}]": value
            for labels, value in _samples(self.consumer_lag, "stancewire_consumer_lag_messages")
        }
        out = dict(_samples_by(self.events_out, "stancewire_events_out_total", "kind"))
        top = [
            {"name": name, "mentions": count, "stances": dict(self._stance_mix.get(name, {}))}
            for name, count in self._mentions.most_common(10)
        ]
        return {
            "uptime_s": round(now - self.started, 1),
            "articles_per_s": round(len(recent) / span, 2),
            "enriched_total": out.get("enriched", 0),
            "dead_letters_total": out.get("dead_letter", 0),
            "latency_ms": {
                "p50": percentile(0.5),
                "p95": percentile(0.95),
                "p99": percentile(0.99),
            },
            "lag": lag,
            "dead_letters": dead,
            "top_entities": top,
        }


def _samples(metric: Counter | Gauge, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in metric.collect()
        for sample in family.samples
        if sample.name == name
    ]


def _samples_by(metric: Counter, name: str, label: str) -> Iterable[tuple[str, float]]:
    return ((labels[label], value) for labels, value in _samples(metric, name))
