"""``stancewire bench``: end-to-end throughput and latency through a real broker and workers.

Each contender runs as a real worker process on fresh topics of one local broker, fed the
same articles: the pass-through agent (transport ceiling), the naive per-article
transformers baseline, and stancewire itself (also at half its maximum rate, without
metrics, as two workers, in fp32, and with PyTorch's fused attention). The arithmetic
bound comes from the measured matmul peaks of this machine for the worker's precision
(int8 for the linear layers, fp32 for attention) and the tokens stancewire actually ran
through its models.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TextIO

import orjson
import psutil
from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from agents.broker import LocalBroker
from agents.clients import make_producer
from agents.security import client_options
from agents.settings import Settings
from agents.topics import ensure_topics
from benchmarks.arithmetic import (
    ATTENTION_FLOPS_PER_TOKEN,
    FLOPS_PER_TOKEN,
    LINEAR_FLOPS_PER_TOKEN,
    matmul_peak_gflops,
)
from pipeline.inputs import iter_paths, read_articles


@dataclass
class Run:
    """One contender's measurements."""

    articles: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float
    peak_rss_mb: float
    stage_ms: dict[str, float] = field(default_factory=dict)
    metrics: str = ""  # the first worker's /metrics after the measured window
    metrics_before: str = ""  # ... and before it, so counters can be differenced

    def counted(self, name: str) -> float:
        """How much a metric rose during the measured window (first worker)."""
        return _metric_sum(self.metrics, name) - _metric_sum(self.metrics_before, name)

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.seconds

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            "articles": self.articles,
            "articles_per_s": round(self.articles_per_s, 2),
            "p50_ms": pick(0.5),
            "p95_ms": pick(0.95),
            "p99_ms": pick(0.99),
            "cpu_cores_used": round(self.cpu_seconds / self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


class Bench:
    """The broker and the bookkeeping shared by every contender."""

    def __init__(self, articles: list[dict[str, Any]], workdir: Path) -> None:
        self.articles = articles
        self.workdir = workdir
        self.broker = LocalBroker(port=_free_port(), state_dir=workdir / "broker")

    def settings(self, **overrides: Any) -> Settings:
        run = uuid.uuid4().hex[:8]
        return Settings(
            bootstrap_servers=self.broker.bootstrap,
            app_id=f"bench-{run}",
            input_topic=f"bench-raw-{run}",
            output_topic=f"bench-out-{run}",
            dlq_topic=f"bench-dlq-{run}",
            data_dir=self.workdir / "data",
            **overrides,
        )

    def start(
        self, command: list[str], settings: Settings, extra_env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        env = (
            os.environ | _env_of(settings) | extra_env | {"STANCEWIRE_WEB_PORT": str(_free_port())}
        )
        log = self.workdir / f"{settings.app_id}-{uuid.uuid4().hex[:4]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while "[^Worker]: Ready" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        process.web_port = int(env["STANCEWIRE_WEB_PORT"])  # type: ignore[attr-defined]
        return process

    def measure(
        self,
        command: list[str],
        *,
        count: int,
        workers: int = 1,
        rate: float | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Run:
        settings = self.settings()
        ensure_topics(settings)
        processes = [self.start(command, settings, extra_env or {}) for _ in range(workers)]
        try:
            out = _OutputReader(settings)
            self._send(settings, [_tagged(a, f"warm-{n}") for n, a in enumerate(self.articles[:4])])
            out.wait_for({f"warm-{n}" for n in range(min(4, len(self.articles)))}, timeout_s=300)
            batch = [_tagged(self.articles[n % len(self.articles)], f"a-{n}") for n in range(count)]
            metrics_before = _fetch_metrics(processes[0])
            cpu_before = sum(_cpu_seconds(p.pid) for p in processes)
            started = time.time()
            sent_at = self._send(settings, batch, rate=rate)
            arrived = out.wait_for(set(sent_at), timeout_s=max(600, 5 * count))
            finished = max(arrived.values())
            cpu = sum(_cpu_seconds(p.pid) for p in processes) - cpu_before
            peak = max(_peak_rss_mb(p.pid) for p in processes)
            metrics = _fetch_metrics(processes[0])
            return Run(
                articles=count,
                seconds=finished - started,
                latencies_ms=[(arrived[k] - sent_at[k]) * 1000 for k in sent_at],
                cpu_seconds=cpu,
                peak_rss_mb=peak,
                stage_ms=out.stage_ms(),
                metrics=metrics,
                metrics_before=metrics_before,
            )
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _send(
        self, settings: Settings, articles: list[dict[str, Any]], rate: float | None = None
    ) -> dict[str, float]:
        producer = make_producer(client_options(settings))
        sent_at: dict[str, float] = {}
        started = time.time()
        for number, article in enumerate(articles):
            if rate:
                time.sleep(max(0.0, started + number / rate - time.time()))
            sent_at[article["id"]] = time.time()
            producer.send(
                settings.input_topic, key=article["id"].encode(), value=orjson.dumps(article)
            )
        producer.flush()
        producer.close()
        return sent_at


class _OutputReader:
    """Reads the output and dead-letter topics, keeping each key's Kafka timestamp."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = KafkaConsumer(
            **client_options(settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self.consumer.assign(
            [
                TopicPartition(t, p)
                for t in (settings.output_topic, settings.dlq_topic)
                for p in range(settings.partitions)
            ]
        )
        self.seen: dict[str, float] = {}
        self.events: list[dict[str, Any]] = []

    def wait_for(self, keys: set[str], *, timeout_s: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout_s
        while not keys <= self.seen.keys():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(keys - self.seen.keys())} articles never came out")
            for messages in self.consumer.poll(timeout_ms=200).values():
                for message in messages:
                    key = message.key.decode()
                    self.seen.setdefault(key, message.timestamp / 1000)
                    if not key.startswith("warm-"):
                        self.events.append(orjson.loads(message.value))
        return {key: self.seen[key] for key in keys}

    def stage_ms(self) -> dict[str, float]:
        timings: dict[str, list[float]] = {}
        for event in self.events:
            for stage, ms in event.get("processing", {}).get("timings_ms", {}).items():
                timings.setdefault(stage, []).append(ms)
        return {stage: round(statistics.median(v), 2) for stage, v in timings.items()}


def _tagged(article: dict[str, Any], key: str) -> dict[str, Any]:
    return article | {"id": key}


def _env_of(settings: Settings) -> dict[str, str]:
    """The STANCEWIRE_* variables that reproduce ``settings`` in a worker process."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue  # unset: an empty or "None" variable would mean something else
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        env[f"STANCEWIRE_{name.upper()}"] = str(secret)
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    process = psutil.Process(pid)
    times = process.cpu_times()
    return float(times.user + times.system)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def _fetch_metrics(process: subprocess.Popen[bytes]) -> str:
    port = getattr(process, "web_port", None)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return bytes(response.read()).decode()
    except OSError:
        return ""


def _metric_sum(exposition: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def int8_linear_peak_gops(size: int = 1024, repeats: int = 20) -> float:
    """The best rate of an int8 dynamically quantised linear layer (as the worker runs
    them, activation quantisation included), in GOP/s."""
    import torch

    from pipeline.kernels.precision import apply_precision

    layer = apply_precision(torch.nn.Linear(size, size), "int8")
    inputs = torch.randn(size, size)
    best = 0.0
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            layer(inputs)
            best = max(best, 2 * size**3 / (time.perf_counter() - started) / 1e9)
    return best


Arguments = ParamSpec("Arguments")


class Progress:
    """Progress lines on stderr while the bench runs: each contender as it starts and as it
    finishes, with its articles/s, each line stamped with the time since the bench began."""

    def __init__(
        self, out: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.out = out
        self.clock = clock
        self.began = clock()

    def say(self, message: str) -> None:
        elapsed = int(self.clock() - self.began)
        print(
            f"bench [{elapsed // 60:02d}:{elapsed % 60:02d}] {message}",
            file=sys.stderr if self.out is None else self.out,
            flush=True,
        )

    def contender(
        self,
        name: str,
        measure: Callable[Arguments, Run],
        *args: Arguments.args,
        **kwargs: Arguments.kwargs,
    ) -> Run:
        """Run one contender's ``measure``, saying when it starts and what it reached."""
        self.say(f"{name}: started")
        run = measure(*args, **kwargs)
        self.say(
            f"{name}: {run.articles_per_s:.1f} articles/s "
            f"({run.articles} articles in {run.seconds:.1f} s)"
        )
        return run


def _model_cpu_ms(run: Run) -> float:
    """CPU milliseconds the model stages took per article in one run."""
    return round(run.counted("stancewire_model_cpu_seconds_total") * 1000 / run.articles, 1)


def median_run(runs: list[Run]) -> Run:
    """The run with the median rate (the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: run.articles_per_s)[(len(runs) - 1) // 2]


def run_bench(data_dir: Path, *, limit: int, naive_limit: int, rounds: int = 3) -> dict[str, Any]:
    """Every contender on the same articles; the JSON the command writes.

    One worker's rate moves by 10 to 20 % from run to run on a shared 2-core machine (the
    broker warms up, the host is busy), more than some of the effects measured. So
    stancewire and its twin with PyTorch's fused attention run ``rounds`` times, taking
    turns, and each is reported by its median run.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    articles = [
        a for path in iter_paths([data_dir]) for a in read_articles(path) if isinstance(a, dict)
    ][:limit]
    if not articles:
        raise RuntimeError(f"no articles (.txt, .json, .jsonl, .html) under {data_dir}")
    python = sys.executable
    progress = Progress()
    progress.say(f"{len(articles)} articles, {rounds} rounds; starting the broker")
    with tempfile.TemporaryDirectory(prefix="stancewire-bench-") as tmp:
        bench = Bench(articles, Path(tmp))
        bench.broker.start(timeout_s=120)
        try:
            worker = [python, "-m", "agents.cli", "worker"]
            passthrough = progress.contender(
                "passthrough",
                bench.measure,
                [python, "-m", "benchmarks.bench_apps", "passthrough"],
                count=len(articles),
            )
            fused_env = {"STANCEWIRE_MODEL_ATTENTION": "fused"}
            fulls: list[Run] = []
            fuseds: list[Run] = []
            for round_number in range(rounds):
                # Turn about, ABBA..., so a trend over the run (the broker warming up)
                # favours neither.
                twins: list[tuple[str, list[Run], dict[str, str]]] = [
                    ("stancewire", fulls, {}),
                    ("fused attention", fuseds, fused_env),
                ]
                for name, runs, extra_env in twins[:: 1 if round_number % 2 == 0 else -1]:
                    runs.append(
                        progress.contender(
                            f"{name} (round {round_number + 1} of {rounds})",
                            bench.measure,
                            worker,
                            count=len(articles),
                            extra_env=extra_env,
                        )
                    )
            full, fused = median_run(fulls), median_run(fuseds)
            no_metrics = progress.contender(
                "without metrics",
                bench.measure,
                worker,
                count=len(articles),
                extra_env={"STANCEWIRE_METRICS_ENABLED": "false"},
            )
            half = progress.contender(
                "at half rate",
                bench.measure,
                worker,
                count=len(articles),
                rate=full.articles_per_s / 2,
            )
            two = progress.contender(
                "two workers",
                bench.measure,
                worker,
                count=len(articles),
                workers=2,
                extra_env={"STANCEWIRE_TORCH_THREADS": "1"},
            )
            fp32 = progress.contender(
                "fp32",
                bench.measure,
                worker,
                count=len(articles),
                extra_env={"STANCEWIRE_MODEL_PRECISION": "fp32"},
            )
            naive = progress.contender(
                "naive",
                bench.measure,
                [python, "-m", "benchmarks.bench_apps", "naive"],
                count=min(naive_limit, len(articles)),
            )
        finally:
            bench.broker.stop()
    model_cpu = full.counted("stancewire_model_cpu_seconds_total")
    tokens = full.counted("stancewire_model_tokens_total")
    tokens_per_article = tokens / full.articles
    # The bound for the worker's precision: bf16 runs everything in bf16; int8 runs the
    # linear layers in int8 and attention in fp32.
    worker_settings = Settings()
    from pipeline.kernels.precision import resolve_precision

    device = worker_settings.model_device
    precision = resolve_precision(worker_settings.model_precision, device)
    progress.say("measuring the matmul peak for the bound")
    peak = matmul_peak_gflops(dtype="bfloat16" if precision == "bf16" else "float32", device=device)
    linear_peak = int8_linear_peak_gops() if precision == "int8" else peak
    linear_seconds = LINEAR_FLOPS_PER_TOKEN / (linear_peak * 1e9)
    seconds_per_token = linear_seconds + ATTENTION_FLOPS_PER_TOKEN / (peak * 1e9)
    bound = 1 / (tokens_per_article * seconds_per_token) if tokens_per_article else None
    stancewire = full.summary() | {
        "cpu_fraction_non_model": round(1 - model_cpu / full.cpu_seconds, 3)
        if full.cpu_seconds
        else None,
        "tokens_per_s": round(tokens_per_article * full.articles_per_s, 1),
        "tokens_per_article": round(tokens_per_article, 1),
        "stage_median_ms": full.stage_ms,
        "at_half_rate": half.summary(),
        "without_metrics": no_metrics.summary(),
        "metrics_overhead": round(1 - full.articles_per_s / no_metrics.articles_per_s, 4),
        "two_workers": two.summary(),
        "precision": precision,
        "fp32": fp32.summary(),
        "speedup_over_fp32": round(full.articles_per_s / fp32.articles_per_s, 2),
        "rounds": rounds,
        "articles_per_s_each_round": [round(run.articles_per_s, 2) for run in fulls],
        "model_cpu_ms_per_article": _model_cpu_ms(full),
        "fused_attention": fused.summary()
        | {
            "articles_per_s_each_round": [round(run.articles_per_s, 2) for run in fuseds],
            "model_cpu_ms_per_article": _model_cpu_ms(fused),
        },
        "speedup_over_fused_attention": round(full.articles_per_s / fused.articles_per_s, 2),
        "fraction_of_bound": round(full.articles_per_s / bound, 3) if bound else None,
        # The model stages alone: articles per second if every core ran only the models at
        # the rate they ran here (model CPU seconds per article, spread over all cores).
        # On a GPU the CPU seconds say nothing about the card, so there is no such figure.
        "model_fraction_of_bound": (
            round(full.articles * (os.cpu_count() or 1) / model_cpu / bound, 3)
            if bound and model_cpu and device == "cpu"
            else None
        ),
        "device": device,
    }
    progress.say("done")
    return {
        "passthrough": passthrough.summary(),
        "naive": naive.summary() | {"note": "transformers pipelines, untrained heads, timing only"},
        "stancewire": stancewire,
        "bound": {
            "articles_per_s": round(bound, 2) if bound else None,
            "precision": precision,
            "device": device,
            "matmul_peak_gflops": round(peak, 1),
            "linear_peak_gops": round(linear_peak, 1),
            "flops_per_token": FLOPS_PER_TOKEN,
            "tokens_per_article": round(tokens_per_article, 1),
        },
        "speedup_over_naive": round(full.articles_per_s / naive.articles_per_s, 2),
        "articles": len(articles),
        "cores": os.cpu_count(),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    """Throughput and latency of the contenders, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["passthrough", "naive", "stancewire", "bound"]
    rates = [result[n]["articles_per_s"] or 0 for n in names]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(names, rates, color=["#999", "#c0392b", "#2e86de", "#555"])
    left.set_yscale("log")
    left.set_ylabel("articles / s (log)")
    left.set_title(f"Throughput, {result['articles']} articles, {result['cores']} cores")
    for x, rate in enumerate(rates):
        left.annotate(f"{rate:.1f}", (x, rate), ha="center", va="bottom")
    runs = {
        "naive": result["naive"],
        "stancewire": result["stancewire"],
        "stancewire at half rate": result["stancewire"]["at_half_rate"],
    }
    for offset, (label, run) in enumerate(runs.items()):
        right.bar(
            [x + offset * 0.25 for x in range(3)],
            [run["p50_ms"], run["p95_ms"], run["p99_ms"]],
            width=0.25,
            label=label,
        )
    right.set_xticks([0.25, 1.25, 2.25], ["p50", "p95", "p99"])
    right.set_yscale("log")
    right.set_ylabel("produce -> enriched, ms (log)")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
