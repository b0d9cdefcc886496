import Foundation

/// Batched matrix product: C[b] = op(A[b]) · op(B[b]) for A (B×M×K, or B×K×M
/// with `transposeA`) and B (B×K×N, or B×N×K with `transposeB`); C is B×M×N.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0], "batchedMatmul: \(a.shape) × \(b.shape)")
    let batch = a.shape[0]
    let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
    let (k2, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
    precondition(k == k2, "batchedMatmul: inner sizes \(k) and \(k2) differ")
    let y = Tensor.empty([batch, m, n])
    FlopCounter.add(batch * m * n * k)
    let ap = a.storage.pointer
    let bp = b.storage.pointer
    let yp = y.storage.pointer
    let (aSize, bSize, ySize) = (m * k, k * n, m * n)
    let (lda, ldb) = (a.shape[2], b.shape[2])
    for i in 0..<batch {
        sgemm(
            transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: ap + i * aSize, lda: lda, b: bp + i * bSize,
            ldb: ldb,
            c: yp + i * ySize, ldc: n)
    }
    let aStorage = a.storage
    let bStorage = b.storage
    let an = a.node
    let bn = b.node
    return y.record([a, b]) { dy in
        let dyp = dy.storage.pointer
        let ap = aStorage.pointer
        let bp = bStorage.pointer
        for i in 0..<batch {
            let g = dyp + i * ySize
            if let an {
                let da = an.gradBuffer() + i * aSize
                // dop(A) = dC · op(B)ᵀ (M×K); stored transposed when A is.
                if transposeA {
                    sgemm(
                        transA: transposeB, transB: true, m: k, n: m, k: n, a: bp + i * bSize, lda: ldb, b: g, ldb: n,
                        beta: 1, c: da, ldc: m)
                } else {
                    sgemm(
                        transB: !transposeB, m: m, n: k, k: n, a: g, lda: n, b: bp + i * bSize, ldb: ldb, beta: 1,
                        c: da, ldc: k)
                }
            }
            if let bn {
                let db = bn.gradBuffer() + i * bSize
                // dop(B) = op(A)ᵀ · dC (K×N); stored transposed when B is.
                if transposeB {
                    sgemm(
                        transA: true, transB: transposeA, m: n, n: k, k: m, a: g, lda: n, b: ap + i * aSize, ldb: lda,
                        beta: 1, c: db, ldc: k)
                } else {
                    sgemm(
                        transA: !transposeA, m: k, n: n, k: m, a: ap + i * aSize, lda: lda, b: g, ldb: n, beta: 1,
                        c: db, ldc: n)
                }
            }
        }
    }
}

/// Softmax over the last axis (any rank), with its gradient.
public func softmaxLastAxis(_ x: Tensor) -> Tensor {
    let width = x.shape.last!
    let rows = x.count / width
    let y = Tensor.empty(x.shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    for r in 0..<rows {
        let row = xp + r * width
        let out = yp + r * width
        var top = -Float.infinity
        for j in 0..<width { top = max(top, row[j]) }
        var sum: Float = 0
        for j in 0..<width {
            out[j] = exp(row[j] - top)
            sum += out[j]
        }
        for j in 0..<width { out[j] /= sum }
    }
    let ys = y.storage
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        let yp = ys.pointer
        for r in 0..<rows {
            let o = yp + r * width
            let g = dyp + r * width
            var dot: Float = 0
            for j in 0..<width { dot += o[j] * g[j] }
            for j in 0..<width { dx[r * width + j] += o[j] * (g[j] - dot) }
        }
    }
}
