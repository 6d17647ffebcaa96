"""Main-content extraction from HTML pages with trafilatura, without network or entity expansion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import trafilatura
from trafilatura.settings import Document


@dataclass(frozen=True)
class Page:
    title: str | None
    text: str
    published_at: datetime | None
    site: str | None
    metadata: dict[str, str] = field(default_factory=dict)


def extract_page(page_html: str, *, url: str | None = None) -> Page:
    """The main text and metadata of a page; text is one block per line.

    trafilatura parses with lxml's HTML parser, which neither resolves external entities nor
    fetches anything, so a hostile page can cost CPU (bounded by the payload limit) but not I/O.
    """
    # Without as_dict=True, bare_extraction returns a Document (its type says "or a dict").
    found = trafilatura.bare_extraction(
        page_html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=False,
    )
    if found is None:
        return Page(title=None, text="", published_at=None, site=None)
    document = cast(Document, found)
    metadata = {
        name: str(value)
        for name in ("author", "sitename", "date", "hostname")
        if (value := getattr(document, name, None))
    }
    return Page(
        title=document.title,
        text=document.text or "",
        published_at=_parse_date(document.date),
        site=document.sitename or document.hostname,
        metadata=metadata,
    )


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
