import Foundation
import TestSupport
import Testing

@testable import Tensor

@Suite struct NumericalGradientTests {
    /// Central differences in Float64-free form: (f(x+h) - f(x-h)) / 2h on a few coordinates.
    private func check(
        _ name: String, shape: [Int], seed: UInt64, h: Float = 1e-2, tolerance: Float = 2e-2,
        _ f: (Tensor) -> Tensor
    ) {
        let values = randomValues(shape.reduce(1, *), seed: seed)
        let x = Tensor(shape: shape, values: values)
        x.requiresGrad = true
        f(x).backward()
        let analytic = x.grad!.scalars
        for i in stride(from: 0, to: values.count, by: max(1, values.count / 13)) {
            var plus = values
            var minus = values
            plus[i] += h
            minus[i] -= h
            let fp = GradMode.withNoGrad { f(Tensor(shape: shape, values: plus)).item }
            let fm = GradMode.withNoGrad { f(Tensor(shape: shape, values: minus)).item }
            let numeric = (fp - fm) / (2 * h)
            #expect(
                abs(numeric - analytic[i]) <= tolerance * max(1, abs(numeric)),
                "\(name)[\(i)]: numeric \(numeric), analytic \(analytic[i])")
        }
    }

    @Test func gradientsMatchCentralDifferences() {
        let weights = Tensor(shape: [4, 2, 3, 3, 3], values: randomValues(216, seed: 21))
        check("conv3d", shape: [2, 2, 3, 4, 4], seed: 20) { x in
            weightedSum(
                conv3d(x, weights, Conv3dOptions(padding: (1, 1, 1))),
                Tensor(shape: [2, 4, 3, 4, 4], values: randomValues(384, seed: 22)))
        }
        let gamma = Tensor(shape: [3], values: [1.5, -0.5, 0.8])
        let beta = Tensor(shape: [3], values: [0.1, 0.2, -0.3])
        check("batchNorm", shape: [2, 3, 2, 2, 2], seed: 23, h: 5e-3, tolerance: 3e-2) { x in
            let y = batchNorm(
                x, gamma: gamma, beta: beta, runningMean: Tensor(zeros: [3]),
                runningVar: Tensor(shape: [3], repeating: 1), training: true)
            return weightedSum(y, Tensor(shape: [2, 3, 2, 2, 2], values: randomValues(48, seed: 24)))
        }
        check("sigmoid·mul", shape: [2, 3, 1, 1, 1], seed: 25) { s in
            weightedSum(
                mul(Tensor(shape: [2, 3, 2, 2, 2], values: randomValues(48, seed: 26)), sigmoid(s)),
                Tensor(shape: [2, 3, 2, 2, 2], values: randomValues(48, seed: 27)))
        }
        check("xent", shape: [3, 4], seed: 28) { softmaxCrossEntropy($0, labels: [0, 3, 2]) }
    }

    @Test func fusedBatchNormReLUEqualsTheTwoOps() {
        for training in [true, false] {
            var results: [[Float]] = []
            for fused in [true, false] {
                let x = Tensor(shape: [2, 3, 2, 3, 4], values: randomValues(144, seed: 40))
                let gamma = Tensor.parameter([3], role: .joint, values: [1.2, -0.7, 0.4])
                let beta = Tensor.parameter([3], role: .joint, values: [0.1, 0.3, -0.2])
                x.requiresGrad = true
                let mean = Tensor(shape: [3], values: [0.1, -0.1, 0])
                let variance = Tensor(shape: [3], values: [0.9, 1.1, 1.3])
                let y =
                    fused
                    ? batchNormReLU(
                        x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, training: training)
                    : relu(
                        batchNorm(
                            x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, training: training))
                weightedSum(y, Tensor(shape: y.shape, values: randomValues(144, seed: 41))).backward()
                results.append(
                    y.scalars + x.grad!.scalars + gamma.grad!.scalars + beta.grad!.scalars + mean.scalars
                        + variance.scalars)
            }
            #expect(closeness(results[0], results[1], rtol: 1e-5, atol: 1e-6) == "", "training \(training)")
        }
    }

    /// The residual block's fused relu(a + b) against the two ops, on a
    /// tensor large enough to split over the threads, with gradients that
    /// start fresh on one operand and add to an earlier one on the other.
    @Test func fusedAddReLUEqualsTheTwoOps() {
        let count = 2 * 64 * 4 * 16 * 16
        var results: [[Float]] = []
        for fused in [true, false] {
            let a = Tensor(shape: [2, 64, 4, 16, 16], values: randomValues(count, seed: 42))
            let b = Tensor(shape: a.shape, values: randomValues(count, seed: 43))
            a.requiresGrad = true
            b.requiresGrad = true
            weightedSum(b, Tensor(shape: b.shape, values: randomValues(count, seed: 44))).backward()
            let y = fused ? addReLU(a, b) : relu(add(a, b))
            weightedSum(y, Tensor(shape: y.shape, values: randomValues(count, seed: 45))).backward()
            results.append(y.scalars + a.grad!.scalars + b.grad!.scalars)
        }
        #expect(results[0].contains { $0 == 0 } && results[0].contains { $0 > 0 })
        #expect(results[0] == results[1])
        // And against plain loops: y = max(a + b, 0), dA = dY where y > 0, dB the same plus its earlier gradient.
        let av = randomValues(count, seed: 42)
        let bv = randomValues(count, seed: 43)
        let earlier = randomValues(count, seed: 44)
        let dy = randomValues(count, seed: 45)
        let y = (0..<count).map { max(av[$0] + bv[$0], 0) }
        let da = (0..<count).map { y[$0] > 0 ? dy[$0] : 0 }
        #expect(results[0] == y + da + (0..<count).map { earlier[$0] + da[$0] })
        // The same tensor on both sides gets the gradient twice (16-lane part and tail).
        let x = Tensor(shape: [3, 37], values: randomValues(111, seed: 46))
        x.requiresGrad = true
        let up = randomValues(111, seed: 47)
        weightedSum(addReLU(x, x), Tensor(shape: x.shape, values: up)).backward()
        let xv = x.scalars
        #expect(x.grad!.scalars == (0..<111).map { xv[$0] + xv[$0] > 0 ? up[$0] + up[$0] : 0 })
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor(shape: [2, 2], values: [1, -2, 3, -4])
        x.requiresGrad = true
        let y = GradMode.withNoGrad { relu(x) }
        #expect(!y.requiresGrad && y.scalars == [1, 0, 3, 0])
    }

    @Test func gradientsAccumulateOverBackwardCalls() {
        let x = Tensor(shape: [3], values: [1, 2, 3])
        x.requiresGrad = true
        weightedSum(x, Tensor(shape: [3], values: [1, 1, 1])).backward()
        weightedSum(x, Tensor(shape: [3], values: [2, 0, 1])).backward()
        #expect(x.grad!.scalars == [3, 1, 2])
    }

    /// The meter is process-wide and other tests allocate at the same time, so
    /// this uses a 256 MB tensor, allows 32 MB of unrelated traffic, and takes
    /// the best of 5 tries (a meter that is wrong is wrong in every try).
    @Test func memoryMeterTracksPeakAndRelease() {
        #expect(MemoryMeter.shared.keepFreedMemory(), "glibc takes the heap settings")
        let size = 256 << 20
        let slack = 32 << 20
        var errors: [(allocated: Int, released: Int, peak: Bool)] = []
        for _ in 0..<5 {
            let before = MemoryMeter.shared.liveBytes
            var during = 0
            do {
                let t = Tensor(zeros: [size / 4])
                during = MemoryMeter.shared.liveBytes
                _ = t.count
            }
            errors.append(
                (
                    abs(during - before - size), abs(MemoryMeter.shared.liveBytes - before),
                    MemoryMeter.shared.peakBytes >= before + size - slack
                ))
            if errors.last!.allocated < slack && errors.last!.released < slack && errors.last!.peak { break }
        }
        let last = errors.last!
        #expect(last.allocated < slack && last.released < slack && last.peak, "every try: \(errors)")
    }
}
