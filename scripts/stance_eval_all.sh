#!/usr/bin/env bash
# Every stance dev figure of one model, each data set read in its own format by
# `stancewire eval stance`: the model card's table. Usage:
#   bash scripts/stance_eval_all.sh MODEL_DIR DATA_DIR DEV_DIR OUT_DIR
# MODEL_DIR: a model written by `stancewire train stance` ("shipped" for pipeline/models/stance);
# DATA_DIR: the stance data folder (../shared/data/stance); DEV_DIR: the dev/ folder a training
# run wrote (the carved FNC-1, ARC, GWSD and Emergent dev files and the joined P-Stance val);
# OUT_DIR: one JSON line and one predictions CSV per data set.
# ONLY="newsmtsc_rw directed ..." runs just those data sets (the names below). Extra
# arguments for every eval (e.g. EVAL_ARGS="--precision fp32") go in EVAL_ARGS.
set -euo pipefail
if [[ $# -ne 4 ]]; then
    echo "usage: $0 MODEL_DIR DATA_DIR DEV_DIR OUT_DIR" >&2
    exit 2
fi
model=$1 data=$2 dev=$3 out=$4
mkdir -p "$out"
model_args=()
if [[ $model != shipped ]]; then
    model_args=(--model "$model")
fi
read -r -a extra_args <<< "${EVAL_ARGS:-}"
only=" ${ONLY:-} "

run() {
    local name=$1
    shift
    if [[ -n ${ONLY:-} && $only != *" $name "* ]]; then
        return 0
    fi
    stancewire eval stance "$@" "${model_args[@]}" "${extra_args[@]}" --json \
        --predictions "$out/$name.csv" | tail -n 1 > "$out/$name.json"
    echo "$name $(cat "$out/$name.json")"
}

run fnc1 --format fnc1 --stances "$dev/fnc1_dev_stances.csv" --bodies "$data/fnc1/train_bodies.csv"
run arc --format fnc1 --stances "$dev/arc_dev_stances.csv" --bodies "$data/arc/arc_bodies.csv"
run semeval2016 --format semeval2016 --data "$data/semeval2016_tweeteval" --split val
run pstance --format pstance --data "$dev/pstance_val.csv"
run newsmtsc_rw --format newsmtsc --data "$data/newsmtsc/dev_rw.jsonl"
run newsmtsc_mt --format newsmtsc --data "$data/newsmtsc/dev_mt.jsonl"
run directed --format directed --data "$data/directed_sentiment/valid.txt"
run gwsd --format gwsd --data "$dev/gwsd_dev.tsv"
run emergent --format emergent --data "$dev/emergent_dev.csv"
run vast --format vast --data "$data/vast/vast_dev.csv"
run persent --format persent --data "$data/persent/dev.csv"
