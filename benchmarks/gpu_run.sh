#!/usr/bin/env bash
# The prepared device run of issue 20: the worker's in-process enrichment on one GPU at
# several micro-batch sizes, checked against a CPU fp32 run (benchmarks/gpu_run.py says
# what it measures). No broker, Java or network needed. On a lent H200, for example:
#   benchmarks/gpu_run.sh --data bbc --device cuda --batch-sizes 16,64,256 --json $OUT/gpu.json
# Here, as the CI smoke test runs it:
#   benchmarks/gpu_run.sh --data DIR --device cpu --limit 4 --batch-sizes 2 --repeats 1
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" -m benchmarks.gpu_run "$@"
