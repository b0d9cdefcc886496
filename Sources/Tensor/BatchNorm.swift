import Foundation

/// Batch normalisation over channel 1 of N×C×… (3D: N×C×T×H×W). Training
/// uses batch statistics and updates the running ones (momentum, unbiased
/// variance, as PyTorch); evaluation uses the running statistics.
public func batchNorm(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil
) -> Tensor {
    normalize(
        x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
        training: training, momentum: momentum, epsilon: epsilon, relu: false, reducer: reducer
    ).y
}

/// relu(batchNorm(x)) in one op. It saves only x: the ReLU mask is recomputed
/// in the backward pass, so neither the normalised nor the rectified tensor
/// is kept for it.
public func batchNormReLU(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil
) -> Tensor {
    normalize(
        x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
        training: training, momentum: momentum, epsilon: epsilon, relu: true, reducer: reducer
    ).y
}

/// relu(batchNorm(x) + residual) in one op: a ResNet block's end wherever
/// gradients are recorded. Unfused, BN wrote its output, `addReLU` read it
/// back, and its backward pass wrote the gradient of that output for BN's to
/// read again: two tensors of the block's output size made (BN's output
/// forward, its gradient backward), each written once and read once more.
/// Here BN's map, the sum and the ReLU are one pass per channel while its
/// data is in cache, and the backward pass takes the ReLU's mask from the
/// output itself, writing the residual's gradient in BN's own first pass.
/// It keeps x and its output, as BN and `addReLU` did; the results equal the
/// two ops' (the same operations in the same order; a NaN sum stays NaN and
/// takes no gradient, as there).
public func batchNormAddReLU(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, residual: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil
) -> Tensor {
    precondition(
        x.shape == residual.shape, "batchNormAddReLU takes one shape: \(x.shape) and the residual's \(residual.shape)")
    precondition(x.node == nil || x.node !== residual.node, "batchNormAddReLU: x and the residual are one tensor")
    return normalize(
        x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
        training: training, momentum: momentum, epsilon: epsilon, relu: true, residual: residual, reducer: reducer
    ).y
}

/// r · gate(r) with r = relu(batchNorm(x)): CT-Net's spatial or temporal
/// excitation of a BN-ReLU output, without keeping r for the backward pass
/// (it is recomputed from x, which batch norm keeps anyway); the unfused ops
/// would hold one more activation-sized tensor per excitation. `gate` builds
/// the gate from r; it must be N×C×1×H×W (spatial) or N×C×T×1×1 (temporal).
public func batchNormReLUGated(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil,
    gate makeGate: (Tensor) -> Tensor
) -> Tensor {
    let (r, mean, invStd) = normalize(
        x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
        training: training, momentum: momentum, epsilon: epsilon, relu: true, reducer: reducer)
    let g = makeGate(r)
    let (n, c, t, area) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3] * x.shape[4])
    let spatial = g.shape == [n, c, 1, x.shape[3], x.shape[4]]
    precondition(
        spatial || g.shape == [n, c, t, 1, 1], "gate shape \(g.shape) is neither N×C×1×H×W nor N×C×T×1×1 for \(x.shape)"
    )
    // gate index of element (plane, i, k): plane = s·C + ch, i over T, k over H·W.
    @inline(__always) func gateIndex(_ plane: Int, _ i: Int, _ k: Int) -> Int {
        spatial ? plane * area + k : plane * t + i
    }
    let y = Tensor.empty(x.shape)
    let rp = r.storage.pointer
    let gp = g.storage.pointer
    let yp = y.storage.pointer
    forEachPlane(n * c) { planes in
        for plane in planes {
            for i in 0..<t {
                let base = (plane * t + i) * area
                for k in 0..<area { yp[base + k] = rp[base + k] * gp[gateIndex(plane, i, k)] }
            }
        }
    }
    let xs = x.storage
    let gs = g.storage
    let rn = r.node
    let gn = g.node
    let scale = (0..<c).map { gamma.storage.pointer[$0] * invStd[$0] }
    let shift = (0..<c).map { beta.storage.pointer[$0] - mean[$0] * scale[$0] }
    return y.record([r, g]) { dy in
        let dyp = dy.storage.pointer
        let xp = xs.pointer
        let gp = gs.pointer
        let dr = rn?.gradBuffer()
        let dg = gn?.gradBuffer()
        forEachPlane(n * c) { planes in  // planes own disjoint gate elements
            for plane in planes {
                let (a, b) = (scale[plane % c], shift[plane % c])
                for i in 0..<t {
                    let base = (plane * t + i) * area
                    for k in 0..<area {
                        let j = gateIndex(plane, i, k)
                        let d = dyp[base + k]
                        dr?[base + k] += d * gp[j]
                        dg?[j] += d * max(0, xp[base + k] * a + b)
                    }
                }
            }
        }
    }
}

/// Synchronised batch norm: a reducer given to training-mode BN (by a
/// data-parallel trainer, through each BatchNorm3d layer) receives the
/// per-channel sums, laid out as [Σ₀…Σ_{C−1}, Σ'₀…Σ'_{C−1}, count], and must
/// replace them with their sum over every process (forward: Σx, Σx², element
/// count; backward: Σdz, Σdz·x̂, count). Every process must then run the same
/// BN layers in the same order. Without one, BN uses this process's batch.
public typealias BatchNormReducer = @Sendable (inout [Double]) -> Void

/// N samples of C channels of `volume` elements each: BN's view of its input.
struct ChannelLayout {
    let n: Int
    let c: Int
    let volume: Int
    init(_ x: Tensor) {
        (n, c) = (x.shape[0], x.shape[1])
        volume = x.count / (n * c)
    }
    /// Elements of one channel over the batch.
    var perChannel: Int { n * volume }
    /// Offset of sample s, channel ch.
    func offset(_ s: Int, _ ch: Int) -> Int { (s * c + ch) * volume }
}

/// The BN (+ ReLU) op, with the batch (or running) mean and 1/σ it used;
/// with a `residual` (and `relu`), relu(BN(x) + residual), whose backward
/// pass takes the ReLU's mask from the output (BatchNormBackward's `gate`).
private func normalize(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float, epsilon: Float, relu: Bool, residual: Tensor? = nil, reducer: BatchNormReducer?
) -> (y: Tensor, mean: [Float], invStd: [Float]) {
    precondition(residual == nil || relu, "normalize: a residual is added before the ReLU")
    let layout = ChannelLayout(x)
    let y = Tensor.empty(x.shape)
    let (xp, yp, rp) = (x.storage.pointer, y.storage.pointer, residual?.storage.pointer)
    let level = SIMDLevel.usable
    let (mean, invStd) = forEachChannelStatistics(
        x, layout, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, training: training,
        momentum: momentum, epsilon: epsilon, reducer: reducer, level: level
    ) { ch, scale, shift in
        for s in 0..<layout.n {
            let offset = layout.offset(s, ch)
            if let rp {
                batchNormAffineAddReLU(
                    xp + offset, add: rp + offset, yp + offset, count: layout.volume, scale: scale, shift: shift,
                    level: level)
            } else {
                batchNormAffine(
                    xp + offset, yp + offset, count: layout.volume, scale: scale, shift: shift, relu: relu,
                    level: level)
            }
        }
    }
    let backward = BatchNormBackward(
        x: x.storage, gamma: gamma.storage, beta: beta.storage, layout: layout, mean: mean, invStd: invStd,
        training: training, relu: relu && residual == nil, reducer: training ? reducer : nil, level: level,
        gate: residual == nil ? nil : y.storage)
    let (xn, gn, bn, rn) = (x.node, gamma.node, beta.node, residual?.node)
    y.record([x, gamma, beta] + (residual.map { [$0] } ?? [])) { dy in
        backward.run(
            dy, dx: xn?.gradBufferForWrite(), dgamma: gn?.gradBuffer(), dbeta: bn?.gradBuffer(),
            dresidual: rn?.gradBufferForWrite())
    }
    return (y, mean, invStd)
}

/// Each channel's mean and 1/σ: the batch's in training (updating the
/// running statistics), else the running ones. Then `body(channel, scale,
/// shift)` with BN's map x·scale + shift for that channel, in the same pass
/// over the channels (split over the threads), while its data is in cache.
func forEachChannelStatistics(
    _ x: Tensor, _ layout: ChannelLayout, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float, epsilon: Float, reducer: BatchNormReducer?, level: SIMDLevel,
    _ body: (_ channel: Int, _ scale: Float, _ shift: Float) -> Void
) -> (mean: [Float], invStd: [Float]) {
    let c = layout.c
    let xp = x.storage.pointer
    let gp = gamma.storage.pointer
    let bp = beta.storage.pointer
    let rm = runningMean.storage.pointer
    let rv = runningVar.storage.pointer
    var mean = [Float](repeating: 0, count: c)
    var invStd = [Float](repeating: 0, count: c)
    // Synchronised BN: every channel's sums first, summed over every rank
    // (unsynchronised, each channel is summed in the pass that normalises it).
    let synced = training ? reducer.map { forwardSums(xp, layout, level, reducer: $0) } : nil
    mean.withUnsafeMutableBufferPointer { meanp in
        invStd.withUnsafeMutableBufferPointer { invp in
            let meanp = meanp.baseAddress!
            let invp = invp.baseAddress!
            forEachPlane(c) { channels in
                for ch in channels {
                    if training {
                        let (sum, squares, total) =
                            synced.map { ($0[ch], $0[c + ch], $0[2 * c]) } ?? channelSums(xp, layout, ch, level)
                        let mu = sum / total
                        let variance = max(0, squares / total - mu * mu)
                        meanp[ch] = Float(mu)
                        invp[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
                        let unbiased = total > 1 ? variance * total / (total - 1) : variance
                        rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
                        rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(unbiased)
                    } else {
                        meanp[ch] = rm[ch]
                        invp[ch] = 1 / (rv[ch] + epsilon).squareRoot()
                    }
                    let scale = gp[ch] * invp[ch]
                    body(ch, scale, bp[ch] - meanp[ch] * scale)
                }
            }
        }
    }
    return (mean, invStd)
}

/// (Σx, Σx², count) of one channel over the batch.
private func channelSums(
    _ xp: UnsafePointer<Float>, _ layout: ChannelLayout, _ ch: Int, _ level: SIMDLevel
) -> (Double, Double, Double) {
    var sum = 0.0
    var squares = 0.0
    for s in 0..<layout.n {
        let (partial, partialSq) = sumAndSquares(xp + layout.offset(s, ch), count: layout.volume, level: level)
        sum += Double(partial)
        squares += Double(partialSq)
    }
    return (sum, squares, Double(layout.perChannel))
}

/// Every channel's (Σx, Σx²) and the count, summed over the processes by `reducer`.
private func forwardSums(
    _ xp: UnsafePointer<Float>, _ layout: ChannelLayout, _ level: SIMDLevel, reducer: BatchNormReducer
) -> [Double] {
    let c = layout.c
    var sums = [Double](repeating: 0, count: 2 * c + 1)
    sums.withUnsafeMutableBufferPointer { sp in
        let sp = sp.baseAddress!
        forEachPlane(c) { channels in
            for ch in channels { (sp[ch], sp[c + ch], _) = channelSums(xp, layout, ch, level) }
        }
    }
    sums[2 * c] = Double(layout.perChannel)
    reducer(&sums)
    return sums
}

/// BN's backward pass: what the forward pass keeps (x, γ, β, the statistics
/// it used), and the gradients it writes.
struct BatchNormBackward {
    let x: Storage
    let gamma: Storage
    let beta: Storage
    let layout: ChannelLayout
    let mean: [Float]
    let invStd: [Float]
    let training: Bool
    let relu: Bool
    let reducer: BatchNormReducer?
    /// The forward pass's SIMD level, so that the ReLU mask is the one it applied.
    let level: SIMDLevel
    /// The max-pool fused after BN-ReLU (`batchNormReLUMaxPool`): dy is the
    /// pool's output gradient, and dz is dy at each window's argmax.
    var pool: FusedPool? = nil
    /// The output of `batchNormAddReLU`, relu(BN(x) + residual): dz is dy
    /// where it is > 0, else 0, and the residual's gradient is dz (`relu` is
    /// false).
    var gate: Storage? = nil

    /// γ·1/σ and β − mean·γ/σ of a channel: the forward pass's affine map.
    @inline(__always) func affine(_ ch: Int) -> (Float, Float) {
        let k = gamma.pointer[ch] * invStd[ch]
        return (k, beta.pointer[ch] - mean[ch] * k)
    }

    /// dx (and, with a `gate`, the residual's gradient dresidual) is
    /// written when it is `fresh` (a new buffer: no zeroing pass), else
    /// added into.
    func run(
        _ dy: Tensor, dx: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)?, dgamma: UnsafeMutablePointer<Float>?,
        dbeta: UnsafeMutablePointer<Float>?, dresidual: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)? = nil
    ) {
        let dyp = dy.storage.pointer
        let c = layout.c
        guard let reducer else {
            // One pass per channel while its data is in cache.
            forEachPlane(c) { channels in
                for ch in channels {
                    let (a, b) = gradientChannelSums(dyp, ch, dresidual: dresidual)
                    dgamma?[ch] += b
                    dbeta?[ch] += a
                    inputGradient(dyp, dx, ch, a, b, count: Float(layout.perChannel))
                }
            }
            return
        }
        // Synchronised BN: γ and β get this rank's sums (their gradients are
        // averaged with the others later); dx needs the sums over every rank.
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        sums.withUnsafeMutableBufferPointer { sp in
            let sp = sp.baseAddress!
            forEachPlane(c) { channels in
                for ch in channels {
                    let (a, b) = gradientChannelSums(dyp, ch, dresidual: dresidual)
                    dgamma?[ch] += b
                    dbeta?[ch] += a
                    sp[ch] = Double(a)
                    sp[c + ch] = Double(b)
                }
            }
        }
        sums[2 * c] = Double(layout.perChannel)
        reducer(&sums)
        forEachPlane(c) { channels in
            for ch in channels {
                inputGradient(dyp, dx, ch, Float(sums[ch]), Float(sums[c + ch]), count: Float(sums[2 * c]))
            }
        }
    }

    /// (Σdz, Σdz·x̂) of one channel; dz is the gradient before the ReLU
    /// (with a `gate`, also written to or added into `dresidual`).
    func gradientChannelSums(
        _ dyp: UnsafePointer<Float>, _ ch: Int, dresidual: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)? = nil
    ) -> (Float, Float) {
        let (k, shift) = affine(ch)
        var sumDz: Float = 0
        var sumDzXhat: Float = 0
        for s in 0..<layout.n {
            let offset = layout.offset(s, ch)
            let (a, b) =
                if let gate {
                    gatedGradientSums(
                        dyp + offset, gate: gate.pointer + offset, x.pointer + offset, count: layout.volume,
                        mean: mean[ch], invStd: invStd[ch], ds: dresidual.map { $0.pointer + offset },
                        accumulate: dresidual?.fresh == false, level: level)
                } else if let pool {
                    pool.gradientChannelSums(
                        dyp, x.pointer + offset, plane: s * layout.c + ch, mean: mean[ch], invStd: invStd[ch], k: k,
                        shift: shift, level: level)
                } else {
                    gradientSums(
                        dyp + offset, x.pointer + offset, count: layout.volume, mean: mean[ch], invStd: invStd[ch],
                        reluScale: relu ? k : nil, reluShift: shift, level: level)
                }
            sumDz += a
            sumDzXhat += b
        }
        return (sumDz, sumDzXhat)
    }

    /// dx of one channel from the sums over the whole (global) batch of `count` elements.
    func inputGradient(
        _ dyp: UnsafePointer<Float>, _ dx: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)?, _ ch: Int,
        _ sumDz: Float, _ sumDzXhat: Float, count: Float
    ) {
        guard let dx else { return }
        let (k, shift) = affine(ch)
        let statistics = training ? (a: sumDz / count, b: sumDzXhat / count, mean: mean[ch], invStd: invStd[ch]) : nil
        for s in 0..<layout.n {
            let offset = layout.offset(s, ch)
            if let pool {
                pool.inputGradient(
                    dyp, x.pointer + offset, dx.pointer + offset, plane: s * layout.c + ch, k: k, shift: shift,
                    statistics: statistics, accumulate: !dx.fresh, level: level)
                continue
            }
            batchNormInputGradient(
                dyp + offset, x.pointer + offset, dx.pointer + offset, count: layout.volume, k: k, shift: shift,
                relu: relu, gate: gate.map { $0.pointer + offset }, statistics: statistics, accumulate: !dx.fresh,
                level: level)
        }
    }
}
