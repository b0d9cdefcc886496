#!/usr/bin/env bash
# docs/RESULTS.md, the 3DTT paper's Table 2 (low-data regime): lenet5-3dtt
# against lenet5-3d on Video-MNIST (Fashion-MNIST, 30 × 28 × 28) trained on
# 10, 20, 30 and 50 videos in all (1, 2, 3, 5 per class; the paper's sizes
# count videos in all, over its 10 classes), the same videos for both models
# in a run, for 3 seeds; each tested on 1,000 test videos.
#   tools/results/tt_small_data.sh [OUT]      (default results-tt/)
#   SEEDS="0 1 2 3 4" SIZES="10 20 30 50 100" EPOCHS=50 to change the plan; POOL=1000
#   generates 1,000 training videos to pick from instead of 500 (the high-data rows).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:-results-tt}
seeds=${SEEDS:-0 1 2} sizes=${SIZES:-10 20 30 50} epochs=${EPOCHS:-100} pool=${POOL:-500}
mkdir -p "$out"
data="$out/data"
[ -f "$data/test.csv" ] || "$bin" data video-mnist "$data" --train "$pool" --val 0 --test 1000 --quiet
for seed in $seeds; do
    for n in $sizes; do
        subset="$data/train-n$n-s$seed.csv"
        [ -f "$subset" ] || python3 "$here/pick_per_class.py" "$data/train.csv" $((n / 10)) "$seed" "$subset"
        for model in lenet5-3d lenet5-3dtt; do
            name="$model-n$n-s$seed"
            [ -f "$out/$name/eval.json" ] && continue
            # Batch 10 as the paper's smallest runs; the same number of epochs for every size. LeNet-5
            # has no BN: at lr 0.01 without warm-up a 3DTT run collapsed to chance (all ReLUs dead).
            cat > "$out/$name.json" <<JSON
{
  "model": "$model",
  "train": "data/train-n$n-s$seed.csv", "classes": "data/classes.txt",
  "clip": {"frames": 30, "interval": 1, "crop": 28, "short_side": [28, 28], "flip": 0},
  "eval": {"clips": 1, "crops": 1},
  "optimizer": {"name": "sgd", "lr": 0.003, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 5},
  "epochs": $epochs, "batch": 10, "workers": 2, "seed": $seed, "output": "$name"
}
JSON
            [ -f "$out/$name/done" ] || { "$bin" train "$out/$name.json" --overwrite >"$out/$name.log" 2>&1; touch "$out/$name/done"; }
            "$bin" eval "$out/$name/checkpoint.safetensors" "$data/test.csv" --views 1x1 --save "$out/$name/eval.json" >>"$out/$name.log" 2>&1
            echo "$name: $(python3 -c "import json,sys; print('%.1f%%' % json.load(open(sys.argv[1]))['top1'])" "$out/$name/eval.json")"
        done
    done
done
python3 "$here/summarize_tt.py" "$out"
