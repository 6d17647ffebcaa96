"""The line classifier keeps the story of a page a crawler copied and drops its furniture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.cleaning import clean_article, clean_text, load_line_model
from pipeline.cleaning.features import FEATURES, line_features
from pipeline.cleaning.lines import ModelFileError
from pipeline.cleaning.memory import LineMemory
from schemas import BlockType, RawArticle

FIXTURE = Path(__file__).parent.parent / "fixtures" / "scraped-harbour-page.txt"


def _page() -> tuple[str, list[str]]:
    title, *lines = FIXTURE.read_text().splitlines()
    return title, lines


def test_scraped_page_keeps_the_story_and_drops_the_furniture() -> None:
    title, lines = _page()
    _, blocks, removed = clean_text(title, "\n".join(lines))
    kept = [b.text for b in blocks if b.type is not BlockType.TITLE]
    story = [line for line in lines if len(line.split()) > 18]
    assert len(story) == 5
    assert all(line in kept for line in story), set(story) - set(kept)
    dropped = {r.text for r in removed}
    assert len(dropped) >= 15
    for furniture in (
        "Home",
        "Sign in",
        "Home > News > Local",
        "Most read",
        "About us | Contact | Privacy | Terms",
    ):
        assert furniture in dropped, furniture
    # Every removed line says why.
    assert all(r.reason for r in removed)
    assert any(r.reason.startswith("furniture:") for r in removed)


def test_without_the_classifier_the_furniture_stays() -> None:
    title, lines = _page()
    _, blocks, _ = clean_text(title, "\n".join(lines), classify=False)
    assert "Most read" in [b.text for b in blocks]


def test_feature_rows_match_the_feature_names() -> None:
    title, lines = _page()
    matrix = line_features(lines, title=title)
    assert len(lines) > 20
    assert matrix.shape == (len(lines), len(FEATURES))
    assert np.isfinite(matrix).all()


def test_shipped_model_loads_small_and_scores_every_line() -> None:
    model = load_line_model()
    assert model.metadata["pages"] > 0
    title, lines = _page()
    features = line_features(lines, title=title)
    words = np.asarray([len(line.split()) for line in lines], dtype=np.float64)
    probabilities = model.story_probabilities(features, words)
    assert probabilities.shape == (len(lines),)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    story = model.decode(probabilities)
    assert len(story) == len(lines)
    assert 0 < sum(story) < len(lines)
    assert (
        Path(__file__).parents[2] / "pipeline/models/cleaning/lines.json"
    ).stat().st_size < 1_000_000


def test_a_wrong_model_file_is_refused_with_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text('{"format": "something-else"}')
    with pytest.raises(ModelFileError, match="not a stancewire-line-classifier"):
        load_line_model(path)
    with pytest.raises(ModelFileError, match="train cleaning"):
        load_line_model(tmp_path / "missing.json")


def test_seed_style_article_keeps_its_headings(ceasefire_text: str) -> None:
    title, _, body = ceasefire_text.partition("\n")
    clean = clean_article(RawArticle(title=title, body=body))
    assert [b.text for b in clean.blocks if b.type is BlockType.HEADING] == [
        "Positions on a Ceasefire",
        "Border Regions",
    ]


def test_a_short_body_is_never_emptied_by_the_classifier_alone() -> None:
    # Alone, without a page around it, this line looks like furniture to the classifier.
    _, blocks, removed = clean_text("Ferry strike ends", "Story 1.")
    assert [b.text for b in blocks] == ["Ferry strike ends", "Story 1."]
    assert removed == []
    # A phrase rule still removes a line however short the body is.
    _, blocks, removed = clean_text("Ferry strike ends", "Reklam yükleniyor...\nStory 1.")
    assert [b.text for b in blocks] == ["Ferry strike ends", "Story 1."]
    assert [r.text for r in removed] == ["Reklam yükleniyor..."]


def test_a_sports_storys_list_of_fixtures_stays() -> None:
    fixtures = [
        "Harbour Town v Millbrook Rovers",
        "Eastfield or Kingsgate v Norcastle United",
        "Old Quay Athletic v Westmoor",
        "Redcliffe 2-1 Saltmarsh",
    ]
    body = "\n".join(
        [
            "Harbour Town will host Millbrook Rovers in the fourth round of the cup after "
            "Monday's draw at the national stadium, the pick of the ties for the holders.",
            "The fourth-round ties will be played on the weekend of 24 and 25 January, and "
            "replays, where needed, ten days later.",
            *fixtures,
            "Ties to be played on the weekend of 24/25 January.",
        ]
    )
    _, blocks, removed = clean_text("Harbour Town draw Millbrook in the cup", body)
    kept = [b.text for b in blocks]
    assert all(line in kept for line in fixtures), [r for r in removed if r.text in fixtures]


def test_a_sports_storys_ranked_list_stays() -> None:
    first = "Mara Ines Hanna Olga Rui Clara Lena Pia Sofia Eva Nora Ada Tove Lise Kari".split()
    last = "Kessel Duarte Lindqvist Barta Okabe Voss Marsh Roth Lenz Kral Fjell Moreau".split()
    countries = ["Germany", "Portugal", "Sweden", "Czech Republic", "Japan", "Austria"]
    seeds = [
        f"{n} {first[n % len(first)]} {last[n * 7 % len(last)]} ({countries[n % 6]})"
        for n in range(1, 41)
    ]
    # a long list, with page furniture the crawler copied into it
    lines = [*seeds[:6], "You may also like", *seeds[6:8], "Annons", *seeds[8:]]
    prose = [
        "The organisers of the harbour open have published the seedings for next week's "
        "tournament, with the defending champion at the top of the list.",
        "The champion came from a set down to win last year's final and has not lost a "
        "match on the harbour courts since the spring of 2024.",
        "Her first opponent will be a qualifier, and the draw puts her in the same quarter "
        "as the third seed, whom she beat in two close sets last month.",
    ]
    _, blocks, removed = clean_text(
        "Champion top seed for the harbour open", "\n".join([*prose, *lines])
    )
    kept = [b.text for b in blocks]
    assert [line for line in seeds if line not in kept] == [], removed


def test_lines_a_source_repeats_are_set_aside_before_the_classifier_reads_the_page() -> None:
    # Furniture the source repeats on every page, learnt by the memory, sits around the
    # opening paragraph: set aside first, it no longer makes the paragraph look like a
    # line of the page around the story.
    memory = LineMemory({}, threshold=3)
    furniture = [
        "By Staff Reporter, Harbour Desk",
        "Published 09:12 GMT, 5 March 2026",
        "Annons",
        "Baca juga: Harga ikan naik lagi",
        "Najczęściej czytane",
        "Get breaking alerts on your phone with our free app",
    ]
    story = [
        "The harbour board has parted company with its chief engineer Petra Lind.",
        "The board said Ms Lind had resigned for personal reasons after nine years in the "
        "post, during which the eastern quay was rebuilt.",
        "In a statement issued on Thursday, the chairman thanked Ms Lind for her work on the "
        "new breakwater and said a successor would be named before the summer.",
        "Her deputy, Jonas Berg, will run the engineering department until then, the board added.",
        "The dredging programme will go ahead as planned in April, the board said.",
    ]
    for number in range(4):
        other = f"Story {number} of the week begins here and tells of the harbour's news."
        clean_text(
            f"Week {number}", "\n".join([*furniture, other]), source="gazette", memory=memory
        )
    f = furniture
    body = "\n".join([f[0], f[1], story[0], f[2], f[3], story[1], f[4], *story[2:], f[5]])
    _, blocks, removed = clean_text(
        "Harbour board engineer steps down", body, source="gazette", memory=memory
    )
    assert {r.text: r.reason for r in removed} == dict.fromkeys(furniture, "learned-boilerplate")
    assert [b.text for b in blocks[1:]] == story
