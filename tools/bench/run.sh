#!/usr/bin/env bash
# `make bench`: builds the bench set and the peers' venv if needed, then runs
# the decode benchmark (release build). Results: bench-data/decode-results.{md,json}.
set -euo pipefail
tools/bench/make-bench-set.sh bench-data >/dev/null
python=$(tools/bench/setup-venv.sh)
clipkit=$(swift build -c release --show-bin-path)/clipkit
files=(bench-data/cockatoo_256_g16.mp4 bench-data/cockatoo_256_g16_seg0.mp4 bench-data/cockatoo_256_g16_seg3.mp4
       bench-data/cockatoo_256_g16_seg6.mp4 bench-data/realshort_256_g16.mp4)
echo "decode benchmark: ${files[*]} (${BENCH_ROUNDS:-5} rounds)"
"$python" tools/bench/bench_decode.py --clipkit "$clipkit" --files "${files[@]}" \
    --rounds "${BENCH_ROUNDS:-5}" --json-out bench-data/decode-results.json | tee bench-data/decode-results.md
# The same clip fetching on the raw long-GOP set (x264 default GOP 250).
long=(bench-data/cockatoo_256_g250.mp4 bench-data/cockatoo_256_g250_seg0.mp4 bench-data/cockatoo_256_g250_seg3.mp4
      bench-data/cockatoo_256_g250_seg6.mp4 bench-data/realshort_256_g250.mp4)
echo "decode benchmark, long GOP: ${long[*]} (${BENCH_ROUNDS:-5} rounds)"
"$python" tools/bench/bench_decode.py --clipkit "$clipkit" --files "${long[@]}" \
    --rounds "${BENCH_ROUNDS:-5}" --json-out bench-data/decode-long-results.json | tee bench-data/decode-long-results.md
echo "frame-exactness on the format corpus: ClipKit / decord / torchcodec"
"$python" tools/bench/corpus_exact.py --clipkit "$clipkit" --corpus Fixtures/corpus \
    --json-out bench-data/corpus-exact.json | tee bench-data/corpus-exact.md
echo "installing the clipkit Python package into the benchmark venv (pip install ./python)"
"$python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python && rm -rf python/build python/clipkit.egg-info
echo "open time in a fresh process: ClipKit (first and second open) / decord / torchcodec (10 processes)"
tools/bench/make-open-set.sh bench-data/open >/dev/null
"$python" tools/bench/bench_open.py --folder bench-data/open --processes 10 \
    --json-out bench-data/open-results.json | tee bench-data/open-results.md
echo "30-view test input benchmark (${BENCH_ROUNDS:-5} rounds)"
"$python" tools/bench/bench_views.py --clipkit "$clipkit" --files "${files[@]}" \
    --rounds "${BENCH_ROUNDS:-5}" --json-out bench-data/views-results.json | tee bench-data/views-results.md
# The loader reads a manifest that lists each file 8 times (5 batches of 8 per epoch).
manifest=bench-data/train.csv
{ echo "path,label"; for r in 1 2 3 4 5 6 7 8; do i=0; for f in "${files[@]}"; do echo "$PWD/$f,$i"; i=$((i+1)); done; done; } > "$manifest"
echo "loader benchmark (${BENCH_ROUNDS:-3} rounds)"
"$python" tools/bench/bench_loader.py --clipkit "$clipkit" --manifest "$manifest" \
    --rounds "${BENCH_ROUNDS:-3}" --json-out bench-data/loader-results.json | tee bench-data/loader-results.md
long_manifest=bench-data/train-long.csv
{ echo "path,label"; for r in 1 2 3 4 5 6 7 8; do i=0; for f in "${long[@]}"; do echo "$PWD/$f,$i"; i=$((i+1)); done; done; } > "$long_manifest"
echo "loader benchmark, long GOP (${BENCH_ROUNDS:-3} rounds)"
"$python" tools/bench/bench_loader.py --clipkit "$clipkit" --manifest "$long_manifest" \
    --rounds "${BENCH_ROUNDS:-3}" --json-out bench-data/loader-long-results.json | tee bench-data/loader-long-results.md
echo "tar shards and http: bytes per clip from nginx's log, loader throughput with WebDataset + decord (${BENCH_ROUNDS:-5} rounds)"
tools/bench/make-shard-set.sh "$clipkit" bench-data/shards-set >/dev/null
"$python" tools/bench/bench_shards.py --clipkit "$clipkit" --set bench-data/shards-set --rounds "${BENCH_ROUNDS:-5}" \
    --json-out bench-data/shards-results.json | tee bench-data/shards-results.md
echo "training benchmark (${BENCH_ROUNDS:-5} rounds)"
"$python" tools/bench/bench_train.py --clipkit "$clipkit" --rounds "${BENCH_ROUNDS:-5}" \
    --json-out bench-data/train-results.json | tee bench-data/train-results.md
echo "safetensors interop"
"$python" tools/check_safetensors.py "$clipkit"
echo "decomposed models vs their twins (${BENCH_ROUNDS:-3} rounds)"
"$python" tools/bench/bench_train.py --clipkit "$clipkit" --rounds "${BENCH_ROUNDS:-3}" \
    --models kth3l-stdcf:composed kth3l-stdcf:factored kth3l-rank1 kth3l-ct \
    --json-out bench-data/decomposed-results.json | tee bench-data/decomposed-results.md
echo "prep resize vs the ffmpeg CLI, and the loader on its outputs (${BENCH_ROUNDS:-3} rounds)"
tools/bench/make-raw-set.sh bench-data/raw >/dev/null
"$python" tools/bench/bench_prep.py --clipkit "$clipkit" --source bench-data/raw --rounds "${BENCH_ROUNDS:-3}" \
    --json-out bench-data/prep-results.json | tee bench-data/prep-results.md
echo "R50 family vs the PyTorch twin (resnet3d.py): stage-t 4 x 3x8x112x112 and stage-s 2 x 3x4x224x224"
"$python" tools/bench/bench_train.py --clipkit "$clipkit" --rounds "${BENCH_ROUNDS:-3}" --steps 2 --input 3x8x112x112 --batch 4 \
    --models r3d50 r2plus1d-r50 stdcf-r50:composed stdcf-r50:factored --json-out bench-data/r50-t.json | tee bench-data/r50-t.md
"$python" tools/bench/bench_train.py --clipkit "$clipkit" --rounds "${BENCH_ROUNDS:-3}" --steps 2 --input 3x4x224x224 --batch 2 \
    --models r3d50 r2plus1d-r50 stdcf-r50:composed --json-out bench-data/r50-s.json | tee bench-data/r50-s.md
"$clipkit" doctor || true
echo "MPI data parallelism: allreduce, 2 ranks x 1 thread vs 1 process x 2 threads, scaling model (${BENCH_ROUNDS:-3} rounds)"
(cd tools/bench && python3 bench_mpi.py --clipkit "$clipkit" --rounds "${BENCH_ROUNDS:-3}" \
    --json-out ../../bench-data/mpi-results.json) | tee bench-data/mpi-results.md
