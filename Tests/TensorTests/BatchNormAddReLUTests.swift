import Foundation
import TestSupport
import Testing

@testable import Tensor

/// relu(batchNorm(x) + residual) as one op (BatchNormAddReLU.swift) against
/// the two ops it replaces, which the numerical-gradient and golden tests
/// cover: the same operations in the same order, so the same floats.
@Suite struct BatchNormAddReLUTests {
    /// Output, running statistics and every gradient equal `batchNorm` then
    /// `addReLU`, at every SIMD level this machine runs (the C kernels and
    /// their Swift twins), in training and in eval mode. The residual's
    /// gradient starts fresh in one run and adds to an earlier one in the
    /// other; x's gradient is written fresh, then added by a second pass.
    /// Each channel's 2 × 105 elements end in a partial vector at 8 and 16
    /// lanes; about half the outputs are rectified.
    @Test(arguments: SIMDLevel.allCases.filter(\.isSupported), [true, false])
    func fusedEqualsTheTwoOps(_ level: SIMDLevel, _ training: Bool) {
        let shape = [2, 3, 3, 5, 7]
        let count = shape.reduce(1, *)
        for earlier in [false, true] {
            var results: [[Float]] = []
            for fused in [true, false] {
                let x = Tensor(shape: shape, values: randomValues(count, seed: 160))
                let residual = Tensor(shape: shape, values: randomValues(count, seed: 161))
                let gamma = Tensor.parameter([3], role: .joint, values: [1.2, -0.7, 0.4])
                let beta = Tensor.parameter([3], role: .joint, values: [0.1, 0.3, -0.2])
                let mean = Tensor(shape: [3], values: [0.1, -0.1, 0])
                let variance = Tensor(shape: [3], values: [0.9, 1.1, 1.3])
                x.requiresGrad = true
                residual.requiresGrad = true
                if earlier {
                    weightedSum(residual, Tensor(shape: shape, values: randomValues(count, seed: 162))).backward()
                }
                let up = Tensor(shape: shape, values: randomValues(count, seed: 163))
                SIMDLevel.$current.withValue(level) {
                    for _ in 0..<2 {
                        let y =
                            fused
                            ? batchNormAddReLU(
                                x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                residual: residual, training: training)
                            : addReLU(
                                batchNorm(
                                    x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                    training: training), residual)
                        if results.isEmpty {
                            let positive = y.scalars.filter { $0 > 0 }.count
                            #expect(positive > count / 4 && positive < 3 * count / 4)
                        }
                        weightedSum(y, up).backward()
                        results.append(y.scalars)
                    }
                }
                results.append(
                    x.grad!.scalars + residual.grad!.scalars + gamma.grad!.scalars + beta.grad!.scalars
                        + mean.scalars + variance.scalars)
            }
            let half = results.count / 2
            for (i, (a, b)) in zip(results[..<half], results[half...]).enumerated() {
                let differing = zip(a, b).filter { $0 != $1 }.count
                #expect(differing == 0, "\(differing) of \(a.count) floats differ (part \(i), earlier \(earlier))")
            }
        }
    }
}
