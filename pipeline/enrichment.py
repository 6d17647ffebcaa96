"""Enriches a micro-batch of raw Kafka messages: decode, clean, tag entities, classify stance.

Every message of the batch comes back as exactly one record, an ``EnrichedEvent`` or a
``DeadLetter``, in input order: nothing is dropped, and one bad article never sinks the batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from pipeline import __version__
from pipeline.breaker import ModelBreaker
from pipeline.cleaning import CleanArticle, clean_article
from pipeline.cleaning.fingerprints import RecentFingerprints, simhash
from pipeline.cleaning.language import LanguageGuess, LanguageIdentifier
from pipeline.cleaning.memory import LineMemory
from pipeline.decoding import article_id, decode_article
from pipeline.errors import PipelineError, StageFailed
from pipeline.outputs import dead_letter
from schemas import DeadLetter, EnrichedEvent, Entity, Processing, RawArticle, Stage, Stance

__all__ = ["Enricher", "Received", "dead_letter"]


@dataclass(frozen=True)
class Received:
    """One consumed message and where it came from."""

    payload: bytes
    key: bytes | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EntityStage(Protocol):
    """What the pipeline needs of an entity tagger (see ``pipeline.entities``)."""

    model_name: str
    languages: frozenset[str] | None  # ISO 639-1 codes it was trained for; None: any
    last_batch_tokens: int  # tokens the last call ran through the model, for metrics

    def tag(self, articles: Sequence[CleanArticle]) -> list[list[Entity]]: ...


class StanceStage(Protocol):
    """What the pipeline needs of a stance classifier (see ``pipeline.stance``)."""

    model_name: str
    languages: frozenset[str] | None
    last_batch_tokens: int

    def classify(
        self, articles: Sequence[CleanArticle], entities: Sequence[Sequence[Entity]]
    ) -> list[list[Stance]]: ...


@dataclass
class _Work:
    received: Received
    started: float
    article: RawArticle | None = None
    article_id: str | None = None
    clean: CleanArticle | None = None
    entities: list[Entity] = field(default_factory=list)
    stances: list[Stance] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: PipelineError | None = None
    language: LanguageGuess | None = None
    duplicate_of: str | None = None
    notes: list[str] = field(default_factory=list)
    model_view: CleanArticle | None = None  # what the models read: the text up to a limit


T = TypeVar("T")


class Enricher:
    """The whole processing of a batch, built once with its models and limits."""

    def __init__(
        self,
        *,
        max_payload_bytes: int,
        model_max_chars: int | None = 20_000,
        languages: LanguageIdentifier | None = None,
        recent: RecentFingerprints | None = None,
        memory: LineMemory | None = None,
        entities: EntityStage | None = None,
        stance: StanceStage | None = None,
        max_record_bytes: int | None = None,
        breaker: ModelBreaker | None = None,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        # Dead letters are cut to fit this (the output topics' limit); None: no limit.
        self.max_record_bytes = max_record_bytes
        # Counts articles a model failed on in a row; opens when a model fails on everything.
        self.breaker = breaker or ModelBreaker()
        self.model_max_chars = model_max_chars
        self.languages = languages
        self.recent = recent
        self.memory = memory
        self.entities = entities
        self.stance = stance
        # Told (model name, articles, wall seconds, process CPU seconds, tokens) after each
        # batched model call.
        self.on_model_batch: Callable[[str, int, float, float, int], None] | None = None

    @property
    def stages(self) -> list[Stage]:
        stages = [Stage.DECODE, Stage.VALIDATE, Stage.CLEAN]
        stages += [Stage.ENTITIES] if self.entities else []
        stages += [Stage.STANCE] if self.stance else []
        return stages

    @property
    def models(self) -> dict[str, str]:
        models = {"entities": self.entities.model_name} if self.entities else {}
        return models | ({"stance": self.stance.model_name} if self.stance else {})

    def enrich_batch(self, batch: Sequence[Received]) -> list[EnrichedEvent | DeadLetter]:
        work = [_Work(received=item, started=time.perf_counter()) for item in batch]
        for item in work:
            self._prepare(item)
        entity_stage, stance_stage = self.entities, self.stance
        if entity_stage is not None:
            self._run_batched(
                Stage.ENTITIES,
                entity_stage,
                work,
                lambda items: entity_stage.tag([_model_view(w) for w in items]),
                lambda item, found: setattr(item, "entities", found),
            )
        if stance_stage is not None:
            self._run_batched(
                Stage.STANCE,
                stance_stage,
                work,
                lambda items: stance_stage.classify(
                    [_model_view(w) for w in items], [w.entities for w in items]
                ),
                lambda item, found: setattr(item, "stances", found),
            )
        return [self._finish(item) for item in work]

    def _prepare(self, item: _Work) -> None:
        """Decode, validate and clean one message; failures stay on the work item.

        An unforeseen exception is dead-lettered under the stage it happened in. Language
        identification and near-duplicate search only add facts about a clean article, so
        when they fail the article goes on without them and a note says why.
        """
        stage = Stage.DECODE
        try:
            with _timed(item, "validate"):  # decoding bytes and validating the schema
                item.article = decode_article(
                    item.received.payload, max_bytes=self.max_payload_bytes
                )
                identity = item.article_id = article_id(item.article)
            stage = Stage.CLEAN
            with _timed(item, "clean"):
                item.clean = clean_article(item.article, memory=self.memory)
                item.model_view = self._limit(item.clean, item.notes)
                self._describe(item, identity)
        except PipelineError as exc:
            item.error = exc
        except Exception as exc:  # an unforeseen bug must not stop the worker
            item.error = StageFailed(stage, exc)

    def _describe(self, item: _Work, identity: str) -> None:
        """The clean article's language and the earlier article it nearly duplicates."""
        assert item.clean is not None
        if self.languages is not None:
            try:
                item.language = self.languages.identify(item.clean.text)
            except Exception as exc:
                item.notes.append(f"language: not identified ({type(exc).__name__}: {exc})")
        if self.recent is not None:
            try:
                fingerprint = simhash(item.clean.text)
                item.duplicate_of = self.recent.find(fingerprint, exclude=identity)
                self.recent.add(identity, fingerprint)
            except Exception as exc:
                item.notes.append(f"duplicates: not checked ({type(exc).__name__}: {exc})")

    def _limit(self, clean: CleanArticle, notes: list[str]) -> CleanArticle:
        """The article as the models read it: whole sentences up to ``model_max_chars``.

        Model cost grows with length, so one huge article could hold a batch for minutes;
        past the limit the models read a prefix, the event keeps the whole text, and a
        note says how much was read.
        """
        limit = self.model_max_chars
        if limit is None or len(clean.text) <= limit:
            return clean
        sentences = [span for span in clean.sentences if span[1] <= limit]
        cut = sentences[-1][1] if sentences else limit
        notes.append(f"models: read the first {cut} of {len(clean.text)} characters")
        return replace(
            clean,
            text=clean.text[:cut],
            sentences=sentences or [(0, cut)],
            blocks=[block for block in clean.blocks if block.end <= cut],
        )

    def _run_batched(
        self,
        stage: Stage,
        model: EntityStage | StanceStage,
        work: list[_Work],
        run: Callable[[list[_Work]], list[T]],
        store: Callable[[_Work, T], None],
    ) -> None:
        """Run a model stage on all healthy items at once; if that fails, isolate the culprit.

        Articles in a language the model does not cover skip it, with a note saying so.
        """
        healthy = []
        for item in work:
            if item.error is not None:
                continue
            language = item.language.code if item.language else None
            covers = model.languages
            if language is not None and covers is not None and language not in covers:
                covered = ", ".join(sorted(covers))
                item.notes.append(
                    f"{stage.value}: skipped, the model covers {covered} and the article is "
                    f"in '{language}'"
                )
                continue
            healthy.append(item)
        if not healthy:
            return
        started, clock = time.perf_counter(), StageClock()
        try:
            results = run(healthy)
        except Exception:
            # Retry one by one so a single poisonous article is dead-lettered alone.
            for item in healthy:
                try:
                    with _timed(item, stage.value):
                        store(item, run([item])[0])
                    self.breaker.succeeded(stage)
                except Exception as exc:
                    item.error = StageFailed(stage, exc)
                    self.breaker.failed(stage, item.error)
            return
        self.breaker.succeeded(stage, len(healthy))
        elapsed = time.perf_counter() - started
        if self.on_model_batch is not None:
            cpu = clock.seconds()
            self.on_model_batch(
                model.model_name, len(healthy), elapsed, cpu, model.last_batch_tokens
            )
        share_ms = elapsed * 1000 / len(healthy)
        for item, result in zip(healthy, results, strict=True):
            store(item, result)
            item.timings_ms[stage.value] = round(share_ms, 3)

    def _finish(self, item: _Work) -> EnrichedEvent | DeadLetter:
        if item.error is not None:
            claimed = item.article_id or item.error.article_id
            return dead_letter(
                item.received, item.error, article_id=claimed, max_bytes=self.max_record_bytes
            )
        article, clean = item.article, _clean(item)
        assert article is not None and item.article_id is not None
        item.timings_ms["total"] = round((time.perf_counter() - item.started) * 1000, 3)
        return EnrichedEvent(
            id=item.article_id,
            url=article.url,
            source=clean.source,
            author=clean.metadata.get("author"),
            title=clean.title,
            published_at=clean.published_at,
            language=item.language.code if item.language else article.language,
            language_confidence=item.language.confidence if item.language else None,
            duplicate_of=item.duplicate_of,
            text=clean.text,
            blocks=clean.blocks,
            sentences=[[start, end] for start, end in clean.sentences],
            removed=clean.removed,
            entities=item.entities,
            stances=item.stances,
            processing=Processing(
                pipeline_version=__version__,
                models=self.models,
                stages=self.stages,
                notes=item.notes,
                timings_ms=item.timings_ms,
                received_at=item.received.received_at,
                enriched_at=datetime.now(UTC),
                source_topic=item.received.topic,
                partition=item.received.partition,
                offset=item.received.offset,
            ),
        )


class StageClock:
    """CPU seconds spent since it was made by the calling thread and by native threads.

    That is the process's CPU time less that of its other Python threads: a model stage's
    time includes the threads torch computes on, not whatever else the process's Python
    threads (a worker's event loop, say) do meanwhile. Per-thread times come from Linux's
    ``/proc/self/task/*/schedstat`` (nanoseconds); elsewhere the clock counts the whole
    process. A thread that ends before ``seconds`` is read leaves its time counted.
    """

    def __init__(self) -> None:
        self._process = time.process_time()
        self._others = _other_threads_cpu()

    def seconds(self) -> float:
        others = _other_threads_cpu()
        elsewhere = sum(spent - self._others.get(tid, 0.0) for tid, spent in others.items())
        return time.process_time() - self._process - elsewhere


def _other_threads_cpu() -> dict[int, float]:
    """CPU seconds of each of this process's other live Python threads, by native id."""
    current = threading.get_native_id()
    spent = {}
    for thread in threading.enumerate():
        native = thread.native_id
        if native is None or native == current:
            continue
        try:
            with open(f"/proc/self/task/{native}/schedstat", "rb") as stats:
                spent[native] = int(stats.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):  # ended, or no such file on this system
            continue
    return spent


def _model_view(item: _Work) -> CleanArticle:
    assert item.model_view is not None
    return item.model_view


def _clean(item: _Work) -> CleanArticle:
    assert item.clean is not None
    return item.clean


class _timed:
    """Adds the wall time of a ``with`` block to a work item's timings."""

    def __init__(self, item: _Work, name: str) -> None:
        self.item, self.name = item, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = (time.perf_counter() - self.started) * 1000
        self.item.timings_ms[self.name] = round(elapsed, 3)
