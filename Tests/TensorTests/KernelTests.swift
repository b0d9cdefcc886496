import Foundation
import TestSupport
import Testing

@testable import Tensor

/// The root mean square of `v`.
private func rms(_ v: [Float]) -> Float {
    Float((v.map { Double($0) * Double($0) }.reduce(0, +) / Double(max(1, v.count))).squareRoot())
}

/// Values in [−1, 1) from a seed (the tests of this target share them).
func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
    }
}

@Suite(.serialized) struct KernelTests {
    @Test func sgemmEqualsItsNaiveTwin() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (m, n, k) = (7, 9, 5)
            let a = randomValues(m * k, seed: 1)
            let b = randomValues(k * n, seed: 2)
            var c1 = randomValues(m * n, seed: 3)
            var c2 = c1
            let lda = ta ? m : k
            let ldb = tb ? k : n
            sgemm(
                transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: &c1,
                ldc: n)
            sgemmNaive(
                transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: &c2,
                ldc: n)
            #expect(closeness(c1, c2) == "", "transA \(ta) transB \(tb)")
        }
    }

    /// vol2col + GEMM (chunked) and the direct depthwise kernel against the
    /// 7-loop naive convolution, over shapes that exercise every option.
    @Test(arguments: [
        (2, 3, 4, 1, (5, 6, 7), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (1, 4, 6, 2, (4, 7, 5), (2, 3, 1), (2, 1, 2), (1, 2, 0), (1, 1, 2)),
        (2, 4, 4, 4, (5, 6, 6), (3, 3, 3), (1, 2, 1), (1, 1, 1), (2, 1, 1)),
        (1, 2, 3, 1, (3, 4, 4), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
        (3, 8, 6, 2, (4, 9, 7), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),  // pointwise, grouped: GEMMs in place
        (1, 4, 6, 1, (2, 20, 20), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),  // with an epilogue: pieces of 512
        // 1 → 6 per group: STDCF factored spatial atoms.
        (2, 3, 18, 3, (4, 6, 5), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 2, 2)),
        (1, 4, 8, 4, (5, 4, 4), (3, 1, 1), (1, 1, 1), (2, 0, 0), (2, 1, 1)),  // 1 → 2 per group: its temporal atoms
        (2, 4, 8, 1, (2, 6, 6), (1, 1, 1), (1, 2, 2), (0, 0, 0), (1, 1, 1)),  // strided 1×1×1: through columns
        (1, 4, 6, 2, (5, 7, 9), (1, 1, 1), (2, 2, 3), (0, 0, 0), (1, 1, 1)),  // its walk, in time too, grouped
        // Stride 2 along w over rows of 17–20 outputs: vol2col's and col2vol's 8-lane path and its tail.
        (2, 3, 8, 1, (3, 9, 40), (3, 7, 7), (1, 2, 2), (1, 3, 3), (1, 1, 1)),  // the stem's kernel
        (1, 5, 4, 1, (2, 5, 35), (1, 1, 3), (1, 1, 2), (0, 0, 0), (1, 1, 1)),
        // kt×1×1 by frame shifts: "same" padding (R(2+1)D's), dilated, padding beyond
        // the kernel's reach (frames no tap reaches), none with an even kernel.
        (2, 6, 5, 1, (5, 3, 4), (3, 1, 1), (1, 1, 1), (1, 0, 0), (1, 1, 1)),
        (1, 4, 6, 1, (6, 2, 3), (3, 1, 1), (1, 1, 1), (2, 0, 0), (2, 1, 1)),
        (2, 3, 4, 1, (4, 3, 3), (3, 1, 1), (1, 1, 1), (3, 0, 0), (1, 1, 1)),
        (1, 5, 4, 1, (6, 2, 2), (2, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
        // Winograd (forward, dX and dW; F(2×2) under both policies where a
        // sample, or without brgemm a stack of them, has < 128 4×4 tiles:
        // (7, 11, 13) and (4, 9, 13) take F(4×4) over stacks there, and
        // F(2×2) per sample under `small`): odd and even sizes, every
        // spatial padding it takes, temporal kernels 1–3, ≥ 128 2×2 tiles a
        // sample.
        (2, 8, 9, 1, (7, 11, 13), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (2, 8, 24, 1, (4, 11, 13), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),  // dX's scratch larger than dW's
        (1, 9, 8, 1, (6, 10, 13), (3, 3, 3), (1, 1, 1), (0, 0, 2), (1, 1, 1)),
        (3, 8, 10, 1, (4, 9, 13), (1, 3, 3), (1, 1, 1), (0, 2, 1), (1, 1, 1)),
        (1, 12, 8, 1, (6, 12, 11), (2, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (2, 8, 8, 1, (5, 8, 16), (3, 3, 3), (1, 1, 1), (2, 1, 1), (1, 1, 1)),
        // 16 frames of 42 2×2 tiles: GEMM groups of 7, 7 and 2 frames, forward
        // and dX (F(4×4): 12 tiles a frame, one group of 16).
        (1, 8, 8, 1, (16, 11, 13), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // F(4×4): spatial padding 0 and 2 (so dX's 2 and 0), output sides
        // multiples of 4, temporal kernels 1 and 2, and 24 frames of 12
        // tiles: transform blocks of 21 frames and the rest.
        (1, 8, 8, 1, (10, 18, 13), (3, 3, 3), (1, 1, 1), (0, 0, 2), (1, 1, 1)),
        (1, 8, 8, 1, (8, 18, 18), (1, 3, 3), (1, 1, 1), (0, 1, 0), (1, 1, 1)),
        (1, 8, 9, 1, (16, 12, 12), (2, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (1, 8, 8, 1, (24, 11, 13), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // Rows of 13 4×4 (25 2×2) tiles: the patches gathered 8, then 4, then 1 at a time.
        (1, 8, 8, 1, (8, 8, 50), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // Small frames (9 tiles): Winograd over 16 frames at once, through
        // columns over 3.
        (2, 8, 8, 1, (16, 5, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (1, 8, 8, 1, (3, 5, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // R50's stage 5 in small: 32 2×2 tiles a sample (Winograd with brgemm,
        // else columns), dU larger than the batch's V and M: with 2 workers
        // dW's planes are split between them (`splitsPlanes`).
        (2, 64, 64, 1, (8, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // Without brgemm, samples with too few tiles stacked into shared GEMMs
        // (`WinogradStack`), once the batch has 128 tiles: stage 5 at 112 (4
        // samples of 32), a 1×3×3 conv (2 of 64), and 5 samples of 64 (stacks
        // of 4 and 1, forward and dX), also with temporal padding 2 (dX's 0:
        // 2 output frames, too few for a 3×3×3 kernel's stack, so per sample).
        (4, 16, 16, 1, (8, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (2, 8, 16, 1, (4, 8, 8), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
        (5, 8, 8, 1, (4, 8, 8), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (5, 8, 8, 1, (2, 8, 8), (3, 3, 3), (1, 1, 1), (2, 1, 1), (1, 1, 1)),
        // R50's stage 4 at 112 in small: 8 frames of 7×7, 32 4×4 tiles a
        // sample, F(4×4) per sample with brgemm, over a stack of 4 without.
        (4, 8, 8, 1, (8, 7, 7), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        // 3×1×1 by Winograd along time (≥ 128 channels, so small frames):
        // 8 frames (F(4); F(2) under `small`), 10 (F(4)'s last tile
        // overhangs by 2, in the forward pass, dW and dX), 6 frames of 3×3
        // (F(2) under both: F(4)'s two tiles cost as many products; rows of
        // 8 + 1 lanes), padding 0 and 2 (dX's 2 and 0, so dX's geometry
        // differs: F(4) over 10 frames, F(2) over 6; channels in 8 + 4
        // lanes; under `small` padding 2's forward pass takes frame shifts), and
        // 6 frames without padding, whose dX (4 → 6 frames) runs by frame
        // shifts.
        (2, 128, 128, 1, (8, 2, 2), (3, 1, 1), (1, 1, 1), (1, 0, 0), (1, 1, 1)),
        (1, 128, 128, 1, (10, 1, 2), (3, 1, 1), (1, 1, 1), (1, 0, 0), (1, 1, 1)),
        (1, 128, 136, 1, (6, 3, 3), (3, 1, 1), (1, 1, 1), (1, 0, 0), (1, 1, 1)),
        (1, 132, 128, 1, (10, 1, 3), (3, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
        (1, 128, 132, 1, (6, 1, 2), (3, 1, 1), (1, 1, 1), (2, 0, 0), (1, 1, 1)),
        (1, 128, 128, 1, (6, 1, 1), (3, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
        // 3×3×3 by Winograd along time and space (`spatioTemporal`): F(4, 3)
        // along time around 1×3×3 convs by F(4×4) stacked over the batch:
        // 14 output frames (padding 0: the last tile overhangs by 2) and 18
        // (padding 2: 5 tiles).
        (4, 8, 8, 1, (16, 12, 12), (3, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
        (4, 8, 8, 1, (16, 12, 12), (3, 3, 3), (1, 1, 1), (2, 1, 1), (1, 1, 1))
    ])
    func convolutionKernelsEqualTheNaiveTwin(
        _ n: Int, _ c: Int, _ o: Int, _ groups: Int, _ input: (Int, Int, Int),
        _ kernel: (Int, Int, Int), _ stride: (Int, Int, Int),
        _ padding: (Int, Int, Int), _ dilation: (Int, Int, Int)
    ) {
        // 8 channels take the path along time and space here on 1×3×3
        // convolutions of 36 and 45 tiles a sample (the last two cases),
        // which stack without brgemm as R50's res3.conv2 does at 112.
        OpSettings.with(\.spatioTemporalSmallPlaneChannels, 0) {
            kernelsEqualTheNaiveTwin(n, c, o, groups, input, kernel, stride, padding, dilation)
        }
    }

    private func kernelsEqualTheNaiveTwin(
        _ n: Int, _ c: Int, _ o: Int, _ groups: Int, _ input: (Int, Int, Int),
        _ kernel: (Int, Int, Int), _ stride: (Int, Int, Int),
        _ padding: (Int, Int, Int), _ dilation: (Int, Int, Int)
    ) {
        let geometry = Conv3dGeometry(
            batch: n, inChannels: c, outChannels: o, groups: groups, input: input, kernel: kernel,
            stride: stride, padding: padding, dilation: dilation)
        let xv = randomValues(n * c * input.0 * input.1 * input.2, seed: 4)
        let wv = randomValues(o * (c / groups) * kernel.0 * kernel.1 * kernel.2, seed: 5)
        let x = Tensor(shape: [n, c, input.0, input.1, input.2], values: xv)
        let w = Tensor(shape: [o, c / groups, kernel.0, kernel.1, kernel.2], values: wv)
        x.requiresGrad = true
        w.requiresGrad = true
        let options = Conv3dOptions(stride: stride, padding: padding, dilation: dilation, groups: groups)
        // Every 3×3 stride-1 case takes Winograd but the small one (27 tiles
        // over its frames) and, without brgemm, stage 5's (32) in a batch of
        // 2 (4 samples stack to 128): F(4×4) where
        // a sample (or a stack of samples) has that minimum of its tiles and
        // they do at most 2/3 of F(2×2)'s multiplies.
        let packed = SIMDLevel.usable.runsBrgemm
        // Along time and space (`spatioTemporal`): the last two cases.
        let spatioTemporal = kernel == (3, 3, 3) && input == (16, 12, 12) && n == 4
        #expect(
            geometry.usesWinograd
                == (kernel.1 == 3 && stride == (1, 1, 1) && groups == 1 && c >= 8 && input != (3, 5, 6)
                    && (packed || input != (8, 4, 4) || n == 4)))
        if geometry.usesWinograd && c == 64 && n == 2 {
            let layout = WinogradLayout(geometry, tile: geometry.winogradTile!, level: .usable, stacking: .automatic)
            #expect(layout.splitsPlanes(workers: 2) && !layout.splitsPlanes(workers: 1))
        }
        if geometry.usesWinograd && !spatioTemporal {  // the path per temporal tap
            let layout = WinogradLayout(geometry, tile: geometry.winogradTile!, level: .usable, stacking: .automatic)
            // Without brgemm, also F(4×4) over stacks where a stack has the
            // 128 tiles F(4×4) needs: 84, 48 and 32 tiles a sample.
            let f4OverStacks = [(7, 11, 13), (4, 9, 13), (8, 7, 7)].contains { $0 == input }
            let stacked = !packed && (n == 4 || n == 5 || c == 8 && o == 16 || f4OverStacks)
            #expect((WinogradStack(layout) != nil) == stacked, "stacked samples")
            #expect(WinogradStack(layout)?.samples ?? 0 == (stacked ? (n == 5 ? 4 : n) : 0))
            let data = WinogradLayout(
                geometry.transposedForData, tile: layout.tile, level: .usable, stacking: .automatic)
            #expect((WinogradStack(data) != nil) == (stacked && padding.0 < 2), "stacked samples for dX")
            if !packed && f4OverStacks { #expect(geometry.winogradTile == .f4, "F(4×4) over stacks") }
            if input == (8, 7, 7) { #expect(geometry.winogradTile == .f4, "stage 4's 7×7 frames") }

            let (t4, t2) = (geometry.winogradTiles(.f4), geometry.winogradTiles(.f2))
            let (f4, f2) = (geometry.output.t * t4.h * t4.w, geometry.output.t * t2.h * t2.w)
            let minimum = Conv3dGeometry.winogradMinimumColumns(.usable)
            let stackHasF4Tiles =
                n * f4 >= 128
                && WinogradStack.takes(geometry, tilesPerSample: f4, brgemm: packed, stacking: .automatic)
            #expect(
                geometry.winogradTile
                    == ((f4 >= minimum || stackHasF4Tiles) && 3 * 36 * f4 <= 2 * 16 * f2 ? .f4 : .f2))
        }
        #expect(geometry.isTemporalOnly == (kernel.0 > 1 && kernel.1 == 1 && kernel.2 == 1 && groups == 1))
        // Without brgemm these two only; with it (1×3×3 convs need 32 tiles a sample, not 128) others too.
        let alongTime = geometry.algorithm.hasPrefix("winograd-t4+")
        #expect(packed ? !spatioTemporal || alongTime : alongTime == spatioTemporal, "\(geometry.algorithm)")
        // Along time: every 3×1×1 conv with 128 channels each side, and dX's but the last case's.
        let temporal = kernel == (3, 1, 1) && c >= 128 && o >= 128
        #expect((geometry.temporalWinogradTile != nil) == temporal)
        #expect((geometry.temporalTransposed.temporalWinogradTile != nil) == (temporal && input != (6, 1, 1)))
        // Both tile sizes where Winograd runs (F(2×2) alone under `small`).
        // (Along time and space: `automatic` only; the others take the paths above.)
        let policies: [WinogradPolicy] =
            (geometry.usesWinograd || temporal) && !spatioTemporal ? [.automatic, .small] : [.automatic]
        // The columns too where the stems' C kernel takes the shape, and
        // Winograd's Swift maps beside its C ones (the first policy).
        let levels: [SIMDLevel] =
            (geometry.directLevel != nil || geometry.usesWinograd) && SIMDLevel.current != .portable
            ? [SIMDLevel.current, .portable] : [SIMDLevel.current]
        let runs = policies.flatMap { p in levels.map { (p, $0) } }.filter { $0.0 == policies[0] || $0.1 == levels[0] }
        let naive = NaiveConvolution(x, w, geometry)
        for (policy, level) in runs {
            OpSettings.with(\.winogradPolicy, policy) {
                OpSettings.with(\.level, level) {
                    for mode in [Parallelism.batch, .blas] {
                        Parallel.with(ParallelSettings(mode: mode, threads: 2)) {
                            equalsTheNaiveTwin(x, w, options, naive, "\(mode), \(geometry.algorithm)")
                        }
                    }
                }
            }
        }
    }

    /// The stems' direct C kernel at each SIMD level against the naive twin:
    /// 1–4 input channels, output channels that fill no tile of 4, rows whose
    /// ends are partial vectors at 8 and 16 lanes, forward chunks of 1 to 4
    /// vectors, strides 2, dilations, a
    /// batch of one (rows split over the threads) and the inference epilogues.
    static let directCases:
        [(Int, Int, Int, (Int, Int, Int), (Int, Int, Int), (Int, Int, Int), (Int, Int, Int), (Int, Int, Int))] = [
            (2, 3, 8, (3, 9, 40), (3, 7, 7), (1, 2, 2), (1, 3, 3), (1, 1, 1)),  // the stem's kernel
            (1, 3, 6, (4, 6, 37), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
            (3, 2, 5, (3, 5, 19), (2, 3, 3), (2, 1, 2), (1, 0, 1), (1, 2, 1)),
            (1, 4, 4, (2, 3, 70), (1, 1, 5), (1, 1, 1), (0, 0, 2), (1, 1, 3)),
            (2, 1, 9, (2, 4, 33), (1, 3, 3), (1, 2, 2), (0, 1, 1), (1, 1, 1)),
            // Taps left over after the positions-in-lanes weight gradient's
            // tiles of 6 (AVX2, and AVX-512 below 64 channels): 441, 81, 36,
            // 20 and 9 taps above leave 3, 3, 0, 2 and 3; these 4, 1 and 5.
            (2, 4, 7, (2, 3, 45), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
            (1, 1, 5, (3, 4, 26), (1, 1, 7), (1, 1, 2), (0, 0, 3), (1, 1, 1)),
            (1, 1, 3, (2, 2, 50), (1, 1, 5), (1, 1, 1), (0, 0, 0), (1, 1, 2)),
            // Stride 2 and dilation 2 across: every tap in the even phase.
            (1, 2, 3, (2, 5, 40), (1, 3, 3), (1, 1, 2), (0, 1, 2), (1, 1, 2)),
            // A row of 83: whole forward chunks (AVX-512: 4 vectors of 16;
            // AVX2: 2 of 8), then a tail of 2 vectors at 16 lanes, 1 at 8.
            (1, 2, 6, (2, 3, 83), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
            // A row of 22: a tail of 6 lanes at both levels (AVX2 stores it
            // as 4 + 2).
            (1, 1, 4, (2, 3, 22), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
            // AVX-512's dW with the channels in the lanes (64 channels or
            // more; tiles of 4 vectors × 5 taps). 70 channels: a tile of 4
            // vectors and one of a vector with 6 lanes; 9 taps: 5 + 4; 30
            // rows of 20 in blocks of 12 (CK_DIRECT_GRAD_BLOCK 256), the last
            // of 6 (with 2 threads; with 3, pieces of 10 rows starting inside
            // a block's span and a frame).
            (2, 1, 70, (2, 30, 40), (1, 3, 3), (1, 2, 2), (0, 1, 1), (1, 1, 1)),
            // 100 channels (7 vectors: 4 + 3, a tail of 4 lanes); 21 taps
            // leave 1, as R50's stems' 441 do; rows of 300, longer than a
            // block (one row a block).
            (1, 3, 100, (2, 3, 300), (1, 1, 7), (1, 1, 1), (0, 0, 3), (1, 1, 1)),
            // 96 channels (6 vectors: 4 + 2); 8 taps leave 3.
            (2, 2, 96, (2, 6, 24), (1, 2, 2), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
            // 64 channels: whole tiles only; 10 taps: whole tiles of 5; 2 taps
            // leave 2.
            (1, 2, 64, (2, 4, 30), (1, 1, 5), (1, 1, 1), (0, 0, 2), (1, 1, 1)),
            (1, 1, 64, (1, 4, 30), (1, 1, 2), (1, 1, 1), (0, 0, 1), (1, 1, 1))
        ]

    private func directKernelsEqualTheNaiveTwin(_ level: SIMDLevel) {
        for (n, c, o, input, kernel, stride, padding, dilation) in Self.directCases {
            let geometry = Conv3dGeometry(
                batch: n, inChannels: c, outChannels: o, groups: 1, input: input, kernel: kernel, stride: stride,
                padding: padding, dilation: dilation)
            let x = Tensor(
                shape: [n, c, input.0, input.1, input.2], values: randomValues(n * c * geometry.inputVolume, seed: 4))
            let w = Tensor(
                shape: [o, c, kernel.0, kernel.1, kernel.2], values: randomValues(o * geometry.columnRows, seed: 5))
            x.requiresGrad = true
            w.requiresGrad = true
            let options = Conv3dOptions(stride: stride, padding: padding, dilation: dilation)
            let naive = NaiveConvolution(x, w, geometry)
            OpSettings.with(\.level, level) {
                #expect(geometry.algorithm == "direct-\(level.rawValue)")
                // 3 threads: a batch of 2 split into rows too.
                for (mode, threads) in [(Parallelism.batch, 2), (.blas, 2), (.batch, 3)] {
                    Parallel.with(ParallelSettings(mode: mode, threads: threads)) {
                        let what = "\(mode) × \(threads), \(geometry.algorithm), \(geometry)"
                        equalsTheNaiveTwin(x, w, options, naive, what)
                        directWeightGradientAndSumsEqualTheNaiveTwin(x, w, options, naive, what)
                    }
                }
            }
        }
    }

    /// What the stems do in training (dW with no dX), and the sum into an
    /// output without an epilogue, and an epilogue without ReLU.
    private func directWeightGradientAndSumsEqualTheNaiveTwin(
        _ x: Tensor, _ w: Tensor, _ options: Conv3dOptions, _ naive: NaiveConvolution, _ what: String
    ) {
        let g = naive.geometry
        let input = Tensor(shape: x.shape, values: x.scalars)
        w.zeroGrad()
        let y = conv3d(input, w, options)
        weightedSum(y, Tensor(shape: y.shape, values: naive.dy)).backward()
        #expect(closeness(w.grad!.scalars, naive.dw, atol: 1e-4) == "", "dw alone, \(what)")
        let plain = naive.y
        let base = randomValues(plain.count, seed: 9)
        let affine = ChannelAffine(
            scale: randomValues(g.outChannels, seed: 7), shift: randomValues(g.outChannels, seed: 8), relu: false)
        GradMode.withNoGrad {
            let sum = conv3d(input, w, options, addingTo: Tensor(shape: y.shape, values: base), then: nil)
            #expect(closeness(sum.scalars, zip(plain, base).map(+), atol: 3e-5) == "", "sum, \(what)")
            let mapped = conv3d(input, w, options, then: affine)
            let expected = plain.indices.map { i in
                let c = (i / g.outputVolume) % g.outChannels
                return plain[i] * affine.scale[c] + affine.shift[c]
            }
            #expect(closeness(mapped.scalars, expected, atol: 3e-5) == "", "affine without ReLU, \(what)")
        }
    }

    @Test(.enabled(if: SIMDLevel.avx2.isSupported, "the AVX2 kernels need an AVX2 machine"))
    func directKernelsEqualTheNaiveTwinAtAVX2() { directKernelsEqualTheNaiveTwin(.avx2) }

    @Test(.enabled(if: SIMDLevel.avx512.isSupported, "the AVX-512 kernels need an AVX-512 machine: skipped here"))
    func directKernelsEqualTheNaiveTwinAtAVX512() { directKernelsEqualTheNaiveTwin(.avx512) }

    /// Winograd's one-dimensional maps (Bᵀ, Aᵀ, A of both tiles) by the C
    /// kernels of every level this machine runs against the Swift maps: lane
    /// counts around whole vectors of 8 and 16, strided rows, and nothing
    /// written past the lanes.
    @Test(arguments: SIMDLevel.allCases.filter { $0 != .portable && $0.isSupported })
    func winogradMapsEqualTheSwiftTwin(_ level: SIMDLevel) {
        func check<T: WinogradTransforms>(_: T.Type) {
            let alpha = T.m + 2
            for map in [WinogradMap.input, .output, .outputGradient] {
                let (inputs, outputs) = map == .input ? (alpha, alpha) : map == .output ? (alpha, T.m) : (T.m, alpha)
                for lanes in [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100] {
                    let (srcStride, dstStride) = (lanes + 3, lanes + 5)
                    let src = randomValues(inputs * srcStride, seed: UInt64(lanes))
                    var twin = [Float](repeating: 7, count: outputs * dstStride)
                    var kernel = twin
                    src.withUnsafeBufferPointer { s in
                        twin.withUnsafeMutableBufferPointer { d in
                            winogradMap(
                                T.self, map, .portable, s.baseAddress!, stride: srcStride, into: d.baseAddress!,
                                stride: dstStride, lanes: lanes)
                        }
                        kernel.withUnsafeMutableBufferPointer { d in
                            winogradMap(
                                T.self, map, level, s.baseAddress!, stride: srcStride, into: d.baseAddress!,
                                stride: dstStride, lanes: lanes)
                        }
                    }
                    let what = "F(\(T.m)×\(T.m)) \(map), \(lanes) lanes, \(level)"
                    #expect(kernel == twin, "\(what): the same operations in the same order")
                    #expect(
                        (0..<outputs).allSatisfy { r in
                            kernel[(r * dstStride + lanes)..<((r + 1) * dstStride)].allSatisfy { $0 == 7 }
                        }, "\(what): past the lanes")
                }
            }
        }
        check(WinogradF2.self)
        check(WinogradF4.self)
    }

    /// The frames' gathers (patches, then a map across) and scatters (Aᵀ
    /// across, then into the frame) against their Swift twins: both tile
    /// sizes, frames whose tiles end inside them, on their edge and past them,
    /// padding 0 and 1, no frame (zeros), tile counts around one and two
    /// vectors. The gather reads nothing outside the frame (NaNs around it
    /// would show); the scatter writes nothing outside it.
    @Test(arguments: SIMDLevel.allCases.filter { $0 != .portable && $0.isSupported })
    func winogradGathersAndScattersEqualTheSwiftTwin(_ level: SIMDLevel) {
        for tile in WinogradTile.allCases {
            let (m, alpha) = (tile.m, tile.alpha)
            for (h, w) in [(1, 1), (3, 5), (6, 9), (8, 33), (13, 63), (28, 28), (60, 80), (9, 138)] {
                // A 3×3 convolution without padding whose output is h × w.
                let geometry = Conv3dGeometry(
                    batch: 1, inChannels: 1, outChannels: 1, groups: 1, input: (1, h + 2, w + 2), kernel: (1, 3, 3),
                    stride: (1, 1, 1), padding: (0, 0, 0), dilation: (1, 1, 1))
                let layouts = [level, .portable].map {
                    WinogradLayout(geometry, tile: tile, level: $0, stacking: .automatic)
                }
                let stride = layouts[0].tiles + 3
                let frame = randomValues(h * w, seed: UInt64(h * w))
                let guarded = [Float](repeating: .nan, count: 64) + frame + [Float](repeating: .nan, count: 64)
                let cases: [(Int, WinogradMap, (Int, Int))] = [
                    (alpha, .input, (1, 1)), (alpha, .input, (0, 0)), (m, .outputGradient, (0, 0)),
                    (m, .outputGradient, (1, 0))
                ]
                for (taps, map, padding) in cases {
                    for present in [true, false] {
                        let what = "F(\(m)), \(h) × \(w), \(map), padding \(padding), frame \(present), \(level)"
                        let results = layouts.map { layout in
                            var out = [Float](repeating: 7, count: taps * alpha * stride)
                            guarded.withUnsafeBufferPointer { g in
                                winogradGatherFrame(
                                    layout, across: map, present ? g.baseAddress! + 64 : nil, height: h,
                                    width: w, padding: padding, into: &out, stride: stride)
                            }
                            return out
                        }
                        let same = results[0] == results[1]
                        #expect(same, "gather, \(what)")
                        #expect(!results[0].contains { $0.isNaN }, "the gather read outside the frame, \(what)")
                    }
                }
                let src = randomValues(m * alpha * stride, seed: UInt64(100 + h))
                for accumulate in [false, true] {
                    let results = layouts.map { layout in
                        var out = randomValues(h * w + 64, seed: 7)
                        winogradScatterFrame(layout, src, stride: stride, into: &out, accumulate: accumulate)
                        return out
                    }
                    let same = results[0] == results[1]
                    #expect(same, "scatter, F(\(m)), \(h) × \(w), accumulate \(accumulate), \(level)")
                }
            }
        }
    }

    /// Without the C kernels (`CLIPKIT_SIMD=portable`) the stems run through columns.
    @Test func portableRunsTheStemsThroughColumns() {
        let stem = Conv3dGeometry(
            batch: 1, inChannels: 3, outChannels: 8, groups: 1, input: (3, 9, 40), kernel: (3, 7, 7),
            stride: (1, 2, 2), padding: (1, 3, 3), dilation: (1, 1, 1))
        OpSettings.with(\.level, .portable) { #expect(stem.algorithm == "columns") }
        #expect(SIMDLevel.fromEnvironment("portable") == .portable)
        #expect(SIMDLevel.fromEnvironment("sse9") == SIMDLevel.best)
        #expect(SIMDLevel.fromEnvironment(nil) == SIMDLevel.best)
    }

    /// The naive twin's results for one case, made once: its forward pass
    /// and, for the output gradient `dy` (seed 6), dX and dW. (Made again for
    /// every run of a case, in debug builds they took most of the suite.)
    struct NaiveConvolution {
        let geometry: Conv3dGeometry
        let y: [Float]
        let dy: [Float]
        let dx: [Float]
        let dw: [Float]

        init(_ x: Tensor, _ w: Tensor, _ geometry: Conv3dGeometry) {
            self.geometry = geometry
            y = conv3dForwardNaive(x.scalars, w.scalars, geometry)
            dy = randomValues(y.count, seed: 6)
            (dx, dw) = conv3dBackwardNaive(x.scalars, w.scalars, dy, geometry)
        }
    }

    /// Forward, dX, dW and the inference epilogues of `conv3d` on x and w
    /// against the naive twin, in the current parallel mode and policy.
    private func equalsTheNaiveTwin(
        _ x: Tensor, _ w: Tensor, _ options: Conv3dOptions, _ naive: NaiveConvolution, _ what: String
    ) {
        let geometry = naive.geometry
        // F(4×4, 3×3)'s transforms multiply by up to 8 (and 1/24): its float32
        // rounding stays within 4e-5 of the outputs' RMS; F(2×2)'s, the
        // columns' and the naive twin's own within 4e-6 each
        // (winogradErrorIsStated), which the 1e-5 covers but on deep sums
        // (64 channels × 27 taps).
        let tiles = [
            geometry.winogradTile, geometry.temporalWinogradTile, geometry.temporalTransposed.temporalWinogradTile
        ]
        // Along time and space too: 2e-4 (SpatioTemporalTests.errorIsStated).
        let relative: Float = geometry.spatioTemporal != nil ? 2e-4 : tiles.contains(.f4) ? 4e-5 : 8e-6
        let scale = relative * rms(naive.y)
        x.zeroGrad()
        w.zeroGrad()
        let y = conv3d(x, w, options)
        #expect(closeness(y.scalars, naive.y, atol: 1e-5 + scale) == "", "forward, \(what)")
        let dy = naive.dy
        // New gradients are written, not zeroed and added into: storage made
        // without zeroing starts as NaNs, so that an element a path missed shows.
        OpSettings.with(\.poisonsUninitialised, true) {
            weightedSum(y, Tensor(shape: y.shape, values: dy)).backward()
        }
        let dxScale = relative * rms(naive.dx)
        #expect(closeness(x.grad!.scalars, naive.dx, atol: 1e-5 + dxScale) == "", "dx, \(what)")
        // A weight's gradient sums up to 2,002 products (N·T·H·W): rounding
        // in either twin reaches 2e-5 on values near 0.
        let dwScale = relative * rms(naive.dw)
        #expect(closeness(w.grad!.scalars, naive.dw, atol: 1e-4 + dwScale) == "", "dw, \(what)")
        // A second pass adds into the gradients the first one wrote.
        weightedSum(conv3d(x, w, options), Tensor(shape: y.shape, values: dy)).backward()
        #expect(
            closeness(x.grad!.scalars, naive.dx.map { 2 * $0 }, atol: 2 * (1e-5 + dxScale)) == "", "dx added, \(what)")
        #expect(
            closeness(w.grad!.scalars, naive.dw.map { 2 * $0 }, atol: 2 * (1e-4 + dwScale)) == "", "dw added, \(what)")
        inferenceEpiloguesEqualTheNaiveTwin(x, w, options, naive, what: what, atol: 1e-5 + scale)
    }

    /// Inference's fused epilogue (y·scale + shift, ReLU) and the sum into an
    /// existing output, against the naive convolution mapped afterwards.
    private func inferenceEpiloguesEqualTheNaiveTwin(
        _ x: Tensor, _ w: Tensor, _ options: Conv3dOptions, _ naive: NaiveConvolution, what: String, atol: Float
    ) {
        let g = naive.geometry
        let o = g.outChannels
        let affine = ChannelAffine(
            scale: randomValues(o, seed: 7).map { $0 + 1.5 }, shift: randomValues(o, seed: 8), relu: true)
        let plain = naive.y
        let base = randomValues(plain.count, seed: 9)
        func mapped(_ v: [Float]) -> [Float] {
            v.indices.map { i in
                let c = (i / g.outputVolume) % o
                return max(0, v[i] * affine.scale[c] + affine.shift[c])
            }
        }
        GradMode.withNoGrad {
            let y = conv3d(x, w, options, then: affine)
            #expect(closeness(y.scalars, mapped(plain), atol: 3 * atol) == "", "epilogue, \(what)")
            #expect(y.scalars.contains(0) && y.scalars.contains { $0 > 0 }, "the ReLU both cuts and keeps")
            guard g.groups != g.inChannels || g.groups != o else { return }  // depthwise: no sums into outputs
            let sum = Tensor(shape: y.shape, values: base)
            let returned = conv3d(x, w, options, addingTo: sum, then: affine)
            #expect(returned === sum)
            #expect(
                closeness(sum.scalars, mapped(zip(plain, base).map(+)), atol: 3 * atol) == "",
                "sum with epilogue, \(what)")
        }
    }

    /// Winograd's float32 error, stated: an R50-like middle conv (64 input
    /// channels, 3×3×3, inputs in [−1, 1), He-scaled weights) against a
    /// direct convolution summed in Double, as the largest error over the
    /// outputs' RMS. Columns (one float32 dot product of 1,728 terms) and
    /// F(2×2) stay within 4e-6, F(4×4) within 4e-5 (measured 1.8e-6, 1.0e-6
    /// and 1.5e-5: F(4×4)'s constants up to 8 cost about 8× the rounding);
    /// the other tests' F(4×4) tolerance rests on this bound.
    @Test func winogradErrorIsStated() {
        let cases = [
            (WinogradPolicy.never, "columns", 4e-6), (.small, "winograd-2x2", 4e-6), (.automatic, "winograd-4x4", 4e-5)
        ]
        let measured = statedErrors(batch: 1, side: 16, seeds: (40, 41), policies: cases.map { $0.0 })
        for ((_, algorithm, bound), (taken, error)) in zip(cases, measured) {
            #expect(taken == algorithm)
            #expect(error < bound, "\(algorithm): largest error \(error) of the outputs' RMS")
            #expect(error > 1e-9, "\(algorithm) rounds somewhere: \(error)")
        }
    }

    /// Winograd's buffers: a wide frame (many tiles per row), a temporal
    /// chunking that leaves a short last chunk, and GEMM groups of frames
    /// that leave a short last group in a chunk; nothing is written past the
    /// scratch and U it asks for, and the output and the weight gradient
    /// equal the naive twin's, at every level (U is packed for `brgemm` in
    /// slivers of 8 rows at AVX-512, unpacked for OpenBLAS elsewhere).
    @Test(arguments: WinogradTile.allCases, SIMDLevel.allCases.filter(\.isSupported))
    func winogradStaysInsideItsBuffers(_ tile: WinogradTile, _ level: SIMDLevel) {
        let g = Conv3dGeometry(
            batch: 2, inChannels: 8, outChannels: 9, groups: 1, input: (7, 9, 41), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (1, 1, 1), dilation: (1, 1, 1))
        // A budget of 5 input frames: chunks of 3, 3 and 1 output frames;
        // 2 · tiles − 10 columns: groups of 2 frames (5 × 21 tiles a frame for
        // F(2×2), 3 × 11 for F(4×4)).
        let tiles = g.winogradTiles(tile)
        let layout = WinogradLayout(
            g, tile: tile, level: level, stacking: .automatic, budget: tile.planes * 8 * tiles.h * tiles.w * 5,
            columns: 2 * tiles.h * tiles.w - 10)
        #expect(layout.frames == 3 && layout.group == 2 && g.output.t % layout.frames != 0)
        let xv = randomValues(2 * 8 * 7 * 9 * 41, seed: 30)
        let wv = randomValues(9 * 8 * 27, seed: 31)
        let guardCount = 256
        var u = [Float](repeating: .nan, count: layout.uCount + guardCount)
        var scratch = [Float](repeating: .nan, count: layout.scratchCount + guardCount)
        var y = [Float](repeating: 0, count: 2 * 9 * g.outputVolume)
        winogradWeights(wv, layout, flipped: false, into: &u)
        u.withUnsafeBufferPointer { u in
            scratch.withUnsafeMutableBufferPointer { s in
                winogradForward(
                    xv, u.baseAddress!, &y, layout, samples: 0..<2, scratch: s.baseAddress!, accumulate: false)
            }
        }
        #expect(u[layout.uCount...].allSatisfy(\.isNaN) && scratch[layout.scratchCount...].allSatisfy(\.isNaN))
        let naive = conv3dForwardNaive(xv, wv, g)
        #expect(closeness(y, naive, atol: 1e-5 + (tile == .f4 ? 4e-5 * rms(naive) : 0)) == "")
        // The weight gradient: the same scratch, and dU the size of U.
        let dy = randomValues(y.count, seed: 32)
        var dw = [Float](repeating: 0, count: wv.count)
        var du = [Float](repeating: .nan, count: layout.weightCount + guardCount)
        scratch = [Float](repeating: .nan, count: layout.scratchCount + guardCount)
        scratch.withUnsafeMutableBufferPointer { s in
            du.withUnsafeMutableBufferPointer { du in
                winogradBackwardWeight(xv, dy, du: du.baseAddress!, layout, samples: 0..<2, scratch: s.baseAddress!)
                winogradWeightGradient(du.baseAddress!, layout, into: &dw)
            }
        }
        #expect(scratch[layout.scratchCount...].allSatisfy(\.isNaN) && du[layout.weightCount...].allSatisfy(\.isNaN))
        // Each weight's gradient sums 5,166 products: the naive twin's own
        // rounding (one Float chain) is about 1e-4 at these magnitudes.
        let naiveDW = conv3dBackwardNaive(xv, wv, dy, g).dw
        #expect(closeness(dw, naiveDW, atol: 2e-4 + (tile == .f4 ? 4e-5 * rms(naiveDW) : 0)) == "")
        // dU's planes split in two calls (as the workers split them where
        // `splitsPlanes`): each writes its own planes whole, the same sums.
        var split = [Float](repeating: .nan, count: layout.weightCount + guardCount)
        let half = layout.planes / 2 + 1
        scratch.withUnsafeMutableBufferPointer { s in
            split.withUnsafeMutableBufferPointer { du in
                for planes in [half..<layout.planes, 0..<half] {
                    winogradBackwardWeight(
                        xv, dy, du: du.baseAddress!, layout, samples: 0..<2, planes: planes, scratch: s.baseAddress!)
                }
            }
        }
        #expect(
            split[..<layout.weightCount] == du[..<layout.weightCount]
                && split[layout.weightCount...].allSatisfy(\.isNaN))
    }

    /// Max pooling (the 2×2 fast path and the generic one) against a naive twin,
    /// forward and backward, with ties resolved to the first maximum, at every
    /// level this machine runs (the 2×2 path's C kernels and their Swift twin).
    @Test(arguments: [
        ((1, 2, 2), (1, 2, 2), (0, 0, 0)), ((2, 2, 2), (2, 2, 2), (0, 0, 0)), ((2, 3, 2), (1, 2, 2), (0, 0, 0)),
        ((1, 3, 3), (1, 3, 3), (0, 0, 0)),
        // The R50 stems' pool (3 wide at stride 2, padding 1: 8 windows at a time inside the rows).
        ((1, 3, 3), (1, 2, 2), (0, 1, 1)), ((3, 3, 3), (1, 2, 2), (1, 1, 1))
    ])
    func maxPoolEqualsTheNaiveTwin(
        _ kernel: (Int, Int, Int), _ stride: (Int, Int, Int), _ padding: (Int, Int, Int)
    ) {
        // Rows of 18 2×2 windows: two of 8 lanes, then two alone; an odd width
        // leaves a column no window covers, an odd height a row, 5 frames a
        // frame of the 2×2×2 windows.
        let shape = [2, 3, 5, 7, 37]
        // Coarse values make ties common.
        let values = randomValues(shape.reduce(1, *), seed: 50).map { ($0 * 4).rounded() }
        let (t, h, w) = (5, 7, 37)
        let (to, ho, wo) = (
            (t + 2 * padding.0 - kernel.0) / stride.0 + 1, (h + 2 * padding.1 - kernel.1) / stride.1 + 1,
            (w + 2 * padding.2 - kernel.2) / stride.2 + 1
        )
        var expected: [Float] = []
        var expectedGrad = [Float](repeating: 0, count: values.count)
        let up = randomValues(2 * 3 * to * ho * wo, seed: 51)
        var o = 0
        for plane in 0..<6 {
            for a in 0..<to {
                for b in 0..<ho {
                    for d in 0..<wo {
                        var best = -Float.infinity
                        var at = -1
                        for i in 0..<kernel.0 {
                            for j in 0..<kernel.1 {
                                for k in 0..<kernel.2 {
                                    let (ti, hj, wk) = (
                                        a * stride.0 + i - padding.0, b * stride.1 + j - padding.1,
                                        d * stride.2 + k - padding.2
                                    )
                                    guard (0..<t).contains(ti) && (0..<h).contains(hj) && (0..<w).contains(wk) else {
                                        continue
                                    }
                                    let index = plane * t * h * w + (ti * h + hj) * w + wk
                                    if values[index] > best {
                                        best = values[index]
                                        at = index
                                    }
                                }
                            }
                        }
                        expected.append(best)
                        expectedGrad[at] += up[o]
                        o += 1
                    }
                }
            }
        }
        for level in SIMDLevel.allCases where level.isSupported {
            OpSettings.with(\.level, level) {
                let x = Tensor(shape: shape, values: values)
                x.requiresGrad = true
                let y = maxPool3d(x, kernel: kernel, stride: stride, padding: padding)
                #expect(y.shape == [2, 3, to, ho, wo])
                #expect(y.scalars == expected, "\(level)")
                // The gradient is written whole into a new buffer: freed NaNs of
                // its size make an element it missed show.
                _ = Tensor(shape: shape, values: [Float](repeating: .nan, count: values.count))
                weightedSum(y, Tensor(shape: y.shape, values: up)).backward()
                #expect(closeness(x.grad!.scalars, expectedGrad) == "", "\(level)")
                // Into the gradient already there (the first pass wrote it whole).
                let again = maxPool3d(x, kernel: kernel, stride: stride, padding: padding)
                weightedSum(again, Tensor(shape: y.shape, values: up)).backward()
                #expect(closeness(x.grad!.scalars, expectedGrad.map { 2 * $0 }) == "", "\(level), added")
            }
        }
    }

    /// A convolution's weight gradient goes straight into the weight's
    /// gradient: written where it is new, added where the weight already
    /// has one (two backward passes without zeroGrad, or the weight used
    /// twice); each against twice one pass's gradient. Where AVX-512 runs
    /// brgemm, Winograd with dU's planes split and V and M of the batch made
    /// first (dW = Gᵀ dU G written rather than added where new); below
    /// it, Winograd over stacked samples (4 of 32 tiles); the stem's direct
    /// kernel; columns with both workers' partials; depthwise.
    @Test(arguments: [
        (2, 64, 64, 1, (8, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1)),
        (4, 16, 16, 1, (8, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1)),
        (2, 3, 8, 1, (3, 9, 40), (3, 7, 7), (1, 2, 2), (1, 3, 3)),
        (2, 8, 6, 1, (3, 5, 6), (1, 1, 1), (1, 2, 2), (0, 0, 0)),
        (2, 4, 4, 4, (3, 5, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1))
    ])
    func weightGradientsAddIntoTheWeightsGradient(
        _ n: Int, _ c: Int, _ o: Int, _ groups: Int, _ input: (Int, Int, Int), _ kernel: (Int, Int, Int),
        _ stride: (Int, Int, Int), _ padding: (Int, Int, Int)
    ) {
        let geometry = Conv3dGeometry(
            batch: n, inChannels: c, outChannels: o, groups: groups, input: input, kernel: kernel, stride: stride,
            padding: padding, dilation: (1, 1, 1))
        let packed = SIMDLevel.usable.runsBrgemm
        let expected =
            groups > 1
            ? "depthwise"
            : c == 3
                ? geometry.directLevel.map { "direct-\($0.rawValue)" } ?? "columns"
                : kernel.1 == 3 && packed
                    ? "winograd-2x2" : kernel.1 == 3 && n == 4 ? "winograd-2x2-stacked" : "columns"
        #expect(geometry.algorithm == expected)
        if geometry.usesWinograd {
            let layout = WinogradLayout(geometry, tile: geometry.winogradTile!, level: .usable, stacking: .automatic)
            if let stack = WinogradStack(layout) {
                #expect(!packed && stack.samples == 4)
            } else if c == 64 {
                #expect(layout.splitsPlanes(workers: 2) && layout.isOneGroup)
            }
        }
        let x = Tensor(
            shape: [n, c, input.0, input.1, input.2],
            values: randomValues(n * c * input.0 * input.1 * input.2, seed: 130))
        let w = Tensor(
            shape: [o, c / groups, kernel.0, kernel.1, kernel.2],
            values: randomValues(o * (c / groups) * kernel.0 * kernel.1 * kernel.2, seed: 131))
        w.requiresGrad = true
        let options = Conv3dOptions(stride: stride, padding: padding, groups: groups)
        Parallel.with(ParallelSettings(mode: .batch, threads: 2)) {
            let y = conv3d(x, w, options)
            let up = Tensor(shape: y.shape, values: randomValues(y.count, seed: 132))
            weightedSum(y, up).backward()
            let once = w.grad!.scalars
            weightedSum(conv3d(x, w, options), up).backward()
            #expect(closeness(w.grad!.scalars, once.map { 2 * $0 }) == "", "two passes, \(w.shape)")
            w.zeroGrad()
            weightedSum(add(conv3d(x, w, options), conv3d(x, w, options)), up).backward()
            #expect(closeness(w.grad!.scalars, once.map { 2 * $0 }) == "", "the weight twice, \(w.shape)")
        }
    }

    /// The columns' forward, dW and dX passes in column chunks much smaller
    /// than their budget's, over two samples (dW then sums over chunks and
    /// samples), against the naive twins: every pass writing new results
    /// into NaN-filled buffers (dW's first product per group takes beta 0,
    /// dX's planes are zeroed or written), then adding onto them. Cases: a
    /// 3×3×3 conv in chunks of two output rows with a short last chunk; two
    /// groups with stride 2 in chunks of one row; a strided 1×1×1 conv
    /// (`forEachPointwiseRow`) in chunks of three rows of 3, which start
    /// inside a frame's rows; a pointwise conv, whose GEMMs read and write
    /// the planes in place, in chunks of two rows.
    @Test(arguments: [
        ((3, 5, 5), (3, 3, 3), (1, 1, 1), (1, 1, 1), 1, 2),
        ((4, 7, 6), (3, 3, 3), (2, 2, 2), (1, 1, 1), 2, 1),
        ((3, 7, 9), (1, 1, 1), (2, 2, 3), (0, 0, 0), 1, 3),
        ((2, 5, 7), (1, 1, 1), (1, 1, 1), (0, 0, 0), 1, 2)
    ])
    func chunkedColumnsEqualTheNaiveTwins(
        _ input: (Int, Int, Int), _ kernel: (Int, Int, Int), _ stride: (Int, Int, Int), _ padding: (Int, Int, Int),
        _ groups: Int, _ rows: Int
    ) {
        let g = Conv3dGeometry(
            batch: 2, inChannels: 4, outChannels: 6, groups: groups, input: input, kernel: kernel,
            stride: stride, padding: padding, dilation: (1, 1, 1))
        let chunk = rows * g.output.w
        #expect(chunk < g.outputVolume && chunk < columnChunk(g), "the case must take several chunks")
        let x = randomValues(2 * 4 * g.inputVolume, seed: 9)
        let w = randomValues(6 * g.columnRows, seed: 10)
        let dy = randomValues(2 * 6 * g.outputVolume, seed: 11)
        let y = conv3dForwardNaive(x, w, g)
        let (dx, dw) = conv3dBackwardNaive(x, w, dy, g)
        var col = [Float](repeating: .nan, count: g.columnRows * chunk)
        var ours = (y: [Float](repeating: .nan, count: y.count), dx: [Float](repeating: .nan, count: dx.count))
        var ourDw = [Float](repeating: .nan, count: dw.count)
        for pass in 0..<2 {  // new results, then added onto them
            let adding = pass == 1
            col.withUnsafeMutableBufferPointer { col in
                ours.y.withUnsafeMutableBufferPointer { yp in
                    conv3dForward(
                        x, w, yp.baseAddress!, g, samples: 0..<2, col: col.baseAddress!, accumulate: adding,
                        chunk: chunk)
                }
                ourDw.withUnsafeMutableBufferPointer { dwp in
                    conv3dBackwardWeight(
                        x, dy, dwp.baseAddress!, g, samples: 0..<2, col: col.baseAddress!, overwrite: !adding,
                        chunk: chunk)
                }
                ours.dx.withUnsafeMutableBufferPointer { dxp in
                    conv3dBackwardData(
                        w, dy, dxp.baseAddress!, g, samples: 0..<2, col: col.baseAddress!, overwrite: !adding,
                        chunk: chunk)
                }
            }
            let times: Float = adding ? 2 : 1
            #expect(closeness(ours.y, y.map { times * $0 }) == "", "forward, pass \(pass)")
            #expect(closeness(ourDw, dw.map { times * $0 }) == "", "dW, pass \(pass)")
            #expect(closeness(ours.dx, dx.map { times * $0 }) == "", "dX, pass \(pass)")
        }
    }
}
