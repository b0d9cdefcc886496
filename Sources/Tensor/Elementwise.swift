import Foundation

public func relu(_ x: Tensor) -> Tensor {
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer, yp = y.storage.pointer
    for i in 0..<x.count { yp[i] = max(xp[i], 0) }
    // The output's sign is the mask: keep y, not x.
    let ys = y.storage, xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer(), dyp = dy.storage.pointer, yp = ys.pointer
        for i in 0..<ys.count where yp[i] > 0 { dx[i] += dyp[i] }
    }
}

public func sigmoid(_ x: Tensor) -> Tensor {
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer, yp = y.storage.pointer
    for i in 0..<x.count { yp[i] = 1 / (1 + exp(-xp[i])) }
    let ys = y.storage, xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer(), dyp = dy.storage.pointer, yp = ys.pointer
        for i in 0..<ys.count { dx[i] += dyp[i] * yp[i] * (1 - yp[i]) }
    }
}

/// Strides of a shape for broadcasting into `out` (0 where the size is 1).
private func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: out.count)
    var step = 1
    for d in stride(from: out.count - 1, through: 0, by: -1) {
        strides[d] = shape[d] == 1 && out[d] != 1 ? 0 : step
        step *= shape[d]
    }
    return strides
}

/// Calls body(outIndex, aIndex, bIndex) over every output element.
private func forEachBroadcast(_ out: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
    let rank = out.count
    var index = [Int](repeating: 0, count: rank)
    var ia = 0, ib = 0
    let total = out.reduce(1, *)
    let last = rank - 1
    for o in 0..<total {
        body(o, ia, ib)
        var d = last
        while d >= 0 {
            index[d] += 1; ia += sa[d]; ib += sb[d]
            if index[d] < out[d] { break }
            ia -= sa[d] * out[d]; ib -= sb[d] * out[d]; index[d] = 0
            d -= 1
        }
    }
}

private func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    precondition(a.count == b.count, "broadcasting needs equal ranks: \(a) and \(b)")
    return zip(a, b).map { x, y in
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
        return max(x, y)
    }
}

/// a + b with broadcasting over size-1 dimensions (same rank): e.g. N×C×T×H×W + N×C×1×1×1.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    let out = broadcastShape(a.shape, b.shape)
    let sa = broadcastStrides(a.shape, to: out), sb = broadcastStrides(b.shape, to: out)
    let y = Tensor.empty(out)
    let ap = a.storage.pointer, bp = b.storage.pointer, yp = y.storage.pointer
    if a.shape == b.shape { for i in 0..<y.count { yp[i] = ap[i] + bp[i] } }
    else { forEachBroadcast(out, sa, sb) { o, i, j in yp[o] = ap[i] + bp[j] } }
    let an = a.node, bn = b.node
    return y.record([a, b]) { dy in
        let dyp = dy.storage.pointer
        if let an { let da = an.gradBuffer(); forEachBroadcast(out, sa, sb) { o, i, _ in da[i] += dyp[o] } }
        if let bn { let db = bn.gradBuffer(); forEachBroadcast(out, sa, sb) { o, _, j in db[j] += dyp[o] } }
    }
}

/// a · b element-wise with broadcasting (CT-Net's excitation gates: x · sigmoid(s)).
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let out = broadcastShape(a.shape, b.shape)
    let sa = broadcastStrides(a.shape, to: out), sb = broadcastStrides(b.shape, to: out)
    let y = Tensor.empty(out)
    let ap = a.storage.pointer, bp = b.storage.pointer, yp = y.storage.pointer
    forEachBroadcast(out, sa, sb) { o, i, j in yp[o] = ap[i] * bp[j] }
    let an = a.node, bn = b.node, avalues = a.storage, bvalues = b.storage
    return y.record([a, b]) { dy in
        let dyp = dy.storage.pointer, ap = avalues.pointer, bp = bvalues.pointer
        if let an { let da = an.gradBuffer(); forEachBroadcast(out, sa, sb) { o, i, j in da[i] += dyp[o] * bp[j] } }
        if let bn { let db = bn.gradBuffer(); forEachBroadcast(out, sa, sb) { o, i, j in db[j] += dyp[o] * ap[i] } }
    }
}

/// Σ x·weights: a scalar whose gradient with respect to x is `weights`.
public func weightedSum(_ x: Tensor, _ weights: Tensor) -> Tensor {
    precondition(x.count == weights.count)
    let xp = x.storage.pointer, wp = weights.storage.pointer
    var sum: Float = 0
    for i in 0..<x.count { sum += xp[i] * wp[i] }
    let xn = x.node, ws = weights.storage
    return Tensor(shape: [1], values: [sum]).record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer(), g = dy.storage.pointer[0], w = ws.pointer
        for i in 0..<ws.count { dx[i] += g * w[i] }
    }
}

/// Inverted dropout: zeroes elements with probability p and scales the rest by
/// 1/(1 - p) in training; the identity in evaluation.
public func dropout<G: RandomNumberGenerator>(_ x: Tensor, p: Float, training: Bool, using rng: inout G) -> Tensor {
    guard training, p > 0 else { return x }
    let y = Tensor.empty(x.shape)
    var mask = [Float](repeating: 0, count: x.count)
    let keep = 1 / (1 - p)
    for i in 0..<x.count { mask[i] = Float.random(in: 0..<1, using: &rng) < p ? 0 : keep }
    let xp = x.storage.pointer, yp = y.storage.pointer
    for i in 0..<x.count { yp[i] = xp[i] * mask[i] }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer(), dyp = dy.storage.pointer
        for i in 0..<mask.count { dx[i] += dyp[i] * mask[i] }
    }
}
