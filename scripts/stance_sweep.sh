#!/usr/bin/env bash
# The stance training sweep behind the model card's figures: seven configurations of
# `stancewire train stance`, run side by side (meant for one GPU; each takes hours on 2 CPU
# cores). Prints each configuration's dev scores; the models stay in OUT/<letter>.
#
#   bash scripts/stance_sweep.sh ../shared/data/stance /tmp/sweep
set -euo pipefail
DATA=${1:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
OUT=${2:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
mkdir -p "$OUT"
COMMON=(--data "$DATA" --seed 13 --batch-size 64 --threads 2 --repeat semeval2016=4)
declare -A CONFIGS=(
  [A]="--frozen-layers 0 --epochs 3 --learning-rate 8e-5"
  [B]="--frozen-layers 0 --epochs 3 --learning-rate 8e-5 --source-labels"
  [C]="--frozen-layers 0 --epochs 5 --learning-rate 8e-5 --source-labels"
  [D]="--frozen-layers 0 --epochs 3 --learning-rate 1.5e-4 --source-labels"
  [E]="--frozen-layers 0 --epochs 4 --learning-rate 8e-5 --repeat pstance=2 --source-labels"
  [F]="--frozen-layers 1 --epochs 4 --learning-rate 1e-4 --source-labels"
  [G]="--frozen-layers 0 --epochs 6 --learning-rate 5e-5 --repeat pstance=2 --source-labels"
)
pids=()
for name in "${!CONFIGS[@]}"; do
  # shellcheck disable=SC2086 # the flags are meant to split
  stancewire train stance "${COMMON[@]}" ${CONFIGS[$name]} --out "$OUT/$name" --json \
    >"$OUT/$name.out" 2>"$OUT/$name.err" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in $(printf '%s\n' "${!CONFIGS[@]}" | sort); do
  echo "$name ${CONFIGS[$name]}"
  tail -1 "$OUT/$name.out" || true
done
exit $status
