// A batch-reduce GEMM for Winograd's products (ckernels.h, ck_brgemm_avx512):
// levels.c includes this file in its AVX-512 target region, with VEC, MASK,
// VW, FN and the V_* operations defined; it is written with them, as the
// other bodies, but AVX2 keeps OpenBLAS (ckernels.h says why). The Swift
// twin is brgemmNaive in Tensor/Brgemm.swift.
//
// C (CK_BRGEMM_ROWS × BRGEMM_COLUMNS tiles) = Σ over the depth q = (tap, channel)
// of A[i][q] · B[q][j]. A is packed once by the caller (its weights: rows in
// slivers of CK_BRGEMM_ROWS, each sliver depth-major), so no call repacks it.
// B is read where it lies (row q at tap · tap_shift + channel · ldb), one
// strip of BRGEMM_COLUMNS columns and CK_BRGEMM_DEPTH_BLOCK rows at a time,
// which stays in L1 while every sliver of A passes over it. Copying the
// strips into packed panels first was no faster on kth3l's layers (6% more
// samples in the kernel): B (Winograd's V) comes from memory once either
// way, and the copy adds a pass over it.

#define BRGEMM_VECTORS 3
#define BRGEMM_COLUMNS (BRGEMM_VECTORS * VW)

/// The mask of the first `n` lanes, n clamped to 0 … VW.
#define BRGEMM_LANES(n) V_MASK((n) < 0 ? 0 : (n) > VW ? VW : (n))

/// One tile: rows × (NV vectors, the last one's lanes `last`) of C from the
/// packed sliver and B's rows from `column` on, `segments` runs of
/// lengths[s] rows ldb apart from starts[s]; the tile's sums are written, or
/// added to C when `accumulate`.
#define BRGEMM_TILE(NV)                                                                                  \
    static inline __attribute__((always_inline)) void FN(brgemm_tile##NV)(                               \
        int64_t segments, const float *const *starts, const int64_t *lengths, int64_t column, int64_t ldb, \
        const float *ap, const float *next, float *c, int64_t ldc, int64_t rows, MASK last,                 \
        int32_t accumulate) {                                                                            \
        VEC acc[CK_BRGEMM_ROWS][NV];                                                                     \
        for (int i = 0; i < CK_BRGEMM_ROWS; i++)                                                         \
            for (int v = 0; v < NV; v++) acc[i][v] = V_ZERO();                                           \
        for (int64_t s = 0; s < segments; s++) {                                                         \
            const float *bp = starts[s] + column;                                                        \
            for (int64_t q = 0; q < lengths[s]; q++) {                                                   \
                VEC b[NV];                                                                               \
                for (int v = 0; v < NV - 1; v++) b[v] = V_LOAD(bp + v * VW);                             \
                b[NV - 1] = V_LOAD_MASKED(bp + (NV - 1) * VW, last);                                     \
                __builtin_prefetch(next, 0, 3);                                                          \
                for (int i = 0; i < CK_BRGEMM_ROWS; i++) {                                               \
                    VEC a = V_BCAST(ap + i);                                                             \
                    for (int v = 0; v < NV; v++) acc[i][v] = V_FMA(a, b[v], acc[i][v]);                  \
                }                                                                                        \
                ap += CK_BRGEMM_ROWS;                                                                    \
                next += CK_BRGEMM_ROWS;                                                                  \
                bp += ldb;                                                                               \
            }                                                                                            \
        }                                                                                                \
        for (int i = 0; i < CK_BRGEMM_ROWS; i++) {                                                       \
            if (i >= rows) break;                                                                        \
            float *row = c + i * ldc;                                                                    \
            for (int v = 0; v < NV - 1; v++) {                                                           \
                VEC r = acc[i][v];                                                                       \
                if (accumulate) r = V_ADD(r, V_LOAD(row + v * VW));                                      \
                V_STORE(row + v * VW, r);                                                                \
            }                                                                                            \
            VEC r = acc[i][NV - 1];                                                                      \
            if (accumulate) r = V_ADD(r, V_LOAD_MASKED(row + (NV - 1) * VW, last));                     \
            V_STORE_MASKED(row + (NV - 1) * VW, r, last);                                                \
        }                                                                                                \
    }
BRGEMM_TILE(1)
BRGEMM_TILE(2)
BRGEMM_TILE(3)
#undef BRGEMM_TILE

void FN(ck_brgemm)(int64_t m, int64_t n, int64_t taps, int64_t k, const float *a_packed, const float *b,
                   int64_t ldb, int64_t tap_shift, float *c, int64_t ldc, int32_t accumulate) {
    const int64_t depth = taps * k;
    // A depth block's runs of consecutive channels, one per tap it touches,
    // found once per block; each strip of B starts `column` floats into them.
    enum { MOST_SEGMENTS = CK_BRGEMM_DEPTH_BLOCK + 1 };
    const float *starts[MOST_SEGMENTS];
    int64_t lengths[MOST_SEGMENTS];
    for (int64_t q0 = 0; q0 < depth; q0 += CK_BRGEMM_DEPTH_BLOCK) {
        const int64_t count = depth - q0 < CK_BRGEMM_DEPTH_BLOCK ? depth - q0 : CK_BRGEMM_DEPTH_BLOCK;
        int64_t segments = 0;
        for (int64_t q = q0; q < q0 + count;) {
            const int64_t tap = q / k, channel = q % k;
            const int64_t run = k - channel < q0 + count - q ? k - channel : q0 + count - q;
            starts[segments] = b + tap * tap_shift + channel * ldb;
            lengths[segments++] = run;
            q += run;
        }
        // Each tile sums the blocks in order, so its result does not depend
        // on whether blocks or strips are the outer loop.
        const int32_t add = accumulate || q0 > 0;
        for (int64_t j0 = 0; j0 < n;) {
            // Strips of 3 vectors, but 2 + 2 rather than 3 + 1 at the end: a
            // one-vector tile loads B once for CK_BRGEMM_ROWS multiply-adds,
            // not for 3 · CK_BRGEMM_ROWS.
            const int64_t left = (n - j0 + VW - 1) / VW;
            const int64_t vectors = left == 4 ? 2 : left < BRGEMM_VECTORS ? left : BRGEMM_VECTORS;
            const int64_t columns = n - j0 < vectors * VW ? n - j0 : vectors * VW;
            const MASK last = BRGEMM_LANES(columns - (vectors - 1) * VW);
            for (int64_t i0 = 0; i0 < m; i0 += CK_BRGEMM_ROWS) {
                const float *ap = a_packed + i0 * depth + q0 * CK_BRGEMM_ROWS;
                // The sliver the next tile reads, fetched while this one
                // runs: its block (at most 4 kB) starts CK_BRGEMM_ROWS ·
                // depth floats on, in another page, and the hardware
                // prefetchers do not cross pages. Without it, on small
                // frames (a few dozen columns a call), the tiles waited on
                // U's slivers from memory. The last sliver fetches itself
                // (where the block has more strips, the next one starts
                // over on slivers still in L2; the next block's first
                // sliver is not fetched). So `next` stays inside A: it ends
                // at most one past its end.
                const float *next = i0 + CK_BRGEMM_ROWS < m ? ap + CK_BRGEMM_ROWS * depth : ap;
                float *tile = c + i0 * ldc + j0;
                const int64_t rows = m - i0 < CK_BRGEMM_ROWS ? m - i0 : CK_BRGEMM_ROWS;
                if (vectors == 3) {
                    FN(brgemm_tile3)(segments, starts, lengths, j0, ldb, ap, next, tile, ldc, rows, last, add);
                } else if (vectors == 2) {
                    FN(brgemm_tile2)(segments, starts, lengths, j0, ldb, ap, next, tile, ldc, rows, last, add);
                } else {
                    FN(brgemm_tile1)(segments, starts, lengths, j0, ldb, ap, next, tile, ldc, rows, last, add);
                }
            }
            j0 += columns;
        }
    }
}

#undef BRGEMM_LANES
#undef BRGEMM_COLUMNS
#undef BRGEMM_VECTORS
