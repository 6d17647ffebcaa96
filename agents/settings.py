"""The one settings object, read from STANCEWIRE_* environment variables at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of stancewire; each field's env var is STANCEWIRE_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="STANCEWIRE_", frozen=True, extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated host:port"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how clients talk to Kafka: PLAINTEXT, SSL, SASL_SSL..."
    )
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism, with SASL_SSL or SASL_PLAINTEXT"
    )
    sasl_username: str = Field(default="", description="SASL user name")
    sasl_password: SecretStr = Field(
        default=SecretStr(""), description="SASL password (never logged or exposed)"
    )
    ssl_cafile: Path | None = Field(
        default=None, description="PEM file of the CAs that sign the brokers' certificates"
    )
    ssl_certfile: Path | None = Field(
        default=None, description="client certificate (PEM), for brokers that require one"
    )
    ssl_keyfile: Path | None = Field(default=None, description="the client certificate's key")
    connect_timeout_s: float = Field(
        default=30.0, gt=0, description="how long command-line clients try to reach Kafka"
    )
    app_id: str = Field(
        default="stancewire", description="Faust app id; also the consumer group id"
    )
    input_topic: str = Field(default="articles.raw", description="topic raw articles are read from")
    output_topic: str = Field(
        default="articles.enriched", description="topic enriched events go to"
    )
    dlq_topic: str = Field(default="articles.dlq", description="topic dead-letter records go to")
    partitions: int = Field(
        default=4, ge=1, description="partitions of each topic created at start-up"
    )
    replication_factor: int = Field(default=1, ge=1, description="replication of created topics")
    web_host: str = Field(
        default="127.0.0.1", description="address the worker's web server binds to"
    )
    web_port: int = Field(
        default=6066, ge=1, le=65535, description="worker web port (metrics, dashboard, health)"
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once",
        description="'exactly_once': results and input offsets commit in one transaction",
    )
    transactional_id: str = Field(
        default="",
        description="exactly-once producer id, one per worker (default: <app id>-<host name>)",
    )
    batch_size: int = Field(
        default=16, ge=1, description="most articles enriched in one micro-batch"
    )
    batch_window_s: float = Field(
        default=0.2, gt=0, description="longest wait, in seconds, to fill a micro-batch"
    )
    max_payload_bytes: int = Field(
        default=1_048_576, ge=1024, description="raw messages larger than this are dead-lettered"
    )
    max_message_bytes: int = Field(
        default=0,
        ge=0,
        description="largest record the worker publishes, key and value together (0: the "
        "smallest max.message.bytes of the enriched and dead-letter topics, read at start)",
    )
    breaker_failures: int = Field(
        default=32,
        ge=1,
        description="a model failing on this many articles in a row opens the breaker: the "
        "worker stops taking work and exits",
    )
    breaker_exit_delay_s: float = Field(
        default=15.0,
        ge=0,
        description="seconds an open breaker keeps /metrics up (so it is scraped) before exiting",
    )
    sightings_max_keys: int = Field(
        default=200_000,
        ge=100,
        description="most per-source line counts kept; the rarest, then oldest, go first",
    )
    model_max_chars: int = Field(
        default=20_000, ge=0, description="the models read this much of an article (0: all)"
    )
    boilerplate_threshold: int = Field(
        default=5, ge=2, description="articles of one source sharing a line make it boilerplate"
    )
    duplicate_window: int = Field(
        default=10_000, ge=0, description="recent articles checked for near-duplicates (0: off)"
    )
    entity_model: str = Field(
        default="shipped",
        description="'shipped', 'off', or a Hugging Face token-classification model name or path",
    )
    stance_model: str = Field(
        default="shipped",
        description="'shipped', 'off', or a Hugging Face model name or path (see stance_backend)",
    )
    stance_backend: str = Field(
        default="crossencoder",
        description="'crossencoder' (a stance model) or 'nli' (any NLI model, zero-shot)",
    )
    topics: str = Field(
        default="NATO enlargement;Russia-US summit;sanctions on Russia;military aid to Ukraine",
        description="watch-list of stance targets applied to every article, ';'-separated",
    )
    stance_max_evidence: int = Field(
        default=4, ge=0, description="most evidence sentences classified per target (0: all)"
    )
    top_k_entities: int = Field(
        default=4, ge=0, description="most salient entities added as stance targets per article"
    )
    target_entity_types: str = Field(
        default="PER,ORG,LOC",
        pattern=r"^\s*(PER|ORG|LOC|MISC)\s*(,\s*(PER|ORG|LOC|MISC)\s*)*$",
        description="entity types that can be stance targets, comma-separated (add MISC for "
        "nationalities, events and other names)",
    )
    model_precision: Literal["auto", "bf16", "int8", "fp32"] = Field(
        default="auto",
        description="model arithmetic: 'auto' (bf16 where the CPU or GPU computes in bf16 "
        "natively, else fp32), 'bf16', 'int8' (quantised linear layers, CPU) or 'fp32'",
    )
    model_device: str = Field(
        default="cpu",
        pattern=r"^(cpu|cuda(:[0-9]+)?)$",
        description="where the models run: 'cpu', 'cuda' or 'cuda:N' (int8 is CPU only)",
    )
    model_attention: Literal["blocked", "fused"] = Field(
        default="blocked",
        description="bf16 attention on the CPU: 'blocked' (batched products, a few sequences "
        "at a time; faster here) or 'fused' (PyTorch's kernel)",
    )
    torch_threads: int = Field(
        default=0, ge=0, description="threads for model inference (0: one per core)"
    )
    metrics_enabled: bool = Field(
        default=True, description="serve Prometheus metrics and the dashboard"
    )
    data_dir: Path = Field(
        default=Path(".stancewire"), description="where the worker keeps its local state (tables)"
    )
    log_level: str = Field(
        default="info", description="worker log level: debug, info, warning, error"
    )

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        return None if value == "" else value
