import CKernels  // its x86-64 kernels are declared on x86-64 only

/// maxPool3d(batchNormReLU(x), kernel: (frames, 2, 2)) as one op, for the
/// pools of kth3l (2 × 2 windows of 1 or 2 frames at their own stride). The
/// normalised and rectified tensor is never made: the pool maps each window
/// to max(0, x·scale + shift) as it loads it (`PoolWindows.maxOfPairs`), and
/// the backward pass reads x, the pool's gradient and its argmaxes, so it
/// makes neither the pool's input gradient nor a pass over it. Forward, the
/// results and the argmaxes equal the two ops'; backward, dx equals theirs
/// up to the order of BN's sums. Where the windows do not tile the frames
/// exactly (an odd height or width, or frames not dividing T), it runs the
/// two ops.
public func batchNormReLUMaxPool(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil, frames: Int
) -> Tensor {
    precondition(frames == 1 || frames == 2, "batchNormReLUMaxPool pools 1 or 2 frames, not \(frames)")
    precondition(x.shape.count == 5, "batchNormReLUMaxPool takes N×C×T×H×W, not \(x.shape)")
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    guard t % frames == 0, h % 2 == 0, w % 2 == 0, t > 0, h > 0, w > 0 else {
        let r = batchNormReLU(
            x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, training: training,
            momentum: momentum, epsilon: epsilon, reducer: reducer)
        return maxPool3d(r, kernel: (frames, 2, 2))
    }
    let windows = PoolWindows(
        input: (t, h, w), kernel: (frames, 2, 2), stride: (frames, 2, 2), padding: (0, 0, 0),
        output: (t / frames, h / 2, w / 2))
    let layout = ChannelLayout(x)
    let y = Tensor.empty([n, c, windows.output.t, windows.output.h, windows.output.w])
    let argmax = ByteBuffer(count: y.count)
    let (xp, yp, ap) = (x.storage.pointer, y.storage.pointer, argmax.pointer)
    let level = SIMDLevel.usable
    let (mean, invStd) = forEachChannelStatistics(
        x, layout, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, training: training,
        momentum: momentum, epsilon: epsilon, reducer: reducer, level: level
    ) { ch, scale, shift in
        for s in 0..<n {
            let plane = s * c + ch
            let out = plane * windows.outPlane
            windows.maxOfPairs(xp + plane * windows.inPlane, yp + out, ap + out, level, reluAffine: (scale, shift))
        }
    }
    var backward = BatchNormBackward(
        x: x.storage, gamma: gamma.storage, beta: beta.storage, layout: layout, mean: mean, invStd: invStd,
        training: training, relu: true, reducer: training ? reducer : nil, level: level)
    backward.pool = FusedPool(windows: windows, argmax: argmax)
    let (xn, gn, bn) = (x.node, gamma.node, beta.node)
    return y.record([x, gamma, beta]) { [backward] dy in
        backward.run(dy, dx: xn?.gradBufferForWrite(), dgamma: gn?.gradBuffer(), dbeta: bn?.gradBuffer())
    }
}

/// Bytes owned by a reference, for a tensor's companions (a pool's argmaxes).
final class ByteBuffer {
    let pointer: UnsafeMutablePointer<UInt8>
    init(count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// A max-pool fused after BN-ReLU, as BN's backward pass sees it: per plane
/// (sample s, channel ch: plane s·C + ch), dz is the pool's gradient dy at
/// each window's argmax where BN's map x·k + shift > 0, and 0 everywhere
/// else. Run by C kernels at a SIMD level (ck_bn_pool_gradient_sums, and
/// ck_max_pool_pairs_backward with BN's map), or at `.portable` by the
/// twins here.
struct FusedPool {
    let windows: PoolWindows
    let argmax: ByteBuffer

    /// (Σdz, Σdz·x̂) over one plane; `dy` is the whole batch's pool gradient, x the plane's input.
    func gradientChannelSums(
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, plane: Int, mean: Float, invStd: Float, k: Float,
        shift: Float, level: SIMDLevel
    ) -> (Float, Float) {
        let (dy, argmax) = (dy + plane * windows.outPlane, argmax.pointer + plane * windows.outPlane)
        #if arch(x86_64)
            if level != .portable {
                let kernel = level == .avx512 ? ck_bn_pool_gradient_sums_avx512 : ck_bn_pool_gradient_sums_avx2
                return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2) { sums in
                    kernel(
                        dy, argmax, x, Int32(windows.kernel.0), Int64(windows.input.h), Int64(windows.input.w),
                        Int64(windows.output.t), Int64(windows.output.h), Int64(windows.output.w), mean, invStd, k,
                        shift, sums.baseAddress!)
                    return (sums[0], sums[1])
                }
            }
        #endif
        var sumDz = 0.0
        var sumDzXhat = 0.0
        windows.forEachPair { window, a, b, d in
            let v = x[windows.pairElement(a, b, d, Int(argmax[window]))]
            guard !(v * k + shift <= 0) else { return }
            sumDz += Double(dy[window])
            sumDzXhat += Double(dy[window] * ((v - mean) * invStd))
        }
        return (Float(sumDz), Float(sumDzXhat))
    }

    /// dx of one plane from that dz, as `batchNormInputGradient` computes it
    /// with `relu`: written, or added to dx when `accumulate`. By
    /// ck_max_pool_pairs_backward with BN's map, or at `.portable` by the
    /// twin here.
    func inputGradient(
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, plane: Int,
        k: Float, shift: Float, statistics: (a: Float, b: Float, mean: Float, invStd: Float)?, accumulate: Bool,
        level: SIMDLevel
    ) {
        let (dy, argmax) = (dy + plane * windows.outPlane, argmax.pointer + plane * windows.outPlane)
        #if arch(x86_64)
            if level != .portable {
                let backward = level == .avx512 ? ck_max_pool_pairs_backward_avx512 : ck_max_pool_pairs_backward_avx2
                let (a, b, mean, invStd) = statistics ?? (0, 0, 0, 0)
                var map = ck_bn_backward_map(
                    x: x, k: k, shift: shift, training: statistics == nil ? 0 : 1, a: a, b: b, mean: mean,
                    inv_std: invStd)
                backward(
                    dy, argmax, dx, Int32(windows.kernel.0), Int64(windows.input.t), Int64(windows.input.h),
                    Int64(windows.input.w), Int64(windows.output.t), Int64(windows.output.h), Int64(windows.output.w),
                    accumulate ? 1 : 0, &map)
                return
            }
        #endif
        windows.forEachPair { window, a, b, d in
            for offset in 0..<4 * windows.kernel.0 {
                let i = windows.pairElement(a, b, d, offset)
                let dz: Float = offset == Int(argmax[window]) && !(x[i] * k + shift <= 0) ? dy[window] : 0
                let g = statistics.map { k * (dz - $0.a - (x[i] - $0.mean) * $0.invStd * $0.b) } ?? k * dz
                dx[i] = accumulate ? dx[i] + g : g
            }
        }
    }
}
