// Max pooling over 2 × 2 windows (× 1 or 2 frames) at their own stride, the
// pools of kth3l (ckernels.h, ck_max_pool_pairs*), written once for every SIMD
// level: levels.c includes this file once per level, inside that level's
// target region, with VEC, MASK, VW, FN and the V_* operations defined. The
// Swift twins are PoolWindows.maxOfPairs and scatterPairs in
// Tensor/Pooling.swift, and, for batch norm's backward pass through the
// fused pool (ck_bn_pool_gradient_sums, the scatter with a
// ck_bn_backward_map), FusedPool's in Tensor/BatchNormPool.swift.

/// Row r of the window's 2·frames rows (frame r / 2, row r mod 2) from the
/// window row's origin.
#define P_ROW(origin, r) ((origin) + ((r) >> 1) * plane_rows + ((r) & 1) * in_w)

void FN(ck_max_pool_pairs)(const float *x, float *y, uint8_t *argmax, int32_t frames, int64_t in_h, int64_t in_w,
                           int64_t out_t, int64_t out_h, int64_t out_w, int32_t relu_affine, float scale,
                           float shift) {
    const int64_t plane_rows = in_h * in_w;
    const VEC vscale = V_SET1(scale), vshift = V_SET1(shift);
    for (int64_t a = 0; a < out_t; a++) {
        for (int64_t b = 0; b < out_h; b++) {
            const float *origin = x + (a * frames * in_h + 2 * b) * in_w;
            int64_t out = (a * out_h + b) * out_w;
            for (int64_t d = 0; d < out_w; d += VW) {
                int64_t lanes = out_w - d, left = 2 * lanes;
                VEC best = V_ZERO(), offset = V_ZERO();
                // In offset order (2·r + k: row r, column k), the first value,
                // then strictly greater ones: the first maximum wins ties.
                for (int32_t r = 0; r < 2 * frames; r++) {
                    const float *row = P_ROW(origin, r) + 2 * d;
                    VEC lo = FN(row_load)(row, left), hi = FN(row_load)(row + VW, left - VW);
                    if (relu_affine) {
                        // max(0, x·scale + shift): ck_bn_affine's operations, in its order.
                        lo = V_MAX(V_ZERO(), V_ADD(V_MUL(lo, vscale), vshift));
                        hi = V_MAX(V_ZERO(), V_ADD(V_MUL(hi, vscale), vshift));
                    }
                    VEC even = V_EVEN(lo, hi), odd = V_ODD(lo, hi);
                    if (r == 0) {
                        best = even;
                    } else {
                        V_TAKE_GREATER(best, offset, even, (float)(2 * r));
                    }
                    V_TAKE_GREATER(best, offset, odd, (float)(2 * r + 1));
                }
                FN(row_store)(y + out + d, best, lanes);
                V_STORE_OFFSETS(argmax + out + d, offset, lanes);
            }
        }
    }
}

/// BN's map of the backward pass (ck_bn_backward_map) as vectors.
typedef struct {
    VEC k, shift, a, b, mean, inv_std;
    int32_t training;
} FN(bn_map);

/// ck_bn_input_gradient's dx (with `relu`) of a vector of x and its dz.
static inline VEC FN(bn_relu_dx)(const FN(bn_map) *m, VEC dz, VEC v) {
    VEC d = V_KEEP_WHERE_POSITIVE(V_ADD(V_MUL(v, m->k), m->shift), dz);
    if (!m->training) return V_MUL(m->k, d);
    return V_MUL(m->k, V_SUB(V_SUB(d, m->a), V_MUL(V_MUL(V_SUB(v, m->mean), m->inv_std), m->b)));
}

void FN(ck_max_pool_pairs_backward)(const float *dy, const uint8_t *argmax, float *dx, int32_t frames, int64_t in_t,
                                    int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w,
                                    int32_t accumulate, const ck_bn_backward_map *bn) {
    const int64_t plane_rows = in_h * in_w;
    // Loaded once: dx's stores could alias *bn.
    FN(bn_map) map = {V_ZERO(), V_ZERO(), V_ZERO(), V_ZERO(), V_ZERO(), V_ZERO(), 0};
    const float *bn_x = bn ? bn->x : NULL;
    if (bn) {
        map = (FN(bn_map)){V_SET1(bn->k),    V_SET1(bn->shift),   V_SET1(bn->a), V_SET1(bn->b),
                           V_SET1(bn->mean), V_SET1(bn->inv_std), bn->training};
    }
    if (!accumulate) {
        // What no window covers: the columns past 2 · out_w, the rows past
        // 2 · out_h, the frames past frames · out_t.
        for (int64_t f = 0; f < in_t; f++) {
            float *plane = dx + f * plane_rows;
            if (f >= frames * out_t) {
                memset(plane, 0, (size_t)plane_rows * sizeof(float));
                continue;
            }
            for (int64_t r = 0; r < in_h; r++) {
                int64_t from = r < 2 * out_h ? 2 * out_w : 0;
                if (from < in_w) memset(plane + r * in_w + from, 0, (size_t)(in_w - from) * sizeof(float));
            }
        }
    }
    for (int64_t a = 0; a < out_t; a++) {
        for (int64_t b = 0; b < out_h; b++) {
            float *origin = dx + (a * frames * in_h + 2 * b) * in_w;
            int64_t out = (a * out_h + b) * out_w;
            for (int64_t d = 0; d < out_w; d += VW) {
                int64_t lanes = out_w - d, left = 2 * lanes;
                VEC g = FN(row_load)(dy + out + d, lanes);
                VEC offset = V_LOAD_OFFSETS(argmax + out + d, lanes);
                for (int32_t r = 0; r < 2 * frames; r++) {
                    float *row = P_ROW(origin, r) + 2 * d;
                    VEC even = V_SELECT_EQUAL(offset, (float)(2 * r), g);
                    VEC odd = V_SELECT_EQUAL(offset, (float)(2 * r + 1), g);
                    VEC lo = V_ZIP_LO(even, odd), hi = V_ZIP_HI(even, odd);
                    if (bn_x) {
                        const float *x_row = bn_x + (row - dx);
                        lo = FN(bn_relu_dx)(&map, lo, FN(row_load)(x_row, left));
                        hi = FN(bn_relu_dx)(&map, hi, FN(row_load)(x_row + VW, left - VW));
                    }
                    if (accumulate) {
                        lo = V_ADD(FN(row_load)(row, left), lo);
                        hi = V_ADD(FN(row_load)(row + VW, left - VW), hi);
                    }
                    FN(row_store)(row, lo, left);
                    FN(row_store)(row + VW, hi, left - VW);
                }
            }
        }
    }
}

/// The x of each window's argmax, for the windows of one row from d on
/// (lanes past `lanes` are 0).
static inline VEC FN(pool_argmax_values)(const float *origin, VEC offset, int32_t frames, int64_t plane_rows,
                                          int64_t in_w, int64_t d, int64_t lanes) {
    VEC picked = V_ZERO();
    for (int32_t r = 0; r < 2 * frames; r++) {
        const float *row = P_ROW(origin, r) + 2 * d;
        VEC lo = FN(row_load)(row, 2 * lanes), hi = FN(row_load)(row + VW, 2 * lanes - VW);
        picked = V_ADD(picked, V_SELECT_EQUAL(offset, (float)(2 * r), V_EVEN(lo, hi)));
        picked = V_ADD(picked, V_SELECT_EQUAL(offset, (float)(2 * r + 1), V_ODD(lo, hi)));
    }
    return picked;
}

void FN(ck_bn_pool_gradient_sums)(const float *dy, const uint8_t *argmax, const float *x, int32_t frames,
                                  int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w,
                                  float mean, float inv_std, float k, float shift, float *sums) {
    const int64_t plane_rows = in_h * in_w;
    const VEC vmean = V_SET1(mean), vinv = V_SET1(inv_std), vk = V_SET1(k), vshift = V_SET1(shift);
    VEC sum_dz = V_ZERO(), sum_dz_xhat = V_ZERO();
    for (int64_t a = 0; a < out_t; a++) {
        for (int64_t b = 0; b < out_h; b++) {
            const float *origin = x + (a * frames * in_h + 2 * b) * in_w;
            int64_t out = (a * out_h + b) * out_w;
            for (int64_t d = 0; d < out_w; d += VW) {
                int64_t lanes = out_w - d;
                VEC g = FN(row_load)(dy + out + d, lanes);
                VEC offset = V_LOAD_OFFSETS(argmax + out + d, lanes);
                VEC v = FN(pool_argmax_values)(origin, offset, frames, plane_rows, in_w, d, lanes);
                VEC dz = V_KEEP_WHERE_POSITIVE(V_ADD(V_MUL(v, vk), vshift), g);
                sum_dz = V_ADD(sum_dz, dz);
                sum_dz_xhat = V_FMA(dz, V_MUL(V_SUB(v, vmean), vinv), sum_dz_xhat);
            }
        }
    }
    sums[0] = V_HSUM(sum_dz);
    sums[1] = V_HSUM(sum_dz_xhat);
}

#undef P_ROW
