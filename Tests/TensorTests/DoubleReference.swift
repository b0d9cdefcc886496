@testable import Tensor

/// The convolution `g` of `x` and `w` summed in Double: the reference the
/// tests state float32 errors against (`conv3dForwardNaive` sums in Float).
func conv3dInDouble(_ x: [Float], _ w: [Float], _ g: Conv3dGeometry) -> [Double] {
    let (o, k) = (g.output, g.kernel)
    var y = [Double](repeating: 0, count: g.batch * g.outChannels * g.outputVolume)
    for n in 0..<g.batch {
        for oc in 0..<g.outChannels {
            let group = oc / g.groupOut
            for to in 0..<o.t {
                for ho in 0..<o.h {
                    for wo in 0..<o.w {
                        var sum = 0.0
                        for c in 0..<g.groupIn {
                            let input = (n * g.inChannels + group * g.groupIn + c) * g.inputVolume
                            let weight = (oc * g.groupIn + c) * k.t * k.h * k.w
                            for a in 0..<k.t {
                                let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                                guard ti >= 0, ti < g.input.t else { continue }
                                for b in 0..<k.h {
                                    let hi = ho * g.stride.h - g.padding.h + b * g.dilation.h
                                    guard hi >= 0, hi < g.input.h else { continue }
                                    for d in 0..<k.w {
                                        let wi = wo * g.stride.w - g.padding.w + d * g.dilation.w
                                        guard wi >= 0, wi < g.input.w else { continue }
                                        sum +=
                                            Double(x[input + (ti * g.input.h + hi) * g.input.w + wi])
                                            * Double(w[weight + (a * k.h + b) * k.w + d])
                                    }
                                }
                            }
                        }
                        y[(((n * g.outChannels + oc) * o.t + to) * o.h + ho) * o.w + wo] = sum
                    }
                }
            }
        }
    }
    return y
}

/// The largest error of `y` against `exact`, over `exact`'s RMS.
func largestErrorOverRMS(_ y: [Float], _ exact: [Double]) -> Double {
    let scale = (exact.map { $0 * $0 }.reduce(0, +) / Double(max(1, exact.count))).squareRoot()
    return zip(y, exact).map { abs(Double($0) - $1) }.max()! / scale
}

/// The float32 error of an R50-like middle conv under each policy: `batch`
/// samples of 64 channels and 8 frames of `side`², 8 output channels,
/// 3×3×3 with "same" padding, inputs in [−1, 1) and He-scaled weights from
/// `seeds`. Per policy: the algorithm the conv takes, and its largest error
/// over the outputs' RMS against `conv3dInDouble`.
func statedErrors(
    batch: Int, side: Int, seeds: (x: UInt64, w: UInt64), policies: [WinogradPolicy]
) -> [(algorithm: String, error: Double)] {
    let g = Conv3dGeometry(
        batch: batch, inChannels: 64, outChannels: 8, groups: 1, input: (8, side, side), kernel: (3, 3, 3),
        stride: (1, 1, 1), padding: (1, 1, 1), dilation: (1, 1, 1))
    let xv = randomValues(batch * 64 * g.inputVolume, seed: seeds.x)
    let bound = Float((2.0 / Double(64 * 27)).squareRoot())
    let wv = randomValues(8 * 64 * 27, seed: seeds.w).map { $0 * bound * 1.7 }
    let exact = conv3dInDouble(xv, wv, g)
    let x = Tensor(shape: [batch, 64, 8, side, side], values: xv)
    let w = Tensor(shape: [8, 64, 3, 3, 3], values: wv)
    return policies.map { policy in
        OpSettings.with(\.winogradPolicy, policy) {
            let y = GradMode.withNoGrad { conv3d(x, w, Conv3dOptions(padding: (1, 1, 1))) }.scalars
            return (g.algorithm, largestErrorOverRMS(y, exact))
        }
    }
}
