"""The soak harness: a real worker fed at a steady rate for a long time, its memory watched.

``stancewire soak`` gives a worker process topics of its own, produces articles at a
steady rate from a background thread, and samples the worker's resident memory, the
throughput and the p99 latency (produced to read back) every interval. At the end it
compares the memory of the run's last quarter with that of its second (the first is
warm-up) and fails when it grew by more than the allowed share, or when an article
did not come out.
"""

from __future__ import annotations

import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import psutil
from kafka import KafkaAdminClient

from agents.clients import TopicWatcher, make_producer
from agents.security import client_options
from agents.settings import Settings
from agents.sightings import sightings_topic
from agents.topics import ensure_topics
from pipeline.inputs import iter_paths, read_articles

NO_MODELS = {"STANCEWIRE_ENTITY_MODEL": "off", "STANCEWIRE_STANCE_MODEL": "off"}


class SoakError(Exception):
    """The soak could not run (no articles, the worker did not start); the message says why."""


@dataclass(frozen=True)
class SoakPlan:
    """What to run: how many articles, how fast, how often to sample, what may grow."""

    articles: int
    rate: float = 20.0  # articles produced per second
    interval_s: float = 60.0
    models: bool = True
    data: tuple[Path, ...] = ()  # article files or folders; empty: the packaged samples
    max_growth: float = 0.10
    stall_s: float = 300.0  # give up when nothing came out for this long


@dataclass(frozen=True)
class Sample:
    """One look at the run: memory now, and what came out since the previous sample."""

    elapsed_s: float
    rss_mb: float
    produced: int
    out: int
    articles_per_s: float
    p99_ms: float | None


@dataclass
class SoakReport:
    """The samples and the totals of one run."""

    plan: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    enriched: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0
    p99_ms: float | None = None
    peak_rss_mb: float = 0.0
    rss_growth: float | None = None
    worker_exit: int | None = None

    @property
    def passed(self) -> bool:
        growth_ok = self.rss_growth is not None and self.rss_growth <= self.plan["max_growth"]
        return self.lost == 0 and growth_ok and self.worker_exit is None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self) | {"passed": self.passed}, option=orjson.OPT_INDENT_2)


def rss_growth(samples: list[Sample]) -> float:
    """Median memory of the last quarter of the samples over that of the second, minus one."""
    if len(samples) < 4:
        raise SoakError(
            f"{len(samples)} samples cannot be split in quarters: sample more often (--interval)"
        )
    count = len(samples)
    second = [s.rss_mb for s in samples[count // 4 : count // 2]]
    last = [s.rss_mb for s in samples[3 * count // 4 :]]
    return statistics.median(last) / statistics.median(second) - 1


def p99(values: list[float]) -> float | None:
    """The 99th percentile (nearest rank), or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def load_corpus(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    """The articles to cycle through: those of ``paths``, else the packaged samples."""
    if not paths:
        samples = resources.files("agents") / "samples"
        paths = tuple(Path(str(p)) for p in sorted(samples.iterdir(), key=lambda p: p.name))
    corpus = [article for path in iter_paths(list(paths)) for article in read_articles(path)]
    if not corpus:
        raise SoakError(f"no articles in {', '.join(map(str, paths))}")
    return corpus


def soak_articles(corpus: list[dict[str, Any]], count: int, run: str) -> Iterator[dict[str, Any]]:
    """``count`` articles with ids of their own, cycling through ``corpus``.

    Each pass through the corpus comes from a source of its own: one source seeing the
    same lines pass after pass would learn every line as boilerplate after a few passes.
    """
    for number in range(count):
        article = dict(corpus[number % len(corpus)])
        cycle = number // len(corpus)
        article["id"] = f"soak-{run}-{number:07d}"
        article["source"] = f"{article.get('source') or 'soak'}~{cycle}"
        yield article


class SteadyProducer(threading.Thread):
    """Sends the articles at a steady rate and notes when each was sent."""

    def __init__(self, settings: Settings, articles: list[dict[str, Any]], rate: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.articles, self.rate = settings, articles, rate
        self.sent_at: dict[str, float] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = make_producer(client_options(self.settings))
        started = time.monotonic()
        try:
            for number, article in enumerate(self.articles):
                time.sleep(max(0.0, started + number / self.rate - time.monotonic()))
                key = str(article["id"])
                self.sent_at[key] = time.monotonic()
                producer.send(
                    self.settings.input_topic, key=key.encode(), value=orjson.dumps(article)
                )
            producer.flush(timeout=120)
        except BaseException as exc:  # reported by the harness
            self.error = exc
        finally:
            producer.close()


def run_soak(
    settings: Settings, plan: SoakPlan, workdir: Path, echo: Callable[[str], None]
) -> SoakReport:
    """Run one soak against the Kafka of ``settings`` in topics of its own, then delete them."""
    run = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "app_id": f"stancewire-soak-{run}",
            "input_topic": f"soak-{run}.raw",
            "output_topic": f"soak-{run}.enriched",
            "dlq_topic": f"soak-{run}.dlq",
        }
    )
    articles = list(soak_articles(load_corpus(plan.data), plan.articles, run))
    ensure_topics(settings)
    report = SoakReport(plan={**asdict(plan), "data": [str(p) for p in plan.data]})
    worker = start_worker(settings, plan, workdir)
    try:
        echo(
            f"worker pid {worker.pid} ready (log {workdir / 'worker.log'}); producing "
            f"{plan.articles} articles at {plan.rate:g}/s, sampling every {plan.interval_s:g} s"
        )
        watch(settings, plan, worker, articles, report, echo)
    finally:
        stop_worker(worker)
        delete_topics(settings)
    return report


def watch(
    settings: Settings,
    plan: SoakPlan,
    worker: subprocess.Popen[bytes],
    articles: list[dict[str, Any]],
    report: SoakReport,
    echo: Callable[[str], None],
) -> None:
    """Produce, read every result back, and sample until all came out or the run stalls."""
    memory = psutil.Process(worker.pid)
    watcher = TopicWatcher(client_options(settings), [settings.output_topic, settings.dlq_topic])
    producer = SteadyProducer(settings, articles, plan.rate)
    first: dict[str, str] = {}
    latencies: list[float] = []
    window: list[float] = []
    started = last_sample = last_progress = time.monotonic()
    out_at_sample = 0
    producer.start()
    try:
        while True:
            for topic, key, _ in watcher.poll(timeout_s=0.2):
                name = key.decode("utf-8", "replace") if key is not None else ""
                now = time.monotonic()
                if name in first:
                    report.duplicates += 1
                elif name in producer.sent_at:
                    first[name] = topic
                    window.append(now - producer.sent_at[name])
                    last_progress = now
            now = time.monotonic()
            done = not producer.is_alive() and len(first) == len(articles)
            if now - last_sample >= plan.interval_s or done:
                sample = Sample(
                    elapsed_s=round(now - started, 1),
                    rss_mb=round(memory.memory_info().rss / 2**20, 1),
                    produced=len(producer.sent_at),
                    out=len(first),
                    articles_per_s=round((len(first) - out_at_sample) / (now - last_sample), 2),
                    p99_ms=None if not window else round(1000 * (p99(window) or 0.0), 1),
                )
                report.samples.append(sample)
                echo(
                    f"{sample.elapsed_s:>8.1f} s  rss {sample.rss_mb:>7.1f} MB  "
                    f"produced {sample.produced:>7}  out {sample.out:>7}  "
                    f"{sample.articles_per_s:>7.2f} articles/s  p99 {sample.p99_ms} ms"
                )
                latencies += window
                window, last_sample, out_at_sample = [], now, len(first)
            if done:
                break
            if worker.poll() is not None:
                report.worker_exit = worker.returncode
                break
            if producer.error is not None:
                raise SoakError(f"producing failed: {producer.error!r}")
            if now - last_progress > plan.stall_s:
                echo(f"nothing came out for {plan.stall_s:g} s: giving up")
                break
    finally:
        watcher.close()
    report.seconds = round(time.monotonic() - started, 1)
    report.enriched = sum(1 for topic in first.values() if topic == settings.output_topic)
    report.dead_lettered = len(first) - report.enriched
    report.lost = len(articles) - len(first)
    latency = p99(latencies)
    report.p99_ms = None if latency is None else round(1000 * latency, 1)
    report.peak_rss_mb = max(s.rss_mb for s in report.samples)
    report.rss_growth = round(rss_growth(report.samples), 4)


def start_worker(settings: Settings, plan: SoakPlan, workdir: Path) -> subprocess.Popen[bytes]:
    """``stancewire worker`` on the soak's topics; returns once it has joined its group."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "worker.log"
    env = os.environ | {
        "STANCEWIRE_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "STANCEWIRE_APP_ID": settings.app_id,
        "STANCEWIRE_INPUT_TOPIC": settings.input_topic,
        "STANCEWIRE_OUTPUT_TOPIC": settings.output_topic,
        "STANCEWIRE_DLQ_TOPIC": settings.dlq_topic,
        "STANCEWIRE_WEB_PORT": str(_free_port()),
        "STANCEWIRE_DATA_DIR": str(workdir / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    if not plan.models:
        env |= NO_MODELS
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if worker.poll() is not None:
            raise SoakError(f"the worker exited with {worker.returncode}:\n{text[-3000:]}")
        if "[^Worker]: Ready" in text:
            return worker
        time.sleep(0.3)
    stop_worker(worker)
    raise SoakError(f"the worker was not ready within 300 s; see {log_path}")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def delete_topics(settings: Settings) -> None:
    """The soak's own topics go once it is over; they hold nothing anyone else reads."""
    admin = KafkaAdminClient(**client_options(settings), client_id="stancewire-soak")
    try:
        names = [settings.input_topic, settings.output_topic, settings.dlq_topic]
        names += [sightings_topic(settings), f"{settings.app_id}-__assignor-__leader"]
        existing = set(admin.list_topics())
        admin.delete_topics([name for name in names if name in existing])
    finally:
        admin.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
