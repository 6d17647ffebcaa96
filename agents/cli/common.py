"""What every ``stancewire`` command shares: the command group, the settings, and the
errors for bad configuration and an unreachable broker."""

from __future__ import annotations

import os
from typing import Any

import click
import orjson
from pydantic import ValidationError

from agents.settings import Settings

JSON_PRETTY = orjson.OPT_INDENT_2
# OpenMP threads that spin while idle starve the broker and the event loop on a small shared
# machine (15x slower inference measured here); passive waiting costs little when idle.
# It must be set before torch loads the OpenMP runtime, hence here at import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@click.group()
@click.version_option(package_name="stancewire")
@click.option(
    "--verbose",
    is_flag=True,
    help="show the libraries' own model load reports and progress bars",
)
def main(verbose: bool) -> None:
    """stancewire: news articles in on Kafka, entities and stance out."""
    if verbose:
        from agents.bootstrap import VERBOSE_VARIABLE

        os.environ[VERBOSE_VARIABLE] = "1"  # the worker processes a command starts inherit it


def load_settings() -> Settings:
    """The settings from the environment, or a clear error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"STANCEWIRE_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise click.ClickException(f"invalid configuration: {problems}") from exc


def checked_client_options(settings: Settings) -> dict[str, Any]:
    """kafka-python options from the settings, or a clear error naming what is missing."""
    from agents.security import LastConnectionProblem, SecurityConfigError, client_options

    LastConnectionProblem.watch()
    try:
        return client_options(settings)
    except SecurityConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def unreachable(settings: Settings, exc: Exception, doing: str) -> click.ClickException:
    """The error for a broker that cannot be reached or refuses the credentials."""
    hint = (
        "Start one with 'stancewire broker start' or set STANCEWIRE_BOOTSTRAP_SERVERS."
        if settings.security_protocol == "PLAINTEXT"
        else "Check STANCEWIRE_SECURITY_PROTOCOL, STANCEWIRE_SASL_USERNAME/PASSWORD and "
        "STANCEWIRE_SSL_CAFILE: a refused login or certificate looks like this too."
    )
    from agents.security import LastConnectionProblem

    cause = LastConnectionProblem.watch().message
    return click.ClickException(
        f"cannot reach Kafka at {settings.bootstrap_servers} to {doing}: {exc!r}"
        + (f" (cause: {cause})" if cause else "")
        + f". {hint}"
    )
