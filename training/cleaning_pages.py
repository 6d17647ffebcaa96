"""Real pages as a crawler copies them: the ScrapingHub pages rendered to lines, each labelled.

A crawler that copies a page's text gets every visible block on its own line: menus,
breadcrumbs, bylines, captions, share bars and footers around the story. ``render_page``
writes that text from the HTML (scripts, styles and hidden parts dropped, the headline
first), and ``label_lines`` says which lines belong to the page's ground-truth body.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from lxml import etree
from lxml import html as lxml_html

from pipeline.cleaning import normalize_text

# Elements whose text a reader never sees on the page.
_INVISIBLE = frozenset(
    "script style noscript template svg iframe object embed canvas head select option "
    "button input textarea map audio video source track meta link".split()
)
# Elements that start a new line in the rendered text.
_BLOCKS = frozenset(
    "address article aside blockquote body br caption dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section "
    "summary table tbody td tfoot th thead tr ul label legend".split()
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")
_TOKEN = re.compile(r"\w+")
_SHINGLE = 4


@dataclass(frozen=True)
class LabelledPage:
    """One benchmark page: its id, url, html, ground-truth body and rendered, labelled lines."""

    item_id: str
    url: str
    host: str
    html: str
    body: str
    lines: list[str]
    labels: list[bool]  # True: the line belongs to the ground-truth body


def _hidden(element: etree._Element) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    return bool(_HIDDEN_STYLE.search(element.get("style") or ""))


def render_page(page_html: str) -> list[str]:
    """The page's visible text, one block per line, with the headline as the first line."""
    try:
        root = lxml_html.document_fromstring(page_html)
    except (etree.ParserError, ValueError):
        return []
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = normalize_text(" ".join(current)).replace("\n", " ").strip()
        if text:
            lines.append(text)
        current.clear()

    def walk(element: etree._Element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag and (tag.lower() in _INVISIBLE or _hidden(element)):
            if element.tail:
                current.append(element.tail)
            return
        block = tag.lower() in _BLOCKS
        if block:
            flush()
        if tag and element.text:
            current.append(element.text)
        for child in element:
            walk(child)
        if block:
            flush()
        if element.tail:
            current.append(element.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    headline = page_headline(root)
    return ([headline] if headline else []) + lines


def page_headline(root: etree._Element) -> str:
    """The story's headline: the page's first h1, else its og:title, else its <title>."""
    for h1 in root.iter("h1"):
        text = normalize_text(h1.text_content()).replace("\n", " ").strip()
        if len(text.split()) >= 3:
            return text
    for meta in root.iter("meta"):
        if meta.get("property") == "og:title" and (meta.get("content") or "").strip():
            return normalize_text(meta.get("content") or "").strip()
    title = root.find(".//title")
    return normalize_text(title.text_content()).strip() if title is not None else ""


def label_lines(lines: list[str], body: str) -> list[bool]:
    """Which lines belong to ``body``: most of their words lie in shingles of the body.

    A line of fewer than four words belongs when its words occur, in order and as one run,
    on a line of the body by themselves (a heading), so a lone "Share" or "World" that
    happens to occur inside a body sentence still counts as furniture.
    """
    body_tokens = _TOKEN.findall(body.casefold())
    shingles = {
        tuple(body_tokens[i : i + _SHINGLE]) for i in range(len(body_tokens) - _SHINGLE + 1)
    }
    short_lines = {
        tuple(_TOKEN.findall(line.casefold())) for line in normalize_text(body).split("\n")
    }
    labels = []
    for line in lines:
        tokens = _TOKEN.findall(line.casefold())
        if not tokens:
            labels.append(False)
        elif len(tokens) < _SHINGLE:
            labels.append(tuple(tokens) in short_lines)
        else:
            covered = [False] * len(tokens)
            for i in range(len(tokens) - _SHINGLE + 1):
                if tuple(tokens[i : i + _SHINGLE]) in shingles:
                    covered[i : i + _SHINGLE] = [True] * _SHINGLE
            labels.append(sum(covered) >= 0.5 * len(tokens))
    return labels


def read_pages(data_dir: Path) -> Iterator[LabelledPage]:
    """The pages of a folder in the ScrapingHub benchmark layout, rendered and labelled."""
    truth_path = data_dir / "ground-truth.json"
    if not truth_path.exists():
        raise FileNotFoundError(f"{data_dir} has no ground-truth.json (ScrapingHub layout)")
    truth = orjson.loads(truth_path.read_bytes())
    for item_id, expected in sorted(truth.items()):
        page = gzip.decompress((data_dir / "html" / f"{item_id}.html.gz").read_bytes())
        page_html = page.decode("utf-8", "replace")
        body = expected.get("articleBody", "") or ""
        url = expected.get("url", "") or ""
        lines = render_page(page_html)
        yield LabelledPage(
            item_id=item_id,
            url=url,
            host=(urlsplit(url).hostname or item_id).removeprefix("www."),
            html=page_html,
            body=body,
            lines=lines,
            labels=label_lines(lines, body),
        )
