"""Creates the input, output and dead-letter topics when they are missing."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from agents.security import client_options
from agents.settings import Settings
from agents.sightings import sightings_topic


def ensure_topics(settings: Settings) -> list[str]:
    """Create whichever topic does not exist yet; return the names created.

    The input, output and dead-letter topics, plus the compacted topic of the app's
    per-source line counts.
    """
    admin = KafkaAdminClient(**client_options(settings), client_id="stancewire-admin")
    try:
        existing = set(admin.list_topics())
        compacted = {"cleanup.policy": "compact"}
        wanted = {
            settings.input_topic: {},
            settings.output_topic: {},
            settings.dlq_topic: {},
            sightings_topic(settings): compacted,
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
