"""The shipped models through the real broker: real entities (and stances) in enriched events."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ceasefire-article.txt"


def test_seed_style_article_comes_out_with_entities_and_stances(pipeline: Pipeline) -> None:
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
    # Stances: every watch-list topic and the top entities get one, with real evidence.
    stances = {stance["target"]: stance for stance in event["stances"]}
    assert "Sergey Lavrov" in stances
    assert set(stances) >= {"NATO enlargement", "Russia-US summit"}
    assert event["processing"]["models"]["stance"].startswith("stancewire-stance")
    with_evidence = [s for s in event["stances"] if s["evidence"]]
    assert with_evidence, event["stances"]
    for stance in with_evidence:
        assert stance["label"] in {"favor", "against", "neutral"}
        assert 0.0 <= stance["score"] <= 1.0
        for evidence in stance["evidence"]:
            assert event["text"][evidence["start"] : evidence["end"]] == evidence["text"]
    # The NATO sentence is Lavrov's: the holder comes from the reporting verb's subject.
    nato = stances["NATO enlargement"]["evidence"]
    assert any(e["holder"] == "Sergey Lavrov" and "NATO" in e["text"] for e in nato), nato
    # A topic the article never mentions stays neutral with no evidence, not a guess.
    assert stances["military aid to Ukraine"] == {
        "target": "military aid to Ukraine",
        "target_kind": "topic",
        "label": "neutral",
        "score": 0.0,
        "evidence": [],
        "views": [],
    }
    # Schema version 2: the NATO sentences are one view, Lavrov's, pointing at his evidence.
    assert event["schema_version"] == 2
    views = stances["NATO enlargement"]["views"]
    lavrov_view = next(view for view in views if view["holder"] == "Sergey Lavrov")
    assert all(nato[index]["holder"] == "Sergey Lavrov" for index in lavrov_view["evidence"])
