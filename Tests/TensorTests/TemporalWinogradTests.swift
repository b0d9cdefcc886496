import TestSupport
import Testing

@testable import Tensor

/// Winograd along time for 3×1×1 convolutions (`TemporalWinograd`): which
/// shapes take it, and the batch split into stacks of every size against
/// the naive twin. KernelTests runs whole convolutions through it.
@Suite struct TemporalWinogradTests {
    static func geometry(
        batch: Int, frames: Int, padding: Int = 1, channels: Int = 128, outChannels: Int? = nil
    ) -> Conv3dGeometry {
        Conv3dGeometry(
            batch: batch, inChannels: channels, outChannels: outChannels ?? channels, groups: 1, input: (frames, 7, 7),
            kernel: (3, 1, 1), stride: (1, 1, 1), padding: (padding, 0, 0), dilation: (1, 1, 1))
    }

    /// F(4) wherever it does at most 3/4 of the frame products of frame
    /// shifts (R(2+1)D at 4, 8 and 16 frames: 6 of 10, 12 of 22, 24 of 46),
    /// F(2) under `small` (16 of 22 at 8 frames; 8 of 10 at 4 is too many),
    /// never on 1–3 frames, under `never` or `space`, or with fewer than 128
    /// channels.
    @Test func theTileFollowsTheFrameProducts() {
        for (frames, automatic, small) in [
            (16, WinogradTile?.some(.f4), WinogradTile?.some(.f2)), (8, .f4, .f2), (4, .f4, nil), (3, nil, nil),
            (2, nil, nil), (1, nil, nil)
        ] {
            let g = Self.geometry(batch: 4, frames: frames)
            #expect(g.temporalWinogradTile == automatic, "\(frames) frames")
            OpSettings.with(\.winogradPolicy, .small) {
                #expect(g.temporalWinogradTile == small, "\(frames) frames, small")
            }
            for policy in [WinogradPolicy.never, .space] {
                OpSettings.with(\.winogradPolicy, policy) { #expect(g.temporalWinogradTile == nil) }
            }
        }
        #expect(Self.geometry(batch: 4, frames: 8, channels: 64).temporalWinogradTile == nil)
        #expect(Self.geometry(batch: 4, frames: 8).algorithm == "winograd-4-temporal")
        OpSettings.with(\.winogradPolicy, .small) {
            #expect(Self.geometry(batch: 4, frames: 8).algorithm == "winograd-2-temporal")
        }
        #expect(Self.geometry(batch: 4, frames: 2).algorithm == "frame-shift")
    }

    /// 5 samples in stacks of 1, 2 (2 + 2 + 1) and 5 (one stack): the
    /// forward pass (written and added), dX and dW (written and added)
    /// equal the naive twin's at both tiles, with 1, 2 and 8 workers (more
    /// workers than planes: each plane's GEMM in parts). 8 input and 12
    /// output channels (lanes of 8 + 4), 8 frames without padding: 6 output
    /// frames, so F(4)'s last tile overhangs by 2, and dX's geometry has
    /// padding 2. Buffers made without zeroing start as NaNs.
    @Test(arguments: WinogradTile.allCases)
    func stacksOfEverySizeEqualTheNaiveTwin(_ tile: WinogradTile) {
        OpSettings.with(\.poisonsUninitialised, true) { stacksEqualTheNaiveTwin(tile) }
    }

    private func stacksEqualTheNaiveTwin(_ tile: WinogradTile) {
        let g = Self.geometry(batch: 5, frames: 8, padding: 0, channels: 8, outChannels: 12)
        let (C, O) = (g.inChannels, g.outChannels)
        let x = randomValues(g.batch * C * g.inputVolume, seed: 60)
        let w = randomValues(O * C * 3, seed: 61)
        let dy = randomValues(g.batch * O * g.outputVolume, seed: 62)
        let y0 = randomValues(dy.count, seed: 63)
        let naive = conv3dForwardNaive(x, w, g)
        let (naiveDX, naiveDW) = conv3dBackwardNaive(x, w, dy, g)
        let perSample = tile.alpha * (C + O) * ((g.output.t + tile.m - 1) / tile.m) * 49
        for samples in [1, 2, 5] {
            for workers in [1, 2, 8] {
                let what = "\(tile.name), stacks of \(samples), \(workers) workers"
                let layout = TemporalWinograd(g, tile: tile, budget: samples * perSample)
                #expect(layout.samples == samples)
                let data = TemporalWinograd(g.temporalTransposed, tile: tile, budget: samples * perSample)
                var u = [Float](repeating: .nan, count: layout.uCount)
                var flipped = u
                temporalWinogradWeights(
                    w, outChannels: O, inChannels: C, tile: tile, flipped: false, into: &u, workers: workers)
                temporalWinogradWeights(
                    w, outChannels: O, inChannels: C, tile: tile, flipped: true, into: &flipped, workers: workers)
                var y = [Float](repeating: .nan, count: naive.count)
                temporalWinogradForward(x, u, &y, layout, accumulate: false, workers: workers)
                #expect(closeness(y, naive, atol: 1e-4) == "", "forward, \(what)")
                var sum = y0
                temporalWinogradForward(x, u, &sum, layout, accumulate: true, workers: workers)
                #expect(closeness(sum, zip(naive, y0).map(+), atol: 1e-4) == "", "forward added, \(what)")
                var dx = [Float](repeating: .nan, count: x.count)
                temporalWinogradForward(
                    dy, flipped, &dx, data, transposedWeights: true, accumulate: false, workers: workers)
                #expect(closeness(dx, naiveDX, atol: 1e-4) == "", "dx, \(what)")
                var dw = [Float](repeating: .nan, count: w.count)
                temporalWinogradBackwardWeight(x, dy, &dw, layout, overwrite: true, workers: workers)
                #expect(closeness(dw, naiveDW, atol: 1e-3) == "", "dw, \(what)")
                temporalWinogradBackwardWeight(x, dy, &dw, layout, overwrite: false, workers: workers)
                #expect(closeness(dw, naiveDW.map { 2 * $0 }, atol: 2e-3) == "", "dw added, \(what)")
            }
        }
    }
}
