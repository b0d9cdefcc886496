#!/usr/bin/env bash
# docs/RESULTS.md, the Deep Analysis supplement's dense against uniform
# sampling (§1, Fig. 1): kth3l-stdcf and kth3l-tsm trained on 48-frame
# Video-MNIST videos with dense sampling (16 consecutive frames) and with
# uniform sampling (16 segments, one frame each), each tested with 1, 3, 5
# and 10 clips × 3 crops.
#   tools/results/sampling.sh [OUT]      (default results-sampling/)
#   MOTION_ONLY=1: on motion-only Video-MNIST (the garment drawn at random per video).
#   SEEDS="0 1 2": one training of each model and sampling per seed (default 0;
#   seed 0's runs keep their names, the others end in -sN), on the same data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:-results-sampling}
train=${TRAIN:-300} test=${TEST:-200} epochs=${EPOCHS:-4} seeds=${SEEDS:-0}
motion_only=${MOTION_ONLY:+--motion-only}
mkdir -p "$out"
data="$out/data"
[ -f "$data/test.csv" ] || "$bin" data video-mnist "$data" --size 48x64 --frames 48 --train "$train" --val 0 --test "$test" --quiet $motion_only
for seed in $seeds; do
    for sampling in dense uniform; do
        for model in kth3l-stdcf kth3l-tsm; do
            name="$model-$sampling"
            [ "$seed" = 0 ] || name="$name-s$seed"
            cat > "$out/$name.json" <<JSON
{
  "model": "$model",
  "train": "data/train.csv", "classes": "data/classes.txt",
  "clip": {"frames": 16, "interval": 1, "sampling": "$sampling", "crop": 48, "short_side": [48, 48], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "epochs": $epochs, "batch": 16, "workers": 2, "seed": $seed, "output": "$name"
}
JSON
            [ -f "$out/$name/done" ] || { "$bin" train "$out/$name.json" --overwrite >"$out/$name.log" 2>&1; touch "$out/$name/done"; }
            for clips in 1 3 5 10; do
                f="$out/$name/eval-${clips}x3.json"
                [ -f "$f" ] || "$bin" eval "$out/$name/checkpoint.safetensors" "$data/test.csv" --views "${clips}x3" --save "$f" >>"$out/$name.log" 2>&1
                echo "$name ${clips}x3: $(python3 -c "import json,sys; print('%.1f%%' % json.load(open(sys.argv[1]))['top1'])" "$f")"
            done
        done
    done
done
python3 "$here/summarize_sampling.py" "$out"
