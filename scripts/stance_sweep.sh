#!/usr/bin/env bash
# The stance training sweep behind the model card's figures: configurations of
# `stancewire train stance` run side by side (meant for one GPU; each takes hours on 2 CPU
# cores). All start from the backbone with the shipped recipe's settings and differ as
# listed; A is that recipe itself. Prints each configuration's dev scores; the models stay in
# OUT/<letter>. ROUND=2 runs the second round; SWEEP_SECONDS, when set, stops every run
# after that many seconds.
#
#   bash scripts/stance_sweep.sh ../shared/data/stance /tmp/sweep
#   ROUND=2 bash scripts/stance_sweep.sh ../shared/data/stance /tmp/sweep2
set -euo pipefail
DATA=${1:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
OUT=${2:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
TRAIN=${STANCEWIRE_TRAIN:-stancewire train stance}
mkdir -p "$OUT"
COMMON=(--data "$DATA" --seed 13 --batch-size 64 --threads 3 --repeat semeval2016=4
  --source-labels --frozen-layers 0 --learning-rate 8e-5)
ONLY_PSTANCE="$OUT/pstance-only"
mkdir -p "$ONLY_PSTANCE"
ln -sfn "$(realpath "$DATA/pstance")" "$ONLY_PSTANCE/pstance"
declare -A CONFIGS
if [[ ${ROUND:-1} == 1 ]]; then
  CONFIGS=(
    [A]="--epochs 5"
    [B]="--epochs 5 --ema 0.999 --split-hashtags"
    [C]="--epochs 5 --ema 0.999 --adapt-epochs 3"
    [D]="--epochs 5 --ema 0.999 --adapt-epochs 3 --split-hashtags"
    [E]="--epochs 4 --ema 0.999 --adapt-epochs 3 --split-hashtags --repeat pstance=2"
  )
else
  # Round 2: the seed's noise, P-Stance shown twice, and P-Stance alone (its ceiling).
  CONFIGS=(
    [F]="--epochs 5 --repeat pstance=2"
    [G]="--epochs 5 --repeat pstance=2 --ema 0.999"
    [H]="--epochs 5 --seed 14"
    [I]="--epochs 5 --data $ONLY_PSTANCE"
    [J]="--epochs 5 --adapt-epochs 3 --data $ONLY_PSTANCE"
  )
fi
limit=()
[[ -n ${SWEEP_SECONDS:-} ]] && limit=(timeout "$SWEEP_SECONDS")
pids=()
for name in "${!CONFIGS[@]}"; do
  # shellcheck disable=SC2086 # the flags and the command are meant to split
  "${limit[@]}" $TRAIN "${COMMON[@]}" ${CONFIGS[$name]} --out "$OUT/$name" --json \
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
