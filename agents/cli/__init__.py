"""The ``stancewire`` command line, one module per command group; ``main`` is the entry point."""

from agents.cli import broker, offline, runs, stream
from agents.cli.common import main

__all__ = ["broker", "main", "offline", "runs", "stream"]
