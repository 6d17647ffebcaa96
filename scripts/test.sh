#!/usr/bin/env bash
# The whole gate: lint, format check, types, then every test (unit, model, integration).
# Integration tests start the project's own Kafka broker; they fail when it cannot start.
# First set-up: the Debian tools the tests use, then the virtualenv (pip's progress shown).
set -eo pipefail
bash "$(dirname "$0")/tools.sh"
source "$(dirname "$0")/env.sh"
echo "== ruff" && ruff check .
echo "== ruff format" && ruff format --check .
echo "== mypy" && mypy
echo "== pytest" && pytest "$@"
