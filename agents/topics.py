"""Creates the input, output and dead-letter topics when they are missing."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from agents.replay import replays_topic
from agents.security import client_options
from agents.settings import Settings
from agents.sightings import sightings_topic


def ensure_topics(settings: Settings) -> list[str]:
    """Create whichever topic does not exist yet; return the names created.

    The input, output and dead-letter topics, plus the compacted topics of the app's
    per-source line counts and of the dead letters it replayed.
    """
    admin = KafkaAdminClient(**client_options(settings), client_id="stancewire-admin")
    try:
        existing = set(admin.list_topics())
        # Small segments and a low dirty ratio, so compaction runs on a modest topic too
        # (a record in the active segment is never compacted; the default one is 1 GiB).
        compacted = {
            "cleanup.policy": "compact",
            "segment.bytes": str(8 * 1024 * 1024),
            "segment.ms": str(3_600_000),
            "min.cleanable.dirty.ratio": "0.2",
        }
        wanted = {
            settings.input_topic: {},
            settings.output_topic: {},
            settings.dlq_topic: {},
            sightings_topic(settings): compacted,
            replays_topic(settings): compacted,
        }
        missing = [name for name in wanted if name not in existing]
        if missing:
            admin.create_topics(
                [
                    NewTopic(
                        name,
                        settings.partitions,
                        settings.replication_factor,
                        topic_configs=wanted[name],
                    )
                    for name in missing
                ],
                wait_for_metadata=True,
            )
        return missing
    finally:
        admin.close()
