"""Pydantic records for the input article, the enriched event and the dead-letter record."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Each record's current version. The enriched event is at 2 (stances carry their holders'
# views); the input article and the dead-letter record are still at 1.
SCHEMA_VERSIONS = {"article": 1, "enriched": 2, "deadletter": 1}


def _aware(value: datetime) -> datetime:
    """Read a naive timestamp as UTC so every published timestamp carries its zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


# Characters that take no space on screen: zero-width spaces and joiners, direction marks,
# the word joiner, variation selectors, the byte-order mark, the soft hyphen. A title made
# of nothing else is empty to a reader; VISIBLE matches any other character.
INVISIBLE = r"\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
VISIBLE = rf"[^\s{INVISIBLE}]"


class RawArticle(_Record):
    """An article as users produce it to the input topic.

    Either ``body`` (plain text, with ``title``) or ``html`` (a whole page) carries the story.
    """

    # The JSON Schema twin of the ``_has_story`` check below.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["title", "body"],
                    "properties": {
                        "title": {"type": "string", "pattern": VISIBLE},
                        "body": {"type": "string"},
                    },
                },
                {"required": ["html"], "properties": {"html": {"type": "string"}}},
            ]
        }
    )

    schema_version: Literal[1] = 1
    id: str | None = Field(default=None, min_length=1, max_length=256)
    title: str | None = Field(default=None, max_length=2_000)
    body: str | None = None
    html: str | None = None
    url: str | None = Field(default=None, max_length=4_096, pattern=r"^https?://\S+$")
    source: str | None = Field(default=None, min_length=1, max_length=256)
    published_at: AwareDatetime | None = None
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

    @model_validator(mode="after")
    def _has_story(self) -> RawArticle:
        if self.body is None and self.html is None:
            raise ValueError("the article needs a 'body' (plain text) or an 'html' page")
        if self.body is not None and self.html is not None:
            raise ValueError("give either 'body' or 'html', not both")
        if self.body is not None and not (self.title and re.search(VISIBLE, self.title)):
            raise ValueError(
                "a plain-text article needs a non-empty 'title' "
                "(spaces and zero-width characters alone do not count)"
            )
        return self


class BlockType(StrEnum):
    TITLE = "title"
    STANDFIRST = "standfirst"
    HEADING = "heading"
    PARAGRAPH = "paragraph"


class Block(_Record):
    """A kept piece of the story; ``start``/``end`` are character offsets into ``text``."""

    type: BlockType
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class RemovedBlock(_Record):
    """A piece of the raw input the cleaner dropped, with the rule that dropped it."""

    text: str
    reason: str


class EntityType(StrEnum):
    PER = "PER"
    ORG = "ORG"
    LOC = "LOC"
    MISC = "MISC"


class Mention(_Record):
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(ge=0.0, le=1.0)


class Entity(_Record):
    """One real-world entity of the article with all its mentions."""

    name: str
    type: EntityType
    count: int = Field(ge=1)
    salience: float = Field(ge=0.0, le=1.0)
    mentions: list[Mention]


class StanceLabel(StrEnum):
    FAVOR = "favor"
    AGAINST = "against"
    NEUTRAL = "neutral"


class TargetKind(StrEnum):
    TOPIC = "topic"
    ENTITY = "entity"


class Evidence(_Record):
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: StanceLabel
    score: float = Field(ge=0.0, le=1.0)
    holder: str | None = None


class View(_Record):
    """One holder's stance toward a target: a person or organisation the article reports
    holding it, or the article's own voice (``holder`` null)."""

    holder: str | None = Field(
        description="canonical name of the entity holding the view; null: the article itself"
    )
    label: StanceLabel
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[int] = Field(
        description="indexes into the stance's evidence: the sentences carrying this view"
    )


class Stance(_Record):
    """Where the article stands toward one target, with the sentences that say so and the
    view of each holder; the label aggregates the views, each holder counting once."""

    target: str
    target_kind: TargetKind
    label: StanceLabel
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence]
    views: list[View] = Field(
        description="one entry per holder with evidence, in order of first evidence"
    )


class Stage(StrEnum):
    DECODE = "decode"
    VALIDATE = "validate"
    CLEAN = "clean"
    ENTITIES = "entities"
    STANCE = "stance"
    PUBLISH = "publish"


class Processing(_Record):
    """How the event was made: versions, the stages that ran and what each cost."""

    pipeline_version: str
    models: dict[str, str]
    stages: list[Stage]
    notes: list[str] = Field(
        description="what a stage could not do for this article and why (e.g. language)"
    )
    timings_ms: dict[str, float]
    received_at: AwareDatetime
    enriched_at: AwareDatetime
    source_topic: str | None = None
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)


class EnrichedEvent(_Record):
    """What stancewire publishes for each article it could process (version 2; version 1
    had no ``views`` in its stances)."""

    schema_version: Literal[2] = 2
    id: str
    url: str | None
    source: str | None
    author: str | None = Field(description="byline, when the article or its page gives one")
    title: str
    published_at: AwareDatetime | None
    language: str | None = Field(
        description="ISO 639-1 code: detected from the text, else as the article declared it"
    )
    language_confidence: float | None = Field(ge=0.0, le=1.0)
    duplicate_of: str | None = Field(
        description="id of an earlier article this one nearly duplicates (SimHash)"
    )
    text: str
    blocks: list[Block]
    sentences: list[list[int]] = Field(
        description="[start, end) character offsets of each sentence of text"
    )
    removed: list[RemovedBlock]
    entities: list[Entity]
    stances: list[Stance]
    processing: Processing


class DeadLetter(_Record):
    """A message that could not be enriched, with why and the raw bytes to replay it."""

    schema_version: Literal[1] = 1
    stage: Stage
    error_type: str
    message: str
    topic: str | None
    partition: int | None = Field(ge=0)
    offset: int | None = Field(ge=0)
    key: str | None
    article_id: str | None
    payload_base64: str = Field(
        description="the raw payload in base64; only a prefix of it when payload_truncated"
    )
    payload_size: int = Field(ge=0, description="bytes of the whole raw payload")
    payload_sha256: str = Field(
        pattern="^[0-9a-f]{64}$", description="sha256 of the whole raw payload, hex"
    )
    payload_truncated: bool = Field(
        default=False,
        description="true when the payload was too large to carry whole: payload_base64 then "
        "holds its first bytes, and payload_size and payload_sha256 describe all of it",
    )
    failed_at: AwareDatetime
    pipeline_version: str


def encode(record: BaseModel) -> bytes:
    """The wire form of a record: compact JSON by orjson, timestamps in RFC 3339."""
    return orjson.dumps(record.model_dump(mode="python"))
