"""Per-source boilerplate learning through the real broker, surviving a worker restart."""

from __future__ import annotations

import orjson
import pytest

from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

FOOTER = "The Harbour Courier newsroom can be reached around the clock on desk forty-two"
STORIES = [
    ("Ferry service resumes", "The ferry to the islands sailed again on Monday after repairs."),
    ("Fish prices climb", "Auction prices for cod rose for the third week in a row."),
    ("New pier opens", "The council opened a pier for cruise ships on the east side."),
    ("Harbour pilots strike", "Pilots stopped work for four hours over staffing levels."),
    ("Storm closes marina", "Strong winds forced the marina to close its pontoons overnight."),
    ("Lighthouse restored", "Volunteers finished restoring the old lighthouse lantern."),
]


def message(number: int) -> tuple[bytes, bytes]:
    title, story = STORIES[number]
    body = f"{story}\nOfficials expect more news later this week.\n{FOOTER}"
    article = {"id": f"courier-{number}", "title": title, "body": body, "source": "courier"}
    return f"courier-{number}".encode(), orjson.dumps(article)


def test_a_recurring_footer_no_rule_knows_is_learned_and_remembered(pipeline: Pipeline) -> None:
    pipeline.extra_env["STANCEWIRE_BOILERPLATE_THRESHOLD"] = "3"
    worker = pipeline.start_worker()
    watcher = pipeline.watcher()
    events = {}
    for number in range(5):  # one at a time, so each article sees the ones before it
        pipeline.produce([message(number)])
        key = f"courier-{number}"
        events[key] = watcher.collect({key}, timeout_s=60)[key][0][1]
    texts = [events[f"courier-{n}"]["text"] for n in range(5)]
    assert [FOOTER in text for text in texts] == [True, True, True, False, False]
    removed = events["courier-4"]["removed"]
    assert {"text": FOOTER, "reason": "learned-boilerplate"} in removed

    worker.terminate()
    worker.wait(timeout=30)
    pipeline.start_worker()  # a new process: the counts come back from their topic
    pipeline.produce([message(5)])
    after_restart = watcher.collect({"courier-5"}, timeout_s=90)["courier-5"][0][1]
    watcher.close()
    assert FOOTER not in after_restart["text"]
    assert "Volunteers finished restoring" in after_restart["text"]
