#!/bin/bash
# brgemm against OpenBLAS on the Winograd products of kth3l and the R50
# middles (one sample, one thread): builds brgemm_vs_openblas.c with
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
# r2plus1d-r50's res4 1×3×3 at 112.
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
SHAPES
