import Foundation
import TestSupport
import Testing

@testable import Tensor

/// Batch norm's passes (BatchNormKernels.swift): the C kernels of every
/// level this machine runs against their Swift twins, which run at
/// `.portable`, and the twins' sums against sums in Double.
@Suite struct BatchNormKernelTests {
    static let levels = SIMDLevel.allCases.filter { $0 != .portable && $0.isSupported }
    /// Around one and two vectors of either level, and a long run with a tail.
    static let counts = [1, 2, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 33, 4099]

    /// The 16-lane reductions, at every level, against sums in Double.
    @Test func reductionsEqualSumsInDouble() {
        let count = 4099
        let x = randomValues(count, seed: 21).map { $0 * 3 + 0.5 }
        let dy = randomValues(count, seed: 22)
        let (mean, invStd): (Float, Float) = (0.5, 0.8)
        let (k, shift): (Float, Float) = (1.3, -0.2)
        for level in [SIMDLevel.portable] + Self.levels {
            let (s, q) = sumAndSquares(x, count: count, level: level)
            let (ns, nq) = sumAndSquaresNaive(x)
            #expect(abs(Double(s) - ns) <= 1e-3 * max(1, abs(ns)) && abs(Double(q) - nq) <= 1e-4 * nq, "\(level)")
            for relu in [false, true] {
                var a = 0.0
                var b = 0.0
                for i in 0..<count {
                    let d = relu && x[i] * k + shift <= 0 ? 0 : Double(dy[i])
                    a += d
                    b += d * Double((x[i] - mean) * invStd)
                }
                let (fa, fb) = gradientSums(
                    dy, x, count: count, mean: mean, invStd: invStd, reluScale: relu ? k : nil, reluShift: shift,
                    level: level)
                #expect(
                    abs(Double(fa) - a) <= 1e-3 && abs(Double(fb) - b) <= 1e-3 * max(1, abs(b)),
                    "\(level), relu \(relu): \(fa) \(a) \(fb) \(b)")
            }
        }
    }

    /// The elementwise passes equal their twins exactly, and write nothing
    /// past `count`; the sums agree to rounding.
    @Test(arguments: levels) func kernelsEqualTheSwiftTwins(_ level: SIMDLevel) {
        for count in Self.counts {
            // Half the ReLU inputs negative; a few exactly at the hinge (x·k + shift = 0).
            var x = randomValues(count, seed: 30 + UInt64(count))
            for i in stride(from: 0, to: count, by: 5) { x[i] = 0.25 }
            let dy = randomValues(count, seed: 31 + UInt64(count))
            let before = randomValues(count, seed: 32 + UInt64(count))
            let (k, shift): (Float, Float) = (0.8, -0.2)
            let what = "\(level), \(count) floats"
            for relu in [false, true] {
                #expect(
                    affine(x, k, shift, relu, level) == affine(x, k, shift, relu, .portable),
                    "affine, relu \(relu), \(what)")
                let (a, b) = gradientSums(
                    dy, x, count: count, mean: 0.1, invStd: 1.7, reluScale: relu ? k : nil, reluShift: shift,
                    level: level)
                let (ta, tb) = gradientSums(
                    dy, x, count: count, mean: 0.1, invStd: 1.7, reluScale: relu ? k : nil, reluShift: shift,
                    level: .portable)
                #expect(abs(a - ta) <= 1e-4 * Float(count) && abs(b - tb) <= 1e-4 * Float(count), "sums, \(what)")
                for statistics in [(a: Float(0.3), b: Float(-0.6), mean: Float(0.1), invStd: Float(1.7)), nil] {
                    for accumulate in [false, true] {
                        func run(_ level: SIMDLevel) -> [Float] {
                            var dx = before + [.nan]
                            batchNormInputGradient(
                                dy, x, &dx, count: count, k: k, shift: shift, relu: relu, statistics: statistics,
                                accumulate: accumulate, level: level)
                            return dx
                        }
                        let (c, t) = (run(level), run(.portable))
                        #expect(
                            c.dropLast() == t.dropLast() && c.last!.isNaN,
                            "dx, relu \(relu), training \(statistics != nil), accumulate \(accumulate), \(what)")
                    }
                }
            }
            gatedKernelsEqualTheSwiftTwins(x, dy, before, level, what)
            gatedKernelsEqualTheSwiftTwins(x, dy, before, level, what)
            let (s, q) = sumAndSquares(x, count: count, level: level)
            let (ts, tq) = sumAndSquares(x, count: count, level: .portable)
            #expect(abs(s - ts) <= 1e-4 * Float(count) && abs(q - tq) <= 1e-4 * Float(count), "Σx, Σx², \(what)")
        }
    }

    /// The whole op (BN-ReLU, training and evaluation, forward and backward)
    /// at a level against the same op at `.portable`.
    @Test(arguments: levels) func batchNormAtALevelEqualsPortable(_ level: SIMDLevel) {
        for training in [true, false] {
            let results = [level, .portable].map { level in
                OpSettings.with(\.level, level) {
                    let shape = [2, 3, 3, 5, 7]
                    let count = shape.reduce(1, *)
                    let x = Tensor(shape: shape, values: randomValues(count, seed: 33))
                    let gamma = Tensor.parameter([3], role: .joint, values: [1.2, -0.7, 0.4])
                    let beta = Tensor.parameter([3], role: .joint, values: [0.1, 0.3, -0.2])
                    x.requiresGrad = true
                    let mean = Tensor(shape: [3], values: [0.1, -0.1, 0])
                    let variance = Tensor(shape: [3], values: [0.9, 1.1, 1.3])
                    let y = batchNormReLU(
                        x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, training: training)
                    weightedSum(y, Tensor(shape: y.shape, values: randomValues(count, seed: 34))).backward()
                    return y.scalars + x.grad!.scalars + gamma.grad!.scalars + beta.grad!.scalars + mean.scalars
                        + variance.scalars
                }
            }
            #expect(closeness(results[0], results[1], rtol: 1e-5, atol: 1e-6) == "", "\(level), training \(training)")
        }
    }

    /// relu(BN(x) + residual)'s kernels (`batchNormAffineAddReLU`,
    /// `gatedGradientSums`, `batchNormInputGradient` with a gate) against
    /// their twins: the residual makes a fifth of the sums exactly 0 and one
    /// element NaN, which the gate's mask drops; nothing is written past
    /// `count` (a NaN guard after it), the residual's gradient written or
    /// added (or not asked for), dx written or added.
    private func gatedKernelsEqualTheSwiftTwins(
        _ x: [Float], _ dy: [Float], _ before: [Float], _ level: SIMDLevel, _ what: String
    ) {
        let count = x.count
        let (scale, shift): (Float, Float) = (0.8, -0.2)
        var residual = randomValues(count, seed: 33 + UInt64(count))
        for i in stride(from: 0, to: count, by: 5) { residual[i] = -(x[i] * scale + shift) }
        residual[count / 2] = .nan
        func forward(_ level: SIMDLevel) -> [Float] {
            var y = [Float](repeating: .nan, count: count + 1)
            batchNormAffineAddReLU(x, add: residual, &y, count: count, scale: scale, shift: shift, level: level)
            return y
        }
        let (y, ty) = (forward(level), forward(.portable))
        let same = zip(y.dropLast(), ty.dropLast()).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        #expect(same && y[count / 2].isNaN && y.last!.isNaN, "affine add relu, \(what)")
        for ds in [nil, false, true] as [Bool?] {  // none, written, added
            func sums(_ level: SIMDLevel) -> (Float, Float, [Float]) {
                var out = before + [.nan]
                let (a, b) = out.withUnsafeMutableBufferPointer { out in
                    gatedGradientSums(
                        dy, gate: ty, x, count: count, mean: 0.1, invStd: 1.7, ds: ds == nil ? nil : out.baseAddress,
                        accumulate: ds == true, level: level)
                }
                return (a, b, out)
            }
            let ((a, b, out), (ta, tb, tout)) = (sums(level), sums(.portable))
            #expect(abs(a - ta) <= 1e-4 * Float(count) && abs(b - tb) <= 1e-4 * Float(count), "gated sums, \(what)")
            #expect(
                out.dropLast() == tout.dropLast() && out.last!.isNaN, "the residual's gradient \(ds as Any), \(what)")
            let expected = (0..<count).map { i -> Float in
                let d: Float = ty[i] > 0 ? dy[i] : 0
                return ds == nil ? before[i] : ds == true ? before[i] + d : d
            }
            #expect(Array(tout.dropLast()) == expected, "the twin's residual gradient \(ds as Any), \(what)")
        }
        for statistics in [(a: Float(0.3), b: Float(-0.6), mean: Float(0.1), invStd: Float(1.7)), nil] {
            for accumulate in [false, true] {
                func run(_ level: SIMDLevel) -> [Float] {
                    var dx = before + [.nan]
                    ty.withUnsafeBufferPointer { gate in
                        batchNormInputGradient(
                            dy, x, &dx, count: count, k: scale, shift: shift, relu: false, gate: gate.baseAddress,
                            statistics: statistics, accumulate: accumulate, level: level)
                    }
                    return dx
                }
                let (c, t) = (run(level), run(.portable))
                #expect(
                    c.dropLast() == t.dropLast() && c.last!.isNaN,
                    "gated dx, training \(statistics != nil), accumulate \(accumulate), \(what)")
            }
        }
    }

    private func affine(_ x: [Float], _ scale: Float, _ shift: Float, _ relu: Bool, _ level: SIMDLevel) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count + 1)
        batchNormAffine(x, &y, count: x.count, scale: scale, shift: shift, relu: relu, level: level)
        return y.dropLast() + [y.last!.isNaN ? 0 : 1]
    }
}
