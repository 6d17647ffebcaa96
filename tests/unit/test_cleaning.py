"""The cleaner keeps the story of a seed-style article and drops ads and footers."""

from __future__ import annotations

from pipeline.cleaning import boilerplate_reason, clean_article, clean_text, normalize_text
from schemas import BlockType, RawArticle


def _article(text: str) -> RawArticle:
    title, _, body = text.partition("\n")
    return RawArticle(title=title, body=body)


def test_seed_style_article_loses_ads_and_footer_only(ceasefire_text: str) -> None:
    clean = clean_article(_article(ceasefire_text))
    reasons = [removed.reason for removed in clean.removed]
    assert reasons.count("ad-placeholder") == 4
    assert "comment-policy" in reasons
    assert "Reklam" not in clean.text and "respectful" not in clean.text
    kinds = [block.type for block in clean.blocks]
    assert kinds[0] is BlockType.TITLE
    assert clean.title.startswith("Lavrov says Moscow will not accept")
    assert kinds[1] is BlockType.STANDFIRST
    headings = [b.text for b in clean.blocks if b.type is BlockType.HEADING]
    assert headings == ["Positions on a Ceasefire", "Border Regions"]
    paragraphs = [b for b in clean.blocks if b.type is BlockType.PARAGRAPH]
    assert len(paragraphs) == 4
    assert any("Bryansk" in p.text for p in paragraphs)


def test_block_offsets_and_sentences_point_into_the_text(ceasefire_text: str) -> None:
    clean = clean_article(_article(ceasefire_text))
    assert len(clean.blocks) > 3
    for block in clean.blocks:
        assert clean.text[block.start : block.end] == block.text
    sentences = [clean.text[start:end] for start, end in clean.sentences]
    assert (
        "Rubio said that a meeting between the two presidents in Budapest remained "
        "possible once the negotiators agreed on a text." in sentences
    )
    assert all(s == s.strip() and s for s in sentences)
    assert clean.lead_end == clean.blocks[1].end


def test_sentence_split_respects_abbreviations() -> None:
    title = "Talks resume"
    text, blocks, _ = clean_text(title, "Mr. Rubio met Dr. Weber in the U.S. capital. They spoke.")
    from pipeline.cleaning import split_sentences

    spans = split_sentences(text, blocks)
    assert [text[a:b] for a, b in spans][1:] == [
        "Mr. Rubio met Dr. Weber in the U.S. capital.",
        "They spoke.",
    ]


def test_multilingual_placeholders_and_prompts_are_boilerplate() -> None:
    for line in ["Advertisement", "Anzeige", "Publicité", "Реклама", "Reklam yükleniyor…"]:
        assert boilerplate_reason(line) == "ad-placeholder", line
    assert boilerplate_reason("Sign up for our morning newsletter") == "newsletter-prompt"
    assert boilerplate_reason("We use cookies to personalise content") == "cookie-notice"
    assert boilerplate_reason("Share this article") == "share-prompt"
    assert boilerplate_reason("The minister said the advertisement campaign failed.") is None


def test_repeated_lines_and_title_echo_are_removed() -> None:
    _, blocks, removed = clean_text(
        "Floods hit the north",
        "Floods hit the north\nRivers rose overnight in three towns.\n"
        "Rivers rose overnight in three towns.\nRescue teams arrived by boat.",
        classify=False,
    )
    assert [r.reason for r in removed] == ["title-repeated", "repeated-line"]
    assert [b.text for b in blocks][1:] == [
        "Rivers rose overnight in three towns.",
        "Rescue teams arrived by boat.",
    ]


def test_normalisation_handles_entities_zero_width_and_controls() -> None:
    assert normalize_text("caf\u0065\u0301 &amp; tea\u200b\x07  now") == "café & tea now"


def test_hostile_html_is_neither_expanded_nor_fetched() -> None:
    import time

    external = (
        '<?xml version="1.0"?><!DOCTYPE html [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        "<html><body><article><h1>Leak attempt</h1><p>Before &secret; after, a paragraph "
        "long enough to count as the story of this small page.</p></article></body></html>"
    )
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY l0 "lol">{laughs}]>'
        "<html><body><article><h1>Bomb</h1><p>&l9; and then a sentence of ordinary story "
        "text that the extractor should keep.</p></article></body></html>"
    )
    started = time.perf_counter()
    # Not a pass by refusing everything: each page keeps the story text around its entities.
    for page, story in ((external, "after, a paragraph"), (bomb, "ordinary story text")):
        cleaned = clean_article(RawArticle(html=page))
        assert story in cleaned.text
        assert "root:" not in cleaned.text
        assert "lollollol" not in cleaned.text
    assert time.perf_counter() - started < 5


def test_plain_text_is_split_like_a_clean_article() -> None:
    from pipeline.cleaning import split_text_sentences

    text = 'The talks ended. "We disagree," Mr. Lang said.\n\n  Next paragraph here \nLast.'
    spans = split_text_sentences(text)
    assert [text[start:end] for start, end in spans] == [
        "The talks ended.",
        '"We disagree," Mr. Lang said.',
        "Next paragraph here",
        "Last.",
    ]
