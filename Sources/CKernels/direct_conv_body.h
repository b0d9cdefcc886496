// The direct stem convolution (ckernels.h), written once for every SIMD
// level: levels.c includes this file once per level, with VEC (the
// vector type), VW (its lanes), FWD_VECTORS (the forward tile's widest
// chunk, in vectors), FN (the level's suffix) and the V_*
// operations defined, inside a `#pragma clang attribute` region that gives
// every function the level's target.

// The forward tile: output channels (ckernels.h's packing) × up to FWD_VECTORS
// vectors of positions (the level sets it: as many accumulators as its
// registers hold beside the loads).
#define CO_B CK_DIRECT_TILE_CHANNELS
_Static_assert(CK_DIRECT_ROW_ROUNDING % VW == 0, "a padded row must hold whole vectors");
_Static_assert(FWD_VECTORS == 2 || FWD_VECTORS == 4, "ck_direct_forward has chunks of 1 to 4 vectors");

/// The forward tile: `cob` (≤ CO_B) output channels from `co0`, `vn` (≤
/// FWD_VECTORS) vectors of positions from `ow0` of one output row, `valid` of
/// which are real. Every call passes constants for `cob` and `vn`, so that the
/// loops unroll and the accumulators stay in registers.
static inline __attribute__((always_inline)) void FN(forward_tile)(
    const ck_direct_geometry *g, const float *xrow, const float *w, float *yrow, int32_t co0, int32_t cob,
    int32_t ow0, int32_t vn, int32_t valid, int32_t accumulate, const float *scale, const float *shift,
    int32_t relu) {
    VEC acc[CO_B][FWD_VECTORS];
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < vn; k++) acc[j][k] = V_ZERO();
    for (int32_t t = 0; t < g->taps; t++) {
        const float *p = xrow + g->tap_offsets[t] + ow0;
        VEC v[FWD_VECTORS];
        for (int k = 0; k < vn; k++) v[k] = V_LOAD(p + k * VW);
        const float *wt = w + (int64_t)co0 * g->taps + t * cob;
        for (int j = 0; j < cob; j++) {
            VEC b = V_BCAST(wt + j);
            for (int k = 0; k < vn; k++) acc[j][k] = V_FMA(b, v[k], acc[j][k]);
        }
    }
    for (int j = 0; j < cob; j++) {
        float *yo = yrow + (co0 + j) * g->channel_stride + ow0;
        for (int k = 0; k < vn; k++) {
            int32_t n = valid - k * VW;
            MASK m = V_MASK(n < VW ? n : VW);
            VEC r = acc[j][k];
            if (accumulate) r = V_ADD(r, V_LOAD_MASKED(yo + k * VW, m));
            if (scale) r = V_FMA(r, V_SET1(scale[co0 + j]), V_SET1(shift[co0 + j]));
            if (relu) r = V_MAX(V_ZERO(), r);  // max(0, NaN) is NaN, as ChannelAffine's
            if (n >= VW) {
                V_STORE(yo + k * VW, r);
            } else {
                V_STORE_FIRST(yo + k * VW, r, n);
            }
        }
    }
}

/// Every output channel of one chunk of `vn` vectors (a constant per case).
static inline __attribute__((always_inline)) void FN(forward_chunk)(
    const ck_direct_geometry *g, const float *xrow, const float *w, float *yrow, int32_t ow0, int32_t vn,
    int32_t valid, int32_t accumulate, const float *scale, const float *shift, int32_t relu) {
    int32_t co0 = 0;
    for (; co0 + CO_B <= g->out_channels; co0 += CO_B)
        FN(forward_tile)(g, xrow, w, yrow, co0, CO_B, ow0, vn, valid, accumulate, scale, shift, relu);
    for (; co0 < g->out_channels; co0++)
        FN(forward_tile)(g, xrow, w, yrow, co0, 1, ow0, vn, valid, accumulate, scale, shift, relu);
}

/// A row goes in chunks of FWD_VECTORS vectors, and its tail in one chunk of
/// just the vectors it needs (a width of 56 at 16 lanes: one chunk of 4, the
/// last vector half real; 80: one of 4, then one of 1).
void FN(ck_direct_forward)(const ck_direct_geometry *g, const float *x, const float *weights, float *y,
                           int32_t row_begin, int32_t row_end, int32_t accumulate, const float *scale,
                           const float *shift, int32_t relu) {
    for (int32_t row = row_begin; row < row_end; row++) {
        const float *xrow = x + (row / g->out_h) * g->t_step + (row % g->out_h) * g->h_step;
        float *yrow = y + (int64_t)row * g->out_w;
        int32_t ow0 = 0;
        while (ow0 < g->out_w) {
            int32_t left = g->out_w - ow0;
            int32_t vn = (left + VW - 1) / VW;
            if (vn > FWD_VECTORS) vn = FWD_VECTORS;
            int32_t valid = left < vn * VW ? left : vn * VW;
            switch (vn) {
#define CHUNK(n)                                                                                   \
    case n:                                                                                        \
        FN(forward_chunk)(g, xrow, weights, yrow, ow0, n, valid, accumulate, scale, shift, relu); \
        break;
                CHUNK(1)
                CHUNK(2)
#if FWD_VECTORS > 2
                CHUNK(3)
                CHUNK(4)
#endif
#undef CHUNK
            default:
                break;
            }
            ow0 += vn * VW;
        }
    }
}

#undef CO_B
