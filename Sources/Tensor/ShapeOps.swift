/// The same values with another shape (shares storage).
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    let y = Tensor(shape: shape, storage: x.storage)
    let xn = x.node
    return y.record([x]) { dy in xn?.accumulate(dy.storage.pointer) }
}

/// Dimensions reordered (a copy): y.shape[i] = x.shape[order[i]].
public func permute(_ x: Tensor, _ order: [Int]) -> Tensor {
    precondition(order.sorted() == Array(0..<x.rank), "permute: \(order) is not a permutation of 0..<\(x.rank)")
    let shape = order.map { x.shape[$0] }
    var xStrides = [Int](repeating: 1, count: x.rank)
    for d in stride(from: x.rank - 2, through: 0, by: -1) { xStrides[d] = xStrides[d + 1] * x.shape[d + 1] }
    let strides = order.map { xStrides[$0] }
    let y = Tensor.empty(shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    func walk(_ body: (Int, Int) -> Void) {
        var index = [Int](repeating: 0, count: shape.count)
        var source = 0
        for o in 0..<y.count {
            body(o, source)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                source += strides[d]
                if index[d] < shape[d] { break }
                source -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
    walk { o, s in yp[o] = xp[s] }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        walk { o, s in dx[s] += dyp[o] }
    }
}

/// Elements [start, start + length) along `axis` (a copy).
public func slice(_ x: Tensor, axis: Int, start: Int, length: Int) -> Tensor {
    precondition(start >= 0 && length > 0 && start + length <= x.shape[axis], "slice out of range")
    var shape = x.shape
    shape[axis] = length
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let y = Tensor.empty(shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    for o in 0..<outer {
        (yp + o * length * inner).update(from: xp + (o * x.shape[axis] + start) * inner, count: length * inner)
    }
    let xn = x.node
    let axisSize = x.shape[axis]
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        for o in 0..<outer {
            let d = dx + (o * axisSize + start) * inner
            let g = dyp + o * length * inner
            for i in 0..<(length * inner) { d[i] += g[i] }
        }
    }
}

/// Tensors joined along `axis` (a copy).
public func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    var shape = xs[0].shape
    shape[axis] = xs.map { $0.shape[axis] }.reduce(0, +)
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    let y = Tensor.empty(shape)
    let yp = y.storage.pointer
    var offset = 0
    for x in xs {
        let n = x.shape[axis] * inner
        for o in 0..<outer { (yp + o * shape[axis] * inner + offset).update(from: x.storage.pointer + o * n, count: n) }
        offset += n
    }
    let parts = xs.map { ($0.node, $0.shape[axis] * inner) }
    return y.record(xs) { dy in
        let dyp = dy.storage.pointer
        var offset = 0
        for (node, n) in parts {
            if let node {
                let dx = node.gradBuffer()
                for o in 0..<outer {
                    let g = dyp + o * shape[axis] * inner + offset
                    for i in 0..<n { dx[o * n + i] += g[i] }
                }
            }
            offset += n
        }
    }
}
