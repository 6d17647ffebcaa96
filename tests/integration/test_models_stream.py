"""The shipped models through the real broker: real entities (and stances) in enriched events."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ceasefire-article.txt"


def test_seed_style_article_comes_out_with_typed_canonical_entities(pipeline: Pipeline) -> None:
    pipeline.extra_env["STANCEWIRE_ENTITY_MODEL"] = "shipped"
    pipeline.start_worker()
    watcher = pipeline.watcher()
    title, _, body = FIXTURE.read_text().partition("\n")
    article = {"id": "ceasefire", "title": title, "body": body, "source": "wire.example"}
    pipeline.produce([(b"ceasefire", orjson.dumps(article))])
    (topic, event), *_ = watcher.collect({"ceasefire"}, timeout_s=120)["ceasefire"]
    watcher.close()
    assert topic == pipeline.settings.output_topic, event
    found = {entity["name"]: entity for entity in event["entities"]}
    expected = {
        "Sergey Lavrov": "PER",
        "Marco Rubio": "PER",
        "NATO": "ORG",
        "Budapest": "LOC",
        "Bryansk": "LOC",
        "Moscow": "LOC",
    }
    for name, kind in expected.items():
        assert name in found, sorted(found)
        assert found[name]["type"] == kind, (name, found[name]["type"])
    lavrov = found["Sergey Lavrov"]
    assert lavrov["count"] >= 3  # "Lavrov" later in the text joins the full name
    for mention in lavrov["mentions"]:
        assert event["text"][mention["start"] : mention["end"]] == mention["text"]
    assert event["entities"][0]["name"] == "Sergey Lavrov"  # the most salient: title and lead
    assert "entities" in event["processing"]["stages"]
    assert event["processing"]["models"]["entities"].startswith("stancewire-ner")
