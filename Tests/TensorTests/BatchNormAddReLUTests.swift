import Foundation
import TestSupport
import Testing

@testable import Tensor

/// relu(batchNorm(x) + residual) as one op (`batchNormAddReLU`) against
/// the two ops it replaces, which the numerical-gradient and golden tests
/// cover: the same operations in the same order, so the same floats.
@Suite struct BatchNormAddReLUTests {
    /// Output, running statistics and every gradient equal `batchNorm` then
    /// `addReLU`, at every SIMD level this machine runs (the C kernels and
    /// their Swift twins), in training and in eval mode, with gradients for
    /// both inputs or for one of them. The residual's gradient starts fresh
    /// in one run and adds to an earlier one in the other; x's gradient is
    /// written fresh, then added by a second pass. Each channel's 2 × 105
    /// elements end in a partial vector at 8 and 16 lanes; about half the
    /// outputs are rectified, and a NaN in the residual gives a NaN output
    /// that takes no gradient, as in the two ops.
    @Test(arguments: SIMDLevel.allCases.filter(\.isSupported), [true, false])
    func fusedEqualsTheTwoOps(_ level: SIMDLevel, _ training: Bool) {
        for (xGrad, residualGrad) in [(true, true), (true, false), (false, true)] {
            for earlier in residualGrad ? [false, true] : [false] {
                let what = "\(level), training \(training), gradients \(xGrad)/\(residualGrad), earlier \(earlier)"
                let fused = run(fused: true, level, training, xGrad, residualGrad, earlier)
                let twoOps = run(fused: false, level, training, xGrad, residualGrad, earlier)
                #expect(fused.count == twoOps.count)
                for (i, (a, b)) in zip(fused, twoOps).enumerated() {
                    let differing = zip(a, b).filter { $0 != $1 && !($0.isNaN && $1.isNaN) }.count
                    #expect(differing == 0, "\(differing) of \(a.count) floats differ (part \(i)), \(what)")
                }
                #expect(fused[0].contains { $0.isNaN } && !fused.dropFirst(2).joined().contains { $0.isNaN })
            }
        }
    }

    /// Synchronised BN: with a reducer that doubles every sum (two equal
    /// ranks), the output and dx are those without one, and γ and β get this
    /// rank's sums (the two runs' gradients agree).
    @Test func fusedRunsSynchronisedBatchNorm() {
        let doubling: BatchNormReducer = { sums in
            for i in sums.indices { sums[i] *= 2 }
        }
        for level in SIMDLevel.allCases.filter(\.isSupported) {
            let synced = run(fused: true, level, true, true, true, false, reducer: doubling)
            let alone = run(fused: false, level, true, true, true, false)
            #expect(synced[0].count == alone[0].count)
            #expect(zip(synced[0], alone[0]).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "y, \(level)")
            // The running variance differs: its unbiased correction counts both ranks' elements.
            #expect(closeness(Array(synced[2].dropLast(6)), Array(alone[2].dropLast(6))) == "", "gradients, \(level)")
        }
    }

    /// Two forward and backward passes: [first y, second y, x's gradient ++
    /// the residual's ++ γ's ++ β's ++ the running statistics] (the
    /// gradients of tensors that record none left out).
    private func run(
        fused: Bool, _ level: SIMDLevel, _ training: Bool, _ xGrad: Bool, _ residualGrad: Bool, _ earlier: Bool,
        reducer: BatchNormReducer? = nil
    ) -> [[Float]] {
        let shape = [2, 3, 3, 5, 7]
        let count = shape.reduce(1, *)
        var residualValues = randomValues(count, seed: 161)
        residualValues[count / 3] = .nan
        let x = Tensor(shape: shape, values: randomValues(count, seed: 160))
        let residual = Tensor(shape: shape, values: residualValues)
        let gamma = Tensor.parameter([3], role: .joint, values: [1.2, -0.7, 0.4])
        let beta = Tensor.parameter([3], role: .joint, values: [0.1, 0.3, -0.2])
        let mean = Tensor(shape: [3], values: [0.1, -0.1, 0])
        let variance = Tensor(shape: [3], values: [0.9, 1.1, 1.3])
        x.requiresGrad = xGrad
        residual.requiresGrad = residualGrad
        if earlier {
            weightedSum(residual, Tensor(shape: shape, values: randomValues(count, seed: 162))).backward()
        }
        let up = Tensor(shape: shape, values: randomValues(count, seed: 163))
        var results: [[Float]] = []
        OpSettings.with(\.level, level) {
            for _ in 0..<2 {
                let y =
                    fused
                    ? batchNormAddReLU(
                        x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, residual: residual,
                        training: training, reducer: reducer)
                    : addReLU(
                        batchNorm(
                            x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                            training: training), residual)
                let positive = y.scalars.filter { $0 > 0 }.count
                #expect(positive > count / 4 && positive < 3 * count / 4)
                weightedSum(y, up).backward()
                results.append(y.scalars)
            }
        }
        let gradients = [x, residual, gamma, beta].flatMap { $0.grad?.scalars ?? [] }
        return results + [gradients + mean.scalars + variance.scalars]
    }
}
