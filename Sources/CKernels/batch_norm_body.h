// Batch normalisation's passes over one channel of one sample (ckernels.h,
// ck_bn_*), written once for every SIMD level: levels.c includes this file
// once per level, inside that level's target region, with VEC, MASK, VW, FN
// and the V_* operations defined. The Swift twins are in
// Tensor/BatchNormKernels.swift (sumAndSquares, gradientSums,
// gatedGradientSums, batchNormAffine, batchNormAffineAddReLU and
// batchNormInputGradient). The elementwise
// passes multiply, then add, as the twins do (no fused multiply-add), so that
// they equal them exactly and the backward pass's ReLU mask is the forward
// pass's at every level.

/// Runs the body at i = 0, VW, 2·VW … in whole vectors, then once over the
/// last n mod VW lanes with `mask` (masked loads read zeros past n).
#define BN_LANES(...)                                    \
    do {                                                 \
        int64_t i = 0;                                   \
        for (; i + VW <= n; i += VW) {                   \
            const int32_t lanes = VW;                    \
            MASK mask = V_MASK(VW);                      \
            (void)mask;                                  \
            __VA_ARGS__                                  \
        }                                                \
        if (i < n) {                                     \
            const int32_t lanes = (int32_t)(n - i);      \
            MASK mask = V_MASK(lanes);                   \
            __VA_ARGS__                                  \
        }                                                \
    } while (0)
#define BN_LOAD(p) (lanes == VW ? V_LOAD((p) + i) : V_LOAD_MASKED((p) + i, mask))
#define BN_STORE(p, v)                              \
    do {                                            \
        if (lanes == VW) {                          \
            V_STORE((p) + i, v);                    \
        } else {                                    \
            V_STORE_FIRST((p) + i, v, lanes);       \
        }                                           \
    } while (0)

void FN(ck_bn_sums)(const float *x, int64_t n, float *sums) {
    VEC sum = V_ZERO(), squares = V_ZERO();
    BN_LANES({
        VEC v = BN_LOAD(x);
        sum = V_ADD(sum, v);
        squares = V_FMA(v, v, squares);
    });
    sums[0] = V_HSUM(sum);
    sums[1] = V_HSUM(squares);
}

/// Σdz and Σdz·x̂ where dz is dy where the op's output `gate` is > 0, else
/// 0 (relu(BN(x) + residual): the output is the ReLU's own; a NaN output
/// takes no gradient, as in addReLU); dz is also
/// written to ds, or added to it when `accumulate` (ds may be NULL).
void FN(ck_bn_gated_gradient_sums)(const float *dy, const float *gate, const float *x, int64_t n, float mean,
                                   float inv_std, float *ds, int32_t accumulate, float *sums) {
    VEC sum_dz = V_ZERO(), sum_dz_xhat = V_ZERO();
    const VEC vmean = V_SET1(mean), vinv = V_SET1(inv_std);
    BN_LANES({
        VEC d = V_KEEP_WHERE_ABOVE_ZERO(BN_LOAD(gate), BN_LOAD(dy));
        if (ds) BN_STORE(ds, accumulate ? V_ADD(BN_LOAD(ds), d) : d);
        sum_dz = V_ADD(sum_dz, d);
        sum_dz_xhat = V_FMA(d, V_MUL(V_SUB(BN_LOAD(x), vmean), vinv), sum_dz_xhat);
    });
    sums[0] = V_HSUM(sum_dz);
    sums[1] = V_HSUM(sum_dz_xhat);
}

void FN(ck_bn_gradient_sums)(const float *dy, const float *x, int64_t n, float mean, float inv_std, int32_t relu,
                             float relu_scale, float relu_shift, float *sums) {
    VEC sum_dz = V_ZERO(), sum_dz_xhat = V_ZERO();
    const VEC vmean = V_SET1(mean), vinv = V_SET1(inv_std), vk = V_SET1(relu_scale), vshift = V_SET1(relu_shift);
    BN_LANES({
        VEC d = BN_LOAD(dy);
        VEC v = BN_LOAD(x);
        if (relu) d = V_KEEP_WHERE_POSITIVE(V_ADD(V_MUL(v, vk), vshift), d);
        sum_dz = V_ADD(sum_dz, d);
        sum_dz_xhat = V_FMA(d, V_MUL(V_SUB(v, vmean), vinv), sum_dz_xhat);
    });
    sums[0] = V_HSUM(sum_dz);
    sums[1] = V_HSUM(sum_dz_xhat);
}

void FN(ck_bn_affine)(const float *x, float *y, int64_t n, float scale, float shift, int32_t relu) {
    const VEC vscale = V_SET1(scale), vshift = V_SET1(shift), zero = V_ZERO();
    if (relu) {
        BN_LANES({ BN_STORE(y, V_MAX(zero, V_ADD(V_MUL(BN_LOAD(x), vscale), vshift))); });
    } else {
        BN_LANES({ BN_STORE(y, V_ADD(V_MUL(BN_LOAD(x), vscale), vshift)); });
    }
}

void FN(ck_bn_affine_add_relu)(const float *x, const float *add, float *y, int64_t n, float scale, float shift) {
    const VEC vscale = V_SET1(scale), vshift = V_SET1(shift), zero = V_ZERO();
    BN_LANES({ BN_STORE(y, V_MAX(zero, V_ADD(V_ADD(V_MUL(BN_LOAD(x), vscale), vshift), BN_LOAD(add)))); });
}

void FN(ck_bn_input_gradient)(const float *dy, const float *gate, const float *x, float *dx, int64_t n, float k,
                              float shift, int32_t relu, int32_t training, float a, float b, float mean,
                              float inv_std, int32_t accumulate) {
    const VEC vk = V_SET1(k), vshift = V_SET1(shift), va = V_SET1(a), vb = V_SET1(b), vmean = V_SET1(mean),
              vinv = V_SET1(inv_std);
    BN_LANES({
        VEC d = BN_LOAD(dy);
        VEC v = BN_LOAD(x);
        if (gate) d = V_KEEP_WHERE_ABOVE_ZERO(BN_LOAD(gate), d);
        if (relu) d = V_KEEP_WHERE_POSITIVE(V_ADD(V_MUL(v, vk), vshift), d);
        VEC g;
        if (training) {
            // k · (dz − a − (x − mean) · invStd · b), in the twin's order.
            g = V_MUL(vk, V_SUB(V_SUB(d, va), V_MUL(V_MUL(V_SUB(v, vmean), vinv), vb)));
        } else {
            g = V_MUL(vk, d);
        }
        if (accumulate) g = V_ADD(BN_LOAD(dx), g);
        BN_STORE(dx, g);
    });
}

#undef BN_LANES
#undef BN_LOAD
#undef BN_STORE
