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
        let g = Conv3dGeometry(
            batch: 2, inChannels: 64, outChannels: 8, groups: 1, input: (8, 24, 24), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (1, 1, 1), dilation: (1, 1, 1))
        let xv = randomValues(2 * 64 * g.inputVolume, seed: 70)
        let bound = Float((2.0 / Double(64 * 27)).squareRoot())
        let wv = randomValues(8 * 64 * 27, seed: 71).map { $0 * bound * 1.7 }
        let exact = conv3dInDouble(xv, wv, g)
        let x = Tensor(shape: [2, 64, 8, 24, 24], values: xv)
        let w = Tensor(shape: [8, 64, 3, 3, 3], values: wv)
        for (policy, algorithm, bound) in [
            // The 1×3×3 convs (72 tiles a sample) stack over the batch without brgemm only.
            (WinogradPolicy.space, "winograd-4x4", 4e-5),
            (.automatic, "winograd-t4+winograd-4x4" + (SIMDLevel.usable.runsBrgemm ? "" : "-stacked"), 2e-4)
        ] {
            let error = Conv3dGeometry.$winogradPolicy.withValue(policy) {
                #expect(g.algorithm == algorithm)
                let y = GradMode.withNoGrad { conv3d(x, w, Conv3dOptions(padding: (1, 1, 1))) }.scalars
                return largestErrorOverRMS(y, exact)
            }
            print("\(algorithm): largest error \(error) of the outputs' RMS")
            #expect(error < bound && error > 1e-9, "\(algorithm): \(error)")
        }
    }

    /// Backward with one gradient only (a frozen weight, an input without
    /// gradient): the other is neither needed nor made, and the one made
    /// equals the naive twin's.
    @Test func oneGradientAlone() {
        let g = Conv3dGeometry(
            batch: 4, inChannels: 8, outChannels: 8, groups: 1, input: (16, 12, 12), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (0, 1, 1), dilation: (1, 1, 1))
        #expect(g.spatioTemporal != nil)
        let xv = randomValues(4 * 8 * g.inputVolume, seed: 72)
        let wv = randomValues(8 * 8 * 27, seed: 73)
        let dy = randomValues(4 * 8 * g.outputVolume, seed: 74)
        let naive = conv3dBackwardNaive(xv, wv, dy, g)
        for inputGradient in [true, false] {
            let x = Tensor(shape: [4, 8, 16, 12, 12], values: xv)
            let w = Tensor(shape: [8, 8, 3, 3, 3], values: wv)
            x.requiresGrad = inputGradient
            w.requiresGrad = !inputGradient
            let y = conv3d(x, w, Conv3dOptions(padding: (0, 1, 1)))
            Storage.$poisonsUninitialised.withValue(true) {
                weightedSum(y, Tensor(shape: y.shape, values: dy)).backward()
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
    /// 1 samples): the forward pass, dX and dW equal the naive twin's, both
    /// written and added (x and w used twice in one graph), with buffers
    /// poisoned; below one sample's worth the path is not taken.
    @Test func chunksOfTheBatch() {
        func geometry(_ batch: Int) -> Conv3dGeometry {
            Conv3dGeometry(
                batch: batch, inChannels: 8, outChannels: 8, groups: 1, input: (16, 24, 24), kernel: (3, 3, 3),
                stride: (1, 1, 1), padding: (0, 1, 1), dilation: (1, 1, 1))
        }
        let wv = randomValues(8 * 8 * 27, seed: 76)
        // Inputs and the naive twin's results per batch, made once.
        let cases = Dictionary(
            uniqueKeysWithValues: [3, 4].map { batch in
                let g = geometry(batch)
                let xv = randomValues(batch * 8 * g.inputVolume, seed: 75)
                let dy = randomValues(batch * 8 * g.outputVolume, seed: 77)
                return (batch, (xv, dy, conv3dForwardNaive(xv, wv, g), conv3dBackwardNaive(xv, wv, dy, g)))
            })
        for (batch, budget, chunk) in [(4, 4, 4), (4, 2, 2), (4, 3, 2), (4, 1, 1), (3, 2, 1)] {
            let g = geometry(batch)
            let (xv, dy, forward, naive) = cases[batch]!
            let perSample = 8 * (g.inputVolume + g.outputVolume)
            let what = "batch \(batch) in chunks of \(chunk)"
            Conv3dGeometry.$spatioTemporalBudget.withValue(budget * perSample) {
                #expect(g.spatioTemporal?.planes.batch == chunk, "\(what)")
                let x = Tensor(shape: [batch, 8, 16, 24, 24], values: xv)
                let w = Tensor(shape: [8, 8, 3, 3, 3], values: wv)
                (x.requiresGrad, w.requiresGrad) = (true, true)
                let ys = (0..<2).map { _ in conv3d(x, w, Conv3dOptions(padding: (0, 1, 1))) }
                #expect(closeness(ys[0].scalars, forward, atol: 1e-3) == "", "forward, \(what)")
                let weights = Tensor(shape: ys[0].shape, values: dy)
                Storage.$poisonsUninitialised.withValue(true) {
                    add(weightedSum(ys[0], weights), weightedSum(ys[1], weights)).backward()
                }
                #expect(closeness(x.grad!.scalars, naive.dx.map { 2 * $0 }, atol: 4e-3) == "", "dx, \(what)")
                #expect(closeness(w.grad!.scalars, naive.dw.map { 2 * $0 }, atol: 4e-2) == "", "dw, \(what)")
            }
            Conv3dGeometry.$spatioTemporalBudget.withValue(perSample - 1) {
                #expect(g.spatioTemporal == nil, "\(what): below one sample")
            }
        }
    }
}
