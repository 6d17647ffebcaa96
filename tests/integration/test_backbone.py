"""Articles through the real broker and a real worker process: nothing lost, bad ones explained."""

from __future__ import annotations

import base64
import signal
import time

import orjson
import pytest

from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

PLACES = ["Oslo", "Vienna", "Ankara", "Warsaw", "Lisbon", "Tallinn", "Athens", "Dublin"]


def article(number: int) -> dict[str, object]:
    place = PLACES[number % len(PLACES)]
    return {
        "id": f"art-{number:04d}",
        "title": f"Ministers meet in {place} for round {number} of trade talks",
        "body": (
            f"Trade ministers gathered in {place} on Monday for the {number}th round of talks.\n"
            "Reklam yükleniyor...\n"
            "Negotiators said progress on tariffs had been slow but steady.\n"
            "Comments you share on our site are a valuable resource. Please be respectful."
        ),
        "source": "wire.example",
    }


def encoded(numbers: range) -> list[tuple[bytes, bytes]]:
    return [(f"art-{n:04d}".encode(), orjson.dumps(article(n))) for n in numbers]


def test_every_article_comes_out_enriched_matched_by_id(pipeline: Pipeline) -> None:
    pipeline.start_worker()
    watcher = pipeline.watcher()
    messages = encoded(range(40))
    pipeline.produce(messages)
    arrived = watcher.collect({key.decode() for key, _ in messages}, timeout_s=120)
    watcher.close()
    missing = {key.decode() for key, _ in messages} - arrived.keys()
    assert not missing, f"lost {sorted(missing)}\n{pipeline.worker_logs()}"
    for key, _ in messages:
        (topic, event), *_ = arrived[key.decode()]
        assert topic == pipeline.settings.output_topic
        assert event["id"] == key.decode()
        assert "Reklam" not in event["text"] and "respectful" not in event["text"]
        assert event["processing"]["stages"][:4] == ["decode", "validate", "clean", "entities"]
        assert event["processing"]["source_topic"] == pipeline.settings.input_topic
        place = PLACES[int(event["id"][4:]) % len(PLACES)]
        assert {"name": place, "type": "LOC"} in [
            {"name": e["name"], "type": e["type"]} for e in event["entities"]
        ], event["entities"]


# A billion-laughs page and one whose entity would read a local file: neither is expanded.
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><html><body><p>&d;&d;&d;</p></body></html>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    "<html><body><p>&secret;</p></body></html>"
)

BAD_INPUTS: dict[str, tuple[bytes | None, str, str]] = {
    # key: (payload, expected stage, expected error type)
    "bad-json": (b'{"title": "Broken', "decode", "InvalidJson"),
    "bad-utf8": (b'{"title": "Caf\xe9", "body": "x"}', "decode", "InvalidEncoding"),
    "oversize": (
        orjson.dumps({"title": "Big", "body": "word " * 60_000}),
        "decode",
        "PayloadTooLarge",
    ),
    "nested": (
        b'{"title": "n", "body": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "decode",
        "InvalidJson",
    ),
    "tombstone": (None, "decode", "InvalidJson"),
    "not-object": (b'["title", "body"]', "validate", "SchemaViolation"),
    "no-body": (b'{"title": "Only a title"}', "validate", "SchemaViolation"),
    "wrong-type": (b'{"title": "T", "body": 42}', "validate", "SchemaViolation"),
    "unknown-field": (b'{"title": "T", "body": "B", "tags": ["x"]}', "validate", "SchemaViolation"),
    "all-boilerplate": (
        orjson.dumps({"title": "Ads only", "body": "Advertisement\nShare this article\nAnzeige"}),
        "clean",
        "EmptyArticle",
    ),
    "binary": (bytes(range(256)) * 4, "decode", "InvalidEncoding"),
    "empty-body": (b'{"title": "Nothing follows", "body": ""}', "clean", "EmptyArticle"),
    "zero-width-flood": (
        orjson.dumps({"title": "Nothing visible", "body": "\u200b\u200d\u2060" * 20_000}),
        "clean",
        "EmptyArticle",
    ),
    "zero-width-title": (
        orjson.dumps({"title": "\u200b" * 50, "body": "Talks went on in Oslo."}),
        "validate",
        "SchemaViolation",
    ),
    "entity-bomb": (
        orjson.dumps({"html": BOMB}),
        "clean",
        "EmptyArticle",
    ),
    "external-entity": (orjson.dumps({"html": EXTERNAL}), "clean", "EmptyArticle"),
    "5mb-line": (
        orjson.dumps({"title": "One line", "body": "talks " * 900_000}),
        "decode",
        "PayloadTooLarge",
    ),
}


def test_invalid_inputs_reach_the_dead_letter_topic_and_valid_ones_still_flow(
    pipeline: Pipeline,
) -> None:
    pipeline.start_worker()
    watcher = pipeline.watcher()
    messages: list[tuple[bytes, bytes | None]] = []
    for number, (name, (payload, _, _)) in enumerate(BAD_INPUTS.items()):
        messages.append((f"art-{number:04d}".encode(), orjson.dumps(article(number))))
        messages.append((name.encode(), payload))
    pipeline.produce(messages)  # type: ignore[arg-type]
    keys = {key.decode() for key, _ in messages}
    arrived = watcher.collect(keys, timeout_s=120)
    watcher.close()
    assert keys <= arrived.keys(), (
        f"missing {sorted(keys - arrived.keys())}\n{pipeline.worker_logs()}"
    )
    for name, (payload, stage, error_type) in BAD_INPUTS.items():
        (topic, letter), *_ = arrived[name]
        assert topic == pipeline.settings.dlq_topic, name
        assert (letter["stage"], letter["error_type"]) == (stage, error_type), (
            name,
            letter["message"],
        )
        assert len(letter["message"]) > 15
        assert letter["topic"] == pipeline.settings.input_topic
        assert letter["key"] == name and letter["offset"] >= 0
        assert base64.b64decode(letter["payload_base64"]) == (payload or b"")
    valid = [k for k in keys if k.startswith("art-")]
    assert all(arrived[k][0][0] == pipeline.settings.output_topic for k in valid)
    assert pipeline.workers[0].poll() is None, "the worker must keep running"


UNUSUAL_BUT_VALID = {
    "turkish": {
        "title": "Dışişleri bakanları Ankara'da toplandı",
        "body": "Bakanlar pazartesi günü Ankara'da ticaret görüşmeleri için bir araya geldi.\n"
        "Görüşmelerin gelecek hafta İstanbul'da sürmesi bekleniyor.",
    },
    "mixed-script": {
        "title": "Talks in Vienna / Переговоры в Вене / 维也纳会谈",
        "body": "Delegations met in Vienna on Monday. Делегации встретились в Вене.\n"
        "双方代表在维也纳举行会谈。 The talks continue on Tuesday.",
    },
    "zero-width-inside": {
        "title": "Ministers\u200b meet in Oslo",
        "body": "Trade minis\u200bters met in Os\u200dlo on Monday.\u2060\n"
        "They agreed to meet again in June.",
    },
    "one-long-line": {"title": "A very long line", "body": "Talks went on in Oslo. " * 200_000},
}


def test_unusual_but_valid_articles_are_enriched_with_notes(pipeline: Pipeline) -> None:
    pipeline.extra_env["STANCEWIRE_MAX_PAYLOAD_BYTES"] = str(8 * 1024 * 1024)
    pipeline.start_worker()
    watcher = pipeline.watcher()
    pipeline.produce(
        [(k.encode(), orjson.dumps({"id": k} | v)) for k, v in UNUSUAL_BUT_VALID.items()]
    )
    arrived = watcher.collect(set(UNUSUAL_BUT_VALID), timeout_s=180)
    watcher.close()
    assert arrived.keys() == UNUSUAL_BUT_VALID.keys(), pipeline.worker_logs()
    events = {key: copies[0][1] for key, copies in arrived.items()}
    assert all(copies[0][0] == pipeline.settings.output_topic for copies in arrived.values())
    assert events["turkish"]["language"] == "tr"
    assert any("skipped" in note for note in events["turkish"]["processing"]["notes"])
    assert "\u200b" not in events["zero-width-inside"]["text"]
    assert "ministers met in Oslo" in events["zero-width-inside"]["text"]
    assert {"name": "Oslo", "type": "LOC"} in [
        {"name": e["name"], "type": e["type"]} for e in events["zero-width-inside"]["entities"]
    ]
    long_notes = events["one-long-line"]["processing"]["notes"]
    assert any(note.startswith("models: read the first") for note in long_notes), long_notes
    assert len(events["one-long-line"]["text"]) > 4_000_000
    assert pipeline.workers[0].poll() is None


def test_a_killed_worker_is_replaced_and_nothing_is_lost(pipeline: Pipeline) -> None:
    first = pipeline.start_worker()
    watcher = pipeline.watcher()
    before, after = encoded(range(0, 30)), encoded(range(30, 60))
    pipeline.produce(before)
    early = watcher.collect({k.decode() for k, _ in before[:5]}, timeout_s=90)
    first.send_signal(signal.SIGKILL)  # no clean shutdown, no final commit
    first.wait(timeout=10)
    pipeline.produce(after)
    started = time.monotonic()
    pipeline.start_worker()
    keys = {k.decode() for k, _ in before + after}
    late = watcher.collect(keys - early.keys(), timeout_s=240)
    watcher.close()
    seen = early.keys() | late.keys()
    assert keys <= seen, f"lost {sorted(keys - seen)}\n{pipeline.worker_logs()}"
    copies = sum(len(v) for v in early.values()) + sum(len(v) for v in late.values())
    print(
        f"\nrestart: {len(keys)} in, {len(keys)} enriched, {copies - len(keys)} duplicates, "
        f"{time.monotonic() - started:.1f} s from restart to the last event"
    )


def test_sigterm_finishes_the_batch_commits_and_exits_within_ten_seconds(
    pipeline: Pipeline,
) -> None:
    # The entity model makes each batch take long enough for SIGTERM to land mid-batch.
    pipeline.extra_env["STANCEWIRE_ENTITY_MODEL"] = "shipped"
    worker = pipeline.start_worker()
    watcher = pipeline.watcher()
    messages = encoded(range(40))
    pipeline.produce(messages)
    first = watcher.collect({messages[0][0].decode()}, timeout_s=90)
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=30)
    stopped_in = time.monotonic() - started
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    assert code == 0, pipeline.worker_logs()
    pipeline.start_worker()
    keys = {key.decode() for key, _ in messages}
    rest = watcher.collect(keys - first.keys(), timeout_s=120)
    watcher.close()
    assert keys <= first.keys() | rest.keys()
    copies = sum(len(v) for v in first.values()) + sum(len(v) for v in rest.values())
    print(
        f"\nSIGTERM: stopped in {stopped_in:.1f} s, {copies - len(keys)} duplicates after restart"
    )
