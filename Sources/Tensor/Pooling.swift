/// Max pooling over (kt, kh, kw) windows with the given stride, no padding.
/// x: N×C×T×H×W. Saves the argmax of every window for the backward pass.
public func maxPool3d(_ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil) -> Tensor {
    let s = stride ?? kernel
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    let (to, ho, wo) = ((t - kernel.0) / s.0 + 1, (h - kernel.1) / s.1 + 1, (w - kernel.2) / s.2 + 1)
    let y = Tensor.empty([n, c, to, ho, wo])
    var argmax = [Int32](repeating: 0, count: y.count)
    let xp = x.storage.pointer, yp = y.storage.pointer
    argmax.withUnsafeMutableBufferPointer { am in
        var out = 0
        for plane in 0..<(n * c) {
            let base = plane * t * h * w
            for a in 0..<to { for b in 0..<ho { for d in 0..<wo {
                // The first maximum wins ties, as in PyTorch.
                var bestIndex = base + ((a * s.0) * h + b * s.1) * w + d * s.2
                var best = xp[bestIndex]
                for i in 0..<kernel.0 { for j in 0..<kernel.1 {
                    let row = base + ((a * s.0 + i) * h + (b * s.1 + j)) * w + d * s.2
                    for k in 0..<kernel.2 where xp[row + k] > best {
                        best = xp[row + k]; bestIndex = row + k
                    }
                } }
                yp[out] = best
                am[out] = Int32(bestIndex)
                out += 1
            } } }
        }
    }
    return y.record([x]) { dy in
        let dx = x.gradBuffer(), dyp = dy.storage.pointer
        for i in 0..<argmax.count { dx[Int(argmax[i])] += dyp[i] }
    }
}

/// Average pooling over (kt, kh, kw) windows, no padding.
public func avgPool3d(_ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil) -> Tensor {
    let s = stride ?? kernel
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    let (to, ho, wo) = ((t - kernel.0) / s.0 + 1, (h - kernel.1) / s.1 + 1, (w - kernel.2) / s.2 + 1)
    let y = Tensor.empty([n, c, to, ho, wo])
    let scale = 1 / Float(kernel.0 * kernel.1 * kernel.2)
    let xp = x.storage.pointer, yp = y.storage.pointer
    func forEachWindow(_ body: (Int, Int) -> Void) {   // (output index, input index)
        var out = 0
        for plane in 0..<(n * c) {
            let base = plane * t * h * w
            for a in 0..<to { for b in 0..<ho { for d in 0..<wo {
                for i in 0..<kernel.0 { for j in 0..<kernel.1 { for k in 0..<kernel.2 {
                    body(out, base + ((a * s.0 + i) * h + (b * s.1 + j)) * w + d * s.2 + k)
                } } }
                out += 1
            } } }
        }
    }
    yp.initialize(repeating: 0, count: y.count)
    forEachWindow { o, i in yp[o] += xp[i] * scale }
    return y.record([x]) { dy in
        let dx = x.gradBuffer(), dyp = dy.storage.pointer
        forEachWindow { o, i in dx[i] += dyp[o] * scale }
    }
}

/// Mean over T×H×W: N×C×T×H×W → N×C.
public func globalAvgPool(_ x: Tensor) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    let volume = x.count / (n * c)
    let y = Tensor.empty([n, c])
    let xp = x.storage.pointer, yp = y.storage.pointer
    for plane in 0..<(n * c) {
        var sum: Float = 0
        let base = xp + plane * volume
        for i in 0..<volume { sum += base[i] }
        yp[plane] = sum / Float(volume)
    }
    return y.record([x]) { dy in
        let dx = x.gradBuffer(), dyp = dy.storage.pointer
        for plane in 0..<(n * c) {
            let g = dyp[plane] / Float(volume)
            let base = dx + plane * volume
            for i in 0..<volume { base[i] += g }
        }
    }
}
