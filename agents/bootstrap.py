"""Assembles the pipeline from settings: the one place that decides which models run."""

from __future__ import annotations

from agents.settings import Settings
from pipeline.enrichment import Enricher


def build_enricher(settings: Settings) -> Enricher:
    """The enricher the worker and ``stancewire enrich`` use, models loaded once here."""
    return Enricher(max_payload_bytes=settings.max_payload_bytes)
