#!/usr/bin/env bash
# The stance training sweep behind the model card's figures: configurations of
# `stancewire train stance` run side by side (meant for one GPU; each takes hours on the
# 2-core machine). All start from the backbone with the shipped recipe's settings (COMMON)
# and differ as listed; a flag given again in a configuration replaces COMMON's (argparse
# keeps the last). A is the shipped recipe itself. Prints each configuration's dev scores;
# the models stay in OUT/<letter>. (The first sweep, from which the shipped recipe came,
# is in git history: 405e944:scripts/stance_sweep.sh.)
#
#   bash scripts/stance_sweep.sh ../shared/data/stance /tmp/sweep            # round 1
#   ROUND=2 bash scripts/stance_sweep.sh ../shared/data/stance /tmp/sweep2   # round 2
#
# SWEEP_SECONDS, when set, stops every run after that many seconds; STANCEWIRE_TRAIN
# replaces the training command (e.g. "python3 -m pipeline.stance_training train" where
# the CLI is not installed).
set -euo pipefail
DATA=${1:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
OUT=${2:?usage: stance_sweep.sh DATA_DIR OUT_DIR}
TRAIN=${STANCEWIRE_TRAIN:-stancewire train stance}
mkdir -p "$OUT"
COMMON=(--seed 13 --batch-size 64 --threads 3 --repeat semeval2016=4
  --source-labels --frozen-layers 0 --learning-rate 8e-5)
declare -A CONFIGS DATA_OF
case ${ROUND:-1} in
  1)
    CONFIGS=(
      [A]="--epochs 5"
      [B]="--epochs 5 --ema 0.999 --split-hashtags"
      [C]="--epochs 5 --ema 0.999 --adapt-epochs 3"
      [D]="--epochs 5 --ema 0.999 --adapt-epochs 3 --split-hashtags"
      [E]="--epochs 4 --ema 0.999 --adapt-epochs 3 --split-hashtags --repeat pstance=2"
    )
    ;;
  2)
    # The seed's noise, P-Stance shown twice, and P-Stance alone (its own ceiling).
    CONFIGS=(
      [F]="--epochs 5 --repeat pstance=2"
      [G]="--epochs 5 --repeat pstance=2 --ema 0.999"
      [H]="--epochs 5 --seed 14"
      [I]="--epochs 5"
      [J]="--epochs 5 --adapt-epochs 3"
    )
    mkdir -p "$OUT/pstance-only"
    ln -sfn "$(realpath "$DATA/pstance")" "$OUT/pstance-only/pstance"
    DATA_OF=([I]="$OUT/pstance-only" [J]="$OUT/pstance-only")
    ;;
  *)
    echo "stance_sweep.sh: ROUND must be 1 or 2" >&2
    exit 2
    ;;
esac
limit=()
[[ -n ${SWEEP_SECONDS:-} ]] && limit=(timeout "$SWEEP_SECONDS")
pids=()
for name in "${!CONFIGS[@]}"; do
  # shellcheck disable=SC2086 # the flags and the command are meant to split
  "${limit[@]}" $TRAIN --data "${DATA_OF[$name]:-$DATA}" "${COMMON[@]}" ${CONFIGS[$name]} \
    --out "$OUT/$name" --json >"$OUT/$name.out" 2>"$OUT/$name.err" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in $(printf '%s\n' "${!CONFIGS[@]}" | sort); do
  echo "$name ${CONFIGS[$name]}"
  tail -1 "$OUT/$name.out" || true
done
exit $status
