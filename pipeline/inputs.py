"""Reads article files (.json, .jsonl, .txt, .html) into the JSON objects users produce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

SUFFIXES = (".json", ".jsonl", ".txt", ".html", ".htm")


class InputError(Exception):
    """A file could not be read as articles; the message names the file and the problem."""


def iter_paths(paths: list[Path]) -> Iterator[Path]:
    """The article files named, with folders expanded recursively in sorted order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        elif path.exists():
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")


def read_articles(path: Path) -> Iterator[dict[str, Any]]:
    """The articles in one file, as JSON objects ready to produce."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix == ".json":
        document = _loads(data, path)
        yield from document if isinstance(document, list) else [document]
    elif suffix == ".jsonl":
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                yield _loads(line, path, number)
    elif suffix in (".html", ".htm"):
        yield {"html": data.decode("utf-8", "replace")}
    else:
        yield article_from_text(data.decode("utf-8", "replace"))


def read_unnamed(data: bytes) -> list[Any]:
    """Articles from bytes of no known format (standard input): one JSON document (an object
    or a list of them), else JSON lines, else one plain-text article. What is not an object
    is kept as it is, for the worker to dead-letter with its reason."""
    try:
        document = orjson.loads(data)
        return document if isinstance(document, list) else [document]
    except orjson.JSONDecodeError:
        pass
    try:
        return [orjson.loads(line) for line in data.splitlines() if line.strip()]
    except orjson.JSONDecodeError:
        return [article_from_text(data.decode("utf-8", "replace"))]


def article_from_text(text: str, *, source: str | None = None) -> dict[str, Any]:
    """A plain-text article: the first non-empty line is the title, the rest is the body."""
    title, _, body = text.strip().partition("\n")
    article: dict[str, Any] = {"title": title.strip(), "body": body.strip()}
    if source:
        article["source"] = source
    return article


def _loads(data: bytes, path: Path, line: int | None = None) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        where = f"{path}:{line}" if line else str(path)
        raise InputError(f"{where}: not valid JSON ({exc})") from exc
