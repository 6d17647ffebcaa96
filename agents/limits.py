"""Checks the worker's size limits against each other and against the broker's, at start-up.

A limit that disagrees with the broker shows up only when a large article arrives: a
record the broker refuses would stop the stream there. So the worker reads the output
topics' ``max.message.bytes`` before it joins the group. It publishes nothing larger than
that, and it refuses to start when the settings ask for more than the broker allows.
"""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from agents.security import client_options
from agents.settings import Settings

# Kafka's default max.message.bytes (1 MiB plus the batch header), used when a topic
# reports none.
KAFKA_DEFAULT_MESSAGE_BYTES = 1_048_588
# The worker never sends a request larger than this, whatever the topics allow.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


class LimitsError(Exception):
    """The size settings contradict each other or the broker; the message says how to fix it."""


def topic_message_limits(settings: Settings) -> dict[str, int]:
    """``max.message.bytes`` of the enriched and dead-letter topics, as the broker has them."""
    admin = KafkaAdminClient(**client_options(settings), client_id="stancewire-limits")
    try:
        wanted = [settings.output_topic, settings.dlq_topic]
        answer = admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name, configs={"max.message.bytes": None})
                for name in wanted
            ],
            config_filter="all",
        )
    finally:
        admin.close()
    limits = {}
    for name in wanted:
        entry = answer.get("topic", {}).get(name, {}).get("max.message.bytes", {})
        limits[name] = int(entry.get("value") or KAFKA_DEFAULT_MESSAGE_BYTES)
    return limits


def output_limit(settings: Settings, topic_limits: dict[str, int]) -> int:
    """The largest record the worker may publish, checked against the payload limit.

    ``STANCEWIRE_MAX_MESSAGE_BYTES`` 0 takes the smallest topic limit. An explicit value
    over a topic's limit, or a payload limit over the output limit, is an error: the
    broker would refuse records that the worker allows, or articles accepted for
    enrichment could never be published whole.
    """
    smallest_topic, smallest = min(topic_limits.items(), key=lambda item: item[1])
    limit = settings.max_message_bytes or min(smallest, MAX_REQUEST_BYTES)
    if limit > smallest:
        raise LimitsError(
            f"STANCEWIRE_MAX_MESSAGE_BYTES={limit} is larger than max.message.bytes={smallest} "
            f"of topic {smallest_topic}: the broker would refuse such records. Lower the "
            "setting (0 takes the topic's limit) or raise the topic's max.message.bytes."
        )
    if limit > MAX_REQUEST_BYTES:
        raise LimitsError(
            f"STANCEWIRE_MAX_MESSAGE_BYTES={limit} is over the worker's request limit "
            f"of {MAX_REQUEST_BYTES} bytes"
        )
    if settings.max_payload_bytes > limit:
        raise LimitsError(
            f"STANCEWIRE_MAX_PAYLOAD_BYTES={settings.max_payload_bytes} is larger than the "
            f"output limit of {limit} bytes (the smallest max.message.bytes of "
            f"{', '.join(sorted(topic_limits))}, or STANCEWIRE_MAX_MESSAGE_BYTES): an article "
            "that large could be enriched but never published. Lower the payload limit or "
            "raise the topics' max.message.bytes."
        )
    return limit
