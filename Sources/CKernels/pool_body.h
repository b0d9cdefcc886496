// Max pooling over 2 × 2 windows (× 1 or 2 frames) at their own stride, the
// pools of kth3l (ckernels.h, ck_max_pool_pairs*), written once for every SIMD
// level: levels.c includes this file once per level, inside that level's
// target region, with VEC, MASK, VW, FN and the V_* operations defined. The
// Swift twins are PoolWindows.maxOfPairs and scatterPairs in
// Tensor/Pooling.swift.

/// Row r of the window's 2·frames rows (frame r / 2, row r mod 2) from the
/// window row's origin.
#define P_ROW(origin, r) ((origin) + ((r) >> 1) * plane_rows + ((r) & 1) * in_w)

void FN(ck_max_pool_pairs)(const float *x, float *y, uint8_t *argmax, int32_t frames, int64_t in_h, int64_t in_w,
                           int64_t out_t, int64_t out_h, int64_t out_w) {
    const int64_t plane_rows = in_h * in_w;
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

void FN(ck_max_pool_pairs_backward)(const float *dy, const uint8_t *argmax, float *dx, int32_t frames, int64_t in_t,
                                    int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w,
                                    int32_t accumulate) {
    const int64_t plane_rows = in_h * in_w;
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

#undef P_ROW
