#!/usr/bin/env bash
# Sets everything up and runs the demo: local Kafka, a worker, the sample articles in,
# their enriched events out.
source "$(dirname "$0")/env.sh"
stancewire demo "$@"
