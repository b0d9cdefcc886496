#!/usr/bin/env bash
# docs/RESULTS.md, the STDCF paper's tempo experiment (§2.1.2, Fig. 3):
# kth3l-{stdcf,rank1,reg3d} trained on 16-frame clips at frame interval 1
# (tempo 1) of 32-frame Video-MNIST videos, tested at tempo 1 and at tempo 2
# (interval 2: objects move twice as far between frames), the latter with
# the temporal atoms (rank-1: its temporal conv; reg. 3D: its kernels' time
# axis) at dilation 1 and 2. With MATCHED=1 also models trained at tempo 2,
# the accuracy a tempo-2 test could reach.
#   tools/results/tempo.sh [OUT]      (default results-tempo/)
#   SEEDS="0 1 2": one training of each model per seed (default 0; seed 0's
#   runs keep their names, the others end in -sN), on the same data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:-results-tempo}
train=${TRAIN:-400} test=${TEST:-200} epochs=${EPOCHS:-6} seeds=${SEEDS:-0}
mkdir -p "$out"
data="$out/data"
[ -f "$data/test.csv" ] || "$bin" data video-mnist "$data" --size 48x64 --frames 32 --train "$train" --val 0 --test "$test" --quiet
intervals="1"
[ "${MATCHED:-0}" = 1 ] && intervals="1 2"
for seed in $seeds; do
    for interval in $intervals; do
        for model in kth3l-stdcf kth3l-rank1 kth3l-reg3d; do
            name="$model-tempo$interval"
            [ "$seed" = 0 ] || name="$name-s$seed"
            cat > "$out/$name.json" <<JSON
{
  "model": "$model",
  "train": "data/train.csv", "classes": "data/classes.txt",
  "clip": {"frames": 16, "interval": $interval, "crop": 48, "short_side": [48, 48], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "epochs": $epochs, "batch": 16, "workers": 2, "seed": $seed, "output": "$name"
}
JSON
            [ -f "$out/$name/checkpoint.safetensors" ] && [ -f "$out/$name/done" ] || {
                "$bin" train "$out/$name.json" --overwrite >"$out/$name.log" 2>&1
                touch "$out/$name/done"
            }
            # Tempo τ samples at τ × the trained interval.
            tests="1:1,1"
            [ "$interval" = 1 ] && tests="1:1,1 2:1,1 2:2,1"
            for t in $tests; do
                tempo=${t%%:*} dilation=${t#*:}
                f="$out/$name/eval-tempo$tempo-dilation${dilation/,/-}.json"
                [ -f "$f" ] || "$bin" eval "$out/$name/checkpoint.safetensors" "$data/test.csv" --views 10x3 --tempo "$tempo" \
                    --dilation "$dilation" --save "$f" >>"$out/$name.log" 2>&1
                echo "$name tempo $tempo dilation $dilation: $(python3 -c "import json,sys; print('%.1f%%' % json.load(open(sys.argv[1]))['top1'])" "$f")"
            done
        done
    done
done
python3 "$here/summarize_tempo.py" "$out"
