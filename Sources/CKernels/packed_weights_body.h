// Winograd's weight transform U = G w Gᵀ, packed for brgemm (ckernels.h,
// ck_winograd_weights_packed_avx512): levels.c includes this file in its
// AVX-512 target region, after brgemm_body.h. The Swift twin is
// winogradWeightsPacked in Tensor/Conv3dWinograd.swift: the same operations
// in the same order, so U equals it.
//
// U is 16 (F(2×2)) or 36 (F(4×4)) planes of O′ × kt·C floats (O rounded up
// to whole slivers of CK_BRGEMM_ROWS), megabytes apart, written once and
// read by brgemm later. Each plane's sliver rows of two adjacent input
// channels make one 64-byte line, written with a streaming store when the
// lines are aligned: a normal store first reads every line it writes (U is
// too large for the caches), which made the transform wait on memory.

/// G's rows applied to three 8-lane vectors (a, b, c) of kernel taps,
/// written to r[0 … m + 1], as WinogradF2.filter and WinogradF4.filter.
static inline __attribute__((always_inline)) void wino_filter8(int32_t m, __m256 a, __m256 b, __m256 c, __m256 *r) {
    if (m == 2) {
        const __m256 half = _mm256_set1_ps(0.5f);
        r[0] = a;
        r[1] = _mm256_mul_ps(half, _mm256_add_ps(_mm256_add_ps(a, b), c));
        r[2] = _mm256_mul_ps(half, _mm256_add_ps(_mm256_sub_ps(a, b), c));
        r[3] = c;
        return;
    }
    const __m256 sign = _mm256_set1_ps(-0.0f), six = _mm256_set1_ps(6.0f), twelve = _mm256_set1_ps(12.0f);
    __m256 ac = _mm256_add_ps(a, c);
    __m256 quarter = _mm256_add_ps(_mm256_div_ps(a, _mm256_set1_ps(24.0f)), _mm256_div_ps(c, six));
    __m256 b12 = _mm256_div_ps(b, twelve);
    r[0] = _mm256_div_ps(a, _mm256_set1_ps(4.0f));
    r[1] = _mm256_div_ps(_mm256_xor_ps(_mm256_add_ps(ac, b), sign), six);
    r[2] = _mm256_div_ps(_mm256_xor_ps(_mm256_sub_ps(ac, b), sign), six);
    r[3] = _mm256_add_ps(quarter, b12);
    r[4] = _mm256_sub_ps(quarter, b12);
    r[5] = c;
}

/// G k Gᵀ of the 8 kernels whose taps are k[0 … 9) (lanes over the
/// sliver's output channels): out[i · α + j].
static inline __attribute__((always_inline)) void wino_kernels8(int32_t m, const float *k, __m256 *out) {
    const int32_t alpha = m + 2;
    __m256 gk[6][3], column[6], row[6];
    for (int col = 0; col < 3; col++) {
        wino_filter8(m, _mm256_loadu_ps(k + col * 8), _mm256_loadu_ps(k + (3 + col) * 8),
                     _mm256_loadu_ps(k + (6 + col) * 8), column);
        for (int i = 0; i < alpha; i++) gk[i][col] = column[i];
    }
    for (int i = 0; i < alpha; i++) {
        wino_filter8(m, gk[i][0], gk[i][1], gk[i][2], row);
        for (int j = 0; j < alpha; j++) out[i * alpha + j] = row[j];
    }
}

/// The kernel for one tile size m, inlined with m a constant (as
/// winograd_body.h's *_fixed bodies): with m known at run time only, the
/// compiler moved each transformed row out with a call to memcpy (2.9% of
/// r3d50's step samples, beside the transform's 3.9%).
static inline __attribute__((always_inline)) void packed_weights_fixed(
    int32_t m, const float *w, float *u, int64_t out_channels, int64_t in_channels, int64_t taps, int32_t flipped,
    int64_t u_plane, int64_t sliver_begin, int64_t sliver_end, float *k) {
    const int64_t R = CK_BRGEMM_ROWS, C = in_channels, depth = taps * in_channels;
    const int32_t planes = (m + 2) * (m + 2);
    // Two channels' sliver rows are one aligned line when these hold.
    const int streaming = ((uintptr_t)u % 64 == 0) && (u_plane % 16 == 0) && (depth % 2 == 0) && (C % 2 == 0);
    __m256 lo[36], hi[36];
    for (int64_t sliver = sliver_begin; sliver < sliver_end; sliver++) {
        const int64_t lanes = out_channels - sliver * R < R ? out_channels - sliver * R : R;
        for (int64_t a = 0; a < taps; a++) {
            // k[c][i][lane]: the sliver's kernels of tap a, lanes past the last output channel 0.
            if (lanes < R) memset(k, 0, (size_t)(C * 9 * R) * sizeof(float));
            for (int64_t c = 0; c < C; c++) {
                for (int64_t lane = 0; lane < lanes; lane++) {
                    const int64_t o = sliver * R + lane;
                    const float *kernel =
                        flipped ? w + ((c * out_channels + o) * taps + (taps - 1 - a)) * 9 + 8 : w + ((o * C + c) * taps + a) * 9;
                    const int64_t step = flipped ? -1 : 1;
                    for (int i = 0; i < 9; i++) k[(c * 9 + i) * R + lane] = kernel[step * i];
                }
            }
            float *out = u + sliver * R * depth + a * C * R;
            int64_t c = 0;
            if (streaming) {
                for (; c + 1 < C; c += 2) {
                    wino_kernels8(m, k + c * 9 * R, lo);
                    wino_kernels8(m, k + (c + 1) * 9 * R, hi);
                    for (int32_t p = 0; p < planes; p++) {
                        __m512 line = _mm512_insertf32x8(_mm512_castps256_ps512(lo[p]), hi[p], 1);
                        _mm512_stream_ps(out + p * u_plane + c * R, line);
                    }
                }
            }
            for (; c < C; c++) {
                wino_kernels8(m, k + c * 9 * R, lo);
                for (int32_t p = 0; p < planes; p++) _mm256_storeu_ps(out + p * u_plane + c * R, lo[p]);
            }
        }
    }
    _mm_sfence();
}

void ck_winograd_weights_packed_avx512(int32_t m, const float *w, float *u, int64_t out_channels,
                                       int64_t in_channels, int64_t taps, int32_t flipped, int64_t u_plane,
                                       int64_t sliver_begin, int64_t sliver_end, float *k) {
    if (m == 2) {
        packed_weights_fixed(2, w, u, out_channels, in_channels, taps, flipped, u_plane, sliver_begin, sliver_end, k);
    } else {
        packed_weights_fixed(4, w, u, out_channels, in_channels, taps, flipped, u_plane, sliver_begin, sliver_end, k);
    }
}
