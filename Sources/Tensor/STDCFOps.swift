/// The 3D filter of an STDCF layer: W[o, c, τ, u] = Σᵢⱼ α[o, c, i, j] ψᵢ[u] φⱼ[τ].
/// alpha: O×C×M×N, psi: M×k×k, phi: N×t → W: O×C×t×k×k. One GEMM, α (OC×MN) · B
/// (MN×t·k²) with B[ij, τu] = ψᵢ[u]·φⱼ[τ]; the backward pass reaches α, ψ and φ.
public func composeSTDCF(alpha: Tensor, psi: Tensor, phi: Tensor) -> Tensor {
    let (o, c, m, n) = (alpha.shape[0], alpha.shape[1], alpha.shape[2], alpha.shape[3])
    let (kh, kw) = (psi.shape[1], psi.shape[2])
    let t = phi.shape[1]
    precondition(
        psi.shape[0] == m && phi.shape[0] == n, "composeSTDCF: α is \(alpha.shape), ψ \(psi.shape), φ \(phi.shape)")
    let spatial = kh * kw
    let taps = t * spatial
    var basis = [Float](repeating: 0, count: m * n * taps)  // B[(i·N + j), τ·k² + u]
    let pp = psi.storage.pointer
    let fp = phi.storage.pointer
    for i in 0..<m {
        for j in 0..<n {
            for tau in 0..<t {
                for u in 0..<spatial {
                    basis[((i * n + j) * t + tau) * spatial + u] = pp[i * spatial + u] * fp[j * t + tau]
                }
            }
        }
    }
    let w = Tensor.empty([o, c, t, kh, kw])
    basis.withUnsafeBufferPointer { b in
        sgemm(
            m: o * c, n: taps, k: m * n, a: alpha.storage.pointer, lda: m * n, b: b.baseAddress!, ldb: taps,
            c: w.storage.pointer, ldc: taps)
    }
    let alphaValues = alpha.storage
    let psiValues = psi.storage
    let phiValues = phi.storage
    let an = alpha.node
    let pn = psi.node
    let fn = phi.node
    return w.record([alpha, psi, phi]) { dw in
        let dwp = dw.storage.pointer
        basis.withUnsafeBufferPointer { b in
            // dα (OC×MN) += dW (OC×taps) · Bᵀ
            if let an {
                sgemm(
                    transB: true, m: o * c, n: m * n, k: taps, a: dwp, lda: taps, b: b.baseAddress!, ldb: taps, beta: 1,
                    c: an.gradBuffer(), ldc: m * n)
            }
        }
        guard pn != nil || fn != nil else { return }
        // dB (MN×taps) = αᵀ · dW, then the product rule into ψ and φ.
        var dBasis = [Float](repeating: 0, count: m * n * taps)
        dBasis.withUnsafeMutableBufferPointer { db in
            sgemm(
                transA: true, m: m * n, n: taps, k: o * c, a: alphaValues.pointer, lda: m * n, b: dwp, ldb: taps,
                c: db.baseAddress!, ldc: taps)
        }
        let pp = psiValues.pointer
        let fp = phiValues.pointer
        let dpsi = pn?.gradBuffer()
        let dphi = fn?.gradBuffer()
        for i in 0..<m {
            for j in 0..<n {
                for tau in 0..<t {
                    for u in 0..<spatial {
                        let g = dBasis[((i * n + j) * t + tau) * spatial + u]
                        dpsi?[i * spatial + u] += g * fp[j * t + tau]
                        dphi?[j * t + tau] += g * pp[i * spatial + u]
                    }
                }
            }
        }
    }
}

/// Shifts 1/`fold` of the channels one step back in time, the next 1/`fold`
/// one step forward, and leaves the rest (TSM), with zeros at the ends. N×C×T×H×W.
public func temporalShift(_ x: Tensor, fold: Int = 8) -> Tensor {
    let (n, c, t) = (x.shape[0], x.shape[1], x.shape[2])
    let plane = x.shape[3] * x.shape[4]
    let part = c / fold
    let y = Tensor(zeros: x.shape)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    /// (source time step for output step τ) or nil for zero
    func source(_ channel: Int, _ tau: Int) -> Int? {
        if channel < part { return tau + 1 < t ? tau + 1 : nil }  // shift left: future frame
        if channel < 2 * part { return tau > 0 ? tau - 1 : nil }  // shift right: past frame
        return tau
    }
    for s in 0..<n {
        for ch in 0..<c {
            for tau in 0..<t {
                guard let from = source(ch, tau) else { continue }
                (yp + ((s * c + ch) * t + tau) * plane).update(
                    from: xp + ((s * c + ch) * t + from) * plane, count: plane)
            }
        }
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        for s in 0..<n {
            for ch in 0..<c {
                for tau in 0..<t {
                    guard let from = source(ch, tau) else { continue }
                    let d = dx + ((s * c + ch) * t + from) * plane
                    let g = dyp + ((s * c + ch) * t + tau) * plane
                    for i in 0..<plane { d[i] += g[i] }
                }
            }
        }
    }
}
