import Foundation

/// x (N×F) · wᵀ (F×O) + b → N×O.
public func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
    let (n, f, o) = (x.shape[0], x.shape[1], w.shape[0])
    precondition(w.shape[1] == f, "linear: input has \(f) features, weight \(w.shape)")
    let y = Tensor.empty([n, o])
    FlopCounter.add(n * o * f)
    let xp = x.storage.pointer
    let wp = w.storage.pointer
    let yp = y.storage.pointer
    sgemm(transB: true, m: n, n: o, k: f, a: xp, lda: f, b: wp, ldb: f, c: yp, ldc: o)
    if let b {
        let bp = b.storage.pointer
        for i in 0..<n { for j in 0..<o { yp[i * o + j] += bp[j] } }
    }
    let xs = x.storage
    let ws = w.storage
    let xn = x.node
    let wn = w.node
    let bn = b?.node
    return y.record([x, w] + (b.map { [$0] } ?? [])) { dy in
        let dyp = dy.storage.pointer
        let xp = xs.pointer
        let wp = ws.pointer
        if let xn { sgemm(m: n, n: f, k: o, a: dyp, lda: o, b: wp, ldb: f, beta: 1, c: xn.gradBuffer(), ldc: f) }
        if let wn {
            sgemm(transA: true, m: o, n: f, k: n, a: dyp, lda: o, b: xp, ldb: f, beta: 1, c: wn.gradBuffer(), ldc: f)
        }
        if let bn {
            let db = bn.gradBuffer()
            for i in 0..<n { for j in 0..<o { db[j] += dyp[i * o + j] } }
        }
    }
}

/// Mean softmax cross-entropy of logits (N×K) against class labels.
public func softmaxCrossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
    let (n, k) = (logits.shape[0], logits.shape[1])
    precondition(
        labels.count == n && labels.allSatisfy { (0..<k).contains($0) }, "labels must be 0..<\(k), one per row")
    let lp = logits.storage.pointer
    var probabilities = [Float](repeating: 0, count: n * k)
    var loss = 0.0
    for i in 0..<n {
        let row = lp + i * k
        var top = -Float.infinity
        for j in 0..<k { top = max(top, row[j]) }
        var sum: Float = 0
        for j in 0..<k {
            let e = exp(row[j] - top)
            probabilities[i * k + j] = e
            sum += e
        }
        for j in 0..<k { probabilities[i * k + j] /= sum }
        loss -= Double(row[labels[i]] - top - log(sum))
    }
    let ln = logits.node
    return Tensor(shape: [1], values: [Float(loss / Double(n))]).record([logits]) { dy in
        guard let ln else { return }
        let dx = ln.gradBuffer()
        let g = dy.storage.pointer[0] / Float(n)
        for i in 0..<n {
            for j in 0..<k {
                dx[i * k + j] += g * (probabilities[i * k + j] - (j == labels[i] ? 1 : 0))
            }
        }
    }
}

/// Mean squared error mean((x − target)²) over every element (PyTorch's
/// `mse_loss`); the target is data, so only x gets a gradient.
public func meanSquaredError(_ x: Tensor, _ target: Tensor) -> Tensor {
    precondition(x.shape == target.shape, "meanSquaredError: shapes \(x.shape) and \(target.shape) differ")
    let n = x.count
    let xp = x.storage.pointer
    let tp = target.storage.pointer
    var sum = 0.0
    for i in 0..<n {
        let d = Double(xp[i] - tp[i])
        sum += d * d
    }
    let xn = x.node
    let xs = x.storage
    let ts = target.storage
    return Tensor(shape: [1], values: [Float(sum / Double(n))]).record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let g = 2 * dy.storage.pointer[0] / Float(n)
        let xp = xs.pointer
        let tp = ts.pointer
        for i in 0..<n { dx[i] += g * (xp[i] - tp[i]) }
    }
}

/// Softmax over the last dimension of an N×K tensor (no graph; for evaluation).
public func softmax(_ logits: Tensor) -> [Float] {
    let (n, k) = (logits.shape[0], logits.shape[1])
    let lp = logits.storage.pointer
    var out = [Float](repeating: 0, count: n * k)
    for i in 0..<n {
        var top = -Float.infinity
        for j in 0..<k { top = max(top, lp[i * k + j]) }
        var sum: Float = 0
        for j in 0..<k {
            out[i * k + j] = exp(lp[i * k + j] - top)
            sum += out[i * k + j]
        }
        for j in 0..<k { out[i * k + j] /= sum }
    }
    return out
}
