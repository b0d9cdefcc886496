#!/usr/bin/env bash
# docs/RESULTS.md, the STDCF paper's Table 1 analogue: every ITSL-trained
# kth3l-stdcf of a tools/results/itsl_seeds.sh folder tested on full-size
# clips (10 clips × 3 crops) with each test dilation of its atoms (t, s),
# then the table over seeds.
#   tools/results/dilations.sh results-itsl-paper
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:?usage: dilations.sh ITSL_SEEDS_FOLDER}
for run in "$out"/kth3l-stdcf-itsl-s*/; do
    [ -f "$run/done" ] || continue
    for d in 1,1 2,1 1,2 2,2; do
        f="$run/eval-dilation-${d/,/-}.json"
        [ -f "$f" ] || "$bin" eval "$run/checkpoint.safetensors" "$out/data/test.csv" --views 10x3 --dilation "$d" --save "$f" >/dev/null
    done
done
python3 "$here/summarize_dilations.py" "$out"
