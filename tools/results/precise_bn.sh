#!/usr/bin/env bash
# Re-tests the six checkpoints of itsl_table.sh with precise BN (BN statistics
# recomputed over 20 batches of full-size training clips with the test
# dilations): results-out/<run>/eval-precise-bn.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/clipkit-bin.sh"   # bin: CLIPKIT, or the release build
out=${1:-results-out}
for run in kth3l-stdcf-full kth3l-stdcf-itsl kth3l-rank1-full kth3l-rank1-itsl kth3l-reg3d-full kth3l-reg3d-itsl; do
    f="$out/$run/eval-precise-bn.json"
    [ -f "$f" ] || "$bin" eval "$out/$run/checkpoint.safetensors" "$out/data/test.csv" --views 10x3 --precise-bn 20 --save "$f"
done
