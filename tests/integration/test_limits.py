"""One message never stops the stream: oversize articles, small topic limits, broken models.

Each test runs real worker processes on the project's broker and prints what went in and
what came out: in / enriched / dead-lettered / duplicates / lost / time to recover.
"""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from agents.broker import LocalBroker
from agents.security import client_options
from agents.settings import Settings
from tests.integration.conftest import Pipeline, fresh_settings
from tests.tiny_bert import tiny_bert_config

pytestmark = pytest.mark.integration

NO_MODELS = {"STANCEWIRE_ENTITY_MODEL": "off", "STANCEWIRE_STANCE_MODEL": "off"}
BIG_BYTES = 13 * 1024 * 1024


def small(number: int) -> tuple[bytes, bytes]:
    key = f"s-{number:03d}"
    article = {
        "id": key,
        "title": f"Ferry crossings resume after storm, update {number}",
        "body": "Ferries between the islands sailed again on Monday.\n"
        "The harbour master said the timetable would be normal by Wednesday.",
    }
    return key.encode(), orjson.dumps(article)


def big() -> tuple[bytes, bytes]:
    paragraph = "The inquiry heard evidence from harbour staff about the night of the storm. "
    body = (paragraph * (BIG_BYTES // len(paragraph) + 1))[:BIG_BYTES]
    return b"big-1", orjson.dumps({"id": "big-1", "title": "Inquiry transcript", "body": body})


def report(
    name: str,
    keys: set[str],
    arrived: dict[str, list[tuple[str, dict[str, object]]]],
    s: Settings,
    recovered_s: float,
) -> dict[str, int]:
    first = [arrived[k][0][0] for k in keys if k in arrived]
    figures = {
        "in": len(keys),
        "enriched": first.count(s.output_topic),
        "dead_lettered": first.count(s.dlq_topic),
        "duplicates": sum(len(arrived[k]) - 1 for k in keys if k in arrived),
        "lost": len(keys - arrived.keys()),
    }
    print(f"\n{name}: {figures}, {recovered_s:.1f} s from the big article to the last small one")
    return figures


@pytest.mark.slow
@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_a_13_mb_article_between_small_ones_is_dead_lettered_and_the_stream_goes_on(
    pipeline: Pipeline, guarantee: str
) -> None:
    pipeline.extra_env |= NO_MODELS | {"STANCEWIRE_PROCESSING_GUARANTEE": guarantee}
    worker = pipeline.start_worker()
    watcher = pipeline.watcher(read_committed=guarantee == "exactly_once")
    big_key, big_value = big()
    started = time.monotonic()
    pipeline.produce([small(n) for n in range(3)] + [(big_key, big_value)])
    pipeline.produce([small(n) for n in range(3, 6)])
    keys = {f"s-{n:03d}" for n in range(6)} | {"big-1"}
    arrived = watcher.collect(keys, timeout_s=120)
    recovered = time.monotonic() - started
    for key, copies in watcher.collect(set(), timeout_s=2).items():  # late duplicates
        arrived.setdefault(key, []).extend(copies)
    watcher.close()
    figures = report(f"13 MB article ({guarantee})", keys, arrived, pipeline.settings, recovered)
    assert figures["lost"] == 0, f"{figures}\n{pipeline.worker_logs()}"
    assert figures["enriched"] == 6 and figures["dead_lettered"] == 1
    if guarantee == "exactly_once":
        assert figures["duplicates"] == 0
    topic, letter = arrived["big-1"][0]
    assert topic == pipeline.settings.dlq_topic
    assert letter["error_type"] == "PayloadTooLarge" and letter["stage"] == "decode"
    assert letter["payload_size"] == len(big_value)
    assert letter["payload_sha256"] == hashlib.sha256(big_value).hexdigest()
    assert letter["payload_truncated"] is True
    kept = base64.b64decode(letter["payload_base64"])
    assert big_value.startswith(kept) and len(kept) > 1_000_000
    assert worker.poll() is None, "the worker must stay up"


def topics_with_kafkas_default_limit(broker: LocalBroker) -> Settings:
    """Fresh topics whose enriched and dead-letter topics keep Kafka's default 1 MiB limit."""
    base = Settings(bootstrap_servers=broker.bootstrap)
    probe = fresh_settings(broker.bootstrap)  # names only; replaced below
    settings = probe.model_copy(
        update={"output_topic": probe.output_topic + "-1m", "dlq_topic": probe.dlq_topic + "-1m"}
    )
    admin = KafkaAdminClient(**client_options(base), client_id="stancewire-test")
    try:
        limit = {"max.message.bytes": "1048588"}
        admin.create_topics(
            [
                NewTopic(settings.output_topic, 4, 1, topic_configs=limit),
                NewTopic(settings.dlq_topic, 4, 1, topic_configs=limit),
            ]
        )
    finally:
        admin.close()
    return settings


def test_a_topic_with_the_default_1_mib_limit_does_not_stall_the_worker(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = topics_with_kafkas_default_limit(broker)
    pipeline = Pipeline(broker=broker, workdir=tmp_path, settings=settings)
    pipeline.extra_env |= NO_MODELS
    try:
        worker = pipeline.start_worker()
        watcher = pipeline.watcher()
        large = orjson.dumps({"id": "large-1", "title": "Minutes", "body": "Minutes. " * 90_000})
        started = time.monotonic()
        pipeline.produce([(b"large-1", large)] + [small(n) for n in range(3)])
        keys = {"large-1"} | {f"s-{n:03d}" for n in range(3)}
        arrived = watcher.collect(keys, timeout_s=90)
        watcher.close()
        figures = report(
            "800 KB article, 1 MiB topics", keys, arrived, settings, time.monotonic() - started
        )
        assert figures["lost"] == 0 and figures["enriched"] == 3, pipeline.worker_logs()
        letter = arrived["large-1"][0][1]
        assert letter["payload_truncated"] is True and letter["payload_size"] == len(large)
        assert worker.poll() is None
    finally:
        pipeline.stop_workers()


def test_limits_that_contradict_the_broker_stop_the_worker_at_start_with_the_reason(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = topics_with_kafkas_default_limit(broker)
    pipeline = Pipeline(broker=broker, workdir=tmp_path, settings=settings)
    pipeline.extra_env |= NO_MODELS | {"STANCEWIRE_MAX_MESSAGE_BYTES": str(8 * 1024 * 1024)}
    with pytest.raises(pytest.fail.Exception, match="worker exited with 1"):
        pipeline.start_worker(ready_timeout_s=60)
    log = pipeline.worker_logs()
    assert "STANCEWIRE_MAX_MESSAGE_BYTES=8388608 is larger than max.message.bytes=1048588" in log


def broken_entity_model(folder: Path) -> Path:
    """A real token-classification model that fails on any article longer than 4 pieces."""
    from transformers import AutoTokenizer, BertForTokenClassification

    from pipeline.kernels.backbone import base_model_dir

    labels = ["O", "B-PER", "I-PER"]
    config = tiny_bert_config(
        vocab_size=30522,
        max_position_embeddings=4,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    BertForTokenClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(base_model_dir())).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_model_that_fails_on_everything_opens_the_breaker(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    model = broken_entity_model(tmp_path / "broken-ner")
    pipeline.extra_env |= {
        "STANCEWIRE_ENTITY_MODEL": str(model),
        "STANCEWIRE_STANCE_MODEL": "off",
        "STANCEWIRE_BREAKER_FAILURES": "8",
        "STANCEWIRE_BREAKER_EXIT_DELAY_S": "6",
        "STANCEWIRE_BATCH_SIZE": "4",
    }
    worker = pipeline.start_worker()
    watcher = pipeline.watcher()
    pipeline.produce([small(n) for n in range(40)])
    deadline = time.monotonic() + 60
    exposition = ""
    while time.monotonic() < deadline and worker.poll() is None:
        try:
            url = f"http://127.0.0.1:{pipeline.web_ports[-1]}/metrics"
            exposition = urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            pass
        if 'stancewire_breaker_open{error_type="RuntimeError",stage="entities"} 1.0' in exposition:
            break
        time.sleep(0.3)
    assert (
        'stancewire_breaker_open{error_type="RuntimeError",stage="entities"} 1.0' in exposition
    ), pipeline.worker_logs()
    assert worker.wait(timeout=30) == 75, pipeline.worker_logs()
    arrived = watcher.collect(set(), timeout_s=3)
    watcher.close()
    log = pipeline.worker_logs()
    assert "model breaker open: the entities model failed on 8 articles in a row" in log
    # It stopped taking work: most of the 40 articles were neither enriched nor dead-lettered,
    # and stay uncommitted for a worker whose model works.
    dead = sum(1 for copies in arrived.values() for topic, _ in copies if "dlq" in topic)
    assert dead < 8 + 4, arrived.keys()
    print(f"\nbroken model: 40 in, {dead} dead-lettered before the breaker opened, rest kept")
