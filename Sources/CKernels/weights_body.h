// Winograd's weight transform U = G w Gᵀ with lanes over 8 kernels
// (ckernels.h, ck_winograd_weights_*), written once for every SIMD level:
// levels.c includes this file once per level, inside that level's target
// region. The 8-lane gather and transform below are also what
// packed_weights_body.h (AVX-512) packs for brgemm. The Swift twin is
// winogradWeights in Tensor/Conv3dWinograd.swift: the same operations in
// the same order, so U equals it.

/// G's rows applied to three 8-lane vectors (a, b, c) of kernel taps,
/// written to r[0 … m + 1], as WinogradF2.filter and WinogradF4.filter.
static inline __attribute__((always_inline)) void FN(wino_filter8)(int32_t m, __m256 a, __m256 b, __m256 c, __m256 *r) {
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
static inline __attribute__((always_inline)) void FN(wino_gather8)(const float *const *rows, int64_t lanes,
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

/// G k Gᵀ of the 8 kernels whose taps are k[0 … 9) (lanes over a sliver's
/// output channels, or over input channels): out[i · α + j].
static inline __attribute__((always_inline)) void FN(wino_kernels8)(int32_t m, const __m256 *k, __m256 *out) {
    const int32_t alpha = m + 2;
    __m256 gk[6][3], column[6], row[6];
    for (int col = 0; col < 3; col++) {
        FN(wino_filter8)(m, k[col], k[3 + col], k[6 + col], column);
        for (int i = 0; i < alpha; i++) gk[i][col] = column[i];
    }
    for (int i = 0; i < alpha; i++) {
        FN(wino_filter8)(m, gk[i][0], gk[i][1], gk[i][2], row);
        for (int j = 0; j < alpha; j++) out[i * alpha + j] = row[j];
    }
}

/// The kernel for one tile size m (inlined with m a constant, as the
/// packed one): U's plane p is O × taps·C, row o, column a·C + c; lanes
/// over 8 input channels, whose kernels are kt · 9 floats apart in w (O · kt
/// · 9 when flipped).
static inline __attribute__((always_inline)) void FN(weights_fixed)(int32_t m, const float *w, float *u,
                                                                   int64_t out_channels, int64_t in_channels,
                                                                   int64_t taps, int32_t flipped, int64_t first,
                                                                   int64_t last) {
    const int64_t C = in_channels, depth = taps * in_channels, plane = out_channels * depth;
    const int32_t planes = (m + 2) * (m + 2);
    __m256 k[9], out[36];
    const float *rows[8];
    for (int64_t o = first; o < last; o++) {
        for (int64_t a = 0; a < taps; a++) {
            float *row = u + o * depth + a * C;
            for (int64_t c = 0; c < C; c += 8) {
                const int64_t lanes = C - c < 8 ? C - c : 8;
                for (int l = 0; l < 8; l++) {
                    rows[l] = l >= lanes ? 0
                              : flipped  ? w + ((c + l) * out_channels + o) * taps * 9 + (taps - 1 - a) * 9
                                         : w + (o * C + c + l) * taps * 9 + a * 9;
                }
                FN(wino_gather8)(rows, lanes, flipped, k);
                FN(wino_kernels8)(m, k, out);
                for (int32_t p = 0; p < planes; p++) {
                    store_first_avx2(row + p * plane + c, out[p], (int32_t)lanes);
                }
            }
        }
    }
}

void FN(ck_winograd_weights)(int32_t m, const float *w, float *u, int64_t out_channels, int64_t in_channels,
                             int64_t taps, int32_t flipped, int64_t first, int64_t last) {
    if (m == 2) {
        FN(weights_fixed)(2, w, u, out_channels, in_channels, taps, flipped, first, last);
    } else {
        FN(weights_fixed)(4, w, u, out_channels, in_channels, taps, flipped, first, last);
    }
}
