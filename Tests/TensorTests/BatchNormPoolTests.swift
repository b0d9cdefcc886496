import Foundation
import TestSupport
import Testing

@testable import Tensor

/// BN, ReLU and kth3l's 2 × 2 max-pool as one op (BatchNormPool.swift)
/// against the two ops it replaces (`batchNormReLU`, then `maxPool3d`), and
/// its C kernels against their Swift twins, at every level this machine runs.
@Suite struct BatchNormPoolTests {
    static let levels = SIMDLevel.allCases.filter { $0.isSupported }
    static let channels = 3
    /// A negative γ flips which x is each window's maximum.
    static let gamma: [Float] = [1.3, -0.7, 0.9]
    static let beta: [Float] = [0.1, 0.2, -0.3]

    /// Rows of 17 windows (a 16-lane vector and one window alone; 8 + 8 + 1
    /// at AVX2). Coarse values make ties within a window common, and half
    /// of each channel is rectified to 0.
    static func input(_ shape: [Int], seed: UInt64) -> [Float] {
        randomValues(shape.reduce(1, *), seed: seed).map { ($0 * 4).rounded() / 4 }
    }

    struct Run: Equatable {
        var y: [Float], dx: [Float], dgamma: [Float], dbeta: [Float], runningMean: [Float], runningVar: [Float]
    }

    /// The forward and backward pass (twice: the second adds into the
    /// gradients) of the fused op or of the two ops, at `level`.
    static func run(
        fused: Bool, _ shape: [Int], frames: Int, training: Bool, level: SIMDLevel, passes: Int = 1,
        reducer: BatchNormReducer? = nil
    ) -> Run {
        OpSettings.with(\.level, level) {
            let x = Tensor(shape: shape, values: input(shape, seed: 60))
            x.requiresGrad = true
            let gamma = Tensor.parameter([channels], role: .joint, values: Self.gamma)
            let beta = Tensor.parameter([channels], role: .joint, values: Self.beta)
            let runningMean = Tensor(shape: [channels], values: [0.1, -0.2, 0.3])
            let runningVar = Tensor(shape: [channels], values: [0.5, 1.5, 2])
            var y = Tensor(zeros: [1])
            for _ in 0..<passes {
                y =
                    fused
                    ? batchNormReLUMaxPool(
                        x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                        training: training, reducer: reducer, frames: frames)
                    : maxPool3d(
                        batchNormReLU(
                            x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                            training: training, reducer: reducer), kernel: (frames, 2, 2))
                let up = randomValues(y.count, seed: 61)
                weightedSum(y, Tensor(shape: y.shape, values: up)).backward()
            }
            return Run(
                y: y.scalars, dx: x.grad!.scalars, dgamma: gamma.grad!.scalars, dbeta: beta.grad!.scalars,
                runningMean: runningMean.scalars, runningVar: runningVar.scalars)
        }
    }

    /// Forward, the pooled values and the running statistics equal the two
    /// ops'; backward, the gradients agree to the rounding of BN's sums
    /// (taken over the windows' maxima instead of every element).
    @Test(arguments: [1, 2], [true, false])
    func fusedEqualsTheTwoOps(_ frames: Int, _ training: Bool) {
        let shape = [2, Self.channels, 4, 6, 34]
        for level in Self.levels {
            for passes in [1, 2] {
                let what = "\(level), frames \(frames), training \(training), \(passes) passes"
                let fused = Self.run(
                    fused: true, shape, frames: frames, training: training, level: level, passes: passes)
                let twoOps = Self.run(
                    fused: false, shape, frames: frames, training: training, level: level, passes: passes)
                #expect(fused.y == twoOps.y, "y, \(what)")
                #expect(fused.y.contains(0) && fused.y.contains { $0 > 0 }, "y is partly rectified, \(what)")
                #expect(
                    fused.runningMean == twoOps.runningMean && fused.runningVar == twoOps.runningVar,
                    "running statistics, \(what)")
                #expect(closeness(fused.dx, twoOps.dx) == "", "dx, \(what)")
                #expect(closeness(fused.dgamma, twoOps.dgamma) == "", "dγ, \(what)")
                #expect(closeness(fused.dbeta, twoOps.dbeta) == "", "dβ, \(what)")
                #expect(fused.dx.contains { $0 != 0 }, "dx is not all 0, \(what)")
            }
        }
    }

    /// Synchronised BN (the sums through a reducer): as if a second rank
    /// had the same batch, the reducer doubles every sum and count, which
    /// must give the two ops' results without one.
    @Test func fusedRunsSynchronisedBatchNorm() {
        let shape = [2, Self.channels, 4, 6, 34]
        let doubling: BatchNormReducer = { sums in
            for i in sums.indices { sums[i] *= 2 }
        }
        for level in Self.levels {
            for frames in [1, 2] {
                let synced = Self.run(
                    fused: true, shape, frames: frames, training: true, level: level, reducer: doubling)
                let alone = Self.run(fused: false, shape, frames: frames, training: true, level: level)
                let what = "\(level), frames \(frames)"
                #expect(synced.y == alone.y, "y, \(what)")
                #expect(closeness(synced.dx, alone.dx) == "", "dx, \(what)")
                // γ and β get this rank's sums only (they are averaged with the others' later).
                #expect(closeness(synced.dgamma, alone.dgamma) == "", "dγ, \(what)")
                #expect(closeness(synced.dbeta, alone.dbeta) == "", "dβ, \(what)")
            }
        }
    }

    /// Windows that do not tile the frames run the two ops.
    @Test func oddShapesRunTheTwoOps() {
        for shape in [[1, Self.channels, 3, 6, 8], [1, Self.channels, 4, 5, 8], [1, Self.channels, 4, 6, 7]] {
            let fused = Self.run(fused: true, shape, frames: 2, training: true, level: .portable)
            let twoOps = Self.run(fused: false, shape, frames: 2, training: true, level: .portable)
            #expect(fused == twoOps, "\(shape)")
        }
    }

    /// The fused pool's kernels against their Swift twins: forward, the
    /// values and argmaxes equal; backward, the sums agree to rounding, and
    /// dx equals exactly (the same operations in the same order), with
    /// nothing written outside the plane.
    @Test(arguments: [1, 2])
    func kernelsEqualTheSwiftTwins(_ frames: Int) {
        let (t, h, w) = (2 * frames, 4, 2 * 21)
        let count = t * h * w
        let windows = PoolWindows(
            input: (t, h, w), kernel: (frames, 2, 2), stride: (frames, 2, 2), padding: (0, 0, 0),
            output: (t / frames, h / 2, w / 2))
        var x = Self.input([count], seed: 70)
        for i in stride(from: 0, to: count, by: 7) { x[i] = 0.25 }  // at the hinge: 0.25 · 0.8 − 0.2 = 0
        let dy = randomValues(windows.outPlane, seed: 71)
        let before = randomValues(count, seed: 72)
        let (k, shift): (Float, Float) = (0.8, -0.2)
        let pool = FusedPool(windows: windows, argmax: ByteBuffer(count: windows.outPlane))
        var y = [Float](repeating: 0, count: windows.outPlane)
        windows.maxOfPairs(x, &y, pool.argmax.pointer, .portable, reluAffine: (k, shift))
        // The twin's windows: each value is max(0, x·k + shift) at its argmax.
        for window in 0..<windows.outPlane {
            let (row, d) = (window / windows.output.w, window % windows.output.w)
            let (a, b) = (row / windows.output.h, row % windows.output.h)
            let offset = Int(pool.argmax.pointer[window])
            let i = ((a * frames + offset >> 2) * h + 2 * b + (offset >> 1 & 1)) * w + 2 * d + offset & 1
            #expect(y[window] == max(0, x[i] * k + shift))
        }
        for level in Self.levels where level != .portable {
            var cy = [Float](repeating: .nan, count: windows.outPlane)
            let argmax = ByteBuffer(count: windows.outPlane)
            windows.maxOfPairs(x, &cy, argmax.pointer, level, reluAffine: (k, shift))
            #expect(
                cy == y && (0..<windows.outPlane).allSatisfy { argmax.pointer[$0] == pool.argmax.pointer[$0] },
                "forward, \(level), frames \(frames)")
            let (a, b) = pool.gradientChannelSums(
                dy, x, plane: 0, mean: 0.1, invStd: 1.7, k: k, shift: shift, level: level)
            let (ta, tb) = pool.gradientChannelSums(
                dy, x, plane: 0, mean: 0.1, invStd: 1.7, k: k, shift: shift, level: .portable)
            #expect(abs(a - ta) <= 1e-5 * Float(count) && abs(b - tb) <= 1e-5 * Float(count), "sums, \(level)")
            #expect(ta != 0 && tb != 0, "the sums see the windows' maxima")
            for statistics in [(a: Float(0.3), b: Float(-0.6), mean: Float(0.1), invStd: Float(1.7)), nil] {
                for accumulate in [false, true] {
                    func run(_ level: SIMDLevel) -> [Float] {
                        var dx = before + [.nan]
                        pool.inputGradient(
                            dy, x, &dx, plane: 0, k: k, shift: shift, statistics: statistics,
                            accumulate: accumulate, level: level)
                        return dx
                    }
                    let (c, twin) = (run(level), run(.portable))
                    #expect(
                        c.dropLast() == twin.dropLast() && c.last!.isNaN,
                        "dx, \(level), frames \(frames), training \(statistics != nil), accumulate \(accumulate)")
                }
            }
        }
    }
}
