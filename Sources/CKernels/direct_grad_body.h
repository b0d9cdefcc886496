// The direct stem convolution's weight gradient with the positions in the
// lanes (ckernels.h, ck_direct_weight_grad): levels.c includes this file once
// per level, with VEC, VW, GRAD_CO × GRAD_TAPS (the tile: output channels ×
// taps, as many accumulators as the registers hold beside the loads), FN and
// the V_* operations defined. At AVX-512, layers of 64 channels or more keep
// the channels in the lanes instead (direct_grad_lanes_body.h). The Swift
// twin is the tests' NaiveConvolution.

/// The weight-gradient tile: `cob` (≤ GRAD_CO) output channels from `co0`
/// and `tpb` (≤ GRAD_TAPS) taps from `t0`, summed over rows
/// `row_begin..<row_end`. Every call passes constants, so that the loops
/// unroll and the accumulators stay in registers.
static inline __attribute__((always_inline)) void FN(weight_grad_tile)(
    const ck_direct_geometry *g, const float *x, const float *dy, float *dw, int32_t row_begin, int32_t row_end,
    int32_t co0, int32_t cob, int32_t t0, int32_t tpb) {
    VEC acc[GRAD_CO][GRAD_TAPS];
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < tpb; k++) acc[j][k] = V_ZERO();
    int32_t offsets[GRAD_TAPS];
    for (int k = 0; k < tpb; k++) offsets[k] = g->tap_offsets[t0 + k];
    const int32_t width = g->out_w;
    // The row's frame and row, stepped without a division per row.
    int32_t h = row_begin % g->out_h;
    const float *xrow = x + (row_begin / g->out_h) * g->t_step + h * g->h_step;
    for (int32_t row = row_begin; row < row_end; row++) {
        const float *dyrow = dy + (int64_t)row * width + co0 * g->channel_stride;
        int32_t ow0 = 0;
        VEC d[GRAD_CO];
        for (; ow0 + VW <= width; ow0 += VW) {
            for (int j = 0; j < cob; j++) d[j] = V_LOAD(dyrow + j * g->channel_stride + ow0);
            for (int k = 0; k < tpb; k++) {
                VEC xv = V_LOAD(xrow + offsets[k] + ow0);
                for (int j = 0; j < cob; j++) acc[j][k] = V_FMA(d[j], xv, acc[j][k]);
            }
        }
        if (ow0 < width) {  // the missing lanes load as 0 (an infinite x there would make 0 · ∞)
            MASK m = V_MASK(width - ow0);
            for (int j = 0; j < cob; j++) d[j] = V_LOAD_MASKED(dyrow + j * g->channel_stride + ow0, m);
            for (int k = 0; k < tpb; k++) {
                VEC xv = V_LOAD_MASKED(xrow + offsets[k] + ow0, m);
                for (int j = 0; j < cob; j++) acc[j][k] = V_FMA(d[j], xv, acc[j][k]);
            }
        }
        if (++h == g->out_h) {
            h = 0;
            xrow += g->t_step - (int64_t)(g->out_h - 1) * g->h_step;
        } else {
            xrow += g->h_step;
        }
    }
    for (int j = 0; j < cob; j++)
        for (int k = 0; k < tpb; k++) dw[(int64_t)(t0 + k) * g->out_channels + co0 + j] += V_HSUM(acc[j][k]);
}

/// Every tap of `cob` channels from `co0`: whole tiles of GRAD_TAPS, then the
/// rest in one tile of that many (a constant per case).
static inline __attribute__((always_inline)) void FN(weight_grad_channels)(
    const ck_direct_geometry *g, const float *x, const float *dy, float *dw, int32_t row_begin, int32_t row_end,
    int32_t co0, int32_t cob) {
    int32_t t0 = 0;
    for (; t0 + GRAD_TAPS <= g->taps; t0 += GRAD_TAPS)
        FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, cob, t0, GRAD_TAPS);
    switch (g->taps - t0) {
#define REST(n)                                                                       \
    case n:                                                                           \
        FN(weight_grad_tile)(g, x, dy, dw, row_begin, row_end, co0, cob, t0, n); \
        break;
        REST(1)
        REST(2)
        REST(3)
#if GRAD_TAPS > 4
        REST(4)
        REST(5)
#endif
#undef REST
    default:
        break;
    }
}

/// The rows of a block (about 1,024 positions) stay in L1 while every tile runs over them.
static void FN(weight_grad_rows)(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                 int32_t row_begin, int32_t row_end) {
    int32_t co0 = 0;
    for (; co0 + GRAD_CO <= g->out_channels; co0 += GRAD_CO)
        FN(weight_grad_channels)(g, x, dy, dw, row_begin, row_end, co0, GRAD_CO);
    for (; co0 < g->out_channels; co0++) FN(weight_grad_channels)(g, x, dy, dw, row_begin, row_end, co0, 1);
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
