// The direct stem convolution (ckernels.h), written once for every SIMD
// level: direct_conv.c includes this file once per level, with VEC (the
// vector type), VW (its lanes), TP (taps per weight-gradient tile), FN (the
// level's suffix) and the V_* operations defined, inside a `#pragma clang
// attribute` region that gives every function the level's target.

// Output channels per tile, and vectors of output positions per forward tile.
#define CO_B 4
#ifndef VN
#define VN 2
#endif

/// The forward tile: `cob` (≤ CO_B) output channels from `co0`, VN vectors
/// of positions from `ow0` of one output row, `valid` of which are real.
static inline __attribute__((always_inline)) void FN(forward_tile)(
    const ck_direct_geometry *g, const float *xrow, const float *w, float *yrow, int32_t co0, int32_t cob,
    int32_t ow0, int32_t valid, int32_t accumulate, const float *scale, const float *shift, int32_t relu) {
    VEC acc[CO_B][VN];
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < VN; k++) acc[j][k] = V_ZERO();
    const int64_t channels = g->out_channels;
    for (int32_t t = 0; t < g->taps; t++) {
        const float *p = xrow + g->tap_offsets[t] + ow0;
        VEC v[VN];
        for (int k = 0; k < VN; k++) v[k] = V_LOAD(p + k * VW);
        const float *wt = w + t * channels + co0;
        for (int j = 0; j < cob; j++) {
            VEC b = V_BCAST(wt + j);
            for (int k = 0; k < VN; k++) acc[j][k] = V_FMA(b, v[k], acc[j][k]);
        }
    }
    for (int j = 0; j < cob; j++) {
        float *yo = yrow + (co0 + j) * g->channel_stride + ow0;
        for (int k = 0; k < VN; k++) {
            int32_t n = valid - k * VW;
            if (n <= 0) break;
            MASK m = V_MASK(n < VW ? n : VW);
            VEC r = acc[j][k];
            if (accumulate) r = V_ADD(r, V_LOAD_MASKED(yo + k * VW, m));
            if (scale) r = V_FMA(r, V_SET1(scale[co0 + j]), V_SET1(shift[co0 + j]));
            if (relu) r = V_MAX(r, V_ZERO());
            if (n >= VW) {
                V_STORE(yo + k * VW, r);
            } else {
                V_STORE_MASKED(yo + k * VW, r, m);
            }
        }
    }
}

void FN(ck_direct_forward)(const ck_direct_geometry *g, const float *x, const float *weights, float *y,
                           int32_t row_begin, int32_t row_end, int32_t accumulate, const float *scale,
                           const float *shift, int32_t relu) {
    const int32_t chunk = VW * VN;
    for (int32_t row = row_begin; row < row_end; row++) {
        const float *xrow = x + (row / g->out_h) * g->t_step + (row % g->out_h) * g->h_step;
        float *yrow = y + (int64_t)row * g->out_w;
        for (int32_t ow0 = 0; ow0 < g->out_w; ow0 += chunk) {
            int32_t valid = g->out_w - ow0 < chunk ? g->out_w - ow0 : chunk;
            int32_t co0 = 0;
            for (; co0 + CO_B <= g->out_channels; co0 += CO_B)
                FN(forward_tile)(g, xrow, weights, yrow, co0, CO_B, ow0, valid, accumulate, scale, shift, relu);
            for (; co0 < g->out_channels; co0++)
                FN(forward_tile)(g, xrow, weights, yrow, co0, 1, ow0, valid, accumulate, scale, shift, relu);
        }
    }
}

/// The weight-gradient tile: `cob` (≤ CO_B) output channels from `co0` and
/// `tpb` (≤ TP) taps from `t0`, summed over rows `row_begin..<row_end`.
static inline __attribute__((always_inline)) void FN(weight_grad_tile)(
    const ck_direct_geometry *g, const float *x, const float *dy, float *dw, int32_t row_begin, int32_t row_end,
    int32_t co0, int32_t cob, int32_t t0, int32_t tpb) {
    VEC acc[CO_B][TP];
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < tpb; k++) acc[j][k] = V_ZERO();
    int32_t offsets[TP];
    for (int k = 0; k < tpb; k++) offsets[k] = g->tap_offsets[t0 + k];
    const int32_t width = g->out_w;
    for (int32_t row = row_begin; row < row_end; row++) {
        const float *xrow = x + (row / g->out_h) * g->t_step + (row % g->out_h) * g->h_step;
        const float *dyrow = dy + (int64_t)row * width + co0 * g->channel_stride;
        int32_t ow0 = 0;
        VEC d[CO_B];
        for (; ow0 + VW <= width; ow0 += VW) {
            for (int j = 0; j < cob; j++) d[j] = V_LOAD(dyrow + j * g->channel_stride + ow0);
            for (int k = 0; k < tpb; k++) {
                VEC xv = V_LOAD(xrow + offsets[k] + ow0);
                for (int j = 0; j < cob; j++) acc[j][k] = V_FMA(d[j], xv, acc[j][k]);
            }
        }
        if (ow0 < width) {  // dY's missing lanes load as 0; x's lanes past the row are padding
            MASK m = V_MASK(width - ow0);
            for (int j = 0; j < cob; j++) d[j] = V_LOAD_MASKED(dyrow + j * g->channel_stride + ow0, m);
            for (int k = 0; k < tpb; k++) {
                VEC xv = V_LOAD(xrow + offsets[k] + ow0);
                for (int j = 0; j < cob; j++) acc[j][k] = V_FMA(d[j], xv, acc[j][k]);
            }
        }
    }
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < tpb; k++) dw[(int64_t)(t0 + k) * g->out_channels + co0 + j] += V_HSUM(acc[j][k]);
}

/// The rows of a block (about 1,024 positions) stay in L1 while every tile runs over them.
static void FN(weight_grad_rows)(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                 int32_t row_begin, int32_t row_end) {
    int32_t co0 = 0;
    for (; co0 + CO_B <= g->out_channels; co0 += CO_B) {
        int32_t t0 = 0;
        for (; t0 + TP <= g->taps; t0 += TP) FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, CO_B, t0, TP);
        for (; t0 < g->taps; t0++) FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, CO_B, t0, 1);
    }
    for (; co0 < g->out_channels; co0++) {
        int32_t t0 = 0;
        for (; t0 + TP <= g->taps; t0 += TP) FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, 1, t0, TP);
        for (; t0 < g->taps; t0++) FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, 1, t0, 1);
    }
}

void FN(ck_direct_weight_grad)(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                               int32_t row_begin, int32_t row_end) {
    int32_t block = 1024 / g->out_w;
    if (block < 1) block = 1;
    for (int32_t row = row_begin; row < row_end; row += block) {
        int32_t end = row + block < row_end ? row + block : row_end;
        FN(weight_grad_rows)(g, x, dy, dw, row, end);
    }
}

#undef CO_B
#undef VN
