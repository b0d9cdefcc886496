import TestSupport
import Testing

@testable import Tensor

/// 3×3×3 convolutions by Winograd along time and space
/// (`Conv3dGeometry.spatioTemporal`): its float32 error, stated.
@Suite struct SpatioTemporalTests {
    /// The largest error over the outputs' RMS of an R50-like middle conv
    /// (64 input channels, 8 output ones, 3×3×3, 8 frames of 24×24, inputs in [−1, 1),
    /// He-scaled weights) against a direct convolution summed in Double:
    /// F(4, 3) along time around F(4×4, 3×3) in space stays within 2e-4
    /// (measured 8.8e-5, about 5× F(4×4, 3×3)'s per tap, measured 1.7e-5
    /// here and held to 4e-5). KernelTests' tolerance for these
    /// convolutions rests on this bound.
    @Test func errorIsStated() {
        let cases = [
            // The 1×3×3 convs (72 tiles a sample) stack over the batch without brgemm only.
            (WinogradPolicy.space, "winograd-4x4", 4e-5),
            (.automatic, "winograd-t4+winograd-4x4" + (SIMDLevel.usable.runsBrgemm ? "" : "-stacked"), 2e-4)
        ]
        // 8 output channels: the path along time and space only where tests allow it on so few (72 tiles a sample).
        let measured = OpSettings.with(\.spatioTemporalSmallPlaneChannels, 0) {
            statedErrors(batch: 2, side: 24, seeds: (70, 71), policies: cases.map { $0.0 })
        }
        for ((_, algorithm, bound), (taken, error)) in zip(cases, measured) {
            #expect(taken == algorithm)
            print("\(algorithm): largest error \(error) of the outputs' RMS")
            #expect(error < bound && error > 1e-9, "\(algorithm): \(error)")
        }
    }

    /// Backward with one gradient only (a frozen weight, an input without
    /// gradient): the other is neither needed nor made, and the one made
    /// equals the naive twin's, with the batch whole and in chunks of 2.
    @Test func oneGradientAlone() {
        let g = Conv3dGeometry(
            batch: 4, inChannels: 8, outChannels: 8, groups: 1, input: (16, 24, 24), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (0, 1, 1), dilation: (1, 1, 1))
        #expect(g.spatioTemporal != nil)
        let xv = randomValues(4 * 8 * g.inputVolume, seed: 72)
        let wv = randomValues(8 * 8 * 27, seed: 73)
        let dy = randomValues(4 * 8 * g.outputVolume, seed: 74)
        let naive = conv3dBackwardNaive(xv, wv, dy, g)
        let perSample = 8 * (g.inputVolume + g.outputVolume)
        for (inputGradient, budget) in [(true, 4), (false, 4), (true, 2), (false, 2)] {
            let chunked = OpSettings.with(\.spatioTemporalBudget, budget * perSample) {
                g.spatioTemporal?.planes.batch
            }
            #expect(chunked == budget)
            let x = Tensor(shape: [4, 8, 16, 24, 24], values: xv)
            let w = Tensor(shape: [8, 8, 3, 3, 3], values: wv)
            x.requiresGrad = inputGradient
            w.requiresGrad = !inputGradient
            OpSettings.with(\.spatioTemporalBudget, budget * perSample) {
                let y = conv3d(x, w, Conv3dOptions(padding: (0, 1, 1)))
                OpSettings.with(\.poisonsUninitialised, true) {
                    weightedSum(y, Tensor(shape: y.shape, values: dy)).backward()
                }
            }
            if inputGradient {
                #expect(w.grad == nil)
                #expect(closeness(x.grad!.scalars, naive.dx, atol: 2e-3) == "", "dx alone")
            } else {
                #expect(x.grad == nil)
                #expect(closeness(w.grad!.scalars, naive.dw, atol: 2e-2) == "", "dw alone")
            }
        }
    }

    /// The batch in chunks (the budget lowered so that a chunk holds 4, 2 or
    /// 1 samples; on 12×12 frames with the planes stacked over a chunk's
    /// samples): the forward pass, dX and dW equal the naive twin's, both
    /// written and added (x and w used twice in one graph), with buffers
    /// poisoned; so do inference's epilogue and a sum into an existing
    /// output. Below one sample's worth the path is not taken.
    @Test func chunksOfTheBatch() {
        // 8 channels: the 12×12 case (36 tiles a sample) takes the path only with the channels' bound lifted.
        OpSettings.with(\.spatioTemporalSmallPlaneChannels, 0) { chunksEqualTheNaiveTwin() }
    }

    private func chunksEqualTheNaiveTwin() {
        func geometry(_ batch: Int, _ side: Int) -> Conv3dGeometry {
            Conv3dGeometry(
                batch: batch, inChannels: 8, outChannels: 8, groups: 1, input: (16, side, side), kernel: (3, 3, 3),
                stride: (1, 1, 1), padding: (0, 1, 1), dilation: (1, 1, 1))
        }
        let wv = randomValues(8 * 8 * 27, seed: 76)
        let affine = ChannelAffine(
            scale: randomValues(8, seed: 78).map { $0 + 1.5 }, shift: randomValues(8, seed: 79), relu: true)
        // The naive twin's results per batch and frame, made once.
        var twins: [[Int]: ([Float], [Float], [Float], [Float], (dx: [Float], dw: [Float]))] = [:]
        for (batch, side, budget, chunk, stacking) in [
            (4, 24, 4, 4, WinogradStacking.automatic), (4, 24, 2, 2, .automatic), (4, 24, 1, 1, .automatic),
            (3, 24, 2, 1, .automatic), (8, 12, 4, 4, .always)
        ] {
            let g = geometry(batch, side)
            if twins[[batch, side]] == nil {
                let xv = randomValues(batch * 8 * g.inputVolume, seed: 75)
                let dy = randomValues(batch * 8 * g.outputVolume, seed: 77)
                let base = randomValues(batch * 8 * g.outputVolume, seed: 80)
                twins[[batch, side]] = (
                    xv, dy, base, conv3dForwardNaive(xv, wv, g), conv3dBackwardNaive(xv, wv, dy, g)
                )
            }
            let (xv, dy, base, forward, naive) = twins[[batch, side]]!
            let perSample = 8 * (g.inputVolume + g.outputVolume)
            let what = "batch \(batch) of \(side)² in chunks of \(chunk)"
            let shape = [batch, 8, 16, side, side]
            OpSettings.with(\.winogradStacking, stacking) {
                OpSettings.with(\.spatioTemporalBudget, budget * perSample) {
                    #expect(g.spatioTemporal?.planes.batch == chunk, "\(what)")
                    #expect(stacking == .automatic || g.algorithm.hasSuffix("-stacked"), "\(what): \(g.algorithm)")
                    let x = Tensor(shape: shape, values: xv)
                    let w = Tensor(shape: [8, 8, 3, 3, 3], values: wv)
                    (x.requiresGrad, w.requiresGrad) = (true, true)
                    let ys = (0..<2).map { _ in conv3d(x, w, Conv3dOptions(padding: (0, 1, 1))) }
                    #expect(closeness(ys[0].scalars, forward, atol: 1e-3) == "", "forward, \(what)")
                    let weights = Tensor(shape: ys[0].shape, values: dy)
                    OpSettings.with(\.poisonsUninitialised, true) {
                        add(weightedSum(ys[0], weights), weightedSum(ys[1], weights)).backward()
                    }
                    #expect(closeness(x.grad!.scalars, naive.dx.map { 2 * $0 }, atol: 4e-3) == "", "dx, \(what)")
                    #expect(closeness(w.grad!.scalars, naive.dw.map { 2 * $0 }, atol: 4e-2) == "", "dw, \(what)")
                    // Inference: the epilogue per chunk, and a sum into an existing output.
                    func mapped(_ v: [Float]) -> [Float] {
                        v.indices.map { i in
                            let c = (i / g.outputVolume) % 8
                            return max(0, v[i] * affine.scale[c] + affine.shift[c])
                        }
                    }
                    GradMode.withNoGrad {
                        let (xi, wi) = (Tensor(shape: shape, values: xv), Tensor(shape: [8, 8, 3, 3, 3], values: wv))
                        let y = conv3d(xi, wi, Conv3dOptions(padding: (0, 1, 1)), then: affine)
                        #expect(closeness(y.scalars, mapped(forward), atol: 3e-3) == "", "epilogue, \(what)")
                        let sum = Tensor(shape: y.shape, values: base)
                        _ = conv3d(xi, wi, Conv3dOptions(padding: (0, 1, 1)), addingTo: sum, then: affine)
                        let expected = mapped(zip(forward, base).map(+))
                        #expect(closeness(sum.scalars, expected, atol: 3e-3) == "", "sum with epilogue, \(what)")
                    }
                }
                OpSettings.with(\.spatioTemporalBudget, perSample - 1) {
                    #expect(g.spatioTemporal == nil, "\(what): below one sample")
                }
            }
        }
    }

    /// Which 3×3×3 convolutions take the path, as measured (the doc comment
    /// of `Conv3dGeometry.spatioTemporal`): 1×3×3 convolutions of ≥ 128
    /// tiles a sample, or of fewer with ≥ 64 channels each side.
    /// At AVX2, where they were measured: with brgemm (AVX-512) 1×3×3
    /// convolutions of 16 tiles a sample do not stack but take F(2×2), and
    /// the multiplies' rule leaves the path out there.
    @Test func takenWhereMeasuredToPay() {
        func taken(_ batch: Int, _ c: Int, _ o: Int, _ input: (Int, Int, Int)) -> Bool {
            OpSettings.with(\.level, .avx2) {
                Conv3dGeometry(
                    batch: batch, inChannels: c, outChannels: o, groups: 1, input: input, kernel: (3, 3, 3),
                    stride: (1, 1, 1), padding: (1, 1, 1), dilation: (1, 1, 1)
                ).spatioTemporal != nil
            }
        }
        // kth3l's conv2 at full size and on stage-s clips (320 and 128 tiles a sample, 32 input channels).
        #expect(taken(16, 32, 64, (16, 30, 40)) && taken(16, 32, 64, (8, 30, 30)))
        // Its conv3 on stage-s clips (16 tiles, 64 input channels); r3d50's res2.conv2 at 4 × 8 × 112² (98 tiles).
        #expect(taken(16, 64, 128, (4, 15, 15)) && taken(4, 64, 64, (8, 28, 28)))
        // kth3l's conv2 on stage-t clips: 64 tiles a sample, 32 input channels.
        #expect(!taken(16, 32, 64, (16, 15, 15)))
        // The same with the channels' condition lifted: the multiplies' rule alone takes it.
        OpSettings.with(\.spatioTemporalSmallPlaneChannels, 0) { #expect(taken(16, 32, 64, (16, 15, 15))) }
    }

    /// A chunk is a multiple of the workers where one fits the budget:
    /// 6 samples with room for 3 run in chunks of 2 with 2 workers, of 3
    /// with one.
    @Test func chunksSplitEvenlyOverTheWorkers() {
        let g = Conv3dGeometry(
            batch: 6, inChannels: 8, outChannels: 8, groups: 1, input: (16, 24, 24), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (0, 1, 1), dilation: (1, 1, 1))
        let perSample = 8 * (g.inputVolume + g.outputVolume)
        for (mode, chunk) in [(Parallelism.batch, 2), (.blas, 3)] {
            Parallel.with(ParallelSettings(mode: mode, threads: 2)) {
                OpSettings.with(\.spatioTemporalBudget, 3 * perSample) {
                    #expect(g.spatioTemporalChunk == chunk, "\(mode)")
                }
            }
        }
    }
}
