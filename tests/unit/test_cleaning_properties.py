"""Properties of the cleaner on arbitrary input: it never raises, invents text or changes twice."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cleaning import clean_text, normalize_text
from schemas import BlockType

# Lines built from pieces that exercise the rules: placeholders, prompts, headings, prose.
PIECES = st.sampled_from(
    [
        "Reklam yükleniyor...",
        "Advertisement",
        "Share this article",
        "Section Heading",
        "The minister said talks would continue next week.",
        "Prices rose 3% in May, the agency said.",
        "\u200b",
        "&amp;",
        "Mr. Smith met Dr. Jones.",
        "",
    ]
)
LINES = st.lists(st.one_of(PIECES, st.text(max_size=80)), max_size=25)


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=60), lines=LINES)
def test_cleaning_never_raises_and_never_invents_text(title: str, lines: list[str]) -> None:
    body = "\n".join(lines)
    text, blocks, removed = clean_text(title, body)
    source = normalize_text(title).replace("\n", " ") + "\n" + normalize_text(body)
    for block in blocks:
        assert block.text in source
        assert text[block.start : block.end] == block.text
    for dropped in removed:
        assert dropped.text in source
    # Nothing vanishes unexplained: every body line is either kept or removed with a reason.
    body_lines = [line for line in normalize_text(body).split("\n") if line]
    titled = bool(blocks) and blocks[0].type is BlockType.TITLE
    kept = [b.text for b in blocks[1 if titled else 0 :]]
    assert sorted(kept + [r.text for r in removed]) == sorted(body_lines)
    assert all(r.reason for r in removed)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=400))
def test_bytes_decoded_with_replacement_are_cleaned_without_error(raw: bytes) -> None:
    decoded = raw.decode("utf-8", "replace")
    clean_text("Title", decoded)


@settings(max_examples=300, deadline=None)
@given(title=st.text(min_size=1, max_size=60).filter(str.strip), lines=LINES)
def test_rule_cleaning_is_idempotent(title: str, lines: list[str]) -> None:
    # The rules are; the classifier reads context, which removing lines changes.
    text, blocks, _ = clean_text(title, "\n".join(lines), classify=False)
    titled = bool(blocks) and blocks[0].type is BlockType.TITLE
    body = "\n".join(block.text for block in blocks[1 if titled else 0 :])
    again, again_blocks, _ = clean_text(blocks[0].text if titled else "", body, classify=False)
    assert [b.text for b in again_blocks] == [b.text for b in blocks]
    assert again == text
