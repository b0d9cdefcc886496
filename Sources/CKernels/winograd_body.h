// Winograd's one-dimensional maps, and the gathers and scatters that run the
// maps across a frame's tiles on the way in and out (ckernels.h,
// ck_winograd_*), written once for every SIMD level: levels.c includes this
// file once per level, inside that level's target region, with VEC, MASK, VW,
// FN and the V_* operations defined. Each map is the same arithmetic as its
// Swift twin in Tensor/WinogradTransforms.swift, so the results are equal.

#define W_MUL(c, v) V_MUL(V_SET1(c), v)

/// Inputs of map `kind` of F(m×m, 3×3): α = m + 2, or m for A.
static inline int32_t FN(wino_inputs)(int32_t m, int32_t kind) { return kind == CK_WINOGRAD_OUTPUT_GRADIENT ? m : m + 2; }
/// Its outputs: m for Aᵀ, else α.
static inline int32_t FN(wino_outputs)(int32_t m, int32_t kind) { return kind == CK_WINOGRAD_OUTPUT ? m : m + 2; }

/// y = map(x) on whole vectors: Bᵀ (α → α), Aᵀ (α → m) or A (m → α).
static inline __attribute__((always_inline)) void FN(wino_apply)(int32_t m, int32_t kind, const VEC *x, VEC *y) {
    if (m == 2 && kind == CK_WINOGRAD_INPUT) {
        y[0] = V_SUB(x[0], x[2]);
        y[1] = V_ADD(x[1], x[2]);
        y[2] = V_SUB(x[2], x[1]);
        y[3] = V_SUB(x[1], x[3]);
    } else if (m == 2 && kind == CK_WINOGRAD_OUTPUT) {
        y[0] = V_ADD(V_ADD(x[0], x[1]), x[2]);
        y[1] = V_SUB(V_SUB(x[1], x[2]), x[3]);
    } else if (m == 2 && kind == CK_WINOGRAD_OUTPUT_GRADIENT) {
        y[0] = x[0];
        y[1] = V_ADD(x[0], x[1]);
        y[2] = V_SUB(x[0], x[1]);
        y[3] = V_SUB(V_ZERO(), x[1]);
    } else if (m == 4 && kind == CK_WINOGRAD_INPUT) {
        VEC d0 = x[0], d1 = x[1], d2 = x[2], d3 = x[3], d4 = x[4], d5 = x[5];
        VEC e = V_SUB(d4, d2), f = V_SUB(d1, d3);
        y[0] = V_ADD(V_SUB(W_MUL(4.0f, d0), W_MUL(5.0f, d2)), d4);
        y[1] = V_SUB(V_ADD(d3, d4), W_MUL(4.0f, V_ADD(d1, d2)));
        y[2] = V_ADD(V_SUB(d4, d3), W_MUL(4.0f, V_SUB(d1, d2)));
        y[3] = V_SUB(e, W_MUL(2.0f, f));
        y[4] = V_ADD(e, W_MUL(2.0f, f));
        y[5] = V_ADD(V_SUB(W_MUL(4.0f, d1), W_MUL(5.0f, d3)), d5);
    } else if (m == 4 && kind == CK_WINOGRAD_OUTPUT) {
        VEC p0 = x[0], p5 = x[5];
        VEC s12 = V_ADD(x[1], x[2]), d12 = V_SUB(x[1], x[2]), s34 = V_ADD(x[3], x[4]), d34 = V_SUB(x[3], x[4]);
        y[0] = V_ADD(V_ADD(p0, s12), s34);
        y[1] = V_ADD(d12, W_MUL(2.0f, d34));
        y[2] = V_ADD(s12, W_MUL(4.0f, s34));
        y[3] = V_ADD(V_ADD(d12, W_MUL(8.0f, d34)), p5);
    } else if (m == 4 && kind == CK_WINOGRAD_OUTPUT_GRADIENT) {
        VEC y0 = x[0], y1 = x[1], y2 = x[2], y3 = x[3];
        VEC even = V_ADD(y0, y2), odd = V_ADD(y1, y3);
        VEC even4 = V_ADD(y0, W_MUL(4.0f, y2)), odd8 = V_ADD(W_MUL(2.0f, y1), W_MUL(8.0f, y3));
        y[0] = y0;
        y[1] = V_ADD(even, odd);
        y[2] = V_SUB(even, odd);
        y[3] = V_ADD(even4, odd8);
        y[4] = V_SUB(even4, odd8);
        y[5] = y3;
    }
}

// The kernels below take m and the map at run time and call a body inlined
// for each constant pair, so that its loops unroll and its vector arrays stay
// in registers.
#define W_FOR_EACH_MAP(m, kind, body, ...)                                          \
    do {                                                                           \
        if ((m) == 2 && (kind) == CK_WINOGRAD_INPUT) {                             \
            body(2, CK_WINOGRAD_INPUT, __VA_ARGS__);                               \
        } else if ((m) == 2 && (kind) == CK_WINOGRAD_OUTPUT) {                     \
            body(2, CK_WINOGRAD_OUTPUT, __VA_ARGS__);                              \
        } else if ((m) == 2 && (kind) == CK_WINOGRAD_OUTPUT_GRADIENT) {            \
            body(2, CK_WINOGRAD_OUTPUT_GRADIENT, __VA_ARGS__);                     \
        } else if ((m) == 4 && (kind) == CK_WINOGRAD_INPUT) {                      \
            body(4, CK_WINOGRAD_INPUT, __VA_ARGS__);                               \
        } else if ((m) == 4 && (kind) == CK_WINOGRAD_OUTPUT) {                     \
            body(4, CK_WINOGRAD_OUTPUT, __VA_ARGS__);                              \
        } else if ((m) == 4 && (kind) == CK_WINOGRAD_OUTPUT_GRADIENT) {            \
            body(4, CK_WINOGRAD_OUTPUT_GRADIENT, __VA_ARGS__);                     \
        }                                                                          \
    } while (0)

static inline __attribute__((always_inline)) void FN(map_fixed)(const int32_t m, const int32_t kind, const float *src,
                                                                int64_t src_stride, float *dst, int64_t dst_stride,
                                                                int64_t n) {
    const int32_t inputs = FN(wino_inputs)(m, kind), outputs = FN(wino_outputs)(m, kind);
    for (int64_t i = 0; i < n; i += VW) {
        VEC x[6], y[6];
        for (int32_t j = 0; j < inputs; j++) x[j] = FN(row_load)(src + j * src_stride + i, n - i);
        FN(wino_apply)(m, kind, x, y);
        for (int32_t r = 0; r < outputs; r++) FN(row_store)(dst + r * dst_stride + i, y[r], n - i);
    }
}

void FN(ck_winograd_map)(int32_t m, int32_t kind, const float *src, int64_t src_stride, float *dst,
                         int64_t dst_stride, int64_t n) {
    W_FOR_EACH_MAP(m, kind, FN(map_fixed), src, src_stride, dst, dst_stride, n);
}

/// The elements j < taps (the map's inputs) of `count` tiles m apart along a
/// row whose element x is row[x − shift] for 0 ≤ x − shift < width, else 0
/// (all 0 when row is NULL), then map `kind` across them: output l of tile t
/// to dst[l · dst_stride + t].
static inline __attribute__((always_inline)) void FN(gather_row)(const int32_t m, const int32_t kind,
                                                                 const float *row, int64_t shift, int64_t width,
                                                                 int64_t count, float *dst, int64_t dst_stride) {
    const int32_t taps = FN(wino_inputs)(m, kind), outputs = FN(wino_outputs)(m, kind);
    for (int64_t t0 = 0; t0 < count; t0 += VW) {
        VEC column[6], mapped[6];
        // For j = g + q, phase q of the row from element g, split by m.
        for (int32_t g = 0; g < taps; g += m) {
            VEC v[4];
            for (int32_t q = 0; q < m; q++) {
                int64_t x = g + m * t0 + q * VW - shift;  // row index of lane 0
                v[q] = row == NULL ? V_ZERO() : FN(row_load_range)(row + x, -x, width - x);
            }
            VEC phase[4];
            FN(split_phases)(m, v, phase);
            for (int32_t q = 0; q < m && g + q < taps; q++) column[g + q] = phase[q];
        }
        FN(wino_apply)(m, kind, column, mapped);
        for (int32_t l = 0; l < outputs; l++) FN(row_store)(dst + l * dst_stride + t0, mapped[l], count - t0);
    }
}

static inline __attribute__((always_inline)) void FN(gather_frame_fixed)(
    const int32_t m, const int32_t kind, const float *frame, int64_t height, int64_t width, int64_t pad_h,
    int64_t pad_w, int64_t tiles_h, int64_t tiles_w, float *dst, int64_t dst_stride) {
    const int32_t taps = FN(wino_inputs)(m, kind), outputs = FN(wino_outputs)(m, kind);
    for (int64_t r = 0; r < m * tiles_h + taps - m; r++) {
        int64_t h = r - pad_h;
        const float *row = frame != NULL && h >= 0 && h < height ? frame + h * width : NULL;
        // Row r is row i = r − m · ty of the tiles of tile row ty, for every ty with 0 ≤ i < taps.
        int64_t first = r - taps + m < 0 ? 0 : (r - taps + m) / m;
        int64_t last = r / m < tiles_h - 1 ? r / m : tiles_h - 1;
        for (int64_t ty = first; ty <= last; ty++) {
            int64_t i = r - m * ty;
            FN(gather_row)(m, kind, row, pad_w, width, tiles_w, dst + i * outputs * dst_stride + ty * tiles_w,
                           dst_stride);
        }
    }
}

void FN(ck_winograd_gather_frame)(int32_t m, int32_t kind, const float *frame, int64_t height, int64_t width,
                                  int64_t pad_h, int64_t pad_w, int64_t tiles_h, int64_t tiles_w, float *dst,
                                  int64_t dst_stride) {
    W_FOR_EACH_MAP(m, kind, FN(gather_frame_fixed), frame, height, width, pad_h, pad_w, tiles_h, tiles_w, dst,
                   dst_stride);
}

static inline __attribute__((always_inline)) void FN(scatter_frame_fixed)(
    const int32_t m, const float *src, int64_t src_stride, float *frame, int64_t height, int64_t width,
    int64_t tiles_h, int64_t tiles_w, int32_t accumulate) {
    const int32_t alpha = m + 2;
    // The tiles' elements that a row holds.
    const int64_t held = width < m * tiles_w ? width : m * tiles_w;
    for (int64_t ty = 0; ty < tiles_h; ty++) {
        for (int64_t r = 0; r < m && m * ty + r < height; r++) {
            const float *s = src + r * alpha * src_stride + ty * tiles_w;
            float *row = frame + (m * ty + r) * width;
            for (int64_t t0 = 0; t0 < tiles_w; t0 += VW) {
                VEC x[6], phase[4], out[4];
                for (int32_t l = 0; l < alpha; l++) x[l] = FN(row_load)(s + l * src_stride + t0, tiles_w - t0);
                FN(wino_apply)(m, CK_WINOGRAD_OUTPUT, x, phase);
                FN(join_phases)(m, phase, out);
                for (int32_t q = 0; q < m; q++) {
                    float *d = row + m * t0 + q * VW;
                    int64_t left = held - (m * t0 + q * VW);
                    if (left <= 0) break;
                    VEC v = accumulate ? V_ADD(FN(row_load)(d, left), out[q]) : out[q];
                    FN(row_store)(d, v, left);
                }
            }
        }
    }
}

void FN(ck_winograd_scatter_frame)(int32_t m, const float *src, int64_t src_stride, float *frame, int64_t height,
                                   int64_t width, int64_t tiles_h, int64_t tiles_w, int32_t accumulate) {
    // Inlined for each m, as the gathers are for each map.
    if (m == 2) {
        FN(scatter_frame_fixed)(2, src, src_stride, frame, height, width, tiles_h, tiles_w, accumulate);
    } else {
        FN(scatter_frame_fixed)(4, src, src_stride, frame, height, width, tiles_h, tiles_w, accumulate);
    }
}

/// Gᵀ p: α → 3 (p[0 … α − 1] to r[0 … 2]), as WinogradF2.filterTransposed
/// and WinogradF4.filterTransposed, in their order of operations.
static inline __attribute__((always_inline)) void FN(wino_filter_transposed)(int32_t m, const VEC *p, VEC *r) {
    if (m == 2) {
        const VEC half = V_SET1(0.5f);
        r[0] = V_ADD(p[0], V_MUL(half, V_ADD(p[1], p[2])));
        r[1] = V_MUL(half, V_SUB(p[1], p[2]));
        r[2] = V_ADD(V_MUL(half, V_ADD(p[1], p[2])), p[3]);
        return;
    }
    const VEC sixth = V_SET1(1.0f / 6.0f), twelfth = V_SET1(1.0f / 12.0f), twentyfourth = V_SET1(1.0f / 24.0f);
    const VEC p12 = V_ADD(p[1], p[2]), p34 = V_ADD(p[3], p[4]);
    r[0] = V_ADD(V_SUB(V_MUL(p[0], V_SET1(0.25f)), V_MUL(p12, sixth)), V_MUL(p34, twentyfourth));
    r[1] = V_ADD(V_MUL(V_SUB(p[2], p[1]), sixth), V_MUL(V_SUB(p[3], p[4]), twelfth));
    r[2] = V_ADD(V_MUL(V_SUB(V_SUB(p34, p[1]), p[2]), sixth), p[5]);
}

void FN(ck_winograd_weight_gradient)(int32_t m, const float *du, int64_t plane, int64_t depth, int64_t in_channels,
                                     int64_t kt, int64_t first, int64_t last, float *dw, int32_t overwrite) {
    const int32_t alpha = m + 2;
    float results[9 * VW];
    for (int64_t o = first; o < last; o++) {
        for (int64_t a = 0; a < kt; a++) {
            const float *p = du + o * depth + a * in_channels;
            for (int64_t c = 0; c < in_channels; c += VW) {
                const int64_t lanes = in_channels - c < VW ? in_channels - c : VW;
                const MASK mask = V_MASK(lanes);
                // dU G: α rows of 3, then Gᵀ (dU G) column by column.
                VEC h[6][3], row[6], column[6], r[3];
                for (int i = 0; i < alpha; i++) {
                    for (int j = 0; j < alpha; j++) row[j] = V_LOAD_MASKED(p + (i * alpha + j) * plane + c, mask);
                    FN(wino_filter_transposed)(m, row, h[i]);
                }
                for (int k = 0; k < 3; k++) {
                    for (int i = 0; i < alpha; i++) column[i] = h[i][k];
                    FN(wino_filter_transposed)(m, column, r);
                    for (int i = 0; i < 3; i++) V_STORE(results + (i * 3 + k) * VW, r[i]);
                }
                for (int64_t lane = 0; lane < lanes; lane++) {
                    float *out = dw + ((o * in_channels + c + lane) * kt + a) * 9;
                    for (int e = 0; e < 9; e++) out[e] = overwrite ? results[e * VW + lane] : out[e] + results[e * VW + lane];
                }
            }
        }
    }
}

#undef W_MUL
#undef W_FOR_EACH_MAP
