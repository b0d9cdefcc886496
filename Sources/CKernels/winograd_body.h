// Winograd's one-dimensional maps and its tiles' gathers and scatters along
// a row (ckernels.h, ck_winograd_*), written once for every SIMD level: levels.c includes this file once per level,
// inside that level's target region, with VEC, MASK, VW, FN and the V_*
// operations defined. Each map is the same arithmetic as its Swift twin in
// Tensor/WinogradTransforms.swift.

/// Lanes i … i + VW − 1 of map input j (the last vector masked to `k` lanes).
#define W_IN(j) (k == VW ? V_LOAD(src + (j) * src_stride + i) : V_LOAD_MASKED(src + (j) * src_stride + i, mask))
#define W_OUT(r, value)                                                  \
    do {                                                                 \
        VEC out_ = (value);                                              \
        if (k == VW) {                                                   \
            V_STORE(dst + (r) * dst_stride + i, out_);                   \
        } else {                                                         \
            V_STORE_MASKED(dst + (r) * dst_stride + i, out_, mask);      \
        }                                                                \
    } while (0)
#define W_LANES(...)                                         \
    for (int64_t i = 0; i < n; i += VW) {                    \
        int32_t k = n - i < VW ? (int32_t)(n - i) : VW;      \
        MASK mask = V_MASK(k);                               \
        (void)mask;                                          \
        __VA_ARGS__                                          \
    }
#define W_MUL(c, v) V_MUL(V_SET1(c), v)

void FN(ck_winograd_map)(int32_t m, int32_t kind, const float *src, int64_t src_stride, float *dst,
                         int64_t dst_stride, int64_t n) {
    if (m == 2 && kind == CK_WINOGRAD_INPUT) {
        W_LANES({
            VEC d0 = W_IN(0), d1 = W_IN(1), d2 = W_IN(2), d3 = W_IN(3);
            W_OUT(0, V_SUB(d0, d2));
            W_OUT(1, V_ADD(d1, d2));
            W_OUT(2, V_SUB(d2, d1));
            W_OUT(3, V_SUB(d1, d3));
        })
    } else if (m == 2 && kind == CK_WINOGRAD_OUTPUT) {
        W_LANES({
            VEC p0 = W_IN(0), p1 = W_IN(1), p2 = W_IN(2), p3 = W_IN(3);
            W_OUT(0, V_ADD(V_ADD(p0, p1), p2));
            W_OUT(1, V_SUB(V_SUB(p1, p2), p3));
        })
    } else if (m == 2 && kind == CK_WINOGRAD_OUTPUT_GRADIENT) {
        W_LANES({
            VEC y0 = W_IN(0), y1 = W_IN(1);
            W_OUT(0, y0);
            W_OUT(1, V_ADD(y0, y1));
            W_OUT(2, V_SUB(y0, y1));
            W_OUT(3, V_SUB(V_ZERO(), y1));
        })
    } else if (m == 4 && kind == CK_WINOGRAD_INPUT) {
        W_LANES({
            VEC d0 = W_IN(0), d1 = W_IN(1), d2 = W_IN(2), d3 = W_IN(3), d4 = W_IN(4), d5 = W_IN(5);
            VEC e = V_SUB(d4, d2), f = V_SUB(d1, d3);
            W_OUT(0, V_ADD(V_SUB(W_MUL(4.0f, d0), W_MUL(5.0f, d2)), d4));
            W_OUT(1, V_SUB(V_ADD(d3, d4), W_MUL(4.0f, V_ADD(d1, d2))));
            W_OUT(2, V_ADD(V_SUB(d4, d3), W_MUL(4.0f, V_SUB(d1, d2))));
            W_OUT(3, V_SUB(e, W_MUL(2.0f, f)));
            W_OUT(4, V_ADD(e, W_MUL(2.0f, f)));
            W_OUT(5, V_ADD(V_SUB(W_MUL(4.0f, d1), W_MUL(5.0f, d3)), d5));
        })
    } else if (m == 4 && kind == CK_WINOGRAD_OUTPUT) {
        W_LANES({
            VEC p0 = W_IN(0), p1 = W_IN(1), p2 = W_IN(2), p3 = W_IN(3), p4 = W_IN(4), p5 = W_IN(5);
            VEC s12 = V_ADD(p1, p2), d12 = V_SUB(p1, p2), s34 = V_ADD(p3, p4), d34 = V_SUB(p3, p4);
            W_OUT(0, V_ADD(V_ADD(p0, s12), s34));
            W_OUT(1, V_ADD(d12, W_MUL(2.0f, d34)));
            W_OUT(2, V_ADD(s12, W_MUL(4.0f, s34)));
            W_OUT(3, V_ADD(V_ADD(d12, W_MUL(8.0f, d34)), p5));
        })
    } else if (m == 4 && kind == CK_WINOGRAD_OUTPUT_GRADIENT) {
        W_LANES({
            VEC y0 = W_IN(0), y1 = W_IN(1), y2 = W_IN(2), y3 = W_IN(3);
            VEC even = V_ADD(y0, y2), odd = V_ADD(y1, y3);
            VEC even4 = V_ADD(y0, W_MUL(4.0f, y2)), odd8 = V_ADD(W_MUL(2.0f, y1), W_MUL(8.0f, y3));
            W_OUT(0, y0);
            W_OUT(1, V_ADD(even, odd));
            W_OUT(2, V_SUB(even, odd));
            W_OUT(3, V_ADD(even4, odd8));
            W_OUT(4, V_SUB(even4, odd8));
            W_OUT(5, y3);
        })
    }
}

#undef W_IN
#undef W_OUT
#undef W_LANES
#undef W_MUL

/// Element j < taps of each of `count` tiles m apart along a row whose
/// element x is row[x − shift] for 0 ≤ x − shift < width, else 0 (all 0 when
/// row is NULL): dst[j · dst_stride + t] = element m · t + j.
static inline void FN(gather_row)(int32_t m, int32_t taps, const float *row, int64_t shift, int64_t width,
                                  int64_t count, float *dst, int64_t dst_stride) {
    for (int64_t t0 = 0; t0 < count; t0 += VW) {
        // For j = g + q, phase q of the row from element g, split by m.
        for (int32_t g = 0; g < taps; g += m) {
            VEC v[4];
            for (int32_t q = 0; q < m; q++) {
                int64_t x = g + m * t0 + q * VW - shift;  // row index of lane 0
                v[q] = row == NULL ? V_ZERO() : FN(row_load_range)(row + x, -x, width - x);
            }
            VEC phase[4];
            if (m == 2) {
                phase[0] = V_EVEN(v[0], v[1]);
                phase[1] = V_ODD(v[0], v[1]);
            } else {
                VEC even_ab = V_EVEN(v[0], v[1]), odd_ab = V_ODD(v[0], v[1]);
                VEC even_cd = V_EVEN(v[2], v[3]), odd_cd = V_ODD(v[2], v[3]);
                phase[0] = V_EVEN(even_ab, even_cd);
                phase[1] = V_EVEN(odd_ab, odd_cd);
                phase[2] = V_ODD(even_ab, even_cd);
                phase[3] = V_ODD(odd_ab, odd_cd);
            }
            for (int32_t q = 0; q < m && g + q < taps; q++) {
                FN(row_store)(dst + (g + q) * dst_stride + t0, phase[q], count - t0);
            }
        }
    }
}

void FN(ck_winograd_gather_frame)(int32_t m, int32_t taps, const float *frame, int64_t height, int64_t width,
                                  int64_t pad_h, int64_t pad_w, int64_t tiles_h, int64_t tiles_w, float *dst,
                                  int64_t dst_stride) {
    for (int64_t r = 0; r < m * tiles_h + taps - m; r++) {
        int64_t h = r - pad_h;
        const float *row = frame != NULL && h >= 0 && h < height ? frame + h * width : NULL;
        // Row r is row i = r − m · ty of the tiles of tile row ty, for every ty with 0 ≤ i < taps.
        int64_t first = r - taps + m < 0 ? 0 : (r - taps + m) / m;
        int64_t last = r / m < tiles_h - 1 ? r / m : tiles_h - 1;
        for (int64_t ty = first; ty <= last; ty++) {
            int64_t i = r - m * ty;
            FN(gather_row)(m, taps, row, pad_w, width, tiles_w, dst + i * taps * dst_stride + ty * tiles_w, dst_stride);
        }
    }
}

void FN(ck_winograd_scatter)(int32_t m, const float *src, int64_t src_stride, int64_t count, float *dst,
                             int64_t width, int32_t accumulate) {
    // The tiles' elements that the row holds.
    if (width > m * count) width = m * count;
    for (int64_t t0 = 0; t0 < count; t0 += VW) {
        VEC phase[4], out[4];
        for (int32_t q = 0; q < m; q++) phase[q] = FN(row_load)(src + q * src_stride + t0, count - t0);
        if (m == 2) {
            out[0] = V_ZIP_LO(phase[0], phase[1]);
            out[1] = V_ZIP_HI(phase[0], phase[1]);
        } else {
            VEC even_lo = V_ZIP_LO(phase[0], phase[2]), even_hi = V_ZIP_HI(phase[0], phase[2]);
            VEC odd_lo = V_ZIP_LO(phase[1], phase[3]), odd_hi = V_ZIP_HI(phase[1], phase[3]);
            out[0] = V_ZIP_LO(even_lo, odd_lo);
            out[1] = V_ZIP_HI(even_lo, odd_lo);
            out[2] = V_ZIP_LO(even_hi, odd_hi);
            out[3] = V_ZIP_HI(even_hi, odd_hi);
        }
        for (int32_t q = 0; q < m; q++) {
            float *d = dst + m * t0 + q * VW;
            int64_t left = width - (m * t0 + q * VW);
            if (left <= 0) break;
            VEC v = accumulate ? V_ADD(FN(row_load)(d, left), out[q]) : out[q];
            FN(row_store)(d, v, left);
        }
    }
}
