#!/usr/bin/env bash
# `make demo`: the main job on the embedded default, end to end.
#  1. a small Video-MNIST (Fashion-MNIST digits moving as the 3DTT paper's
#     Table 1 says), 16 frames of 60×80, as H.264 files with manifests;
#  2. kth3l-stdcf trained with ITSL (β = γ = 2, 3 iterations of stage-t and stage-s);
#  3. 10 clips × 3 crops evaluation of the test split;
#  4. the HTML report (with Grad-CAM strips of two right and two wrong test videos).
# Everything goes to demo-out/ (DEMO_OUT to change). DEMO_TRAIN etc. scale it;
# DEMO_SEED (0) seeds the training (the initial weights, the clips' order and
# crops), to see how far the accuracy moves with it.
set -euo pipefail
bin=$(swift build -c release --show-bin-path)/clipkit
out=${DEMO_OUT:-demo-out}
train=${DEMO_TRAIN:-600} val=${DEMO_VAL:-100} test=${DEMO_TEST:-100} seed=${DEMO_SEED:-0}
start=$(date +%s)
rm -rf "$out/run"
mkdir -p "$out"
echo "== 1. clipkit data video-mnist $out/data --size 60x80 --frames 16 --train $train --val $val --test $test"
"$bin" data video-mnist "$out/data" --size 60x80 --frames 16 --train "$train" --val "$val" --test "$test" --quiet
cat > "$out/data/itsl.json" <<JSON
{
  "model": "kth3l-stdcf",
  "train": "train.csv", "val": "val.csv", "classes": "classes.txt",
  "clip": {"frames": 16, "interval": 1, "crop": 60, "short_side": [60, 60], "flip": 0},
  "eval": {"clips": 1, "crops": 3},
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001},
  "schedule": {"name": "cosine", "warmup_epochs": 1},
  "batch": 16, "workers": 2, "seed": $seed, "output": "../run",
  "itsl": {"iterations": 3, "beta": 2, "gamma": 2, "stage_t": {"epochs": 1}, "stage_s": {"epochs": 1}}
}
JSON
echo
echo "== 2. clipkit train $out/data/itsl.json   (kth3l-stdcf, ITSL β = γ = 2)"
"$bin" train "$out/data/itsl.json"
echo
echo "== 3. clipkit eval $out/run/checkpoint.safetensors $out/data/test.csv --views 10x3 --explain 2"
"$bin" eval "$out/run/checkpoint.safetensors" "$out/data/test.csv" --views 10x3 --explain 2 --save "$out/run/eval.json"
echo
echo "== 4. clipkit report $out/run"
"$bin" report "$out/run"
echo
echo "demo done in $(( $(date +%s) - start )) s; open $out/run/report.html"
