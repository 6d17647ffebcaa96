"""The cleaning stage's entry point: a raw article in, its story out, each dropped line with why."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from pipeline.cleaning.features import FEATURES, beside_rule_hits, line_features, word_count
from pipeline.cleaning.lines import LineModel, load_line_model
from pipeline.cleaning.memory import LineMemory, candidate_lines
from pipeline.cleaning.rules import boilerplate_reason
from pipeline.cleaning.text import SENTENCE_END, normalize_text, split_sentences
from pipeline.errors import EmptyArticle
from schemas import Block, BlockType, RawArticle, RemovedBlock

_INDEX = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class CleanArticle:
    """The story of one article: clean text, its blocks and sentences, and what was dropped."""

    title: str
    text: str
    blocks: list[Block]
    sentences: list[tuple[int, int]]
    removed: list[RemovedBlock]
    published_at: datetime | None = None
    source: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def lead_end(self) -> int:
        """Offset where the title and standfirst end: mentions before it are more salient."""
        lead = [b.end for b in self.blocks if b.type in (BlockType.TITLE, BlockType.STANDFIRST)]
        return max(lead, default=0)


@functools.cache
def default_line_model() -> LineModel:
    """The shipped line classifier, read once per process."""
    return load_line_model()


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 12
        and len(line) <= 100
        and not SENTENCE_END.search(line)
        and not line.endswith((",", ";", ":"))
        and line[0].isupper()
    )


def furniture_reason(row: npt.NDArray[np.float64]) -> str:
    """Why the classifier took a line for page furniture, read from the line's features."""
    value = {name: float(row[i]) for name, i in _INDEX.items()}
    if value["link"]:
        return "furniture:link"
    if value["date"] and value["words"] < 0.6:
        return "furniture:byline-or-date"
    if value["bracketed"] or value["page_repeats"]:
        return "furniture:caption-or-repeat"
    if value["interface_words"] >= 0.3 or value["interface_first"]:
        return "furniture:interface-text"
    if value["short_run"] >= 0.35:
        return "furniture:menu-run"
    if value["main_run_distance"] > 0:
        return "furniture:outside-story"
    return "furniture:inside-story"


# Entries of the lists sports stories carry: a fixture or a result between two sides
# ("Arsenal v Stoke", "Burnley or Blackburn v Leicester", "Man Utd 2-1 Exeter"), or a ranked
# entry with its country or club in brackets ("2 Andy Roddick (US)", "14. Ana Ruiz (Spain)").
_LIST_ENTRY = re.compile(
    r"^:?\s*\w[\w .'/&-]*?\s(?:v|vs\.?|\d{1,2}\s?-\s?\d{1,2})\s+\w[\w .'/&()-]*$"
    r"|^\d{1,3}\.?\s+[A-Z][\w.'-]*(?:\s+[\w.'-]+){0,5}\s+\([^()]{2,40}\)$"
)


def list_runs(lines: list[str]) -> set[int]:
    """Indexes of lines in runs of two or more fixtures, results or ranked entries. Short
    and one after another, they look like a menu to the classifier, but no menu reads
    "Arsenal v Stoke" or "2 Andy Roddick (US)": they are the story's own list and stay."""
    hits = [bool(_LIST_ENTRY.match(line)) for line in lines]
    return {
        i
        for i, hit in enumerate(hits)
        if hit and ((i > 0 and hits[i - 1]) or (i + 1 < len(hits) and hits[i + 1]))
    }


def clean_text(
    title: str,
    body: str,
    *,
    source: str | None = None,
    memory: LineMemory | None = None,
    model: LineModel | None = None,
    classify: bool = True,
) -> tuple[str, list[Block], list[RemovedBlock]]:
    """Classify each line of a plain-text body as story or page furniture and build the text.

    Phrase rules, the title's echo, a line repeating the one before and, with a ``memory``
    and a ``source``, lines the source has repeated across enough earlier articles remove
    a line with their reason; the line classifier (``classify``) reads the page without
    the rules' and the memory's lines (knowing which lines sat next to one) and removes
    the page furniture they do not name, except a story's lists (``list_runs``).
    """
    title = normalize_text(title).replace("\n", " ").strip()
    lines = [line for line in normalize_text(body).split("\n") if line]
    learned: set[str] = set()
    if memory is not None and source:
        candidates = candidate_lines(lines)
        learned = memory.learned(source, candidates)
        memory.remember(source, candidates)
    reasons: list[str | None] = [boilerplate_reason(line) for line in lines]
    rule_hits = [reason is not None for reason in reasons]
    for i, line in enumerate(lines):
        if reasons[i] is None and line in learned:
            reasons[i] = "learned-boilerplate"
    folded_title = title.casefold()
    previous: str | None = None
    for i, line in enumerate(lines):
        key = line.casefold()
        # Only an echo of the title or of the line just kept counts as a repeat: pages
        # legitimately repeat lines further apart (schedules, recipes, summary boxes).
        if reasons[i] is None and key == folded_title:
            reasons[i] = "title-repeated"
        elif reasons[i] is None and previous == key:
            reasons[i] = "repeated-line"
        if reasons[i] is None:
            previous = key
    if classify and lines:
        model = model or default_line_model()
        # Lines the source has repeated are set aside like the rules' hits: the classifier
        # learnt pages as they stand once the known furniture is out.
        rest, beside = beside_rule_hits(
            [hit or line in learned for hit, line in zip(rule_hits, lines, strict=True)]
        )
        body_lines = [lines[i] for i in rest]
        features = line_features(body_lines, title=title, rule_hits=beside)
        words = np.asarray([word_count(line) for line in body_lines], dtype=np.float64)
        story = model.decode(model.story_probabilities(features, words))
        lists = list_runs(body_lines)
        furniture = {
            i: furniture_reason(features[row])
            for row, (i, is_story) in enumerate(zip(rest, story, strict=True))
            if reasons[i] is None and not is_story and row not in lists
        }
        # The classifier judges a line by the page around it; a body too short to have a
        # page around it (one or two sentences sent as JSON) would lose its whole story.
        # Left with nothing, the lines that only the classifier removed are kept.
        if any(reasons[i] is None and i not in furniture for i in range(len(lines))):
            for i, reason in furniture.items():
                reasons[i] = reason
    removed = [
        RemovedBlock(text=line, reason=reason)
        for line, reason in zip(lines, reasons, strict=True)
        if reason is not None
    ]
    kept = [line for line, reason in zip(lines, reasons, strict=True) if reason is None]
    types = _block_types(kept)
    parts: list[tuple[BlockType, str]] = [(BlockType.TITLE, title)] if title else []
    parts += list(zip(types, kept, strict=True))
    return _assemble(parts, removed)


def _block_types(lines: list[str]) -> list[BlockType]:
    types = []
    for i, line in enumerate(lines):
        followed_by_prose = i + 1 < len(lines) and not _looks_like_heading(lines[i + 1])
        types.append(
            BlockType.HEADING
            if _looks_like_heading(line) and followed_by_prose
            else BlockType.PARAGRAPH
        )
    paragraphs = [i for i, kind in enumerate(types) if kind is BlockType.PARAGRAPH]
    # The standfirst is a short opening summary before the story proper begins.
    if len(paragraphs) >= 3 and paragraphs[0] == 0 and len(lines[0].split()) <= 80:
        types[0] = BlockType.STANDFIRST
    return types


def _assemble(
    parts: list[tuple[BlockType, str]], removed: list[RemovedBlock]
) -> tuple[str, list[Block], list[RemovedBlock]]:
    blocks: list[Block] = []
    offset = 0
    for kind, line in parts:
        blocks.append(Block(type=kind, text=line, start=offset, end=offset + len(line)))
        offset += len(line) + 2
    return "\n\n".join(line for _, line in parts), blocks, removed


def clean_article(
    article: RawArticle, *, memory: LineMemory | None = None, model: LineModel | None = None
) -> CleanArticle:
    """The cleaning stage: plain text or an HTML page in, the story out.

    A page's main text is found by HTML extraction, whose output is already the story's
    blocks; plain text goes through the line classifier (``model``, else the shipped one).
    """
    metadata: dict[str, str] = {}
    published_at = article.published_at
    source = article.source
    if article.html is not None:
        from pipeline.cleaning.extraction import extract_page  # trafilatura is costly to import

        page = extract_page(article.html, url=article.url)
        title = article.title or page.title or ""
        body = page.text
        metadata = page.metadata
        published_at = published_at or page.published_at
        source = source or page.site
    else:
        title, body = article.title or "", article.body or ""
    text, blocks, removed = clean_text(
        title,
        body,
        source=source_key(article, source),
        memory=memory,
        model=model,
        classify=article.html is None,
    )
    if not any(b.type is not BlockType.TITLE for b in blocks):
        raise EmptyArticle(
            "no story text left after cleaning "
            f"({len(removed)} line(s) removed as boilerplate); the body is empty or all boilerplate"
        )
    if not title:
        raise EmptyArticle("the article has no title and the page gave none")
    return CleanArticle(
        title=blocks[0].text,
        text=text,
        blocks=blocks,
        sentences=split_sentences(text, blocks),
        removed=removed,
        published_at=published_at,
        source=source,
        metadata=metadata,
    )


def source_key(article: RawArticle, source: str | None) -> str | None:
    """What per-source learning groups an article by: its source, else its url's host."""
    if source:
        return source
    if article.url:
        return urlsplit(article.url).hostname
    return None
