import Foundation

public func relu(_ x: Tensor) -> Tensor {
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    Parallel.forEachSpan(x.count) { span in for i in span { yp[i] = max(xp[i], 0) } }
    // The output's sign is the mask: keep y, not x.
    let ys = y.storage
    let xn = x.node
    return y.record([x]) { dy in
        if let xn { reluGradient(dy, output: ys, into: xn, and: nil) }
    }
}

/// relu(a + b) for two tensors of one shape (a residual block's end) in one
/// pass; backward gives both operands dy where the output is positive.
public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "addReLU takes one shape: \(a.shape) and \(b.shape)")
    let y = Tensor.empty(a.shape)
    let ap = a.storage.pointer
    let bp = b.storage.pointer
    let yp = y.storage.pointer
    Parallel.forEachSpan(y.count) { span in for i in span { yp[i] = max(ap[i] + bp[i], 0) } }
    let ys = y.storage
    let nodes = [a.node, b.node].compactMap { $0 }
    return y.record([a, b]) { dy in
        if let first = nodes.first { reluGradient(dy, output: ys, into: first, and: nodes.dropFirst().first) }
    }
}

/// relu(a + b) written over `a` when no gradient is recorded (inference),
/// which spares a tensor the size of a residual block's output; with
/// gradients, `addReLU(a, b)`. `a` must be the caller's own: an op's result
/// that nothing else reads.
public func addReLU(into a: Tensor, _ b: Tensor) -> Tensor {
    guard !GradMode.enabled else { return addReLU(a, b) }
    precondition(a.shape == b.shape, "addReLU takes one shape: \(a.shape) and \(b.shape)")
    let ap = a.storage.pointer
    let bp = b.storage.pointer
    Parallel.forEachSpan(a.count) { span in for i in span { ap[i] = max(ap[i] + bp[i], 0) } }
    return a
}

/// ReLU's gradient into `node` (and `other`: both inputs of `addReLU`, in
/// one pass over dy and y): dy where the output y > 0, else 0, added to each
/// gradient (written, when the buffer is new), 16 lanes at a time, spans
/// over the threads. The same node twice gets it twice.
private func reluGradient(_ dy: Tensor, output ys: Storage, into node: GradNode, and other: GradNode?) {
    let targets = [node.gradBufferForWrite()] + (other.map { [$0.gradBufferForWrite()] } ?? [])
    let dyp = dy.storage.pointer
    let y = ys.pointer
    let rawDy = UnsafeRawPointer(dyp)
    let rawY = UnsafeRawPointer(y)
    Parallel.forEachSpan(ys.count) { span in
        var i = span.lowerBound
        while i + 16 <= span.upperBound {
            var g = rawDy.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            g.replace(with: 0, where: .!(rawY.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) .> 0))
            for (d, fresh) in targets {
                let rawD = UnsafeMutableRawPointer(d)
                let sum = fresh ? g : g + rawD.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                rawD.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD16<Float>.self)
            }
            i += 16
        }
        while i < span.upperBound {
            let g = y[i] > 0 ? dyp[i] : 0
            for (d, fresh) in targets { d[i] = fresh ? g : d[i] + g }
            i += 1
        }
    }
}

public func sigmoid(_ x: Tensor) -> Tensor {
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    for i in 0..<x.count { yp[i] = 1 / (1 + exp(-xp[i])) }
    let ys = y.storage
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        let yp = ys.pointer
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

private func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    precondition(a.count == b.count, "broadcasting needs equal ranks: \(a) and \(b)")
    return zip(a, b).map { x, y in
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
        return max(x, y)
    }
}

/// How a and b broadcast to `out`, as contiguous runs: the longest run of
/// trailing dimensions in which each operand either advances with the output
/// (step 1) or stays on one element (step 0); the leading dimensions are walked
/// element by element. E.g. N×C×T×H×W · N×C×T×1×1 is runs of H·W with b fixed.
private struct BroadcastRuns {
    let out: [Int], inner: Int, aStep: Int, bStep: Int
    let prefix: [Int], sa: [Int], sb: [Int]
    var runCount: Int { prefix.reduce(1, *) }

    init(_ a: [Int], _ b: [Int]) {
        out = broadcastShape(a, b)
        var d = out.count
        var steps: (Int, Int)?
        while d > 0 {
            let k = d - 1
            if out[k] != 1 {
                let s = (a[k] == out[k] ? 1 : 0, b[k] == out[k] ? 1 : 0)
                if let steps, steps != s { break }
                steps = s
            }
            d = k
        }
        inner = out[d...].reduce(1, *)
        (aStep, bStep) = steps ?? (1, 1)
        prefix = Array(out[..<d])
        sa = Array(broadcastStrides(a, to: out)[..<d])
        sb = Array(broadcastStrides(b, to: out)[..<d])
    }

    /// body(output start, a start, b start) for runs in `runs`.
    func forEach(_ runs: Range<Int>, _ body: (Int, Int, Int) -> Void) {
        for r in runs {
            var rest = r
            var ia = 0
            var ib = 0
            for k in stride(from: prefix.count - 1, through: 0, by: -1) {
                let i = rest % prefix[k]
                rest /= prefix[k]
                ia += i * sa[k]
                ib += i * sb[k]
            }
            body(r * inner, ia, ib)
        }
    }

    /// op(a, b) into a new tensor, run by run; a fixed operand is read once per run.
    @inline(__always)
    func apply(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        let y = Tensor.empty(out)
        let ap = a.storage.pointer
        let bp = b.storage.pointer
        let yp = y.storage.pointer
        let (sa, sb, n) = (aStep, bStep, inner)
        run(parallel: true) { o, i, j in
            switch (sa, sb) {
            case (1, 1): for k in 0..<n { yp[o + k] = op(ap[i + k], bp[j + k]) }
            case (1, 0):
                let v = bp[j]
                for k in 0..<n { yp[o + k] = op(ap[i + k], v) }
            case (0, 1):
                let v = ap[i]
                for k in 0..<n { yp[o + k] = op(v, bp[j + k]) }
            default:
                let v = op(ap[i], bp[j])
                for k in 0..<n { yp[o + k] = v }
            }
        }
        return y
    }

    /// Runs split over the worker threads when `parallel` (only where no two
    /// runs write the same element), else in order on this thread.
    func run(parallel: Bool, _ body: (Int, Int, Int) -> Void) {
        let count = runCount
        if parallel && count >= 2 && count * inner >= 32_768 {
            Parallel.forEachRange(count, workers: Parallel.threads) { _, range in forEach(range, body) }
        } else {
            forEach(0..<count, body)
        }
    }
}

/// a + b with broadcasting over size-1 dimensions (same rank): e.g. N×C×T×H×W + N×C×1×1×1.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    let plan = BroadcastRuns(a.shape, b.shape)
    let y = plan.apply(a, b) { $0 + $1 }
    let an = a.node
    let bn = b.node
    let aFull = a.shape == plan.out
    let bFull = b.shape == plan.out
    return y.record([a, b]) { dy in
        let dyp = dy.storage.pointer
        if let an { broadcastGradient(plan, into: an.gradBuffer(), first: true, full: aFull, dy: dyp, other: nil) }
        if let bn { broadcastGradient(plan, into: bn.gradBuffer(), first: false, full: bFull, dy: dyp, other: nil) }
    }
}

/// The gradient of one operand of a broadcast sum (`other` nil) or product:
/// d[own + k·ownStep] += dy[o + k] (· other[k]) over every run. `first` says
/// which operand d belongs to; `full` that it has the output's shape, so runs
/// never share elements and can go in parallel.
private func broadcastGradient(
    _ plan: BroadcastRuns, into d: UnsafeMutablePointer<Float>, first: Bool, full: Bool,
    dy: UnsafeMutablePointer<Float>, other: UnsafeMutablePointer<Float>?
) {
    let n = plan.inner
    let ownStep = first ? plan.aStep : plan.bStep
    let otherStep = first ? plan.bStep : plan.aStep
    plan.run(parallel: full) { o, i, j in
        let own = first ? i : j
        let oth = first ? j : i
        let g = dy + o
        let dd = d + own
        guard let other else {
            if ownStep == 1 {
                for k in 0..<n { dd[k] += g[k] }
            } else {
                var sum: Float = 0
                for k in 0..<n { sum += g[k] }
                dd[0] += sum
            }
            return
        }
        let v = other + oth
        switch (ownStep, otherStep) {
        case (1, 1): for k in 0..<n { dd[k] += g[k] * v[k] }
        case (1, 0):
            let c = v[0]
            for k in 0..<n { dd[k] += g[k] * c }
        case (0, 1):
            var sum: Float = 0
            for k in 0..<n { sum += g[k] * v[k] }
            dd[0] += sum
        default:
            var sum: Float = 0
            for k in 0..<n { sum += g[k] }
            dd[0] += sum * v[0]
        }
    }
}

/// a · b element-wise with broadcasting (CT-Net's excitation gates: x · sigmoid(s)).
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let plan = BroadcastRuns(a.shape, b.shape)
    let y = plan.apply(a, b) { $0 * $1 }
    let an = a.node
    let bn = b.node
    let avalues = a.storage
    let bvalues = b.storage
    let aFull = a.shape == plan.out
    let bFull = b.shape == plan.out
    return y.record([a, b]) { dy in
        let dyp = dy.storage.pointer
        let ap = avalues.pointer
        let bp = bvalues.pointer
        if let an { broadcastGradient(plan, into: an.gradBuffer(), first: true, full: aFull, dy: dyp, other: bp) }
        if let bn { broadcastGradient(plan, into: bn.gradBuffer(), first: false, full: bFull, dy: dyp, other: ap) }
    }
}
/// Σ x·weights: a scalar whose gradient with respect to x is `weights`.
public func weightedSum(_ x: Tensor, _ weights: Tensor) -> Tensor {
    precondition(x.count == weights.count)
    let xp = x.storage.pointer
    let wp = weights.storage.pointer
    var sum: Float = 0
    for i in 0..<x.count { sum += xp[i] * wp[i] }
    let xn = x.node
    let ws = weights.storage
    return Tensor(shape: [1], values: [sum]).record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let g = dy.storage.pointer[0]
        let w = ws.pointer
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
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    for i in 0..<x.count { yp[i] = xp[i] * mask[i] }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        for i in 0..<mask.count { dx[i] += dyp[i] * mask[i] }
    }
}
