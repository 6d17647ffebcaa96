"""``python -m agents.cli``: the command line, as the workers the commands start run it."""

from agents.cli import main

main()
