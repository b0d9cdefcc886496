// ckernels.h's kernels at each SIMD level: each body (direct_conv_body.h,
// direct_grad_body.h, winograd_body.h, weights_body.h, batch_norm_body.h,
// pool_body.h; brgemm_body.h, packed_weights_body.h and
// direct_grad_lanes_body.h at AVX-512 only) is included once per
// level, with that level's vector operations and target.
#include "ckernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

// ---- AVX2 + FMA: 8 lanes ----
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VEC __m256
#define MASK __m256i
#define VW 8
#define FWD_VECTORS 2
#define GRAD_CO 2
#define GRAD_TAPS 6
#define FN(name) CAT(name, avx2)
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(a) _mm256_set1_ps(a)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define V_MASK_RANGE(lo, hi) _mm256_andnot_si256(V_MASK(lo), V_MASK(hi))
#define V_LOAD_MASKED(p, m) _mm256_maskload_ps(p, m)
// The first n lanes of v at p (all 8 when n ≥ 8, none when n ≤ 0), by
// plain stores of 4, 2 and 1 lanes: AVX2's masked store (vmaskmovps) is
// microcoded on AMD's cores, and in perf of r2plus1d-r50's step on Zen 3
// the row tails' masked stores took a third of the Winograd gather's
// samples and a quarter of the scatter's. (weights_body.h also calls it
// from its AVX-512 build, for 8-lane rows.)
static inline void store_first_avx2(float *p, __m256 v, int32_t n) {
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(p, part);
        part = _mm256_extractf128_ps(v, 1);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)p, part);
        part = _mm_movehl_ps(part, part);
        p += 2;
        n -= 2;
    }
    if (n >= 1) _mm_store_ss(p, part);
}
#define V_STORE_FIRST(p, v, n) store_first_avx2(p, v, n)
static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define V_HSUM(v) hsum_avx2(v)
// d where z > 0, else 0 (NaN z keeps d, as the Swift twin's `z <= 0` test).
// The even and the odd elements of a and b concatenated; the first and the
// second half of a and b interleaved (a₀ b₀ a₁ b₁ …).
#define V_EVEN(a, b) \
    _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8))
#define V_ODD(a, b) \
    _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8))
#define V_ZIP_LO(a, b) _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x20)
#define V_ZIP_HI(a, b) _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x31)
#define V_KEEP_WHERE_POSITIVE(z, d) _mm256_and_ps(_mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_NLE_UQ), d)
// d where z > 0, ordered (a NaN z drops d, as addReLU's gradient does).
#define V_KEEP_WHERE_ABOVE_ZERO(z, d) _mm256_and_ps(_mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ), d)
// Max pooling's running maxima and their offsets (small whole numbers, as floats).
#define V_TAKE_GREATER(best, offset, v, at)                          \
    do {                                                             \
        __m256 greater_ = _mm256_cmp_ps(v, best, _CMP_GT_OQ);        \
        best = _mm256_blendv_ps(best, v, greater_);                  \
        offset = _mm256_blendv_ps(offset, _mm256_set1_ps(at), greater_); \
    } while (0)
#define V_SELECT_EQUAL(offset, at, v) _mm256_and_ps(_mm256_cmp_ps(offset, _mm256_set1_ps(at), _CMP_EQ_OQ), v)
static inline void store_offsets_avx2(uint8_t *p, __m256 offset, int64_t lanes) {
    __m256i i = _mm256_cvttps_epi32(offset);
    __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    __m128i bytes = _mm_packus_epi16(words, words);
    if (lanes >= 8) {
        _mm_storel_epi64((__m128i *)p, bytes);
        return;
    }
    uint8_t all[16];
    _mm_storeu_si128((__m128i *)all, bytes);
    for (int64_t j = 0; j < lanes; j++) p[j] = all[j];
}
static inline __m256 load_offsets_avx2(const uint8_t *p, int64_t lanes) {
    uint8_t all[16] = {0};
    if (lanes >= 8) {
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
    }
    for (int64_t j = 0; j < lanes; j++) all[j] = p[j];
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)all)));
}
#define V_STORE_OFFSETS(p, offset, lanes) store_offsets_avx2(p, offset, lanes)
#define V_LOAD_OFFSETS(p, lanes) load_offsets_avx2(p, lanes)
#include "rows_body.h"
#include "direct_conv_body.h"
#include "direct_grad_body.h"
#include "winograd_body.h"
#include "weights_body.h"
#include "batch_norm_body.h"
#include "pool_body.h"
#undef VEC
#undef MASK
#undef VW
#undef FWD_VECTORS
#undef GRAD_CO
#undef GRAD_TAPS
#undef FN
#undef V_ZERO
#undef V_SET1
#undef V_LOAD
#undef V_BCAST
#undef V_STORE
#undef V_FMA
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_MAX
#undef V_MASK
#undef V_MASK_RANGE
#undef V_LOAD_MASKED
#undef V_STORE_FIRST
#undef V_HSUM
#undef V_KEEP_WHERE_POSITIVE
#undef V_KEEP_WHERE_ABOVE_ZERO
#undef V_EVEN
#undef V_ODD
#undef V_ZIP_LO
#undef V_ZIP_HI
#undef V_TAKE_GREATER
#undef V_SELECT_EQUAL
#undef V_STORE_OFFSETS
#undef V_LOAD_OFFSETS
#pragma clang attribute pop

// ---- AVX-512 (F, DQ, BW, VL): 16 lanes ----
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), \
                             apply_to = function)
#define VEC __m512
#define MASK __mmask16
#define VW 16
#define FWD_VECTORS 4
// The weight gradient's tile with the positions in the lanes: 4 channels ×
// 6 taps, 24 of the 32 registers (with 4 × 4, r3d50's stem dW at 112 took
// 1.27× as long: paired median). Stems of 64 channels or more take the
// channels in the lanes (direct_grad_lanes_body.h).
#define GRAD_CO 4
#define GRAD_TAPS 6
#define FN(name) CAT(name, avx512)
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(a) _mm512_set1_ps(a)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_MASK(n) ((__mmask16)((n) >= 16 ? 0xffffu : ((1u << (n)) - 1u)))
#define V_MASK_RANGE(lo, hi) ((__mmask16)(V_MASK(hi) & ~V_MASK(lo)))
#define V_LOAD_MASKED(p, m) _mm512_maskz_loadu_ps(m, p)
#define V_STORE_MASKED(p, v, m) _mm512_mask_storeu_ps(p, m, v)
// The first n lanes of v at p, for 0 ≤ n (all 16 when n ≥ 16).
#define V_STORE_FIRST(p, v, n) _mm512_mask_storeu_ps(p, V_MASK(n), v)
#define V_HSUM(v) _mm512_reduce_add_ps(v)
#define V_EVEN(a, b) \
    _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b)
#define V_ODD(a, b) \
    _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b)
#define V_ZIP_LO(a, b) \
    _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b)
#define V_ZIP_HI(a, b) \
    _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b)
#define V_KEEP_WHERE_POSITIVE(z, d) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_NLE_UQ), d)
#define V_KEEP_WHERE_ABOVE_ZERO(z, d) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), d)
#define V_TAKE_GREATER(best, offset, v, at)                                \
    do {                                                                   \
        __mmask16 greater_ = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);      \
        best = _mm512_mask_blend_ps(greater_, best, v);                    \
        offset = _mm512_mask_blend_ps(greater_, offset, _mm512_set1_ps(at)); \
    } while (0)
#define V_SELECT_EQUAL(offset, at, v) \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(offset, _mm512_set1_ps(at), _CMP_EQ_OQ), v)
#define V_STORE_OFFSETS(p, offset, lanes) \
    _mm_mask_storeu_epi8(p, V_MASK(lanes), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(offset)))
#define V_LOAD_OFFSETS(p, lanes) _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(V_MASK(lanes), p)))
#include "rows_body.h"
#include "direct_conv_body.h"
#include "direct_grad_body.h"
#include "winograd_body.h"
#include "weights_body.h"
#include "batch_norm_body.h"
#include "pool_body.h"
#include "brgemm_body.h"
#include "packed_weights_body.h"
#include "direct_grad_lanes_body.h"
#pragma clang attribute pop

#endif
