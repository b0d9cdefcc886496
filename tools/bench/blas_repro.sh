#!/bin/bash
# Whether OpenBLAS's sgemm gives the same bits for the same call: again, on
# buffers at other alignments, from two threads at once, and at 2 threads
# (blas_repro.c says how). Usage: tools/bench/blas_repro.sh [shapes [seed [largest K]]];
# OPENBLAS_CORETYPE picks the core to test (e.g. SkylakeX, Haswell), as for
# clipkit. A minute or two on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang -O2 -I/usr/include/x86_64-linux-gnu -o "$out/blas_repro" "$here/blas_repro.c" -lopenblas -lpthread
"$out/blas_repro" "$@"
