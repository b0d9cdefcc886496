/// relu(batchNorm(x) + residual) in one op: a ResNet block's end in
/// training. Unfused, BN wrote its output, `addReLU` read it back, and its
/// backward pass wrote the gradient of that output for BN's to read again:
/// two tensors of the block's output size made (BN's output forward, its
/// gradient backward), each written once and read once more.
/// Here BN's map, the sum and the ReLU are one pass per channel while its
/// data is in cache, and the backward pass takes the ReLU's mask from the
/// output itself, writing the residual's gradient in BN's own first pass.
/// It keeps x and its output, as BN and `addReLU` did; the results equal the
/// two ops' (the same operations in the same order; a NaN sum stays NaN and
/// takes no gradient, as there). It runs in training and wherever gradients
/// are recorded.
public func batchNormAddReLU(
    _ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, residual: Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, reducer: BatchNormReducer? = nil
) -> Tensor {
    precondition(
        x.shape == residual.shape, "batchNormAddReLU takes one shape: \(x.shape) and the residual's \(residual.shape)")
    precondition(x.node == nil || x.node !== residual.node, "batchNormAddReLU: x and the residual are one tensor")
    let layout = ChannelLayout(x)
    let y = Tensor.empty(x.shape)
    let (xp, rp, yp) = (x.storage.pointer, residual.storage.pointer, y.storage.pointer)
    let level = SIMDLevel.usable
    let (mean, invStd) = forEachChannelStatistics(
        x, layout, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, training: training,
        momentum: momentum, epsilon: epsilon, reducer: reducer, level: level
    ) { ch, scale, shift in
        for s in 0..<layout.n {
            let offset = layout.offset(s, ch)
            batchNormAffineAddReLU(
                xp + offset, add: rp + offset, yp + offset, count: layout.volume, scale: scale, shift: shift,
                level: level)
        }
    }
    let backward = BatchNormBackward(
        x: x.storage, gamma: gamma.storage, beta: beta.storage, layout: layout, mean: mean, invStd: invStd,
        training: training, relu: false, reducer: training ? reducer : nil, level: level, gate: y.storage)
    let (xn, gn, bn, rn) = (x.node, gamma.node, beta.node, residual.node)
    return y.record([x, gamma, beta, residual]) { dy in
        backward.run(
            dy, dx: xn?.gradBufferForWrite(), dgamma: gn?.gradBuffer(), dbeta: bn?.gradBuffer(),
            dresidual: rn?.gradBufferForWrite())
    }
}
