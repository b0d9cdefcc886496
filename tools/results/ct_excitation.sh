#!/usr/bin/env bash
# docs/RESULTS.md, CT-Net's Tensor Excitation (its Table 2g: +2.1 points on
# Something-Something v1): kth3l-ct against kth3l-ct-no-te (the same net
# without the excitation gates; BN, ReLU and the fusion conv stay), trained
# full-size as tools/results/itsl_seeds.sh trains (400 Video-MNIST videos,
# 16 × 32 × 32 clips, 12 epochs, SGD 0.05 with cosine), 3 seeds, tested
# with 10 clips × 3 crops.
#   tools/results/ct_excitation.sh [OUT]      (default results-ct-te/)
#   SEEDS="0 1 2 3 4" EPOCHS=12 MOTION_ONLY=1 to change the plan.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
. "$here/runs.sh"         # train_once, test_once
out=${1:-results-ct-te}
seeds=${SEEDS:-0 1 2} epochs=${EPOCHS:-12}
motion_only=${MOTION_ONLY:+--motion-only}
mkdir -p "$out"
data="$out/data"
[ -f "$data/test.csv" ] || "$bin" data video-mnist "$data" --size 60x80 --frames 16 --train 400 --val 100 --test 200 --quiet $motion_only
for seed in $seeds; do
    for model in kth3l-ct kth3l-ct-no-te; do
        name="$model-s$seed"
        cat > "$out/$name.json" <<JSON
{
  "model": "$model",
  "train": "data/train.csv", "val": "data/val.csv", "classes": "data/classes.txt",
  "clip": {"frames": 16, "interval": 1, "crop": 32, "short_side": [32, 32], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "batch": 16, "workers": 2, "seed": $seed, "output": "$name", "epochs": $epochs
}
JSON
        train_once "$out" "$name"
        test_once "$out" "$name" "$data/test.csv"
    done
done
python3 "$here/summarize_ct_excitation.py" "$out"
