"""Keeps the story of a raw article and drops ads, footers, prompts and repeats, saying why."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from pipeline.boilerplate import LineMemory, candidate_lines
from pipeline.errors import EmptyArticle
from schemas import Block, BlockType, RawArticle, RemovedBlock

# Whole-line placeholders that sites leave where an ad or widget loads, in many languages.
# Matched against the case-folded line with trailing dots and ellipses stripped.
AD_PLACEHOLDERS = frozenset(
    {
        "reklam yükleniyor",
        "reklam",
        "advertisement",
        "advertising",
        "ad loading",
        "loading ad",
        "sponsored",
        "sponsored content",
        "anzeige",
        "werbung",
        "publicité",
        "publicidad",
        "anuncio",
        "pubblicità",
        "advertentie",
        "reklama",
        "реклама",
        "реклама загружается",
        "إعلان",
        "广告",
        "広告",
    }
)

# Phrases that mark a line as site furniture rather than story, with the reason reported.
BOILERPLATE_PHRASES: tuple[tuple[str, str], ...] = (
    ("comment-policy", r"\bcomments? (you share|policy|section)\b"),
    ("comment-policy", r"\b(be respectful|community (guidelines|standards))\b"),
    ("comment-policy", r"\b(rude|abusive|derogatory|offensive) (or|,)"),
    ("comment-policy", r"\bavoid using (rude|offensive|abusive)\b"),
    ("share-prompt", r"^(share|tweet|email|print)( this( article| story)?)?( on \w+)?$"),
    ("share-prompt", r"\b(share this (article|story)|follow us on)\b"),
    ("newsletter-prompt", r"\b(subscribe to|sign up (for|to) (our|the)|newsletter)\b"),
    ("cookie-notice", r"\b(we use cookies|cookie (policy|settings)|accept (all )?cookies)\b"),
    (
        "related-links",
        r"^(read more|related( articles| stories| coverage)?|see also|more on this)\b",
    ),
    ("photo-credit", r"^(photo|image|picture|credit|foto)s?( credit)?\s*[:|]"),
    ("photo-credit", r"\((photo|image)[^)]*\)$|\b(getty images|reuters/|afp via getty)\b"),
    ("copyright", r"^(©|copyright\b|all rights reserved)"),
    ("tags", r"^(tags|topics|filed under|related topics)\s*:"),
)
_PHRASE_REACH = 40  # characters from the line start within which a phrase must begin
_PHRASE_WORDS = 60  # longer lines are prose, whatever phrases they contain
_BOILERPLATE_RES = tuple((reason, re.compile(pattern)) for reason, pattern in BOILERPLATE_PHRASES)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[^\S\n]+")
_SENTENCE_END = re.compile("[.!?\u2026][\"'\u201d\u2019)\\]]*$")
_TRAILING_DOTS = re.compile(r"[\s.…·]+$")
# A sentence ends at . ! ? followed by space and an opening capital, digit or quote.
_SENTENCE_BREAK = re.compile(
    "(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*\\s+"
    "(?=[\"'\u201c\u2018(\\[]?[A-Z0-9\u00c0-\u00d6\u00d8-\u00de\u0410-\u042f])"
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st gen col lt sen rep gov jr sr inc ltd co corp no vs etc "
    "u.s u.k u.n e.u jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Structural signals that need no phrase list, so they work in any language.
_PLACEHOLDER = re.compile(r"^\S+(\s\S+){0,3}\s?(\.{3}|\u2026)$")  # "Загрузка...", "Cargando…"
_LINK_ONLY = re.compile(r"^(https?://|www\.)\S+$|^\S+@\S+\.\w+$")
_SEPARATORS = re.compile(r"\s[|\u2022\u00b7\u00bb/]\s")


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


def normalize_text(text: str) -> str:
    """NFC, HTML entities decoded, zero-width and control characters gone, spaces collapsed."""
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def boilerplate_reason(line: str) -> str | None:
    """Why a line is site furniture, or None when it may be story."""
    folded = line.casefold()
    if _TRAILING_DOTS.sub("", folded) in AD_PLACEHOLDERS:
        return "ad-placeholder"
    for reason, pattern in _BOILERPLATE_RES:
        match = pattern.search(folded)
        # Furniture announces itself up front; the same words deep in a sentence are story.
        if match and match.start() <= _PHRASE_REACH and len(folded.split()) <= _PHRASE_WORDS:
            return reason
    if _PLACEHOLDER.match(line):
        return "loading-placeholder"
    if _LINK_ONLY.match(line):
        return "bare-link"
    # Table rows ("| a | b |") are content; separator-heavy lines otherwise are menus.
    if (
        not line.startswith("|")
        and len(_SEPARATORS.findall(line)) >= 3
        and not _SENTENCE_END.search(line)
    ):
        return "link-list"
    return None


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 12
        and len(line) <= 100
        and not _SENTENCE_END.search(line)
        and not line.endswith((",", ";", ":"))
        and line[0].isupper()
    )


def clean_text(
    title: str, body: str, *, source: str | None = None, memory: LineMemory | None = None
) -> tuple[str, list[Block], list[RemovedBlock]]:
    """Classify each line of a plain-text body as story or boilerplate and build the text.

    With a ``memory`` and a ``source``, lines the source has repeated across enough earlier
    articles are dropped too, and this article's edge lines are counted for the future.
    """
    title = normalize_text(title).replace("\n", " ").strip()
    lines = [line for line in normalize_text(body).split("\n") if line]
    learned: set[str] = set()
    if memory is not None and source:
        candidates = candidate_lines(lines)
        learned = memory.learned(source, candidates)
        memory.remember(source, candidates)
    removed: list[RemovedBlock] = []
    kept: list[str] = []
    for line in lines:
        key = line.casefold()
        reason = boilerplate_reason(line) or ("learned-boilerplate" if line in learned else None)
        # Only an echo of the title or of the line just kept counts as a repeat: pages
        # legitimately repeat lines further apart (schedules, recipes, summary boxes).
        if reason is None and key == title.casefold():
            reason = "title-repeated"
        elif reason is None and kept and key == kept[-1].casefold():
            reason = "repeated-line"
        if reason is not None:
            removed.append(RemovedBlock(text=line, reason=reason))
            continue
        kept.append(line)
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


def split_sentences(text: str, blocks: list[Block]) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``; no sentence crosses a block boundary."""
    spans: list[tuple[int, int]] = []
    for block in blocks:
        start = block.start
        for match in _SENTENCE_BREAK.finditer(block.text):
            cut = block.start + match.start()
            last_word = text[start:cut].rsplit(None, 1)[-1].rstrip(".").casefold()
            if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
                continue
            spans.append((start, cut))
            start = block.start + match.end()
        if start < block.end:
            spans.append((start, block.end))
    return spans


def clean_article(article: RawArticle, *, memory: LineMemory | None = None) -> CleanArticle:
    """The cleaning stage: plain text or an HTML page in, the story out."""
    metadata: dict[str, str] = {}
    published_at = article.published_at
    source = article.source
    if article.html is not None:
        from pipeline.extraction import extract_page  # trafilatura is costly to import

        page = extract_page(article.html, url=article.url)
        title = article.title or page.title or ""
        body = page.text
        metadata = page.metadata
        published_at = published_at or page.published_at
        source = source or page.site
    else:
        title, body = article.title or "", article.body or ""
    text, blocks, removed = clean_text(
        title, body, source=source_key(article, source), memory=memory
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
