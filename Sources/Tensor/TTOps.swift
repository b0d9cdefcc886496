import Foundation

/// The 3D kernel of a 3DTT layer (Ras et al., 2019): slice 0 is K0, and slice
/// t+1 is slice t bilinearly resampled through the affine map of
/// (s, r, tx, ty)_{o,t} — θ = [[s·cos r, −s·sin r, s(tx·cos r − ty·sin r)],
/// [s·sin r, s·cos r, s(tx·sin r + ty·cos r)]] — on the spatial transformer's
/// normalised grid (PyTorch affine_grid/grid_sample, align_corners = false,
/// zeros outside).
/// k0: O×C×kh×kw, transforms: O×(T−1)×4 → W: O×C×T×kh×kw.
public func composeTT(k0: Tensor, transforms: Tensor, temporalSize t: Int) -> Tensor {
    let (o, c, kh, kw) = (k0.shape[0], k0.shape[1], k0.shape[2], k0.shape[3])
    precondition(
        transforms.shape == [o, t - 1, 4], "composeTT: transforms must be \([o, t - 1, 4]), got \(transforms.shape)")
    let plane = kh * kw
    let w = Tensor.empty([o, c, t, kh, kw])
    let wp = w.storage.pointer
    let kp = k0.storage.pointer
    let tp = transforms.storage.pointer
    for oc in 0..<(o * c) {
        (wp + oc * t * plane).update(from: kp + oc * plane, count: plane)
    }
    for out in 0..<o {
        for step in 0..<(t - 1) {
            let points = samplingPoints(tp + (out * (t - 1) + step) * 4, kh, kw)
            for ch in 0..<c {
                let src = wp + ((out * c + ch) * t + step) * plane
                let dst = src + plane
                for p in 0..<plane { dst[p] = bilinear(src, kh, kw, points[p].x, points[p].y).value }
            }
        }
    }
    let wValues = w.storage
    let tValues = transforms.storage
    let kn = k0.node
    let tn = transforms.node
    return w.record([k0, transforms]) { dw in
        let dwp = dw.storage.pointer
        let wp = wValues.pointer
        let tp = tValues.pointer
        let dk0 = kn?.gradBuffer()
        let dT = tn?.gradBuffer()
        var carried = [Float](repeating: 0, count: plane)
        for out in 0..<o {
            let transformSamples = (0..<(t - 1)).map { samplingPoints(tp + (out * (t - 1) + $0) * 4, kh, kw) }
            for ch in 0..<c {
                let slices = wp + (out * c + ch) * t * plane
                let grads = dwp + (out * c + ch) * t * plane
                carried.withUnsafeMutableBufferPointer { g in
                    g.update(repeating: 0)
                    // Walk back from the last slice: slice s+1 = sample(slice s).
                    for step in stride(from: t - 2, through: 0, by: -1) {
                        let next = step + 1
                        var dNext = [Float](repeating: 0, count: plane)
                        for p in 0..<plane { dNext[p] = grads[next * plane + p] + g[p] }
                        for p in 0..<plane { g[p] = 0 }
                        let src = slices + step * plane
                        var dParameters: [Float] = [0, 0, 0, 0]
                        let th = derivatives(tp + (out * (t - 1) + step) * 4)
                        for p in 0..<plane where dNext[p] != 0 {
                            let (x, y) = transformSamples[step][p]
                            let sample = bilinear(src, kh, kw, x, y)
                            // Into the previous slice: the transpose of the bilinear weights.
                            for (index, weight) in sample.taps { g[index] += dNext[p] * weight }
                            // Into (s, r, tx, ty): dv/dx · dx/dθ + dv/dy · dy/dθ.
                            let xn = (2 * Float(p % kw) + 1) / Float(kw) - 1
                            let yn = (2 * Float(p / kw) + 1) / Float(kh) - 1
                            let dvdgx = sample.dx * Float(kw) / 2
                            let dvdgy = sample.dy * Float(kh) / 2
                            for q in 0..<4 {
                                let d = th[q]
                                dParameters[q] +=
                                    dNext[p]
                                    * (dvdgx * (d[0] * xn + d[1] * yn + d[2]) + dvdgy * (d[3] * xn + d[4] * yn + d[5]))
                            }
                        }
                        if let dT { for q in 0..<4 { dT[(out * (t - 1) + step) * 4 + q] += dParameters[q] } }
                    }
                    if let dk0 { for p in 0..<plane { dk0[(out * c + ch) * plane + p] += grads[p] + g[p] } }
                }
            }
        }
    }
}

/// For every pixel of a kh×kw slice: where it samples the previous slice
/// (pixel x, y) under the transform (s, r, tx, ty) at `q`, on the normalised
/// grid of affine_grid/grid_sample with align_corners = false.
private func samplingPoints(_ q: UnsafePointer<Float>, _ kh: Int, _ kw: Int) -> [(x: Float, y: Float)] {
    let th = theta(q)
    return (0..<(kh * kw)).map { p in
        let xn = (2 * Float(p % kw) + 1) / Float(kw) - 1
        let yn = (2 * Float(p / kw) + 1) / Float(kh) - 1
        let gx = th[0] * xn + th[1] * yn + th[2]
        let gy = th[3] * xn + th[4] * yn + th[5]
        return (((gx + 1) * Float(kw) - 1) / 2, ((gy + 1) * Float(kh) - 1) / 2)
    }
}

/// θ (row-major 2×3) of (s, r, tx, ty).
private func theta(_ q: UnsafePointer<Float>) -> [Float] {
    let (s, r, tx, ty) = (q[0], q[1], q[2], q[3])
    let (c, n) = (cos(r), sin(r))
    return [s * c, -s * n, s * (tx * c - ty * n), s * n, s * c, s * (tx * n + ty * c)]
}

/// dθ/d(s, r, tx, ty): four rows of the six θ entries.
private func derivatives(_ q: UnsafePointer<Float>) -> [[Float]] {
    let (s, r, tx, ty) = (q[0], q[1], q[2], q[3])
    let (c, n) = (cos(r), sin(r))
    return [
        [c, -n, tx * c - ty * n, n, c, tx * n + ty * c],
        [-s * n, -s * c, s * (-tx * n - ty * c), s * c, -s * n, s * (tx * c - ty * n)],
        [0, 0, s * c, 0, 0, s * n],
        [0, 0, -s * n, 0, 0, s * c]
    ]
}

/// Bilinear sample of an h×w image at pixel coordinates (x, y), zeros outside:
/// the value, its derivatives along x and y, and the (index, weight) taps.
private func bilinear(_ image: UnsafePointer<Float>, _ h: Int, _ w: Int, _ x: Float, _ y: Float)
    -> (value: Float, dx: Float, dy: Float, taps: [(Int, Float)])
{
    let x0 = Int(x.rounded(.down))
    let y0 = Int(y.rounded(.down))
    let fx = x - Float(x0)
    let fy = y - Float(y0)
    func at(_ yy: Int, _ xx: Int) -> Float { (yy >= 0 && yy < h && xx >= 0 && xx < w) ? image[yy * w + xx] : 0 }
    let (a, b, c, d) = (at(y0, x0), at(y0, x0 + 1), at(y0 + 1, x0), at(y0 + 1, x0 + 1))
    var taps: [(Int, Float)] = []
    for (yy, xx, weight) in [
        (y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)), (y0 + 1, x0, (1 - fx) * fy),
        (y0 + 1, x0 + 1, fx * fy)
    ]
    where yy >= 0 && yy < h && xx >= 0 && xx < w && weight != 0 {
        taps.append((yy * w + xx, weight))
    }
    let value = a * (1 - fx) * (1 - fy) + b * fx * (1 - fy) + c * (1 - fx) * fy + d * fx * fy
    return (value, (b - a) * (1 - fy) + (d - c) * fy, (c - a) * (1 - fx) + (d - b) * fx, taps)
}
