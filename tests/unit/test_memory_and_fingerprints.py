"""Learned boilerplate, near-duplicate fingerprints and language identification."""

from __future__ import annotations

import orjson

from pipeline.cleaning import clean_text
from pipeline.cleaning.fingerprints import RecentFingerprints, hamming, simhash
from pipeline.cleaning.language import load_language_identifier
from pipeline.cleaning.memory import LineMemory, candidate_lines
from pipeline.enrichment import Enricher, Received
from schemas import EnrichedEvent

STORY = (
    "The central bank kept its main interest rate unchanged on Thursday, saying inflation "
    "had eased faster than expected but wages were still rising quickly in services. "
    "Economists had expected the decision, and markets barely moved after the announcement. "
    "The governor told reporters that the board would watch rents and energy bills closely "
    "over the winter, and that a cut in the spring was possible but not promised. Two of the "
    "nine board members voted for a cut of a quarter point, arguing that factories were "
    "already laying off staff. Business groups welcomed the caution, while unions said "
    "households needed relief sooner. The bank also lowered its growth forecast for next "
    "year to one percent, citing weak exports to its largest trading partners."
)


def test_a_line_becomes_boilerplate_after_threshold_articles_of_one_source() -> None:
    memory = LineMemory({}, threshold=3)
    footer = "Our reporters can be reached on the tip line at any hour."
    kept = []
    for number in range(5):
        body = f"Story number {number} begins here with news.\n{footer}"
        text, _, _ = clean_text(f"Title {number}", body, source="gazette", memory=memory)
        kept.append(footer in text)
    assert kept == [True, True, True, False, False]
    # Another source has its own memory.
    text, _, _ = clean_text("Other", f"Different story.\n{footer}", source="other", memory=memory)
    assert footer in text


def test_pending_sightings_wait_for_drain_when_not_autocommitting() -> None:
    store: dict[str, int] = {}
    memory = LineMemory(store, threshold=2, autocommit=False)
    memory.remember("s", ["a line", "a line", "another"])
    assert store == {}
    assert memory.learned("s", ["a line"]) == set()
    memory.remember("s", ["a line"])
    assert memory.learned("s", ["a line"]) == {"a line"}
    drained = memory.drain()
    assert sorted(drained.values()) == [1, 2]
    assert memory.drain() == {}


def test_only_short_edge_lines_are_candidates() -> None:
    lines = [f"line {n}" for n in range(20)] + ["word " * 100]
    candidates = candidate_lines(lines)
    assert "line 0" in candidates and "line 19" in candidates
    assert "line 10" not in candidates
    assert all(len(c.split()) <= 80 for c in candidates)


def test_simhash_is_close_for_near_copies_and_far_for_other_text() -> None:
    copy = STORY.replace("Thursday", "Friday")
    other = "A storm closed three airports in the north and cancelled hundreds of flights."
    assert hamming(simhash(STORY), simhash(copy)) <= 6
    assert hamming(simhash(STORY), simhash(other)) > 12


def test_recent_window_finds_near_duplicates_and_forgets_old_ones() -> None:
    recent = RecentFingerprints(window=2)
    recent.add("a", simhash(STORY))
    assert recent.find(simhash(STORY.replace("Thursday", "Friday"))) == "a"
    assert recent.find(simhash(STORY), exclude="a") is None
    recent.add("b", simhash("first unrelated article about football results"))
    recent.add("c", simhash("second unrelated article about a film festival"))
    assert len(recent) == 2
    assert recent.find(simhash(STORY)) is None


def test_enriched_events_carry_language_and_duplicate_of() -> None:
    enricher = Enricher(
        max_payload_bytes=1 << 20,
        languages=load_language_identifier(),
        recent=RecentFingerprints(window=100),
    )
    turkish = (
        "Dışişleri Bakanı, Çarşamba günü yaptığı açıklamada görüşmelerin gelecek hafta "
        "Cenevre'de devam edeceğini söyledi."
    )
    articles = [
        {"id": "one", "title": "Rates on hold", "body": STORY},
        {"id": "two", "title": "Rates on hold again", "body": STORY.replace("quickly", "fast")},
        {"id": "tr", "title": "Görüşmeler sürüyor", "body": turkish},
    ]
    results = enricher.enrich_batch([Received(payload=orjson.dumps(a)) for a in articles])
    assert all(isinstance(r, EnrichedEvent) for r in results)
    one, two, tr = (r for r in results if isinstance(r, EnrichedEvent))
    assert (one.language, one.duplicate_of) == ("en", None)
    assert one.language_confidence is not None and one.language_confidence > 0.5
    assert two.duplicate_of == "one"
    assert tr.language == "tr" and tr.duplicate_of is None
