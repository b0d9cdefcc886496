import Foundation
import TestSupport
import Testing

@testable import Tensor

/// Winograd's dW = Gᵀ dU G (`winogradWeightGradient`): the C kernel of each
/// level this machine runs against the Swift loops, its twin (the naive
/// convolution checks the whole weight gradient in KernelTests).
@Suite struct WinogradWeightGradientTests {
    /// Both tiles, temporal kernels 1–3, input channels around whole vectors
    /// of 8 and 16 (the tail lanes), output channels split over 1 and 2
    /// workers; dW written (over NaNs) and added (to values): the same
    /// floats as the twin, and nothing written past dW.
    @Test(arguments: SIMDLevel.allCases.filter { $0 != .portable && $0.isSupported }, WinogradTile.allCases)
    func kernelEqualsTheSwiftTwin(_ level: SIMDLevel, _ tile: WinogradTile) {
        for (c, kt) in [(1, 1), (7, 3), (8, 2), (9, 3), (16, 1), (17, 3), (33, 2)] {
            let o = 5
            let g = Conv3dGeometry(
                batch: 1, inChannels: c, outChannels: o, groups: 1, input: (4, 6, 6), kernel: (kt, 3, 3),
                stride: (1, 1, 1), padding: (kt / 2, 1, 1), dilation: (1, 1, 1))
            let du = randomValues(tile.planes * o * kt * c, seed: UInt64(170 + c * kt))
            let start = randomValues(o * c * kt * 9, seed: UInt64(171 + c * kt))
            for overwrite in [true, false] {
                func run(_ level: SIMDLevel, workers: Int) -> [Float] {
                    let layout = WinogradLayout(g, tile: tile, level: level, stacking: .automatic)
                    var dw = (overwrite ? [Float](repeating: .nan, count: start.count) : start) + [.nan]
                    dw.withUnsafeMutableBufferPointer { dw in
                        winogradWeightGradient(
                            du, layout, into: dw.baseAddress!, overwrite: overwrite, workers: workers)
                    }
                    return dw
                }
                let twin = run(.portable, workers: 1)
                #expect(!twin.dropLast().contains { $0.isNaN })
                for workers in [1, 2] {
                    let kernel = run(level, workers: workers)
                    let what = "\(tile), \(level), C \(c), kt \(kt), overwrite \(overwrite), \(workers) workers"
                    let differing = zip(kernel.dropLast(), twin.dropLast()).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(differing) floats differ, \(what)")
                    #expect(kernel.last!.isNaN, "past dW, \(what)")
                }
            }
        }
    }
}
