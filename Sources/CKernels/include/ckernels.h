// SIMD kernels that Swift cannot express for one CPU level at a time: the
// package builds for baseline x86-64 and Swift has no per-function target
// attributes, so each kernel here is compiled once per level
// (__attribute__((target(...))) through `#pragma clang attribute`) and the
// Tensor target picks one at run time from CPUID (Tensor/SIMDLevel.swift).
// Each kernel has a naive twin on the Swift side that the tests compare it with.
#ifndef CLIPKIT_CKERNELS_H
#define CLIPKIT_CKERNELS_H

#include <stdint.h>

/// Output channels per tile of the direct convolution's forward pass (its weight packing).
#define CK_DIRECT_TILE_CHANNELS 4
/// Padded rows hold the output width rounded up to this (a multiple of every
/// level's vector), plus the taps' reach: a forward chunk's last vector may
/// run past the width, never past the rounding.
#define CK_DIRECT_ROW_ROUNDING 32

#if defined(__x86_64__)

/// A direct 3D convolution over a padded, phase-split input, for layers with
/// few input channels (the stems), where a column matrix costs more than the
/// arithmetic. One sample's input is laid out [c][t][h][phase][i]: padding
/// included, each row split into `stride_w` phases so that output w reads
/// element w + j of a phase row for every tap (no strided loads). Rows are at
/// least the output width rounded up to CK_DIRECT_ROW_ROUNDING, plus the
/// taps' reach, so vector loads may run past the last output.
typedef struct {
    /// Per tap (c, kt, kh, kw), its offset from an output row's base in the padded input.
    const int32_t *tap_offsets;
    int32_t taps;
    int32_t out_channels;
    int32_t out_h, out_w;
    /// The padded input's offset between output frames and between output rows.
    int64_t t_step, h_step;
    /// Floats between two output (or dY) channels of one sample.
    int64_t channel_stride;
} ck_direct_geometry;

/// y[o][row][w] (rows `row_begin..<row_end` of one sample: row = t · out_h + h)
/// ← Σ_tap x[row base + tap offset + w] · weights[tap][o], then, if `accumulate`,
/// plus the y already there, then · scale[o] + shift[o] when scale is not NULL,
/// then max(0, ·) when `relu`. Weights are packed by tiles of
/// CK_DIRECT_TILE_CHANNELS (n) output channels: channel o's weight for tap t
/// is at o₀ · taps + t · n + (o − o₀), where o₀ = o rounded down to n, or,
/// for the last out_channels mod n channels, o₀ = o and n = 1 (each tile's
/// weights in one run).
void ck_direct_forward_avx2(const ck_direct_geometry *g, const float *x, const float *weights, float *y,
                            int32_t row_begin, int32_t row_end, int32_t accumulate, const float *scale,
                            const float *shift, int32_t relu);
void ck_direct_forward_avx512(const ck_direct_geometry *g, const float *x, const float *weights, float *y,
                              int32_t row_begin, int32_t row_end, int32_t accumulate, const float *scale,
                              const float *shift, int32_t relu);

/// dw[tap][o] += Σ over rows `row_begin..<row_end` of one sample and w of
/// dy[o][row][w] · x[row base + tap offset + w], with the positions in the
/// lanes (tiles of channels × 6 taps, horizontal sums at the end).
void ck_direct_weight_grad_avx2(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                int32_t row_begin, int32_t row_end);
void ck_direct_weight_grad_avx512(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                  int32_t row_begin, int32_t row_end);

/// Positions of dY a block of ck_direct_weight_grad_lanes transposes (whole
/// output rows, at least one).
#define CK_DIRECT_GRAD_BLOCK 256

/// Output channels a tile of ck_direct_weight_grad_lanes holds (4 vectors of 16).
#define CK_DIRECT_GRAD_LANES_CHANNELS 64

/// The same sums with the output channels in the lanes (AVX-512 only), for
/// layers of at least CK_DIRECT_GRAD_LANES_CHANNELS: dY is transposed a block
/// of rows at a time into `scratch`, which holds
/// ck_direct_weight_grad_lanes_scratch_avx512(g) floats.
void ck_direct_weight_grad_lanes_avx512(const ck_direct_geometry *g, const float *x, const float *dy, float *dw,
                                        int32_t row_begin, int32_t row_end, float *scratch);
int64_t ck_direct_weight_grad_lanes_scratch_avx512(const ck_direct_geometry *g);

/// Winograd's one-dimensional maps for F(m×m, 3×3), m = 2 or 4 (α = m + 2):
/// `kind` CK_WINOGRAD_INPUT is Bᵀ (α → α), CK_WINOGRAD_OUTPUT Aᵀ (α → m),
/// CK_WINOGRAD_OUTPUT_GRADIENT A (m → α). Over `n` contiguous lanes, input j
/// is at src + j · src_stride and output r goes to dst + r · dst_stride
/// (the two must not overlap). The Swift twins are in WinogradTransforms.swift.
enum { CK_WINOGRAD_INPUT = 0, CK_WINOGRAD_OUTPUT = 1, CK_WINOGRAD_OUTPUT_GRADIENT = 2 };
void ck_winograd_map_avx2(int32_t m, int32_t kind, const float *src, int64_t src_stride, float *dst,
                          int64_t dst_stride, int64_t n);
void ck_winograd_map_avx512(int32_t m, int32_t kind, const float *src, int64_t src_stride, float *dst,
                            int64_t dst_stride, int64_t n);

/// The patches of a frame's m × m tiles, α × α for `kind` CK_WINOGRAD_INPUT
/// (Bᵀ), m × m for CK_WINOGRAD_OUTPUT_GRADIENT (A), with the map across each
/// of their rows: with P[i][j] of tile (ty, tx) = frame[h · width + w],
/// h = m · ty + i − pad_h and w = m · tx + j − pad_w, or 0 where that is
/// outside the height × width frame (not read), or everywhere when frame is
/// NULL, dst[(i · α + l) · dst_stride + ty · tiles_w + tx] = map(P[i])[l].
/// The Swift twin is winogradGatherFrame in WinogradTransforms.swift.
void ck_winograd_gather_frame_avx2(int32_t m, int32_t kind, const float *frame, int64_t height, int64_t width,
                                   int64_t pad_h, int64_t pad_w, int64_t tiles_h, int64_t tiles_w, float *dst,
                                   int64_t dst_stride);
void ck_winograd_gather_frame_avx512(int32_t m, int32_t kind, const float *frame, int64_t height, int64_t width,
                                     int64_t pad_h, int64_t pad_w, int64_t tiles_h, int64_t tiles_w, float *dst,
                                     int64_t dst_stride);
/// The output tiles into a height × width frame: with S[r][l] of tile
/// (ty, tx) at src[(r · α + l) · src_stride + ty · tiles_w + tx] (r < m,
/// l < α), Aᵀ across gives the tile's row r, written (or added when
/// `accumulate`) to frame row m · ty + r, columns m · tx …; rows and columns
/// past the frame are dropped. The Swift twin is winogradScatterFrame.
void ck_winograd_scatter_frame_avx2(int32_t m, const float *src, int64_t src_stride, float *frame, int64_t height,
                                    int64_t width, int64_t tiles_h, int64_t tiles_w, int32_t accumulate);
void ck_winograd_scatter_frame_avx512(int32_t m, const float *src, int64_t src_stride, float *frame, int64_t height,
                                      int64_t width, int64_t tiles_h, int64_t tiles_w, int32_t accumulate);

/// The weight gradient from dU (α² planes of out_channels × depth floats,
/// `plane` apart; depth = kt · in_channels): for output channels first …
/// last − 1, every tap a and input channel c,
/// dw[((o · in_channels + c) · kt + a) · 9 + e] = (Gᵀ dU[·][o][a · C + c] G)[e],
/// written with `overwrite`, else added. Lanes over the input channels. The
/// Swift twin is winogradWeightGradient in Conv3dWinogradWeightGradient.swift.
void ck_winograd_weight_gradient_avx2(int32_t m, const float *du, int64_t plane, int64_t depth, int64_t in_channels,
                                      int64_t kt, int64_t first, int64_t last, float *dw, int32_t overwrite);
void ck_winograd_weight_gradient_avx512(int32_t m, const float *du, int64_t plane, int64_t depth,
                                        int64_t in_channels, int64_t kt, int64_t first, int64_t last, float *dw,
                                        int32_t overwrite);

/// Batch normalisation over `n` floats of one channel of one sample. The
/// Swift twins are in BatchNormKernels.swift.
/// sums[0] = Σx, sums[1] = Σx².
void ck_bn_sums_avx2(const float *x, int64_t n, float *sums);
void ck_bn_sums_avx512(const float *x, int64_t n, float *sums);
/// sums[0] = Σdz, sums[1] = Σdz·(x − mean)·inv_std, where dz is dy, or 0
/// where `relu` and x·relu_scale + relu_shift ≤ 0 (the fused ReLU was off).
void ck_bn_gradient_sums_avx2(const float *dy, const float *x, int64_t n, float mean, float inv_std, int32_t relu,
                              float relu_scale, float relu_shift, float *sums);
void ck_bn_gradient_sums_avx512(const float *dy, const float *x, int64_t n, float mean, float inv_std,
                                int32_t relu, float relu_scale, float relu_shift, float *sums);
/// y = x·scale + shift, then max(0, ·) when `relu` (y may be x).
void ck_bn_affine_avx2(const float *x, float *y, int64_t n, float scale, float shift, int32_t relu);
void ck_bn_affine_avx512(const float *x, float *y, int64_t n, float scale, float shift, int32_t relu);
/// dx = k·(dz − a − (x − mean)·inv_std·b) in training, k·dz otherwise, with
/// dz as in ck_bn_gradient_sums (relu_scale k, relu_shift `shift`), or,
/// given a `gate` (and no `relu`), as in ck_bn_gated_gradient_sums; written,
/// or added to dx when `accumulate`.
void ck_bn_input_gradient_avx2(const float *dy, const float *gate, const float *x, float *dx, int64_t n, float k,
                               float shift, int32_t relu, int32_t training, float a, float b, float mean,
                               float inv_std, int32_t accumulate);
void ck_bn_input_gradient_avx512(const float *dy, const float *gate, const float *x, float *dx, int64_t n, float k,
                                 float shift, int32_t relu, int32_t training, float a, float b, float mean,
                                 float inv_std, int32_t accumulate);

/// relu(BN(x) + residual) in one op (a bottleneck's end): y = max(0,
/// (x·scale + shift) + add), in that order.
void ck_bn_affine_add_relu_avx2(const float *x, const float *add, float *y, int64_t n, float scale, float shift);
void ck_bn_affine_add_relu_avx512(const float *x, const float *add, float *y, int64_t n, float scale, float shift);
/// Its backward pass: dz is dy where its output `gate` is > 0, else 0 (a
/// NaN output takes none, as in addReLU's gradient). The
/// sums as ck_bn_gradient_sums's, and dz written to ds (the residual's
/// gradient; NULL: none), or added to it when `accumulate`.
void ck_bn_gated_gradient_sums_avx2(const float *dy, const float *gate, const float *x, int64_t n, float mean,
                                    float inv_std, float *ds, int32_t accumulate, float *sums);
void ck_bn_gated_gradient_sums_avx512(const float *dy, const float *gate, const float *x, int64_t n, float mean,
                                      float inv_std, float *ds, int32_t accumulate, float *sums);

/// Max pooling of one plane (T × in_h × in_w) over 2 × 2 windows of `frames`
/// (1 or 2) frames at their own stride, no padding: y and each window's
/// argmax, its offset (i · 2 + j) · 2 + k (frame i, row j, column k); the
/// first maximum wins ties. With `relu_affine`, the plane is first mapped to
/// max(0, x·scale + shift) (ck_bn_affine's operations), in registers: batch
/// norm, ReLU and the pool in one pass. The Swift twins are in Pooling.swift.
void ck_max_pool_pairs_avx2(const float *x, float *y, uint8_t *argmax, int32_t frames, int64_t in_h, int64_t in_w,
                            int64_t out_t, int64_t out_h, int64_t out_w, int32_t relu_affine, float scale,
                            float shift);
void ck_max_pool_pairs_avx512(const float *x, float *y, uint8_t *argmax, int32_t frames, int64_t in_h,
                              int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w, int32_t relu_affine,
                              float scale, float shift);
/// Batch norm's map of a max-pool's gradient when BN-ReLU ran fused into the
/// pool (`relu_affine`): dx = ck_bn_input_gradient's dx (with `relu`) from x
/// and dz, the gradient the pool sends back.
typedef struct {
    const float *x;
    float k, shift;
    int32_t training;
    float a, b, mean, inv_std;
} ck_bn_backward_map;

/// Its backward pass: dy of each window added to dx (in_t × in_h × in_w) at
/// its argmax, or, unless `accumulate`, dx written: dy at the argmaxes, 0
/// everywhere else. With `bn` (not NULL), the windows must cover the plane,
/// and what is written or added is BN's map of that gradient.
void ck_max_pool_pairs_backward_avx2(const float *dy, const uint8_t *argmax, float *dx, int32_t frames,
                                     int64_t in_t, int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h,
                                     int64_t out_w, int32_t accumulate, const ck_bn_backward_map *bn);
void ck_max_pool_pairs_backward_avx512(const float *dy, const uint8_t *argmax, float *dx, int32_t frames,
                                       int64_t in_t, int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h,
                                       int64_t out_w, int32_t accumulate, const ck_bn_backward_map *bn);

/// Batch norm's backward pass through that fused pool, over one plane whose
/// windows cover it (in_t = frames · out_t, in_h = 2 · out_h, in_w = 2 ·
/// out_w): dz is dy at each window's argmax where x·k + shift > 0, 0
/// everywhere else. sums[0] = Σdz, sums[1] = Σdz·(x − mean)·inv_std (the
/// twin is in BatchNormPool.swift).
void ck_bn_pool_gradient_sums_avx2(const float *dy, const uint8_t *argmax, const float *x, int32_t frames,
                                   int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w,
                                   float mean, float inv_std, float k, float shift, float *sums);
void ck_bn_pool_gradient_sums_avx512(const float *dy, const uint8_t *argmax, const float *x, int32_t frames,
                                     int64_t in_h, int64_t in_w, int64_t out_t, int64_t out_h, int64_t out_w,
                                     float mean, float inv_std, float k, float shift, float *sums);
/// Winograd's weights U[ξ][o][a · C + c] = (G w[o][c][a] Gᵀ)[ξ] of F(m×m,
/// 3×3) (m = 2 or 4), unpacked (each plane out_channels × taps · C floats,
/// as OpenBLAS reads A), for output channels first … last − 1. w is O × C ×
/// taps × 3 × 3; with `flipped`, the data gradient's weights: w is then the
/// forward weight C × O × taps × 3 × 3 read flipped and transposed. The
/// Swift twin is winogradWeights in Tensor/Conv3dWinograd.swift.
void ck_winograd_weights_avx2(int32_t m, const float *w, float *u, int64_t out_channels, int64_t in_channels,
                              int64_t taps, int32_t flipped, int64_t first, int64_t last);
void ck_winograd_weights_avx512(int32_t m, const float *w, float *u, int64_t out_channels, int64_t in_channels,
                                int64_t taps, int32_t flipped, int64_t first, int64_t last);
/// A batch-reduce GEMM, Winograd's per-plane products (brgemm_body.h), at
/// AVX-512 only: c[i · ldc + j] = Σ over taps t and p < k of A[i][t · k + p]
/// · b[t · tap_shift + p · ldb + j] for i < m, j < n, written, or added to c
/// when `accumulate`. A (m × taps · k) is packed by the caller in slivers of
/// CK_BRGEMM_ROWS rows (the last one padded with zero rows): A[i][q] at
/// a_packed[(i − i mod R) · taps · k + q · R + i mod R]. The Swift twins are
/// brgemmNaive (A unpacked) and brgemmPackedNaive in Tensor/Brgemm.swift. (An AVX2 build of the same kernel,
/// 4 × 24 and 6 × 16 tiles, ran at 0.77–1.07× OpenBLAS's Haswell sgemm on
/// these products, so AVX2 keeps OpenBLAS.)
#define CK_BRGEMM_ROWS 8
/// Depth rows of B per pass over A: the 48-column strip of B they make
/// (24 KiB) stays in L1 while every sliver of A passes over it.
#define CK_BRGEMM_DEPTH_BLOCK 128
void ck_brgemm_avx512(int64_t m, int64_t n, int64_t taps, int64_t k, const float *a_packed, const float *b,
                      int64_t ldb, int64_t tap_shift, float *c, int64_t ldc, int32_t accumulate);
/// Winograd's weights U[ξ][o][a · C + c] = (G w[o][c][a] Gᵀ)[ξ] of F(m×m,
/// 3×3) (m = 2 or 4) for slivers [sliver_begin, sliver_end) of output
/// channels, each plane (u_plane floats apart) packed as ck_brgemm_avx512
/// reads A. w is O × C × taps × 3 × 3; with `flipped`, the data gradient's
/// weights are made instead: w is then C × O × taps × 3 × 3 (the forward
/// weight, O = its input channels) read flipped and transposed. The Swift
/// twin is winogradWeightsPacked in Tensor/Conv3dWinograd.swift.
void ck_winograd_weights_packed_avx512(int32_t m, const float *w, float *u, int64_t out_channels,
                                       int64_t in_channels, int64_t taps, int32_t flipped, int64_t u_plane,
                                       int64_t sliver_begin, int64_t sliver_end);

#endif  // __x86_64__: elsewhere the Swift side uses its portable paths.

#endif
