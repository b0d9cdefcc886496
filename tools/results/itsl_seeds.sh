#!/usr/bin/env bash
# docs/RESULTS.md, the STDCF paper's Table 2 and Fig. 5, longer and with
# seeds: kth3l-{reg3d,rank1,stdcf} trained full-size for 12 epochs and with
# ITSL (E = 3, β = γ = 2, two epochs per stage: the same 12 passes over the
# data), for 3 seeds each, on 400 Video-MNIST videos of 16 × 60 × 80 read at
# a short side of 32 (16 × 32 × 32 clips, to fit 18 trainings into about an
# hour and a half on 2 cores); validation after every ITSL stage, 10 clips ×
# 3 crops on the test split, and each run's training curve.
#   tools/results/itsl_seeds.sh [OUT]      (default results-itsl-seeds/)
#   SEEDS="0 1 2 3 4" EPOCHS_PER_STAGE=4 to change the plan (full-size gets 6 × EPOCHS_PER_STAGE epochs,
#   or FULL_EPOCHS).
# The STDCF paper's setting (each stage its whole schedule, precise BN on the
# stage's own clips, so ITSL never reads full-size data):
#   SCHEDULE=per_stage PRECISE_BN_INPUTS=stage EPOCHS_PER_STAGE=6 FULL_EPOCHS=6 tools/results/itsl_seeds.sh results-itsl-paper
# MOTION_ONLY=1: on motion-only Video-MNIST (the garment drawn at random per video).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
. "$here/runs.sh"         # train_once, test_once
out=${1:-results-itsl-seeds}
train=${TRAIN:-400} val=${VAL:-100} test=${TEST:-200}
seeds=${SEEDS:-0 1 2} per_stage=${EPOCHS_PER_STAGE:-2}
full_epochs=${FULL_EPOCHS:-$((6 * per_stage))}
schedule=${SCHEDULE:-global} bn_inputs=${PRECISE_BN_INPUTS:-full}
motion_only=${MOTION_ONLY:+--motion-only}
mkdir -p "$out"
data="$out/data"
[ -f "$data/test.csv" ] || "$bin" data video-mnist "$data" --size 60x80 --frames 16 --train "$train" --val "$val" --test "$test" --quiet $motion_only
for seed in $seeds; do
    for model in kth3l-stdcf kth3l-rank1 kth3l-reg3d; do
        for mode in full itsl; do
            name="$model-$mode-s$seed"
            if [ "$mode" = itsl ]; then
                extra="\"itsl\": {\"iterations\": 3, \"beta\": 2, \"gamma\": 2, \"stage_t\": {\"epochs\": $per_stage}, \"stage_s\": {\"epochs\": $per_stage}, \"schedule\": \"$schedule\"}"
            else
                extra="\"epochs\": $full_epochs"
            fi
            cat > "$out/$name.json" <<JSON
{
  "model": "$model",
  "train": "data/train.csv", "val": "data/val.csv", "classes": "data/classes.txt",
  "clip": {"frames": 16, "interval": 1, "crop": 32, "short_side": [32, 32], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "batch": 16, "workers": 2, "seed": $seed, "output": "$name", "precise_bn_inputs": "$bn_inputs",
  $extra
}
JSON
            train_once "$out" "$name"
            test_once "$out" "$name" "$data/test.csv"
        done
    done
done
python3 "$here/summarize_itsl_seeds.py" "$out"
