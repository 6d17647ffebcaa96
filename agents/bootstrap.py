"""Assembles the pipeline from settings: the one place that decides which models run."""

from __future__ import annotations

from agents.settings import Settings
from pipeline.boilerplate import LineMemory
from pipeline.enrichment import Enricher
from pipeline.fingerprints import RecentFingerprints
from pipeline.language import load_language_identifier


def build_enricher(settings: Settings, *, memory: LineMemory | None = None) -> Enricher:
    """The enricher the worker and the offline commands use, models loaded once here.

    Without a ``memory`` (the worker passes one backed by a Faust table), per-source line
    counts are kept in this process only.
    """
    if memory is None:
        memory = LineMemory({}, threshold=settings.boilerplate_threshold)
    recent = (
        RecentFingerprints(window=settings.duplicate_window) if settings.duplicate_window else None
    )
    return Enricher(
        max_payload_bytes=settings.max_payload_bytes,
        languages=load_language_identifier(),
        recent=recent,
        memory=memory,
    )
