"""Size limits are checked against each other and the broker's at start, with a clear error."""

from __future__ import annotations

import pytest

from agents.limits import LimitsError, output_limit
from agents.settings import Settings

TOPICS = {"articles.enriched": 16 * 1024 * 1024, "articles.dlq": 1_048_588}


def test_zero_takes_the_smallest_topic_limit() -> None:
    assert output_limit(Settings(max_payload_bytes=500_000), TOPICS) == 1_048_588


def test_a_setting_over_a_topics_limit_is_refused_naming_the_topic() -> None:
    with pytest.raises(LimitsError, match=r"max.message.bytes=1048588 of topic articles.dlq"):
        output_limit(Settings(max_message_bytes=4_000_000), TOPICS)


def test_a_payload_limit_over_the_output_limit_is_refused() -> None:
    with pytest.raises(LimitsError, match="STANCEWIRE_MAX_PAYLOAD_BYTES=2000000"):
        output_limit(Settings(max_payload_bytes=2_000_000), TOPICS)
