import Foundation
import TestSupport
import Testing

@testable import Tensor

/// Winograd over stacked samples (`WinogradStack`) under each stacking
/// policy: which convolutions stack, brgemm's products over a stack at
/// every level (its Swift twin below AVX-512, the C kernel at AVX-512) and
/// whole convolutions against the naive twin.
@Suite struct WinogradStackTests {
    /// (batch, C, O, input T×H×W, kernel, padding): R50's stage 5 in small
    /// (4 samples of 32 2×2 tiles), a 1×3×3 conv (2 of 64), 5 samples of 64
    /// (stacks of 4 and 1); with temporal padding 2, 4 output frames (dX's
    /// geometry has 2: too few for a 3×3×3 kernel's stack, so dX runs per
    /// sample while the forward pass and dW stack); 2 output frames, which
    /// never stack.
    static let cases: [(Int, Int, Int, (Int, Int, Int), (Int, Int, Int), (Int, Int, Int))] = [
        (4, 16, 16, (8, 4, 4), (3, 3, 3), (1, 1, 1)),
        (2, 8, 16, (4, 8, 8), (1, 3, 3), (0, 1, 1)),
        (5, 8, 8, (4, 8, 8), (3, 3, 3), (1, 1, 1)),
        (5, 8, 8, (2, 8, 8), (3, 3, 3), (2, 1, 1)),
        (4, 8, 8, (2, 8, 8), (3, 3, 3), (1, 1, 1))
    ]

    static func geometry(_ index: Int) -> Conv3dGeometry {
        let (n, c, o, input, kernel, padding) = cases[index]
        return Conv3dGeometry(
            batch: n, inChannels: c, outChannels: o, groups: 1, input: input, kernel: kernel, stride: (1, 1, 1),
            padding: padding, dilation: (1, 1, 1))
    }

    /// Stacks form under `.automatic` only without brgemm, under `.always`
    /// with it too, under `.never` nowhere; and only where a stack's GEMMs
    /// drop at most a third of their columns.
    @Test func theRuleFollowsThePolicy() {
        for index in Self.cases.indices {
            let g = Self.geometry(index)
            let tiles = g.output.t * g.winogradTiles(.f2).h * g.winogradTiles(.f2).w
            let fits = g.output.t >= 2 * (g.kernel.t - 1)
            #expect(tiles < 128 && g.batch > 1)
            #expect(fits == (index < 4), "\(g.input)")
            for brgemm in [false, true] {
                let rule = { (policy: WinogradStacking) in
                    WinogradStack.takes(g, tilesPerSample: tiles, brgemm: brgemm, stacking: policy)
                }
                #expect(rule(.automatic) == (fits && !brgemm), "\(g.input), brgemm \(brgemm)")
                #expect(rule(.always) == fits, "\(g.input), brgemm \(brgemm)")
                #expect(!rule(.never))
            }
        }
        // Enough tiles a sample (stage 4 at 112: 128) never stack.
        let stage4 = Conv3dGeometry(
            batch: 4, inChannels: 8, outChannels: 8, groups: 1, input: (8, 8, 8), kernel: (3, 3, 3),
            stride: (1, 1, 1), padding: (1, 1, 1), dilation: (1, 1, 1))
        #expect(!WinogradStack.takes(stage4, tilesPerSample: 128, brgemm: false, stacking: .always))
    }

    /// The levels whose brgemm products a test can run: every usable one
    /// (below AVX-512 by `brgemmPackedNaive`).
    static var levels: [SIMDLevel] {
        [SIMDLevel.portable, .avx2, .avx512].filter { $0.isSupported }
    }

    /// The forward pass and dX (the same pass on the transposed geometry)
    /// with U packed for brgemm, at both tiles and every level, written and
    /// added, against the naive twin: one brgemm per plane over a stack's
    /// columns (`.always`), and sample by sample (`.never`, as AVX-512 runs
    /// stage 5 by default; before, only AVX-512 machines tested it).
    @Test(arguments: [0, 1, 2])
    func brgemmOverAStackEqualsTheNaiveTwin(_ index: Int) {
        let g = Self.geometry(index)
        let x = randomValues(g.batch * g.inChannels * g.inputVolume, seed: 210)
        let w = randomValues(g.outChannels * g.inChannels * g.kernel.t * 9, seed: 211)
        let dy = randomValues(g.batch * g.outChannels * g.outputVolume, seed: 212)
        let naiveY = conv3dForwardNaive(x, w, g)
        let naiveDx = conv3dBackwardNaive(x, w, dy, g).dx
        let runs = Self.levels.flatMap { level in
            [WinogradTile.f2, .f4].flatMap { tile in WinogradStacking.allCases.map { (level, tile, $0) } }
        }
        for (level, tile, stacking) in runs {
            let what = "\(g.input), \(tile), \(level), \(stacking)"
            // The rounding of F(4×4)'s and F(2×2)'s transforms, as
            // KernelTests' equalsTheNaiveTwin states it, of the outputs' RMS.
            let relative: Float = tile == .f4 ? 4e-5 : 8e-6
            for (geometry, input, flipped, expected, name) in [
                (g, x, false, naiveY, "forward"), (g.transposedForData, dy, true, naiveDx, "dX")
            ] {
                let layout = WinogradLayout(geometry, tile: tile, level: level, stacking: stacking, packed: true)
                let stack = WinogradStack(layout)
                // Packed U is brgemm's: `.automatic` keeps it per sample.
                #expect((stack != nil) == (stacking == .always), "stack for the \(name), \(what)")
                if let stack, tile == .f2 { #expect(stack.samples == min(g.batch, 4)) }  // 256 columns
                // NaNs, so that an element the first pass does not write shows.
                var out = [Float](repeating: .nan, count: expected.count)
                let rms = (expected.map { $0 * $0 }.reduce(0, +) / Float(expected.count)).squareRoot()
                for accumulate in [false, true] {
                    Parallel.with(ParallelSettings(mode: .batch, threads: 2)) {
                        Self.winogradPass(layout, input, w, flipped: flipped, into: &out, accumulate: accumulate)
                    }
                    let want = accumulate ? expected.map { 2 * $0 } : expected
                    let atol = (accumulate ? 2 : 1) * (1e-5 + relative * rms)
                    #expect(
                        closeness(out, want, atol: atol) == "", "\(name)\(accumulate ? " added" : ""), \(what)")
                }
            }
        }
    }

    /// Winograd's forward pass on `layout` (stacked where `WinogradStack`
    /// takes it, else sample by sample) from weights `w` (read flipped for
    /// dX), written into `out` or added with `accumulate`.
    static func winogradPass(
        _ layout: WinogradLayout, _ input: [Float], _ w: [Float], flipped: Bool, into out: inout [Float],
        accumulate: Bool
    ) {
        let u = Storage(count: layout.uCount, zeroed: false)
        winogradWeights(w, layout, flipped: flipped, into: u.pointer, workers: 2)
        input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                if let stack = WinogradStack(layout) {
                    winogradForwardStacked(
                        inp.baseAddress!, u.pointer, o.baseAddress!, stack, accumulate: accumulate, workers: 2)
                    return
                }
                let scratch = Storage(count: layout.scratchCount, zeroed: false)
                winogradForward(
                    inp.baseAddress!, u.pointer, o.baseAddress!, layout, samples: 0..<layout.g.batch,
                    scratch: scratch.pointer, accumulate: accumulate)
            }
        }
    }

    /// Whole convolutions (forward, dX, dW) under each policy at the usable
    /// level: `.always` is brgemm over stacks at AVX-512 and as `.automatic`
    /// below it; `.never` is brgemm sample by sample at AVX-512 and columns
    /// below it (for these shapes, too few tiles a sample).
    @Test(arguments: [0, 1, 2, 3, 4])
    func convolutionsUnderEveryPolicyEqualTheNaiveTwin(_ index: Int) {
        let g = Self.geometry(index)
        let (_, _, _, _, kernel, padding) = Self.cases[index]
        let xv = randomValues(g.batch * g.inChannels * g.inputVolume, seed: 220)
        let wv = randomValues(g.outChannels * g.inChannels * g.kernel.t * 9, seed: 221)
        let dy = randomValues(g.batch * g.outChannels * g.outputVolume, seed: 222)
        let naiveY = conv3dForwardNaive(xv, wv, g)
        let naive = conv3dBackwardNaive(xv, wv, dy, g)
        let brgemm = SIMDLevel.usable.runsBrgemm
        for policy in WinogradStacking.allCases {
            OpSettings.with(\.winogradStacking, policy) {
                let tiles = g.output.t * g.winogradTiles(.f2).h * g.winogradTiles(.f2).w
                let stacks = WinogradStack.takes(g, tilesPerSample: tiles, brgemm: brgemm, stacking: policy)
                #expect(g.usesWinograd == (brgemm || stacks), "\(policy), \(g.input)")
                #expect(g.algorithm.hasSuffix("-stacked") == stacks, "\(policy), \(g.input)")
                #expect(stacks == (policy != .never && index < 4 && (policy == .always || !brgemm)))
                let x = Tensor(shape: [g.batch, g.inChannels] + [g.input.t, g.input.h, g.input.w], values: xv)
                let w = Tensor(shape: [g.outChannels, g.inChannels, kernel.0, kernel.1, kernel.2], values: wv)
                x.requiresGrad = true
                w.requiresGrad = true
                Parallel.with(ParallelSettings(mode: .batch, threads: 2)) {
                    let y = conv3d(x, w, Conv3dOptions(padding: padding))
                    #expect(closeness(y.scalars, naiveY, rtol: 2e-5, atol: 2e-5) == "", "forward, \(policy)")
                    OpSettings.with(\.poisonsUninitialised, true) {
                        weightedSum(y, Tensor(shape: y.shape, values: dy)).backward()
                    }
                }
                #expect(closeness(x.grad!.scalars, naive.dx, rtol: 2e-5, atol: 2e-5) == "", "dX, \(policy)")
                #expect(closeness(w.grad!.scalars, naive.dw, rtol: 1e-4, atol: 1e-4) == "", "dW, \(policy)")
            }
        }
    }
}
