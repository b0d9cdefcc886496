#!/bin/bash
# brgemm against OpenBLAS on the Winograd products of kth3l and the R50
# middles (one sample, or one stack of samples; one thread): builds brgemm_vs_openblas.c with
# CKernels' levels.c and runs each shape. AVX-512 machines only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang -O3 -c -I"$root/Sources/CKernels/include" -o "$out/levels.o" "$root/Sources/CKernels/levels.c"
clang -O3 -I"$root/Sources/CKernels/include" -I/usr/include/x86_64-linux-gnu -o "$out/bench" \
    "$here/brgemm_vs_openblas.c" "$out/levels.o" -lopenblas
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
# O C kt tiles frames group planes: kth3l conv2 forward and dX, conv3 forward
# (F(4×4), 16 × 3×16×60×80); r3d50's res3 and res4 middles at 112 (F(2×2));
# r2plus1d-r50's res4 1×3×3 at 112. Then stage 5 (under `--winograd-stacking
# always` stage 4 at 112 stacks as well: 32 F(4×4) tiles a sample), sample by sample (as
# brgemm runs it at AVX-512 today: 32 and 64 columns a call, U's 50 MB read
# from memory for every sample) and as one stack of the batch's samples
# (`WinogradStack`, `--winograd-stacking always`): 4 × 3×8×112×112 (a stack
# of 4 samples, 152 columns, width (8 + 2) · 4), 2 × 3×4×224×224 (2 samples,
# 160 columns, width (4 + 2) · 16), and r2plus1d-r50's 1×3×3 at 112 (128
# columns). A stack's GFLOP/s count the columns it drops between samples
# (24 of 152 and 32 of 160; none for 1×3×3) as work: multiply them by
# 128/152 and 128/160 before comparing them with the per-sample rows.
while read -r name shape; do
    echo -n "$name: "
    "$out/bench" $shape
done <<'SHAPES'
kth3l.conv2 64 32 3 80 16 4 36
kth3l.conv2-dX 32 64 3 80 16 4 36
kth3l.conv3 128 64 3 20 8 8 36
r3d50.res3.conv2 128 128 3 49 8 6 16
r3d50.res4.conv2 256 256 3 16 8 8 16
r2plus1d-r50.res4.conv2-spatial 256 256 1 16 8 8 16
r3d50.res5.conv2-sample-112 512 512 3 4 8 8 16
r3d50.res5.conv2-stack-112 512 512 3 4 38 38 16
r3d50.res5.conv2-sample-224 512 512 3 16 4 4 16
r3d50.res5.conv2-stack-224 512 512 3 16 10 10 16
r2plus1d-r50.res5.conv2-spatial-sample-112 512 512 1 4 8 8 16
r2plus1d-r50.res5.conv2-spatial-stack-112 512 512 1 4 32 32 16
SHAPES
