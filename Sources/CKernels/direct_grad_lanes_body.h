// The direct stem convolution's weight gradient with the output channels in
// the lanes (ckernels.h, ck_direct_weight_grad_lanes): levels.c includes this
// file in its AVX-512 target region only, with VEC, MASK, VW, FN and the V_*
// operations defined. The Swift twin is conv3dBackwardNaive's dW (the
// tests' NaiveConvolution).
//
// dw[tap][o] = Σ over positions p of x[tap][p] · dy[o][p] is a GEMM whose
// depth is the positions. The positions-in-lanes kernel (direct_grad_body.h,
// at AVX2, and at AVX-512 below 64 channels) ends every tile in horizontal
// sums, and at AVX-512 a row of 56 outputs takes 4 vectors of 16 for 3.5 of
// work. Here a block of dY is transposed first (position-major, channels
// padded to whole vectors), and each position broadcasts the input of
// LANES_TAPS taps against LANES_CO vectors of channels, as brgemm's tile
// does, the sums staying in the lanes and added into dw once a tile and
// block. R50's stem dW (64 channels, 441 taps; `bench conv --only stem`, 4 ×
// 3×8×112×112, Zen 4): 29–31 ms against the positions-in-lanes tiles' 35–36.
// With 6 taps (24 accumulators) clang spilled them in the loop and it took
// 51–57 ms; 5 (20) and 4 (16) ran alike. kth3l's conv1 (32 channels: tiles of
// 2 vectors, 2 loads and 5 broadcasts for 10 multiply-adds) took 47–53 ms
// against 34–38, hence CK_DIRECT_GRAD_LANES_CHANNELS.

#define LANES_CO (CK_DIRECT_GRAD_LANES_CHANNELS / VW)
#define LANES_TAPS 5

/// One tile: `cov` (≤ LANES_CO) vectors of channels from vector `ov`, and
/// `tpb` (≤ LANES_TAPS) taps from `t0`, over the block's rows (`rows` from
/// `row_begin`; `dyt` holds them position-major, `stride` floats a
/// position). Every call passes constants for cov and tpb.
static inline __attribute__((always_inline)) void FN(lanes_tile)(
    const ck_direct_geometry *g, const float *x, const float *dyt, int64_t stride, float *dw, int32_t row_begin,
    int32_t rows, int32_t ov, int32_t cov, int32_t t0, int32_t tpb) {
    VEC acc[LANES_CO][LANES_TAPS];
    for (int v = 0; v < cov; v++)
        for (int k = 0; k < tpb; k++) acc[v][k] = V_ZERO();
    int32_t offsets[LANES_TAPS];
    for (int k = 0; k < tpb; k++) offsets[k] = g->tap_offsets[t0 + k];
    const int32_t width = g->out_w;
    // The rows stepped as direct_grad_body.h's tile steps them. One inline
    // helper for both, taking h by pointer, made that tile 2.4× slower
    // (kth3l's conv1 dW: 83 ms against 34), so each keeps its own.
    int32_t h = row_begin % g->out_h;
    const float *xrow = x + (row_begin / g->out_h) * g->t_step + h * g->h_step;
    const float *d = dyt + ov * VW;
    for (int32_t row = 0; row < rows; row++) {
        for (int32_t w = 0; w < width; w++) {
            VEC dv[LANES_CO];
            for (int v = 0; v < cov; v++) dv[v] = V_LOAD(d + v * VW);
            for (int k = 0; k < tpb; k++) {
                VEC b = V_BCAST(xrow + offsets[k] + w);
                for (int v = 0; v < cov; v++) acc[v][k] = V_FMA(b, dv[v], acc[v][k]);
            }
            d += stride;
        }
        if (++h == g->out_h) {
            h = 0;
            xrow += g->t_step - (int64_t)(g->out_h - 1) * g->h_step;
        } else {
            xrow += g->h_step;
        }
    }
    const int32_t channels = g->out_channels;
    for (int k = 0; k < tpb; k++) {
        float *out = dw + (int64_t)(t0 + k) * channels + ov * VW;
        for (int v = 0; v < cov; v++) {
            const int32_t left = channels - (ov + v) * VW;
            const MASK m = V_MASK(left < VW ? left : VW);
            V_STORE_MASKED(out + v * VW, V_ADD(V_LOAD_MASKED(out + v * VW, m), acc[v][k]), m);
        }
    }
}

/// Every tap of `cov` channel vectors from `ov`: whole tiles of LANES_TAPS,
/// then the rest in one tile of that many.
static inline __attribute__((always_inline)) void FN(lanes_channels)(
    const ck_direct_geometry *g, const float *x, const float *dyt, int64_t stride, float *dw, int32_t row_begin,
    int32_t rows, int32_t ov, int32_t cov) {
    int32_t t0 = 0;
    for (; t0 + LANES_TAPS <= g->taps; t0 += LANES_TAPS)
        FN(lanes_tile)(g, x, dyt, stride, dw, row_begin, rows, ov, cov, t0, LANES_TAPS);
    switch (g->taps - t0) {
#define REST(n)                                                                      \
    case n:                                                                          \
        FN(lanes_tile)(g, x, dyt, stride, dw, row_begin, rows, ov, cov, t0, n); \
        break;
        REST(1)
        REST(2)
        REST(3)
        REST(4)
#undef REST
    default:
        break;
    }
}

_Static_assert(LANES_CO == 4 && LANES_TAPS == 5, "the tiles of the rest are 1 to 3 vectors and 1 to 4 taps wide");

/// Output rows a block transposes: whole rows of about CK_DIRECT_GRAD_BLOCK positions, at least one.
static inline int32_t FN(lanes_block_rows)(const ck_direct_geometry *g) {
    return CK_DIRECT_GRAD_BLOCK / g->out_w > 0 ? CK_DIRECT_GRAD_BLOCK / g->out_w : 1;
}

/// Floats a position of the transposed block takes: the channels padded to whole vectors.
static inline int64_t FN(lanes_stride)(const ck_direct_geometry *g) { return (g->out_channels + VW - 1) / VW * VW; }

int64_t FN(ck_direct_weight_grad_lanes_scratch)(const ck_direct_geometry *g) {
    return (int64_t)FN(lanes_block_rows)(g) * g->out_w * FN(lanes_stride)(g);
}

void FN(ck_direct_weight_grad_lanes)(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                     int32_t row_begin, int32_t row_end, float *scratch) {
    const int32_t channels = g->out_channels, width = g->out_w, block = FN(lanes_block_rows)(g);
    const int64_t stride = FN(lanes_stride)(g);
    const int32_t vectors = (int32_t)(stride / VW);
    // The padding channels are zeros; the blocks write the others only.
    for (int64_t p = 0; p < (int64_t)block * width; p++)
        for (int64_t o = channels; o < stride; o++) scratch[p * stride + o] = 0;
    for (int32_t row = row_begin; row < row_end; row += block) {
        const int32_t rows = row + block < row_end ? block : row_end - row;
        const int64_t positions = (int64_t)rows * width;
        // dY's block, position-major, a channel at a time (each channel's
        // run is contiguous; position by position, the reads would cross a
        // page per channel).
        for (int32_t o = 0; o < channels; o++) {
            const float *from = dy + o * g->channel_stride + (int64_t)row * width;
            for (int64_t p = 0; p < positions; p++) scratch[p * stride + o] = from[p];
        }
        int32_t ov = 0;
        for (; ov + LANES_CO <= vectors; ov += LANES_CO)
            FN(lanes_channels)(g, x, scratch, stride, dw, row, rows, ov, LANES_CO);
        switch (vectors - ov) {  // the rest of the channels in one tile
            case 1: FN(lanes_channels)(g, x, scratch, stride, dw, row, rows, ov, 1); break;
            case 2: FN(lanes_channels)(g, x, scratch, stride, dw, row, rows, ov, 2); break;
            case 3: FN(lanes_channels)(g, x, scratch, stride, dw, row, rows, ov, 3); break;
            default: break;
        }
    }
}

#undef LANES_CO
#undef LANES_TAPS
