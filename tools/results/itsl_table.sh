#!/usr/bin/env bash
# docs/RESULTS.md, Table 2 analogue: Video-MNIST (Fashion-MNIST, 16×60×80),
# kth3l-{reg3d,rank1,stdcf} trained full-size (6 epochs) and with ITSL
# (E = 3, β = γ = 2, one epoch per stage: the same 6 epochs), then tested on
# the test split with 10 clips × 3 crops; plus the STDCF-ITSL model tested
# with and without dilated atoms (Table 1 analogue).
#   tools/results/itsl_table.sh [OUT]      (default results-out/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:-results-out}
train=${TRAIN:-600} val=${VAL:-100} test=${TEST:-100}
mkdir -p "$out"
[ -f "$out/data/train.csv" ] || "$bin" data video-mnist "$out/data" --size 60x80 --frames 16 --train "$train" --val "$val" --test "$test" --quiet
for model in kth3l-stdcf kth3l-rank1 kth3l-reg3d; do
    for mode in full itsl; do
        name="$model-$mode"
        if [ "$mode" = itsl ]; then
            extra='"itsl": {"iterations": 3, "beta": 2, "gamma": 2, "stage_t": {"epochs": 1}, "stage_s": {"epochs": 1}}'
        else
            extra='"epochs": 6'
        fi
        cat > "$out/data/$name.json" <<JSON
{
  "model": "$model",
  "train": "train.csv", "val": "val.csv", "classes": "classes.txt",
  "clip": {"frames": 16, "interval": 1, "crop": 60, "short_side": [60, 60], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "batch": 16, "workers": 2, "seed": 0, "output": "../$name",
  $extra
}
JSON
        if [ ! -f "$out/$name/eval.json" ]; then
            "$bin" train "$out/data/$name.json" 2>"$out/$name.log" | tee "$out/$name.txt"
            "$bin" eval "$out/$name/checkpoint.safetensors" "$out/data/test.csv" --views 10x3 --save "$out/$name/eval.json" | tee -a "$out/$name.txt"
            "$bin" report "$out/$name" >/dev/null
        fi
    done
done
# Dilated atoms: the ITSL STDCF model on full-size test clips with each test dilation (t,s).
for d in 1,1 2,1 1,2 2,2; do
    f="$out/kth3l-stdcf-itsl/eval-dilation-${d/,/-}.json"
    [ -f "$f" ] || "$bin" eval "$out/kth3l-stdcf-itsl/checkpoint.safetensors" "$out/data/test.csv" --views 10x3 --dilation "$d" --save "$f"
done
echo "results in $out"
