// Winograd's weight transform U = G w Gᵀ, packed for brgemm (ckernels.h,
// ck_winograd_weights_packed_avx512): levels.c includes this file in its
// AVX-512 target region, after brgemm_body.h and weights_body.h (whose
// gather and transform of 8 kernels it shares with the unpacked kernel). The Swift twin is
// winogradWeightsPacked in Tensor/Conv3dWinograd.swift: the same operations
// in the same order, so U equals it.
//
// U is 16 (F(2×2)) or 36 (F(4×4)) planes of O′ × kt·C floats (O rounded up
// to whole slivers of CK_BRGEMM_ROWS), megabytes apart, written once and
// read by brgemm later. Each plane's sliver rows of two adjacent input
// channels make one 64-byte line, written with a streaming store when the
// lines are aligned: a normal store first reads every line it writes (U is
// too large for the caches), which made the transform wait on memory.

/// The kernel for one tile size m, inlined with m a constant (as
/// winograd_body.h's *_fixed bodies): with m known at run time only, the
/// compiler moved each transformed row out with a call to memcpy (2.9% of
/// r3d50's step samples, beside the transform's 3.9%).
static inline __attribute__((always_inline)) void packed_weights_fixed(
    int32_t m, const float *w, float *u, int64_t out_channels, int64_t in_channels, int64_t taps, int32_t flipped,
    int64_t u_plane, int64_t sliver_begin, int64_t sliver_end) {
    const int64_t R = CK_BRGEMM_ROWS, C = in_channels, depth = taps * in_channels;
    const int32_t planes = (m + 2) * (m + 2);
    // Two channels' sliver rows are one aligned line when these hold.
    const int streaming = ((uintptr_t)u % 64 == 0) && (u_plane % 16 == 0) && (depth % 2 == 0) && (C % 2 == 0);
    __m256 k[9], lo[36], hi[36];
    const float *rows[8];
    // The kernel of the sliver's lane `lane`, input channel c and tap a: w
    // is O × C × taps × 3 × 3, or, flipped, the forward weight C × O × taps
    // × 3 × 3 read from its last tap back.
#define KERNEL(lane, c, a)                                                                 \
    (flipped ? w + ((c) * out_channels + sliver * R + (lane)) * taps * 9 + (taps - 1 - (a)) * 9 \
             : w + ((sliver * R + (lane)) * C + (c)) * taps * 9 + (a) * 9)
    for (int64_t sliver = sliver_begin; sliver < sliver_end; sliver++) {
        const int64_t lanes = out_channels - sliver * R < R ? out_channels - sliver * R : R;
        // Per tap, every input channel (two at a time where their rows
        // make a line): each plane's lines are then written in order, one
        // run a plane (streaming stores run slower the more runs they
        // interleave).
        for (int64_t a = 0; a < taps; a++) {
            float *out = u + sliver * R * depth + a * C * R;
            for (int64_t c = 0; c < C;) {
                const int pair = streaming && c + 1 < C;
                for (int j = 0; j <= pair; j++) {
                    for (int l = 0; l < 8; l++) rows[l] = l < lanes ? KERNEL(l, c + j, a) : 0;
                    FN(wino_gather8)(rows, lanes, flipped, k);
                    FN(wino_kernels8)(m, k, j ? hi : lo);
                }
                for (int32_t p = 0; p < planes; p++) {
                    if (pair) {
                        __m512 line = _mm512_insertf32x8(_mm512_castps256_ps512(lo[p]), hi[p], 1);
                        _mm512_stream_ps(out + p * u_plane + c * R, line);
                    } else {
                        _mm256_storeu_ps(out + p * u_plane + c * R, lo[p]);
                    }
                }
                c += pair ? 2 : 1;
            }
        }
    }
#undef KERNEL
    _mm_sfence();
}

void ck_winograd_weights_packed_avx512(int32_t m, const float *w, float *u, int64_t out_channels,
                                       int64_t in_channels, int64_t taps, int32_t flipped, int64_t u_plane,
                                       int64_t sliver_begin, int64_t sliver_end) {
    if (m == 2) {
        packed_weights_fixed(2, w, u, out_channels, in_channels, taps, flipped, u_plane, sliver_begin, sliver_end);
    } else {
        packed_weights_fixed(4, w, u, out_channels, in_channels, taps, flipped, u_plane, sliver_begin, sliver_end);
    }
}
