import Foundation

/// Batch normalisation over channel 1 of N×C×… (3D: N×C×T×H×W). Training
/// uses batch statistics and updates the running ones (momentum, unbiased
/// variance, as PyTorch); evaluation uses the running statistics.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    let volume = x.count / (n * c)
    let m = n * volume
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer, yp = y.storage.pointer
    let gp = gamma.storage.pointer, bp = beta.storage.pointer
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    for ch in 0..<c {
        if training {
            var sum = 0.0, squares = 0.0
            for s in 0..<n {
                let base = xp + (s * c + ch) * volume
                var partial: Float = 0, partialSq: Float = 0
                for i in 0..<volume { partial += base[i]; partialSq += base[i] * base[i] }
                sum += Double(partial); squares += Double(partialSq)
            }
            let mu = sum / Double(m)
            let variance = max(0, squares / Double(m) - mu * mu)
            mean[ch] = Float(mu)
            invStd[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            runningMean.storage.pointer[ch] = (1 - momentum) * runningMean.storage.pointer[ch] + momentum * Float(mu)
            runningVar.storage.pointer[ch] = (1 - momentum) * runningVar.storage.pointer[ch] + momentum * Float(unbiased)
        } else {
            mean[ch] = runningMean.storage.pointer[ch]
            invStd[ch] = 1 / (runningVar.storage.pointer[ch] + epsilon).squareRoot()
        }
        let scale = gp[ch] * invStd[ch], shift = bp[ch] - mean[ch] * scale
        for s in 0..<n {
            let src = xp + (s * c + ch) * volume, dst = yp + (s * c + ch) * volume
            for i in 0..<volume { dst[i] = src[i] * scale + shift }
        }
    }
    return y.record([x, gamma, beta]) { dy in
        let dyp = dy.storage.pointer
        let dx: UnsafeMutablePointer<Float>? = x.requiresGrad ? x.gradBuffer() : nil
        let dgamma: UnsafeMutablePointer<Float>? = gamma.requiresGrad ? gamma.gradBuffer() : nil
        let dbeta: UnsafeMutablePointer<Float>? = beta.requiresGrad ? beta.gradBuffer() : nil
        for ch in 0..<c {
            var sumDy: Float = 0, sumDyXhat: Float = 0
            for s in 0..<n {
                let src = xp + (s * c + ch) * volume, g = dyp + (s * c + ch) * volume
                for i in 0..<volume { sumDy += g[i]; sumDyXhat += g[i] * (src[i] - mean[ch]) * invStd[ch] }
            }
            dgamma?[ch] += sumDyXhat
            dbeta?[ch] += sumDy
            guard let dx else { continue }
            let k = gp[ch] * invStd[ch]
            for s in 0..<n {
                let src = xp + (s * c + ch) * volume, g = dyp + (s * c + ch) * volume, d = dx + (s * c + ch) * volume
                if training {
                    let a = sumDy / Float(m), b = sumDyXhat / Float(m)
                    for i in 0..<volume { d[i] += k * (g[i] - a - (src[i] - mean[ch]) * invStd[ch] * b) }
                } else {
                    for i in 0..<volume { d[i] += k * g[i] }
                }
            }
        }
    }
}
