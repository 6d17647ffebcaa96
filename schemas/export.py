"""Writes the JSON Schema files in ``schemas/json`` from the Python records.

Run ``python -m schemas.export`` after changing a record; a test fails while the files
and the records disagree. A record's earlier versions keep their files (``enriched.v1.json``),
unchanged, for consumers still reading them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from schemas.records import SCHEMA_VERSIONS, DeadLetter, EnrichedEvent, RawArticle

SCHEMA_DIR = Path(__file__).parent / "json"

RECORDS: dict[str, type[BaseModel]] = {
    "article": RawArticle,
    "enriched": EnrichedEvent,
    "deadletter": DeadLetter,
}


def schema_path(name: str) -> Path:
    """The file of a record's current version; older versions' files stay beside it."""
    return SCHEMA_DIR / f"{name}.v{SCHEMA_VERSIONS[name]}.json"


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema document of one record, with its stable ``$id``."""
    schema = RECORDS[name].model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://stancewire.dev/schemas/{name}.v{SCHEMA_VERSIONS[name]}.json",
        **schema,
    }


def render(name: str) -> bytes:
    return (
        orjson.dumps(json_schema(name), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in RECORDS:
        schema_path(name).write_bytes(render(name))
        print(schema_path(name))


if __name__ == "__main__":
    main()
