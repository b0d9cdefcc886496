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
    // G's fractions as multipliers, as WinogradF4.Reciprocal has them (a
    // division costs several multiplications' time).
    const __m256 sign = _mm256_set1_ps(-0.0f), sixth = _mm256_set1_ps(1.0f / 6.0f);
    const __m256 twelfth = _mm256_set1_ps(1.0f / 12.0f), twentyfourth = _mm256_set1_ps(1.0f / 24.0f);
    __m256 ac = _mm256_add_ps(a, c);
    __m256 quarter = _mm256_add_ps(_mm256_mul_ps(a, twentyfourth), _mm256_mul_ps(c, sixth));
    __m256 b12 = _mm256_mul_ps(b, twelfth);
    r[0] = _mm256_mul_ps(a, _mm256_set1_ps(0.25f));
    r[1] = _mm256_mul_ps(_mm256_xor_ps(_mm256_add_ps(ac, b), sign), sixth);
    r[2] = _mm256_mul_ps(_mm256_xor_ps(_mm256_sub_ps(ac, b), sign), sixth);
    r[3] = _mm256_add_ps(quarter, b12);
    r[4] = _mm256_sub_ps(quarter, b12);
    r[5] = c;
}

/// The 3 × 3 kernels at rows[lane] for lane < lanes (0 in the other
/// lanes) as 9 vectors of lanes: k[i] holds tap i of every kernel, or tap
/// 8 − i when `reversed` (the flipped kernel): an 8 × 8 transpose of the
/// rows' first 8 taps, and the ninth gathered. (It replaced 9 scalar copies
/// a kernel into a scratch of lanes, loaded as vectors after.)
static inline __attribute__((always_inline)) void wino_gather8(const float *const *rows, int64_t lanes,
                                                                int32_t reversed, __m256 *k) {
    __m256 r[8], t[8], s[8];
    float ninth[8];
    for (int l = 0; l < 8; l++) {
        r[l] = l < lanes ? _mm256_loadu_ps(rows[l]) : _mm256_setzero_ps();
        ninth[l] = l < lanes ? rows[l][8] : 0.0f;
    }
    for (int l = 0; l < 8; l += 2) {
        t[l] = _mm256_unpacklo_ps(r[l], r[l + 1]);
        t[l + 1] = _mm256_unpackhi_ps(r[l], r[l + 1]);
    }
    for (int l = 0; l < 8; l += 4) {
        s[l] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[l + 1] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[l + 2] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[l + 3] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    __m256 e[9];
    for (int i = 0; i < 4; i++) {
        e[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        e[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
    e[8] = _mm256_set_ps(ninth[7], ninth[6], ninth[5], ninth[4], ninth[3], ninth[2], ninth[1], ninth[0]);
    for (int i = 0; i < 9; i++) k[i] = e[reversed ? 8 - i : i];
}

/// G k Gᵀ of the 8 kernels whose taps are k[0 … 9) (lanes over the
/// sliver's output channels): out[i · α + j].
static inline __attribute__((always_inline)) void wino_kernels8(int32_t m, const __m256 *k, __m256 *out) {
    const int32_t alpha = m + 2;
    __m256 gk[6][3], column[6], row[6];
    for (int col = 0; col < 3; col++) {
        wino_filter8(m, k[col], k[3 + col], k[6 + col], column);
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
                    wino_gather8(rows, lanes, flipped, k);
                    wino_kernels8(m, k, j ? hi : lo);
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
