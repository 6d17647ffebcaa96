"""Connection security for every Kafka client: TLS and SASL options from the settings.

The Faust worker (aiokafka) and the command-line clients (kafka-python) take the same
STANCEWIRE_* settings, so one set of credentials works for both. The password stays a
``SecretStr`` until the moment a client is built, so it never reaches a log line.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import faust
from faust.types.auth import CredentialsT

from agents.settings import Settings

USES_TLS = ("SSL", "SASL_SSL")
USES_SASL = ("SASL_PLAINTEXT", "SASL_SSL")


class SecurityConfigError(ValueError):
    """The security settings are incomplete or contradictory; the message says what to set."""


def check(settings: Settings) -> None:
    """Raise ``SecurityConfigError`` when the settings cannot make a working connection."""
    protocol = settings.security_protocol
    if protocol in USES_SASL and not (
        settings.sasl_username and settings.sasl_password.get_secret_value()
    ):
        raise SecurityConfigError(
            f"STANCEWIRE_SECURITY_PROTOCOL={protocol} needs STANCEWIRE_SASL_USERNAME "
            "and STANCEWIRE_SASL_PASSWORD"
        )
    files = (settings.ssl_cafile, settings.ssl_certfile, settings.ssl_keyfile)
    if protocol not in USES_TLS and any(files):
        raise SecurityConfigError(
            f"STANCEWIRE_SSL_* files are set but STANCEWIRE_SECURITY_PROTOCOL={protocol} "
            "does not use TLS; use SSL or SASL_SSL"
        )
    if bool(settings.ssl_certfile) != bool(settings.ssl_keyfile):
        raise SecurityConfigError("set both STANCEWIRE_SSL_CERTFILE and STANCEWIRE_SSL_KEYFILE")
    for path in files:
        if path is not None and not path.is_file():
            raise SecurityConfigError(f"{path}: no such file (from a STANCEWIRE_SSL_* setting)")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying TLS context (system CAs unless ``ssl_cafile``), or None without TLS."""
    if settings.security_protocol not in USES_TLS:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
    if settings.ssl_certfile and settings.ssl_keyfile:
        context.load_cert_chain(str(settings.ssl_certfile), str(settings.ssl_keyfile))
    return context


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """``broker_credentials`` for ``faust.App``; None for a plaintext cluster."""
    check(settings)
    context = ssl_context(settings)
    if settings.security_protocol in USES_SASL:
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's producer, consumer and admin client."""
    check(settings)
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "security_protocol": settings.security_protocol,
        "bootstrap_timeout_ms": int(settings.connect_timeout_s * 1000),
    }
    if settings.security_protocol in USES_TLS:
        options["ssl_context"] = ssl_context(settings)
    if settings.security_protocol in USES_SASL:
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password.get_secret_value(),
        )
    return options


class LastConnectionProblem(logging.Handler):
    """Keeps the last warning kafka-python logged: the real cause behind "Unable to bootstrap".

    kafka-python retries a refused login or an untrusted certificate until its bootstrap
    timeout and then raises a generic timeout; the warning it logged says why.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed" not in message or "Unable to bootstrap" in message:
            return  # progress notes and the generic timeout say nothing of the cause
        # A refusal that names its cause wins over timeouts and dropped connections.
        if self.message is None or (_names_cause(message) and not _names_cause(self.message)):
            self.message = message[:500]

    @classmethod
    def watch(cls) -> LastConnectionProblem:
        """The handler attached to kafka-python's logger (created on first use)."""
        logger = logging.getLogger("kafka")
        for handler in logger.handlers:
            if isinstance(handler, cls):
                return handler
        handler = cls()
        logger.addHandler(handler)
        return handler


def _names_cause(message: str) -> bool:
    return any(word in message for word in ("Authentication", "CERTIFICATE", "SSL", "Sasl"))
